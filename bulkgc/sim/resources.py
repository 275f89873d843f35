"""Declarations the simulator is built from: each resource type (Resource), each Game Center kind (Kind).

A `Resource` is one Apple resource type: where it lives in the store (`collection`), its base path per API
version, how its attributes are rendered and its relationships per API version (names and modes from the
response schemas of Apple's spec 4.4.1). A `Kind` ties an item, its version, localization and image resources
together with the kind's rules. Both are data: `bulkgc/sim/kinds/<kind>.py` declares them and registers them
here;
the store, the renderer and the generic handlers read them and name no kind.

Nothing here imports the rest of the simulator at runtime, so every module can import it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .state import SimState

Record = dict[str, Any]
Resolver = Callable[["SimState", Record], Any]

VERSION_STATES = (
    "PREPARE_FOR_SUBMISSION",
    "READY_FOR_REVIEW",
    "WAITING_FOR_REVIEW",
    "IN_REVIEW",
    "DEVELOPER_REJECTED",
    "REJECTED",
    "ACCEPTED",
    "PENDING_RELEASE",
    "LIVE",
    "REPLACED_WITH_NEW_VERSION",
)
# [INFER] localizations and images of a version can be edited only in these states.
EDITABLE_STATES = frozenset({"PREPARE_FOR_SUBMISSION", "DEVELOPER_REJECTED", "REJECTED"})
# [INFER] a new version can be created only when the latest one is LIVE.
NEW_VERSION_STATES = frozenset({"LIVE"})

# App Store Connect locale codes (the App Store localization list) [DOC App Store Connect Help, "App Store
# localizations"].
LOCALES = frozenset(
    """ar-SA ca cs da de-DE el en-AU en-CA en-GB en-US es-ES es-MX fi fr-CA fr-FR he hi hr hu id it ja ko ms
    nl-NL no     pl pt-BR pt-PT ro ru sk sv th tr uk vi zh-Hans zh-Hant""".split()
)


@dataclass(frozen=True)
class Rel:
    """One relationship of a resource as rendered: target key (None: not modelled), to-many or to-one.

    `mode`: "data" = linkage always, no links (Apple's to-one parents); "links" = links always, data when
    included; "included" = neither links nor data unless included (the schema declares only data and meta).
    """

    name: str
    target: str | None
    many: bool
    mode: str = "links"
    resolve: Resolver | None = None
    served: bool = True
    """Whether Apple has GET routes for it (…/{rel} and …/relationships/{rel}) that the simulator serves."""


@dataclass(frozen=True)
class Resource:
    """One Apple resource type the simulator stores and renders."""

    key: str
    type: str
    collection: str
    paths: dict[str, str]
    """API version -> base path ("v1" -> "/v1/gameCenterLeaderboards"); with one path it serves both."""
    attributes: Callable[[Record], dict[str, Any]] | None = None
    """Rendered attributes of a record; None for images (the renderer builds the upload state)."""
    rels: dict[str, tuple[Rel, ...]] = field(default_factory=dict)
    """API version ("v1", "v2" or "*") -> relationships, in the schema's order."""
    id_style: str = "uuid"

    def path(self, api: str) -> str:
        return self.paths.get(api) or next(iter(self.paths.values()))

    def relationships(self, api: str) -> tuple[Rel, ...]:
        return self.rels.get(api) or self.rels.get("*") or ()

    def relationship(self, api: str, name: str) -> Rel:
        for rel in self.relationships(api):
            if rel.name == name:
                return rel
        raise KeyError(f"{api} {self.type} has no relationship {name}")


@dataclass(frozen=True)
class ImageRule:
    """What processing accepts for one image slot (A12): sizes, and the noun used in error descriptions."""

    sizes: tuple[tuple[int, int], ...]
    label: str


@dataclass(frozen=True)
class TextField:
    """One localization text attribute: required at creation, and whether it may be empty."""

    name: str
    required: bool = False


@dataclass(frozen=True)
class Kind:
    """A Game Center kind: its resources, its relationship names per API and its rules."""

    name: str
    label: str
    """Singular noun for messages ("leaderboard")."""
    item: str
    version: str
    localization: str
    image: str
    item_field: str
    """The version record's field naming its item ("achievement_id")."""
    owner_rels: dict[str, str]
    """API version -> the detail's/group's to-many relationship listing the items."""
    version_parent_rel: str
    """Relationship naming the item in a version create body ("achievement")."""
    loc_parent_rels: dict[str, str]
    """API version -> relationship naming the parent in a localization create body ("version", ...)."""
    image_parent_rels: dict[str, str]
    """API version -> relationship naming the localization in an image create body."""
    text_fields: tuple[TextField, ...]
    image_rule: ImageRule
    max_items: Callable[[Any], int]
    """Items per detail or group (from the SimConfig)."""
    apis: tuple[str, ...] = ("v2", "v1")
    inline_version: dict[str, bool] = field(default_factory=dict)
    """API version -> whether the item create must carry exactly one inline version (True) or may (False)."""
    version_attributes: tuple[str, ...] = ()
    """Attributes a version stores beside version and state (activity: fallbackUrl)."""
    default_image_rule: ImageRule | None = None
    """Kinds whose version has a default image (activities, challenges)."""
    item_defaults: dict[str, Any] = field(default_factory=dict)
    """Attributes stored at creation when the body leaves them out (rendered as Apple would)."""
    check_item: Callable[..., None] | None = None
    """Kind rules on an item's attributes: check_item(call, owner, attrs, existing); raises SimError."""
    prepare: Callable[..., None] | None = None
    """Kind rules on an item's relationships in a create/update body: prepare(call, record, creating)."""
    on_delete: Callable[..., None] | None = None
    """Clean-up when an item is deleted (e.g. leaving leaderboard sets): on_delete(call, record)."""
    legacy_apis: tuple[str, ...] = ("v1",)
    """API versions without versions on the wire: localizations hang off the item (its latest version)."""
    stem: str = ""
    """Apple's name stem of the kind's v1 relationship names ("Achievement" -> gameCenterAchievementImage)."""
    max_vendor_id: int = 100  # [DOC A12] achievement/leaderboard/challenge IDs are at most 100 characters


RESOURCES: dict[str, Resource] = {}
KINDS: dict[str, Kind] = {}


def register(*resources: Resource) -> None:
    for res in resources:
        RESOURCES[res.key] = res


def register_kind(kind: Kind) -> Kind:
    KINDS[kind.name] = kind
    return kind


def resource(key: str) -> Resource:
    return RESOURCES[key]


def collections() -> list[str]:
    """Every store collection, in registration order (each Resource names one; several may share it)."""
    out: list[str] = []
    for res in RESOURCES.values():
        if res.collection not in out:
            out.append(res.collection)
    return out


def image_collections() -> list[str]:
    return list(dict.fromkeys(RESOURCES[k.image].collection for k in KINDS.values()))


def version_collections() -> list[str]:
    return list(dict.fromkeys(RESOURCES[k.version].collection for k in KINDS.values()))


# ------------------------------------------------------------------ relationship resolvers


def to_one(collection: str, field_name: str) -> Resolver:
    """The record named by `rec[field_name]` in `collection` (None when unset or gone)."""

    def resolve(state: SimState, rec: Record) -> Any:
        rid = rec.get(field_name)
        return state.get(collection, rid) if rid else None

    return resolve


def to_many(collection: str, back_field: str, order: str = "seq") -> Resolver:
    """The records of `collection` whose `back_field` is this record's id, ordered by `order`."""

    def resolve(state: SimState, rec: Record) -> Any:
        return sorted(
            (r for r in state.data[collection].values() if r.get(back_field) == rec["id"]),
            key=lambda r: r[order],
        )

    return resolve


def first_of(resolver: Resolver) -> Resolver:
    """A to-one view of a to-many resolver (a localization's single image)."""

    def resolve(state: SimState, rec: Record) -> Any:
        found = resolver(state, rec)
        return found[0] if found else None

    return resolve


def fields(*names: str) -> Callable[[Record], dict[str, Any]]:
    """Attributes copied from flat record fields; unset ones are left out (mostly not nullable)."""

    def render(rec: Record) -> dict[str, Any]:
        return {n: rec[n] for n in names if rec.get(n) is not None}

    return render


def stored_attributes(rec: Record) -> dict[str, Any]:
    return dict(rec["attributes"])
