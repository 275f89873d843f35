"""The burst limit learned from 429s, remembered per base URL and key id in a small JSON file by the journal.

App Store Connect answers 429 to too many concurrent requests of one key long before the hourly budget runs
out, and does not say how many it allows. A run learns the number from its first burst 429s
(`AdaptiveConcurrency`); this file keeps it, so the next run with the same key against the same server
starts at it and sends no request the server would refuse. The rule (also in docs/BENCHMARK.md):

* one entry per (base URL, key id): the learned limit and when it was learned (UTC);
* an entry older than `MAX_AGE` (7 days) is ignored, as is one that is not a positive integer, and a file that
  is not this JSON at all: each with a one-line note, never an error; the next 429 teaches the limit again;
* an entry is written only when a run learns a limit lower than the one it started with (a 429 taught it);
  using a remembered limit does not renew it, so a limit Apple has raised since is found again within a week.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

log = logging.getLogger("bulkgc.asc")

FILE_NAME = "burst-limits.json"
FORMAT = 1
MAX_AGE = 7 * 24 * 3600.0  # seconds; Apple's limits "can vary", so a learned one is trusted for a week


def _entry_key(base_url: str, key_id: str) -> str:
    return f"{base_url.rstrip('/')} {key_id}"


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _parse_iso(text: object) -> float | None:
    if not isinstance(text, str):
        return None
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.timestamp() if parsed.tzinfo is not None else None


@dataclass
class BurstMemory:
    """The remembered burst limits in one file; every problem with the file is a note, never an error."""

    path: Path
    max_age: float = MAX_AGE
    clock: Callable[[], float] = field(default=time.time, repr=False)

    def _read(self) -> dict[str, object]:
        """The file's entries; {} (with a note) when it is missing, unreadable or not this format."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}
        except (OSError, UnicodeDecodeError) as e:
            log.warning("note: cannot read the remembered burst limits in %s (%s); ignored: the limit is "
                        "learned again", self.path, getattr(e, "strerror", None) or type(e).__name__)
            return {}
        try:
            doc = json.loads(text)
        except (ValueError, RecursionError):
            doc = None
        limits = doc.get("limits") if isinstance(doc, dict) else None
        if not isinstance(doc, dict) or doc.get("format") != FORMAT or not isinstance(limits, dict):
            log.warning("note: %s is not a bulkgc burst-limit file (format %d); ignored: the limit is "
                        "learned again and the file rewritten", self.path, FORMAT)
            return {}
        return dict(limits)

    def recall(self, base_url: str, key_id: str) -> int | None:
        """The limit learned for this server and key within `max_age`, else None (with a note if ignored)."""
        raw = self._read().get(_entry_key(base_url, key_id))
        if raw is None:
            return None
        limit = raw.get("burst_limit") if isinstance(raw, dict) else None
        learned = _parse_iso(raw.get("learned_at")) if isinstance(raw, dict) else None
        if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1 or learned is None:
            log.warning("note: the burst limit remembered in %s for key %s is malformed; ignored: it is "
                        "learned again", self.path, key_id)
            return None
        age = self.clock() - learned
        if age > self.max_age:
            log.warning("note: the burst limit remembered in %s for key %s (%d requests in flight) was "
                        "learned %.0f days ago; ignored: it is learned again",
                        self.path, key_id, limit, age / 86400)
            return None
        return limit

    def remember(self, base_url: str, key_id: str, limit: int) -> None:
        """Store a newly learned limit (atomically: a reader sees the old file or the new one, never half)."""
        entries = self._read()
        now = self.clock()
        # drop entries nobody can use any more, so the file stays small
        for name, raw in list(entries.items()):
            learned = _parse_iso(raw.get("learned_at")) if isinstance(raw, dict) else None
            if learned is None or now - learned > self.max_age:
                del entries[name]
        entries[_entry_key(base_url, key_id)] = {"burst_limit": int(limit), "learned_at": _iso(now)}
        tmp = self.path.with_name(f"{self.path.name}.tmp{os.getpid()}")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp.write_text(json.dumps({"format": FORMAT, "limits": entries}, indent=1, sort_keys=True) + "\n",
                           encoding="utf-8")
            os.replace(tmp, self.path)
        except OSError as e:
            # Losing this file only costs the next run a few 429s: never fail a push for it.
            log.warning("note: cannot write the learned burst limit to %s (%s); the next run learns it again",
                        self.path, e.strerror or type(e).__name__)
            tmp.unlink(missing_ok=True)
