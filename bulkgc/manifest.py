"""The desired state: a TOML/JSON manifest of achievements, texts and icons -> a validated `Manifest`."""

from __future__ import annotations

import difflib
import glob
import json
import os
import re
import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bulkgc.errors import ManifestError, Problem
from bulkgc.locales import ASC_LOCALES, is_asc_locale, suggest_locale
from bulkgc.scan import IMAGE_EXTENSIONS, NotRegularFileError, TooLargeError, display_path, read_regular_file

# Limits documented by App Store Connect Help ("Achievements" reference, "Configure achievements").
MAX_ACHIEVEMENTS = 100
MAX_POINTS = 100
MAX_TOTAL_POINTS = 1000
MAX_VENDOR_IDENTIFIER = 100
# Whose each limit is, for messages and for `[limits]`: Apple's documented limits are final; the others are
# bulkgc's guesses and a manifest may change them (`[limits]`).
APPLE_LIMITS: dict[str, str] = {
    "vendor_identifier": f"{MAX_VENDOR_IDENTIFIER} characters",
    "points": f"{MAX_POINTS} points per achievement",
    "total_points": f"{MAX_TOTAL_POINTS} points in total",
    "achievements": f"{MAX_ACHIEVEMENTS} achievements per app",
}
APPLE_DOC = "App Store Connect Help, Achievements"
# Text limits Apple does not publish: conservative values chosen by bulkgc (see docs/MANIFEST.md); a manifest
# may raise or lower them with a [limits] table, e.g. `[limits]` / `name = 100`.
TEXT_LIMITS: dict[str, int] = {
    "reference_name": 64,
    "name": 64,
    "before_earned_description": 255,
    "after_earned_description": 255,
}
#: the most a [limits] entry may say: a sanity bound, not a claim about App Store Connect
MAX_LIMIT_OVERRIDE = 4000
VENDOR_IDENTIFIER_RE = re.compile(r"[A-Za-z0-9._-]+")
APP_ID_RE = re.compile(r"[0-9]+")

# snake_case manifest key -> App Store Connect attribute name (camelCase spellings are accepted as aliases).
ACHIEVEMENT_ATTRIBUTES: dict[str, str] = {
    "vendor_identifier": "vendorIdentifier",
    "reference_name": "referenceName",
    "points": "points",
    "show_before_earned": "showBeforeEarned",
    "repeatable": "repeatable",
}
LOCALIZATION_ATTRIBUTES: dict[str, str] = {
    "locale": "locale",
    "name": "name",
    "before_earned_description": "beforeEarnedDescription",
    "after_earned_description": "afterEarnedDescription",
}
TOP_LEVEL_KEYS = ("app_id", "assets", "include", "defaults", "limits", "achievement", "locales")
# Top-level keys that are arrays of tables: written `[[name]]`; `[name]` (one table) is a common slip.
ARRAY_TABLES = ("achievement",)
DEFAULTS_KEYS = ("points", "show_before_earned", "repeatable")
ACHIEVEMENT_KEYS = (*ACHIEVEMENT_ATTRIBUTES, "image", "locales")
LOCALIZATION_KEYS = ("name", "before_earned_description", "after_earned_description", "image")
_ALIASES = {
    asc: key
    for key, asc in (*ACHIEVEMENT_ATTRIBUTES.items(), *LOCALIZATION_ATTRIBUTES.items(), ("app_id", "appId"))
    if asc != key
}


@dataclass(frozen=True)
class Localization:
    """One achievement's texts and icon for one locale."""

    locale: str
    name: str
    before_earned_description: str
    after_earned_description: str
    image: Path

    def asc_attributes(self) -> dict[str, str]:
        """The attributes of a `gameCenterAchievementLocalizations` create request, in ASC names."""
        return {
            "locale": self.locale,
            "name": self.name,
            "beforeEarnedDescription": self.before_earned_description,
            "afterEarnedDescription": self.after_earned_description,
        }


@dataclass(frozen=True)
class Achievement:
    """One achievement as it should exist in App Store Connect."""

    vendor_identifier: str
    reference_name: str
    points: int
    show_before_earned: bool
    repeatable: bool
    localizations: tuple[Localization, ...]

    def asc_attributes(self) -> dict[str, Any]:
        """The attributes of a `gameCenterAchievements` create request, in ASC names."""
        return {asc: getattr(self, key) for key, asc in ACHIEVEMENT_ATTRIBUTES.items()}

    def localization(self, locale: str) -> Localization | None:
        """The localization for `locale`, or None."""
        return next((loc for loc in self.localizations if loc.locale == locale), None)

    @property
    def locales(self) -> tuple[str, ...]:
        """The locale codes of this achievement, in manifest order."""
        return tuple(loc.locale for loc in self.localizations)


@dataclass(frozen=True)
class Manifest:
    """The validated desired state for one app."""

    path: Path
    app_id: str
    assets_dir: Path
    achievements: tuple[Achievement, ...]

    def images(self) -> tuple[Path, ...]:
        """Every icon path the manifest uses, each once, in manifest order."""
        seen: dict[Path, None] = {}
        for achievement in self.achievements:
            for loc in achievement.localizations:
                seen.setdefault(loc.image, None)
        return tuple(seen)

    @property
    def localization_count(self) -> int:
        """Number of (achievement, locale) pairs."""
        return sum(len(a.localizations) for a in self.achievements)

    @property
    def total_points(self) -> int:
        """Sum of all achievements' points."""
        return sum(a.points for a in self.achievements)

    @property
    def locales(self) -> tuple[str, ...]:
        """Every locale used by any achievement, sorted."""
        return tuple(sorted({loc.locale for a in self.achievements for loc in a.localizations}))

    def achievement(self, vendor_identifier: str) -> Achievement | None:
        """The achievement with this vendor identifier, or None."""
        return next((a for a in self.achievements if a.vendor_identifier == vendor_identifier), None)


# ---------------------------------------------------------------------------------------------------------
# Reading files


@dataclass
class _Source:
    """One parsed manifest file plus what is needed to point at its lines."""

    path: Path
    display: str
    data: Any = None
    # (line, dotted keys, is an [[array]] header) of each table header
    headers: list[tuple[int, tuple[str, ...], bool]] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)  # the TOML text, to point at a key's own line

    def line_of_key(self, table_line: int | None, key: str) -> int | None:
        """Line of `key = ...` in the table whose header is at `table_line`, else `table_line` (a hint)."""
        if table_line is None or not self.lines:
            return table_line
        pattern = re.compile(r"""\s*(?:%s|"%s"|'%s')\s*=""" % ((re.escape(key),) * 3))
        for number in range(table_line + 1, len(self.lines) + 1):
            text = self.lines[number - 1]
            if _HEADER_RE.match(text):
                break
            if pattern.match(text):
                return number
        return table_line

    def line_of_achievement(self, index: int) -> int | None:
        """Line of the `index`-th (1-based) `[[achievement]]` header."""
        arrays = [line for line, keys, is_array in self.headers if is_array and keys == ("achievement",)]
        return arrays[index - 1] if 0 < index <= len(arrays) else None

    def line_of_achievement_locale(self, index: int, locale: str) -> int | None:
        """Line of `[achievement.locales.<locale>]` in the `index`-th achievement, else of its header."""
        start = self.line_of_achievement(index)
        if start is None:
            return None
        following = [
            line for line, keys, arr in self.headers if arr and keys == ("achievement",) and line > start
        ]
        end = following[0] if following else 1 << 30
        for line, keys, _ in self.headers:
            if start < line < end and keys == ("achievement", "locales", locale):
                return line
        return start

    def line_of_table(self, keys: tuple[str, ...]) -> int | None:
        """Line of the first table header whose key path is `keys`."""
        return next((line for line, k, _ in self.headers if k == keys), None)


_HEADER_RE = re.compile(r"^\s*(\[\[?)\s*(.+?)\s*\]\]?\s*(?:#.*)?$")
_KEY_PART_RE = re.compile(r"""\s*(?:"((?:[^"\\]|\\.)*)"|'([^']*)'|([A-Za-z0-9_-]+))\s*(\.|$)""")


def _table_headers(text: str) -> list[tuple[int, tuple[str, ...], bool]]:
    """(line, dotted key path, is array-of-tables) for each TOML table header; a hint for messages only."""
    headers: list[tuple[int, tuple[str, ...], bool]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        match = _HEADER_RE.match(line)
        if not match:
            continue
        body, keys, pos = match.group(2), [], 0
        while pos < len(body):
            part = _KEY_PART_RE.match(body, pos)
            if not part or part.end() == pos:
                break
            keys.append(next(g for g in part.groups()[:3] if g is not None))
            pos = part.end()
        if pos >= len(body) and keys:
            headers.append((number, tuple(keys), match.group(1) == "[["))
    return headers


def _single_bracket_slip(headers: list[tuple[int, tuple[str, ...], bool]]) -> tuple[int, str] | None:
    """(line, name) of the first `[name]` header written with single brackets for an array of tables."""
    for line, keys, is_array in headers:
        if not is_array and len(keys) == 1 and keys[0] in ARRAY_TABLES:
            return line, keys[0]
    return None


def _display(path: Path) -> str:
    """A path as shown in messages: relative to the working directory when below it."""
    try:
        text = str(path.relative_to(Path.cwd())) if path.is_absolute() else str(path)
    except ValueError:
        text = str(path)
    return display_path(text)


MAX_MANIFEST_BYTES = 16 * 1024 * 1024  # a 100-achievement manifest in 40 locales is well under 1 MB


def _read_source(path: Path, problems: list[Problem]) -> _Source | None:
    """Read and parse one TOML or JSON file; syntax problems go to `problems` with line numbers."""
    source = _Source(path=path, display=_display(path))
    suffix = path.suffix.lower()
    if suffix not in (".toml", ".json"):
        problems.append(
            Problem(source.display, "unsupported manifest type; use a .toml or .json file (by extension)")
        )
        return None
    try:
        # only a regular file is opened (a FIFO would block for ever), and never more than the cap is read
        raw = read_regular_file(path, MAX_MANIFEST_BYTES)
    except NotRegularFileError as exc:
        why = f"is {exc.strerror}, not a manifest file; pass the manifest file itself"
        problems.append(Problem(source.display, why))
        return None
    except TooLargeError:
        why = (f"is larger than {MAX_MANIFEST_BYTES // (1024 * 1024)} MB, far more than a manifest needs; "
               "pass the manifest file itself")
        problems.append(Problem(source.display, why))
        return None
    except IsADirectoryError:
        problems.append(Problem(source.display, "is a directory; pass the manifest file itself"))
        return None
    except FileNotFoundError:
        problems.append(Problem(source.display, "file not found; check the path"))
        return None
    except OSError as exc:
        why = f"cannot read the file ({exc.strerror or exc}); check permissions"
        problems.append(Problem(source.display, why))
        return None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        problems.append(
            Problem(f"{source.display}:{line}", f"not valid UTF-8 (byte {exc.start}); save the file as UTF-8")
        )
        return None
    if text.startswith("\ufeff"):
        text = text[1:]
    if suffix == ".toml":
        try:
            source.data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            msg = str(exc)
            found = re.search(r"line (\d+)", msg)
            where = f"{source.display}:{found.group(1)}" if found else source.display
            slip = _single_bracket_slip(_table_headers(text))
            if slip is not None and re.search(r"overwrite|twice|declare", msg, re.IGNORECASE):
                # the parser names where the second table collides, often far below; the cause is the header
                line, name = slip
                problems.append(Problem(
                    f"{source.display}:{line}",
                    f"[{name}] (single brackets) declares one table, so a second {name} cannot follow "
                    f"(TOML: {msg}); write [[{name}]] (double brackets) for each {name}",
                ))
                return None
            if "overwrite" in msg.lower() or "twice" in msg.lower():
                fix = "a key or table is defined twice (e.g. one locale twice in an achievement): keep one"
            else:
                fix = "fix the syntax at that line"
            problems.append(Problem(where, f"TOML syntax error: {msg}; {fix}"))
            return None
        except (ValueError, RecursionError) as exc:
            problems.append(Problem(source.display, f"TOML cannot be parsed: {exc}"))
            return None
        source.headers = _table_headers(text)
        source.lines = text.splitlines()
    else:
        duplicates: list[str] = []

        def pairs_hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
            result: dict[str, Any] = {}
            for key, value in pairs:
                if key in result:
                    duplicates.append(key)
                result[key] = value
            return result

        try:
            source.data = json.loads(text, object_pairs_hook=pairs_hook)
        except json.JSONDecodeError as exc:
            problems.append(
                Problem(
                    f"{source.display}:{exc.lineno}",
                    f"JSON syntax error: {exc.msg} (at line {exc.lineno}, column {exc.colno}); "
                    "fix the syntax",
                )
            )
            return None
        except (ValueError, RecursionError) as exc:
            problems.append(Problem(source.display, f"JSON cannot be parsed: {exc}"))
            return None
        for key in dict.fromkeys(duplicates):
            problems.append(Problem(source.display, f"key {key!r} appears twice in one object; keep one"))
    return source


# ---------------------------------------------------------------------------------------------------------
# Validation


def _closest(word: str, choices: Iterable[str]) -> str | None:
    found = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return found[0] if found else None


def _show(value: Any) -> str:
    """A value as the manifest author wrote it (true/false/null rather than Python spellings)."""
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _type_name(value: Any) -> str:
    names = {bool: "a boolean", int: "an integer", float: "a number", str: "a string", list: "an array"}
    if isinstance(value, dict):
        return "a table"
    if value is None:
        return "null"
    return names.get(type(value), type(value).__name__)


class _Validator:
    """Collects every problem while turning parsed data into dataclasses."""

    def __init__(self, main: _Source, assets_override: Path | None) -> None:
        self.main = main
        self.problems: list[Problem] = []
        self.assets_override = assets_override
        self.assets_dir = Path(".")
        self._asset_names: set[str] | None = None
        self._reported_missing_assets = False
        self.text_limits = dict(TEXT_LIMITS)
        self.overridden: set[str] = set()  # text limits the manifest set ([limits])

    # -- helpers -------------------------------------------------------------------------------------------

    def add(self, source: _Source, line: int | None, where: str, message: str) -> None:
        location = f"{source.display}:{line}" if line else source.display
        if where:
            location += f": {where}"
        self.problems.append(Problem(location, message))

    def keys(
        self,
        table: Mapping[Any, Any],
        allowed: tuple[str, ...],
        report: Callable[[str, str], None],
        prefix: str,
        misspelt: set[str] | None = None,
    ) -> dict[str, Any]:
        """Map aliases to snake_case keys; report unknown keys (with a suggestion) and doubly given ones.

        The known keys that unknown ones were taken for go into `misspelt`, so that the caller does not also
        report them missing: `refrence_name` is one mistake, not two.
        """
        result: dict[str, Any] = {}
        for raw_key, value in table.items():
            key = str(raw_key)
            canonical = _ALIASES.get(key, key)
            if canonical not in allowed:
                guess = _closest(key, [*allowed, *(a for a, k in _ALIASES.items() if k in allowed)])
                guess = _ALIASES.get(guess, guess) if guess else None
                fix = f"did you mean {guess!r}?" if guess else f"allowed keys: {', '.join(allowed)}"
                report(f"{prefix}{key}", f"unknown key {key!r}; {fix}")
                if guess and misspelt is not None:
                    misspelt.add(guess)
                continue
            if canonical in result:
                report(f"{prefix}{key}", f"{canonical!r} is given twice (snake_case and camelCase); keep one")
                continue
            result[canonical] = value
        return result

    @staticmethod
    def unless_misspelt(report: Callable[[str, str], None], misspelt: set[str]) -> Callable[[str, str], None]:
        """`report`, minus "missing" for a key already reported as misspelt (the did-you-mean names it)."""

        def filtered(where: str, message: str) -> None:
            if not (where in misspelt and message.startswith("missing")):
                report(where, message)

        return filtered

    # -- top level -----------------------------------------------------------------------------------------

    def run(self) -> Manifest | None:
        main = self.main
        data = main.data
        if not isinstance(data, dict):
            self.add(main, None, "", f"the top level must be a table/object, not {_type_name(data)}")
            return None

        def top(where: str, message: str) -> None:
            line = main.line_of_table((where,)) if where in ("defaults", "locales") else None
            self.add(main, line, where, message)

        table = self.keys(data, TOP_LEVEL_KEYS, top, "")
        self.limits(table.get("limits"))
        app_id = self.app_id(table.get("app_id"))
        self.resolve_assets_dir(table.get("assets"))
        defaults = self.defaults(table.get("defaults"))
        raw_achievements = table.get("achievement")
        if raw_achievements is None:
            self.add(main, None, "achievement", "no achievements; add at least one [[achievement]] table")
            raw_achievements = []
        elif isinstance(raw_achievements, dict):
            slip = _single_bracket_slip(main.headers)
            self.add(main, slip[0] if slip else None, "achievement",
                     "write [[achievement]] (double brackets: an array of tables, one per achievement)")
            raw_achievements = []
        elif not isinstance(raw_achievements, list):
            why = f"must be an array of tables, not {_type_name(raw_achievements)}"
            self.add(main, None, "achievement", why)
            raw_achievements = []

        drafts = [self.achievement(i, raw, defaults) for i, raw in enumerate(raw_achievements, start=1)]
        by_vid: dict[str, _Draft] = {}
        for draft in drafts:
            if draft is None or draft.vendor_identifier is None:
                continue
            first = by_vid.get(draft.vendor_identifier)
            if first is not None:
                self.add(
                    main, draft.line, draft.label,
                    f"duplicate vendor_identifier; already used by {first.label}",
                )
            else:
                by_vid[draft.vendor_identifier] = draft

        self.locale_tables(main, table.get("locales"), by_vid)
        for include in self.includes(table.get("include")):
            self.locale_tables(include, include.data.get("locales"), by_vid)

        achievements: list[Achievement] = []
        for draft in drafts:
            if draft is None:
                continue
            if not draft.localizations and not draft.had_locale_entries:
                self.add(
                    main,
                    draft.line,
                    draft.label,
                    "no localization; add at least one [achievement.locales.<locale>] table "
                    "(App Store Connect requires one language)",
                )
            achievement = draft.build()
            if achievement is not None:
                achievements.append(achievement)

        if len(raw_achievements) > MAX_ACHIEVEMENTS:
            self.add(
                main,
                None,
                "achievement",
                f"{len(raw_achievements)} achievements; App Store Connect allows at most {MAX_ACHIEVEMENTS} "
                f"per app (Apple's documented limit, {APPLE_DOC}): remove some or split them into another "
                "app",
            )
        total = sum(d.points for d in drafts if d is not None and d.points is not None)
        if total > MAX_TOTAL_POINTS:
            self.add(
                main,
                None,
                "points",
                f"achievements add up to {total} points; App Store Connect allows at most {MAX_TOTAL_POINTS} "
                f"in total (Apple's documented limit, {APPLE_DOC}): lower some points",
            )
        if self.problems or app_id is None:
            return None
        return Manifest(
            path=main.path, app_id=app_id, assets_dir=self.assets_dir, achievements=tuple(achievements)
        )

    def app_id(self, value: Any) -> str | None:
        if value is None:
            why = 'missing; add app_id = "1234567890" (the App Store Connect app id)'
            self.add(self.main, None, "app_id", why)
            return None
        if isinstance(value, int) and not isinstance(value, bool):
            self.add(self.main, None, "app_id", f'must be a string of digits; write app_id = "{value}"')
            return None
        if not isinstance(value, str) or not APP_ID_RE.fullmatch(value):
            self.add(
                self.main,
                None,
                "app_id",
                "must be the numeric App Store Connect app id as a string (e.g. \"1234567890\"), "
                f"got {_show(value)}",
            )
            return None
        return value

    def resolve_assets_dir(self, value: Any) -> None:
        base = self.main.path.parent
        if self.assets_override is not None:
            self.assets_dir = Path(self.assets_override)
        elif value is None:
            self.assets_dir = base / "assets"
        elif isinstance(value, str) and value.strip():
            self.assets_dir = Path(os.path.normpath(base / value))
        else:
            why = "must be a non-empty string: a directory relative to the manifest"
            self.add(self.main, None, "assets", why)
            self.assets_dir = base / "assets"

    def asset_names(self) -> set[str] | None:
        """Names of the files directly in the assets directory (listed once), or None if it is unreadable."""
        if self._asset_names is None:
            try:
                self._asset_names = set(os.listdir(self.assets_dir))
            except (OSError, ValueError):
                return None
        return self._asset_names

    def defaults(self, value: Any) -> dict[str, Any]:
        if value is None:
            return {}
        line = self.main.line_of_table(("defaults",))
        if not isinstance(value, dict):
            self.add(self.main, line, "defaults", f"must be a table, not {_type_name(value)}")
            return {}
        table = self.keys(value, DEFAULTS_KEYS, lambda w, m: self.add(self.main, line, w, m), "defaults.")
        result: dict[str, Any] = {}
        for key, item in table.items():
            checked = self.field_value(
                key, item, lambda m, k=key: self.add(self.main, line, f"defaults.{k}", m)
            )
            if checked is not None:
                result[key] = checked
        return result

    def limits(self, value: Any) -> None:
        """`[limits]`: change bulkgc's own text limits; Apple's documented limits cannot be changed."""
        if value is None:
            return
        line = self.main.line_of_table(("limits",))
        if not isinstance(value, dict):
            why = f"must be a table of field = characters, not {_type_name(value)}"
            self.add(self.main, line, "limits", why)
            return
        for key, limit in value.items():
            key = str(key)
            where = f"limits.{key}"
            key_line = self.main.line_of_key(line, key)
            if key in APPLE_LIMITS:
                self.add(self.main, key_line, where,
                         f"{APPLE_LIMITS[key]} is App Store Connect's documented limit ({APPLE_DOC}); "
                         "it cannot be changed: remove this line")
                continue
            if key not in TEXT_LIMITS:
                guess = _closest(key, TEXT_LIMITS)
                fix = f"did you mean {guess!r}?" if guess else f"bulkgc's limits: {', '.join(TEXT_LIMITS)}"
                self.add(self.main, key_line, where, f"unknown limit {key!r}; {fix}")
                continue
            if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT_OVERRIDE:
                self.add(self.main, key_line, where,
                         f"must be a number of characters 1..{MAX_LIMIT_OVERRIDE}, not {_show(limit)}")
                continue
            self.text_limits[key] = limit
            self.overridden.add(key)

    def field_value(self, key: str, value: Any, report: Callable[[str], None]) -> Any:
        """Type- and range-check points / show_before_earned / repeatable; None when invalid."""
        if key == "points":
            if isinstance(value, bool) or not isinstance(value, int):
                report(f"must be an integer 0..{MAX_POINTS}, not {_type_name(value)} ({_show(value)})")
                return None
            if not 0 <= value <= MAX_POINTS:
                report(f"{value} is out of range; App Store Connect allows 0..{MAX_POINTS} points each "
                       f"(Apple's documented limit, {APPLE_DOC})")
                return None
            return value
        if not isinstance(value, bool):
            fix = "true" if value in (1, "true", "yes", "True") else "false"
            report(f"must be true or false, not {_type_name(value)} ({_show(value)}); write {key} = {fix}")
            return None
        return value

    def includes(self, value: Any) -> list[_Source]:
        """Parse every file named by `include` (glob patterns relative to the manifest)."""
        if value is None:
            return []
        patterns = [value] if isinstance(value, str) else value
        if not isinstance(patterns, list) or not all(isinstance(p, str) and p for p in patterns):
            why = 'must be a list of file names or patterns, e.g. ["locales/*.toml"]'
            self.add(self.main, None, "include", why)
            return []
        sources: list[_Source] = []
        seen: set[Path] = set()
        base = self.main.path.parent
        for pattern in patterns:
            full = str(base / pattern)
            try:
                if glob.has_magic(full):
                    matches = sorted(glob.glob(full))
                else:
                    matches = [full] if os.path.exists(full) else []
            except (OSError, ValueError, RecursionError):
                matches = []
            if not matches:
                self.add(self.main, None, "include", f"{pattern!r} matches no file; check the pattern")
                continue
            for match in matches:
                path = Path(os.path.normpath(match))
                if path in seen or path == self.main.path:
                    continue
                seen.add(path)
                parsed = _read_source(path, self.problems)
                if parsed is None:
                    continue
                if not isinstance(parsed.data, dict):
                    self.add(parsed, None, "", "an included file must be a table of [locales...] tables")
                    continue
                extra = [k for k in parsed.data if k != "locales"]
                for key in extra:
                    self.add(
                        parsed, None, str(key),
                        "an included file may only hold [locales.<locale>.<vendor_identifier>] tables; "
                        "move this key to the main manifest",
                    )
                sources.append(parsed)
        return sources

    # -- achievements --------------------------------------------------------------------------------------

    def achievement(self, index: int, raw: Any, defaults: dict[str, Any]) -> _Draft | None:
        line = self.main.line_of_achievement(index)
        label = f"achievement[{index}]"
        if not isinstance(raw, dict):
            self.add(self.main, line, label, f"must be a table, not {_type_name(raw)}")
            return None
        vid_raw = raw.get("vendor_identifier", raw.get("vendorIdentifier"))
        if isinstance(vid_raw, str) and vid_raw:
            label += f" (vendor_identifier {json.dumps(vid_raw, ensure_ascii=False)})"
        draft = _Draft(self, index, line, label)

        def report_any(where: str, message: str) -> None:
            key_line = self.main.line_of_key(line, where.split(".", 1)[0])
            self.add(self.main, key_line, f"{label}.{where}", message)

        misspelt: set[str] = set()
        table = self.keys(raw, ACHIEVEMENT_KEYS, report_any, "", misspelt)
        report = self.unless_misspelt(report_any, misspelt)
        draft.vendor_identifier = self.vendor_identifier(table.get("vendor_identifier"), report)
        draft.reference_name = self.text("reference_name", table.get("reference_name"), report)
        for key in ("points", "show_before_earned", "repeatable"):
            if key in table:
                setattr(draft, key, self.field_value(key, table[key], lambda m, k=key: report(k, m)))
            elif key in defaults:
                setattr(draft, key, defaults[key])
            else:
                example = "points = 10" if key == "points" else f"{key} = false"
                report(key, f"missing; set {example} here or in [defaults]")
        draft.image = self.image_value(table.get("image"), lambda m: report("image", m))
        if draft.image is not None:
            # checked once, here: a missing file is one problem at this line, not one per locale using it
            found = self.resolve_image(draft.image, None, "", lambda m: report("image", m))
            draft.image_ok = found is not None
        locales = table.get("locales")
        if locales is not None:
            if not isinstance(locales, dict):
                report("locales", f"must be a table of locale tables, not {_type_name(locales)}")
            else:
                for code, texts in locales.items():
                    draft.had_locale_entries = True
                    loc_line = self.main.line_of_achievement_locale(index, str(code))
                    draft.add_localization(self.main, loc_line, f"{label}.locales.{code}", str(code), texts)
        return draft

    def vendor_identifier(self, value: Any, report: Callable[[str, str], None]) -> str | None:
        if value is None:
            report("vendor_identifier", 'missing; add vendor_identifier = "com.example.game.first_win"')
            return None
        if not isinstance(value, str):
            report("vendor_identifier", f"must be a string, not {_type_name(value)}")
            return None
        if not value:
            report("vendor_identifier", "is empty; give the achievement id used by GameKit in your game")
            return None
        problems = []
        if len(value) > MAX_VENDOR_IDENTIFIER:
            problems.append(f"is {len(value)} characters; App Store Connect allows {MAX_VENDOR_IDENTIFIER} "
                            f"(Apple's documented limit, {APPLE_DOC})")
        if not VENDOR_IDENTIFIER_RE.fullmatch(value):
            bad = sorted({c for c in value if not VENDOR_IDENTIFIER_RE.fullmatch(c)})
            problems.append(
                f"contains {', '.join(repr(c) for c in bad)}; "
                "use only ASCII letters, digits, '.', '_' and '-'"
            )
        if problems:
            report("vendor_identifier", "; ".join(problems))
            return None
        return value

    def text(self, key: str, value: Any, report: Callable[[str, str], None]) -> str | None:
        limit = self.text_limits[key]
        if value is None:
            report(key, f"missing; add {key} = \"...\"")
            return None
        if not isinstance(value, str):
            report(key, f"must be a string, not {_type_name(value)}")
            return None
        if not value.strip():
            report(key, "is empty; write the text")
            return None
        if len(value) > limit:
            if key in self.overridden:
                report(key, f"is {len(value)} characters; the limit is {limit}, set by [limits] {key} in "
                            "this manifest: shorten it")
            else:
                report(key, f"is {len(value)} characters; bulkgc's own limit is {limit} (Apple documents "
                            f"none for {key}): shorten it, or raise it with [limits] {key} = {len(value)} if "
                            "App Store Connect accepts it")
            return None
        return value

    def image_value(self, value: Any, report: Callable[[str], None]) -> str | None:
        if value is None:
            return None
        if not isinstance(value, str) or not value.strip():
            report(f"must be a non-empty string (a file in the assets directory), not {_show(value)}")
            return None
        return value

    def resolve_image(
        self, explicit: str | None, vendor_identifier: str | None, locale: str, report: Callable[[str], None]
    ) -> Path | None:
        """The explicit `image` (localization's or achievement's), else the naming convention."""
        if explicit is not None:
            path = Path(os.path.normpath(self.assets_dir / explicit))
            try:
                # A link loop, a broken link or a directory is "there": the icon check says what is wrong.
                found = path.is_file() or path.is_symlink() or path.exists()
            except (OSError, ValueError):
                found = False
            if not found:
                report(
                    f"image {explicit!r} not found (looked for {_display(path)}); image paths are relative "
                    f"to the assets directory {_display(self.assets_dir)}"
                )
                return None
            return path
        if vendor_identifier is None:
            return None
        names = self.asset_names()
        if names is None:
            if not self._reported_missing_assets:  # once, not once per localization
                self._reported_missing_assets = True
                self.add(
                    self.main, None, "assets",
                    f"the assets directory {_display(self.assets_dir)} does not exist or cannot be listed, "
                    "so icons cannot be found by name: create it, set `assets` in the manifest or pass --assets",
                )
            return None
        candidates = [f"{vendor_identifier}.{locale}{ext}" for ext in IMAGE_EXTENSIONS]
        candidates += [f"{vendor_identifier}{ext}" for ext in IMAGE_EXTENSIONS]
        for tier in (candidates[:3], candidates[3:]):
            present = [name for name in tier if name in names]
            if len(present) > 1:
                report(
                    f"ambiguous image: {', '.join(present)} all exist in {_display(self.assets_dir)}; "
                    "remove all but one or set image = \"...\""
                )
                return None
            if present:
                return self.assets_dir / present[0]
        report(
            f"no image found: set image = \"...\" or add {candidates[0]} (this locale) or "
            f"{candidates[3]} (all locales) to {_display(self.assets_dir)}"
        )
        return None

    # -- top-level / included locale tables ---------------------------------------------------------------

    def locale_tables(self, source: _Source, value: Any, by_vid: dict[str, _Draft]) -> None:
        """`[locales.<locale>.<vendor_identifier>]` tables: texts for one locale, grouped per locale."""
        if value is None:
            return
        if not isinstance(value, dict):
            self.add(source, None, "locales", f"must be a table keyed by locale, not {_type_name(value)}")
            return
        for code, per_vid in value.items():
            code = str(code)
            if not isinstance(per_vid, dict):
                line = source.line_of_table(("locales", code))
                self.add(source, line, f"locales.{code}", "must be a table keyed by vendor_identifier")
                continue
            for vid, texts in per_vid.items():
                vid = str(vid)
                where = f"locales.{code}.{json.dumps(vid, ensure_ascii=False)}"
                line = source.line_of_table(("locales", code, vid)) or source.line_of_table(("locales", code))
                draft = by_vid.get(vid)
                if draft is None:
                    guess = _closest(vid, by_vid)
                    fix = f"did you mean {guess!r}?" if guess else "add the [[achievement]] or fix the id"
                    self.add(source, line, where, f"no achievement has vendor_identifier {vid!r}; {fix}")
                    continue
                draft.had_locale_entries = True
                draft.add_localization(source, line, where, code, texts)


@dataclass
class _Draft:
    """An achievement being assembled; fields stay None when invalid."""

    validator: _Validator
    index: int
    line: int | None
    label: str
    vendor_identifier: str | None = None
    reference_name: str | None = None
    points: int | None = None
    show_before_earned: bool | None = None
    repeatable: bool | None = None
    image: str | None = None
    image_ok: bool = True  # False when `image` was reported missing (its locales then say nothing more)
    had_locale_entries: bool = False
    localizations: dict[str, Localization | None] = field(default_factory=dict)

    def add_localization(self, source: _Source, line: int | None, where: str, code: str, raw: Any) -> None:
        v = self.validator

        def report_any(key: str, message: str) -> None:
            key_line = source.line_of_key(line, key) if key else line
            v.add(source, key_line, f"{where}.{key}" if key else where, message)

        misspelt: set[str] = set()
        report = v.unless_misspelt(report_any, misspelt)
        if not is_asc_locale(code):
            guess = suggest_locale(code)
            fix = f"did you mean {guess!r}?" if guess else f"use one of: {', '.join(ASC_LOCALES)}"
            report("", f"{code!r} is not a locale App Store Connect accepts; {fix}")
            self.localizations.setdefault(code, None)
            return
        if code in self.localizations:
            report("", f"duplicate locale {code}: this achievement already has {code} texts; keep one")
            return
        self.localizations[code] = None
        if not isinstance(raw, dict):
            report("", f"must be a table with name, before_earned_description, after_earned_description, "
                   f"not {_type_name(raw)}")
            return
        table = v.keys(raw, LOCALIZATION_KEYS, report_any, "", misspelt)
        texts = {key: v.text(key, table.get(key), report) for key in LOCALIZATION_KEYS if key != "image"}
        explicit = v.image_value(table.get("image"), lambda m: report("image", m))
        if "image" in table and explicit is None:
            return
        if explicit is None and self.image is not None and not self.image_ok:
            return  # the achievement's image is missing: reported once, at the achievement
        image = v.resolve_image(
            explicit if explicit is not None else self.image, self.vendor_identifier, code,
            lambda m: report("image", m),
        )
        if image is None or None in texts.values():
            return
        self.localizations[code] = Localization(
            locale=code,
            name=texts["name"],  # type: ignore[arg-type]
            before_earned_description=texts["before_earned_description"],  # type: ignore[arg-type]
            after_earned_description=texts["after_earned_description"],  # type: ignore[arg-type]
            image=image,
        )

    def build(self) -> Achievement | None:
        if None in (self.vendor_identifier, self.reference_name, self.points, self.show_before_earned,
                    self.repeatable) or not self.localizations or None in self.localizations.values():
            return None
        return Achievement(
            vendor_identifier=self.vendor_identifier,  # type: ignore[arg-type]
            reference_name=self.reference_name,  # type: ignore[arg-type]
            points=self.points,  # type: ignore[arg-type]
            show_before_earned=self.show_before_earned,  # type: ignore[arg-type]
            repeatable=self.repeatable,  # type: ignore[arg-type]
            localizations=tuple(self.localizations.values()),  # type: ignore[arg-type]
        )


# ---------------------------------------------------------------------------------------------------------
# Public entry points


def load_manifest(
    path: str | os.PathLike[str], *, assets_dir: str | os.PathLike[str] | None = None
) -> Manifest:
    """Read and validate a manifest (.toml or .json, chosen by extension).

    `assets_dir` overrides the manifest's `assets` key. Raises one `ManifestError` listing every problem.
    """
    manifest_path = Path(path)
    problems: list[Problem] = []
    source = _read_source(manifest_path, problems)
    if source is None:
        raise ManifestError(problems, source=_display(manifest_path))
    return _validate(source, assets_dir, problems)


def parse_manifest(
    data: Any, *, path: str | os.PathLike[str], assets_dir: str | os.PathLike[str] | None = None
) -> Manifest:
    """Validate already-parsed data as if read from `path` (includes are resolved from there)."""
    manifest_path = Path(path)
    return _validate(_Source(path=manifest_path, display=_display(manifest_path), data=data), assets_dir)


def _validate(
    source: _Source, assets_dir: str | os.PathLike[str] | None, earlier: list[Problem] | None = None
) -> Manifest:
    validator = _Validator(source, Path(assets_dir) if assets_dir is not None else None)
    validator.problems.extend(earlier or [])
    try:
        manifest = validator.run()
    except RecursionError:  # absurdly nested input; never a traceback
        validator.problems.append(Problem(source.display, "the data is nested too deeply to validate"))
        manifest = None
    if manifest is None:
        raise ManifestError(validator.problems or [Problem(source.display, "invalid manifest")],
                            source=source.display)
    return manifest
