"""Activities (API 4.2+, /v1 with versions): declarations and rules (fallbackUrl, default image).

Image rules [DOC A12]: the default image is 3840x2160, PNG or JPEG, RGB, no transparency; the localized
image's
row was truncated in the stored Help page, [INFER] the same rule.
"""

from __future__ import annotations

from typing import Any

from .. import errors as E
from ..call import Call
from ..generic import kind_routes, update_version
from ..resources import ImageRule, Kind, Rel, TextField, register_kind, resource
from ._shape import declare

ATTRIBUTES = (
    "referenceName",
    "vendorIdentifier",
    "playStyle",
    "minimumPlayersCount",
    "maximumPlayersCount",
    "supportsPartyCode",
    "archived",
    "properties",
)
WIDE = ImageRule(((3840, 2160),), "activity images must be 3840x2160 pixels")

ITEM, VERSION, LOCALIZATION, IMAGE = declare(
    name="activity",
    stem="Activity",
    item_type="gameCenterActivities",
    collections=(
        "gameCenterActivities",
        "gameCenterActivityVersions",
        "gameCenterActivityLocalizations",
        "gameCenterActivityImages",
    ),
    apis={"v1": "versioned"},
    item_field="activity_id",
    version_parent_rel="activity",
    item_attributes=lambda rec: {
        n: rec["attributes"][n] for n in ATTRIBUTES if rec["attributes"].get(n) is not None
    },
    loc_fields=("name", "description"),
    item_rels={
        "v1": tuple(
            Rel(n, None, True) for n in ("achievements", "achievementsV2", "leaderboards", "leaderboardsV2")
        )
    },
    version_fields=("fallbackUrl",),
    version_rels=(Rel("releases", None, True, "included"),),
    default_image=True,
    image_rels=False,  # GameCenterActivityImage has no relationships
)


def check_players(
    call: Call, owner: tuple[str, str], attrs: dict[str, Any], existing: dict[str, Any] | None
) -> None:
    """[INFER] player counts are positive and the minimum does not exceed the maximum."""
    merged = {**(existing["attributes"] if existing else {}), **attrs}
    for name in ("minimumPlayersCount", "maximumPlayersCount"):
        if name in attrs and attrs[name] < 1:
            raise E.attribute_invalid(
                f"/data/attributes/{name}", f"{name} must be at least 1; got {attrs[name]}."
            )
    low, high = merged.get("minimumPlayersCount"), merged.get("maximumPlayersCount")
    if low is not None and high is not None and low > high:
        raise E.attribute_invalid(
            "/data/attributes/minimumPlayersCount",
            f"minimumPlayersCount ({low}) must not exceed maximumPlayersCount ({high}).",
        )


KIND = register_kind(
    Kind(
        name="activity",
        label="activity",
        stem="Activity",
        item=ITEM,
        version=VERSION,
        localization=LOCALIZATION,
        image=IMAGE,
        item_field="activity_id",
        owner_rels={"v1": "gameCenterActivities"},
        version_parent_rel="activity",
        loc_parent_rels={"v1": "version"},
        image_parent_rels={"v1": "localization"},
        text_fields=(TextField("name", True), TextField("description")),
        image_rule=WIDE,
        default_image_rule=WIDE,
        max_items=lambda cfg: cfg.max_activities,
        apis=("v1",),
        legacy_apis=(),
        inline_version={"v1": False},
        version_attributes=("fallbackUrl",),
        item_defaults={"archived": False, "properties": {}},
        check_item=check_players,
    )
)

ROUTES = kind_routes(KIND) + [("PATCH", f"{resource(VERSION).path('v1')}/{{id}}", "v1", update_version(KIND))]
