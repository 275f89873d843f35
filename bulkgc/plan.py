"""Compare the manifest (desired state) with what App Store Connect holds and decide the actions.

Reading the remote state costs, for an app with A achievements: 1 request for the Game Center detail,
ceil(A / 200) for the achievement list (with each achievement's versions embedded), and 1 per existing
achievement for its localizations with their images embedded. Nothing else is read.

Which version gets edited (v2) is a deliberate choice, stated per achievement in the plan:
- the latest version is editable (PREPARE_FOR_SUBMISSION, DEVELOPER_REJECTED, REJECTED): edit it;
- the latest version is LIVE and something differs: create a new version and edit that one
  (`--on-live new-version`, the default), or leave the achievement alone (`--on-live skip`);
- the latest version is in review or waiting for release: it cannot change; the achievement is blocked
  and the plan says why. Nothing that matches is ever touched, whatever the state.
The v1 API has no versions: its localizations are edited in place.

Images are matched by content: every uploaded image's `fileName` carries the first 12 hex digits of the
file's sha256, so the remote state alone (no journal) tells whether an image equals the local file.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio

from bulkgc.asc.jsonapi import Document, DocumentShapeError, Resource
from bulkgc.asc.resources import APP_DETAIL, KindApi
from bulkgc.errors import ConfigError, NotFoundError
from bulkgc.manifest import Achievement, Localization, Manifest
from bulkgc.report import ItemResult
from bulkgc.scan import ImageInfo

DIGEST_LEN = 12
_DIGEST_RE = re.compile(r"\.([0-9a-f]{%d})\.(?:png|jpe?g)$" % DIGEST_LEN)

ACHIEVEMENT_ATTRS = {
    "referenceName": "reference_name",
    "points": "points",
    "showBeforeEarned": "show_before_earned",
    "repeatable": "repeatable",
}
TEXT_ATTRS = {
    "name": "name",
    "beforeEarnedDescription": "before_earned_description",
    "afterEarnedDescription": "after_earned_description",
}


def remote_file_name(vendor_id: str, locale: str, info: ImageInfo) -> str:
    """The `fileName` bulkgc reserves for an icon: readable, and carrying the file's content digest."""
    safe = re.sub(r"[^A-Za-z0-9_-]+", "_", vendor_id).strip("_") or "icon"
    ext = "png" if info.format == "PNG" else "jpg"
    return f"{safe}.{locale}.{info.sha256[:DIGEST_LEN]}.{ext}"


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

    @classmethod
    def from_resource(cls, r: Resource) -> RemoteImage:
        """Read an image resource; DocumentShapeError (naming it) when an attribute has an odd shape."""
        a = r.attributes or {}
        delivery = a.get("assetDeliveryState") or {}
        errors = (delivery.get("errors") or []) if isinstance(delivery, dict) else None
        operations = a.get("uploadOperations") or []
        size = a.get("fileSize") or 0
        if (errors is None or not isinstance(errors, list) or not isinstance(operations, list)
                or not all(isinstance(op, dict) for op in operations)
                or not isinstance(size, int | str) or not str(size).strip().isdigit()):
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
        )


@dataclass
class RemoteLocalization:
    """A localization and (if any) its image."""

    id: str
    locale: str
    texts: dict[str, str | None]
    image: RemoteImage | None

    @classmethod
    def from_resource(cls, r: Resource, doc: Document, kapi: KindApi) -> RemoteLocalization:
        a = r.attributes or {}
        image = None
        image_id = r.rel_id(kapi.loc_image_rel)
        if image_id:
            found = doc.find(kapi.image_type, image_id)
            if found is not None:
                image = RemoteImage.from_resource(found)
            else:  # linked but not embedded: treat as unknown content, so it gets replaced
                image = RemoteImage(id=image_id, file_name="", file_size=0, state="UNKNOWN")
        texts = {k: a.get(k) for k in TEXT_ATTRS}
        return cls(id=r.id, locale=str(a.get("locale") or ""), texts=texts, image=image)


@dataclass
class RemoteVersion:
    id: str
    number: int
    state: str


@dataclass
class RemoteAchievement:
    id: str
    attributes: dict[str, Any]
    versions: list[RemoteVersion]

    @property
    def latest(self) -> RemoteVersion | None:
        return max(self.versions, key=lambda v: v.number) if self.versions else None


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


def diff_fields(fields: Mapping[str, str], desired: Any, remote: Mapping[str, Any] | None, *,
                blank_is_none: bool = False) -> list[FieldChange]:
    """The fields (ASC attribute -> manifest key) whose desired value differs from `remote` (None: absent).

    Generic over kinds: any resource whose manifest object has the manifest keys as attributes. With
    `blank_is_none`, a remote null equals an empty string (App Store Connect reports unset texts as null).
    """
    out = []
    for asc_name, key in fields.items():
        want = getattr(desired, key)
        have = None if remote is None else remote.get(asc_name)
        same = (have or "") == want if blank_is_none else have == want
        if remote is None or not same:
            out.append(FieldChange(key, asc_name, have, want))
    return out


def _short(value: Any, width: int = 60) -> str:
    """A value for the plan table: JSON-quoted; a long text is cut to `width` characters, ending in "…"."""
    if value is None:
        return "(none)"
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= width else text[: width - 2] + "…\""


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
    changes: dict[str, str]  # ASC attribute -> new value (the PATCH body)
    remote_id: str | None
    image: ImageAction
    desired: Localization
    diffs: list[FieldChange] = field(default_factory=list)  # old -> new per field, for people and --json

    def text_changes(self) -> dict[str, list[Any]]:
        """Changed texts as manifest field -> [remote value (None when new), manifest value], for reports."""
        return {c.field: [c.old, c.new] for c in self.diffs}


@dataclass
class AchievementPlan:
    """Everything to do for one achievement, and why."""

    achievement: Achievement
    action: str  # create | update | none | blocked
    remote_id: str | None
    attribute_changes: dict[str, Any]
    version_action: str  # edit | create | none (v1) | blocked
    version_id: str | None
    version_note: str
    localizations: list[LocalizationAction]
    extra_remote_locales: list[str] = field(default_factory=list)
    # blocked because the user asked for it (--on-live skip), not because App Store Connect forbids the change
    blocked_by_choice: bool = False
    attribute_diffs: list[FieldChange] = field(default_factory=list)  # old -> new of attribute_changes
    version_state: str | None = None  # state of the version the plan chose or found (reports show it)

    @property
    def vendor_id(self) -> str:
        return self.achievement.vendor_identifier

    @property
    def has_work(self) -> bool:
        if self.action == "blocked":
            return False
        return (
            self.action == "create"
            or bool(self.attribute_changes)
            or self.version_action == "create"
            or any(la.action != "none" or la.image.action != "none" for la in self.localizations)
        )

    def describe_action(self) -> str:
        """What a push does to this achievement, in words: `create`, `update texts, icons (edit v1 ...)`, ..."""
        if self.action == "blocked":
            return f"blocked: {self.version_note}"
        if self.action == "create":
            return f"create; {self.version_note}"
        if not self.has_work:
            return "no change"
        parts = []
        if self.attribute_changes:
            parts.append("settings")
        if any(la.action != "none" for la in self.localizations):
            parts.append("texts")
        if any(la.image.action != "none" for la in self.localizations):
            parts.append("icons")
        what = "update " + ", ".join(parts) if parts else "update"
        return f"{what}; {self.version_note}"

    def image_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for la in self.localizations:
            counts[la.image.action] = counts.get(la.image.action, 0) + 1
        return counts


@dataclass
class Plan:
    """The whole push: one AchievementPlan per manifest achievement."""

    api: str
    app_id: str
    detail_id: str
    group_id: str | None
    achievements: list[AchievementPlan]
    reads: int = 0
    kind: str = "achievement"  # the Game Center kind planned (reports group by it)

    @property
    def owner(self) -> tuple[str, str]:
        """(relationship name, id) that owns achievements: the group when there is one, else the detail."""
        return ("gameCenterGroup", self.group_id) if self.group_id else ("gameCenterDetail", self.detail_id)

    @property
    def is_noop(self) -> bool:
        return not any(a.has_work for a in self.achievements)

    def totals(self) -> dict[str, int]:
        t = {"achievements_create": 0, "achievements_update": 0, "achievements_blocked": 0, "versions_create": 0,
             "localizations_create": 0, "localizations_update": 0, "images_upload": 0, "images_replace": 0,
             "images_resume": 0, "images_wait": 0, "images_unchanged": 0}
        for a in self.achievements:
            if a.action == "create":
                t["achievements_create"] += 1
            elif a.action == "blocked":
                t["achievements_blocked"] += 1
                continue
            elif a.attribute_changes:
                t["achievements_update"] += 1
            if a.version_action == "create":
                t["versions_create"] += 1
            for la in a.localizations:
                if la.action in ("create", "update"):
                    t[f"localizations_{la.action}"] += 1
                key = "images_unchanged" if la.image.action == "none" else f"images_{la.image.action}"
                t[key] += 1
        return t

    def expected_requests(self, polls_per_container: int = 1) -> int:
        """API requests a push of this plan needs at the least (the pacer's hint; the benchmark's minimum).

        1 per achievement created or updated, 1 per new version (+1 read of what it starts with), 1 per
        localization created or changed, reserve + commit per image (+1 delete when one is replaced),
        commit only for a resumed reservation, and `polls_per_container` batched polls per version whose
        images are processed. Upload parts go to the upload hosts and do not count against the API budget.
        """
        n = 0
        for a in self.achievements:
            if not a.has_work:
                continue
            n += 1 if (a.action == "create" or a.attribute_changes) else 0
            n += 2 if a.version_action == "create" else 0
            images = 0
            for la in a.localizations:
                n += 1 if la.action in ("create", "update") else 0
                n += {"upload": 2, "replace": 3, "resume": 1, "wait": 0}.get(la.image.action, 0)
                images += la.image.action in ("upload", "replace", "resume", "wait")
            n += polls_per_container if images else 0
        return n

    def to_dict(self) -> dict[str, Any]:
        """The plan for machines (`bulkgc plan --json`, schema bulkgc-plan/2; keys snake_case as in the report).

        Each achievement and localization carries `changes`: `[{"field", "attribute", "old", "new"}]`, `old`
        null when the resource does not exist yet; `has_work` says whether a push would send anything for it.
        """
        return {
            "schema": "bulkgc-plan/2",
            "api": self.api,
            "app_id": self.app_id,
            "game_center_detail": self.detail_id,
            "game_center_group": self.group_id,
            "noop": self.is_noop,
            "totals": self.totals(),
            "expected_requests": self.expected_requests(),
            "plan_reads": self.reads,
            "achievements": [
                {
                    "vendor_identifier": a.vendor_id,
                    "action": a.action,
                    "has_work": a.has_work,
                    "summary": a.describe_action(),
                    "id": a.remote_id,
                    "changes": [c.to_dict() for c in a.attribute_diffs],
                    "version": {"action": a.version_action, "id": a.version_id, "note": a.version_note},
                    "localizations": [
                        {
                            "locale": la.locale,
                            "action": la.action,
                            "id": la.remote_id,
                            "changes": [c.to_dict() for c in la.diffs],
                            "image": {
                                "action": la.image.action,
                                "reason": la.image.reason,
                                "file": la.image.path,
                                "file_name": la.image.file_name,
                                "old_file_name": la.image.remote.file_name if la.image.remote else None,
                                "remote_id": la.image.remote.id if la.image.remote else None,
                                "remote_state": la.image.remote.state if la.image.remote else None,
                            },
                        }
                        for la in a.localizations
                    ],
                    "untouched_remote_locales": a.extra_remote_locales,
                }
                for a in self.achievements
            ],
        }

    def report_items(self) -> list[ItemResult]:
        """The plan as report items, what `plan --html` shows: outcome "planned" for what a push would change,
        "unchanged", or "blocked"/"skipped" (with the version's state) for what it cannot or will not do."""
        items: list[ItemResult] = []
        for a in self.achievements:
            blocked = a.action == "blocked"
            if blocked:
                outcome = "skipped" if a.blocked_by_choice else "blocked"
                codes = [] if a.blocked_by_choice else ["VERSION_NOT_EDITABLE"]
            else:
                outcome, codes = ("planned" if a.has_work else "unchanged"), []
            state = a.version_state if blocked else None
            items.append(ItemResult(kind="achievement", vendor_identifier=a.vendor_id, action=a.action,
                                    outcome=outcome, error_codes=codes, message=a.version_note, attempts=0,
                                    gc_kind=self.kind, container_state=state))
            for la in a.localizations:
                for level, action in (("localization", la.action), ("image", la.image.action)):
                    moves = action != "none"
                    item = ItemResult(
                        kind=level, vendor_identifier=a.vendor_id, locale=la.locale, action=action,
                        outcome=(outcome if blocked and moves else "planned" if moves else "unchanged"),
                        error_codes=codes if blocked and moves else [], attempts=0, gc_kind=self.kind,
                        message=(la.image.reason if level == "image" and moves else ""),
                        final_state=la.image.remote.state if level == "image" and la.image.remote else None,
                        image_id=la.image.remote.id if level == "image" and la.image.remote else None,
                        container_state=state if blocked and moves else None,
                    )
                    describe_item(item, la)
                    items.append(item)
        return items

    def format_table(self) -> str:
        """The plan for people, like `terraform plan`: what changes, field by field (old -> new), then totals.

        `+` creates, `~` changes, `!` is blocked; achievements with nothing to do are only counted.
        """
        lines: list[str] = []
        unchanged = 0
        for a in self.achievements:
            if not (a.has_work or a.action == "blocked"):
                unchanged += 1
                continue
            mark = {"create": "+", "blocked": "!"}.get(a.action, "~")
            lines.append(f"{mark} {a.vendor_id}: {a.describe_action()}")
            lines.extend(_change_lines(a.attribute_diffs, "    ", creating=a.action == "create"))
            for la in a.localizations:
                if la.action == "none" and la.image.action == "none":
                    continue
                if la.action == "none":
                    lines.append(f"  ~ {la.locale}: icon only")
                else:
                    mark = "+" if la.action == "create" else "~"
                    lines.append(f"  {mark} {la.locale}: {la.action} localization")
                lines.extend(_change_lines(la.diffs, "      ", creating=la.action == "create"))
                if la.image.action != "none":
                    lines.append(f"      icon: {_icon_change(la.image)}")
            lines.append("")
        if unchanged:
            lines.append(f"{unchanged} achievement(s) already match the manifest (not shown).")
        t = self.totals()
        lines.append(
            f"achievements: {t['achievements_create']} to create, {t['achievements_update']} to update, "
            f"{t['achievements_blocked']} blocked; versions to create: {t['versions_create']}; "
            f"localizations: {t['localizations_create']} to create, {t['localizations_update']} to update; "
            f"images: {t['images_upload']} to upload, {t['images_replace']} to replace, {t['images_resume']} to resume, "
            f"{t['images_wait']} processing, {t['images_unchanged']} unchanged"
        )
        if self.is_noop:
            lines.append("Nothing to do: App Store Connect already matches the manifest.")
        return "\n".join(lines)


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


# ---------------------------------------------------------------------------------------------- diffing


def achievement_changes(desired: Achievement, remote: RemoteAchievement) -> dict[str, Any]:
    """Attributes of the achievement that differ (vendorIdentifier is permanent): ASC name -> new value."""
    return {c.attribute: c.new for c in diff_fields(ACHIEVEMENT_ATTRS, desired, remote.attributes)}


def text_changes(desired: Localization, remote: RemoteLocalization | None) -> dict[str, str]:
    """Texts that differ: ASC name -> new value (all of them when the localization does not exist yet)."""
    diffs = diff_fields(TEXT_ATTRS, desired, None if remote is None else remote.texts, blank_is_none=True)
    return {c.attribute: c.new for c in diffs}


def decide_image(info: ImageInfo, file_name: str, remote: RemoteImage | None) -> tuple[str, str]:
    """(action, reason) for one localization's icon."""
    if remote is None:
        return "upload", "no image yet"
    same = remote.file_name == file_name and remote.file_size == info.size
    if not same:
        if digest_of(remote.file_name) is None:
            return "replace", f"remote image {remote.file_name or remote.id!r} was not uploaded by bulkgc; replacing it"
        return "replace", f"remote image {remote.file_name} differs from the local file"
    if remote.state == "COMPLETE":
        return "none", "same file, COMPLETE"
    if remote.state == "UPLOAD_COMPLETE":
        return "wait", "same file, still processing"
    if remote.state == "AWAITING_UPLOAD":
        return "resume", "same file reserved earlier; upload what is missing and commit"
    codes = ", ".join(remote.error_codes) or "no codes"
    return "replace", f"previous upload of the same file is {remote.state} ({codes}); deleting and uploading again"


def localization_actions(
    desired: Achievement,
    remote_locs: dict[str, RemoteLocalization],
    images: dict[str, ImageInfo],
) -> list[LocalizationAction]:
    """One action per desired locale, against the container's current localizations."""
    out = []
    for loc in desired.localizations:
        remote = remote_locs.get(loc.locale)
        diffs = diff_fields(TEXT_ATTRS, loc, None if remote is None else remote.texts, blank_is_none=True)
        changes = {c.attribute: c.new for c in diffs}
        info = images[str(loc.image)]
        name = remote_file_name(desired.vendor_identifier, loc.locale, info)
        img_action, reason = decide_image(info, name, remote.image if remote else None)
        action = "create" if remote is None else ("update" if changes else "none")
        out.append(
            LocalizationAction(
                locale=loc.locale,
                action=action,
                changes=changes,
                remote_id=remote.id if remote else None,
                image=ImageAction(str(loc.image), info, name, img_action, reason, remote.image if remote else None),
                desired=loc,
                diffs=diffs,
            )
        )
    return out


def describe_item(item: ItemResult, la: LocalizationAction) -> None:
    """Fill in what reports show about one localization's item from its planned action: the texts' changes
    (old -> new) for the localization; the local file, its digest and the replaced remote image's digest for
    the image."""
    if item.kind == "localization":
        item.changes = la.text_changes()
    elif item.kind == "image":
        item.file = la.image.path
        item.digest = la.image.info.sha256
        remote = la.image.remote
        if remote is not None and la.image.action == "replace":
            item.previous_digest = digest_of(remote.file_name)


# ---------------------------------------------------------------------------------------------- reading


class RemoteReader:
    """Reads the remote state needed for a plan in as few requests as the API allows."""

    def __init__(self, client: Any, kapi: KindApi) -> None:
        self.client = client
        self.kapi = kapi
        self.reads = 0

    async def _get(self, path: str, params: dict[str, str] | None = None, purpose: str = "read") -> Document:
        self.reads += 1
        return await self.client.get(path, params=params, purpose=purpose)

    async def detail(self, app_id: str) -> tuple[str, str | None]:
        """(gameCenterDetail id, gameCenterGroup id or None) of the app."""
        try:
            doc = await self._get(APP_DETAIL.replace("{id}", app_id), {"include": "gameCenterGroup"})
        except NotFoundError as exc:
            raise ConfigError(
                f"app {app_id} was not found or has no Game Center detail; check app_id in the manifest, that the "
                f"key's team owns the app, and that Game Center is enabled for it ({exc.code or exc.status})"
            ) from exc
        data = doc.data
        if not isinstance(data, Resource):
            raise ConfigError(f"app {app_id} has Game Center disabled; enable it in App Store Connect first")
        return data.id, data.rel_id("gameCenterGroup")

    async def achievements(self, detail_id: str, group_id: str | None,
                           ids: Iterable[str] | None = None) -> dict[str, RemoteAchievement]:
        """Every achievement of the owner (or those of `ids`), by vendorIdentifier, with versions embedded (v2)."""
        k = self.kapi
        path = k.path(k.list_in_group if group_id else k.list_in_detail, group_id or detail_id)
        params = {"limit": "200"}
        if ids is not None:
            params["filter[id]"] = ",".join(ids)
        if k.version:
            params.update({"include": k.version.include_on_parent_list, "limit[versions]": "50"})
        out: dict[str, RemoteAchievement] = {}
        async for page in self.client.pages(path, params):
            self.reads += 1
            for r in page.data or []:
                versions = []
                if k.version:
                    for vid in r.rel_ids(k.version.include_on_parent_list):
                        v = page.find(k.version.type, vid)
                        if v is not None:
                            va = v.attributes or {}
                            versions.append(RemoteVersion(v.id, int(va.get("version") or 0), va.get("state") or ""))
                vendor = (r.attributes or {}).get("vendorIdentifier")
                if vendor:
                    out[vendor] = RemoteAchievement(r.id, dict(r.attributes or {}), versions)
        return out

    async def localizations(self, container_id: str, purpose: str = "read") -> dict[str, RemoteLocalization]:
        """The container's localizations by locale, each with its image embedded."""
        k = self.kapi
        params = {"include": k.loc_image_rel, "limit": "200"}
        out: dict[str, RemoteLocalization] = {}
        async for page in self.client.pages(k.path(k.loc_list, container_id), params, purpose=purpose):
            self.reads += 1
            for r in page.data or []:
                loc = RemoteLocalization.from_resource(r, page, k)
                out[loc.locale] = loc
        return out


def choose_version(
    kapi: KindApi, remote: RemoteAchievement, on_live: str
) -> tuple[str, RemoteVersion | None, str]:
    """(version action, version to read/edit, note) for an existing achievement, before looking at texts."""
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


async def build_plan(
    client: Any,
    kapi: KindApi,
    manifest: Manifest,
    images: dict[str, ImageInfo],
    *,
    on_live: str = "new-version",
    read_concurrency: int = 16,
) -> Plan:
    """Read App Store Connect and compare it with the manifest. Changes nothing."""
    reader = RemoteReader(client, kapi)
    detail_id, group_id = await reader.detail(manifest.app_id)
    remote = await reader.achievements(detail_id, group_id)
    plans: dict[str, AchievementPlan] = {}
    limiter = anyio.CapacityLimiter(read_concurrency)

    async def plan_one(a: Achievement) -> None:
        ra = remote.get(a.vendor_identifier)
        if ra is None:
            plans[a.vendor_identifier] = AchievementPlan(
                achievement=a, action="create", remote_id=None, attribute_changes={},
                version_action="edit" if kapi.version else "none", version_id=None,
                version_note="new achievement (v1)" if kapi.version else "new achievement",
                localizations=localization_actions(a, {}, images),
                attribute_diffs=diff_fields(ACHIEVEMENT_ATTRS, a, None),
            )
            return
        version_action, version, note = choose_version(kapi, ra, on_live)
        container = version.id if version else (None if kapi.version else ra.id)
        async with limiter:
            locs = await reader.localizations(container) if container else {}
        actions = localization_actions(a, locs, images)
        diffs = diff_fields(ACHIEVEMENT_ATTRS, a, ra.attributes)
        changes = {c.attribute: c.new for c in diffs}
        p = AchievementPlan(
            achievement=a, action="update" if changes else "none", remote_id=ra.id, attribute_changes=changes,
            attribute_diffs=diffs,
            version_action=version_action, version_id=version.id if version else None, version_note=note,
            localizations=actions,
            extra_remote_locales=sorted(set(locs) - {loc.locale for loc in a.localizations}),
            version_state=version.state if version else None,
        )
        differs = any(la.action != "none" or la.image.action != "none" for la in actions)
        if version_action in ("create", "blocked") and version is not None and not differs:
            # a final version that already matches needs nothing, whatever its state
            p.version_action, p.version_note = "none", f"v{version.number} ({version.state}) matches"
        elif version_action == "blocked" and differs:
            p.action = "blocked"
            p.blocked_by_choice = version is not None and kapi.version is not None and (
                version.state in kapi.version.new_version_states)
        plans[a.vendor_identifier] = p

    async with anyio.create_task_group() as tg:
        for a in manifest.achievements:
            tg.start_soon(plan_one, a)
    ordered = [plans[a.vendor_identifier] for a in manifest.achievements]
    return Plan(kapi.api, manifest.app_id, detail_id, group_id, ordered, reads=reader.reads, kind=kapi.kind)


def images_of(plan_items: Iterable[AchievementPlan]) -> list[ImageAction]:
    return [la.image for a in plan_items for la in a.localizations]
