"""Leaderboards (v2 with versions, and v1 on the deprecated endpoints): declarations and rules.

Attributes, enums and relationship names from Apple's spec 4.4.1
(GameCenterLeaderboardV2/GameCenterLeaderboard);
limits from App Store Connect Help (GAME_CENTER_API.md A12).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from .. import errors as E
from ..call import Call
from ..generic import kind_routes
from ..resources import ImageRule, Kind, Rel, TextField, register_kind
from ._shape import declare

SETS = (
    "gameCenterLeaderboardSets"  # the leaderboard-set collection (membership lives on the set: ordered ids)
)

ATTRIBUTES = (
    "defaultFormatter",
    "referenceName",
    "vendorIdentifier",
    "submissionType",
    "scoreSortType",
    "scoreRangeStart",
    "scoreRangeEnd",
    "recurrenceStartDate",
    "recurrenceDuration",
    "recurrenceRule",
    "archived",
    "activityProperties",
    "visibility",
)


def render_attributes(rec: dict[str, Any]) -> dict[str, Any]:
    stored = rec["attributes"]
    # unset attributes are left out: the response schema does not declare them nullable
    return {name: stored[name] for name in ATTRIBUTES if stored.get(name) is not None}


def sets_of(state: Any, rec: dict[str, Any]) -> list[dict[str, Any]]:
    """The leaderboard sets this leaderboard is a member of."""
    return sorted(
        (s for s in state.data.get(SETS, {}).values() if rec["id"] in s.get("leaderboard_ids", [])),
        key=lambda s: s["seq"],
    )


_common = (Rel("gameCenterLeaderboardSets", "leaderboard_set", True, "included", sets_of),)
_linked = (Rel("activity", None, False), Rel("challenge", None, False))
ITEM, VERSION, LOCALIZATION, IMAGE = declare(
    name="leaderboard",
    stem="Leaderboard",
    item_type="gameCenterLeaderboards",
    collections=(
        "gameCenterLeaderboards",
        "gameCenterLeaderboardVersions",
        "gameCenterLeaderboardLocalizations",
        "gameCenterLeaderboardImages",
    ),
    apis={"v2": "versioned", "v1": "legacy"},
    unserved=("gameCenterLeaderboard",),  # the spec has no GET …Localizations/{id}/gameCenterLeaderboard
    item_field="leaderboard_id",
    version_parent_rel="leaderboard",
    item_attributes=render_attributes,
    loc_fields=("name", "formatterOverride", "formatterSuffix", "formatterSuffixSingular", "description"),
    item_rels={
        "v2": _common + _linked,
        "v1": (Rel("groupLeaderboard", None, False),) + _common + (Rel("releases", None, True),) + _linked,
    },
)

# ISO 8601 duration (P1D, PT12H, P1W) [SPEC format "duration"]
_DURATION = re.compile(r"^P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+S)?)?$")
_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")
RECURRENCE = ("recurrenceStartDate", "recurrenceDuration", "recurrenceRule")


def check_leaderboard(
    call: Call, owner: tuple[str, str], attrs: dict[str, Any], existing: dict[str, Any] | None
) -> None:
    """Formats Apple's spec gives (number, date-time, duration) and the pairing rules [INFER] between them."""
    for name in ("scoreRangeStart", "scoreRangeEnd"):
        if name in attrs and not _NUMBER.match(attrs[name]):
            raise E.attribute_invalid(
                f"/data/attributes/{name}",
                f'{name} must be a number written as a string (e.g. "0", "100.5"); got \'{attrs[name]}\'.',
            )
    merged = {**(existing["attributes"] if existing else {}), **attrs}
    start, end = merged.get("scoreRangeStart"), merged.get("scoreRangeEnd")
    if start is not None and end is not None and float(start) > float(end):
        raise E.attribute_invalid(
            "/data/attributes/scoreRangeStart",
            f"scoreRangeStart ({start}) must not be greater than scoreRangeEnd ({end}).",
        )
    if "recurrenceStartDate" in attrs:
        try:
            datetime.fromisoformat(attrs["recurrenceStartDate"].replace("Z", "+00:00"))
        except ValueError:
            raise E.attribute_invalid(
                "/data/attributes/recurrenceStartDate",
                f"'{attrs['recurrenceStartDate']}' is not an ISO 8601 date-time (e.g. 2026-01-01T00:00:00Z).",
            ) from None
    if "recurrenceDuration" in attrs and not _DURATION.match(attrs["recurrenceDuration"]):
        raise E.attribute_invalid(
            "/data/attributes/recurrenceDuration",
            f"'{attrs['recurrenceDuration']}' is not an ISO 8601 duration (e.g. P1D, P1W, PT12H).",
        )
    given = [n for n in RECURRENCE if merged.get(n) is not None]
    if given and len(given) != len(RECURRENCE):
        # [INFER] a recurring leaderboard needs its start, duration and rule together.
        missing = [n for n in RECURRENCE if n not in given]
        raise E.attribute_invalid(
            f"/data/attributes/{missing[0]}",
            f"A recurring leaderboard needs {', '.join(RECURRENCE)} together; missing {', '.join(missing)}.",
        )
    if existing is None:
        cfg = call.sim.config
        s = call.sim.state
        count = len(s.items_of("leaderboard", *owner))
        has_sets = any(
            x["owner_kind"] == owner[0] and x["owner_id"] == owner[1] for x in s.data.get(SETS, {}).values()
        )
        if not has_sets and count >= cfg.max_leaderboards:
            # [DOC A12] up to 100 leaderboards without sets, 500 with sets
            raise E.relationship_invalid(
                f"/data/relationships/{'gameCenterDetail' if owner[0] == 'detail' else 'gameCenterGroup'}",
                f"At most {cfg.max_leaderboards} leaderboards are allowed without leaderboard sets "
                f"({cfg.max_leaderboards_with_sets} with sets).",
            )


def join_sets(call: Call, rec: dict[str, Any], creating: bool) -> None:
    """relationships.gameCenterLeaderboardSets of a create body: the leaderboard joins those sets."""
    rels = call.body["data"].get("relationships") or {}
    wanted = (rels.get("gameCenterLeaderboardSets") or {}).get("data")
    if not creating or not wanted:
        return
    from .leaderboard_set import add_members  # late: the set kind reads leaderboards

    s = call.sim.state
    for i, link in enumerate(wanted):
        target = s.get(SETS, link["id"])
        if target is None or (target["owner_kind"], target["owner_id"]) != (
            rec["owner_kind"],
            rec["owner_id"],
        ):
            raise E.relationship_invalid(
                f"/data/relationships/gameCenterLeaderboardSets/data/{i}/id",
                f"There is no leaderboard set '{link['id']}' beside this leaderboard.",
            )
    limit = call.sim.config.max_leaderboards_per_set
    for i, link in enumerate(wanted):
        if len(s.data[SETS][link["id"]].get("leaderboard_ids", [])) >= limit:
            raise E.relationship_invalid(
                f"/data/relationships/gameCenterLeaderboardSets/data/{i}/id",
                f"Leaderboard set '{link['id']}' already holds {limit} leaderboards.",
            )
    for link in wanted:
        add_members(
            call,
            s.data[SETS][link["id"]],
            [rec["id"]],
            "/data/relationships/gameCenterLeaderboardSets",
            check=False,
        )


def leave_sets(call: Call, rec: dict[str, Any]) -> None:
    for member_of in sets_of(call.sim.state, rec):
        member_of["leaderboard_ids"].remove(rec["id"])


KIND = register_kind(
    Kind(
        name="leaderboard",
        label="leaderboard",
        stem="Leaderboard",
        item=ITEM,
        version=VERSION,
        localization=LOCALIZATION,
        image=IMAGE,
        item_field="leaderboard_id",
        owner_rels={"v2": "gameCenterLeaderboardsV2", "v1": "gameCenterLeaderboards"},
        version_parent_rel="leaderboard",
        loc_parent_rels={"v2": "version", "v1": "gameCenterLeaderboard"},
        image_parent_rels={"v2": "localization", "v1": "gameCenterLeaderboardLocalization"},
        text_fields=(
            TextField("name", True),
            TextField("formatterOverride"),
            TextField("formatterSuffix"),
            TextField("formatterSuffixSingular"),
            TextField("description"),
        ),
        # [DOC A12, archived guide] as for achievements, but optional
        image_rule=ImageRule(
            ((512, 512), (1024, 1024)), "leaderboard images must be 512x512 or 1024x1024 pixels"
        ),
        max_items=lambda cfg: cfg.max_leaderboards_with_sets,
        inline_version={"v2": True},
        item_defaults={"archived": False, "activityProperties": {}},
        check_item=check_leaderboard,
        prepare=join_sets,
        on_delete=leave_sets,
    )
)

ROUTES = kind_routes(KIND)
