"""Google Play Games Services: the achievements bulk-import CSVs and icons (folder or ZIP) -> achievements."""

from __future__ import annotations

import csv
import difflib
import io
import zipfile
from collections.abc import Iterator
from pathlib import Path

from bulkgc.importers.common import (
    Collector,
    ImportedSource,
    ImportOptions,
    SourceAchievement,
    SourceText,
    decode_utf8,
    set_text,
    show,
    where,
)
from bulkgc.importers.languages import LocaleResolver, fold_language
from bulkgc.locales import ASC_LOCALES

METADATA = "AchievementsMetadata.csv"
LOCALIZATIONS = "AchievementsLocalizations.csv"
ICON_MAPPINGS = ("AchievementsIconsMappings.csv", "AchievementsIconMappings.csv")  # both spellings occur
METADATA_COLUMNS = (
    "Name",
    "Description",
    "Incremental value",
    "Steps Needed",
    "Initial State",
    "Points",
    "List Order",
)
LOCALIZATION_COLUMNS = ("Name", "Localized name", "Localized description", "Locale")
ICON_COLUMNS = ("Name", "icon filename")
MAX_NAME, MAX_DESCRIPTION, MAX_STEPS, MAX_FILE = 100, 500, 10_000, 1024 * 1024

# Play locale codes that are not spelled like a Game Center locale but mean one.
_SPECIAL = {
    "zh-cn": "zh-Hans",
    "zh-sg": "zh-Hans",
    "zh-tw": "zh-Hant",
    "zh-hk": "zh-Hant",
    "nb": "no",
    "nb-no": "no",
    "no-no": "no",
    "iw": "he",
    "iw-il": "he",
    "in": "id",
    "in-id": "id",
}
# Languages Google Play offers that Game Center has no locale for: their texts are left out (noted).
_NO_GAME_CENTER_LOCALE = frozenset(
    "af am az be bg bn et eu fa fil gl hy is ka kk km kn ky lo lt lv mk ml mn mr my ne pa rm si sl sq sr sw "
    "ta te ur uz zu".split()
)
_BY_FOLDED = {code.casefold(): code for code in ASC_LOCALES}


def guess_locale(code: str) -> tuple[str | None, str | None] | None:
    """(Game Center locale, or None for "no locale"; note if guessed) for a Play locale; None if unknown."""
    folded = fold_language(code)
    if folded in _BY_FOLDED:
        return _BY_FOLDED[folded], None
    if folded in _SPECIAL:
        return _SPECIAL[folded], None
    language = folded.split("-", 1)[0]
    if language in _BY_FOLDED:  # ja-JP -> ja: Game Center has one locale for the language
        return _BY_FOLDED[language], None
    regional = [c for c in ASC_LOCALES if c.casefold().startswith(language + "-")]
    if regional:
        preferred = {
            "en": "en-US",
            "fr": "fr-FR",
            "de": "de-DE",
            "es": "es-MX" if folded == "es-419" else "es-ES",
            "pt": "pt-BR",
            "nl": "nl-NL",
            "ar": "ar-SA",
            "zh": "zh-Hans",
        }.get(language, regional[0])
        return preferred, f"no Game Center locale {code}; mapped to the closest, {preferred}"
    if language in _NO_GAME_CENTER_LOCALE:
        return None, None
    return None


class _Files:
    """The bulk-import files, from a folder or a ZIP, looked up by name."""

    def __init__(self, path: Path, collector: Collector) -> None:
        self.path, self.display, self.collector = path, show(path), collector
        self.members: dict[str, bytes] = {}
        self.is_zip = path.is_file()
        if self.is_zip:
            self._read_zip()

    def _read_zip(self) -> None:
        try:
            with zipfile.ZipFile(self.path) as archive:
                for info in archive.infolist():
                    if info.is_dir():
                        continue
                    if "/" in info.filename.strip("/"):
                        self.collector.problem(
                            f"{self.display}:{info.filename}",
                            "Play's bulk import allows no subfolders; put every file at the top of the ZIP",
                        )
                        continue
                    if info.file_size > MAX_FILE:
                        self.collector.problem(
                            f"{self.display}:{info.filename}",
                            f"is {info.file_size} bytes; Play allows 1 MB per file",
                        )
                        continue
                    self.members[info.filename] = archive.read(info)
        except (zipfile.BadZipFile, OSError, EOFError) as exc:
            self.collector.problem(
                self.display,
                f"not a readable ZIP ({exc}); pass the ZIP Play Console exports or the folder of its files",
            )

    def name(self, file: str) -> str:
        return f"{self.display}:{file}" if self.is_zip else show(self.path / file)

    def read(self, file: str) -> bytes | None:
        if self.is_zip:
            return self.members.get(file)
        candidate = self.path / file
        return candidate.read_bytes() if candidate.is_file() else None

    def exists(self, file: str) -> bool:
        return file in self.members if self.is_zip else (self.path / file).is_file()


def _rows(files: _Files, file: str, columns: tuple[str, ...]) -> Iterator[tuple[str, list[str]]]:
    """(file:line, values) of each non-empty row that has exactly len(columns) values; others are problems."""
    collector = files.collector
    raw = files.read(file)
    if raw is None:
        return
    text = decode_utf8(raw, files.name(file), collector)
    if text is None:
        return
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    start = 1
    try:
        for values in reader:
            at = where(files.name(file), start)
            start = reader.line_num + 1
            if not values or all(not v.strip() for v in values):
                continue
            if len(values) != len(columns):
                collector.problem(
                    at,
                    f"{len(values)} value(s); every row of {file} has {len(columns)} "
                    f"({', '.join(columns)}), with no header row: fix this row",
                )
                continue
            yield at, values
    except csv.Error as exc:
        collector.problem(
            where(files.name(file), reader.line_num), f"CSV syntax error: {exc}; fix the quoting"
        )


def _int(value: str) -> int | None:
    try:
        return int(value.strip())
    except ValueError:
        return None


def _metadata(
    files: _Files, options: ImportOptions, collector: Collector
) -> tuple[list[SourceAchievement], set[str]]:
    """(valid achievements in List Order, every name the CSV defines, valid or not)."""
    if not files.exists(METADATA):
        collector.problem(files.name(METADATA), "missing: Play's bulk import needs AchievementsMetadata.csv")
        return [], set()
    ordered: list[tuple[int, int, SourceAchievement]] = []
    seen: dict[str, str] = {}
    for number, (at, values) in enumerate(_rows(files, METADATA, METADATA_COLUMNS)):
        name, description, incremental, steps, state, points, order = (v.strip() for v in values)
        bad = len(collector.problems)
        if not name:
            collector.problem(at, "Name is empty; every achievement needs one")
        elif len(name) > MAX_NAME:
            collector.problem(at, f"Name is {len(name)} characters; Play allows {MAX_NAME}")
        if name in seen:
            collector.problem(
                at,
                f"duplicate achievement name {name!r} (first at {seen[name]}); names identify "
                "achievements in the bulk import, keep one",
            )
        if len(description) > MAX_DESCRIPTION:
            collector.problem(
                at, f"Description is {len(description)} characters; Play allows {MAX_DESCRIPTION}"
            )
        if incremental.casefold() not in ("true", "false"):
            collector.problem(at, f"Incremental value is {incremental!r}; write True or False")
        is_incremental = incremental.casefold() == "true"
        steps_needed = _int(steps)
        if is_incremental and (steps_needed is None or not 1 <= steps_needed <= MAX_STEPS):
            collector.problem(
                at,
                f"Steps Needed is {steps!r}; an incremental achievement needs a whole number "
                f"from 1 to {MAX_STEPS}",
            )
        if state.casefold() not in ("hidden", "revealed"):
            collector.problem(at, f"Initial State is {state!r}; write Hidden or Revealed")
        value = _int(points)
        if value is None or not 5 <= value <= 200 or value % 5:
            collector.problem(at, f"Points is {points!r}; Play takes a multiple of 5 from 5 to 200")
        position = _int(order)
        if position is None or position < 1:
            collector.problem(at, f"List Order is {order!r}; write a positive whole number")
        if len(collector.problems) > bad:
            seen.setdefault(name, at)
            continue
        seen[name] = at
        ach = SourceAchievement(
            source_id=name,
            where=at,
            hidden=state.casefold() == "hidden",
            points=value,
            steps=steps_needed if is_incremental else None,
        )
        ach.texts[options.default_locale] = SourceText(name, description, at)
        ordered.append((position or 0, number, ach))
    return [ach for _, _, ach in sorted(ordered, key=lambda item: (item[0], item[1]))], set(seen)


def _unknown_name(name: str, names: set[str]) -> str:
    guess = difflib.get_close_matches(name, sorted(names), n=1)
    hint = f"; did you mean {guess[0]!r}?" if guess else ""
    return f"no achievement named {name!r} in {METADATA}{hint}"


def _localizations(
    files: _Files,
    by_name: dict[str, SourceAchievement],
    names: set[str],
    resolver: LocaleResolver,
    collector: Collector,
) -> None:
    """Attach each localization row; rows of achievements whose metadata row is invalid are still checked."""
    for at, values in _rows(files, LOCALIZATIONS, LOCALIZATION_COLUMNS):
        name, localized_name, localized_description, code = (v.strip() for v in values)
        ach = by_name.get(name)
        if name not in names:
            collector.problem(at, _unknown_name(name, names))
            continue
        if not localized_name:
            collector.problem(at, f"{name}: Localized name is empty; fill it in or remove the row")
            continue
        locale = resolver.resolve(code, at, collector)
        if locale is not None and ach is not None:
            set_text(ach, locale, SourceText(localized_name, localized_description, at, code), collector)


def _icons(
    files: _Files,
    by_name: dict[str, SourceAchievement],
    names: set[str],
    options: ImportOptions,
    collector: Collector,
) -> dict[str, bytes]:
    """Attach each achievement's icon file name; return the archive icons to extract (empty for a folder)."""
    mapping = next((m for m in ICON_MAPPINGS if files.exists(m)), None)
    extract: dict[str, bytes] = {}
    mapped: dict[str, str] = {}
    icons_dir = options.icons
    if mapping is not None:
        for at, values in _rows(files, mapping, ICON_COLUMNS):
            name, icon = (v.strip() for v in values)
            ach = by_name.get(name)
            if name not in names:
                collector.problem(at, _unknown_name(name, names))
                continue
            if name in mapped:
                collector.problem(
                    at, f"{name} already has an icon (row {mapped[name]}); keep one row per achievement"
                )
                continue
            mapped[name] = at
            if "/" in icon or "\\" in icon or icon in ("", ".", ".."):
                collector.problem(at, f"icon filename {icon!r} must be a plain file name (no folders)")
                continue
            if icons_dir is not None:
                found = (icons_dir / icon).is_file()
                shown = show(icons_dir / icon)
            else:
                found = files.exists(icon)
                shown = files.name(icon)
                if found and files.is_zip:
                    extract[icon] = files.members[icon]
            if not found:
                collector.problem(at, f"icon {shown} does not exist; add the file or fix the row")
                continue
            if ach is not None:
                ach.icon = icon
    for ach in by_name.values():
        if ach.icon is None:
            spelled = mapping or ICON_MAPPINGS[0]
            collector.problem(
                ach.where,
                f'{ach.source_id}: no icon; add the row "{ach.source_id},FILE.png" to '
                f"{spelled} (Game Center needs one per achievement)",
            )
    return extract


def read(path: Path, options: ImportOptions, collector: Collector) -> ImportedSource:
    """Read a Play Games bulk-import folder or ZIP into an ImportedSource."""
    display = show(path)
    if not path.exists():
        collector.problem(display, "not found; pass the folder or ZIP of the Play Games bulk import")
        return ImportedSource("play", [display], [], None)
    files = _Files(path, collector)
    resolver = LocaleResolver({}, options.locale_map, guess_locale)
    achievements, names = _metadata(files, options, collector)
    by_name = {a.source_id: a for a in achievements}
    _localizations(files, by_name, names, resolver, collector)
    extract = _icons(files, by_name, names, options, collector)
    if options.icons is not None:
        icons_dir, icons_display = options.icons, show(options.icons) + "/"
    elif files.is_zip:
        icons_dir, icons_display = None, display + ":"
    else:
        icons_dir, icons_display = path, display + "/"
    notes = resolver.notes()
    if extract:
        notes.append(
            f"icons are inside {display}: they are written next to the manifest (the manifest refers "
            "to them there)"
        )
    return ImportedSource("play", [display], achievements, icons_dir, icons_display, extract, notes)
