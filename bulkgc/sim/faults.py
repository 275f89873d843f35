"""Fault rules: seeded, counted misbehaviour (errors, dropped connections, latency, expired URLs, bad processing)."""

from __future__ import annotations

import fnmatch
import os
import random
import re
import signal
import threading
import time
from dataclasses import asdict, dataclass, fields
from typing import Any

FAULT_KINDS = frozenset(
    {"status", "drop", "drop_after_apply", "latency", "expire_upload", "stuck", "fail_processing", "signal"}
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
      signal            test-bed only (no such thing at Apple): send signal `signum` to process `pid` when a matching
                        API or upload request arrives, before it is applied or after it is (`after_apply`). For
                        SIGKILL the simulator waits (blocking its loop) until `pid` is dead, then closes the
                        connection without an answer; a request killed before it is applied is not applied. Crash
                        tests use it to kill a client at an exact point of its run.

    `skip` lets the first `skip` matching requests through untouched, so a rule can hit exactly the Nth one.
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
    skip: int = 0
    """Matching requests to let through before the rule starts firing."""
    pid: int = 0
    """Process that a `signal` rule signals."""
    signum: int = 9
    """Signal number a `signal` rule sends (9 SIGKILL, 15 SIGTERM, 2 SIGINT)."""

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; choose one of {sorted(FAULT_KINDS)}")
        if not 0.0 <= self.probability <= 1.0:
            raise ValueError("fault probability must be within 0..1")
        if self.path_regex is not None:
            re.compile(self.path_regex)
        if self.kind == "signal" and self.pid <= 0:
            raise ValueError("a signal fault needs the pid of the process to signal")

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
    if key in ("status", "skip", "pid", "signum"):
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
        self._rules: list[list[Any]] = []  # [rule, times applied, matching requests seen]
        for rule in rules:
            self.add(rule)

    def add(self, rule: FaultRule) -> None:
        with self._lock:
            self._rules.append([rule, 0, 0])

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def rules(self) -> list[dict[str, Any]]:
        with self._lock:
            return [{**r.to_dict(), "applied": n} for r, n, _ in self._rules]

    def pick(self, kinds: set[str] | frozenset[str], method: str, path: str, route: str | None) -> FaultRule | None:
        """The first rule of one of `kinds` that matches and fires (consuming one of its count)."""
        with self._lock:
            for entry in self._rules:
                rule, applied, seen = entry
                if rule.kind not in kinds or not rule.matches(method, path, route):
                    continue
                entry[2] = seen + 1
                if seen < rule.skip:
                    continue
                if rule.count is not None and applied >= rule.count:
                    continue
                if rule.probability < 1.0 and self._rng.random() >= rule.probability:
                    continue
                entry[1] = applied + 1
                return rule  # type: ignore[no-any-return]
        return None


def deliver_signal(rule: FaultRule) -> None:
    """Send a `signal` rule's signal; for SIGKILL, block until the process is dead (so nothing else it sent is
    served first). Blocking the simulator's loop for that moment is the point: the kill lands at an exact request."""
    try:
        os.kill(rule.pid, rule.signum)
    except ProcessLookupError:
        return
    if rule.signum != signal.SIGKILL:
        return
    deadline = time.monotonic() + 5.0
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{rule.pid}/stat", encoding="ascii") as fh:
                if fh.read().rsplit(")", 1)[1].split()[0] in ("Z", "X"):
                    return  # dead, not yet reaped by its parent
        except (FileNotFoundError, ProcessLookupError, IndexError):
            return
        time.sleep(0.002)
