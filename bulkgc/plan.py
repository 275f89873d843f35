"""Compare the manifest (desired state) with what App Store Connect holds and decide: only the diff.

Which version gets edited (v2) is a deliberate choice, stated per item in the plan:
- the latest version is editable (PREPARE_FOR_SUBMISSION, DEVELOPER_REJECTED, REJECTED): edit it;
- the latest version is LIVE and something differs: create a new version and edit that one
  (`--on-live new-version`, the default), or leave the item alone (`--on-live skip`);
- the latest version is in review or waiting for release: it cannot change; the item is blocked
  and the plan says why. Nothing that matches is ever touched, whatever the state.
The v1 API has no versions: its localizations are edited in place. What a kind has (attributes, texts, icon
rule, API rows) comes from its declaration in `bulkgc.kinds`; this module names no kind.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import anyio

from bulkgc.asc.resources import KindApi
from bulkgc.kinds import KINDS, Kind
from bulkgc.manifest import Item, Localization, Manifest
from bulkgc.remote import (
    DIGEST_LEN,
    RemoteImage,
    RemoteItem,
    RemoteLocalization,
    RemoteReader,
    RemoteVersion,
    digest_of,
)
from bulkgc.scan import ImageInfo

#: image actions that send something (the rest: none)
IMAGE_WORK = ("upload", "replace", "resume", "wait")


def remote_file_name(vendor_id: str, locale: str, info: ImageInfo) -> str:
    """The `fileName` bulkgc reserves for an icon: readable, and carrying the file's content digest."""
    safe = re.sub(r"[^A-Za-z0-9_-]+", "_", vendor_id).strip("_") or "icon"
    ext = "png" if info.format == "PNG" else "jpg"
    return f"{safe}.{locale}.{info.sha256[:DIGEST_LEN]}.{ext}"


# ---------------------------------------------------------------------------------------------- plan model


@dataclass
class ImageAction:
    """What happens to the icon of one localization."""

    path: str
    info: ImageInfo
    file_name: str  # the fileName to reserve (carries the digest)
    action: str  # none | upload | replace | resume | wait
    reason: str
    remote: RemoteImage | None = None


@dataclass
class LocalizationAction:
    locale: str
    action: str  # none | create | update
    changes: dict[str, Any]  # Apple's attribute name -> desired value (None clears an optional text)
    remote_id: str | None
    image: ImageAction | None  # None: the manifest gives this localization no icon (the kind's is optional)
    desired: Localization

    @property
    def has_work(self) -> bool:
        return self.action != "none" or (self.image is not None and self.image.action != "none")


@dataclass
class ItemPlan:
    """Everything to do for one item (an achievement, a leaderboard, ...), and why."""

    item: Item
    kapi: KindApi
    action: str  # create | update | none | blocked
    remote_id: str | None
    attribute_changes: dict[str, Any]  # Apple's attribute name -> desired value
    version_action: str  # edit | create | none (v1) | blocked
    version_id: str | None
    version_note: str
    localizations: list[LocalizationAction]
    extra_remote_locales: list[str] = field(default_factory=list)
    # blocked because the user asked for it (--on-live skip), not because App Store Connect forbids the change
    blocked_by_choice: bool = False
    blocked_code: str = "VERSION_NOT_EDITABLE"  # why it is blocked, as an error code for the report
    # what `bulkgc pull` recorded (sha256 -> remote fileName, fileSize): kept to diff a new version again
    pulled: Mapping[str, tuple[str, int]] = field(default_factory=dict, repr=False)

    @property
    def kind(self) -> Kind:
        return self.item.kind

    @property
    def vendor_id(self) -> str:
        return self.item.vendor_identifier

    @property
    def has_work(self) -> bool:
        if self.action == "blocked":
            return False
        return (
            self.action == "create"
            or bool(self.attribute_changes)
            or self.version_action == "create"
            or any(la.has_work for la in self.localizations)
        )

    def image_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for la in self.localizations:
            if la.image is not None:
                counts[la.image.action] = counts.get(la.image.action, 0) + 1
        return counts


@dataclass
class Plan:
    """The whole push: one ItemPlan per manifest item, kind by kind."""

    api: str
    app_id: str
    detail_id: str
    group_id: str | None
    items: list[ItemPlan]
    reads: int = 0

    @property
    def owner(self) -> tuple[str, str]:
        """(relationship name, id) that owns the items: the group when there is one, else the detail."""
        return ("gameCenterGroup", self.group_id) if self.group_id else ("gameCenterDetail", self.detail_id)

    @property
    def is_noop(self) -> bool:
        return not any(p.has_work for p in self.items)

    def of_kind(self, name: str) -> list[ItemPlan]:
        return [p for p in self.items if p.kind.name == name]

    def totals(self) -> dict[str, int]:
        t = {
            "items_create": 0,
            "items_update": 0,
            "items_blocked": 0,
            "versions_create": 0,
            "localizations_create": 0,
            "localizations_update": 0,
            "images_upload": 0,
            "images_replace": 0,
            "images_resume": 0,
            "images_wait": 0,
            "images_unchanged": 0,
        }
        for p in self.items:
            if p.action == "create":
                t["items_create"] += 1
            elif p.action == "blocked":
                t["items_blocked"] += 1
                continue
            elif p.attribute_changes:
                t["items_update"] += 1
            if p.version_action == "create":
                t["versions_create"] += 1
            for la in p.localizations:
                if la.action in ("create", "update"):
                    t[f"localizations_{la.action}"] += 1
                if la.image is not None:
                    t["images_unchanged" if la.image.action == "none" else f"images_{la.image.action}"] += 1
        return t

    def expected_requests(self, polls_per_container: int = 1) -> int:
        """API requests a push of this plan needs at the least (the pacer's hint; the benchmark's minimum).

        1 per item created or updated, 1 per new version (+1 read of what it starts with), 1 per
        localization created or changed, reserve + commit per image (+1 delete when one is replaced),
        commit only for a resumed reservation, and `polls_per_container` batched polls per version whose
        images are processed. Upload parts go to the upload hosts and do not count against the API budget.
        """
        n = 0
        for p in self.items:
            if not p.has_work:
                continue
            n += 1 if (p.action == "create" or p.attribute_changes) else 0
            n += 2 if p.version_action == "create" else 0
            images = 0
            for la in p.localizations:
                n += 1 if la.action in ("create", "update") else 0
                if la.image is not None:
                    n += {"upload": 2, "replace": 3, "resume": 1, "wait": 0}.get(la.image.action, 0)
                    images += la.image.action in IMAGE_WORK
            n += polls_per_container if images else 0
        return n

    def to_dict(self) -> dict[str, Any]:
        """The plan for machines (`bulkgc plan --json`)."""
        return {
            "schema": "bulkgc-plan/2",
            "api": self.api,
            "app_id": self.app_id,
            "game_center_detail": self.detail_id,
            "game_center_group": self.group_id,
            "noop": self.is_noop,
            "totals": self.totals(),
            "expectedRequests": self.expected_requests(),
            "planReads": self.reads,
            "items": [
                {
                    "kind": p.kind.name,
                    "vendorIdentifier": p.vendor_id,
                    "action": p.action,
                    "id": p.remote_id,
                    "attributeChanges": p.attribute_changes,
                    "version": {"action": p.version_action, "id": p.version_id, "note": p.version_note},
                    "localizations": [
                        {
                            "locale": la.locale,
                            "action": la.action,
                            "id": la.remote_id,
                            "changes": sorted(la.changes),
                            "image": None
                            if la.image is None
                            else {
                                "action": la.image.action,
                                "reason": la.image.reason,
                                "file": la.image.path,
                                "fixes": list(la.image.info.fixes),
                                "fileName": la.image.file_name,
                                "remoteId": la.image.remote.id if la.image.remote else None,
                                "remoteState": la.image.remote.state if la.image.remote else None,
                            },
                        }
                        for la in p.localizations
                    ],
                    "untouchedRemoteLocales": p.extra_remote_locales,
                }
                for p in self.items
            ],
        }

    def format_table(self) -> str:
        """The plan for people: one row per item, then totals."""
        rows = [
            ("KIND", "ITEM", "ACTION", "VERSION", "TEXTS +new/~changed", "IMAGES up/replace/resume/wait/same")
        ]
        for p in self.items:
            creates = sum(1 for la in p.localizations if la.action == "create")
            updates = sum(1 for la in p.localizations if la.action == "update")
            c = p.image_counts()
            images = "/".join(str(c.get(k, 0)) for k in ("upload", "replace", "resume", "wait", "none"))
            action = p.action if (p.has_work or p.action == "blocked") else "none"
            rows.append((p.kind.name, p.vendor_id, action, p.version_note, f"+{creates} ~{updates}", images))
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        lines = ["  ".join(col.ljust(widths[i]) for i, col in enumerate(r)).rstrip() for r in rows]
        t = self.totals()
        lines.append("")
        lines.append(
            f"items: {t['items_create']} to create, {t['items_update']} to update, "
            f"{t['items_blocked']} blocked; versions to create: {t['versions_create']}; "
            f"localizations: {t['localizations_create']} to create, {t['localizations_update']} to update; "
            f"images: {t['images_upload']} to upload, {t['images_replace']} to replace, "
            f"{t['images_resume']} to resume, "
            f"{t['images_wait']} processing, {t['images_unchanged']} unchanged"
        )
        fixed = {la.image.path: la.image.info.fixes for p in self.items for la in p.localizations
                 if la.image is not None and la.image.info.fixes}
        if fixed:
            lines.append(f"--fix-icons uploads fixed copies of {len(fixed)} icon(s) (your files unchanged):")
            lines += [f"  {path}: {', '.join(fixes)}" for path, fixes in fixed.items()]
        if self.is_noop:
            lines.append("Nothing to do: App Store Connect already matches the manifest.")
        return "\n".join(lines)


# ---------------------------------------------------------------------------------------------- diffing


def attribute_changes(desired: Item, remote: RemoteItem) -> dict[str, Any]:
    """Attributes of the item itself that differ, by Apple's name (never a permanent one)."""
    changes = {}
    for attribute in desired.kind.attributes:
        want = desired.attributes.get(attribute.key)
        if not attribute.editable or (want is None and not attribute.required and attribute.default is None):
            continue  # an optional attribute the manifest leaves out is left as it is
        if not attribute.same(remote.attributes.get(attribute.asc), want):
            changes[attribute.asc] = attribute.wire(want if want is not None else attribute.default)
    return changes


def text_changes(kind: Kind, desired: Localization, remote: RemoteLocalization | None) -> dict[str, Any]:
    """The texts that differ, by Apple's name; an optional text left out clears the remote one."""
    changes = {}
    for text in kind.texts:
        want = desired.texts.get(text.key)
        have = remote.texts.get(text.asc) if remote is not None else None
        if remote is None:
            if want is not None:
                changes[text.asc] = want
        elif (have or None) != want:
            changes[text.asc] = want
    return changes


def decide_image(
    info: ImageInfo, file_name: str, remote: RemoteImage | None, pulled: tuple[str, int] | None = None
) -> tuple[str, str]:
    """(action, reason) for one localization's icon.

    `pulled` is what `bulkgc pull` recorded for a file it wrote: the remote image (fileName, fileSize) the
    file stands for. App Store Connect serves re-encoded renditions, so a pulled file never hashes to the
    digest in the remote fileName; while the file is unchanged (same sha256) and the remote image is the one
    pulled, they are the same image."""
    if remote is None:
        return "upload", "no image yet"
    if pulled is not None and (remote.file_name, remote.file_size) == pulled and remote.state == "COMPLETE":
        return "none", "the remote image this file was pulled from, COMPLETE"
    same = remote.file_name == file_name and remote.file_size == info.size
    if not same:
        if digest_of(remote.file_name) is None:
            return (
                "replace",
                f"remote image {remote.file_name or remote.id!r} was not uploaded by bulkgc; replacing it",
            )
        return "replace", f"remote image {remote.file_name} differs from the local file"
    if remote.state == "COMPLETE":
        return "none", "same file, COMPLETE"
    if remote.state == "UPLOAD_COMPLETE":
        return "wait", "same file, still processing"
    if remote.state == "AWAITING_UPLOAD":
        return "resume", "same file reserved earlier; upload what is missing and commit"
    codes = ", ".join(remote.error_codes) or "no codes"
    return (
        "replace",
        f"previous upload of the same file is {remote.state} ({codes}); deleting and uploading again",
    )


def localization_actions(
    desired: Item,
    remote_locs: dict[str, RemoteLocalization],
    images: dict[str, ImageInfo],
    pulled: Mapping[str, tuple[str, int]] | None = None,
) -> list[LocalizationAction]:
    """One action per desired locale, against the container's current localizations."""
    out = []
    for loc in desired.localizations:
        remote = remote_locs.get(loc.locale)
        changes = text_changes(desired.kind, loc, remote)
        image = None
        if loc.image is not None:
            info = images[str(loc.image)]
            name = remote_file_name(desired.vendor_identifier, loc.locale, info)
            remote_image = remote.image if remote else None
            img_action, reason = decide_image(info, name, remote_image, (pulled or {}).get(info.sha256))
            image = ImageAction(str(loc.image), info, name, img_action, reason, remote_image)
        action = "create" if remote is None else ("update" if changes else "none")
        out.append(
            LocalizationAction(
                locale=loc.locale,
                action=action,
                changes=changes,
                remote_id=remote.id if remote else None,
                image=image,
                desired=loc,
            )
        )
    return out


def choose_version(kapi: KindApi, remote: RemoteItem, on_live: str) -> tuple[str, RemoteVersion | None, str]:
    """(version action, version to read/edit, note) for an existing item, before looking at texts."""
    if kapi.version is None:
        return "none", None, "v1 (no versions)"
    latest = remote.latest
    if latest is None:
        return "create", None, "no version yet: create one"
    if latest.state in kapi.version.editable_states:
        return "edit", latest, f"edit v{latest.number} ({latest.state})"
    if latest.state in kapi.version.new_version_states:
        if on_live == "skip":
            return "blocked", latest, f"v{latest.number} is {latest.state}; --on-live skip leaves it"
        return "create", latest, f"v{latest.number} is {latest.state}: new version v{latest.number + 1}"
    return "blocked", latest, f"v{latest.number} is {latest.state} and cannot change until review ends"


def frozen_after_release(kind: Kind, kapi: KindApi, remote: RemoteItem, changes: dict[str, Any]) -> list[str]:
    """The changed attributes that may not change any more because a version of the item went live."""
    if kapi.version is None or not any(v.state in kapi.version.new_version_states for v in remote.versions):
        return []
    return [a.asc for a in kind.attributes if not a.editable_after_release and a.asc in changes]


def plan_item(
    kapi: KindApi,
    desired: Item,
    remote: RemoteItem | None,
    locs: dict[str, RemoteLocalization],
    version: tuple[str, RemoteVersion | None, str] | None,
    images: dict[str, ImageInfo],
    pulled: Mapping[str, tuple[str, int]] | None = None,
) -> ItemPlan:
    """The plan of one item from what was read of it (`version`: choose_version's answer, if it exists)."""
    if remote is None or version is None:
        return ItemPlan(
            item=desired,
            kapi=kapi,
            action="create",
            remote_id=None,
            attribute_changes={},
            version_action="edit" if kapi.version else "none",
            version_id=None,
            version_note=f"new {desired.kind.name}" + ("" if kapi.version else " (v1)"),
            localizations=localization_actions(desired, {}, images, pulled),
            pulled=pulled or {},
        )
    version_action, latest, note = version
    actions = localization_actions(desired, locs, images, pulled)
    changes = attribute_changes(desired, remote)
    p = ItemPlan(
        item=desired,
        kapi=kapi,
        action="update" if changes else "none",
        remote_id=remote.id,
        attribute_changes=changes,
        version_action=version_action,
        version_id=latest.id if latest else None,
        version_note=note,
        localizations=actions,
        extra_remote_locales=sorted(set(locs) - {loc.locale for loc in desired.localizations}),
        pulled=pulled or {},
    )
    frozen = frozen_after_release(desired.kind, kapi, remote, changes)
    differs = any(la.has_work for la in actions)
    if frozen:
        p.action, p.blocked_code, p.version_note = (
            "blocked",
            "ATTRIBUTE_NOT_EDITABLE_AFTER_RELEASE",
            (
                f"{', '.join(frozen)} cannot change once the {desired.kind.name} is live; "
                "change it back in the "
                "manifest or make a new one"
            ),
        )
    elif version_action in ("create", "blocked") and latest is not None and not differs:
        # a final version that already matches needs nothing, whatever its state
        p.version_action, p.version_note = "none", f"v{latest.number} ({latest.state}) matches"
    elif version_action == "blocked" and differs:
        p.action = "blocked"
        p.blocked_by_choice = (
            latest is not None
            and kapi.version is not None
            and (latest.state in kapi.version.new_version_states)
        )
    return p


async def build_plan(
    client: Any,
    api: str,
    manifest: Manifest,
    images: dict[str, ImageInfo],
    *,
    on_live: str = "new-version",
    read_concurrency: int = 16,
    kinds: tuple[Kind, ...] = KINDS,
) -> Plan:
    """Read App Store Connect and compare it with the manifest. Changes nothing."""
    reader = RemoteReader(client)
    detail_id, group_id = await reader.detail(manifest.app_id)
    plans: dict[tuple[str, str], ItemPlan] = {}
    limiter = anyio.CapacityLimiter(read_concurrency)

    async def plan_one(kapi: KindApi, desired: Item, remote: RemoteItem | None) -> None:
        version = locs = None
        if remote is not None:
            version = choose_version(kapi, remote, on_live)
            latest = version[1]
            container = latest.id if latest else (None if kapi.version else remote.id)
            async with limiter:
                locs = await reader.localizations(desired.kind, kapi, container) if container else {}
        plans[(desired.kind.name, desired.vendor_identifier)] = plan_item(
            kapi, desired, remote, locs or {}, version, images, manifest.image_aliases
        )

    async def plan_kind(kind: Kind) -> None:
        wanted = manifest.of_kind(kind.name)
        if not wanted:
            return  # a kind the manifest does not use costs no request
        kapi = kind.api(api)
        remote = await reader.items(kapi, detail_id, group_id)
        async with anyio.create_task_group() as tg:
            for desired in wanted:
                tg.start_soon(plan_one, kapi, desired, remote.get(desired.vendor_identifier))

    async with anyio.create_task_group() as tg:
        for kind in kinds:
            tg.start_soon(plan_kind, kind)
    ordered = [plans[(i.kind.name, i.vendor_identifier)] for i in manifest.items]
    return Plan(api, manifest.app_id, detail_id, group_id, ordered, reads=reader.reads)
