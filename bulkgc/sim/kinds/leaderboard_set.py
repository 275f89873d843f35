"""Leaderboard sets (v2 with versions, deprecated v1): declarations, rules, ordered membership.

Membership is the relationship gameCenterLeaderboards: GET, POST adds, PATCH replaces, DELETE removes.

Limits [DOC A12]: <= 100 sets per detail or group, <= 100 leaderboards per set. The order of `leaderboard_ids`
on
the set record is the order Apple lists the members in.
"""

from __future__ import annotations

from typing import Any

from .. import errors as E
from ..call import Call, Handler, Result
from ..generic import find, kind_routes
from ..resources import ImageRule, Kind, Rel, TextField, register_kind, resource
from ._shape import declare


def members(state: Any, rec: dict[str, Any]) -> list[dict[str, Any]]:
    boards = state.data["gameCenterLeaderboards"]
    return [boards[i] for i in rec.get("leaderboard_ids", []) if i in boards]


_members = Rel("gameCenterLeaderboards", "leaderboard", True, "links", members)
ITEM, VERSION, LOCALIZATION, IMAGE = declare(
    name="leaderboard_set",
    stem="LeaderboardSet",
    item_type="gameCenterLeaderboardSets",
    collections=(
        "gameCenterLeaderboardSets",
        "gameCenterLeaderboardSetVersions",
        "gameCenterLeaderboardSetLocalizations",
        "gameCenterLeaderboardSetImages",
    ),
    apis={"v2": "versioned", "v1": "legacy"},
    unserved=(
        "gameCenterLeaderboardSet",
    ),  # the spec has no GET …Localizations/{id}/gameCenterLeaderboardSet
    item_field="leaderboard_set_id",
    version_parent_rel="leaderboardSet",
    item_attributes=lambda rec: {n: rec["attributes"].get(n) for n in ("referenceName", "vendorIdentifier")},
    loc_fields=("name",),
    item_rels={
        "v2": (_members,),
        "v1": (Rel("groupLeaderboardSet", None, False), _members, Rel("releases", None, True)),
    },
)


def _check_members(call: Call, rec: dict[str, Any], ids: list[str], pointer: str) -> None:
    boards = call.sim.state.data["gameCenterLeaderboards"]
    for i, lid in enumerate(ids):
        board = boards.get(lid)
        if board is None or (board["owner_kind"], board["owner_id"]) != (rec["owner_kind"], rec["owner_id"]):
            raise E.relationship_invalid(
                f"{pointer}/data/{i}/id", f"There is no leaderboard '{lid}' beside this leaderboard set."
            )
    if len(set(ids)) != len(ids):
        raise E.relationship_invalid(f"{pointer}/data", "A leaderboard can be listed only once in a set.")


def add_members(call: Call, rec: dict[str, Any], ids: list[str], pointer: str, *, check: bool = True) -> None:
    """Append leaderboards not yet in the set (JSON:API: adding a present member changes nothing).

    `check` False: the caller has checked the ids (a leaderboard being created is not stored yet)."""
    if check:
        _check_members(call, rec, ids, pointer)
    current: list[str] = rec.setdefault("leaderboard_ids", [])
    new = [i for i in ids if i not in current]
    limit = call.sim.config.max_leaderboards_per_set
    if len(current) + len(new) > limit:
        raise E.relationship_invalid(
            f"{pointer}/data",
            f"A leaderboard set holds at most {limit} leaderboards; "
            f"this would make {len(current) + len(new)}.",
        )
    current.extend(new)


def prepare_set(call: Call, rec: dict[str, Any], creating: bool) -> None:
    if not creating:
        return
    rec["leaderboard_ids"] = []
    wanted = ((call.body["data"].get("relationships") or {}).get("gameCenterLeaderboards") or {}).get("data")
    if wanted:
        add_members(call, rec, [link["id"] for link in wanted], "/data/relationships/gameCenterLeaderboards")


def _linkage_ids(call: Call) -> list[str]:
    return [link["id"] for link in call.body["data"]]


def change_members(how: str) -> Handler:
    """POST (add), PATCH (replace, in order) or DELETE (remove) on …/relationships/gameCenterLeaderboards."""

    async def handler(call: Call) -> Result:
        rec = find(call, ITEM, call.rid)
        ids = _linkage_ids(call)
        s = call.sim.state
        with s.lock:
            if how == "add":
                add_members(call, rec, ids, "")
            elif how == "replace":
                _check_members(call, rec, ids, "")
                limit = call.sim.config.max_leaderboards_per_set
                if len(ids) > limit:
                    raise E.relationship_invalid(
                        "/data", f"A leaderboard set holds at most {limit} leaderboards; got {len(ids)}."
                    )
                rec["leaderboard_ids"] = list(ids)
            else:
                rec["leaderboard_ids"] = [i for i in rec.get("leaderboard_ids", []) if i not in set(ids)]
        return 204, None, {}

    return handler


KIND = register_kind(
    Kind(
        name="leaderboard_set",
        label="leaderboard set",
        stem="LeaderboardSet",
        item=ITEM,
        version=VERSION,
        localization=LOCALIZATION,
        image=IMAGE,
        item_field="leaderboard_set_id",
        owner_rels={"v2": "gameCenterLeaderboardSetsV2", "v1": "gameCenterLeaderboardSets"},
        version_parent_rel="leaderboardSet",
        loc_parent_rels={"v2": "version", "v1": "gameCenterLeaderboardSet"},
        image_parent_rels={"v2": "localization", "v1": "gameCenterLeaderboardSetLocalization"},
        text_fields=(TextField("name", True),),
        # [INFER] no requirement text found (A12): the leaderboard rule
        image_rule=ImageRule(
            ((512, 512), (1024, 1024)), "leaderboard set images must be 512x512 or 1024x1024 pixels"
        ),
        max_items=lambda cfg: cfg.max_leaderboard_sets,
        inline_version={"v2": True},
        prepare=prepare_set,
    )
)

ROUTES = kind_routes(KIND)
for _api in KIND.apis:
    _rel = f"{resource(ITEM).path(_api)}/{{id}}/relationships/gameCenterLeaderboards"
    ROUTES += [
        ("POST", _rel, _api, change_members("add")),
        ("PATCH", _rel, _api, change_members("replace")),
        ("DELETE", _rel, _api, change_members("remove")),
    ]
