"""Compare the manifest (desired state) with what App Store Connect holds and decide: only the diff.

Which version gets edited (v2) is a deliberate choice, stated per item in the plan:
- the latest version is editable (PREPARE_FOR_SUBMISSION, DEVELOPER_REJECTED, REJECTED): edit it;
- the latest version is LIVE and something differs: create a new version and edit that one
  (`--on-live new-version`, the default), or leave the item alone (`--on-live skip`);
- the latest version is in review or waiting for release: it cannot change; the item is blocked
  and the plan says why. Nothing that matches is ever touched, whatever the state.
The v1 API has no versions: its localizations are edited in place. What a kind has (attributes, texts, icon
rule, API rows) comes from its declaration in `bulkgc.kinds`; this module names no kind.

Items that name other items (a set's member leaderboards, a challenge's leaderboard) name them by vendor id:
the plan reads the referenced kind's list as well, and a vendor id that neither the manifest nor App Store
Connect has is a `ManifestError` raised before anything is written.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio

from bulkgc.asc.resources import KindApi
from bulkgc.errors import ManifestError, Problem
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
from bulkgc.report import ItemResult
from bulkgc.scan import ImageInfo

#: image actions that send something (the rest: none)
IMAGE_WORK = ("upload", "replace", "resume", "wait")
#: the image slot of a version's default image, where a localization's image has its locale
DEFAULT_SLOT = "default"


def plural_key(kind: Kind) -> str:
    """A kind's plural as a JSON key and totals prefix (`leaderboard_sets`)."""
    return kind.plural.replace(" ", "_")


def remote_file_name(vendor_id: str, locale: str, info: ImageInfo) -> str:
    """The `fileName` bulkgc reserves for an icon: readable, and carrying the file's content digest."""
    safe = re.sub(r"[^A-Za-z0-9_-]+", "_", vendor_id).strip("_") or "icon"
    ext = "png" if info.format == "PNG" else "jpg"
    return f"{safe}.{locale}.{info.sha256[:DIGEST_LEN]}.{ext}"


# ---------------------------------------------------------------------------------------------- plan model


@dataclass(frozen=True)
class FieldChange:
    """One field that differs: manifest key, App Store Connect attribute, old value, new value."""

    field: str  # manifest key, e.g. "before_earned_description"
    attribute: str  # App Store Connect attribute, e.g. "beforeEarnedDescription"
    old: Any  # None when the resource does not exist yet
    new: Any

    def to_dict(self) -> dict[str, Any]:
        return {"field": self.field, "attribute": self.attribute, "old": self.old, "new": self.new}


def _short(value: Any, width: int = 60) -> str:
    """A value for the plan table: JSON-quoted; a long text is cut to `width` characters, ending in "…"."""
    if value is None:
        return "(none)"
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= width else text[: width - 2] + '…"'


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
    changes: dict[str, Any]  # Apple's attribute name -> desired value (the PATCH body; None clears a text)
    remote_id: str | None
    image: ImageAction | None  # None: the manifest gives this localization no icon (the kind's is optional)
    desired: Localization
    diffs: list[FieldChange] = field(default_factory=list)  # old -> new per field, for people and --json

    @property
    def has_work(self) -> bool:
        return self.action != "none" or (self.image is not None and self.image.action != "none")

    def text_changes(self) -> dict[str, list[Any]]:
        """Changed texts as manifest field -> [remote value (None when new), manifest value], for reports."""
        return {c.field: [c.old, c.new] for c in self.diffs}


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
    attribute_diffs: list[FieldChange] = field(default_factory=list)  # old -> new of attribute_changes
    version_state: str | None = None  # state of the version the plan chose or found (reports show it)
    version_changes: dict[str, Any] = field(default_factory=dict)  # the version's attributes that differ
    reference_changes: dict[str, list[str]] = field(default_factory=dict)  # reference key -> vendor ids
    default_image: ImageAction | None = None  # the version's default image (None: the manifest gives none)

    @property
    def waits_for(self) -> list[tuple[str, str]]:
        """(kind, vendor id) of the items this one's requests name: they must exist first."""
        if self.action != "create" and not self.reference_changes:
            return []
        return [(r.kind, v) for r in self.kind.references for v in self.item.references.get(r.key, ())]

    @property
    def images(self) -> list[tuple[str, ImageAction]]:
        """(slot, image) of every image: each localization's (slot = locale), then the default image."""
        out = [(la.locale, la.image) for la in self.localizations if la.image is not None]
        return out + ([(DEFAULT_SLOT, self.default_image)] if self.default_image is not None else [])
    # what `bulkgc pull` recorded (sha256 -> remote fileName, fileSize): kept to diff a new version again
    pulled: Mapping[str, frozenset[tuple[str, int]]] = field(default_factory=dict, repr=False)

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
            or bool(self.version_changes)
            or bool(self.reference_changes)
            or self.version_action == "create"
            or any(la.has_work for la in self.localizations)
            or (self.default_image is not None and self.default_image.action != "none")
        )

    def describe_action(self) -> str:
        """What a push does to this item, in words: `create; ...`, `update texts, icons; edit v1 (...)`."""
        if self.action == "blocked":
            return f"blocked: {self.version_note}"
        if self.action == "create":
            return f"create; {self.version_note}"
        if not self.has_work:
            return "no change"
        parts = []
        if self.attribute_changes:
            parts.append("settings")
        parts += [key for key in self.reference_changes]
        if self.version_changes:
            parts.append("version settings")
        if any(la.action != "none" for la in self.localizations):
            parts.append("texts")
        if any(la.image is not None and la.image.action != "none" for la in self.localizations):
            parts.append("icons")
        if self.default_image is not None and self.default_image.action != "none":
            parts.append("default image")
        what = "update " + ", ".join(parts) if parts else "update"
        return f"{what}; {self.version_note}"

    def image_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for _slot, image in self.images:
            counts[image.action] = counts.get(image.action, 0) + 1
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
    # (kind, vendor id) -> resource id of every item a reference may name (grows as items are created)
    ids: dict[tuple[str, str], str] = field(default_factory=dict)

    @property
    def owner(self) -> tuple[str, str]:
        """(relationship name, id) that owns the items: the group when there is one, else the detail."""
        return ("gameCenterGroup", self.group_id) if self.group_id else ("gameCenterDetail", self.detail_id)

    @property
    def is_noop(self) -> bool:
        return not any(p.has_work for p in self.items)

    def of_kind(self, name: str) -> list[ItemPlan]:
        return [p for p in self.items if p.kind.name == name]

    def kinds(self) -> list[Kind]:
        """The kinds this plan holds items of, in registry order."""
        present = {p.kind.name for p in self.items}
        return [k for k in KINDS if k.name in present]

    def totals(self) -> dict[str, int]:
        """Counts for people and machines: per kind `<plural>_create/_update/_blocked`, then versions,
        localizations and images of every kind together."""
        t: dict[str, int] = {}
        for kind in self.kinds() or [KINDS[0]]:
            key = plural_key(kind)
            t.update({f"{key}_create": 0, f"{key}_update": 0, f"{key}_blocked": 0})
        t.update(
            {
                "versions_create": 0,
                "versions_update": 0,
                "references_update": 0,
                "localizations_create": 0,
                "localizations_update": 0,
                "images_upload": 0,
                "images_replace": 0,
                "images_resume": 0,
                "images_wait": 0,
                "images_unchanged": 0,
            }
        )
        for p in self.items:
            plural = plural_key(p.kind)
            if p.action == "create":
                t[f"{plural}_create"] += 1
            elif p.action == "blocked":
                t[f"{plural}_blocked"] += 1
                continue
            elif p.attribute_changes:
                t[f"{plural}_update"] += 1
            if p.version_action == "create":
                t["versions_create"] += 1
            elif p.version_changes:
                t["versions_update"] += 1
            t["references_update"] += len(p.reference_changes) if p.action != "create" else 0
            for la in p.localizations:
                if la.action in ("create", "update"):
                    t[f"localizations_{la.action}"] += 1
            for _slot, image in p.images:
                t["images_unchanged" if image.action == "none" else f"images_{image.action}"] += 1
        return t

    def expected_requests(self, polls_per_container: int = 1) -> int:
        """API requests a push of this plan needs at the least (the pacer's hint; the benchmark's minimum).

        1 per item created or updated, 1 per new version (+1 read of what it starts with), 1 per version
        or reference update, 1 per localization created or changed, reserve + commit per image (+1 delete
        when one is replaced), commit only for a resumed reservation, and `polls_per_container` batched polls
        per version whose images are processed (a default image is polled by its own read). Upload parts go to
        the upload hosts and do not count against the API budget.
        """
        n = 0
        for p in self.items:
            if not p.has_work:
                continue
            n += 1 if (p.action == "create" or p.attribute_changes) else 0
            n += 2 if p.version_action == "create" else (1 if p.version_changes else 0)
            n += 0 if p.action == "create" else len(p.reference_changes)
            n += sum(1 for la in p.localizations if la.action in ("create", "update"))
            for _slot, image in p.images:
                n += {"upload": 2, "replace": 3, "resume": 1, "wait": 0}.get(image.action, 0)
            polled = {slot == DEFAULT_SLOT for slot, image in p.images if image.action in IMAGE_WORK}
            n += polls_per_container * len(polled)
        return n

    def to_dict(self) -> dict[str, Any]:
        """The plan for machines (`bulkgc plan --json`, schema bulkgc-plan/2; snake_case keys, as the report).

        Items are listed per kind under the kind's plural (`achievements`, `leaderboards`), each with its
        `kind`. Each item and localization carries `changes`: `[{"field", "attribute", "old", "new"}]`, `old`
        null when the resource does not exist yet; `has_work` says whether a push would send anything for it.
        """
        doc: dict[str, Any] = {
            "schema": "bulkgc-plan/2",
            "api": self.api,
            "app_id": self.app_id,
            "game_center_detail": self.detail_id,
            "game_center_group": self.group_id,
            "noop": self.is_noop,
            "totals": self.totals(),
            "expected_requests": self.expected_requests(),
            "plan_reads": self.reads,
        }
        for kind in self.kinds() or [KINDS[0]]:
            doc[plural_key(kind)] = [_item_to_dict(p) for p in self.items if p.kind.name == kind.name]
        return doc

    def report_items(self) -> list[ItemResult]:
        """The plan as report items, what `plan --html` shows: outcome "planned" for what a push would change,
        "unchanged", or "blocked"/"skipped" (with the version's state) for what it cannot or will not do."""
        items: list[ItemResult] = []
        for p in self.items:
            blocked = p.action == "blocked"
            if blocked:
                outcome = "skipped" if p.blocked_by_choice else "blocked"
                codes = [] if p.blocked_by_choice else [p.blocked_code]
            else:
                outcome, codes = ("planned" if p.has_work else "unchanged"), []
            state = p.version_state if blocked else None
            gc_kind = p.kind.name
            items.append(
                ItemResult(
                    kind=gc_kind,
                    vendor_identifier=p.vendor_id,
                    action=p.action,
                    outcome=outcome,
                    error_codes=codes,
                    message=p.version_note,
                    attempts=0,
                    gc_kind=gc_kind,
                    container_state=state,
                )
            )
            for la in p.localizations:
                levels = [("localization", la.action)] + ([("image", la.image.action)] if la.image else [])
                for level, action in levels:
                    moves = action != "none"
                    image = la.image if level == "image" else None
                    item = ItemResult(
                        kind=level,
                        vendor_identifier=p.vendor_id,
                        locale=la.locale,
                        action=action,
                        outcome=(outcome if blocked and moves else "planned" if moves else "unchanged"),
                        error_codes=codes if blocked and moves else [],
                        attempts=0,
                        gc_kind=gc_kind,
                        message=(image.reason if image is not None and moves else ""),
                        final_state=image.remote.state if image is not None and image.remote else None,
                        image_id=image.remote.id if image is not None and image.remote else None,
                        container_state=state if blocked and moves else None,
                    )
                    describe_item(item, la)
                    items.append(item)
            if p.default_image is not None:
                image = p.default_image
                moves = image.action != "none"
                items.append(ItemResult(
                    kind="image", vendor_identifier=p.vendor_id, locale=DEFAULT_SLOT, action=image.action,
                    outcome=(outcome if blocked and moves else "planned" if moves else "unchanged"),
                    error_codes=codes if blocked and moves else [], attempts=0, gc_kind=gc_kind,
                    message=image.reason if moves else "",
                    final_state=image.remote.state if image.remote else None,
                    image_id=image.remote.id if image.remote else None,
                    container_state=state if blocked and moves else None,
                    file=image.path, digest=image.info.sha256,
                ))
        return items

    def format_table(self) -> str:
        """The plan for people, like `terraform plan`: what changes, field by field (old -> new), then totals.

        `+` creates, `~` changes, `!` is blocked; items with nothing to do are only counted. With several
        kinds, each kind's items come under its own heading.
        """
        lines: list[str] = []
        kinds = self.kinds()
        for kind in kinds:
            if len(kinds) > 1:
                lines.append(f"{kind.plural}:")
            unchanged = 0
            for p in self.items:
                if p.kind.name != kind.name:
                    continue
                if not (p.has_work or p.action == "blocked"):
                    unchanged += 1
                    continue
                lines.extend(_item_lines(p))
            if unchanged:
                lines.append(f"{unchanged} {kind.name}(s) already match the manifest (not shown).")
        t = self.totals()
        counts = "; ".join(
            f"{k.plural}: {t[f'{plural_key(k)}_create']} to create, "
            f"{t[f'{plural_key(k)}_update']} to update, "
            f"{t[f'{plural_key(k)}_blocked']} blocked"
            for k in kinds or [KINDS[0]]
        )
        lines.append(
            f"{counts}; versions to create: {t['versions_create']}, to update: {t['versions_update']}; "
            f"memberships/links to update: {t['references_update']}; "
            f"localizations: {t['localizations_create']} to create, {t['localizations_update']} to update; "
            f"images: {t['images_upload']} to upload, {t['images_replace']} to replace, "
            f"{t['images_resume']} to resume, {t['images_wait']} processing, "
            f"{t['images_unchanged']} unchanged"
        )
        fixed = {la.image.path: la.image.info.fixes for p in self.items for la in p.localizations
                 if la.image is not None and la.image.info.fixes}
        if fixed:
            lines.append(f"--fix-icons uploads fixed copies of {len(fixed)} icon(s) (your files unchanged):")
            lines += [f"  {path}: {', '.join(fixes)}" for path, fixes in fixed.items()]
        if self.is_noop:
            lines.append("Nothing to do: App Store Connect already matches the manifest.")
        return "\n".join(lines)


def _item_to_dict(p: ItemPlan) -> dict[str, Any]:
    return {
        "kind": p.kind.name,
        "vendor_identifier": p.vendor_id,
        "action": p.action,
        "has_work": p.has_work,
        "summary": p.describe_action(),
        "id": p.remote_id,
        "changes": [c.to_dict() for c in p.attribute_diffs],
        "reference_changes": p.reference_changes,
        "version": {
            "action": p.version_action,
            "id": p.version_id,
            "note": p.version_note,
            "changes": p.version_changes,
        },
        "default_image": None if p.default_image is None else _image_dict(p.default_image),
        "localizations": [
            {
                "locale": la.locale,
                "action": la.action,
                "id": la.remote_id,
                "changes": [c.to_dict() for c in la.diffs],
                "image": None if la.image is None else _image_dict(la.image),
            }
            for la in p.localizations
        ],
        "untouched_remote_locales": p.extra_remote_locales,
    }


def _image_dict(image: ImageAction) -> dict[str, Any]:
    return {
        "action": image.action,
        "reason": image.reason,
        "file": image.path,
        "fixes": list(image.info.fixes),  # what --fix-icons changed in the uploaded copy
        "file_name": image.file_name,
        "old_file_name": image.remote.file_name if image.remote else None,
        "remote_id": image.remote.id if image.remote else None,
        "remote_state": image.remote.state if image.remote else None,
    }


def _item_lines(p: ItemPlan) -> list[str]:
    """One item of the plan table: its action, its changed settings, then each changed localization."""
    mark = {"create": "+", "blocked": "!"}.get(p.action, "~")
    lines = [f"{mark} {p.vendor_id}: {p.describe_action()}"]
    lines.extend(_change_lines(p.attribute_diffs, "    ", creating=p.action == "create"))
    for key, wanted in p.reference_changes.items():
        lines.append(f"    {key}: -> {', '.join(wanted) or '(none)'}")
    for name, value in p.version_changes.items():
        lines.append(f"    version {name}: -> {_short(value)}")
    for la in p.localizations:
        if not la.has_work:
            continue
        if la.action == "none":
            lines.append(f"  ~ {la.locale}: icon only")
        else:
            lines.append(f"  {'+' if la.action == 'create' else '~'} {la.locale}: {la.action} localization")
        lines.extend(_change_lines(la.diffs, "      ", creating=la.action == "create"))
        if la.image is not None and la.image.action != "none":
            lines.append(f"      icon: {_icon_change(la.image)}")
    if p.default_image is not None and p.default_image.action != "none":
        lines.append(f"  ~ default image: {_icon_change(p.default_image)}")
    lines.append("")
    return lines


def _icon_change(image: ImageAction) -> str:
    """`upload assets/x.png`, `old.png -> assets/x.png (replace)`, `resume assets/x.png (why)`."""
    path = Path(image.path)
    try:
        shown = str(path.relative_to(Path.cwd())) if path.is_absolute() else str(path)
    except ValueError:
        shown = str(path)
    if image.action == "upload":
        return f"upload {shown}"
    if image.action == "replace" and image.remote is not None:
        old = image.remote.file_name
        if old == image.file_name:  # same content, but its earlier upload failed: the reason says how
            why = image.reason
        else:
            why = "not uploaded by bulkgc" if digest_of(old) is None else "content differs"
        return f"{old or image.remote.id} -> {shown} (replace: {why})"
    return f"{image.action} {shown} ({image.reason})"


def _change_lines(changes: list[FieldChange], indent: str, *, creating: bool) -> list[str]:
    """`name: "Old" -> "New"` per field; only the new value for a resource that does not exist yet."""
    out = []
    for c in changes:
        if creating:
            out.append(f"{indent}{c.field}: {_short(c.new)}")
        else:
            out.append(f"{indent}{c.field}: {_short(c.old)} -> {_short(c.new)}")
    return out


def describe_item(item: ItemResult, la: LocalizationAction) -> None:
    """Fill in what reports show about one localization's item from its planned action: the texts' changes
    (old -> new) for the localization; the local file, its digest and the replaced remote image's digest for
    the image."""
    if item.kind == "localization":
        item.changes = la.text_changes()
    elif item.kind == "image" and la.image is not None:
        item.file = la.image.path
        item.digest = la.image.info.sha256
        remote = la.image.remote
        if remote is not None and la.image.action == "replace":
            item.previous_digest = digest_of(remote.file_name)


# ---------------------------------------------------------------------------------------------- diffing


def attribute_diffs(desired: Item, remote: RemoteItem | None) -> list[FieldChange]:
    """The item's own attributes that differ (old -> new, new as sent), or all it is created with (old None).

    A permanent attribute (vendorIdentifier) never differs; an optional one the manifest leaves out is left
    as App Store Connect holds it, unless the kind declares a default for it.
    """
    out = []
    for attribute in desired.kind.attributes:
        want = desired.attributes.get(attribute.key)
        if remote is None:
            if want is not None:
                out.append(FieldChange(attribute.key, attribute.asc, None, attribute.wire(want)))
            continue
        if not attribute.editable or (want is None and not attribute.required and attribute.default is None):
            continue
        have = remote.attributes.get(attribute.asc)
        if not attribute.same(have, want):
            out.append(
                FieldChange(
                    attribute.key,
                    attribute.asc,
                    have,
                    attribute.wire(want if want is not None else attribute.default),
                )
            )
    return out


def attribute_changes(desired: Item, remote: RemoteItem) -> dict[str, Any]:
    """Attributes of the item itself that differ: Apple's name -> the value to send."""
    return {c.attribute: c.new for c in attribute_diffs(desired, remote)}


def version_changes(desired: Item, version: RemoteVersion | None) -> dict[str, Any]:
    """The version's attributes (an activity's fallbackUrl) that differ; one left out is left as it is."""
    have = version.attributes if version is not None else {}
    changes = {}
    for attribute in desired.kind.version_attributes:
        want = desired.version_attributes.get(attribute.key)
        if want is not None and not attribute.same(have.get(attribute.asc), want):
            changes[attribute.asc] = attribute.wire(want)
    return changes


def reference_changes(desired: Item, remote: RemoteItem, vendors: dict[str, str]) -> dict[str, list[str]]:
    """The references whose remote items differ from the manifest's (a set's members: order included).

    `vendors` maps the resource ids of referable items to their vendor ids.
    """
    changes = {}
    for ref in desired.kind.references:
        want = list(desired.references.get(ref.key, ()))
        have = [vendors.get(i, f"(id {i})") for i in remote.references.get(ref.key, [])]
        if have != want:
            changes[ref.key] = want
    return changes


def default_image_action(
    desired: Item,
    remote: RemoteImage | None,
    images: dict[str, ImageInfo],
    pulled: Mapping[str, frozenset[tuple[str, int]]] | None = None,
) -> ImageAction | None:
    """What happens to the version's default image (None: the manifest gives none, the remote is left)."""
    if desired.default_image is None:
        return None
    info = images[str(desired.default_image)]
    name = remote_file_name(desired.vendor_identifier, DEFAULT_SLOT, info)
    action, reason = decide_image(info, name, remote, (pulled or {}).get(info.sha256, frozenset()))
    return ImageAction(str(desired.default_image), info, name, action, reason, remote)


def text_diffs(kind: Kind, desired: Localization, remote: RemoteLocalization | None) -> list[FieldChange]:
    """The texts that differ (old -> new), or all a new localization is created with (old None); an optional
    text left out clears the remote one (App Store Connect reports an unset text as null)."""
    out = []
    for text in kind.texts:
        want = desired.texts.get(text.key)
        have = remote.texts.get(text.asc) if remote is not None else None
        if (remote is None and want is not None) or (remote is not None and (have or None) != want):
            out.append(FieldChange(text.key, text.asc, have, want))
    return out


def text_changes(kind: Kind, desired: Localization, remote: RemoteLocalization | None) -> dict[str, Any]:
    """The texts that differ: Apple's name -> the value to send."""
    return {c.attribute: c.new for c in text_diffs(kind, desired, remote)}


def decide_image(
    info: ImageInfo,
    file_name: str,
    remote: RemoteImage | None,
    pulled: frozenset[tuple[str, int]] = frozenset(),
) -> tuple[str, str]:
    """(action, reason) for one localization's icon.

    `pulled` is what `bulkgc pull` recorded for a file it wrote: the remote images (fileName, fileSize) files
    with its bytes stand for. App Store Connect serves re-encoded renditions, so a pulled file never hashes to
    the digest in the remote fileName; while the file is unchanged (same sha256) and the remote image is one
    it was pulled from, they are the same image."""
    if remote is None:
        return "upload", "no image yet"
    if (remote.file_name, remote.file_size) in pulled and remote.state == "COMPLETE":
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
    pulled: Mapping[str, frozenset[tuple[str, int]]] | None = None,
) -> list[LocalizationAction]:
    """One action per desired locale, against the container's current localizations."""
    out = []
    for loc in desired.localizations:
        remote = remote_locs.get(loc.locale)
        diffs = text_diffs(desired.kind, loc, remote)
        changes = {c.attribute: c.new for c in diffs}
        image = None
        if loc.image is not None:
            info = images[str(loc.image)]
            name = remote_file_name(desired.vendor_identifier, loc.locale, info)
            remote_image = remote.image if remote else None
            recorded = (pulled or {}).get(info.sha256, frozenset())
            img_action, reason = decide_image(info, name, remote_image, recorded)
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
                diffs=diffs,
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
    pulled: Mapping[str, frozenset[tuple[str, int]]] | None = None,
    *,
    remote_default: RemoteImage | None = None,
    vendors: dict[str, str] | None = None,
) -> ItemPlan:
    """The plan of one item from what was read of it (`version`: choose_version's answer, if it exists).

    `remote_default` is the chosen version's default image; `vendors` maps referable items' ids to vendor ids.
    """
    if remote is None or version is None:
        return ItemPlan(
            item=desired,
            kapi=kapi,
            action="create",
            remote_id=None,
            attribute_changes={},
            version_action="edit" if kapi.version else "none",
            version_id=None,
            version_note=f"new {desired.kind.name}" + (" (v1)" if kapi.version else ""),
            localizations=localization_actions(desired, {}, images, pulled),
            attribute_diffs=attribute_diffs(desired, None),
            default_image=default_image_action(desired, None, images, pulled),
            pulled=pulled or {},
        )
    version_action, latest, note = version
    actions = localization_actions(desired, locs, images, pulled)
    diffs = attribute_diffs(desired, remote)
    changes = {c.attribute: c.new for c in diffs}
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
        attribute_diffs=diffs,
        version_state=latest.state if latest else None,
        version_changes=version_changes(desired, latest) if kapi.version else {},
        reference_changes=reference_changes(desired, remote, vendors or {}),
        default_image=default_image_action(desired, remote_default, images, pulled),
        pulled=pulled or {},
    )
    frozen = frozen_after_release(desired.kind, kapi, remote, changes)
    differs = (
        any(la.has_work for la in actions)
        or bool(p.version_changes)
        or (p.default_image is not None and p.default_image.action != "none")
    )
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


def referenced_kinds(manifest: Manifest, kinds: tuple[Kind, ...]) -> tuple[Kind, ...]:
    """The kinds to read: those the manifest uses and those its items name (members, challenges' boards)."""
    used = [k for k in kinds if manifest.of_kind(k.name)]
    named = {r.kind for k in used for r in k.references}
    return tuple(k for k in KINDS if k in used or k.name in named)


def check_references(manifest: Manifest, remote: dict[str, dict[str, RemoteItem]]) -> None:
    """Every vendor id an item names must be in the manifest or in App Store Connect (else ManifestError)."""
    problems = []
    for item in manifest.items:
        for ref in item.kind.references:
            for vendor in item.references.get(ref.key, ()):
                if manifest.item(ref.kind, vendor) is None and vendor not in remote.get(ref.kind, {}):
                    where = f"{item.kind.name} {item.vendor_identifier!r}.{ref.key}"
                    problems.append(Problem(
                        f"{manifest.path}: {where}",
                        f"no {ref.kind} has vendor_identifier {vendor!r}, neither in the "
                        f"manifest nor in App Store Connect; add the [[{ref.kind}]] or fix the id",
                    ))
    if problems:
        raise ManifestError(problems, source=str(manifest.path))


async def build_plan(
    client: Any,
    api: str,
    manifest: Manifest,
    images: dict[str, ImageInfo] | Callable[[], Awaitable[dict[str, ImageInfo]]],
    *,
    on_live: str = "new-version",
    read_concurrency: int = 16,
    kinds: tuple[Kind, ...] = KINDS,
) -> Plan:
    """Read App Store Connect and compare it with the manifest. Changes nothing.

    First every needed kind's list (concurrently), then each existing item's localizations (and a set's
    members, a version's default image) under `read_concurrency`. `images` may be a coroutine function that
    waits for the icons' digests (`IconChecks.images`): the reads then go while the icons are being checked,
    and each item is compared once both its reads and the digests are there.
    """

    async def local_images() -> dict[str, ImageInfo]:
        return images if isinstance(images, dict) else await images()

    reader = RemoteReader(client)
    detail_id, group_id = await reader.detail(manifest.app_id)
    plans: dict[tuple[str, str], ItemPlan] = {}
    limiter = anyio.CapacityLimiter(read_concurrency)
    remote: dict[str, dict[str, RemoteItem]] = {}
    needed = referenced_kinds(manifest, kinds)

    async def read_kind(kind: Kind) -> None:
        remote[kind.name] = await reader.items(kind.api(api), detail_id, group_id)

    async with anyio.create_task_group() as tg:
        for kind in needed:
            tg.start_soon(read_kind, kind)
    check_references(manifest, remote)
    ids = {(k, v): r.id for k, items in remote.items() for v, r in items.items()}
    vendors_of = {k: {r.id: v for v, r in items.items()} for k, items in remote.items()}

    async def plan_one(kapi: KindApi, desired: Item, found: RemoteItem | None) -> None:
        kind = desired.kind
        version = locs = None
        default = None
        vendors: dict[str, str] = {}
        if found is not None:
            version = choose_version(kapi, found, on_live)
            latest = version[1]
            container = latest.id if latest else (None if kapi.version else found.id)
            async with limiter:
                locs = await reader.localizations(kind, kapi, container) if container else {}
                if desired.default_image is not None and latest is not None:
                    default = await reader.default_image(kapi, latest.id)
                for link in kapi.references:
                    if link.read == "linkage":
                        found.references[link.key] = await reader.linkage(kapi.path(link.linkage, found.id))
            for ref in kind.references:
                vendors.update(vendors_of.get(ref.kind, {}))
        plans[(kind.name, desired.vendor_identifier)] = plan_item(
            kapi, desired, found, locs or {}, version, await local_images(), manifest.image_aliases,
            remote_default=default, vendors=vendors
        )

    async with anyio.create_task_group() as tg:
        for desired in manifest.items:
            if desired.kind in kinds:
                found = remote[desired.kind.name].get(desired.vendor_identifier)
                tg.start_soon(plan_one, desired.kind.api(api), desired, found)
    ordered = [plans[(i.kind.name, i.vendor_identifier)] for i in manifest.items if i.kind in kinds]
    return Plan(api, manifest.app_id, detail_id, group_id, ordered, reads=reader.reads, ids=ids)

