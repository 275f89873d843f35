"""IGDB: an export of Achievement records (a JSON array) -> source achievements, grouped by external_id."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from bulkgc.importers.common import (
    Collector,
    ImportedSource,
    ImportOptions,
    SourceAchievement,
    SourceText,
    read_json,
    set_text,
    show,
    where,
)
from bulkgc.importers.icons import find_icon
from bulkgc.importers.jsonlines import element_lines
from bulkgc.importers.languages import LocaleResolver, fold_language

# IGDB's Region enum (as its release dates use it; [INFER] that `language` uses the same ids).
IGDB_REGIONS: dict[int, str] = {
    1: "europe",
    2: "north_america",
    3: "australia",
    4: "new_zealand",
    5: "japan",
    6: "china",
    7: "asia",
    8: "worldwide",
    9: "korea",
    10: "brazil",
}
# Region -> Game Center locale; None: no single language (left out, noted). "worldwide" is the default locale.
REGION_LOCALES: dict[str, str | None] = {
    "north_america": "en-US",
    "australia": "en-AU",
    "japan": "ja",
    "china": "zh-Hans",
    "korea": "ko",
    "brazil": "pt-BR",
    "asia": None,
}
# Regions whose language is a guess: stated in the report.
REGION_GUESSES: dict[str, str] = {"europe": "en-GB", "new_zealand": "en-AU"}


def _guess(region: str) -> tuple[str | None, str | None] | None:
    locale = REGION_GUESSES.get(fold_language(region).replace("-", "_"))
    if locale is None:
        return None
    return locale, f"a region, not a language: its texts are taken as {locale}"


def _overrides(locale_map: dict[str, str]) -> dict[str, str]:
    """--locale-map keys may be region ids (7=zh-Hant) or names (asia=zh-Hant)."""
    result = {}
    for key, locale in locale_map.items():
        region = IGDB_REGIONS.get(int(key)) if key.isdigit() else None
        result[fold_language(region or key)] = locale
    return result


def _records(path: Path, display: str, collector: Collector) -> list[tuple[str, Any]]:
    loaded = read_json(path, display, collector, "fix the file or export it again")
    if loaded is None:
        return []
    text, data = loaded
    if isinstance(data, dict):
        return [(where(display, 1), data)]
    if not isinstance(data, list):
        collector.problem(display, "expected a JSON array of IGDB Achievement records")
        return []
    lines = element_lines(text, ())
    return [(where(display, lines[i] if i < len(lines) else None), record) for i, record in enumerate(data)]


def read(path: Path, options: ImportOptions, collector: Collector) -> ImportedSource:
    """Read an IGDB achievements export; records sharing an external_id are one achievement's languages."""
    display = show(path)
    table = {**REGION_LOCALES, "worldwide": options.default_locale}
    resolver = LocaleResolver(table, _overrides(dict(options.locale_map)), _guess)
    groups: dict[str, SourceAchievement] = {}
    icons: dict[str, list[str]] = {}
    games: dict[tuple[int, ...], str] = {}
    for at, record in _records(path, display, collector):
        if not isinstance(record, dict):
            collector.problem(at, "a record is not a JSON object; each must be an IGDB Achievement")
            continue
        external_id, name = record.get("external_id"), record.get("name")
        if not isinstance(external_id, str) or not external_id.strip():
            collector.problem(
                at,
                "external_id is missing or not a string; IGDB records carry the external "
                "service's id there, and bulkgc makes the vendor identifier from it",
            )
            continue
        if not isinstance(name, str) or not name.strip():
            collector.problem(at, f"{external_id}: name is missing or empty; every achievement needs a name")
            continue
        description = record.get("description") or ""
        if not isinstance(description, str):
            collector.problem(at, f"{external_id}: description must be a string")
            continue
        game = record.get("game")
        if isinstance(game, list) and all(isinstance(g, int) for g in game) and game:
            games.setdefault(tuple(sorted(game)), at)
        region = record.get("language")
        locale: str | None
        if region is None:
            language, locale = "default", options.default_locale
        elif isinstance(region, int) and not isinstance(region, bool) and region in IGDB_REGIONS:
            language = IGDB_REGIONS[region]
            locale = resolver.resolve(language, at, collector)
        else:
            collector.problem(
                at,
                f"{external_id}: language {region!r} is not an IGDB region id (1-10); map it "
                f"with --locale-map {region}=LOCALE or remove the record",
            )
            continue
        ach = groups.get(external_id)
        if ach is None:
            ach = groups[external_id] = SourceAchievement(source_id=external_id, where=at)
            icons[external_id] = []
        icon = record.get("icon")
        if isinstance(icon, dict):
            for key in ("cloudinary_id", "url"):
                value = icon.get(key)
                if isinstance(value, str) and value:
                    icons[external_id].append(Path(urlparse(value).path).name if key == "url" else value)
            size = (icon.get("width"), icon.get("height"))
            if all(isinstance(v, int) for v in size) and size[0] != size[1]:
                note = f"IGDB lists the icon as {size[0]}x{size[1]} (not square)"
                if note not in ach.notes:
                    ach.notes.append(note)
        if locale is not None:
            set_text(ach, locale, SourceText(name, description, at, language), collector)
    if len(games) > 1:
        listed = "; ".join(f"{list(g)} ({at})" for g, at in games.items())
        collector.problem(display, f"records belong to different games: {listed}; import one game at a time")
    achievements = list(groups.values())
    notes = resolver.notes()
    notes.append("IGDB has no hidden flag: every achievement is shown before earned")
    source = ImportedSource(
        "igdb",
        [display],
        achievements,
        options.icons,
        show(options.icons) + "/" if options.icons else "",
        notes=notes,
    )
    if achievements and options.icons is None:
        collector.problem(
            display,
            "IGDB records only link icons (images.igdb.com) and bulkgc never downloads: "
            "save them in a folder (named by cloudinary_id or external_id) and pass "
            "--icons DIR",
        )
        return source
    for ach in achievements:
        if options.icons is None:
            break
        names = [*icons[ach.source_id], ach.source_id]
        found = find_icon(options.icons, names)
        if found is None:
            collector.problem(
                ach.where,
                f"{ach.source_id}: no icon in {show(options.icons)} (looked for "
                f"{' or '.join(dict.fromkeys(n for n in names))} with .png/.jpg); add "
                "the file",
            )
        ach.icon = found
    return source
