"""The shape of one Game Center kind in one API version: paths, type strings and relationship names.

The v1 and v2 APIs of a kind differ only in paths and relationship names (GAME_CENTER_API.md A1, A4), and
achievements, leaderboards, leaderboard sets, activities and challenges share one shape (A5), so the rest
of bulkgc reads them from a `KindApi` row instead of having copies of the code. The rows themselves are
declared with their kind, in `bulkgc/kinds/<kind>.py`.
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
    item: str = ""  # PATCH a version's attributes, "{id}" = version id (activities: fallbackUrl)
    default_image_read: str = ""  # GET a version's default image, "{id}" = version id (activities, ...)
    default_image_rel: str = "version"  # image -> version relationship name in a default image's reserve body
    # The relationship naming such a version in a review submission item (ReviewSubmissionItemCreateRequest);
    # None: the kind's versions cannot be submitted on their own.
    review_item_rel: str | None = None


@dataclass(frozen=True, kw_only=True)
class ReferenceApi:
    """How one reference of a kind (`bulkgc.kinds.model.Reference`) travels in one API version."""

    key: str  # the Reference's manifest key
    rel: str  # relationship name: in the create body, in the linkage path, in `include`
    type: str  # resource type of the referenced items
    linkage: str  # ".../{id}/relationships/<rel>": PATCH replaces (a to-many list in order, or the one link)
    read: str  # "linkage": GET the linkage path per item; "include": included on the kind's list


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
    version: VersionApi | None
    # localizations
    loc_type: str
    loc_list: str  # localizations of the container (version for v2, parent for v1), "{id}"
    loc_create: str
    loc_item: str
    loc_container_rel: str  # localization -> container relationship name
    loc_image_rel: str  # localization -> image relationship name (also the include value)
    loc_image_read: str  # GET the image of a localization, "{id}" = localization id
    # images
    image_type: str
    image_create: str
    image_item: str
    image_loc_rel: str  # image -> localization relationship name (in the reserve body)
    references: tuple[ReferenceApi, ...] = ()
    list_filters_id: bool = True  # the owner's list takes filter[id] (activities' does not)

    @property
    def container_type(self) -> str:
        """Type of the resource that owns localizations (a version in v2, the parent in v1)."""
        return self.version.type if self.version else self.parent_type

    def path(self, template: str, id: str) -> str:
        return template.replace("{id}", id)


APP_DETAIL = "/v1/apps/{id}/gameCenterDetail"

# Review submissions (GAME_CENTER_API.md A4 item 9): how versions reach App Review, the same for every kind.
REVIEW_SUBMISSIONS = "/v1/reviewSubmissions"
REVIEW_SUBMISSION = "/v1/reviewSubmissions/{id}"
REVIEW_SUBMISSION_ITEMS = "/v1/reviewSubmissions/{id}/items"
REVIEW_ITEMS = "/v1/reviewSubmissionItems"
#: items per review submission [DOC App Store Connect Help: up to 200 components per submission]
REVIEW_SUBMISSION_MAX_ITEMS = 200

