"""Challenges (API 4.2+, /v1 with versions): declarations and rules.

A challenge is tied to a leaderboard (`leaderboard`/`leaderboardV2`, set at creation or by PATCH
…/relationships/leaderboardV2) and its version has a default image.

Limits [DOC A12]: reference name <= 255 characters, challenge ID <= 100. Images: default 3840x2160 [DOC],
localized
[INFER] the same.
"""

from __future__ import annotations

from typing import Any

from .. import errors as E
from ..call import Call, Handler, Result
from ..generic import find, kind_routes
from ..resources import ImageRule, Kind, Rel, TextField, register_kind, resource, to_one
from ._shape import declare

BOARDS = "gameCenterLeaderboards"
ATTRIBUTES = ("referenceName", "vendorIdentifier", "archived", "challengeType", "repeatable")
MAX_REFERENCE_NAME = 255
WIDE = ImageRule(((3840, 2160),), "challenge images must be 3840x2160 pixels")

_board = to_one(BOARDS, "leaderboard_id")
ITEM, VERSION, LOCALIZATION, IMAGE = declare(
    name="challenge",
    stem="Challenge",
    item_type="gameCenterChallenges",
    collections=(
        "gameCenterChallenges",
        "gameCenterChallengeVersions",
        "gameCenterChallengeLocalizations",
        "gameCenterChallengeImages",
    ),
    apis={"v1": "versioned"},
    item_field="challenge_id",
    version_parent_rel="challenge",
    item_attributes=lambda rec: {
        n: rec["attributes"][n] for n in ATTRIBUTES if rec["attributes"].get(n) is not None
    },
    loc_fields=("name", "description"),
    # Apple has no GET routes for them, only PATCH …/relationships/{leaderboard,leaderboardV2}
    item_rels={
        "v1": (
            Rel("leaderboard", "leaderboard", False, "links", _board, False),
            Rel("leaderboardV2", "leaderboard", False, "links", _board, False),
        )
    },
    version_rels=(Rel("releases", None, True, "included"),),
    default_image=True,
    image_rels=False,  # GameCenterChallengeImage has no relationships
)


def check_challenge(
    call: Call, owner: tuple[str, str], attrs: dict[str, Any], existing: dict[str, Any] | None
) -> None:
    name = attrs.get("referenceName")
    if name is not None and len(name) > MAX_REFERENCE_NAME:
        raise E.attribute_invalid(
            "/data/attributes/referenceName",
            f"referenceName must be at most {MAX_REFERENCE_NAME} characters.",
        )


def _leaderboard(call: Call, rec: dict[str, Any], link: dict[str, Any] | None, pointer: str) -> str | None:
    if link is None:
        return None
    board = call.sim.state.get(BOARDS, link.get("id") or "")
    if board is None or (board["owner_kind"], board["owner_id"]) != (rec["owner_kind"], rec["owner_id"]):
        raise E.relationship_invalid(
            pointer, f"There is no leaderboard '{link.get('id')}' beside this challenge."
        )
    return str(board["id"])


def tie_leaderboard(call: Call, rec: dict[str, Any], creating: bool) -> None:
    """relationships.leaderboard / leaderboardV2 of a create or update body (the same link, two names)."""
    rels = call.body["data"].get("relationships") or {}
    for name in ("leaderboardV2", "leaderboard"):
        if name in rels:
            board_id = _leaderboard(call, rec, (rels[name] or {}).get("data"), f"/data/relationships/{name}")
            if board_id is not None:
                rec["leaderboard_id"] = board_id
    rec.setdefault("leaderboard_id", None)


def set_leaderboard(name: str) -> Handler:
    async def handler(call: Call) -> Result:
        rec = find(call, ITEM, call.rid)
        rec["leaderboard_id"] = _leaderboard(call, rec, call.body.get("data"), "/data")
        return 204, None, {}

    return handler


KIND = register_kind(
    Kind(
        name="challenge",
        label="challenge",
        stem="Challenge",
        item=ITEM,
        version=VERSION,
        localization=LOCALIZATION,
        image=IMAGE,
        item_field="challenge_id",
        owner_rels={"v1": "gameCenterChallenges"},
        version_parent_rel="challenge",
        loc_parent_rels={"v1": "version"},
        image_parent_rels={"v1": "localization"},
        text_fields=(TextField("name", True), TextField("description")),
        image_rule=WIDE,
        default_image_rule=WIDE,
        max_items=lambda cfg: cfg.max_challenges,
        apis=("v1",),
        legacy_apis=(),
        inline_version={"v1": False},
        item_defaults={"archived": False},
        check_item=check_challenge,
        prepare=tie_leaderboard,
    )
)

ROUTES = kind_routes(KIND) + [
    ("PATCH", f"{resource(ITEM).path('v1')}/{{id}}/relationships/{name}", "v1", set_leaderboard(name))
    for name in ("leaderboardV2", "leaderboard")
]
