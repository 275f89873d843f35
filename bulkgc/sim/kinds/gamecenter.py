"""The owners every kind hangs off: the app, its Game Center detail, the optional group (seeded, read-only).

Their to-many relationships listing each kind's items are built from the registered kinds (`Kind.owner_rels`).
"""

from __future__ import annotations

from typing import Any

from ..call import Handler
from ..generic import get_collection, get_instance, related_routes
from ..resources import KINDS, Rel, Resource, fields, register, to_one


def _items(kind: str, owner_kind: str) -> Any:
    def resolve(state: Any, rec: dict[str, Any]) -> Any:
        return state.items_of(kind, owner_kind, rec["id"])

    return resolve


def _kind_rels(owner_kind: str) -> tuple[Rel, ...]:
    return tuple(
        Rel(rel, kind.item, True, "links", _items(kind.name, owner_kind))
        for kind in KINDS.values()
        for api, rel in kind.owner_rels.items()
    )


def register_owners() -> None:
    """Declare app, detail and group (after every kind is registered)."""
    register(
        Resource(
            "app",
            "apps",
            "apps",
            {"v1": "/v1/apps"},
            fields("name", "bundleId"),
            {"*": (Rel("gameCenterDetail", "detail", False, "links", to_one("details", "detail_id")),)},
        ),
        Resource(
            "detail",
            "gameCenterDetails",
            "details",
            {"v1": "/v1/gameCenterDetails"},
            lambda rec: {"arcadeEnabled": rec["arcadeEnabled"], "challengeEnabled": False},
            {
                "*": (
                    Rel("app", "app", False, "data", to_one("apps", "app_id")),
                    Rel("gameCenterGroup", "group", False, "links", to_one("groups", "group_id")),
                )
                + _kind_rels("detail")
            },
        ),
        Resource(
            "group",
            "gameCenterGroups",
            "groups",
            {"v1": "/v1/gameCenterGroups"},
            fields("referenceName"),
            {
                "*": (
                    Rel(
                        "gameCenterDetails",
                        "detail",
                        True,
                        "links",
                        lambda state, rec: [
                            state.data["details"][d] for d in rec["detail_ids"] if d in state.data["details"]
                        ],
                    ),
                )
                + _kind_rels("group")
            },
        ),
    )


def routes() -> list[tuple[str, str, str, Handler]]:
    out: list[tuple[str, str, str, Handler]] = [
        # the app by bundle id (filter[bundleId]): how a client finds the app of an Xcode project
        ("GET", "/v1/apps", "v1", get_collection("app")),
        *related_routes("v1", "app", "/v1/apps/{id}", "gameCenterDetail"),
        ("GET", "/v1/gameCenterDetails/{id}", "v1", get_instance("detail")),
        *related_routes("v1", "detail", "/v1/gameCenterDetails/{id}", "gameCenterGroup"),
        ("GET", "/v1/gameCenterGroups/{id}", "v1", get_instance("group")),
    ]
    for kind in KINDS.values():
        for owner, prefix in (
            ("detail", "/v1/gameCenterDetails/{id}"),
            ("group", "/v1/gameCenterGroups/{id}"),
        ):
            for api, rel in kind.owner_rels.items():
                out += related_routes(api, owner, prefix, rel)
    return out
