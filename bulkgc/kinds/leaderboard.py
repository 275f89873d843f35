"""Leaderboards: what App Store Connect holds for one, and where (v2 with versions; v1 deprecated, without).

Attributes and enums are Apple's (spec 4.4.1, `GameCenterLeaderboardV2CreateRequest` / `UpdateRequest`,
`GameCenterLeaderboardFormatter`); `archived` exists only in update requests, so a new leaderboard that
should be archived is created and then updated. The icon is optional (A12: archived guide, same pixel
rules as achievements) and found by convention in the assets' `leaderboards/` folder, so it can never be
taken for the icon of an achievement with the same vendor identifier.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from bulkgc.asc.resources import KindApi, VersionApi
from bulkgc.kinds.model import Attribute, ImageRule, Kind, TextField

FORMATTERS = (
    "INTEGER",
    "DECIMAL_POINT_1_PLACE",
    "DECIMAL_POINT_2_PLACE",
    "DECIMAL_POINT_3_PLACE",
    "ELAPSED_TIME_CENTISECOND",
    "ELAPSED_TIME_MINUTE",
    "ELAPSED_TIME_SECOND",
    "MONEY_POUND_DECIMAL",
    "MONEY_POUND",
    "MONEY_DOLLAR_DECIMAL",
    "MONEY_DOLLAR",
    "MONEY_EURO_DECIMAL",
    "MONEY_EURO",
    "MONEY_FRANC_DECIMAL",
    "MONEY_FRANC",
    "MONEY_KRONER_DECIMAL",
    "MONEY_KRONER",
    "MONEY_YEN",
)

RECURRENCE = ("recurrence_start_date", "recurrence_duration", "recurrence_rule")


def score_range_in_order(attributes: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The score range's start is not above its end (App Store Connect's form refuses it) [INFER]."""
    start, end = attributes.get("score_range_start"), attributes.get("score_range_end")
    if start is not None and end is not None and Decimal(str(start)) > Decimal(str(end)):
        return [("score_range_start", f"{start} is above score_range_end ({end}); swap them")]
    return []


def recurrence_complete(attributes: Mapping[str, Any]) -> list[tuple[str, str]]:
    """A recurring leaderboard gives its start, duration and rule together [INFER]."""
    given = [key for key in RECURRENCE if attributes.get(key) is not None]
    missing = [key for key in RECURRENCE if key not in given]
    if given and missing:
        return [(missing[0], f"missing; a recurring leaderboard needs {', '.join(RECURRENCE)} together "
                             f"(this one has {', '.join(given)})")]
    return []


V2 = KindApi(
    kind="leaderboard",
    api="v2",
    parent_type="gameCenterLeaderboards",
    list_in_detail="/v1/gameCenterDetails/{id}/gameCenterLeaderboardsV2",
    list_in_group="/v1/gameCenterGroups/{id}/gameCenterLeaderboardsV2",
    parent_create="/v2/gameCenterLeaderboards",
    parent_item="/v2/gameCenterLeaderboards/{id}",
    version=VersionApi(
        type="gameCenterLeaderboardVersions",
        list_of_parent="/v2/gameCenterLeaderboards/{id}/versions",
        create="/v2/gameCenterLeaderboardVersions",
        parent_rel="leaderboard",
        include_on_parent_list="versions",
        review_item_rel="gameCenterLeaderboardVersion",
    ),
    loc_type="gameCenterLeaderboardLocalizations",
    loc_list="/v2/gameCenterLeaderboardVersions/{id}/localizations",
    loc_create="/v2/gameCenterLeaderboardLocalizations",
    loc_item="/v2/gameCenterLeaderboardLocalizations/{id}",
    loc_container_rel="version",
    loc_image_rel="image",
    loc_image_read="/v2/gameCenterLeaderboardLocalizations/{id}/image",
    image_type="gameCenterLeaderboardImages",
    image_create="/v2/gameCenterLeaderboardImages",
    image_item="/v2/gameCenterLeaderboardImages/{id}",
    image_loc_rel="localization",
)

V1 = KindApi(
    kind="leaderboard",
    api="v1",
    parent_type="gameCenterLeaderboards",
    list_in_detail="/v1/gameCenterDetails/{id}/gameCenterLeaderboards",
    list_in_group="/v1/gameCenterGroups/{id}/gameCenterLeaderboards",
    parent_create="/v1/gameCenterLeaderboards",
    parent_item="/v1/gameCenterLeaderboards/{id}",
    version=None,
    loc_type="gameCenterLeaderboardLocalizations",
    loc_list="/v1/gameCenterLeaderboards/{id}/localizations",
    loc_create="/v1/gameCenterLeaderboardLocalizations",
    loc_item="/v1/gameCenterLeaderboardLocalizations/{id}",
    loc_container_rel="gameCenterLeaderboard",
    loc_image_rel="gameCenterLeaderboardImage",
    loc_image_read="/v1/gameCenterLeaderboardLocalizations/{id}/gameCenterLeaderboardImage",
    image_type="gameCenterLeaderboardImages",
    image_create="/v1/gameCenterLeaderboardImages",
    image_item="/v1/gameCenterLeaderboardImages/{id}",
    image_loc_rel="gameCenterLeaderboardLocalization",
)

LEADERBOARD = Kind(
    name="leaderboard",
    plural="leaderboards",
    # A12: at most 100 leaderboards per app without sets; ids of at most 100 characters that never change.
    # Which attributes freeze once a leaderboard is live is not in Apple's spec: bulkgc assumes (as App Store
    # Connect's form does) that the score format and the sort and submission rules do, and reports such a
    # change as blocked instead of sending it.
    attributes=(
        Attribute(key="vendor_identifier", asc="vendorIdentifier", type="string", limit=100, editable=False),
        Attribute(key="reference_name", asc="referenceName", type="string", limit=64, limit_source="bulkgc"),
        Attribute(
            key="default_formatter",
            asc="defaultFormatter",
            type="enum",
            enum=FORMATTERS,
            editable_after_release=False,
        ),
        Attribute(
            key="submission_type",
            asc="submissionType",
            type="enum",
            enum=("BEST_SCORE", "MOST_RECENT_SCORE"),
            editable_after_release=False,
        ),
        Attribute(
            key="score_sort_type",
            asc="scoreSortType",
            type="enum",
            enum=("ASC", "DESC"),
            editable_after_release=False,
        ),
        Attribute(key="score_range_start", asc="scoreRangeStart", type="number", required=False),
        Attribute(key="score_range_end", asc="scoreRangeEnd", type="number", required=False),
        Attribute(key="recurrence_start_date", asc="recurrenceStartDate", type="datetime", required=False),
        Attribute(key="recurrence_duration", asc="recurrenceDuration", type="duration", required=False),
        Attribute(
            key="recurrence_rule",
            asc="recurrenceRule",
            type="string",
            required=False,
            limit=255,
            limit_source="bulkgc",
        ),
        Attribute(
            key="visibility",
            asc="visibility",
            type="enum",
            enum=("SHOW_FOR_ALL", "HIDE_FOR_ALL"),
            required=False,
        ),
        Attribute(
            key="archived", asc="archived", type="boolean", required=False, on_create=False, default=False
        ),
    ),
    texts=(
        TextField(key="name", asc="name", limit=64),
        TextField(
            key="formatter_override", asc="formatterOverride", limit=64, required=False, enum=FORMATTERS
        ),
        TextField(key="formatter_suffix", asc="formatterSuffix", limit=64, required=False),
        TextField(key="formatter_suffix_singular", asc="formatterSuffixSingular", limit=64, required=False),
        TextField(key="description", asc="description", limit=255, required=False),
    ),
    # optional icon: leaderboards/<vendor>.<locale>.png or leaderboards/<vendor>.png, or `image = "..."`
    image=ImageRule(required=False, folder="leaderboards"),
    apis=(V2, V1),
    max_items=100,
    locales_section="leaderboard_locales",
    doc="App Store Connect Help, Leaderboards",
    rules=(score_range_in_order, recurrence_complete),
    example_vendor_identifier="com.example.game.high_score",
)
