"""The shape every localized Game Center kind shares (item, version, localization, image), declared once.

Apple names the pieces the same way for every kind (SPEC_EXTRACT; GAME_CENTER_API.md A5): on a versioned API
the
item has `versions`, a version has `localizations` (and, for activities and challenges, a `defaultImage`), a
localization has `version` and `image`, an image has `localization`; on the deprecated v1 API the item has
`localizations`, a localization has `gameCenter<Stem>` and `gameCenter<Stem>Image`, an image has
`gameCenter<Stem>Localization`. `declare` builds and registers the four Resources from a kind's names.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..resources import Record, Rel, Resource, fields, first_of, register, to_many, to_one

if TYPE_CHECKING:
    from ..state import SimState


def owner_rels() -> tuple[Rel, ...]:
    """An item's owner: gameCenterDetail or gameCenterGroup, linkage data only (one of them is set)."""

    def owner(kind: str) -> Callable[[SimState, Record], Any]:
        def resolve(state: SimState, rec: Record) -> Any:
            return state.get(f"{kind}s", rec["owner_id"]) if rec["owner_kind"] == kind else None

        return resolve

    return (
        Rel("gameCenterDetail", "detail", False, "data", owner("detail")),
        Rel("gameCenterGroup", "group", False, "data", owner("group")),
    )


def declare(
    *,
    name: str,
    stem: str,
    item_type: str,
    collections: tuple[str, str, str, str],
    apis: dict[str, str],
    item_field: str,
    version_parent_rel: str,
    item_attributes: Callable[[Record], dict[str, Any]],
    loc_fields: tuple[str, ...],
    item_rels: dict[str, tuple[Rel, ...]],
    version_fields: tuple[str, ...] = (),
    version_rels: tuple[Rel, ...] = (),
    default_image: bool = False,
    image_rels: bool = True,
    unserved: tuple[str, ...] = (),
) -> tuple[str, str, str, str]:
    """Register the item, version, localization and image Resources of a kind; returns their keys.

    `apis` maps each API version to its path prefix kind: "versioned" or "legacy" (v1 without versions).
    `item_rels[api]` are the item's relationships besides owner, `versions` and `localizations`, in schema
    order.
    `unserved` names relationships Apple has no GET routes for (rendered, but no …/{rel} route is served).
    """
    item_c, version_c, loc_c, image_c = collections
    keys = (name, f"{name}_version", f"{name}_localization", f"{name}_image")
    version_type, loc_type, image_type = (
        f"gameCenter{stem}{x}" for x in ("Versions", "Localizations", "Images")
    )
    paths = {api: f"/{api}" for api in apis}
    versioned = [api for api, shape in apis.items() if shape == "versioned"]
    legacy = [api for api, shape in apis.items() if shape == "legacy"]

    versions_of = to_many(version_c, item_field, order="version")
    locs_of = to_many(loc_c, "version_id")
    image_of = first_of(to_many(image_c, "localization_id", order="created"))

    def latest_locs(state: SimState, rec: Record) -> Any:
        versions = versions_of(state, rec)
        return locs_of(state, versions[-1]) if versions else []

    def item_of_loc(state: SimState, rec: Record) -> Any:
        version = state.get(version_c, rec["version_id"])
        return state.get(item_c, version[item_field]) if version else None

    item_rel_table: dict[str, tuple[Rel, ...]] = {}
    loc_rel_table: dict[str, tuple[Rel, ...]] = {}
    image_rel_table: dict[str, tuple[Rel, ...]] = {}
    for api in versioned:
        item_rel_table[api] = (
            owner_rels() + item_rels.get(api, ()) + (Rel("versions", keys[1], True, "links", versions_of),)
        )
        loc_rel_table[api] = (
            Rel("version", keys[1], False, "data", to_one(version_c, "version_id")),
            Rel("image", keys[3], False, "links", image_of),
        )
        image_rel_table[api] = (
            (Rel("localization", keys[2], False, "data", to_one(loc_c, "localization_id")),)
            if image_rels
            else ()
        )
    for api in legacy:
        item_rel_table[api] = (
            owner_rels()
            + item_rels.get(api, ())
            + (Rel("localizations", keys[2], True, "links", latest_locs),)
        )
        loc_rel_table[api] = (
            # with GET routes the schema shows links; without them, linkage data
            Rel(f"gameCenter{stem}", keys[0], False, "data", item_of_loc, False)
            if f"gameCenter{stem}" in unserved
            else Rel(f"gameCenter{stem}", keys[0], False, "links", item_of_loc),
            Rel(f"gameCenter{stem}Image", keys[3], False, "links", image_of),
        )
        image_rel_table[api] = (
            Rel(f"gameCenter{stem}Localization", keys[2], False, "data", to_one(loc_c, "localization_id")),
        )
    version_rel_list = (
        Rel(version_parent_rel, keys[0], False, "data", to_one(item_c, item_field)),
        Rel("localizations", keys[2], True, "links", locs_of),
    ) + version_rels
    if default_image:

        def default_of(state: SimState, rec: Record) -> Any:
            # the same lookup the handlers use (a version's image with no localization)
            return state.default_image_of(rec["id"], name)

        version_rel_list += (Rel("defaultImage", keys[3], False, "links", default_of),)
    register(
        Resource(
            keys[0],
            item_type,
            item_c,
            {a: f"{p}/{item_type}" for a, p in paths.items()},
            item_attributes,
            item_rel_table,
            "numeric",
        ),
        Resource(
            keys[1],
            version_type,
            version_c,
            {a: f"/{a}/{version_type}" for a in versioned},
            fields("version", "state", *version_fields),
            {"*": version_rel_list},
        ),
        Resource(
            keys[2],
            loc_type,
            loc_c,
            {a: f"{p}/{loc_type}" for a, p in paths.items()},
            fields("locale", *loc_fields),
            loc_rel_table,
        ),
        Resource(
            keys[3],
            image_type,
            image_c,
            {a: f"{p}/{image_type}" for a, p in paths.items()},
            None,
            image_rel_table,
        ),
    )
    return keys
