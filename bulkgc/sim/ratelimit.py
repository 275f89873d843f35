"""Per-key rolling-window budget (`X-Rate-Limit: user-hour-lim:N;user-hour-rem:M;`) and a burst limit on in-flight requests.

Decisions [INFER, documented]: a request counts toward the window when it is admitted (authenticated and not
refused with 429), whatever its final status; 429 answers do not count, so a client that backs off recovers
when the oldest admitted requests leave the window. The burst limit counts concurrent admitted requests per key.
"""

from __future__ import annotations

import collections
import time


class RateLimiter:
    def __init__(self, limit: int, window: float, burst: int | None) -> None:
        self.limit = limit
        self.window = window
        self.burst = burst
        self._hits: dict[str, collections.deque[float]] = collections.defaultdict(collections.deque)
        self._in_flight: dict[str, int] = collections.defaultdict(int)

    def _prune(self, key: str, now: float) -> collections.deque[float]:
        hits = self._hits[key]
        while hits and hits[0] <= now - self.window:
            hits.popleft()
        return hits

    def remaining(self, key: str | None, now: float | None = None) -> int:
        if key is None:
            return self.limit
        now = time.monotonic() if now is None else now
        return max(0, self.limit - len(self._prune(key, now)))

    def header(self, key: str | None) -> str:
        return f"user-hour-lim:{self.limit};user-hour-rem:{self.remaining(key)};"

    def admit(self, key: str) -> str | None:
        """Count one request; None if admitted, else why it is refused ("hour" or "burst")."""
        now = time.monotonic()
        hits = self._prune(key, now)
        if len(hits) >= self.limit:
            return "hour"
        if self.burst is not None and self._in_flight[key] >= self.burst:
            return "burst"
        hits.append(now)
        self._in_flight[key] += 1
        return None

    def release(self, key: str) -> None:
        self._in_flight[key] = max(0, self._in_flight[key] - 1)

    def in_flight(self, key: str) -> int:
        return self._in_flight[key]
