"""The desired state: a TOML/JSON manifest of Game Center items (kinds of `bulkgc.kinds`) -> `Manifest`."""

from __future__ import annotations

import datetime as dt
import difflib
import glob
import json
import os
import re
import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any

from bulkgc.errors import ManifestError, Problem
from bulkgc.gamekit import RESOURCES_FILE, is_gamekit, read_gamekit, resources_file
from bulkgc.kinds import KINDS, Kind
from bulkgc.kinds.model import DURATION_RE, VENDOR_IDENTIFIER_RE, Attribute, ImageRule, Reference
from bulkgc.locales import ASC_LOCALES, is_asc_locale, suggest_locale
from bulkgc.scan import IMAGE_EXTENSIONS, NotRegularFileError, TooLargeError, display_path, read_regular_file


# Whose each limit is, for messages and for `[limits]`: Apple's documented limits are final; the others are
# bulkgc's guesses (each kind's declaration says which) and a manifest may change them (`[limits]`). A field
# may be Apple's in one kind and bulkgc's in another (a challenge's reference name is documented, 255; the
# others' are not): `[limits]` then changes bulkgc's, and the documented one stays with its kind.
def _own_limits(kind: Kind) -> dict[str, int]:
    """bulkgc's own (undocumented by Apple) length limits of a kind, by manifest key."""
    limits = {a.key: a.limit for a in kind.attributes
              if a.type == "string" and a.limit is not None and a.limit_source != "Apple"}
    limits.update({t.key: t.limit for t in kind.texts if not t.enum and t.limit_source != "Apple"})
    return limits


_OWN_KEYS = {key for k in KINDS for key in _own_limits(k)}
APPLE_LIMITS: dict[str, str] = {
    **{a.key: f"{a.limit} characters" for k in KINDS for a in k.attributes
       if a.type == "string" and a.limit is not None and a.limit_source == "Apple"
       and a.key not in _OWN_KEYS},
    **{a.key: f"{a.limit} {a.key} per {k.name}" for k in KINDS for a in k.attributes
       if a.type == "integer" and a.limit is not None and a.limit_source == "Apple"},
    **{f"total_{key}": f"{maximum} {key} in total" for k in KINDS for key, maximum in k.totals},
    **{k.plural: f"{k.max_items} {k.plural} per app" for k in KINDS},
}
#: the most a [limits] entry may say: a sanity bound, not a claim about App Store Connect
MAX_LIMIT_OVERRIDE = 4000
APP_ID_RE = re.compile(r"[0-9]+")
#: manifest keys besides the kinds' own sections
TOP_LEVEL_KEYS = ("app_id", "assets", "include", "defaults", "limits",
                  *(k.name for k in KINDS), *dict.fromkeys(k.locales_section for k in KINDS))
#: attributes that may be given once in [defaults] for every item of a kind that has them
DEFAULTS_KEYS = tuple(dict.fromkeys(a.key for k in KINDS for a in k.attributes if a.in_defaults))
#: top-level keys that are arrays of tables: written `[[name]]`; `[name]` (one table) is a common slip
ARRAY_TABLES = tuple(k.name for k in KINDS)


def text_limits(kind: Kind) -> dict[str, int]:
    """Length limits of a kind's string attributes and texts, by manifest key (before any `[limits]`)."""
    limits = {a.key: a.limit for a in kind.attributes if a.type == "string" and a.limit is not None}
    limits.update({t.key: t.limit for t in kind.texts if not t.enum})
    return limits


#: bulkgc's own text limits, which a manifest's `[limits]` may change (the same key in every kind that has it)
TEXT_LIMITS: dict[str, int] = {key: limit for k in KINDS for key, limit in _own_limits(k).items()}


@dataclass(frozen=True)
class Localization:
    """One item's texts and icon for one locale."""

    locale: str
    texts: Mapping[str, Any]  # manifest key -> text; None for an optional text left out
    image: Path | None  # None only where the kind's icon is optional

    def __getitem__(self, key: str) -> Any:
        return self.texts[key]


@dataclass(frozen=True)
class Item:
    """One achievement, leaderboard, ... as it should exist in App Store Connect."""

    kind: Kind = field(repr=False)
    vendor_identifier: str
    attributes: Mapping[str, Any]  # manifest key -> value (None: optional and left out), every declared one
    localizations: tuple[Localization, ...]
    version_attributes: Mapping[str, Any] = field(default_factory=dict)  # the same, for the version's
    references: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # reference key -> vendor ids
    default_image: Path | None = None  # the version's default image (kinds that have one); None: left alone

    def __getitem__(self, key: str) -> Any:
        return self.attributes[key]

    def localization(self, locale: str) -> Localization | None:
        """The localization for `locale`, or None."""
        return next((loc for loc in self.localizations if loc.locale == locale), None)

    @property
    def locales(self) -> tuple[str, ...]:
        """The locale codes of this item, in manifest order."""
        return tuple(loc.locale for loc in self.localizations)


@dataclass(frozen=True)
class Manifest:
    """The validated desired state for one app."""

    path: Path
    app_id: str
    assets_dir: Path
    items: tuple[Item, ...]  # every kind's items, kind by kind in registry order, manifest order within
    warnings: tuple[str, ...] = ()  # things worth saying that do not stop a push (unknown keys of a gamekit)
    # sha256 of a file `bulkgc pull` wrote -> (fileName, fileSize) of the remote image it stands for
    image_aliases: Mapping[str, frozenset[tuple[str, int]]] = field(default_factory=dict)

    def of_kind(self, name: str) -> tuple[Item, ...]:
        """The items of the kind called `name`."""
        return tuple(i for i in self.items if i.kind.name == name)

    def item(self, kind: str, vendor_identifier: str) -> Item | None:
        """The item of `kind` with this vendor identifier, or None."""
        return next((i for i in self.of_kind(kind) if i.vendor_identifier == vendor_identifier), None)

    def images(self) -> tuple[Path, ...]:
        """Every image path the manifest uses (icons, localized and default images), once, in order."""
        return tuple(self.image_sizes())

    def image_sizes(self) -> dict[Path, tuple[tuple[int, int], ...]]:
        """Every image path with the pixel sizes it may have: those of every slot it fills (kinds differ)."""
        sizes: dict[Path, tuple[tuple[int, int], ...]] = {}

        def use(path: Path | None, rule: ImageRule | None) -> None:
            if path is None or rule is None:
                return
            have = sizes.get(path)
            sizes[path] = rule.sizes if have is None else tuple(s for s in have if s in rule.sizes)

        for item in self.items:
            for loc in item.localizations:
                use(loc.image, item.kind.image)
            use(item.default_image, item.kind.default_image)
        return sizes

    @property
    def localization_count(self) -> int:
        """Number of (item, locale) pairs."""
        return sum(len(i.localizations) for i in self.items)

    @property
    def locales(self) -> tuple[str, ...]:
        """Every locale used by any item, sorted."""
        return tuple(sorted({loc.locale for i in self.items for loc in i.localizations}))


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
    _indexed: tuple[dict[str, list[int]], dict[tuple[int, str, str], int]] | None = field(
        default=None, repr=False, compare=False)

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

    def line_of_item(self, section: str, index: int) -> int | None:
        """Line of the `index`-th (1-based) `[[section]]` header."""
        arrays = self._index()[0].get(section, [])
        return arrays[index - 1] if 0 < index <= len(arrays) else None

    def line_of_item_locale(self, section: str, index: int, locale: str) -> int | None:
        """Line of `[section.locales.<locale>]` in the `index`-th item, else of its header."""
        start = self.line_of_item(section, index)
        if start is None:
            return None
        return self._index()[1].get((start, section, locale), start)

    def _index(self) -> tuple[dict[str, list[int]], dict[tuple[int, str, str], int]]:
        """The headers indexed once (a manifest of thousands of localizations asks for each one's line):
        each section's `[[section]]` lines, and (item's header line, section, locale) -> the line of its
        first `[section.locales.<locale>]`, counted as the item's when it comes before the next `[[...]]`."""
        if self._indexed is None:
            arrays: dict[str, list[int]] = {}
            locales: dict[tuple[int, str, str], int] = {}
            current: int | None = None  # the line of the latest one-key [[...]] header
            for line, keys, is_array in self.headers:
                if is_array and len(keys) == 1:
                    arrays.setdefault(keys[0], []).append(line)
                    current = line
                elif current is not None and len(keys) == 3 and keys[1] == "locales":
                    locales.setdefault((current, keys[0], keys[2]), line)
            self._indexed = (arrays, locales)
        return self._indexed

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

    def __init__(
        self, main: _Source, assets_override: Path | None, *, app_id: str | None = None,
        app_id_optional: bool = False, allow_empty: bool = False,
        translate: Callable[[str, str], tuple[str, str] | None] | None = None,
    ) -> None:
        self.main = main
        self.app_id_given = app_id
        self.app_id_optional = app_id_optional
        self.allow_empty = allow_empty
        self.translate = translate
        self.problems: list[Problem] = []
        self.assets_override = assets_override
        self.assets_dir = Path(".")
        self._asset_names: dict[str, set[str] | None] = {}
        self._reported_missing_assets = False
        self.text_limits = dict(TEXT_LIMITS)
        self.overridden: set[str] = set()  # text limits the manifest set ([limits])

    # -- helpers -------------------------------------------------------------------------------------------

    def add(self, source: _Source, line: int | None, where: str, message: str) -> None:
        if self.translate is not None:
            translated = self.translate(where, message)
            if translated is None:  # the gamekit reader already said it, better
                return
            where, message = translated
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
        aliases: Mapping[str, str] | None = None,
        misspelt: set[str] | None = None,
    ) -> dict[str, Any]:
        """Map aliases to snake_case keys; report unknown keys (with a suggestion) and doubly given ones.

        The known keys that unknown ones were taken for go into `misspelt`, so that the caller does not also
        report them missing: `refrence_name` is one mistake, not two.
        """
        aliases = aliases or {}
        result: dict[str, Any] = {}
        for raw_key, value in table.items():
            key = str(raw_key)
            canonical = aliases.get(key, key)
            if canonical not in allowed:
                guess = _closest(key, [*allowed, *(a for a, k in aliases.items() if k in allowed)])
                guess = aliases.get(guess, guess) if guess else None
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
            line = main.line_of_table((where,)) if where in ("defaults", *TOP_LEVEL_KEYS[4:]) else None
            self.add(main, line, where, message)

        table = self.keys(data, TOP_LEVEL_KEYS, top, "", {"appId": "app_id"})
        self.limits(table.get("limits"))
        app_id = self.app_id(table.get("app_id"))
        self.resolve_assets_dir(table.get("assets"))
        defaults = self.defaults(table.get("defaults"))
        if not self.allow_empty and not any(table.get(k.name) is not None for k in KINDS):
            sections = " or ".join(f"[[{k.name}]]" for k in KINDS)
            self.add(main, None, KINDS[0].name, f"nothing to push; add at least one {sections} table")
        includes = self.includes(table.get("include"))
        items: list[Item] = []
        for kind in KINDS:
            items += self.kind_items(kind, table, defaults, includes)
        if self.problems or app_id is None:
            return None
        return Manifest(path=main.path, app_id=app_id, assets_dir=self.assets_dir, items=tuple(items))

    def kind_items(
        self, kind: Kind, table: dict[str, Any], defaults: dict[str, Any], includes: list[_Source]
    ) -> list[Item]:
        """The validated items of one kind: its [[kind]] tables plus the locale tables that name them."""
        main = self.main
        raw_items = table.get(kind.name)
        if raw_items is None:
            raw_items = []
        elif isinstance(raw_items, dict):
            slip = _single_bracket_slip(main.headers)
            self.add(main, slip[0] if slip else None, kind.name,
                     f"write [[{kind.name}]] (double brackets: an array of tables, one per {kind.name})")
            raw_items = []
        elif not isinstance(raw_items, list):
            self.add(main, None, kind.name, f"must be an array of tables, not {_type_name(raw_items)}")
            raw_items = []

        drafts = [self.item(kind, i, raw, defaults) for i, raw in enumerate(raw_items, start=1)]
        by_vid: dict[str, _Draft] = {}
        for draft in drafts:
            if draft is None or draft.vendor_identifier is None:
                continue
            first = by_vid.get(draft.vendor_identifier)
            if first is not None:
                why = f"duplicate vendor_identifier; already used by {first.label}"
                self.add(main, draft.line, draft.label, why)
            else:
                by_vid[draft.vendor_identifier] = draft

        self.locale_tables(kind, main, table.get(kind.locales_section), by_vid)
        for include in includes:
            self.locale_tables(kind, include, include.data.get(kind.locales_section), by_vid)

        items: list[Item] = []
        for draft in drafts:
            if draft is None:
                continue
            if not draft.localizations and not draft.had_locale_entries:
                self.add(
                    main, draft.line, draft.label,
                    f"no localization; add at least one [{kind.name}.locales.<locale>] table "
                    "(App Store Connect requires one language)",
                )
            item = draft.build()
            if item is not None:
                items.append(item)

        if len(raw_items) > kind.max_items:
            self.add(
                main, None, kind.name,
                f"{len(raw_items)} {kind.plural}; App Store Connect allows at most {kind.max_items} per app "
                f"(Apple's documented limit, {kind.doc}): remove some or split them into another app",
            )
        for key, maximum in kind.totals:
            total = sum(d.values.get(key) or 0 for d in drafts if d is not None)
            if total > maximum:
                self.add(
                    main, None, key,
                    f"{kind.plural} add up to {total} {key}; App Store Connect allows at most {maximum} "
                    f"in total (Apple's documented limit, {kind.doc}): lower some {key}",
                )
        return items

    def app_id(self, value: Any) -> str | None:
        given = self.app_id_given
        if value is not None and given is not None and value != given:
            why = f"{_show(value)} differs from --app-id {given}; remove one of them"
            self.add(self.main, None, "app_id", why)
            return None
        if value is None and given is not None:
            return given
        if value is None and self.app_id_optional:
            return ""  # looked up by bundle id later
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

    def asset_names(self, folder: str = "") -> set[str] | None:
        """Names of the files in the assets directory's `folder` (listed once); None if unreadable."""
        if folder not in self._asset_names:
            try:
                self._asset_names[folder] = set(os.listdir(self.assets_dir / folder))
            except (OSError, ValueError):
                self._asset_names[folder] = None
        return self._asset_names[folder]

    def defaults(self, value: Any) -> dict[str, Any]:
        if value is None:
            return {}
        line = self.main.line_of_table(("defaults",))
        if not isinstance(value, dict):
            self.add(self.main, line, "defaults", f"must be a table, not {_type_name(value)}")
            return {}
        aliases = {a.asc: a.key for k in KINDS for a in k.attributes if a.in_defaults and a.asc != a.key}
        table = self.keys(value, DEFAULTS_KEYS, partial(self.add, self.main, line), "defaults.", aliases)
        result: dict[str, Any] = {}
        for key, item in table.items():
            kind, attribute = next((k, a) for k in KINDS for a in k.attributes
                                   if a.key == key and a.in_defaults)
            checked = self.field_value(attribute, item, partial(self.add, self.main, line, f"defaults.{key}"),
                                       kind.doc)
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
                docs = ", ".join(dict.fromkeys(k.doc for k in KINDS if _limit_of(k, key)))
                self.add(self.main, key_line, where,
                         f"{APPLE_LIMITS[key]} is App Store Connect's documented limit ({docs}); "
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

    def field_value(
        self, attribute: Attribute, value: Any, report: Callable[[str], None], doc: str = ""
    ) -> Any:
        """Type-, enum- and range-check one attribute value; None when invalid (reported)."""
        key, kind = attribute.key, attribute.type
        if kind == "integer":
            lo, hi = attribute.minimum, attribute.limit
            span = f" {lo}..{hi}" if lo is not None and hi is not None else ""
            if isinstance(value, bool) or not isinstance(value, int):
                report(f"must be an integer{span}, not {_type_name(value)} ({_show(value)})")
                return None
            if (lo is not None and value < lo) or (hi is not None and value > hi):
                documented = attribute.limit_source == "Apple" and bool(doc)
                whose = f" (Apple's documented limit, {doc})" if documented else ""
                allowed = f"{lo}..{hi} {key} each" if hi is not None else f"at least {lo}"
                report(f"{value} is out of range; App Store Connect allows {allowed}{whose}")
                return None
            return value
        if kind == "map":
            if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
                report(f'must be a table of strings, e.g. {key} = {{ mode = "raid" }}; not {_show(value)}')
                return None
            return {str(k): v for k, v in value.items()}
        if kind == "url":
            text = value if isinstance(value, str) else None
            if text is None or not re.fullmatch(r"https?://[^\s/]+\S*", text):
                report(f'must be an http(s) URL such as "https://example.com/play", not {_show(value)}')
                return None
            if attribute.limit is not None and len(text) > attribute.limit:
                report(f"is {len(text)} characters; the limit is {attribute.limit}: shorten it")
                return None
            return text
        if kind == "boolean":
            if not isinstance(value, bool):
                fix = "true" if value in (1, "true", "yes", "True") else "false"
                shown = f"{_type_name(value)} ({_show(value)})"
                report(f"must be true or false, not {shown}; write {key} = {fix}")
                return None
            return value
        if kind == "enum":
            if not isinstance(value, str) or value not in attribute.enum:
                guess = _closest(str(value).upper(), attribute.enum) if isinstance(value, str) else None
                fix = f"did you mean {guess!r}?" if guess else f"use one of: {', '.join(attribute.enum)}"
                report(f"{_show(value)} is not a value App Store Connect accepts; {fix}")
                return None
            return value
        if kind == "number":
            numeric = isinstance(value, int | float | str) and not isinstance(value, bool)
            if not numeric or _as_number(value) is None:
                report(f"must be a number (e.g. 0 or 99.5), not {_type_name(value)} ({_show(value)})")
                return None
            return value
        if kind == "datetime":
            return self.datetime_value(key, value, report)
        if kind == "duration":
            if not isinstance(value, str) or not DURATION_RE.fullmatch(value):
                report(f'must be an ISO 8601 duration such as "P1D" (a day) or "PT12H", not {_show(value)}')
                return None
            return value
        apple = attribute.limit_source == "Apple"
        return self.text(key, value, lambda _k, m: report(m), attribute.limit, apple=apple)

    def datetime_value(self, key: str, value: Any, report: Callable[[str], None]) -> str | None:
        """A date-time with its time zone, as App Store Connect's ISO 8601 text."""
        fix = f"write {key} = 2026-01-01T00:00:00Z (a date, a time and a time zone)"
        if isinstance(value, dt.datetime):
            if value.tzinfo is None:
                report(f"has no time zone; {fix}")
                return None
            return value.isoformat().replace("+00:00", "Z")
        if isinstance(value, str):
            try:
                parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                report(f"{_show(value)} is not a date-time; {fix}")
                return None
            if parsed.tzinfo is None:
                report(f"has no time zone; {fix}")
                return None
            return value
        report(f"must be a date-time, not {_type_name(value)} ({_show(value)}); {fix}")
        return None

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
        sections = tuple(dict.fromkeys(k.locales_section for k in KINDS))
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
                extra = [k for k in parsed.data if k not in sections]
                allowed = ", ".join(f"[{section}.<locale>.<vendor_identifier>]" for section in sections)
                for key in extra:
                    why = f"an included file may only hold {allowed} tables; move this key to the manifest"
                    self.add(parsed, None, str(key), why)
                sources.append(parsed)
        return sources

    # -- items ---------------------------------------------------------------------------------------------

    def item(self, kind: Kind, index: int, raw: Any, defaults: dict[str, Any]) -> _Draft | None:
        line = self.main.line_of_item(kind.name, index)
        label = f"{kind.name}[{index}]"
        if not isinstance(raw, dict):
            self.add(self.main, line, label, f"must be a table, not {_type_name(raw)}")
            return None
        vid_raw = raw.get("vendor_identifier", raw.get("vendorIdentifier"))
        if isinstance(vid_raw, str) and vid_raw:
            label += f" (vendor_identifier {json.dumps(vid_raw, ensure_ascii=False)})"
        draft = _Draft(self, kind, index, line, label)

        def report_any(where: str, message: str) -> None:
            key_line = self.main.line_of_key(line, where.split(".", 1)[0])
            self.add(self.main, key_line, f"{label}.{where}", message)

        allowed = (
            *(a.key for a in (*kind.attributes, *kind.version_attributes)),
            *(r.key for r in kind.references),
            "image",
            *(("default_image",) if kind.default_image else ()),
            "locales",
        )
        misspelt: set[str] = set()
        table = self.keys(raw, allowed, report_any, "", kind.aliases, misspelt)
        report = self.unless_misspelt(report_any, misspelt)
        valid = True
        for attribute in kind.version_attributes:
            value = table.get(attribute.key)
            draft.version_values[attribute.key] = (
                None if value is None else self.field_value(attribute, value, partial(report, attribute.key))
            )
        for reference in kind.references:
            draft.references[reference.key] = self.reference(reference, table.get(reference.key), report)
        for attribute in kind.attributes:
            key = attribute.key
            if key == "vendor_identifier":
                draft.values[key] = self.vendor_identifier(kind, table.get(key), report)
            elif key in table:
                draft.values[key] = self.field_value(attribute, table[key], partial(report, key), kind.doc)
                valid = valid and draft.values[key] is not None
            elif attribute.in_defaults and key in defaults:
                draft.values[key] = defaults[key]
            elif attribute.required:
                example = _example(attribute)
                where = " here or in [defaults]" if attribute.in_defaults else ""
                report(key, f"missing; set {example}{where}")
            else:
                draft.values[key] = None
        if valid:  # rules across attributes judge valid values only (an invalid one is already reported)
            for rule in kind.rules:
                for key, message in rule(draft.values):
                    report(key, message)
        draft.image = self.image_value(table.get("image"), lambda m: report("image", m))
        if kind.default_image is not None:
            draft.default_image = self.default_image(
                kind, kind.default_image, table.get("default_image"), draft.vendor_identifier,
                lambda m: report("default_image", m),
            )
        if draft.image is not None:
            # checked once, here: a missing file is one problem at this line, not one per locale using it
            draft.image_ok, _ = self.resolve_image(kind, draft.image, None, "", lambda m: report("image", m))
        locales = table.get("locales")
        if locales is not None:
            if not isinstance(locales, dict):
                report("locales", f"must be a table of locale tables, not {_type_name(locales)}")
            else:
                for code, texts in locales.items():
                    draft.had_locale_entries = True
                    loc_line = self.main.line_of_item_locale(kind.name, index, str(code))
                    draft.add_localization(self.main, loc_line, f"{label}.locales.{code}", str(code), texts)
        return draft

    def reference(
        self, reference: Reference, value: Any, report: Callable[[str, str], None]
    ) -> tuple[str, ...] | None:
        """The vendor ids an item names (checked for shape here; for existence when the remote is read)."""
        key = reference.key
        example = '"com.example.game.high_score"'
        if value is None:
            if reference.required:
                fix = f"[{example}]" if reference.many else example
                report(key, f"missing; set {key} = {fix} (the {reference.kind}'s vendor_identifier)")
            return None if reference.required else ()
        values = value if reference.many else [value]
        if reference.many and not isinstance(value, list):
            report(key, f"must be an array of {reference.kind} vendor identifiers, e.g. [{example}]; "
                        f"not {_type_name(value)}")
            return None
        bad = [v for v in values if not isinstance(v, str) or not VENDOR_IDENTIFIER_RE.fullmatch(v)]
        if bad:
            what = f"a {reference.kind}'s vendor_identifier" + ("s" if reference.many else "")
            report(key, f"{_show(bad[0])} is not {what}; write the vendor_identifier as a string")
            return None
        repeated = sorted({v for v in values if values.count(v) > 1})
        if repeated:
            shown = ", ".join(map(repr, repeated))
            report(key, f"lists {shown} more than once; keep each {reference.kind} once")
            return None
        if reference.limit is not None and len(values) > reference.limit:
            report(key, f"lists {len(values)} {reference.kind}s; App Store Connect allows at most "
                        f"{reference.limit}: remove some")
            return None
        return tuple(values)

    def default_image(
        self, kind: Kind, rule: ImageRule, explicit: Any, vendor_identifier: str | None,
        report: Callable[[str], None],
    ) -> Path | None:
        """The version's default image: `default_image`, else <folder>/<vendor>.default.png|jpg|jpeg."""
        value = self.image_value(explicit, report)
        if value is not None:
            path = Path(os.path.normpath(self.assets_dir / value))
            try:
                found = path.is_file() or path.is_symlink() or path.exists()
            except (OSError, ValueError):
                found = False
            if not found:
                report(f"default_image {value!r} not found (looked for {_display(path)}); image paths are "
                       f"relative to the assets directory {_display(self.assets_dir)}")
                return None
            return path
        if vendor_identifier is None:
            return None
        names = self.asset_names(rule.folder) or set()
        present = [f"{vendor_identifier}.default{ext}" for ext in IMAGE_EXTENSIONS
                   if f"{vendor_identifier}.default{ext}" in names]
        if len(present) > 1:
            listed = ", ".join(f"{rule.folder}/{p}" for p in present)
            report(f"ambiguous default image: {listed} all exist in "
                   f"{_display(self.assets_dir)}; remove all but one or set default_image = \"...\"")
            return None
        return self.assets_dir / rule.folder / present[0] if present else None

    def vendor_identifier(self, kind: Kind, value: Any, report: Callable[[str, str], None]) -> str | None:
        limit = kind.attribute("vendor_identifier").limit or 100
        if value is None:
            example = kind.example_vendor_identifier
            report("vendor_identifier", f'missing; add vendor_identifier = "{example}"')
            return None
        if not isinstance(value, str):
            report("vendor_identifier", f"must be a string, not {_type_name(value)}")
            return None
        if not value:
            report("vendor_identifier", f"is empty; give the {kind.name} id used by GameKit in your game")
            return None
        problems = []
        if len(value) > limit:
            problems.append(f"is {len(value)} characters; App Store Connect allows {limit} "
                            f"(Apple's documented limit, {kind.doc})")
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

    def text(
        self, key: str, value: Any, report: Callable[[str, str], None], limit: int | None,
        *, required: bool = True, enum: tuple[str, ...] = (), apple: bool = False,
    ) -> str | None:
        """A text value checked: given when required, a non-blank string, in `enum` if any, within its limit
        (bulkgc's own limits may be changed by the manifest's `[limits]`; Apple's, `apple`, may not)."""
        if not apple and key in self.text_limits:
            limit = self.text_limits[key]
        if value is None:
            if required:
                report(key, f"missing; add {key} = \"...\"")
            return None
        if not isinstance(value, str):
            report(key, f"must be a string, not {_type_name(value)}")
            return None
        if not value.strip():
            report(key, "is empty; write the text" + ("" if required else f" or leave {key} out"))
            return None
        if enum and value not in enum:
            guess = _closest(value.upper(), enum)
            fix = f"did you mean {guess!r}?" if guess else f"use one of: {', '.join(enum)}"
            report(key, f"{_show(value)} is not a value App Store Connect accepts; {fix}")
            return None
        if limit is not None and len(value) > limit:
            if apple:
                report(key, f"is {len(value)} characters; App Store Connect allows {limit}: shorten it")
            elif key in self.overridden:
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
        self, kind: Kind, explicit: str | None, vendor_identifier: str | None, locale: str,
        report: Callable[[str], None],
    ) -> tuple[bool, Path | None]:
        """(found or not needed, path): the explicit `image` (localization's or item's), else the convention.

        Where the kind's icon is optional, no icon is fine (True, None); where it is required it is a problem.
        """
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
                return False, None
            return True, path
        if vendor_identifier is None:
            return False, None
        folder = kind.image.folder
        names = self.asset_names(folder)
        if names is None:
            if not kind.image.required:
                return True, None  # no folder for this kind's optional icons: none of them has one
            if not self._reported_missing_assets:  # once, not once per localization
                self._reported_missing_assets = True
                self.add(
                    self.main, None, "assets",
                    f"the assets directory {_display(self.assets_dir)} does not exist or cannot be listed, "
                    "so icons cannot be found by name: create it, set `assets` in the manifest or pass "
                    "--assets",
                )
            return False, None
        where = self.assets_dir / folder if folder else self.assets_dir
        prefix = f"{folder}/" if folder else ""
        candidates = [f"{vendor_identifier}.{locale}{ext}" for ext in IMAGE_EXTENSIONS]
        candidates += [f"{vendor_identifier}{ext}" for ext in IMAGE_EXTENSIONS]
        for tier in (candidates[:3], candidates[3:]):
            present = [name for name in tier if name in names]
            if len(present) > 1:
                report(
                    f"ambiguous image: {', '.join(prefix + p for p in present)} all exist in "
                    f"{_display(self.assets_dir)}; remove all but one or set image = \"...\""
                )
                return False, None
            if present:
                return True, where / present[0]
        if not kind.image.required:
            return True, None
        report(
            f"no image found: set image = \"...\" or add {prefix}{candidates[0]} (this locale) or "
            f"{prefix}{candidates[3]} (all locales) to {_display(self.assets_dir)}"
        )
        return False, None

    # -- top-level / included locale tables ---------------------------------------------------------------

    def locale_tables(self, kind: Kind, source: _Source, value: Any, by_vid: dict[str, _Draft]) -> None:
        """`[<section>.<locale>.<vendor_identifier>]` tables: one kind's texts, grouped per locale."""
        if value is None:
            return
        section = kind.locales_section
        if not isinstance(value, dict):
            self.add(source, None, section, f"must be a table keyed by locale, not {_type_name(value)}")
            return
        for code, per_vid in value.items():
            code = str(code)
            if not isinstance(per_vid, dict):
                line = source.line_of_table((section, code))
                self.add(source, line, f"{section}.{code}", "must be a table keyed by vendor_identifier")
                continue
            for vid, texts in per_vid.items():
                vid = str(vid)
                where = f"{section}.{code}.{json.dumps(vid, ensure_ascii=False)}"
                line = source.line_of_table((section, code, vid)) or source.line_of_table((section, code))
                draft = by_vid.get(vid)
                if draft is None:
                    guess = _closest(vid, by_vid)
                    fix = f"did you mean {guess!r}?" if guess else f"add the [[{kind.name}]] or fix the id"
                    self.add(source, line, where, f"no {kind.name} has vendor_identifier {vid!r}; {fix}")
                    continue
                draft.had_locale_entries = True
                draft.add_localization(source, line, where, code, texts)


def _limit_of(kind: Kind, key: str) -> bool:
    """Whether `key` of APPLE_LIMITS is one of `kind`'s (for naming where Apple documents it)."""
    names = {a.key for a in kind.attributes} | {f"total_{k}" for k, _ in kind.totals} | {kind.plural}
    return key in names


def _example(attribute: Attribute) -> str:
    """`key = value` showing how to write a missing attribute."""
    examples = {"integer": "10", "boolean": "false", "number": "0", "datetime": "2026-01-01T00:00:00Z",
                "duration": '"P1D"'}
    value = examples.get(attribute.type) or (f'"{attribute.enum[0]}"' if attribute.enum else '"..."')
    return f"{attribute.key} = {value}"


def _as_number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if number == number and abs(number) != float("inf") else None


@dataclass
class _Draft:
    """An item being assembled; values stay None when invalid (and the problem is reported)."""

    validator: _Validator
    kind: Kind
    index: int
    line: int | None
    label: str
    values: dict[str, Any] = field(default_factory=dict)
    image: str | None = None
    image_ok: bool = True  # False when `image` was reported missing (its locales then say nothing more)
    had_locale_entries: bool = False
    localizations: dict[str, Localization | None] = field(default_factory=dict)
    version_values: dict[str, Any] = field(default_factory=dict)
    references: dict[str, tuple[str, ...] | None] = field(default_factory=dict)
    default_image: Path | None = None

    @property
    def vendor_identifier(self) -> str | None:
        return self.values.get("vendor_identifier")

    def add_localization(self, source: _Source, line: int | None, where: str, code: str, raw: Any) -> None:
        v, kind = self.validator, self.kind

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
            report("", f"duplicate locale {code}: this {kind.name} already has {code} texts; keep one")
            return
        self.localizations[code] = None
        if not isinstance(raw, dict):
            names = ", ".join(t.key for t in kind.texts if t.required)
            report("", f"must be a table with {names}, not {_type_name(raw)}")
            return
        allowed = (*(t.key for t in kind.texts), "image")
        table = v.keys(raw, allowed, report_any, "", kind.aliases, misspelt)
        texts = {
            t.key: v.text(t.key, table.get(t.key), report, t.limit, required=t.required, enum=t.enum,
                          apple=t.limit_source == "Apple")
            for t in kind.texts
        }
        explicit = v.image_value(table.get("image"), lambda m: report("image", m))
        if "image" in table and explicit is None:
            return
        if explicit is None and self.image is not None and not self.image_ok:
            return  # the item's image is missing: reported once, at the item
        found, image = v.resolve_image(
            kind, explicit if explicit is not None else self.image, self.vendor_identifier, code,
            lambda m: report("image", m),
        )
        missing = [t.key for t in kind.texts if t.required and texts[t.key] is None]
        if not found or missing:
            return
        self.localizations[code] = Localization(locale=code, texts=texts, image=image)

    def build(self) -> Item | None:
        required = [a.key for a in self.kind.attributes if a.required]
        if any(self.values.get(key) is None for key in required) or not self.localizations \
                or None in self.localizations.values() or None in self.references.values():
            return None
        given = {a.key for a in self.kind.version_attributes}
        return Item(
            kind=self.kind,
            vendor_identifier=self.values["vendor_identifier"],
            attributes={a.key: self.values.get(a.key) for a in self.kind.attributes},
            localizations=tuple(self.localizations.values()),  # type: ignore[arg-type]
            version_attributes={k: v for k, v in self.version_values.items() if k in given},
            references={k: v for k, v in self.references.items() if v is not None},
            default_image=self.default_image,
        )


# ---------------------------------------------------------------------------------------------------------
# Public entry points


def load_manifest(
    path: str | os.PathLike[str], *, assets_dir: str | os.PathLike[str] | None = None,
    app_id: str | None = None, app_id_optional: bool = False,
) -> Manifest:
    """Read and validate a manifest: .toml or .json (by extension), or an Xcode `GameCenterResources.gamekit`
    (the folder or its `gameCenterResources.json`).

    `assets_dir` overrides the manifest's `assets` key (a gamekit's images are always inside it). `app_id` is
    the app when the manifest has none (a gamekit never has one); with `app_id_optional` a manifest may name
    no app (its `app_id` is then "" and is looked up by bundle id). Raises one `ManifestError` listing every
    problem."""
    manifest_path = Path(path)
    if is_gamekit(manifest_path):
        return _load_gamekit(manifest_path, app_id)
    problems: list[Problem] = []
    source = _read_source(manifest_path, problems)
    if source is None:
        raise ManifestError(problems, source=_display(manifest_path))
    validator = _Validator(source, Path(assets_dir) if assets_dir is not None else None, app_id=app_id,
                           app_id_optional=app_id_optional)
    manifest = _run(validator, problems)
    return replace(manifest, image_aliases=load_image_aliases(pulled_record_path(manifest_path)))


def _load_gamekit(path: Path, app_id: str | None) -> Manifest:
    reading = read_gamekit(path, app_id)
    file = resources_file(path)
    source = _Source(path=file, display=_display(file), data=reading.data)
    if not reading.data:
        error = ManifestError(reading.problems, source=source.display)
        error.warnings = tuple(reading.warnings)
        raise error
    validator = _Validator(source, reading.bundle, app_id=app_id, app_id_optional=True, allow_empty=True,
                           translate=reading.translate)
    try:
        manifest = _run(validator, reading.problems)
    except ManifestError as exc:
        exc.warnings = tuple(reading.warnings)  # validate shows them beside the problems
        raise
    return replace(manifest, path=path, warnings=tuple(reading.warnings),
                   image_aliases=load_image_aliases(pulled_record_path(path)))


PULLED_RECORD = "bulkgc-pulled.json"


def pulled_record_path(manifest_path: Path) -> Path:
    """Where `bulkgc pull` records which remote image each file it wrote stands for: beside the manifest
    (beside the bundle, for a gamekit)."""
    base = manifest_path.parent.parent if manifest_path.name == RESOURCES_FILE else manifest_path.parent
    return base / PULLED_RECORD


def load_image_aliases(record: Path) -> dict[str, frozenset[tuple[str, int]]]:
    """sha256 -> the remote images (fileName, fileSize) a pulled file with those bytes stands for, from a pull
    record; {} when there is none or it is unreadable. Several remote images can share one sha256: App Store
    Connect renders the same uploaded picture (one icon for every locale) into the same rendition."""
    try:
        doc = json.loads(record.read_text(encoding="utf-8"))
        out: dict[str, frozenset[tuple[str, int]]] = {}
        for sha, entries in doc["images"].items():
            listed = entries if isinstance(entries, list) else [entries]  # bulkgc-pulled/1: one per sha256
            out[str(sha)] = frozenset((str(v["fileName"]), int(v["fileSize"])) for v in listed)
        return out
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return {}


def parse_manifest(
    data: Any, *, path: str | os.PathLike[str], assets_dir: str | os.PathLike[str] | None = None
) -> Manifest:
    """Validate already-parsed data as if read from `path` (includes are resolved from there)."""
    manifest_path = Path(path)
    return _validate(_Source(path=manifest_path, display=_display(manifest_path), data=data), assets_dir)


def _validate(
    source: _Source, assets_dir: str | os.PathLike[str] | None, earlier: list[Problem] | None = None
) -> Manifest:
    return _run(_Validator(source, Path(assets_dir) if assets_dir is not None else None), earlier)


def _run(validator: _Validator, earlier: list[Problem] | None = None) -> Manifest:
    source = validator.main
    validator.problems.extend(earlier or [])
    try:
        manifest = validator.run()
    except RecursionError:  # absurdly nested input; never a traceback
        validator.problems.append(Problem(source.display, "the data is nested too deeply to validate"))
        manifest = None
    if manifest is None or validator.problems:
        raise ManifestError(validator.problems or [Problem(source.display, "invalid manifest")],
                            source=source.display)
    return manifest
