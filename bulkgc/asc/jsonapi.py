"""JSON:API documents as App Store Connect sends them: Resource, Document, parse_document, error entries."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from bulkgc.errors import ApiError, ErrorDetail


class DocumentShapeError(ApiError, ValueError):
    """The body is JSON but not a JSON:API document, or a resource lacks the shape bulkgc reads.

    An ApiError, so a malformed answer fails the one item that got it (never the whole run).
    """


def _object(value: Any, what: str) -> dict[str, Any]:
    """`value` as a dict ({} for null/absent); DocumentShapeError for anything else."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise DocumentShapeError(f"`{what}` must be a JSON object, not {type(value).__name__}")
    return dict(value)


@dataclass
class Resource:
    """One JSON:API resource object."""

    type: str
    id: str
    attributes: dict[str, Any] = field(default_factory=dict)
    relationships: dict[str, Any] = field(default_factory=dict)
    links: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> tuple[str, str]:
        """(type, id): identity of the resource within a document."""
        return (self.type, self.id)

    def ref(self) -> dict[str, str]:
        """Resource identifier object `{"type", "id"}` for request bodies."""
        return {"type": self.type, "id": self.id}

    def attr(self, name: str, default: Any = None) -> Any:
        """An attribute, or `default` when absent or null."""
        value = self.attributes.get(name)
        return default if value is None else value

    def _rel_data(self, name: str) -> Any:
        rel = self.relationships.get(name)
        return rel.get("data") if isinstance(rel, dict) else None

    def rel_id(self, name: str) -> str | None:
        """Id of a to-one relationship's linkage, or None when absent, not included or `data: null`."""
        data = self._rel_data(name)
        if isinstance(data, dict) and data.get("id") is not None:
            return str(data["id"])
        return None

    def rel_ids(self, name: str) -> list[str]:
        """Ids of a to-many relationship's linkage (empty when absent or not included)."""
        data = self._rel_data(name)
        if isinstance(data, list):
            return [str(d["id"]) for d in data if isinstance(d, dict) and d.get("id") is not None]
        if isinstance(data, dict) and data.get("id") is not None:
            return [str(data["id"])]
        return []


@dataclass
class Document:
    """A JSON:API top-level document (`data` is one Resource, a list, or None)."""

    data: Resource | list[Resource] | None = None
    included: list[Resource] = field(default_factory=list)
    links: dict[str, Any] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def resources(self) -> list[Resource]:
        """`data` as a list (empty for None), for code that handles single and collection responses alike."""
        if self.data is None:
            return []
        return list(self.data) if isinstance(self.data, list) else [self.data]

    @property
    def one(self) -> Resource:
        """`data` as a single resource; raises DocumentShapeError for a list or null."""
        if not isinstance(self.data, Resource):
            raise DocumentShapeError("expected a single resource in `data`")
        return self.data

    @property
    def next_url(self) -> str | None:
        """`links.next` verbatim (absolute URL), or None on the last page."""
        nxt = self.links.get("next")
        return nxt if isinstance(nxt, str) and nxt else None

    @property
    def total(self) -> int | None:
        """`meta.paging.total` when the server sent it."""
        paging = self.meta.get("paging") if isinstance(self.meta, dict) else None
        total = paging.get("total") if isinstance(paging, dict) else None
        return total if isinstance(total, int) else None

    def included_map(self) -> dict[tuple[str, str], Resource]:
        """`included` keyed by (type, id)."""
        return {r.key: r for r in self.included}

    def find(self, type_: str, id_: str | None) -> Resource | None:
        """The resource with that type and id among `data` and `included`, or None."""
        if id_ is None:
            return None
        for r in self._all():
            if r.type == type_ and r.id == id_:
                return r
        return None

    def of_type(self, type_: str) -> list[Resource]:
        """Every resource of that type among `data` and `included`."""
        return [r for r in self._all() if r.type == type_]

    def _all(self) -> Iterator[Resource]:
        yield from self.resources
        yield from self.included


def parse_resource(obj: Any) -> Resource:
    """One resource object; `attributes`/`relationships`/`links` may be missing or null."""
    if not isinstance(obj, dict) or "type" not in obj or "id" not in obj:
        raise DocumentShapeError(f"not a JSON:API resource object: {str(obj)[:200]}")
    return Resource(
        type=str(obj["type"]),
        id=str(obj["id"]),
        attributes=_object(obj.get("attributes"), "attributes"),
        relationships=_object(obj.get("relationships"), "relationships"),
        links=_object(obj.get("links"), "links"),
    )


def parse_document(obj: Any) -> Document:
    """Parse a decoded JSON body (None for an empty 204 body) into a Document."""
    if obj is None:
        return Document()
    if not isinstance(obj, dict):
        raise DocumentShapeError("expected a JSON object at the top level")
    raw = obj.get("data")
    data: Resource | list[Resource] | None
    if raw is None:
        data = None
    elif isinstance(raw, list):
        data = [parse_resource(r) for r in raw]
    else:
        data = parse_resource(raw)
    included = obj.get("included") or []
    if not isinstance(included, list):
        raise DocumentShapeError(f"`included` must be a JSON array, not {type(included).__name__}")
    return Document(
        data=data,
        included=[parse_resource(r) for r in included],
        links=_object(obj.get("links"), "links"),
        meta=_object(obj.get("meta"), "meta"),
    )


def parse_errors(obj: Any) -> list[ErrorDetail]:
    """Apple's ErrorResponse `errors[]` as ErrorDetail entries; [] when the body is not an ErrorResponse."""
    if not isinstance(obj, dict):
        return []
    entries = obj.get("errors")
    if not isinstance(entries, list):
        return []
    out: list[ErrorDetail] = []
    for e in entries:
        if not isinstance(e, dict):
            continue
        source = e.get("source")
        meta = e.get("meta")
        out.append(
            ErrorDetail(
                status=str(e.get("status") or ""),
                code=str(e.get("code") or ""),
                title=str(e.get("title") or ""),
                detail=str(e.get("detail") or ""),
                id=str(e["id"]) if e.get("id") is not None else None,
                source=source if isinstance(source, dict) else None,
                meta=meta if isinstance(meta, dict) else None,
            )
        )
    return out


def merge_documents(pages: Iterable[Document]) -> Document:
    """Concatenate the `data` of several pages and de-duplicate `data` and `included` by (type, id)."""
    data: dict[tuple[str, str], Resource] = {}
    included: dict[tuple[str, str], Resource] = {}
    meta: dict[str, Any] = {}
    links: dict[str, Any] = {}
    for i, page in enumerate(pages):
        if i == 0:
            meta, links = page.meta, {k: v for k, v in page.links.items() if k != "next"}
        for r in page.resources:
            data.setdefault(r.key, r)
        for r in page.included:
            included.setdefault(r.key, r)
    return Document(data=list(data.values()), included=list(included.values()), links=links, meta=meta)


def make_body(
    type_: str,
    *,
    id: str | None = None,
    attributes: dict[str, Any] | None = None,
    relationships: dict[str, tuple[str, str] | list[tuple[str, str]] | None] | None = None,
) -> dict[str, Any]:
    """Request body `{"data": {...}}`; relationships given as name -> (type, id), [(type, id)...] or None."""
    data: dict[str, Any] = {"type": type_}
    if id is not None:
        data["id"] = id
    if attributes is not None:
        data["attributes"] = attributes
    if relationships:
        rels: dict[str, Any] = {}
        for name, target in relationships.items():
            if target is None:
                rels[name] = {"data": None}
            elif isinstance(target, list):
                rels[name] = {"data": [{"type": t, "id": i} for t, i in target]}
            else:
                rels[name] = {"data": {"type": target[0], "id": target[1]}}
        data["relationships"] = rels
    return {"data": data}
