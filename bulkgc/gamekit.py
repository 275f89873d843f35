"""Xcode's `GameCenterResources.gamekit`: read it as a manifest, and write it (from `bulkgc pull`).

Facts from `../shared/asc/XCODE_GAMEKIT.md`: a bundle folder holding `gameCenterResources.json` (`meta`,
`resources`) and one folder of images per locale. For each kind bulkgc supports, `resources` has `<kinds>` (an
array of items with App Store Connect's attribute names), `<kind>Localizations` (vendorIdentifier ->
localizations, each with a `localID`) and `<kind>Images` (localID -> one `{localID, url}`; `url` relative to
the bundle). The reader checks the structure (every problem with its JSON path and the fix), turns the file
into the manifest's own data and lets `bulkgc.manifest` check the values; the validator's labels are
translated back into JSON paths. Keys bulkgc does not know are warnings, and kept when the writer rewrites an
existing file.

Observed vs inferred names: achievements and leaderboards (their three sections, fields, `localID`s and
`<locale>/AchievementImage-<localID>.png` files) are [OBS], seen in Xcode's files. Leaderboard sets, activities
and challenges were never seen in a public file: their sections, reference fields, version attributes and
default images are [INFER], spelled by `Section` below; reader and writer both use only `Section`, so they
agree, and docs/MANIFEST.md lists the two groups."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from bulkgc.errors import Problem
from bulkgc.kinds import KINDS, Kind, Reference

RESOURCES_FILE = "gameCenterResources.json"
BUNDLE_SUFFIX = ".gamekit"
DEFAULT_BUNDLE_NAME = "GameCenterResources.gamekit"
META_VERSION = "2024-11-15"  # the `meta.version` Xcode 16 writes [OBS]
# Keys Xcode writes that bulkgc does not push: left alone, and no warning while they hold Xcode's default.
_XCODE_ONLY: dict[str, dict[str, Any]] = {
    "achievement": {"archived": False, "activityProperties": {}},
    "leaderboard": {"activityProperties": {}},
}
_LOC_KEYS = ("locale", "localID")
DEFAULT_SLOT = "default"  # image_paths / reported_images key of an item's default image


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


@dataclass(frozen=True)
class Section:
    """Where one kind lives in `resources` (achievements, achievementLocalizations, achievementImages).

    Observed [OBS] in Xcode's files: `achievements`, `achievementLocalizations`, `achievementImages`,
    `leaderboards`, `leaderboardLocalizations`, `leaderboardImages` and their fields. No public file holds a
    leaderboard set, an activity or a challenge, so every name below for those is inferred [INFER] by the same
    pattern (XCODE_GAMEKIT.md): sections `leaderboardSets`, `activities`, `challenges` and
    `<kind>Localizations` / `<kind>Images`; in an item, App Store Connect's attribute names (including the
    version's, e.g. an activity's `fallbackUrl`), a reference as the referenced items' vendor identifiers
    (`leaderboardVendorIdentifiers`, an ordered array, for a set's members; `leaderboardVendorIdentifier` for
    a challenge's leaderboard); the version's default image in `<kind>DefaultImages`: vendorIdentifier ->
    `[{"vendorIdentifier", "url"}]`, the file `<Kind>DefaultImage-<vendorIdentifier>.png` at the bundle's top.
    The reader reads and the writer writes exactly these names; a file Xcode writes with other names is read
    with warnings (unknown keys), and those keys are kept on rewrite.
    """

    kind: Kind
    items: str
    localizations: str
    images: str
    image_prefix: str  # file names Xcode gives: AchievementImage-<localID>.png
    references: tuple[tuple[Reference, str], ...] = ()  # (reference, its key in an item) [INFER]
    default_images: str | None = None  # section of the version's default images [INFER]
    default_prefix: str = ""  # file name of a default image: ActivityDefaultImage-<vendorIdentifier>.png

    @classmethod
    def of(cls, kind: Kind) -> Section:
        base = _camel(kind.name)
        items = _camel(kind.plural.replace(" ", "_"))  # leaderboardSets, activities: [INFER] beyond two kinds
        title = f"{base[0].upper()}{base[1:]}"
        refs = tuple(
            (r, _camel(r.kind) + ("VendorIdentifiers" if r.many else "VendorIdentifier"))
            for r in kind.references
        )
        defaults = f"{base}DefaultImages" if kind.default_image is not None else None
        return cls(
            kind, items, f"{base}Localizations", f"{base}Images", f"{title}Image-", refs, defaults,
            f"{title}DefaultImage-",
        )

    @property
    def names(self) -> tuple[str, ...]:
        """Every key of `resources` this section owns."""
        defaults = (self.default_images,) if self.default_images else ()
        return (self.items, self.localizations, self.images, *defaults)

    def item_key(self, manifest_key: str) -> str:
        """The key in an item for a manifest key (an attribute's Apple name, a reference's gamekit name)."""
        for ref, key in self.references:
            if ref.key == manifest_key:
                return key
        return _asc_name(self.kind, manifest_key)


SECTIONS = tuple(Section.of(k) for k in KINDS)


def is_gamekit(path: Path) -> bool:
    """Whether `path` is an Xcode resources bundle (a `.gamekit` folder or one holding the resources file), or
    the resources file itself."""
    if path.name == RESOURCES_FILE:
        return True
    return path.suffix == BUNDLE_SUFFIX or (path.is_dir() and (path / RESOURCES_FILE).is_file())


def resources_file(path: Path) -> Path:
    """The `gameCenterResources.json` of a bundle (or the file itself)."""
    return path if path.name == RESOURCES_FILE else path / RESOURCES_FILE


def _json_key(key: str) -> str:
    return json.dumps(key, ensure_ascii=False)


@dataclass
class GamekitReading:
    """A gamekit turned into manifest data, plus what the manifest validator needs to speak in JSON paths."""

    data: dict[str, Any]
    bundle: Path
    problems: list[Problem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    # (kind name, 1-based item index) -> (JSON path of the item, vendor id or None)
    item_paths: dict[tuple[str, int], tuple[str, str | None]] = field(default_factory=dict)
    # (kind name, vendor id, locale) -> JSON path of the localization
    loc_paths: dict[tuple[str, str, str], str] = field(default_factory=dict)
    # (kind name, vendor id, locale) -> JSON path of its image entry
    image_paths: dict[tuple[str, str, str], str] = field(default_factory=dict)
    # localizations whose missing image the reader already reported (the validator's message is dropped)
    reported_images: set[tuple[str, str, str]] = field(default_factory=set)

    _LABEL = re.compile(r'^(\w+)\[(\d+)\](?: \(vendor_identifier "(?:[^"\\]|\\.)*"\))?(?:\.(.*))?$')

    def translate(self, where: str, message: str) -> tuple[str, str] | None:
        """A manifest validator problem in the file's terms: its label (`achievement[2] (...).locales.x.name`)
        as the JSON path, a fix written for TOML as JSON; None when the reader already reported it better."""
        path = self._path(where)
        if path is None:
            return None
        m = re.fullmatch(r"missing; (?:set|add) (\w+) = (.+?)(?: here or in \[defaults\])?", message)
        if m:
            section = next((s for s in SECTIONS if where.startswith(f"{s.kind.name}[")), None)
            name = section.item_key(m.group(1)) if section else m.group(1)
            message = f'missing; add "{name}" : {m.group(2)}'
        found = re.search(r"no localization; add at least one \[(\w+)\.locales\.<locale>\] table", message)
        if found:
            section = next(s for s in SECTIONS if s.kind.name == found.group(1))
            message = (
                f"no localization; add at least one to resources.{section.localizations} under this "
                "vendorIdentifier (App Store Connect requires one language)"
            )
        return path, message

    def _path(self, where: str) -> str | None:
        m = self._LABEL.match(where)
        if not m:
            # whole-kind problems (too many items, a total over Apple's limit) point at the kind's array
            for s in SECTIONS:
                if where == s.kind.name or where in (key for key, _ in s.kind.totals):
                    return f"resources.{s.items}"
            return where
        kind_name, index, rest = m.group(1), int(m.group(2)), m.group(3)
        found = self.item_paths.get((kind_name, index))
        if found is None:
            return where
        item_path, vid = found
        kind = next(k for k in KINDS if k.name == kind_name)
        if rest is None:
            return item_path
        if rest.startswith("locales.") and vid is not None:
            code, _, key = rest[len("locales.") :].partition(".")
            loc = self.loc_paths.get((kind_name, vid, code))
            if loc is None:
                return f"{item_path}.{rest}"
            if key == "image":
                if (kind_name, vid, code) in self.reported_images:
                    return None
                return self.image_paths.get((kind_name, vid, code), loc) + ".url"
            return f"{loc}.{_asc_name(kind, key)}" if key else loc
        if rest == "default_image" and vid is not None:
            if (kind_name, vid, DEFAULT_SLOT) in self.reported_images:
                return None
            return self.image_paths.get((kind_name, vid, DEFAULT_SLOT), item_path) + ".url"
        section = next(s for s in SECTIONS if s.kind is kind)
        return f"{item_path}.{section.item_key(rest)}"


def _asc_name(kind: Kind, key: str) -> str:
    for a in (*kind.attributes, *kind.version_attributes):
        if a.key == key:
            return a.asc
    for t in kind.texts:
        if t.key == key:
            return t.asc
    return key


def read_gamekit(path: Path, app_id: str | None) -> GamekitReading:
    """Read a bundle (or its resources file) into manifest data; structural problems with JSON paths."""
    file = resources_file(path)
    bundle = file.parent
    reading = GamekitReading(data={}, bundle=bundle)
    shown = str(file)
    problems, warnings = reading.problems, reading.warnings

    def problem(where: str, message: str) -> None:
        problems.append(Problem(f"{shown}: {where}" if where else shown, message))

    def warn(where: str, message: str) -> None:
        warnings.append(f"{shown}: {where}: {message}")

    try:
        raw = file.read_bytes()
    except FileNotFoundError:
        problem("", f"not found: a {BUNDLE_SUFFIX} bundle holds {RESOURCES_FILE}; pass the bundle Xcode made")
        return reading
    except OSError as exc:
        problem("", f"cannot be read ({exc.strerror or exc}); check permissions")
        return reading
    try:
        doc = json.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        problem("", f"not valid UTF-8 (byte {exc.start}); save the file as UTF-8")
        return reading
    except json.JSONDecodeError as exc:
        problems.append(
            Problem(
                f"{shown}:{exc.lineno}",
                f"JSON syntax error: {exc.msg} (line {exc.lineno}, column "
                f"{exc.colno}); fix the syntax, or let Xcode write the file again",
            )
        )
        return reading
    except (ValueError, RecursionError) as exc:
        problem("", f"JSON cannot be parsed: {exc}")
        return reading
    if not isinstance(doc, dict):
        problem("", 'the top level must be an object with "meta" and "resources"')
        return reading
    for key in doc:
        if key not in ("meta", "resources"):
            warn(str(key), "unknown key, ignored (kept when bulkgc rewrites the file)")
    resources = doc.get("resources")
    if resources is None:
        problem(
            "resources",
            'missing; the file needs "resources": {...} (Xcode writes {} when nothing is defined)',
        )
        return reading
    if not isinstance(resources, dict):
        problem("resources", "must be an object keyed by achievements, leaderboards, ...")
        return reading
    known = {name for s in SECTIONS for name in s.names}
    for key in resources:
        if key not in known:
            warn(
                f"resources.{key}",
                "bulkgc does not push this kind yet; ignored (kept when it rewrites the file)",
            )
    data: dict[str, Any] = {"assets": "."}
    if app_id is not None:
        data["app_id"] = app_id
    for section in SECTIONS:
        items = _read_section(section, resources, reading, problem, warn)
        if items:
            data[section.kind.name] = items
    reading.data = data
    return reading


def _read_section(  # names: Section's ([OBS] for achievements and leaderboards, [INFER] for the rest)
    s: Section,
    resources: Mapping[str, Any],
    reading: GamekitReading,
    problem: Callable[[str, str], None],
    warn: Callable[[str, str], None],
) -> list[Any]:
    kind = s.kind
    raw_items = resources.get(s.items)
    raw_locs = resources.get(s.localizations)
    raw_images = resources.get(s.images)
    raw_defaults = resources.get(s.default_images) if s.default_images else None
    if raw_items is None and raw_locs is None and raw_images is None and raw_defaults is None:
        return []
    if raw_items is None:
        raw_items = []
    if not isinstance(raw_items, list):
        problem(f"resources.{s.items}", "must be an array of objects")
        return []
    if raw_locs is None:
        raw_locs = {}
    if not isinstance(raw_locs, dict):
        problem(
            f"resources.{s.localizations}", "must be an object: vendorIdentifier -> array of localizations"
        )
        raw_locs = {}
    if raw_images is None:
        raw_images = {}
    if not isinstance(raw_images, dict):
        problem(f"resources.{s.images}", "must be an object: localID -> [{localID, url}]")
        raw_images = {}
    if raw_defaults is None:
        raw_defaults = {}
    if not isinstance(raw_defaults, dict):
        problem(
            f"resources.{s.default_images}",
            "must be an object: vendorIdentifier -> [{vendorIdentifier, url}]",
        )
        raw_defaults = {}
    images = _read_images(s, raw_images, reading, problem)
    defaults = _read_images(s, raw_defaults, reading, problem, id_key="vendorIdentifier")
    # the version's attributes (an activity's fallbackUrl) sit in the item, by Apple's name [INFER]
    attr_names = {a.asc for a in (*kind.attributes, *kind.version_attributes)}
    ref_keys = {key: ref for ref, key in s.references}
    text_names = {t.asc for t in kind.texts}
    xcode_only = _XCODE_ONLY.get(kind.name, {})
    items: list[Any] = []
    vids: set[str] = set()
    used_images: set[str] = set()
    used_defaults: set[str] = set()
    local_ids: dict[str, str] = {}
    for index, raw in enumerate(raw_items, start=1):
        item_path = f"resources.{s.items}[{index - 1}]"
        if not isinstance(raw, dict):
            reading.item_paths[(kind.name, index)] = (item_path, None)
            items.append(raw)  # the validator says what it must be
            continue
        vid = raw.get("vendorIdentifier")
        vid = vid if isinstance(vid, str) and vid else None
        reading.item_paths[(kind.name, index)] = (item_path, vid)
        item: dict[str, Any] = {}
        for key, value in raw.items():
            if key in attr_names:
                if value is not None:  # Xcode writes null for a range it does not set
                    item[key] = value
            elif key in ref_keys:
                item[ref_keys[key].key] = value  # vendor identifiers; the validator checks their shape
            elif key in xcode_only:
                if value != xcode_only[key]:
                    warn(
                        f"{item_path}.{key}",
                        f"{_show(value)} is not pushed by bulkgc (only Xcode uses it); ignored",
                    )
            else:
                warn(
                    f"{item_path}.{key}",
                    f"unknown {kind.name} key, ignored (kept when bulkgc rewrites the file)",
                )
        locales: dict[str, Any] = {}
        entries = raw_locs.get(vid) if vid is not None else None
        if vid is not None:
            vids.add(vid)
        if entries is not None and not isinstance(entries, list):
            problem(
                f"resources.{s.localizations}.{_json_key(vid or '')}", "must be an array of localizations"
            )
            entries = None
        for j, loc in enumerate(entries or []):
            loc_path = f"resources.{s.localizations}[{_json_key(vid or '')}][{j}]"
            if not isinstance(loc, dict):
                problem(loc_path, "must be an object with locale, localID and the texts")
                continue
            code, local_id = loc.get("locale"), loc.get("localID")
            if not isinstance(code, str) or not code:
                problem(f"{loc_path}.locale", 'missing; add "locale" : "en-US"')
                continue
            if not isinstance(local_id, str) or not local_id:
                problem(f"{loc_path}.localID", f'missing; add "localID" : "{vid}-{code}" (links the image)')
                continue
            if local_id in local_ids:
                problem(
                    f"{loc_path}.localID",
                    f"duplicate localID {local_id!r} (also {local_ids[local_id]}); "
                    "each localization needs its own: e.g. <vendorIdentifier>-<locale>",
                )
                continue
            local_ids[local_id] = loc_path
            texts: dict[str, Any] = {}
            for key, value in loc.items():
                if key in text_names:
                    if value is not None:
                        texts[key] = value
                elif key not in _LOC_KEYS:
                    warn(
                        f"{loc_path}.{key}",
                        "unknown localization key, ignored (kept when bulkgc rewrites the file)",
                    )
            if code in locales:
                problem(
                    f"{loc_path}.locale",
                    f"duplicate locale {code}: this {kind.name} already has it; keep one",
                )
                continue
            reading.loc_paths[(kind.name, vid or "", code)] = loc_path
            image = images.get(local_id)
            if image is not None:
                used_images.add(local_id)
                reading.image_paths[(kind.name, vid or "", code)] = image[1]
                if image[0] is not None:
                    texts["image"] = image[0]
                else:  # a bad url, already reported
                    reading.reported_images.add((kind.name, vid or "", code))
                    texts["image"] = "."
            elif kind.image.required:
                reading.reported_images.add((kind.name, vid or "", code))
                problem(
                    loc_path,
                    f"localID {local_id!r} has no image: add {s.images}[{_json_key(local_id)}] = "
                    f'[{{"localID" : "{local_id}", "url" : "{code}/{s.image_prefix}{local_id}.png"}}] '
                    f"(App Store Connect needs an image for every {kind.name} localization)",
                )
                texts["image"] = "."
            locales[code] = texts
        if locales:
            item["locales"] = locales
        default = defaults.get(vid) if vid is not None else None
        if default is not None and vid is not None:
            used_defaults.add(vid)
            reading.image_paths[(kind.name, vid, DEFAULT_SLOT)] = default[1]
            if default[0] is None:  # a bad url, already reported
                reading.reported_images.add((kind.name, vid, DEFAULT_SLOT))
            item["default_image"] = default[0] if default[0] is not None else "."
        items.append(item)
    for vid in raw_locs:
        if vid not in vids:
            problem(
                f"resources.{s.localizations}.{_json_key(str(vid))}",
                f"no {kind.name} in resources.{s.items} has vendorIdentifier {vid!r}; add it or fix the key",
            )
    for local_id in images:
        if local_id not in used_images:
            warn(
                f"resources.{s.images}.{_json_key(local_id)}",
                "no localization has this localID; image ignored",
            )
    for vid in defaults:
        if vid not in used_defaults:
            problem(
                f"resources.{s.default_images}.{_json_key(vid)}",
                f"no {kind.name} in resources.{s.items} has vendorIdentifier {vid!r}; add it or fix the key",
            )
    return items


def _read_images(
    s: Section,
    raw_images: Mapping[str, Any],
    reading: GamekitReading,
    problem: Callable[[str, str], None],
    id_key: str = "localID",
) -> dict[str, tuple[str | None, str]]:
    """localID (or, for default images, vendorIdentifier) -> (url relative to the bundle, or None when bad;
    JSON path of the entry)."""
    section = s.images if id_key == "localID" else s.default_images
    out: dict[str, tuple[str | None, str]] = {}
    for local_id, entry in raw_images.items():
        where = f"resources.{section}[{_json_key(str(local_id))}]"
        if isinstance(entry, list) and len(entry) == 1:
            entry = entry[0]
            where += "[0]"
        if not isinstance(entry, dict):
            problem(where, f'must be [{{"{id_key}" : ..., "url" : ...}}] (an array of one object)')
            out[str(local_id)] = (None, where)
            continue
        if entry.get(id_key, local_id) != local_id:
            problem(
                f"{where}.{id_key}",
                f"{_show(entry.get(id_key))} differs from its key {local_id!r}; make them equal",
            )
        url = entry.get("url")
        out[str(local_id)] = (_check_url(url, reading.bundle, f"{where}.url", problem), where)
    return out


def _check_url(url: Any, bundle: Path, where: str, problem: Callable[[str, str], None]) -> str | None:
    if not isinstance(url, str) or not url.strip():
        problem(
            where, 'missing; give the image file relative to the bundle, e.g. "en-US/AchievementImage-x.png"'
        )
        return None
    pure = PurePosixPath(url)
    if pure.is_absolute() or url.startswith("\\") or re.match(r"^[A-Za-z]:", url) or "\\" in url:
        problem(
            where, f"{url!r} is not a path inside the bundle; write it relative to {bundle.name}, with '/'"
        )
        return None
    normal = os.path.normpath(url)
    if normal == ".." or normal.startswith("../") or ".." in PurePosixPath(normal).parts:
        problem(
            where,
            f"{url!r} leads outside the bundle {bundle.name}; images must be inside it (move the file "
            "into the bundle and fix the url)",
        )
        return None
    target = bundle / normal
    try:
        inside = target.resolve().is_relative_to(bundle.resolve())
    except (OSError, RuntimeError):
        inside = False
    if not inside:
        problem(where, f"{url!r} is a link leading outside the bundle {bundle.name}; copy the image into it")
        return None
    if not target.is_file():
        problem(
            where,
            f"image file {url!r} not found in {bundle}; add it (Xcode keeps it beside the json) or fix "
            "the url",
        )
        return None
    return normal


def _show(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 60 else text[:57] + "..."


# ---------------------------------------------------------------------------------------------------------
# Writing: the names are Section's, [OBS] for achievements and leaderboards, [INFER] for sets, activities and
# challenges (their sections, `leaderboardVendorIdentifier(s)`, `fallbackUrl` in the item, `<kind>DefaultImages`
# and `<Kind>DefaultImage-<vendorIdentifier>.png`)


def image_url(section: Section, locale: str, local_id: str) -> str:
    """Where Xcode puts a localization's image inside the bundle."""
    return f"{locale}/{section.image_prefix}{local_id}.png"


def default_image_url(section: Section, vendor_id: str) -> str:
    """Where bulkgc puts an item's default image inside the bundle [INFER: Xcode's spelling not seen]."""
    return f"{section.default_prefix}{vendor_id}.png"


def dumps(doc: Any) -> str:
    """JSON as Xcode writes it: `" : "` separators, escaped slashes, two-space indent, sorted keys."""
    text = json.dumps(doc, indent=2, separators=(",", " : "), ensure_ascii=False, sort_keys=True)
    return text.replace("/", "\\/") + "\n"


def merge_resources(existing: Mapping[str, Any] | None, written: Mapping[str, Any]) -> dict[str, Any]:
    """The document to write: `written` (the kinds bulkgc knows, complete) over `existing`, keeping every key
    of `existing` bulkgc does not know (top level, `resources`, items, localizations, image entries)."""
    doc: dict[str, Any] = dict(existing or {})
    doc.setdefault("meta", {"version": META_VERSION})
    found = doc.get("resources")
    old_resources: dict[str, Any] = found if isinstance(found, dict) else {}
    resources: dict[str, Any] = dict(old_resources)
    for s in SECTIONS:
        olds = {o.get("vendorIdentifier"): o for o in old_resources.get(s.items) or [] if isinstance(o, dict)}
        xcode_only = _XCODE_ONLY.get(s.kind.name, {})
        items = [
            {**xcode_only, **olds.get(new["vendorIdentifier"], {}), **new} for new in written.get(s.items, [])
        ]
        old_locs: dict[str, Any] = _object(old_resources.get(s.localizations))
        locs: dict[str, Any] = {}
        for vid, entries in (written.get(s.localizations) or {}).items():
            by_id = {o.get("localID"): o for o in old_locs.get(vid) or [] if isinstance(o, dict)}
            locs[vid] = [{**by_id.get(e["localID"], {}), **e} for e in entries]
        if items or s.items in resources:
            resources[s.items] = items
        if locs or s.localizations in resources:
            resources[s.localizations] = locs
        for name in (s.images, s.default_images):
            if name is None:
                continue
            old_images: dict[str, Any] = _object(old_resources.get(name))
            images: dict[str, Any] = {}
            for key, entries in (written.get(name) or {}).items():
                old = old_images.get(key)
                old_entry = old[0] if isinstance(old, list) and old and isinstance(old[0], dict) else {}
                images[key] = [{**old_entry, **entries[0]}]
            if images or name in resources:
                resources[name] = images
    doc["resources"] = resources
    return doc


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}
