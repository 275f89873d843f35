"""Leaderboard sets: a name per locale, an optional icon, and their ordered member leaderboards (v2, v1).

Membership is the set's to-many relationship `gameCenterLeaderboards` (spec 4.4.1: GET, POST adds, PATCH
replaces, DELETE removes). bulkgc keeps it equal to the manifest's `leaderboards` list, order included: a new
set names its members in its create request, an existing one whose members or order differ gets one PATCH of
the whole list. Limits (A12): at most 100 sets per app, 100 leaderboards per set. Apple publishes no rule for
set images: bulkgc applies the leaderboard icon rule (inferred).
"""

from __future__ import annotations

from bulkgc.asc.resources import KindApi, ReferenceApi, VersionApi
from bulkgc.kinds.model import Attribute, ImageRule, Kind, Reference, TextField

MAX_MEMBERS = 100


def _members(api: str) -> ReferenceApi:
    return ReferenceApi(
        key="leaderboards",
        rel="gameCenterLeaderboards",
        type="gameCenterLeaderboards",
        linkage=f"/{api}/gameCenterLeaderboardSets/{{id}}/relationships/gameCenterLeaderboards",
        read="linkage",
    )


V2 = KindApi(
    kind="leaderboard_set",
    api="v2",
    parent_type="gameCenterLeaderboardSets",
    list_in_detail="/v1/gameCenterDetails/{id}/gameCenterLeaderboardSetsV2",
    list_in_group="/v1/gameCenterGroups/{id}/gameCenterLeaderboardSetsV2",
    parent_create="/v2/gameCenterLeaderboardSets",
    parent_item="/v2/gameCenterLeaderboardSets/{id}",
    version=VersionApi(
        type="gameCenterLeaderboardSetVersions",
        list_of_parent="/v2/gameCenterLeaderboardSets/{id}/versions",
        create="/v2/gameCenterLeaderboardSetVersions",
        parent_rel="leaderboardSet",
        include_on_parent_list="versions",
        review_item_rel="gameCenterLeaderboardSetVersion",
    ),
    loc_type="gameCenterLeaderboardSetLocalizations",
    loc_list="/v2/gameCenterLeaderboardSetVersions/{id}/localizations",
    loc_create="/v2/gameCenterLeaderboardSetLocalizations",
    loc_item="/v2/gameCenterLeaderboardSetLocalizations/{id}",
    loc_container_rel="version",
    loc_image_rel="image",
    loc_image_read="/v2/gameCenterLeaderboardSetLocalizations/{id}/image",
    image_type="gameCenterLeaderboardSetImages",
    image_create="/v2/gameCenterLeaderboardSetImages",
    image_item="/v2/gameCenterLeaderboardSetImages/{id}",
    image_loc_rel="localization",
    references=(_members("v2"),),
)

V1 = KindApi(
    kind="leaderboard_set",
    api="v1",
    parent_type="gameCenterLeaderboardSets",
    list_in_detail="/v1/gameCenterDetails/{id}/gameCenterLeaderboardSets",
    list_in_group="/v1/gameCenterGroups/{id}/gameCenterLeaderboardSets",
    parent_create="/v1/gameCenterLeaderboardSets",
    parent_item="/v1/gameCenterLeaderboardSets/{id}",
    version=None,
    loc_type="gameCenterLeaderboardSetLocalizations",
    loc_list="/v1/gameCenterLeaderboardSets/{id}/localizations",
    loc_create="/v1/gameCenterLeaderboardSetLocalizations",
    loc_item="/v1/gameCenterLeaderboardSetLocalizations/{id}",
    loc_container_rel="gameCenterLeaderboardSet",
    loc_image_rel="gameCenterLeaderboardSetImage",
    loc_image_read="/v1/gameCenterLeaderboardSetLocalizations/{id}/gameCenterLeaderboardSetImage",
    image_type="gameCenterLeaderboardSetImages",
    image_create="/v1/gameCenterLeaderboardSetImages",
    image_item="/v1/gameCenterLeaderboardSetImages/{id}",
    image_loc_rel="gameCenterLeaderboardSetLocalization",
    references=(_members("v1"),),
)

LEADERBOARD_SET = Kind(
    name="leaderboard_set",
    plural="leaderboard sets",
    attributes=(
        Attribute(key="vendor_identifier", asc="vendorIdentifier", type="string", limit=100, editable=False),
        Attribute(key="reference_name", asc="referenceName", type="string", limit=64, limit_source="bulkgc"),
    ),
    texts=(TextField(key="name", asc="name", limit=64),),
    # optional icon in leaderboard_sets/: Apple documents no rule for it, so the leaderboard icon rule applies
    image=ImageRule(required=False, folder="leaderboard_sets", sizes_source="inferred"),
    apis=(V2, V1),
    max_items=100,
    doc="App Store Connect Help, Leaderboards (leaderboard sets)",
    locales_section="leaderboard_set_locales",
    references=(Reference(key="leaderboards", kind="leaderboard", many=True, limit=MAX_MEMBERS),),
    example_vendor_identifier="com.example.game.set.arcade",
)
