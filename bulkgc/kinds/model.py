"""What a Game Center kind is, as data: manifest section, attributes, texts, image rule, limits and API rows.

Manifest validation, the remote reader, the plan, the executor, the journal, reports and progress read a
`Kind`; none of them names one. A new kind is one module in this package declaring a `Kind`, its API rows
(`bulkgc.asc.resources.KindApi`) and a line in the registry (`bulkgc.kinds.KINDS`).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from bulkgc.asc.resources import KindApi

#: the attribute types a manifest value is checked against (and compared as)
TYPES = ("string", "integer", "boolean", "enum", "number", "datetime", "duration", "map", "url")
# ISO 8601 duration as App Store Connect's `format: duration` (e.g. P1D, PT12H, P1W)
DURATION_RE = re.compile(r"P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?")
VENDOR_IDENTIFIER_RE = re.compile(r"[A-Za-z0-9._-]+")


@dataclass(frozen=True, kw_only=True)
class Attribute:
    """One attribute of a kind's parent resource (the achievement, the leaderboard)."""

    key: str  # the manifest key: the snake_case of Apple's attribute name
    asc: str  # Apple's attribute name
    type: str  # one of TYPES ("map": a table of strings, Apple's StringToStringMap; "url": http(s) URL)
    enum: tuple[str, ...] = ()  # allowed values (type "enum"), as Apple's spec lists them
    required: bool = True  # the manifest must give it (in the item or in [defaults] when `in_defaults`)
    limit: int | None = None  # longest string, or largest integer, App Store Connect takes
    minimum: int | None = None  # smallest integer
    limit_source: str = "Apple"  # "Apple" (documented, GAME_CENTER_API.md A12) or "bulkgc" (not published)
    on_create: bool = True  # sent in the create request (False: only an update can set it)
    editable: bool = True  # can change after creation (the vendor identifier is permanent)
    editable_after_release: bool = True  # can change once a version went live
    default: Any = None  # the value App Store Connect holds when the attribute was never set
    in_defaults: bool = False  # may be given once in the manifest's [defaults]

    def wire(self, value: Any) -> Any:
        """The manifest value as App Store Connect takes it (numbers travel as strings in Apple's spec)."""
        if value is None:
            return None
        if self.type == "number":
            return _number_text(value)
        if self.type == "datetime" and isinstance(value, dt.datetime | dt.date):
            return value.isoformat()
        return value

    def same(self, remote: Any, desired: Any) -> bool:
        """Whether the remote value equals the desired one (numbers and date-times compare by value)."""
        if remote is None:
            remote = self.default
        if desired is None:
            desired = self.default
        if remote is None or desired is None:
            return remote is None and desired is None
        if self.type == "number":
            return _decimal(remote) == _decimal(desired)
        if self.type == "datetime":
            return _instant(remote) == _instant(desired)
        if self.type == "map":
            return {str(k): str(v) for k, v in dict(remote).items()} == dict(desired)
        return bool(remote == desired)


@dataclass(frozen=True, kw_only=True)
class TextField:
    """One text of a kind's localization (per locale)."""

    key: str  # manifest key
    asc: str  # Apple's attribute name
    limit: int  # longest text bulkgc accepts
    required: bool = True  # False: may be left out (App Store Connect holds null)
    enum: tuple[str, ...] = ()  # allowed values, for a text that is an enum (a formatter override)
    limit_source: str = "bulkgc"  # Apple publishes no text limits for Game Center localizations


#: icon sizes of achievements and leaderboards (A12: 1024x1024 current, 512x512 historically accepted)
ICON_SIZES: tuple[tuple[int, int], ...] = ((512, 512), (1024, 1024))
#: activity and challenge default images (A12, App Store Connect Help): 3840x2160
WIDE_SIZES: tuple[tuple[int, int], ...] = ((3840, 2160),)


@dataclass(frozen=True, kw_only=True)
class ImageRule:
    """One image slot of a kind: where its file comes from, whether it must exist, and its pixel sizes.

    The other pixel rules (PNG or JPEG by content, 8-bit RGB, no alpha or transparency) are scan.py's and the
    same for every slot (A12).
    """

    required: bool  # True: every localization needs an icon; False: a localization without one is fine
    folder: str  # where the naming convention looks, relative to the assets directory ("" = the directory)
    sizes: tuple[tuple[int, int], ...] = ICON_SIZES  # the exact pixel sizes App Store Connect takes
    sizes_source: str = "Apple"  # "Apple" (A12 documents it) or "inferred" (no text found; see the kind)


@dataclass(frozen=True, kw_only=True)
class Reference:
    """Other items an item names by vendor id (a set's member leaderboards, a challenge's leaderboard).

    The manifest gives vendor ids; App Store Connect takes resource ids, so the referenced items are pushed
    (or found) first. A vendor id neither the manifest nor App Store Connect has is a manifest problem.
    """

    key: str  # manifest key ("leaderboards", "leaderboard")
    kind: str  # the referenced kind's name ("leaderboard")
    many: bool  # True: an ordered list (membership kept equal to it); False: exactly one
    required: bool = True
    limit: int | None = None  # most items in the list (A12: 100 leaderboards per set)


#: a rule over an item's attributes (manifest keys -> values, all valid), checked before any request:
#: returns (attribute key, problem) pairs
Rule = Callable[[Mapping[str, Any]], list[tuple[str, str]]]


@dataclass(frozen=True, kw_only=True)
class Kind:
    """One Game Center kind: everything the core needs to know about it."""

    name: str  # "achievement": the manifest's [[achievement]] array, journal keys, reports
    plural: str  # "achievements", for messages
    attributes: tuple[Attribute, ...]  # the parent's attributes, vendor_identifier first
    texts: tuple[TextField, ...]  # the localization's texts
    image: ImageRule
    apis: tuple[KindApi, ...]  # one row per API generation ("v2", "v1")
    max_items: int  # per app (A12)
    locales_section: str  # top-level key of [<section>.<locale>.<vendor_identifier>] text tables (includes)
    doc: str  # where Apple documents the kind's limits, cited in messages
    totals: tuple[tuple[str, int], ...] = ()  # (attribute key, maximum sum over all items of the kind)
    version_attributes: tuple[Attribute, ...] = ()  # attributes of the version (an activity's fallback_url)
    default_image: ImageRule | None = None  # the version's default image (activities, challenges)
    references: tuple[Reference, ...] = ()  # items named by vendor id (set members, a challenge's board)
    rules: tuple[Rule, ...] = ()  # checks across attributes (e.g. a range's start not after its end)
    example_vendor_identifier: str = "com.example.game.first_win"

    def api(self, version: str) -> KindApi:
        """The API row for `version` ("v2" or "v1")."""
        for row in self.apis:
            if row.api == version:
                return row
        raise KeyError(f"{self.name} has no {version} API row (known: {', '.join(r.api for r in self.apis)})")

    def attribute(self, key: str) -> Attribute:
        return next(a for a in (*self.attributes, *self.version_attributes) if a.key == key)

    @property
    def aliases(self) -> dict[str, str]:
        """Apple's camelCase spellings accepted in the manifest -> the snake_case key."""
        pairs = [(a.asc, a.key) for a in (*self.attributes, *self.version_attributes)]
        pairs += [(t.asc, t.key) for t in self.texts]
        return {asc: key for asc, key in pairs if asc != key}


def _number_text(value: Any) -> str:
    number = _decimal(value)
    if number is None:
        return str(value)
    return str(int(number)) if number == number.to_integral_value() else format(number.normalize(), "f")


def _decimal(value: Any) -> Decimal | None:
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def _instant(value: Any) -> Any:
    """A date-time as a comparable instant (App Store Connect may echo it with other spacing or zone)."""
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day, tzinfo=dt.UTC)
    try:
        parsed = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return str(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)
