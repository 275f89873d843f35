"""Rendering state records as App Store Connect resources (attributes, relationships, links, included)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .jsonapi import Query
from .resources import Rel, resource
from .uploads import upload_operations

if TYPE_CHECKING:
    from .state import SimState


class Renderer:
    """Turns records into JSON:API resources for one API version (`api` "v1" or "v2")."""

    def __init__(
        self, state: SimState, base_url: str, api: str, query: Query, default_included_limit: int
    ) -> None:
        self.state = state
        self.base = base_url
        self.api = api
        self.query = query
        self.default_included_limit = default_included_limit
        self._included: dict[tuple[str, str], dict[str, Any]] = {}

    # ---------------------------------------------------------------- relationships

    def resolve(self, kind: str, rec: dict[str, Any], rel: Rel) -> Any:
        """The related record(s): a list (to-many), a record or None (to-one)."""
        if rel.target is None or rel.resolve is None:
            return [] if rel.many else None
        return rel.resolve(self.state, rec)

    def attribute(self, kind: str, rec: dict[str, Any], name: str) -> Any:
        return self.attributes(kind, rec).get(name)

    # ---------------------------------------------------------------- resources

    def attributes(self, kind: str, rec: dict[str, Any]) -> dict[str, Any]:
        render = resource(kind).attributes
        return self.image_attributes(rec) if render is None else render(rec)

    def image_attributes(self, img: dict[str, Any]) -> dict[str, Any]:
        attrs: dict[str, Any] = {"fileSize": img["fileSize"], "fileName": img["fileName"]}
        result = img.get("result")
        if img.get("committed_at") is None:
            attrs["uploadOperations"] = upload_operations(self.base, img, self.state.meta["upload_secret"])
            attrs["assetDeliveryState"] = {"errors": [], "warnings": [], "state": "AWAITING_UPLOAD"}
        elif result is None:
            attrs["uploadOperations"] = []
            attrs["assetDeliveryState"] = {"errors": [], "warnings": [], "state": "UPLOAD_COMPLETE"}
        elif result["state"] == "COMPLETE":
            # Apple's documented example of a processed image: empty operations, errors/warnings null.
            attrs["imageAsset"] = {
                "templateUrl": f"{self.base}/sim/assets/{img['id']}/{{w}}x{{h}}bb.{{f}}",
                "width": result["width"],
                "height": result["height"],
            }
            attrs["uploadOperations"] = []
            attrs["assetDeliveryState"] = {"errors": None, "warnings": None, "state": "COMPLETE"}
        else:
            attrs["uploadOperations"] = []
            attrs["assetDeliveryState"] = {"errors": result["errors"], "warnings": None, "state": "FAILED"}
        return attrs

    def self_link(self, kind: str, rec: dict[str, Any]) -> str:
        return f"{self.base}{resource(kind).path(self.api)}/{rec['id']}"

    def linkage(self, kind: str, rec: dict[str, Any]) -> dict[str, str]:
        return {"type": resource(kind).type, "id": rec["id"]}

    def resource(self, kind: str, rec: dict[str, Any], include: list[str] | None = None) -> dict[str, Any]:
        """One resource object; `include` names relationships whose targets go to `included`."""
        res = resource(kind)
        wanted = self.query.fields.get(res.type)
        attrs = {k: v for k, v in self.attributes(kind, rec).items() if wanted is None or k in wanted}
        out: dict[str, Any] = {"type": res.type, "id": rec["id"]}
        if attrs:
            out["attributes"] = attrs
        rels: dict[str, Any] = {}
        for rel in res.relationships(self.api):
            if wanted is not None and rel.name not in wanted:
                continue
            included = include is not None and rel.name in include
            if rel.mode == "included" and not included:
                continue  # the schema has no links for it: shown only when asked for
            entry: dict[str, Any] = {}
            if rel.mode == "links":
                path = f"{self.base}{res.path(self.api)}/{rec['id']}"
                entry["links"] = {"self": f"{path}/relationships/{rel.name}", "related": f"{path}/{rel.name}"}
            if rel.mode == "data" or included:
                target = self.resolve(kind, rec, rel)
                if rel.many:
                    limit = self.query.limits.get(rel.name, self.default_included_limit)
                    if included:
                        entry["meta"] = {"paging": {"total": len(target), "limit": limit}}
                    target = target[:limit]
                    entry["data"] = [self.linkage(rel.target, t) for t in target]  # type: ignore[arg-type]
                    if included:
                        for t in target:
                            self.add_included(rel.target, t)  # type: ignore[arg-type]
                elif target is not None:
                    entry["data"] = self.linkage(rel.target, target)  # type: ignore[arg-type]
                    if included:
                        self.add_included(rel.target, target)  # type: ignore[arg-type]
                elif rel.mode == "data":
                    continue  # e.g. a group-owned achievement has no gameCenterDetail
                else:
                    entry["data"] = None
            rels[rel.name] = entry
        if rels:
            out["relationships"] = rels
        out["links"] = {"self": self.self_link(kind, rec)}
        return out

    def add_included(self, kind: str, rec: dict[str, Any]) -> None:
        key = (resource(kind).type, rec["id"])
        if key not in self._included:
            self._included[key] = self.resource(kind, rec)

    def included(self) -> list[dict[str, Any]]:
        return list(self._included.values())

    def document(
        self, kind: str, recs: list[dict[str, Any]] | dict[str, Any] | None, links: dict[str, Any]
    ) -> dict[str, Any]:
        """A single or collection document with `included` when the query asked for it."""
        include = self.query.include or None
        data: Any
        if recs is None:
            data = None
        elif isinstance(recs, list):
            data = [self.resource(kind, r, include) for r in recs]
        else:
            data = self.resource(kind, recs, include)
        doc: dict[str, Any] = {"data": data}
        if self._included:
            doc["included"] = self.included()
        doc["links"] = links
        return doc


def rel_of(api: str, kind: str, name: str) -> Rel:
    return resource(kind).relationship(api, name)
