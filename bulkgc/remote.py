"""What App Store Connect holds (`Remote*`) and the reader that fetches it in as few requests as possible.

Reading the remote state costs, for an app with N items of a kind: 1 request for the Game Center detail
(shared by every kind), ceil(N / 200) for the kind's list (with each item's versions embedded, v2, and a
challenge's leaderboard), and 1 per existing item for its localizations with their images embedded; a set's
members cost 1 more read per existing set, a version's default image 1 more per existing activity or
challenge whose manifest entry has one. Nothing else is read.

Images are matched by content: every uploaded image's `fileName` carries the first 12 hex digits of the file's
sha256, so the remote state alone (no journal) tells whether an image equals the local file.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from bulkgc.asc.jsonapi import Document, DocumentShapeError, Resource
from bulkgc.asc.resources import APP_DETAIL, KindApi
from bulkgc.errors import ConfigError, NotFoundError
from bulkgc.kinds import Kind

DIGEST_LEN = 12
_DIGEST_RE = re.compile(rf"\.([0-9a-f]{{{DIGEST_LEN}}})\.(?:png|jpe?g)$")


def digest_of(file_name: str | None) -> str | None:
    """The content digest carried by a bulkgc `fileName`, or None for names bulkgc did not make."""
    m = _DIGEST_RE.search(file_name or "")
    return m.group(1) if m else None


@dataclass
class RemoteImage:
    """An image resource as App Store Connect reports it."""

    id: str
    file_name: str
    file_size: int
    state: str
    error_codes: list[str] = field(default_factory=list)
    upload_operations: list[dict[str, Any]] = field(default_factory=list)
    asset: dict[str, Any] | None = None  # imageAsset of a processed image: templateUrl, width, height

    def rendition_url(self, fmt: str = "png") -> str | None:
        """The templateUrl filled with the image's width, height and `fmt`; None until it is processed."""
        a = self.asset or {}
        template, width, height = a.get("templateUrl"), a.get("width"), a.get("height")
        if not isinstance(template, str) or not isinstance(width, int) or not isinstance(height, int):
            return None
        return template.replace("{w}", str(width)).replace("{h}", str(height)).replace("{f}", fmt)

    @classmethod
    def from_resource(cls, r: Resource) -> RemoteImage:
        """Read an image resource; DocumentShapeError (naming it) when an attribute has an odd shape."""
        a = r.attributes or {}
        delivery = a.get("assetDeliveryState") or {}
        errors = (delivery.get("errors") or []) if isinstance(delivery, dict) else None
        operations = a.get("uploadOperations") or []
        size = a.get("fileSize") or 0
        if (
            errors is None
            or not isinstance(errors, list)
            or not isinstance(operations, list)
            or not all(isinstance(op, dict) for op in operations)
            or not isinstance(size, int | str)
            or not str(size).strip().isdigit()
        ):
            raise DocumentShapeError(
                f"image {r.id}: assetDeliveryState, fileSize or uploadOperations has an unexpected shape; "
                "App Store Connect may have changed, please report it"
            )
        return cls(
            id=r.id,
            file_name=str(a.get("fileName") or ""),
            file_size=int(size),
            state=str(delivery.get("state") or "AWAITING_UPLOAD"),
            error_codes=[str(e.get("code")) for e in errors if isinstance(e, dict) and e.get("code")],
            upload_operations=list(operations),
            asset=a.get("imageAsset") if isinstance(a.get("imageAsset"), dict) else None,
        )


@dataclass
class RemoteLocalization:
    """A localization and (if any) its image."""

    id: str
    locale: str
    texts: dict[str, Any]  # Apple's attribute name -> value, for the kind's texts
    image: RemoteImage | None

    @classmethod
    def from_resource(cls, r: Resource, doc: Document, kind: Kind, kapi: KindApi) -> RemoteLocalization:
        a = r.attributes or {}
        image = None
        image_id = r.rel_id(kapi.loc_image_rel)
        if image_id:
            found = doc.find(kapi.image_type, image_id)
            if found is not None:
                image = RemoteImage.from_resource(found)
            else:  # linked but not embedded: treat as unknown content, so it gets replaced
                image = RemoteImage(id=image_id, file_name="", file_size=0, state="UNKNOWN")
        texts = {t.asc: a.get(t.asc) for t in kind.texts}
        return cls(id=r.id, locale=str(a.get("locale") or ""), texts=texts, image=image)


@dataclass
class RemoteVersion:
    id: str
    number: int
    state: str
    attributes: dict[str, Any] = field(default_factory=dict)  # the version's own (an activity's fallbackUrl)


@dataclass
class RemoteItem:
    """An achievement, leaderboard, ... with its versions (v2; none in v1)."""

    id: str
    attributes: dict[str, Any]
    versions: list[RemoteVersion]
    references: dict[str, list[str]] = field(default_factory=dict)  # reference key -> resource ids, in order

    @property
    def latest(self) -> RemoteVersion | None:
        return max(self.versions, key=lambda v: v.number) if self.versions else None


class RemoteReader:
    """Reads the remote state needed for a plan (and for lookups and polls while pushing)."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.reads = 0

    async def detail(self, app_id: str) -> tuple[str, str | None]:
        """(gameCenterDetail id, gameCenterGroup id or None) of the app."""
        self.reads += 1
        try:
            doc = await self.client.get(
                APP_DETAIL.replace("{id}", app_id), params={"include": "gameCenterGroup"}, purpose="read"
            )
        except NotFoundError as exc:
            raise ConfigError(
                f"app {app_id} was not found or has no Game Center detail; check app_id in the manifest, "
                "that the "
                f"key's team owns the app, and that Game Center is enabled for it ({exc.code or exc.status})"
            ) from exc
        data = doc.data
        if not isinstance(data, Resource):
            raise ConfigError(f"app {app_id} has Game Center disabled; enable it in App Store Connect first")
        return data.id, data.rel_id("gameCenterGroup")

    async def app_id_for_bundle(self, bundle_id: str) -> str:
        """The id of the app whose bundle id is `bundle_id` (GET /v1/apps?filter[bundleId]=...)."""
        self.reads += 1
        params = {"filter[bundleId]": bundle_id, "fields[apps]": "bundleId"}
        doc = await self.client.get("/v1/apps", params=params, purpose="read")
        found = [r for r in doc.resources if (r.attributes or {}).get("bundleId") == bundle_id]
        if len(found) != 1:
            why = "no app" if not found else f"{len(found)} apps"
            raise ConfigError(f"{why} with bundle id {bundle_id!r} visible to this API key; check the bundle "
                              "id (the Xcode target's) or pass --app-id")
        return found[0].id

    async def items(
        self, kapi: KindApi, detail_id: str, group_id: str | None, ids: Iterable[str] | None = None
    ) -> dict[str, RemoteItem]:
        """Every item of the kind (or those of `ids`) by vendorIdentifier, with versions embedded (v2)."""
        path = kapi.path(kapi.list_in_group if group_id else kapi.list_in_detail, group_id or detail_id)
        params = {"limit": "200"}
        if ids is not None:
            params["filter[id]"] = ",".join(ids)
        version = kapi.version
        includes = [version.include_on_parent_list] if version else []
        included_refs = [ref for ref in kapi.references if ref.read == "include"]
        includes += [ref.rel for ref in included_refs]
        if includes:
            params["include"] = ",".join(includes)
        if version:
            params["limit[versions]"] = "50"
        out: dict[str, RemoteItem] = {}
        async for page in self.client.pages(path, params):
            self.reads += 1
            for r in page.data or []:
                versions = []
                if version:
                    for vid in r.rel_ids(version.include_on_parent_list):
                        v = page.find(version.type, vid)
                        if v is not None:
                            va = dict(v.attributes or {})
                            versions.append(
                                RemoteVersion(v.id, int(va.get("version") or 0), va.get("state") or "", va)
                            )
                vendor = (r.attributes or {}).get("vendorIdentifier")
                if vendor:
                    refs = {ref.key: r.rel_ids(ref.rel) for ref in included_refs}
                    out[vendor] = RemoteItem(r.id, dict(r.attributes or {}), versions, refs)
        return out

    async def linkage(self, path: str) -> list[str]:
        """The ids of a to-many relationship (`.../relationships/<name>`), in App Store Connect's order."""
        ids: list[str] = []
        async for page in self.client.pages(path, {"limit": "200"}):
            self.reads += 1
            ids += [r.id for r in page.resources]
        return ids

    async def default_image(
        self, kapi: KindApi, version_id: str, purpose: str = "read"
    ) -> RemoteImage | None:
        """A version's default image (activities, challenges), or None when it has none."""
        assert kapi.version is not None
        self.reads += 1
        doc = await self.client.get(kapi.path(kapi.version.default_image_read, version_id), purpose=purpose)
        return RemoteImage.from_resource(doc.data) if isinstance(doc.data, Resource) else None

    async def localizations(
        self, kind: Kind, kapi: KindApi, container_id: str, purpose: str = "read"
    ) -> dict[str, RemoteLocalization]:
        """The container's localizations by locale, each with its image embedded."""
        params = {"include": kapi.loc_image_rel, "limit": "200"}
        out: dict[str, RemoteLocalization] = {}
        async for page in self.client.pages(kapi.path(kapi.loc_list, container_id), params, purpose=purpose):
            self.reads += 1
            for r in page.data or []:
                loc = RemoteLocalization.from_resource(r, page, kind, kapi)
                out[loc.locale] = loc
        return out

    async def versions(self, kapi: KindApi, item_id: str) -> list[Resource]:
        """Every version of one item, oldest first (v2)."""
        assert kapi.version is not None
        self.reads += 1
        doc = await self.client.get_all(kapi.path(kapi.version.list_of_parent, item_id), {"limit": "200"})
        return sorted(doc.resources, key=lambda r: int((r.attributes or {}).get("version") or 0))
