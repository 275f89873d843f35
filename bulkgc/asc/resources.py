"""The table of Game Center kinds per API version: paths, type strings and relationship names.

The v1 and v2 achievement APIs differ only in paths and relationship names (GAME_CENTER_API.md A1, A4),
so the rest of bulkgc reads them from a `KindApi` row instead of having two copies of the code.
Leaderboards, leaderboard sets, activities and challenges share the same shape (A5): adding one is a
new row here plus its manifest section.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, kw_only=True)
class VersionApi:
    """How a versioned kind (v2) exposes its versions."""

    type: str  # resource type of a version
    list_of_parent: str  # GET versions of one parent, "{id}" = parent id
    create: str  # POST a new version
    parent_rel: str  # relationship from version to its parent
    include_on_parent_list: str  # include value on the parent listing that embeds versions
    # States in which the version's localizations and images may still be edited.
    editable_states: frozenset[str] = frozenset({"PREPARE_FOR_SUBMISSION", "DEVELOPER_REJECTED", "REJECTED"})
    # States in which a new version may be created (the latest one is final).
    new_version_states: frozenset[str] = frozenset({"LIVE", "REPLACED_WITH_NEW_VERSION"})


@dataclass(frozen=True, kw_only=True)
class KindApi:
    """One Game Center kind in one API version."""

    kind: str  # "achievement"
    api: str  # "v1" | "v2"
    # parent resource (the achievement)
    parent_type: str
    list_in_detail: str  # "{id}" = gameCenterDetail id
    list_in_group: str  # "{id}" = gameCenterGroup id
    parent_create: str
    parent_item: str  # "{id}"
    parent_create_attributes: tuple[str, ...]
    parent_update_attributes: tuple[str, ...]
    version: VersionApi | None
    # localizations
    loc_type: str
    loc_list: str  # localizations of the container (version for v2, parent for v1), "{id}"
    loc_create: str
    loc_item: str
    loc_container_rel: str  # localization -> container relationship name
    loc_image_rel: str  # localization -> image relationship name (also the include value)
    loc_image_read: str  # GET the image of a localization, "{id}" = localization id
    loc_text_attributes: tuple[str, ...]
    # images
    image_type: str
    image_create: str
    image_item: str
    image_loc_rel: str  # image -> localization relationship name (in the reserve body)

    @property
    def container_type(self) -> str:
        """Type of the resource that owns localizations (a version in v2, the parent in v1)."""
        return self.version.type if self.version else self.parent_type

    def path(self, template: str, id: str) -> str:
        return template.replace("{id}", id)


ACHIEVEMENT_TEXT = ("name", "beforeEarnedDescription", "afterEarnedDescription")
ACHIEVEMENT_CREATE = ("referenceName", "vendorIdentifier", "points", "showBeforeEarned", "repeatable")
ACHIEVEMENT_UPDATE = ("referenceName", "points", "showBeforeEarned", "repeatable")

ACHIEVEMENT_V2 = KindApi(
    kind="achievement",
    api="v2",
    parent_type="gameCenterAchievements",
    list_in_detail="/v1/gameCenterDetails/{id}/gameCenterAchievementsV2",
    list_in_group="/v1/gameCenterGroups/{id}/gameCenterAchievementsV2",
    parent_create="/v2/gameCenterAchievements",
    parent_item="/v2/gameCenterAchievements/{id}",
    parent_create_attributes=ACHIEVEMENT_CREATE,
    parent_update_attributes=ACHIEVEMENT_UPDATE,
    version=VersionApi(
        type="gameCenterAchievementVersions",
        list_of_parent="/v2/gameCenterAchievements/{id}/versions",
        create="/v2/gameCenterAchievementVersions",
        parent_rel="achievement",
        include_on_parent_list="versions",
    ),
    loc_type="gameCenterAchievementLocalizations",
    loc_list="/v2/gameCenterAchievementVersions/{id}/localizations",
    loc_create="/v2/gameCenterAchievementLocalizations",
    loc_item="/v2/gameCenterAchievementLocalizations/{id}",
    loc_container_rel="version",
    loc_image_rel="image",
    loc_image_read="/v2/gameCenterAchievementLocalizations/{id}/image",
    loc_text_attributes=ACHIEVEMENT_TEXT,
    image_type="gameCenterAchievementImages",
    image_create="/v2/gameCenterAchievementImages",
    image_item="/v2/gameCenterAchievementImages/{id}",
    image_loc_rel="localization",
)

ACHIEVEMENT_V1 = KindApi(
    kind="achievement",
    api="v1",
    parent_type="gameCenterAchievements",
    list_in_detail="/v1/gameCenterDetails/{id}/gameCenterAchievements",
    list_in_group="/v1/gameCenterGroups/{id}/gameCenterAchievements",
    parent_create="/v1/gameCenterAchievements",
    parent_item="/v1/gameCenterAchievements/{id}",
    parent_create_attributes=ACHIEVEMENT_CREATE,
    parent_update_attributes=ACHIEVEMENT_UPDATE,
    version=None,
    loc_type="gameCenterAchievementLocalizations",
    loc_list="/v1/gameCenterAchievements/{id}/localizations",
    loc_create="/v1/gameCenterAchievementLocalizations",
    loc_item="/v1/gameCenterAchievementLocalizations/{id}",
    loc_container_rel="gameCenterAchievement",
    loc_image_rel="gameCenterAchievementImage",
    loc_image_read="/v1/gameCenterAchievementLocalizations/{id}/gameCenterAchievementImage",
    loc_text_attributes=ACHIEVEMENT_TEXT,
    image_type="gameCenterAchievementImages",
    image_create="/v1/gameCenterAchievementImages",
    image_item="/v1/gameCenterAchievementImages/{id}",
    image_loc_rel="gameCenterAchievementLocalization",
)

KINDS: dict[tuple[str, str], KindApi] = {
    (row.kind, row.api): row for row in (ACHIEVEMENT_V2, ACHIEVEMENT_V1)
}

APP_DETAIL = "/v1/apps/{id}/gameCenterDetail"


def kind_api(kind: str, api: str) -> KindApi:
    """The row for `kind` in API version `api` ("v1" or "v2")."""
    try:
        return KINDS[(kind, api)]
    except KeyError:
        known = ", ".join(f"{k}/{a}" for k, a in KINDS)
        raise KeyError(f"no API table row for {kind}/{api} (known: {known})") from None
