"""Achievements: what App Store Connect holds for one, and where (v2 with versions; v1 deprecated without)."""

from __future__ import annotations

from bulkgc.asc.resources import KindApi, VersionApi
from bulkgc.kinds.model import Attribute, ImageRule, Kind, TextField

V2 = KindApi(
    kind="achievement",
    api="v2",
    parent_type="gameCenterAchievements",
    list_in_detail="/v1/gameCenterDetails/{id}/gameCenterAchievementsV2",
    list_in_group="/v1/gameCenterGroups/{id}/gameCenterAchievementsV2",
    parent_create="/v2/gameCenterAchievements",
    parent_item="/v2/gameCenterAchievements/{id}",
    version=VersionApi(
        type="gameCenterAchievementVersions",
        list_of_parent="/v2/gameCenterAchievements/{id}/versions",
        create="/v2/gameCenterAchievementVersions",
        parent_rel="achievement",
        include_on_parent_list="versions",
        review_item_rel="gameCenterAchievementVersion",
    ),
    loc_type="gameCenterAchievementLocalizations",
    loc_list="/v2/gameCenterAchievementVersions/{id}/localizations",
    loc_create="/v2/gameCenterAchievementLocalizations",
    loc_item="/v2/gameCenterAchievementLocalizations/{id}",
    loc_container_rel="version",
    loc_image_rel="image",
    loc_image_read="/v2/gameCenterAchievementLocalizations/{id}/image",
    image_type="gameCenterAchievementImages",
    image_create="/v2/gameCenterAchievementImages",
    image_item="/v2/gameCenterAchievementImages/{id}",
    image_loc_rel="localization",
)

V1 = KindApi(
    kind="achievement",
    api="v1",
    parent_type="gameCenterAchievements",
    list_in_detail="/v1/gameCenterDetails/{id}/gameCenterAchievements",
    list_in_group="/v1/gameCenterGroups/{id}/gameCenterAchievements",
    parent_create="/v1/gameCenterAchievements",
    parent_item="/v1/gameCenterAchievements/{id}",
    version=None,
    loc_type="gameCenterAchievementLocalizations",
    loc_list="/v1/gameCenterAchievements/{id}/localizations",
    loc_create="/v1/gameCenterAchievementLocalizations",
    loc_item="/v1/gameCenterAchievementLocalizations/{id}",
    loc_container_rel="gameCenterAchievement",
    loc_image_rel="gameCenterAchievementImage",
    loc_image_read="/v1/gameCenterAchievementLocalizations/{id}/gameCenterAchievementImage",
    image_type="gameCenterAchievementImages",
    image_create="/v1/gameCenterAchievementImages",
    image_item="/v1/gameCenterAchievementImages/{id}",
    image_loc_rel="gameCenterAchievementLocalization",
)

ACHIEVEMENT = Kind(
    name="achievement",
    plural="achievements",
    # Limits from App Store Connect Help (A12): 100 achievements per app, 0..100 points each, 1000 in total,
    # ids of at most 100 characters that never change. Apple publishes no text limits: bulkgc's are
    # conservative.
    attributes=(
        Attribute(key="vendor_identifier", asc="vendorIdentifier", type="string", limit=100, editable=False),
        Attribute(key="reference_name", asc="referenceName", type="string", limit=64, limit_source="bulkgc"),
        Attribute(key="points", asc="points", type="integer", minimum=0, limit=100, in_defaults=True),
        Attribute(key="show_before_earned", asc="showBeforeEarned", type="boolean", in_defaults=True),
        Attribute(key="repeatable", asc="repeatable", type="boolean", in_defaults=True),
    ),
    texts=(
        TextField(key="name", asc="name", limit=64),
        TextField(key="before_earned_description", asc="beforeEarnedDescription", limit=255),
        TextField(key="after_earned_description", asc="afterEarnedDescription", limit=255),
    ),
    # every achievement localization needs its icon; found as <vendor>.<locale>.png or <vendor>.png
    image=ImageRule(required=True, folder=""),
    apis=(V2, V1),
    max_items=100,
    totals=(("points", 1000),),
    locales_section="locales",
    doc="App Store Connect Help, Achievements",
)
