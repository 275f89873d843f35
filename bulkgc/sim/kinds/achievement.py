"""Achievements (v2, and v1 on the deprecated endpoints): declarations and rules.

[DOC A12] <= 100 achievements, <= 100 points each, <= 1000 points in all.
"""

from __future__ import annotations

from typing import Any

from .. import errors as E
from ..call import Call
from ..generic import kind_routes
from ..resources import ImageRule, Kind, Rel, TextField, register_kind, stored_attributes
from ._shape import declare

ITEM, VERSION, LOCALIZATION, IMAGE = declare(
    name="achievement",
    stem="Achievement",
    item_type="gameCenterAchievements",
    # the collection names of the /sim/state contract
    collections=("achievements", "versions", "localizations", "images"),
    apis={"v2": "versioned", "v1": "legacy"},
    item_field="achievement_id",
    version_parent_rel="achievement",
    item_attributes=stored_attributes,
    loc_fields=("name", "beforeEarnedDescription", "afterEarnedDescription"),
    item_rels={
        "v2": (Rel("activity", None, False),),
        "v1": (
            Rel("groupAchievement", None, False),
            Rel("releases", None, True),
            Rel("activity", None, False),
        ),
    },
)


def check_points(
    call: Call, owner: tuple[str, str], attrs: dict[str, Any], existing: dict[str, Any] | None
) -> None:
    if "points" not in attrs:
        return
    cfg = call.sim.config
    points = attrs["points"]
    if not 1 <= points <= cfg.max_points:
        raise E.attribute_invalid(
            "/data/attributes/points", f"points must be between 1 and {cfg.max_points}; got {points}."
        )
    exclude = existing["id"] if existing else None
    others = sum(
        a["attributes"]["points"] for a in call.sim.state.achievements_of(*owner) if a["id"] != exclude
    )
    if others + points > cfg.max_total_points:
        raise E.attribute_invalid(
            "/data/attributes/points",
            f"The achievements would total {others + points} points; "
            f"at most {cfg.max_total_points} are allowed.",
        )


KIND = register_kind(
    Kind(
        name="achievement",
        label="achievement",
        stem="Achievement",
        item=ITEM,
        version=VERSION,
        localization=LOCALIZATION,
        image=IMAGE,
        item_field="achievement_id",
        owner_rels={"v2": "gameCenterAchievementsV2", "v1": "gameCenterAchievements"},
        version_parent_rel="achievement",
        loc_parent_rels={"v2": "version", "v1": "gameCenterAchievement"},
        image_parent_rels={"v2": "localization", "v1": "gameCenterAchievementLocalization"},
        text_fields=(
            TextField("name", True),
            TextField("beforeEarnedDescription", True),
            TextField("afterEarnedDescription", True),
        ),
        # [3P/DOC A12] square 512 or 1024, PNG/JPEG, RGB, opaque
        image_rule=ImageRule(
            ((512, 512), (1024, 1024)), "achievement images must be 512x512 or 1024x1024 pixels"
        ),
        max_items=lambda cfg: cfg.max_achievements,
        inline_version={"v2": True},
        item_defaults={"archived": False, "activityProperties": {}},
        check_item=check_points,
    )
)

ROUTES = kind_routes(KIND)
