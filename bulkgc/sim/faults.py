"""Fault rules: seeded, counted misbehaviour (errors, dropped connections, latency, expired URLs, bad processing)."""

from __future__ import annotations

import fnmatch
import random
import re
import threading
from dataclasses import asdict, dataclass, fields
from typing import Any

FAULT_KINDS = frozenset(
    {"status", "drop", "drop_after_apply", "latency", "expire_upload", "stuck", "fail_processing"}
)


@dataclass(frozen=True, kw_only=True)
class FaultRule:
    """One fault: which requests it hits, what it does, how often.

    Matching: `method` ("*" or e.g. "PATCH"), then `route_glob` (fnmatch against the request path *or* the
    aiohttp route template, e.g. "/v2/gameCenterAchievementImages/*" or "/upload/*") and/or `path_regex`
    (re.search on the path); a rule without either matches every path.

    Where each kind applies:
      status            API/upload request answers `status` (500/503, ErrorResponse) before it is applied,
                        or after it is applied when `after_apply` is true (the write happened, the client sees 5xx)
      drop              the connection is closed without an answer, before the request is applied
      drop_after_apply  the request is applied, then the connection is closed (a lost response)
      latency           `delay` extra seconds
      expire_upload     reservations matched by the rule get URLs that are already expired; part uploads
                        matched by it are refused as expired (URLs expiring early)
      stuck             a commit matched by the rule leaves the image in UPLOAD_COMPLETE forever
      fail_processing   a commit matched by the rule ends processing FAILED with `code`
    """

    kind: str = "status"
    method: str = "*"
    route_glob: str | None = None
    path_regex: str | None = None
    probability: float = 1.0
    count: int | None = None
    """Apply at most this many times (None: unlimited)."""
    status: int = 503
    delay: float = 0.0
    after_apply: bool = False
    code: str = "IMAGE_INVALID"
    """Processing error code for `fail_processing`."""

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; choose one of {sorted(FAULT_KINDS)}")
        if not 0.0 <= self.probability <= 1.0:
            raise ValueError("fault probability must be within 0..1")
        if self.path_regex is not None:
            re.compile(self.path_regex)

    def matches(self, method: str, path: str, route: str | None) -> bool:
        if self.method != "*" and self.method.upper() != method.upper():
            return False
        if self.route_glob is not None:
            if not (fnmatch.fnmatchcase(path, self.route_glob) or (route and fnmatch.fnmatchcase(route, self.route_glob))):
                return False
        if self.path_regex is not None and not re.search(self.path_regex, path):
            return False
        return True

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FaultRule:
        known = {f.name: f for f in fields(cls)}
        unknown = set(data) - set(known)
        if unknown:
            raise ValueError(f"unknown fault field(s): {', '.join(sorted(unknown))}")
        return cls(**data)

    @classmethod
    def parse(cls, text: str) -> FaultRule:
        """Parse the CLI form `kind=status,status=503,route=/v2/*,probability=0.5,count=3`."""
        data: dict[str, Any] = {}
        aliases = {"route": "route_glob", "regex": "path_regex", "path": "path_regex"}
        for item in filter(None, (p.strip() for p in text.split(","))):
            if "=" not in item:
                if item in FAULT_KINDS:
                    data["kind"] = item
                    continue
                raise ValueError(f"fault item {item!r} is not key=value")
            key, value = (s.strip() for s in item.split("=", 1))
            key = aliases.get(key, key)
            data[key] = _coerce(key, value)
        return cls.from_dict(data)


def _coerce(key: str, value: str) -> Any:
    if key in ("probability", "delay"):
        return float(value)
    if key == "status":
        return int(value)
    if key == "count":
        return None if value.lower() in ("none", "") else int(value)
    if key == "after_apply":
        return value.lower() in ("1", "true", "yes")
    return value


class FaultPlan:
    """The installed rules with their remaining counts; decisions use one seeded RNG."""

    def __init__(self, seed: int, rules: tuple[FaultRule, ...] = ()) -> None:
        self._rng = random.Random(seed ^ 0x5EED)
        self._lock = threading.Lock()
        self._rules: list[list[Any]] = []  # [rule, times applied]
        for rule in rules:
            self.add(rule)

    def add(self, rule: FaultRule) -> None:
        with self._lock:
            self._rules.append([rule, 0])

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def rules(self) -> list[dict[str, Any]]:
        with self._lock:
            return [{**r.to_dict(), "applied": n} for r, n in self._rules]

    def pick(self, kinds: set[str] | frozenset[str], method: str, path: str, route: str | None) -> FaultRule | None:
        """The first rule of one of `kinds` that matches and fires (consuming one of its count)."""
        with self._lock:
            for entry in self._rules:
                rule, applied = entry
                if rule.kind not in kinds or not rule.matches(method, path, route):
                    continue
                if rule.count is not None and applied >= rule.count:
                    continue
                if rule.probability < 1.0 and self._rng.random() >= rule.probability:
                    continue
                entry[1] = applied + 1
                return rule  # type: ignore[no-any-return]
        return None
