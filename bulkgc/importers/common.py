"""What every importer shares: the source model, the options, problem collection and file reading."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bulkgc.errors import Problem, _ProblemsError
from bulkgc.scan import display_path


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


def read_json(path: Path, display: str, collector: Collector, remedy: str) -> tuple[str, Any] | None:
    """A JSON source file's text and value, or None with a problem (`remedy` says how to get a good file).

    The text comes back too so callers can find element line numbers (jsonlines.element_lines).
    """
    text = read_text(path, display, collector)
    if text is None:
        return None
    try:
        return text, json.loads(text)
    except json.JSONDecodeError as exc:
        collector.problem(
            f"{display}:{exc.lineno}", f"JSON syntax error: {exc.msg} (column {exc.colno}); {remedy}"
        )
    except RecursionError:
        collector.problem(display, "JSON nested too deeply to be an export; check the file")
    return None


def decode_utf8(raw: bytes, display: str, collector: Collector) -> str | None:
    """UTF-8 text of `raw`, or None with a problem naming the line of the first bad byte."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        collector.problem(f"{display}:{line}", f"not valid UTF-8 (byte {exc.start}); save the file as UTF-8")
        return None
    return text[1:] if text.startswith("\ufeff") else text
