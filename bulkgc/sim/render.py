"""Rendering state records as App Store Connect resources (attributes, relationships, links, included)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .jsonapi import COLLECTION, TYPES, Query, Rel, base_path, relationship, relationships_of
from .uploads import upload_operations

if TYPE_CHECKING:
    from .state import SimState


class Renderer:
    """Turns records into JSON:API resources for one API version (`api` "v1" or "v2")."""

    def __init__(self, state: SimState, base_url: str, api: str, query: Query, default_included_limit: int) -> None:
        self.state = state
        self.base = base_url
        self.api = api
        self.query = query
        self.default_included_limit = default_included_limit
        self._included: dict[tuple[str, str], dict[str, Any]] = {}

    # ---------------------------------------------------------------- relationships

    def resolve(self, kind: str, rec: dict[str, Any], rel: Rel) -> Any:
        """The related record(s): a list for to-many, a record or None for to-one (None target = not modelled)."""
        s = self.state
        name = rel.name
        if rel.target is None:
            return [] if rel.many else None
        if kind == "app":
            return s.get("details", rec["detail_id"])
        if kind == "detail":
            if name == "app":
                return s.get("apps", rec["app_id"])
            if name == "gameCenterGroup":
                return s.get("groups", rec["group_id"]) if rec.get("group_id") else None
            return s.achievements_of("detail", rec["id"])
        if kind == "group":
            if name == "gameCenterDetails":
                return [s.data["details"][d] for d in rec["detail_ids"] if d in s.data["details"]]
            return s.achievements_of("group", rec["id"])
        if kind == "achievement":
            if name == "gameCenterDetail":
                return s.get("details", rec["owner_id"]) if rec["owner_kind"] == "detail" else None
            if name == "gameCenterGroup":
                return s.get("groups", rec["owner_id"]) if rec["owner_kind"] == "group" else None
            if name == "versions":
                return s.versions_of(rec["id"])
            if name == "localizations":  # v1: the latest version's localizations
                latest = s.latest_version(rec["id"])
                return s.localizations_of(latest["id"]) if latest else []
        if kind == "version":
            if name == "achievement":
                return s.get("achievements", rec["achievement_id"])
            return s.localizations_of(rec["id"])
        if kind == "localization":
            if name in ("version",):
                return s.get("versions", rec["version_id"])
            if name == "gameCenterAchievement":
                version = s.get("versions", rec["version_id"])
                return s.get("achievements", version["achievement_id"]) if version else None
            return s.image_of(rec["id"])
        if kind == "image":
            return s.get("localizations", rec["localization_id"])
        raise KeyError(f"no relationship {name} on {kind}")

    def attribute(self, kind: str, rec: dict[str, Any], name: str) -> Any:
        return self.attributes(kind, rec).get(name)

    # ---------------------------------------------------------------- resources

    def attributes(self, kind: str, rec: dict[str, Any]) -> dict[str, Any]:
        if kind == "app":
            return {"name": rec["name"], "bundleId": rec["bundleId"]}
        if kind == "detail":
            return {"arcadeEnabled": rec["arcadeEnabled"], "challengeEnabled": False}
        if kind == "group":
            return {"referenceName": rec["referenceName"]}
        if kind == "achievement":
            return dict(rec["attributes"])
        if kind == "version":
            return {"version": rec["version"], "state": rec["state"]}
        if kind == "localization":
            return {k: rec[k] for k in ("locale", "name", "beforeEarnedDescription", "afterEarnedDescription")}
        if kind == "image":
            return self.image_attributes(rec)
        raise KeyError(kind)

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
        return f"{self.base}{base_path(self.api, kind)}/{rec['id']}"

    def linkage(self, kind: str, rec: dict[str, Any]) -> dict[str, str]:
        return {"type": TYPES[kind], "id": rec["id"]}

    def resource(self, kind: str, rec: dict[str, Any], include: list[str] | None = None) -> dict[str, Any]:
        """One resource object; `include` names relationships whose targets go to `included`."""
        wanted = self.query.fields.get(TYPES[kind])
        attrs = {k: v for k, v in self.attributes(kind, rec).items() if wanted is None or k in wanted}
        out: dict[str, Any] = {"type": TYPES[kind], "id": rec["id"]}
        if attrs:
            out["attributes"] = attrs
        rels: dict[str, Any] = {}
        for rel in relationships_of(self.api, kind):
            if wanted is not None and rel.name not in wanted:
                continue
            included = include is not None and rel.name in include
            entry: dict[str, Any] = {}
            if rel.mode == "links":
                path = f"{self.base}{base_path(self.api, kind)}/{rec['id']}"
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
        key = (TYPES[kind], rec["id"])
        if key not in self._included:
            self._included[key] = self.resource(kind, rec)

    def included(self) -> list[dict[str, Any]]:
        return list(self._included.values())

    def document(self, kind: str, recs: list[dict[str, Any]] | dict[str, Any] | None, links: dict[str, Any]) -> dict[str, Any]:
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


def collection_of(kind: str) -> str:
    return COLLECTION[kind]


def rel_of(api: str, kind: str, name: str) -> Rel:
    rel = relationship(api, kind, name)
    if rel is None:
        raise KeyError(f"{api} {kind} has no relationship {name}")
    return rel
