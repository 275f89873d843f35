"""One item's steps: the parent (create or update) and what it names, its version, then its localizations.

Bodies come from the item's kind declaration (which attributes a create takes, which only an update can set,
which texts a localization has) and its API row; a step whose answer was lost is looked up before it is
sent again (the client asks `lookup`). Nothing here names a kind.
"""

from __future__ import annotations

import time
from typing import Any

import anyio

from bulkgc.asc.jsonapi import Document, Resource
from bulkgc.asc.resources import ReferenceApi
from bulkgc.errors import FATAL, ApiError, BulkgcError, ConflictError
from bulkgc.images import ImageJob
from bulkgc.ledger import Ledger, codes_of, key_of
from bulkgc.manifest import Item
from bulkgc.plan import (
    ItemPlan,
    LocalizationAction,
    Plan,
    default_image_action,
    localization_actions,
)
from bulkgc.remote import RemoteReader
from bulkgc.scan import ImageInfo

VERSION_BATCH = 50  # item ids per filter[id] read of just-created items' versions


def create_attributes(item: Item) -> dict[str, Any]:
    """The attributes of the item's create request: those a create takes and the manifest gives."""
    return {
        a.asc: a.wire(item.attributes.get(a.key))
        for a in item.kind.attributes
        if a.on_create and item.attributes.get(a.key) is not None
    }


def after_create_attributes(item: Item) -> dict[str, Any]:
    """Attributes only an update can set (a leaderboard's `archived`), where the manifest wants no default."""
    return {
        a.asc: a.wire(item.attributes.get(a.key))
        for a in item.kind.attributes
        if not a.on_create and a.editable and not a.same(None, item.attributes.get(a.key))
    }


def version_attributes(item: Item) -> dict[str, Any]:
    """Version attributes the manifest gives (an activity's fallbackUrl), as App Store Connect takes them."""
    return {
        a.asc: a.wire(item.version_attributes[a.key])
        for a in item.kind.version_attributes
        if item.version_attributes.get(a.key) is not None
    }


def linkage(plan: Plan, p: ItemPlan, ref: ReferenceApi) -> dict[str, Any]:
    """`{"data": ...}` naming the referenced items by resource id: a list in manifest order, or one item."""
    declared = next(r for r in p.kind.references if r.key == ref.key)
    links = []
    for vendor in p.item.references.get(ref.key, ()):
        found = plan.ids.get((declared.kind, vendor))
        if found is None:
            raise BulkgcError(
                f"{declared.kind} {vendor!r}, named in {ref.key}, does not exist in App Store Connect (its "
                "create failed or was not attempted); fix that and run again"
            )
        links.append({"type": ref.type, "id": found})
    return {"data": links if declared.many else (links[0] if links else None)}


def create_body(plan: Plan, p: ItemPlan) -> dict[str, Any]:
    """POST body creating the item with what it names, in v2 with its first version inline (A4, A5)."""
    k = p.kapi
    rel_name, owner_id = plan.owner
    owner_type = "gameCenterGroups" if rel_name == "gameCenterGroup" else "gameCenterDetails"
    body: dict[str, Any] = {
        "data": {
            "type": k.parent_type,
            "attributes": create_attributes(p.item),
            "relationships": {rel_name: {"data": {"type": owner_type, "id": owner_id}}},
        }
    }
    for ref in k.references:
        body["data"]["relationships"][ref.rel] = linkage(plan, p, ref)
    if k.version:
        local_id = "${new-version}"
        body["data"]["relationships"][k.version.include_on_parent_list] = {
            "data": [{"type": k.version.type, "id": local_id}]
        }
        inline: dict[str, Any] = {"type": k.version.type, "id": local_id}
        if version_attributes(p.item):
            inline["attributes"] = version_attributes(p.item)
        body["included"] = [inline]
    return body


class ItemSteps:
    """Creates or updates items, their versions and their localizations; shared by every item of a push."""

    def __init__(
        self, client: Any, reader: RemoteReader, ledger: Ledger, images: dict[str, ImageInfo]
    ) -> None:
        self.client = client
        self.reader = reader
        self.ledger = ledger
        self.images = images
        self._created_waiting: dict[str, list[str]] = {}  # kind -> created items whose version id is wanted
        self._created_versions: dict[str, str] = {}  # item id -> its version, read in a batch
        self._created_lock = anyio.Lock()

    # -- the item and its version -------------------------------------------------------------------------

    async def ensure_item(self, plan: Plan, p: ItemPlan) -> str:
        """Create or update the item (and a new version if needed); returns the container of its texts."""
        k, c, books = p.kapi, self.client, self.ledger
        key = key_of(p)
        item_id = p.remote_id
        version_id = p.version_id
        if p.action == "create":
            t0 = time.monotonic()
            doc = await c.post(k.parent_create, create_body(plan, p), lookup=lambda: self.find_item(plan, p))
            item_id = doc.one.id
            version_id = None
            if k.version:
                ids = doc.one.rel_ids(k.version.include_on_parent_list)
                version_id = ids[-1] if ids else await self.version_of_created(plan, p, item_id)
            plan.ids[(p.kind.name, p.vendor_id)] = item_id
            books.put_soon(
                key,
                kind="item",
                vendor_id=p.vendor_id,
                state="created",
                remote_id=item_id,
                parent_id=version_id,
            )
            books.event(key, "create", "ok", latency=time.monotonic() - t0)
            late = after_create_attributes(p.item)
            if late:
                await c.patch(
                    k.path(k.parent_item, item_id),
                    {"data": {"type": k.parent_type, "id": item_id, "attributes": late}},
                )
        elif p.attribute_changes:
            assert item_id is not None
            t0 = time.monotonic()
            await c.patch(
                k.path(k.parent_item, item_id),
                {"data": {"type": k.parent_type, "id": item_id, "attributes": dict(p.attribute_changes)}},
            )
            books.event(key, "update", "ok", latency=time.monotonic() - t0)
        assert item_id is not None
        if p.action != "create":
            for ref in k.references:
                if ref.key in p.reference_changes:
                    # one PATCH of the whole relationship: Apple replaces the members, in this order
                    t0 = time.monotonic()
                    await c.patch(k.path(ref.linkage, item_id), linkage(plan, p, ref))
                    books.event(key, f"link {ref.key}", "ok", latency=time.monotonic() - t0)
        if k.version and p.action != "create" and p.version_action == "create":
            version_id = await self.create_version(item_id, p)
            # whatever the new version starts with (copied or empty), diff against it
            locs = await self.reader.localizations(p.kind, k, version_id)
            p.localizations = localization_actions(p.item, locs, self.images, p.pulled)
            if p.default_image is not None:
                remote = await self.reader.default_image(k, version_id)
                p.default_image = default_image_action(p.item, remote, self.images, p.pulled)
        elif k.version and p.action != "create" and p.version_changes:
            assert version_id is not None and k.version.item
            t0 = time.monotonic()
            await c.patch(
                k.path(k.version.item, version_id),
                {"data": {"type": k.version.type, "id": version_id, "attributes": dict(p.version_changes)}},
            )
            books.event(key, "version update", "ok", latency=time.monotonic() - t0)
        return version_id if k.version else item_id  # type: ignore[return-value]

    async def find_item(self, plan: Plan, p: ItemPlan) -> Document | None:
        """Lookup after a lost create: is the item there already?"""
        k = p.kapi
        remote = await self.reader.items(k, plan.detail_id, plan.group_id)
        found = remote.get(p.vendor_id)
        if found is None:
            return None
        relationships = {}
        if k.version:
            relationships = {
                k.version.include_on_parent_list: {
                    "data": [
                        {"type": k.version.type, "id": v.id}
                        for v in sorted(found.versions, key=lambda v: v.number)
                    ]
                }
            }
        return Document(
            data=Resource(
                type=k.parent_type, id=found.id, attributes=found.attributes, relationships=relationships
            )
        )

    async def version_of_created(self, plan: Plan, p: ItemPlan, item_id: str) -> str:
        """The version App Store Connect made with a just-created item (its create answer names no ids).

        Reads coalesce: the items of a kind created while one read is in flight are asked for together in the
        next one (the owner's list with versions included: `filter[id]` where the list has it, else the whole
        list, which a manifest's at most 100 items of a kind keep to one page), so a fresh push of a hundred
        items costs a handful of reads, not a hundred.
        """
        waiting = self._created_waiting.setdefault(p.kind.name, [])
        waiting.append(item_id)
        async with self._created_lock:
            if item_id not in self._created_versions:
                filtered = p.kapi.list_filters_id  # else the whole list answers for every item waiting
                others = [i for i in waiting if i != item_id][: VERSION_BATCH - 1 if filtered else None]
                batch = [item_id, *others]
                waiting[:] = [i for i in waiting if i not in batch]
                ids = batch if filtered else None
                found = await self.reader.items(p.kapi, plan.detail_id, plan.group_id, ids=ids)
                for remote in found.values():
                    if remote.id in batch and remote.versions:
                        self._created_versions[remote.id] = max(remote.versions, key=lambda v: v.number).id
        if item_id in self._created_versions:
            return self._created_versions.pop(item_id)
        versions = await self.reader.versions(p.kapi, item_id)  # not listed yet: ask the item itself
        if not versions:
            raise ApiError(
                f"{p.kind.name} {item_id} has no version; create one in App Store Connect and run again"
            )
        return versions[-1].id

    async def create_version(self, item_id: str, p: ItemPlan) -> str:
        k = p.kapi
        assert k.version is not None
        known = {p.version_id}

        async def lookup() -> Document | None:
            fresh = [r for r in await self.reader.versions(k, item_id) if r.id not in known]
            return Document(data=fresh[-1]) if fresh else None

        t0 = time.monotonic()
        data: dict[str, Any] = {
            "type": k.version.type,
            "relationships": {k.version.parent_rel: {"data": {"type": k.parent_type, "id": item_id}}},
        }
        if version_attributes(p.item):
            data["attributes"] = version_attributes(p.item)
        doc = await self.client.post(k.version.create, {"data": data}, lookup=lookup)
        key = key_of(p)
        self.ledger.event(key, "new-version", "ok", latency=time.monotonic() - t0)
        self.ledger.put_soon(
            key,
            kind="item",
            vendor_id=p.vendor_id,
            state="new-version",
            remote_id=item_id,
            parent_id=doc.one.id,
        )
        return doc.one.id

    # -- localizations -------------------------------------------------------------------------------------

    async def run_localization(
        self, p: ItemPlan, la: LocalizationAction, container: str, jobs: list[ImageJob], stopping: bool
    ) -> None:
        """Create or update one localization's texts; queue its icon (if it has one) as an image job."""
        books = self.ledger
        key = key_of(p, "localization", la.locale)
        started = time.time()
        if stopping and la.action != "none":
            books.record("localization", p, la.locale, la.action, "interrupted", attempts=0)
            if la.image is not None:
                books.record("image", p, la.locale, la.image.action, "interrupted", attempts=0)
            return
        try:
            loc_id = await self.ensure_localization(p, la, container)
        except FATAL:
            raise
        except BulkgcError as exc:
            books.event(key, la.action, "failed", detail=str(exc))
            books.record(
                "localization",
                p,
                la.locale,
                la.action,
                "failed",
                codes=codes_of(exc),
                message=str(exc),
                started=started,
            )
            if la.image is not None:
                books.record(
                    "image",
                    p,
                    la.locale,
                    la.image.action,
                    "skipped",
                    attempts=0,
                    message="localization could not be saved",
                )
            return
        if la.action != "none":
            books.put_soon(
                key,
                kind="localization",
                vendor_id=p.vendor_id,
                locale=la.locale,
                state="saved",
                remote_id=loc_id,
                parent_id=container,
            )
            books.event(key, la.action, "ok", latency=time.time() - started)
        books.record(
            "localization",
            p,
            la.locale,
            la.action,
            "done" if la.action != "none" else "unchanged",
            started=started,
            attempts=1 if la.action != "none" else 0,
        )
        if la.image is not None:
            jobs.append(ImageJob(p, la.locale, la.image, loc_id, la.image.action, la.image.remote))

    async def ensure_localization(self, p: ItemPlan, la: LocalizationAction, container: str) -> str:
        k, c = p.kapi, self.client
        if la.action == "none":
            assert la.remote_id is not None
            return la.remote_id
        if la.action == "update":
            assert la.remote_id is not None
            await c.patch(
                k.path(k.loc_item, la.remote_id),
                {"data": {"type": k.loc_type, "id": la.remote_id, "attributes": dict(la.changes)}},
            )
            return la.remote_id

        async def lookup() -> Document | None:
            locs = await self.reader.localizations(p.kind, k, container)
            found = locs.get(la.locale)
            return (
                Document(data=Resource(type=k.loc_type, id=found.id, attributes=dict(found.texts)))
                if found
                else None
            )

        texts = {t.asc: la.desired.texts.get(t.key) for t in p.kind.texts}
        body = {
            "data": {
                "type": k.loc_type,
                "attributes": {"locale": la.locale, **{a: v for a, v in texts.items() if v is not None}},
                "relationships": {k.loc_container_rel: {"data": {"type": k.container_type, "id": container}}},
            }
        }
        try:
            doc = await c.post(k.loc_create, body, lookup=lookup)
        except ConflictError as exc:
            # created meanwhile (another run, or a lost answer nobody looked up): adopt it and set its texts
            existing = await lookup()
            if existing is None:
                raise exc
            loc_id = existing.one.id
            await c.patch(
                k.path(k.loc_item, loc_id), {"data": {"type": k.loc_type, "id": loc_id, "attributes": texts}}
            )
            return loc_id
        return doc.one.id
