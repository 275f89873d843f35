"""What every importer shares: the source model, the mapping rules, icon triage, the manifest writer."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

from PIL import Image

from bulkgc.errors import InvalidImageError, ManifestError, Problem, _ProblemsError
from bulkgc.locales import is_asc_locale, suggest_locale
from bulkgc.manifest import (
    MAX_ACHIEVEMENTS,
    MAX_POINTS,
    MAX_TOTAL_POINTS,
    MAX_VENDOR_IDENTIFIER,
    TEXT_LIMITS,
    load_manifest,
)
from bulkgc.scan import MAX_FILE_BYTES, check_image, display_path

ICON_EXTENSIONS = (".png", ".jpg", ".jpeg")
MAX_VENDOR_PREFIX = 80  # leaves room for an id and its 9-character hash suffix within Apple's 100
_INVALID_ID_CHARS = re.compile(r"[^A-Za-z0-9._-]+")
_PREFIX_RE = re.compile(r"[A-Za-z0-9._-]*")
SKIP = "skip"  # --locale-map LANG=skip: leave that language out on purpose


class ImportProblemsError(_ProblemsError):
    """The source data cannot be imported; `problems` lists every one with file:line and the fix."""

    headline = "import problem(s)"


# ---------------------------------------------------------------------------------------------------------
# The source model: what a reader extracts from another store's files


@dataclass
class SourceText:
    """One language's texts of one achievement, as the source has them."""

    name: str
    description: str
    where: str  # file:line
    language: str | None = None  # the source's language name; None: the untagged default texts


@dataclass
class SourceAchievement:
    """One achievement as another store describes it, with its languages already mapped to ASC locales."""

    source_id: str  # Steam API name, Play achievement name, IGDB external_id
    where: str  # file:line of its definition
    texts: dict[str, SourceText] = field(default_factory=dict)  # ASC locale -> texts
    hidden: bool = False
    points: int | None = None
    steps: int | None = None  # incremental: steps needed
    icon: str | None = None  # file name inside the source's icon directory
    notes: list[str] = field(default_factory=list)  # lossy or guessed steps the reader took


def set_text(ach: SourceAchievement, locale: str, text: SourceText, collector: Collector) -> None:
    """Give `ach` its texts for `locale`; two source languages landing on one locale is a problem."""
    old = ach.texts.get(locale)
    if old is not None and old.language is not None and old.language != text.language:
        collector.problem(
            text.where,
            f"{ach.source_id}: language {text.language!r} maps to {locale}, which "
            f"{old.language!r} ({old.where}) already fills; map one of them elsewhere "
            f"or leave it out with --locale-map {text.language}=skip",
        )
        return
    if old is not None and old.language is not None:
        collector.problem(
            text.where, f"{ach.source_id}: {locale} texts are given twice (first at {old.where}); keep one"
        )
        return
    ach.texts[locale] = text


@dataclass
class ImportedSource:
    """Everything a reader found: achievements in order, where their icons are, global notes."""

    kind: str  # "igdb" | "play" | "steam"
    inputs: list[str]
    achievements: list[SourceAchievement]
    icons_dir: Path | None  # directory the icon names are relative to (None: nothing to reference)
    icons_display: str = ""  # how messages show the icon directory, ending in "/" (or "archive.zip:")
    # icons that exist only inside an archive: name -> bytes; written next to the manifest
    extract: dict[str, bytes] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True, kw_only=True)
class ImportOptions:
    """The settings of one import (flags of `bulkgc import`)."""

    app_id: str  # App Store Connect app id written into the manifest
    out: Path  # manifest to write (.toml or .json)
    icons: Path | None = None  # local folder holding the icons the source only links to
    vendor_prefix: str = ""  # prepended to every vendor identifier, e.g. "com.studio.game."
    locale_map: Mapping[str, str] = field(default_factory=dict)  # source language -> ASC locale or "skip"
    points: int | None = None  # every achievement gets these points instead of the rescaled source points
    default_locale: str = "en-US"  # the locale of the source's untagged texts
    force: bool = False  # overwrite an existing manifest (and extracted icon folder)
    report: Path | None = None  # JSON mapping report


class Collector:
    """Gathers every problem of one import, so all are reported at once."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def problem(self, where: str, message: str) -> None:
        self.problems.append(Problem(where, message))


def where(display: str, line: int | None) -> str:
    """`file:line` (or just the file when the line is unknown)."""
    return f"{display}:{line}" if line else display


def show(path: Path | str) -> str:
    """A path as messages show it: relative to the working directory when below it."""
    path = Path(path)
    try:
        text = str(path.resolve().relative_to(Path.cwd().resolve())) if path.is_absolute() else str(path)
    except ValueError:
        text = str(path)
    return display_path(text)


def read_text(path: Path, display: str, collector: Collector) -> str | None:
    """A source file's text (UTF-8, BOM allowed); a problem with the line of the first bad byte otherwise."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        collector.problem(display, "file not found; check the path")
        return None
    except IsADirectoryError:
        collector.problem(display, "is a directory; pass the file itself")
        return None
    except OSError as exc:
        collector.problem(display, f"cannot read the file ({exc.strerror or exc}); check permissions")
        return None
    return decode_utf8(raw, display, collector)


def decode_utf8(raw: bytes, display: str, collector: Collector) -> str | None:
    """UTF-8 text of `raw`, or None with a problem naming the line of the first bad byte."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        collector.problem(f"{display}:{line}", f"not valid UTF-8 (byte {exc.start}); save the file as UTF-8")
        return None
    return text[1:] if text.startswith("\ufeff") else text


# ---------------------------------------------------------------------------------------------------------
# Languages


def fold_language(name: str) -> str:
    """The key languages are compared by: case-insensitive, `_` and `-` alike."""
    return name.strip().casefold().replace("_", "-")


def parse_locale_map(items: list[str]) -> tuple[dict[str, str], list[str]]:
    """`--locale-map LANG=LOCALE[,LANG=LOCALE...]` values -> ({folded language: locale or 'skip'}, errors)."""
    result: dict[str, str] = {}
    errors: list[str] = []
    for item in items:
        for pair in filter(None, (p.strip() for p in item.split(","))):
            lang, sep, locale = pair.partition("=")
            lang, locale = lang.strip(), locale.strip()
            if not sep or not lang or not locale:
                errors.append(
                    f"--locale-map {pair!r}: write LANGUAGE=LOCALE (e.g. schinese=zh-Hans) or LANGUAGE=skip"
                )
                continue
            if locale.casefold() == SKIP:
                locale = SKIP
            elif not is_asc_locale(locale):
                guess = suggest_locale(locale)
                fix = f"did you mean {guess!r}?" if guess else "see docs/IMPORT.md for the list"
                errors.append(f"--locale-map {pair!r}: {locale!r} is not a Game Center locale; {fix}")
                continue
            result[fold_language(lang)] = locale
    return result, errors


class LocaleResolver:
    """Maps a source's language names/codes to Game Center locales: overrides, then the table, then a guess.

    The table maps a language to an ASC locale, or to None for a language Game Center has no locale for
    (its texts are left out, noted). A language found nowhere is a problem naming `--locale-map` as the fix.
    """

    def __init__(
        self,
        table: Mapping[str, str | None],
        overrides: Mapping[str, str],
        guess: Callable[[str], tuple[str | None, str | None] | None] | None = None,
    ) -> None:
        self.table = {fold_language(k): v for k, v in table.items()}
        self.overrides = dict(overrides)
        self.guess = guess
        self.used_overrides: set[str] = set()
        self.dropped: dict[str, int] = {}  # language -> texts left out
        self.guessed: dict[str, str] = {}  # language -> note
        self.reported_unknown: set[str] = set()

    def resolve(self, language: str, at: str, collector: Collector) -> str | None:
        """The ASC locale for `language`, or None (left out: noted, or unknown: a problem)."""
        key = fold_language(language)
        if key in self.overrides:
            self.used_overrides.add(key)
            locale = self.overrides[key]
            if locale == SKIP:
                self.dropped[language] = self.dropped.get(language, 0) + 1
                return None
            return locale
        if key in self.table:
            mapped = self.table[key]
            if mapped is None:
                self.dropped[language] = self.dropped.get(language, 0) + 1
            return mapped
        if self.guess is not None:
            found = self.guess(language)
            if found is not None:
                guessed, note = found
                if guessed is None:
                    self.dropped[language] = self.dropped.get(language, 0) + 1
                elif note:
                    self.guessed.setdefault(language, note)
                return guessed
        if key not in self.reported_unknown:
            self.reported_unknown.add(key)
            collector.problem(
                at,
                f"unknown language {language!r}: map it to a Game Center locale with "
                f"--locale-map {language}=LOCALE (e.g. {language}=fr-FR), or leave it out "
                f"with --locale-map {language}=skip",
            )
        return None

    def notes(self) -> list[str]:
        """Global notes: languages left out, languages guessed, overrides that matched nothing."""
        out = []
        for language, count in sorted(self.dropped.items()):
            why = (
                "left out by --locale-map"
                if self.overrides.get(fold_language(language)) == SKIP
                else "has no Game Center locale"
            )
            out.append(
                f"language {language!r} {why}: its {count} text(s) were not imported "
                f"(--locale-map {language}=LOCALE keeps them under a locale you choose)"
            )
        for language, note in sorted(self.guessed.items()):
            out.append(f"language {language!r}: {note} (override with --locale-map {language}=LOCALE)")
        for key in sorted(set(self.overrides) - self.used_overrides):
            out.append(f"--locale-map {key}={self.overrides[key]} matched no language in the input")
        return out


# ---------------------------------------------------------------------------------------------------------
# Mapping rules (docs/IMPORT.md states them; change both together)


def vendor_identifier(prefix: str, source_id: str) -> tuple[str, str | None]:
    """(Game Center vendor identifier, note) for a source id: the same input always gives the same id.

    A source id that is already valid (ASCII letters, digits, `.`, `_`, `-`) and fits is kept as it is
    after the prefix. Otherwise accents are removed, every run of other characters becomes `_`, and
    `-` plus the first 8 hex digits of the SHA-256 of the original id are appended, so two different
    source ids can never end up with the same identifier; the result is cut to fit 100 characters.
    """
    valid = bool(source_id) and _INVALID_ID_CHARS.search(source_id) is None
    if valid and len(prefix) + len(source_id) <= MAX_VENDOR_IDENTIFIER:
        return prefix + source_id, None
    ascii_id = unicodedata.normalize("NFKD", source_id).encode("ascii", "ignore").decode("ascii")
    slug = _INVALID_ID_CHARS.sub("_", ascii_id).strip("_") or "achievement"
    suffix = "-" + hashlib.sha256(source_id.encode("utf-8")).hexdigest()[:8]
    slug = slug[: MAX_VENDOR_IDENTIFIER - len(prefix) - len(suffix)].rstrip("_")
    result = prefix + slug + suffix
    why = "has characters Game Center refuses" if not valid else "is too long"
    return result, f"source id {source_id!r} {why}: vendor identifier {result!r} (slug + hash of the id)"


def rescale_points(source: list[int | None], fixed: int | None) -> tuple[list[int], str | None]:
    """Manifest points for each achievement and a global note, by the rule in docs/IMPORT.md.

    `--points N` sets every achievement to N. A source without points gets an equal share of 1,000,
    at most 100 each. Source points are multiplied by one factor, f = min(1, 100 / largest,
    1000 / total), and rounded down, so both of Apple's limits hold and the order is kept.
    """
    count = len(source)
    if fixed is not None:
        return [fixed] * count, f"points: every achievement set to {fixed} by --points"
    if count == 0:
        return [], None
    if all(p is None for p in source):
        share = min(MAX_POINTS, MAX_TOTAL_POINTS // count)
        return [share] * count, (
            f"points: the source has none; each of the {count} achievement(s) gets an "
            f"equal share of {MAX_TOTAL_POINTS}: {share} (set them with --points N)"
        )
    values = [p or 0 for p in source]
    largest, total = max(values), sum(values)
    factor = Fraction(1)
    if largest > MAX_POINTS:
        factor = min(factor, Fraction(MAX_POINTS, largest))
    if total > MAX_TOTAL_POINTS:
        factor = min(factor, Fraction(MAX_TOTAL_POINTS, total))
    if factor == 1:
        return values, None
    scaled = [int(v * factor) for v in values]  # int() of a non-negative Fraction rounds down
    note = (
        f"points: source points (largest {largest}, total {total}) multiplied by {factor} "
        f"(≈{float(factor):.3f}) and rounded down to meet Game Center's ≤ {MAX_POINTS} each and "
        f"≤ {MAX_TOTAL_POINTS} in total: now largest {max(scaled)}, total {sum(scaled)}"
    )
    return scaled, note


def fit_text(text: str, limit: int) -> str:
    """`text` cut to `limit` characters at a word boundary when one is near, ending in an ellipsis."""
    text = text.strip()
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space >= limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:.-") + "…"


# ---------------------------------------------------------------------------------------------------------
# Icons


@dataclass
class IconVerdict:
    """What the local checks say of one source icon."""

    ok: bool
    fixable: bool  # square, opaque, decodable: a conversion/resize would make it valid
    message: str  # the checks' message (empty when ok)


def triage_icon(path: Path) -> IconVerdict:
    """Check one icon as `bulkgc validate` does; when refused, tell a mechanical fix from a designer's."""
    try:
        check_image(path)
        return IconVerdict(True, False, "")
    except InvalidImageError as exc:
        message = "; ".join(p.message for p in exc.problems)
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            return IconVerdict(False, False, message)
        with Image.open(path) as img:
            fmt, (width, height), frames = img.format, img.size, getattr(img, "n_frames", 1)
            limit = Image.MAX_IMAGE_PIXELS
            if limit is not None and width * height > limit:  # never decode a bomb
                return IconVerdict(False, False, message)
            img.load()
            translucent = False
            if "A" in img.mode or "transparency" in img.info:
                alpha = img.convert("RGBA").getchannel("A")
                translucent = alpha.point(lambda a: 255 - a).getbbox() is not None
    except Exception:  # noqa: BLE001 - whatever Pillow says, the checks' message already explains it
        return IconVerdict(False, False, message)
    expected = {"PNG": (".png",), "JPEG": (".jpg", ".jpeg")}.get(str(fmt), ())
    if width != height:
        message += f"; it is not square ({width}x{height}): crop it to a square first (bulkgc never crops)"
    fixable = path.suffix.lower() in expected and width == height and frames == 1 and not translucent
    return IconVerdict(False, fixable, message)


# ---------------------------------------------------------------------------------------------------------
# Building the manifest


@dataclass
class Mapped:
    """One achievement as it goes into the manifest, plus its report entry."""

    source: SourceAchievement
    vendor_identifier: str
    reference_name: str
    points: int
    locales: dict[str, tuple[str, str]]  # locale -> (name, description)
    notes: list[str]


def _map_achievements(
    source: ImportedSource, options: ImportOptions, collector: Collector, global_notes: list[str]
) -> list[Mapped]:
    achievements = source.achievements
    if len(achievements) > MAX_ACHIEVEMENTS:
        collector.problem(
            source.inputs[0],
            f"{len(achievements)} achievements: Game Center allows at most "
            f"{MAX_ACHIEVEMENTS} per app; remove some from the source",
        )
    if not achievements and not collector.problems:
        collector.problem(source.inputs[0], "no achievements found; check that this is the right file")
    if options.points is not None and options.points * len(achievements) > MAX_TOTAL_POINTS:
        collector.problem(
            "--points",
            f"{options.points} × {len(achievements)} achievements = "
            f"{options.points * len(achievements)} points, over Game Center's "
            f"{MAX_TOTAL_POINTS}; use --points {MAX_TOTAL_POINTS // len(achievements)} "
            "or less",
        )
    points, points_note = rescale_points([a.points for a in achievements], options.points)
    if points_note:
        global_notes.append(points_note)
    mapped: list[Mapped] = []
    by_vid: dict[str, SourceAchievement] = {}
    for ach, pts in zip(achievements, points, strict=True):
        notes = list(ach.notes)
        vid, vid_note = vendor_identifier(options.vendor_prefix, ach.source_id)
        if vid_note:
            notes.append(vid_note)
        first = by_vid.setdefault(vid, ach)
        if first is not ach:
            collector.problem(
                ach.where,
                f"vendor identifier {vid!r} is also made from {first.source_id!r} "
                f"({first.where}); rename one of them in the source",
            )
        if not ach.texts:
            collector.problem(
                ach.where,
                f"achievement {ach.source_id!r} has no texts in any language Game "
                "Center has a locale for; add them or map a language with --locale-map",
            )
            continue
        if ach.points is not None and ach.points != pts:
            notes.append(f"points {ach.points} → {pts} (rescaled, see the points note)")
        if ach.hidden:
            notes.append("hidden → show_before_earned = false")
        if ach.steps is not None:
            notes.append(
                f"incremental ({ach.steps} steps): Game Center has no steps; the game must report "
                f"progress as a percentage (steps done × 100 / {ach.steps})"
            )
        locales: dict[str, tuple[str, str]] = {}
        ordered = sorted(ach.texts, key=lambda loc: (loc != options.default_locale, loc))
        if options.default_locale not in ach.texts:
            notes.append(f"no {options.default_locale} texts: reference name taken from {ordered[0]}")
        for locale in ordered:
            text = ach.texts[locale]
            name = fit_text(text.name, TEXT_LIMITS["name"])
            if name != text.name.strip():
                notes.append(f"{locale} name cut to {TEXT_LIMITS['name']} characters: {name!r}")
            description = text.description.strip()
            if not description:
                description = text.name.strip()
                notes.append(f"{locale}: no description in the source; the name is used as the description")
            fitted = fit_text(description, TEXT_LIMITS["before_earned_description"])
            if fitted != description:
                notes.append(
                    f"{locale} description cut to {TEXT_LIMITS['before_earned_description']} characters"
                )
            if not name:
                collector.problem(
                    text.where,
                    f"achievement {ach.source_id!r} has an empty {locale} name; give it a name in the source",
                )
            locales[locale] = (name, fitted)
        notes.append(
            "one description → both Game Center descriptions (before and after earned); edit "
            "after_earned_description if it should differ"
        )
        reference = fit_text(ach.texts[ordered[0]].name, TEXT_LIMITS["reference_name"])
        mapped.append(Mapped(ach, vid, reference, pts, locales, notes))
    return mapped


def _toml_string(value: str) -> str:
    """A TOML basic string (escapes quotes, backslashes and control characters)."""
    out = ['"']
    for char in value:
        if char == '"':
            out.append('\\"')
        elif char == "\\":
            out.append("\\\\")
        elif char == "\n":
            out.append("\\n")
        elif char == "\t":
            out.append("\\t")
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\u{ord(char):04X}")
        else:
            out.append(char)
    out.append('"')
    return "".join(out)


def _manifest_data(mapped: list[Mapped], options: ImportOptions, assets: str) -> dict[str, Any]:
    return {
        "app_id": options.app_id,
        "assets": assets,
        "achievement": [
            {
                "vendor_identifier": m.vendor_identifier,
                "reference_name": m.reference_name,
                "points": m.points,
                "show_before_earned": not m.source.hidden,
                "repeatable": False,
                "image": m.source.icon,
                "locales": {
                    locale: {
                        "name": name,
                        "before_earned_description": desc,
                        "after_earned_description": desc,
                    }
                    for locale, (name, desc) in m.locales.items()
                },
            }
            for m in mapped
        ],
    }


def render_manifest(mapped: list[Mapped], options: ImportOptions, source: ImportedSource, assets: str) -> str:
    """The manifest text: TOML (hand-written, stable layout) or JSON, by the output's extension."""
    data = _manifest_data(mapped, options, assets)
    if options.out.suffix.lower() == ".json":
        return json.dumps(data, ensure_ascii=False, indent=2) + "\n"
    lines = [
        f"# Made by `bulkgc import {source.kind}` from {', '.join(Path(i).name for i in source.inputs)}.",
        "# Every lossy or guessed step is in the mapping report (stdout, --report); see docs/IMPORT.md.",
        f"app_id = {_toml_string(options.app_id)}",
        f"assets = {_toml_string(assets)}",
    ]
    for m, ach in zip(mapped, data["achievement"], strict=True):
        lines += [
            "",
            f"# {source.kind}: {m.source.source_id} ({Path(m.source.where).name})",
            "[[achievement]]",
        ]
        for key in (
            "vendor_identifier",
            "reference_name",
            "points",
            "show_before_earned",
            "repeatable",
            "image",
        ):
            value = ach[key]
            if isinstance(value, bool):
                lines.append(f"{key} = {'true' if value else 'false'}")
            elif isinstance(value, int):
                lines.append(f"{key} = {value}")
            elif value is not None:
                lines.append(f"{key} = {_toml_string(value)}")
        for locale, texts in ach["locales"].items():
            lines += ["", f"[achievement.locales.{locale}]"]
            lines += [f"{key} = {_toml_string(value)}" for key, value in texts.items()]
    return "\n".join(lines) + "\n"


def _report(
    source: ImportedSource,
    mapped: list[Mapped],
    notes: list[str],
    options: ImportOptions,
    icons_to_fix: dict[str, str],
) -> dict[str, Any]:
    return {
        "source": source.kind,
        "inputs": source.inputs,
        "manifest": show(options.out),
        "achievements": [
            {
                "source_id": m.source.source_id,
                "where": m.source.where,
                "vendor_identifier": m.vendor_identifier,
                "points": {"source": m.source.points, "manifest": m.points},
                "show_before_earned": not m.source.hidden,
                "locales": list(m.locales),
                "icon": m.source.icon,
                "notes": m.notes,
            }
            for m in mapped
        ],
        "notes": notes,
        "icons_to_fix": [{"icon": name, "problem": why} for name, why in sorted(icons_to_fix.items())],
    }


@dataclass
class ImportResult:
    """What `run_import` wrote and the mapping report (also written as JSON with --report)."""

    manifest: Path
    report: dict[str, Any]

    def summary_lines(self) -> list[str]:
        """The mapping report as the CLI prints it: one block per achievement, then global notes."""
        r = self.report
        achievements = r["achievements"]
        locales = sorted({loc for a in achievements for loc in a["locales"]})
        total = sum(a["points"]["manifest"] for a in achievements)
        lines = [
            f"Imported {len(achievements)} achievement(s) from {r['source']} "
            f"({', '.join(r['inputs'])}) into {r['manifest']}: {len(locales)} locale(s) "
            f"({', '.join(locales)}), {total} points.",
            "Mapping report (every lossy or guessed step):",
        ]
        for a in achievements:
            lines.append(f"  {a['source_id']} → {a['vendor_identifier']} ({a['where']})")
            lines += [f"    - {note}" for note in a["notes"]]
        if r["notes"]:
            lines.append("  all achievements:")
            lines += [f"    - {note}" for note in r["notes"]]
        if r["icons_to_fix"]:
            lines.append(
                f"{len(r['icons_to_fix'])} icon(s) must be fixed before `bulkgc validate` accepts "
                "the manifest (a mechanical fix: --fix-icons will do it once available; until then "
                "convert each to an 8-bit RGB PNG of 512x512 or 1024x1024 without alpha):"
            )
            lines += [f"  - {i['icon']}: {i['problem']}" for i in r["icons_to_fix"]]
        return lines


def _check_icons(
    source: ImportedSource, mapped: list[Mapped], staged: Path | None, collector: Collector
) -> dict[str, str]:
    """Triage each distinct icon; fixable ones are returned (name -> why), others become problems."""
    to_fix: dict[str, str] = {}
    seen: set[str] = set()
    base = staged if staged is not None else source.icons_dir
    for m in mapped:
        name = m.source.icon
        if name is None or name in seen or base is None:
            continue
        seen.add(name)
        verdict = triage_icon(base / name)
        shown = source.icons_display + name
        if verdict.ok:
            continue
        if verdict.fixable:
            to_fix[shown] = verdict.message
        else:
            collector.problem(shown, f"{verdict.message} (icon of {m.source.source_id!r}, {m.source.where})")
    for m in mapped:
        shown = source.icons_display + str(m.source.icon)
        if shown in to_fix:
            m.notes.append(
                f"icon {m.source.icon} needs fixing before validate accepts it (see the icons list)"
            )
    return to_fix


def _relative(target: Path, start: Path) -> str:
    """`target` relative to `start` with forward slashes (the manifest stays portable)."""
    try:
        text = os.path.relpath(target.resolve(), start.resolve())
    except ValueError:  # another drive on Windows
        text = str(target.resolve())
    return text.replace(os.sep, "/")


def _publish(temp: Path, out: Path, force: bool) -> None:
    """Move the finished manifest into place; without `force` never replace an existing file (no race)."""
    if force:
        os.replace(temp, out)
        return
    try:
        os.link(temp, out)
    except FileExistsError:
        raise ImportProblemsError(
            Problem(show(out), "already exists; choose another --out or pass --force to overwrite it")
        ) from None
    except OSError:  # no hard links on this file system: exclusive create instead
        with open(out, "xb") as handle:
            handle.write(temp.read_bytes())
    temp.unlink()


def build_and_write(source: ImportedSource, options: ImportOptions, collector: Collector) -> ImportResult:
    """Map, check and write the manifest (+ extracted icons, --report): all or nothing, every problem."""
    out = options.out
    if out.suffix.lower() not in (".toml", ".json"):
        collector.problem(show(out), "--out must end in .toml or .json (the extension picks the format)")
    elif out.exists() and not options.force:
        collector.problem(show(out), "already exists; choose another --out or pass --force to overwrite it")
    elif not out.parent.is_dir():
        collector.problem(show(out), f"the folder {show(out.parent)} does not exist; create it first")
    if options.report is not None and (options.report.is_dir() or not options.report.parent.is_dir()):
        collector.problem(show(options.report), "--report must name a file in an existing folder")
    global_notes = list(source.notes)
    mapped = _map_achievements(source, options, collector, global_notes)
    extract_dir = out.parent / f"{out.stem}.icons" if source.extract else None
    if extract_dir is not None and extract_dir.exists() and not options.force:
        collector.problem(
            show(extract_dir),
            "already exists (icons from the archive go there); remove it, "
            "choose another --out, or pass --force",
        )
    staged: Path | None = None
    stage_root = out.parent / f".{out.name}.importing-{os.getpid()}"
    try:
        shutil.rmtree(stage_root, ignore_errors=True)  # a leftover of a killed run with the same pid
        if source.extract and out.parent.is_dir():
            staged = stage_root / "icons"
            staged.mkdir(parents=True)
            for name, data in sorted(source.extract.items()):
                (staged / name).write_bytes(data)
        icons_to_fix = _check_icons(source, mapped, staged, collector)
        if collector.problems:
            raise ImportProblemsError(collector.problems)
        icons_dir = extract_dir if extract_dir is not None else source.icons_dir
        assets = _relative(icons_dir, out.parent) if icons_dir is not None else "."
        text = render_manifest(mapped, options, source, assets)
        stage_root.mkdir(exist_ok=True)
        temp = stage_root / out.name
        temp.write_text(text, encoding="utf-8", newline="\n")
        try:  # the manifest must load exactly as `bulkgc validate` will load it; anything else is a bug here
            load_manifest(temp, assets_dir=staged if staged is not None else icons_dir)
        except ManifestError as exc:
            raise ImportProblemsError(
                [
                    Problem(
                        show(out),
                        f"the manifest bulkgc would write is invalid ({p}); "
                        "this is a bug in bulkgc import, please report it",
                    )
                    for p in exc.problems
                ]
            ) from None
        report = _report(source, mapped, global_notes, options, icons_to_fix)
        if staged is not None and extract_dir is not None:
            if options.force and extract_dir.exists():
                shutil.rmtree(extract_dir)
            os.replace(staged, extract_dir)
        _publish(temp, out, options.force)
        if options.report is not None:
            options.report.write_text(
                json.dumps(report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
            )
        return ImportResult(out, report)
    finally:
        shutil.rmtree(stage_root, ignore_errors=True)


def find_icon(icons_dir: Path, names: list[str]) -> str | None:
    """The first of `names` (each tried as given, then with .png/.jpg/.jpeg) that is a file in `icons_dir`."""
    for name in names:
        if not name or "/" in name or "\\" in name or name in (".", ".."):
            continue
        candidates = [name] if Path(name).suffix.lower() in ICON_EXTENSIONS else []
        candidates += [name + ext for ext in ICON_EXTENSIONS]
        for candidate in candidates:
            if (icons_dir / candidate).is_file():
                return candidate
    return None


def validate_vendor_prefix(prefix: str) -> str | None:
    """An error message for a bad --vendor-prefix, or None."""
    if not _PREFIX_RE.fullmatch(prefix):
        return (
            f"--vendor-prefix {prefix!r}: only ASCII letters, digits, '.', '_' and '-' are allowed "
            "(e.g. com.studio.game.)"
        )
    if len(prefix) > MAX_VENDOR_PREFIX:
        return f"--vendor-prefix is {len(prefix)} characters; keep it to {MAX_VENDOR_PREFIX} or fewer"
    return None
