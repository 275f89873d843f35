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
    default_image_url,
    image_url,
    merge_resources,
)
from bulkgc.kinds import BY_NAME, KINDS, Kind
from bulkgc.manifest import PULLED_RECORD, load_image_aliases
from bulkgc.progress import Event, NullSink, ProgressSink
from bulkgc.remote import RemoteImage, RemoteItem, RemoteReader

FORMATS = ("toml", "json", "gamekit")
MANIFEST_NAMES = {"toml": "manifest.toml", "json": "manifest.json"}
# Optional leaderboard attributes Xcode writes as null rather than leaving out [OBS]
_XCODE_NULLS = {"leaderboard": ("scoreRangeStart", "scoreRangeEnd")}
DEFAULT_SLOT = "default"  # an item's default image in record entries and progress keys


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
    version_attributes: dict[str, Any] = field(default_factory=dict)  # Apple's name -> value (fallbackUrl)
    references: dict[str, list[str]] = field(default_factory=dict)  # reference key -> vendor ids, in order
    default_image: RemoteImage | None = None  # the latest version's default image (activities, challenges)
    default_file: Path | None = None  # where it was written (None: none, or not COMPLETE)

    @property
    def vendor_id(self) -> str:
        return str(self.attributes.get("vendorIdentifier") or "")


@dataclass
class PullResult:
    """What a pull wrote, for the summary."""

    manifest: Path
    app_id: str
    items: dict[str, int]  # kind name -> items written (every kind bulkgc supports, 0 included)
    localizations: int = 0
    images_downloaded: int = 0
    images_kept: int = 0  # already there from an earlier pull
    default_images: int = 0  # of the images written (downloaded or kept), the versions' default images
    references: int = 0  # set members and challenge leaderboards written
    without_image: list[str] = field(default_factory=list)  # "<kind> <vendor> <locale>: why"
    notes: list[str] = field(default_factory=list)  # what App Store Connect holds that could not be written
    requests: int = 0
    seconds: float = 0.0
    api: str = "v2"  # the API version read: the push of the result should use the same one

    def summary(self) -> str:
        counts = ", ".join(f"{n} {_kind_label(k, n)}" for k, n in self.items.items()) or "nothing"
        lines = [
            f"bulkgc pull: wrote {self.manifest} for app {self.app_id}: {counts}; {self.localizations} "
            f"localization(s), {self.references} reference(s) (set members, challenge leaderboards); images: "
            f"{self.images_downloaded} downloaded, {self.images_kept} unchanged "
            f"({self.default_images} of them default images); {self.requests} requests in "
            f"{self.seconds:.1f}s (reads only)",
        ]
        if self.without_image:
            lines.append(
                f"{len(self.without_image)} localization(s) or version(s) without a COMPLETE image "
                "(no file written):"
            )
            lines += [f"  - {w}" for w in self.without_image[:20]]
        if self.notes:
            lines.append(f"{len(self.notes)} thing(s) App Store Connect holds that the manifest cannot say:")
            lines += [f"  - {n}" for n in self.notes[:20]]
        lines.append(
            f"Push it with: bulkgc push {self.manifest}"
            + (
                " --app-id " + self.app_id
                if self.manifest.suffix != ".toml" and self.manifest.suffix != ".json"
                else ""
            )
            + (f" --api {self.api}" if self.api != "v2" else "")
        )
        return "\n".join(lines)


def _kind_label(name: str, n: int) -> str:
    kind = BY_NAME[name]
    return kind.plural if n != 1 else kind.name.replace("_", " ")


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


async def read_app(
    client: AscClient, api: str, app_id: str, notes: list[str] | None = None
) -> list[PulledItem]:
    """Every item of every kind bulkgc supports, as its latest version holds it: attributes (the item's and
    the version's), references by vendor id (in App Store Connect's order), localizations with their images,
    and the default image. The same reads a plan makes; `notes` gets what cannot be expressed (a reference to
    a leaderboard the app's lists do not hold)."""
    reader = RemoteReader(client)
    detail_id, group_id = await reader.detail(app_id)
    remote: dict[str, dict[str, RemoteItem]] = {}

    async def read_kind(kind: Kind) -> None:
        remote[kind.name] = await reader.items(kind.api(api), detail_id, group_id)

    async with anyio.create_task_group() as tg:
        for kind in KINDS:
            tg.start_soon(read_kind, kind)
    vendors_of = {name: {r.id: v for v, r in items.items()} for name, items in remote.items()}
    pulled: dict[str, list[PulledItem]] = {}

    async def one_item(kind: Kind, r: RemoteItem) -> PulledItem:
        kapi = kind.api(api)
        latest = r.latest
        container = latest.id if latest else (None if kapi.version else r.id)
        locs = await reader.localizations(kind, kapi, container) if container else {}
        default = None
        if kind.default_image is not None and latest is not None and kapi.version is not None:
            default = await reader.default_image(kapi, latest.id)
        for link in kapi.references:
            if link.read == "linkage":
                r.references[link.key] = await reader.linkage(kapi.path(link.linkage, r.id))
        item = PulledItem(
            kind,
            {a.asc: r.attributes.get(a.asc) for a in kind.attributes},
            [PulledLocalization(code, dict(loc.texts), loc.image) for code, loc in sorted(locs.items())],
            version_attributes={
                a.asc: (latest.attributes if latest else {}).get(a.asc) for a in kind.version_attributes
            },
            default_image=default,
        )
        for ref in kind.references:
            names = vendors_of.get(ref.kind, {})
            ids = r.references.get(ref.key, [])
            item.references[ref.key] = [names[i] for i in ids if i in names]
            for i in ids:
                if i not in names and notes is not None:
                    notes.append(
                        f"{kind.name} {item.vendor_id}: {ref.key} names {ref.kind} id {i}, which is not "
                        f"among the app's {BY_NAME[ref.kind].plural}; left out"
                    )
            if ref.required and not ref.many and not item.references[ref.key] and notes is not None:
                notes.append(
                    f"{kind.name} {item.vendor_id}: no {ref.kind} in App Store Connect; push needs one: set "
                    f"{ref.key} = \"<vendor id>\" in the manifest"
                )
        return item

    async def one_kind(kind: Kind) -> None:
        items: list[PulledItem] = []

        async def add(r: RemoteItem) -> None:
            items.append(await one_item(kind, r))

        async with anyio.create_task_group() as tg:
            for r in remote[kind.name].values():
                tg.start_soon(add, r)
        pulled[kind.name] = sorted(items, key=lambda i: i.vendor_id)

    async with anyio.create_task_group() as tg:
        for kind in KINDS:
            tg.start_soon(one_kind, kind)
    return [item for kind in KINDS for item in pulled.get(kind.name, [])]


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
        result = PullResult(manifest=manifest_path, app_id=app_id, items={k.name: 0 for k in KINDS},
                            api=settings.api)
        items = await read_app(client, settings.api, app_id, result.notes)
        record_path = manifest_path.parent / PULLED_RECORD
        earlier = load_image_aliases(record_path)
        record: dict[str, list[dict[str, Any]]] = {}  # sha256 -> the remote images files with it stand for
        limiter = anyio.CapacityLimiter(settings.images_in_flight)

        def file_for(item: PulledItem, slot: str) -> Path:
            """Where the image of one slot (a locale, or DEFAULT_SLOT) is written."""
            section = next(s for s in SECTIONS if s.kind is item.kind)
            if fmt == "gamekit":
                if slot == DEFAULT_SLOT:
                    return image_root / default_image_url(section, item.vendor_id)
                local_id = local_ids.get((item.kind.name, item.vendor_id, slot), f"{item.vendor_id}-{slot}")
                return image_root / image_url(section, slot, local_id)
            rule = item.kind.default_image if slot == DEFAULT_SLOT else item.kind.image
            assert rule is not None
            return image_root / rule.folder / f"{item.vendor_id}.{slot}.png"

        sink = sink or NullSink()
        # (item, slot: a locale or DEFAULT_SLOT, its remote image, its localization or None)
        slots = [(item, loc.locale, loc.image, loc) for item in items for loc in item.localizations]
        slots += [(i, DEFAULT_SLOT, i.default_image, None) for i in items if i.default_image is not None]
        wanted = [image for _, _, image, _ in slots if image is not None]
        sink.on_plan(images=len(wanted), bytes_total=sum(i.file_size for i in wanted), items=len(items))

        async def fetch(
            item: PulledItem, slot: str, image: RemoteImage | None, loc: PulledLocalization | None
        ) -> None:
            key = f"image:{item.kind.name}:{item.vendor_id}:{slot}"
            try:
                target = await fetch_one(item, slot, image, key)
            except BaseException:
                sink.on_item_done(key, "failed")
                raise
            if loc is not None:
                loc.file = target
            else:
                item.default_file = target

        async def fetch_one(item: PulledItem, slot: str, image: RemoteImage | None, key: str) -> Path | None:
            label = f"{item.kind.name} {item.vendor_id} {slot}"
            if image is None:
                if item.kind.image.required:
                    result.without_image.append(f"{label}: no image in App Store Connect")
                return None
            url = image.rendition_url("png") if image.state == "COMPLETE" else None
            if url is None:
                result.without_image.append(f"{label}: image {image.id} is {image.state}, not COMPLETE")
                sink.on_item_done(key, "skipped")  # counted in on_plan: the progress still ends
                return None
            target = file_for(item, slot)
            have = await anyio.to_thread.run_sync(_sha256, target)
            if have is not None and (image.file_name, image.file_size) in earlier.get(have, ()):
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
            if slot == DEFAULT_SLOT:
                result.default_images += 1
            record.setdefault(have, []).append({
                "fileName": image.file_name,
                "fileSize": image.file_size,
                "imageId": image.id,
                "kind": item.kind.name,
                "vendorIdentifier": item.vendor_id,
                "locale" if slot != DEFAULT_SLOT else "slot": slot,
            })
            return target

        async with anyio.create_task_group() as tg:
            for item, slot, image, loc in slots:
                tg.start_soon(fetch, item, slot, image, loc)
        for item in items:
            result.items[item.kind.name] += 1
            result.localizations += len(item.localizations)
            result.references += sum(len(v) for v in item.references.values())
        if fmt == "gamekit":
            text = dumps(merge_resources(existing_doc, gamekit_resources(items, manifest_path, local_ids)))
            await anyio.to_thread.run_sync(_write_bytes, manifest_path / RESOURCES_FILE, text.encode("utf-8"))
        else:
            text = manifest_text(items, app_id, fmt, manifest_path.parent)
            await anyio.to_thread.run_sync(_write_bytes, manifest_path, text.encode("utf-8"))
        doc = {
            "schema": "bulkgc-pulled/2",
            "app_id": app_id,
            "note": "which App Store Connect image each pulled file stands for (by sha256); keep it "
            "beside the "
            "manifest so a push right after a pull sends nothing",
            "images": {
                sha: sorted(entries, key=lambda e: (e["kind"], e["vendorIdentifier"], e.get("locale", "")))
                for sha, entries in sorted(record.items())
            },
        }
        await anyio.to_thread.run_sync(_write_bytes, record_path, (json.dumps(doc, indent=2) + "\n").encode())
        result.requests = client.stats.requests
    result.seconds = time.monotonic() - started
    return result


# ---------------------------------------------------------------------------------------------------------
# Writers


def manifest_data(items: list[PulledItem], app_id: str, base: Path) -> dict[str, Any]:
    """The manifest (bulkgc's own format) for `items`; image paths relative to `base`/assets."""
    assets = base / "assets"
    data: dict[str, Any] = {"app_id": app_id, "assets": "assets"}
    for kind in KINDS:
        entries = []
        for item in (i for i in items if i.kind is kind):
            entry: dict[str, Any] = {}
            for a in kind.attributes:
                value = item.attributes.get(a.asc)
                if value is not None:
                    entry[a.key] = value
            for a in kind.version_attributes:
                value = item.version_attributes.get(a.asc)
                if value is not None:
                    entry[a.key] = value
            for ref in kind.references:
                names = item.references.get(ref.key, [])
                if ref.many:
                    entry[ref.key] = list(names)  # the order is the membership's: kept
                elif names:
                    entry[ref.key] = names[0]
            if item.default_file is not None:
                entry["default_image"] = item.default_file.relative_to(assets).as_posix()
            locales: dict[str, Any] = {}
            for loc in item.localizations:
                texts = {t.key: loc.texts.get(t.asc) for t in kind.texts if loc.texts.get(t.asc) is not None}
                if loc.file is not None:
                    texts["image"] = loc.file.relative_to(assets).as_posix()
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
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):  # an inline table (an activity's properties)
        return "{ " + ", ".join(f"{_toml_key(str(k))} = {_toml_value(v)}" for k, v in value.items()) + " }"
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
    """`resources` as Xcode writes it, for every kind bulkgc supports. Achievements' and leaderboards' names
    are Xcode's own [OBS]; those of sets, activities and challenges (sections, `leaderboardVendorIdentifier(s)`,
    `fallbackUrl` in the item, `<kind>DefaultImages`) are inferred [INFER]: see `bulkgc.gamekit.Section`."""
    resources: dict[str, Any] = {}
    for s in SECTIONS:
        kind_items = [i for i in items if i.kind is s.kind]
        if not kind_items:
            continue
        resources[s.items] = [_gamekit_item(s, i) for i in kind_items]
        locs: dict[str, Any] = {}
        images: dict[str, Any] = {}
        defaults: dict[str, Any] = {}
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
            if item.default_file is not None:
                url = item.default_file.relative_to(bundle).as_posix()
                defaults[item.vendor_id] = [{"vendorIdentifier": item.vendor_id, "url": url}]
        resources[s.localizations] = locs
        resources[s.images] = images
        if s.default_images is not None:
            resources[s.default_images] = defaults
    return resources


def _gamekit_item(s: Section, item: PulledItem) -> dict[str, Any]:
    nulls = _XCODE_NULLS.get(s.kind.name, ())
    out = {
        a.asc: item.attributes.get(a.asc)
        for a in s.kind.attributes
        if item.attributes.get(a.asc) is not None or a.asc in nulls
    }
    out.update({k: v for k, v in item.version_attributes.items() if v is not None})
    for ref, key in s.references:
        names = item.references.get(ref.key, [])
        if ref.many:
            out[key] = list(names)
        elif names:
            out[key] = names[0]
    return out
