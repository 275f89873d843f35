"""JSON:API for the simulator: query-parameter validation against the spec, filters and cursor paging (the resource
declarations live in `resources`, rendering in `render`)."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from .errors import SimError, parameter_invalid

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
    missing = [name for name, spec in params.items() if spec.get("required") and name not in seen]
    if missing:
        raise SimError(
            400,
            "PARAMETER_ERROR.REQUIRED",
            "A required parameter is missing",
            f"The parameter '{missing[0]}' is required for this request.",
            parameter=missing[0],
        )
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
