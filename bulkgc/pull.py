"""`bulkgc pull`: read what App Store Connect holds and write what `push` accepts (TOML, JSON or Xcode's
gamekit).

Reads only. For every kind bulkgc supports it reads the items, the latest version's localizations with their
images (the same reads a plan makes), and downloads every COMPLETE image through its `imageAsset.templateUrl`
filled with the image's width, height and `png`. App Store Connect serves re-encoded renditions, so a pulled
file does not hash to the digest in the remote `fileName`: `bulkgc-pulled.json` beside the manifest records
which remote image (fileName, fileSize) each written file (by sha256) stands for, and the plan treats them as
equal while the file is unchanged, so `push` right after `pull` writes nothing. A re-run downloads only images
whose file is missing, changed, or stands for another remote image."""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread

from bulkgc.asc.auth import TokenProvider
from bulkgc.asc.client import AscClient
from bulkgc.config import RunSettings
from bulkgc.errors import ConfigError
from bulkgc.gamekit import (
    BUNDLE_SUFFIX,
    DEFAULT_BUNDLE_NAME,
    RESOURCES_FILE,
    SECTIONS,
    Section,
    dumps,
    image_url,
    merge_resources,
)
from bulkgc.kinds import KINDS, Kind
from bulkgc.manifest import PULLED_RECORD, load_image_aliases
from bulkgc.progress import Event, NullSink, ProgressSink
from bulkgc.remote import RemoteImage, RemoteReader

FORMATS = ("toml", "json", "gamekit")
#: kinds pull writes: an item, its versions' localized texts and images. Set membership, a challenge's
#: leaderboard, an activity's version attributes and default images are not written yet (see the report).
PULLED_KINDS = tuple(
    k for k in KINDS if not k.references and not k.version_attributes and k.default_image is None
)
MANIFEST_NAMES = {"toml": "manifest.toml", "json": "manifest.json"}
# Optional leaderboard attributes Xcode writes as null rather than leaving out [OBS]
_XCODE_NULLS = {"leaderboard": ("scoreRangeStart", "scoreRangeEnd")}


@dataclass
class PulledLocalization:
    locale: str
    texts: dict[str, Any]  # Apple's attribute name -> value
    image: RemoteImage | None
    file: Path | None = None  # where its image was written (None: no COMPLETE image)


@dataclass
class PulledItem:
    kind: Kind
    attributes: dict[str, Any]  # Apple's attribute name -> value
    localizations: list[PulledLocalization]

    @property
    def vendor_id(self) -> str:
        return str(self.attributes.get("vendorIdentifier") or "")


@dataclass
class PullResult:
    """What a pull wrote, for the summary."""

    manifest: Path
    app_id: str
    items: dict[str, int]  # kind -> items written
    localizations: int = 0
    images_downloaded: int = 0
    images_kept: int = 0  # already there from an earlier pull
    without_image: list[str] = field(default_factory=list)  # "<kind> <vendor> <locale>: why"
    requests: int = 0
    seconds: float = 0.0

    def summary(self) -> str:
        kinds = ", ".join(f"{n} {k}(s)" for k, n in self.items.items()) or "nothing"
        lines = [
            f"bulkgc pull: wrote {self.manifest} for app {self.app_id}: {kinds}, {self.localizations} "
            f"localization(s); images: {self.images_downloaded} downloaded, {self.images_kept} unchanged; "
            f"{self.requests} requests in {self.seconds:.1f}s (reads only)",
        ]
        if self.without_image:
            lines.append(
                f"{len(self.without_image)} localization(s) without a COMPLETE image (no file written):"
            )
            lines += [f"  - {w}" for w in self.without_image[:20]]
        lines.append(
            f"Push it with: bulkgc push {self.manifest}"
            + (
                " --app-id " + self.app_id
                if self.manifest.suffix != ".toml" and self.manifest.suffix != ".json"
                else ""
            )
        )
        return "\n".join(lines)


def _write_bytes(path: Path, data: bytes) -> None:
    """Atomically (temp file + rename): a killed pull never leaves half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _sha256(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


async def read_app(client: AscClient, api: str, app_id: str) -> list[PulledItem]:
    """Every item of every supported kind, with its latest version's localizations and images."""
    reader = RemoteReader(client)
    detail_id, group_id = await reader.detail(app_id)
    pulled: dict[str, list[PulledItem]] = {}

    async def one_kind(kind: Kind) -> None:
        kapi = kind.api(api)
        remote = await reader.items(kapi, detail_id, group_id)
        items: list[PulledItem] = []

        async def one_item(vid: str) -> None:
            r = remote[vid]
            latest = r.latest
            container = latest.id if latest else (None if kapi.version else r.id)
            locs = await reader.localizations(kind, kapi, container) if container else {}
            attrs = {a.asc: r.attributes.get(a.asc) for a in kind.attributes}
            localizations = [
                PulledLocalization(code, dict(loc.texts), loc.image) for code, loc in sorted(locs.items())
            ]
            items.append(PulledItem(kind, attrs, localizations))

        async with anyio.create_task_group() as tg:
            for vid in remote:
                tg.start_soon(one_item, vid)
        pulled[kind.name] = sorted(items, key=lambda i: i.vendor_id)

    async with anyio.create_task_group() as tg:
        for kind in PULLED_KINDS:
            tg.start_soon(one_kind, kind)
    return [item for kind in PULLED_KINDS for item in pulled.get(kind.name, [])]


def _target(out: Path, fmt: str) -> tuple[Path, Path]:
    """(manifest path, folder images are written under)."""
    if fmt == "gamekit":
        bundle = out if out.suffix == BUNDLE_SUFFIX else out / DEFAULT_BUNDLE_NAME
        return bundle, bundle
    return out / MANIFEST_NAMES[fmt], out / "assets"


def _existing_local_ids(bundle: Path) -> tuple[dict[str, Any] | None, dict[tuple[str, str, str], str]]:
    """An existing gamekit's document (to keep its unknown keys) and localIDs by (kind, vendor, locale)."""
    try:
        doc = json.loads((bundle / RESOURCES_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None, {}
    ids: dict[tuple[str, str, str], str] = {}
    resources = doc.get("resources") if isinstance(doc, dict) else None
    if not isinstance(resources, dict):
        return (doc if isinstance(doc, dict) else None), {}
    for s in SECTIONS:
        locs = resources.get(s.localizations)
        for vid, entries in locs.items() if isinstance(locs, dict) else []:
            for e in entries if isinstance(entries, list) else []:
                if (
                    isinstance(e, dict)
                    and isinstance(e.get("locale"), str)
                    and isinstance(e.get("localID"), str)
                ):
                    ids[(s.kind.name, vid, e["locale"])] = e["localID"]
    return doc, ids


async def pull(
    settings: RunSettings,
    out: Path,
    fmt: str = "toml",
    *,
    credentials: Any = None,
    sink: ProgressSink | None = None,
) -> PullResult:
    """Read the app's Game Center content and write it to `out` as `fmt` (toml, json, gamekit). Reads only."""
    from bulkgc.pipeline import client_config, credentials_from  # late: pipeline imports the whole core

    if fmt not in FORMATS:
        raise ConfigError(f"--format {fmt!r}: use one of {', '.join(FORMATS)}")
    started = time.monotonic()
    manifest_path, image_root = _target(out, fmt)
    existing_doc, local_ids = _existing_local_ids(manifest_path) if fmt == "gamekit" else (None, {})
    config = client_config(settings)
    creds = credentials or credentials_from(settings)
    async with AscClient(config, TokenProvider(creds, lifetime=settings.token_lifetime)) as client:
        app_id = settings.app_id
        if app_id is None and settings.bundle_id is not None:
            app_id = await RemoteReader(client).app_id_for_bundle(settings.bundle_id)
        if app_id is None:
            raise ConfigError(
                "which app? pass --app-id ID (or BULKGC_APP_ID), or --bundle-id com.example.game"
            )
        items = await read_app(client, settings.api, app_id)
        record_path = manifest_path.parent / PULLED_RECORD
        earlier = load_image_aliases(record_path)
        result = PullResult(manifest=manifest_path, app_id=app_id, items={})
        record: dict[str, dict[str, Any]] = {}
        limiter = anyio.CapacityLimiter(settings.images_in_flight)

        def file_for(item: PulledItem, loc: PulledLocalization) -> Path:
            section = next(s for s in SECTIONS if s.kind is item.kind)
            if fmt == "gamekit":
                local_id = local_ids.get(
                    (item.kind.name, item.vendor_id, loc.locale), f"{item.vendor_id}-{loc.locale}"
                )
                return image_root / image_url(section, loc.locale, local_id)
            folder = item.kind.image.folder
            return image_root / folder / f"{item.vendor_id}.{loc.locale}.png"

        sink = sink or NullSink()
        wanted = [(i, loc) for i in items for loc in i.localizations if loc.image is not None]
        sink.on_plan(
            images=len(wanted),
            bytes_total=sum(loc.image.file_size for _, loc in wanted if loc.image),
            items=len(items),
        )

        async def fetch(item: PulledItem, loc: PulledLocalization) -> None:
            key = f"image:{item.kind.name}:{item.vendor_id}:{loc.locale}"
            try:
                await fetch_one(item, loc, key)
            except BaseException:
                sink.on_item_done(key, "failed")
                raise

        async def fetch_one(item: PulledItem, loc: PulledLocalization, key: str) -> None:
            image = loc.image
            label = f"{item.kind.name} {item.vendor_id} {loc.locale}"
            if image is None:
                if item.kind.image.required:
                    result.without_image.append(f"{label}: no image in App Store Connect")
                return
            url = image.rendition_url("png") if image.state == "COMPLETE" else None
            if url is None:
                result.without_image.append(f"{label}: image {image.id} is {image.state}, not COMPLETE")
                return
            target = file_for(item, loc)
            have = await anyio.to_thread.run_sync(_sha256, target)
            if have is not None and earlier.get(have) == (image.file_name, image.file_size):
                result.images_kept += 1  # the same remote image was pulled into this very file before
                sink.on_item_done(key, "unchanged")
            else:
                async with limiter:
                    data = await client.download(url)
                await anyio.to_thread.run_sync(_write_bytes, target, data)
                have = hashlib.sha256(data).hexdigest()
                result.images_downloaded += 1
                sink.on_event(Event(time.time(), key, "download", "ok", bytes=len(data)))
                sink.on_bytes(len(data))
                sink.on_item_done(key, "done")
            loc.file = target
            record[have] = {
                "fileName": image.file_name,
                "fileSize": image.file_size,
                "imageId": image.id,
                "kind": item.kind.name,
                "vendorIdentifier": item.vendor_id,
                "locale": loc.locale,
            }

        async with anyio.create_task_group() as tg:
            for item in items:
                for loc in item.localizations:
                    tg.start_soon(fetch, item, loc)
        for item in items:
            result.items[item.kind.name] = result.items.get(item.kind.name, 0) + 1
            result.localizations += len(item.localizations)
        if fmt == "gamekit":
            text = dumps(merge_resources(existing_doc, gamekit_resources(items, manifest_path, local_ids)))
            await anyio.to_thread.run_sync(_write_bytes, manifest_path / RESOURCES_FILE, text.encode("utf-8"))
        else:
            text = manifest_text(items, app_id, fmt, manifest_path.parent)
            await anyio.to_thread.run_sync(_write_bytes, manifest_path, text.encode("utf-8"))
        doc = {
            "schema": "bulkgc-pulled/1",
            "app_id": app_id,
            "note": "which App Store Connect image each pulled file stands for (by sha256); keep it "
            "beside the "
            "manifest so a push right after a pull sends nothing",
            "images": dict(sorted(record.items())),
        }
        await anyio.to_thread.run_sync(_write_bytes, record_path, (json.dumps(doc, indent=2) + "\n").encode())
        result.requests = client.stats.requests
    result.seconds = time.monotonic() - started
    return result


# ---------------------------------------------------------------------------------------------------------
# Writers


def manifest_data(items: list[PulledItem], app_id: str, base: Path) -> dict[str, Any]:
    """The manifest (bulkgc's own format) for `items`; image paths relative to `base`/assets."""
    data: dict[str, Any] = {"app_id": app_id, "assets": "assets"}
    for kind in KINDS:
        entries = []
        for item in (i for i in items if i.kind is kind):
            entry: dict[str, Any] = {}
            for a in kind.attributes:
                value = item.attributes.get(a.asc)
                if value is not None:
                    entry[a.key] = value
            locales: dict[str, Any] = {}
            for loc in item.localizations:
                texts = {t.key: loc.texts.get(t.asc) for t in kind.texts if loc.texts.get(t.asc) is not None}
                if loc.file is not None:
                    texts["image"] = loc.file.relative_to(base / "assets").as_posix()
                locales[loc.locale] = texts
            entry["locales"] = locales
            entries.append(entry)
        if entries:
            data[kind.name] = entries
    return data


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    # a JSON string is a valid TOML basic string (same escapes; \uXXXX for control characters)
    return json.dumps(str(value), ensure_ascii=False)


def _toml_key(key: str) -> str:
    return key if key and all(c.isalnum() and c.isascii() or c in "-_" for c in key) else json.dumps(key)


def manifest_text(items: list[PulledItem], app_id: str, fmt: str, base: Path) -> str:
    """The manifest file's text in `fmt` ("toml" or "json")."""
    data = manifest_data(items, app_id, base)
    if fmt == "json":
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    lines = [
        "# Written by `bulkgc pull` from App Store Connect; format: docs/MANIFEST.md",
        f"app_id = {_toml_value(app_id)}",
        'assets = "assets"',
    ]
    for kind in KINDS:
        for entry in data.get(kind.name, []):
            lines += ["", f"[[{kind.name}]]"]
            lines += [f"{k} = {_toml_value(v)}" for k, v in entry.items() if k != "locales"]
            for code, texts in entry["locales"].items():
                lines += ["", f"[{kind.name}.locales.{_toml_key(code)}]"]
                lines += [f"{k} = {_toml_value(v)}" for k, v in texts.items()]
    return "\n".join(lines) + "\n"


def gamekit_resources(
    items: list[PulledItem], bundle: Path, local_ids: dict[tuple[str, str, str], str]
) -> dict[str, Any]:
    """`resources` as Xcode writes it, for the kinds bulkgc supports."""
    resources: dict[str, Any] = {}
    for s in SECTIONS:
        kind_items = [i for i in items if i.kind is s.kind]
        if not kind_items:
            continue
        resources[s.items] = [_gamekit_item(s, i) for i in kind_items]
        locs: dict[str, Any] = {}
        images: dict[str, Any] = {}
        for item in kind_items:
            entries = []
            for loc in item.localizations:
                local_id = local_ids.get(
                    (s.kind.name, item.vendor_id, loc.locale), f"{item.vendor_id}-{loc.locale}"
                )
                texts = {
                    t.asc: loc.texts.get(t.asc) for t in s.kind.texts if loc.texts.get(t.asc) is not None
                }
                entries.append({"locale": loc.locale, "localID": local_id, **texts})
                if loc.file is not None:
                    images[local_id] = [{"localID": local_id, "url": loc.file.relative_to(bundle).as_posix()}]
            locs[item.vendor_id] = entries
        resources[s.localizations] = locs
        resources[s.images] = images
    return resources


def _gamekit_item(s: Section, item: PulledItem) -> dict[str, Any]:
    nulls = _XCODE_NULLS.get(s.kind.name, ())
    return {
        a.asc: item.attributes.get(a.asc)
        for a in s.kind.attributes
        if item.attributes.get(a.asc) is not None or a.asc in nulls
    }
