"""JSON:API for the simulator: the resource table (types, paths, relationship names per API version), rendering
with sparse fieldsets and `include`, query-parameter validation against the spec, and cursor paging."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from .errors import parameter_invalid

TYPES = {
    "app": "apps",
    "detail": "gameCenterDetails",
    "group": "gameCenterGroups",
    "achievement": "gameCenterAchievements",
    "version": "gameCenterAchievementVersions",
    "localization": "gameCenterAchievementLocalizations",
    "image": "gameCenterAchievementImages",
}
KIND_OF_TYPE = {t: k for k, t in TYPES.items()}
COLLECTION = {
    "app": "apps", "detail": "details", "group": "groups", "achievement": "achievements",
    "version": "versions", "localization": "localizations", "image": "images",
}


def base_path(api: str, kind: str) -> str:
    """Path of a kind's resources in an API version (apps, details and groups only exist under /v1)."""
    if kind in ("app", "detail", "group") or kind == "version":
        version = "v2" if kind == "version" else "v1"
        return f"/{version}/{TYPES[kind]}"
    return f"/{api}/{TYPES[kind]}"


@dataclass(frozen=True)
class Rel:
    """One relationship of a kind: its target kind (None = not modelled), to-many or to-one, and how it is shown:
    "data" = always linkage data (no links), "links" = links, plus data when included."""

    name: str
    target: str | None
    many: bool
    mode: str


def _r(name: str, target: str | None, many: bool, mode: str = "links") -> Rel:
    return Rel(name, target, many, mode)


# Relationship names per (api, kind), from the response schemas (SPEC_EXTRACT S2-S5).
RELATIONSHIPS: dict[tuple[str, str], list[Rel]] = {
    ("*", "app"): [_r("gameCenterDetail", "detail", False)],
    ("*", "detail"): [
        _r("app", "app", False, "data"),
        _r("gameCenterGroup", "group", False),
        _r("gameCenterAchievements", "achievement", True),
        _r("gameCenterAchievementsV2", "achievement", True),
    ],
    ("*", "group"): [
        _r("gameCenterDetails", "detail", True),
        _r("gameCenterAchievements", "achievement", True),
        _r("gameCenterAchievementsV2", "achievement", True),
    ],
    ("v2", "achievement"): [
        _r("gameCenterDetail", "detail", False, "data"),
        _r("gameCenterGroup", "group", False, "data"),
        _r("activity", None, False),
        _r("versions", "version", True),
    ],
    ("v1", "achievement"): [
        _r("gameCenterDetail", "detail", False, "data"),
        _r("gameCenterGroup", "group", False, "data"),
        _r("groupAchievement", None, False),
        _r("localizations", "localization", True),
        _r("releases", None, True),
        _r("activity", None, False),
    ],
    ("v2", "version"): [_r("achievement", "achievement", False, "data"), _r("localizations", "localization", True)],
    ("v2", "localization"): [_r("version", "version", False, "data"), _r("image", "image", False)],
    ("v1", "localization"): [
        _r("gameCenterAchievement", "achievement", False),
        _r("gameCenterAchievementImage", "image", False),
    ],
    ("v2", "image"): [_r("localization", "localization", False, "data")],
    ("v1", "image"): [_r("gameCenterAchievementLocalization", "localization", False, "data")],
}


def relationships_of(api: str, kind: str) -> list[Rel]:
    return RELATIONSHIPS.get((api, kind)) or RELATIONSHIPS.get(("*", kind)) or []


def relationship(api: str, kind: str, name: str) -> Rel | None:
    return next((r for r in relationships_of(api, kind) if r.name == name), None)


# ------------------------------------------------------------------ query parameters


@dataclass
class Query:
    """A validated query string."""

    include: list[str] = field(default_factory=list)
    fields: dict[str, set[str]] = field(default_factory=dict)
    limit: int | None = None
    limits: dict[str, int] = field(default_factory=dict)
    filters: dict[str, list[str]] = field(default_factory=dict)
    offset: int = 0


def encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"o": offset}).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        offset = json.loads(base64.urlsafe_b64decode(padded.encode()))["o"]
    except (ValueError, KeyError, TypeError):
        raise parameter_invalid("cursor", f"'{cursor}' is not a valid cursor for this request.") from None
    if not isinstance(offset, int) or offset < 0:
        raise parameter_invalid("cursor", f"'{cursor}' is not a valid cursor for this request.")
    return offset


def parse_query(params: dict[str, Any], items: list[tuple[str, str]]) -> Query:
    """Validate every query parameter against the operation's declared parameters (enum, integer maximum).

    `cursor` is accepted on operations that declare `limit`: it is not in the spec, but it is what the
    `links.next` URLs carry (clients follow them verbatim).
    """
    q = Query()
    seen: set[str] = set()
    for name, raw in items:
        if name in seen:
            raise parameter_invalid(name, f"The parameter '{name}' can only be used once.")
        seen.add(name)
        if name == "cursor" and "limit" in params:
            q.offset = decode_cursor(raw)
            continue
        spec = params.get(name)
        if spec is None:
            kind = name.split("[", 1)[0]
            what = {"filter": "filter", "fields": "field type", "limit": "limit", "include": "parameter"}.get(kind, "parameter")
            raise parameter_invalid(name, f"'{name}' is not a valid {what} for this request.")
        if spec.get("type") == "integer":
            try:
                value = int(raw)
            except ValueError:
                raise parameter_invalid(name, f"'{raw}' is not a valid integer for '{name}'.") from None
            maximum = spec.get("maximum")
            if value < 1 or (maximum is not None and value > maximum):
                raise parameter_invalid(
                    name, f"The value of '{name}' must be between 1 and {maximum}; '{raw}' is not allowed."
                )
            if name == "limit":
                q.limit = value
            else:
                q.limits[name[len("limit[") : -1]] = value
            continue
        values = raw.split(",")
        if any(v == "" for v in values):
            raise parameter_invalid(name, f"'{name}' has an empty value.")
        enum = spec.get("enum")
        if enum is not None:
            bad = [v for v in values if v not in enum]
            if bad:
                raise parameter_invalid(name, f"'{bad[0]}' is not a valid value for '{name}'. Allowed: {', '.join(enum)}.")
        if name == "include":
            q.include = values
        elif name.startswith("fields["):
            q.fields[name[len("fields[") : -1]] = set(values)
        elif name.startswith("filter["):
            q.filters[name[len("filter[") : -1]] = values
    return q


def apply_filters(records: list[dict[str, Any]], filters: dict[str, list[str]], attr: Callable[[dict[str, Any], str], Any]) -> list[dict[str, Any]]:
    out = records
    for name, values in filters.items():
        if name == "id":
            out = [r for r in out if r["id"] in values]
        else:
            wanted = set(values)
            out = [r for r in out if _filter_text(attr(r, name)) in wanted]
    return out


def _filter_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def paged_links(base_url: str, path: str, items: list[tuple[str, str]], limit: int, next_offset: int | None) -> dict[str, str]:
    links = {"self": self_url(base_url, path, items)}
    if next_offset is not None:
        rest = [(k, v) for k, v in items if k not in ("cursor", "limit")]
        rest += [("cursor", encode_cursor(next_offset)), ("limit", str(limit))]
        links["next"] = self_url(base_url, path, rest)
    return links


def self_url(base_url: str, path: str, items: list[tuple[str, str]]) -> str:
    if not items:
        return f"{base_url}{path}"
    return f"{base_url}{path}?{urlencode(items, safe='[],')}"
