"""X-Rate-Limit parsing, the shared hourly budget with pacing, the shared 429 pause, adaptive concurrency.

App Store Connect allows `user-hour-lim` requests per key in a rolling hour and reports what is left in
`user-hour-rem` on every response; it also answers 429 to bursts while the hourly budget still has room.
All requests of one client share one `RateBudget` (budget, pacing and the 429 pause) and one
`AdaptiveConcurrency` (the cap on API requests in flight), so a 429 slows the whole run, not one task.
"""

from __future__ import annotations

import math
import random
import re
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import anyio

HEADER = "X-Rate-Limit"


@dataclass(frozen=True)
class RateLimit:
    """One parsed `X-Rate-Limit` header."""

    limit: int  # user-hour-lim: requests allowed per rolling hour for this key
    remaining: int  # user-hour-rem: requests left in the current rolling hour
    extra: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))  # keys we do not know (yet)


_CANONICAL = re.compile(r"user-hour-lim:(\d{1,15});user-hour-rem:(\d{1,15});?")


def parse_rate_limit(header: str | None) -> RateLimit | None:
    """Parse `user-hour-lim:3500;user-hour-rem:500;`; None unless both numbers are present and sane.

    Tolerates whitespace, any key order, a missing trailing `;`, `=` instead of `:`, unknown keys and junk
    pieces: a client must never fail a request because this advisory header changed shape.
    """
    if not header or not isinstance(header, str):
        return None
    canonical = _CANONICAL.fullmatch(header)  # what App Store Connect sends: no need to take it apart
    if canonical is not None:
        limit, remaining = int(canonical[1]), int(canonical[2])
        return RateLimit(limit=limit, remaining=min(remaining, limit)) if limit > 0 else None
    values: dict[str, str] = {}
    for piece in header.replace(",", ";").split(";"):
        sep = ":" if ":" in piece else "=" if "=" in piece else None
        if sep is None:
            continue
        key, _, value = piece.partition(sep)
        key, value = key.strip().lower(), value.strip()
        if key:
            values[key] = value
    try:
        limit = int(float(values.pop("user-hour-lim")))
        remaining = int(float(values.pop("user-hour-rem")))
    except (KeyError, ValueError, OverflowError):
        return None
    if limit <= 0 or remaining < 0:
        return None
    return RateLimit(limit=limit, remaining=min(remaining, limit), extra=MappingProxyType(values))


class held:  # noqa: N801 - used like a function: `async with held(limiter):`
    """`async with held(limiter)`: like `async with limiter`, but a free token (nobody queued) is taken at
    once, without anyio's checkpoint: a round trip through the event loop per request otherwise."""

    __slots__ = ("limiter",)

    def __init__(self, limiter: anyio.CapacityLimiter) -> None:
        self.limiter = limiter

    async def __aenter__(self) -> None:
        try:
            self.limiter.acquire_nowait()  # refuses while others queue: the order of waiters is kept
        except anyio.WouldBlock:
            await self.limiter.acquire()

    async def __aexit__(self, *exc_info: object) -> None:
        self.limiter.release()


@dataclass
class BudgetTicket:
    """One admitted request; hand it back to `RateBudget.release`."""

    admitted_at: float
    released: bool = False


class RateBudget:
    """The key's hourly budget as last reported, our own request log, pacing and the shared 429 pause.

    Model: at any time the server counts `others + own(t)` requests in its rolling window, where
    own(t) = our requests in flight + our requests completed within the last `window_seconds` (logged at
    completion time, which is never earlier than when the server counted them, so expiry is conservative),
    and `others` = requests by other tools on the key, estimated from each header. A request is admitted
    only while `others + own(t) < limit - margin`, so a run never exhausts the hour into a 429.

    Pacing (headroom first, then slot by slot): while `others + own(t) < limit - margin` requests go at full
    speed (only the concurrency cap applies); once the window is full, the next request waits exactly until
    the slot of one of our earlier requests frees (its completion + `window_seconds`) and is admitted then.
    Freed slots come back in the pattern the earlier requests were made in, one waiter per slot (admissions
    are serialized), so the pace after the first window is the pace of the first window, never a
    synchronized burst of all waiters. The server never sees the wall, so there is no 429 and no stall
    after one, and N requests take floor((N - 1) / cap) windows plus the tail, the least any client can
    take (an even spread from the start takes N / cap windows: up to a whole window more). The `expect()`
    hint only decides whether the run is reported as budget-bound (`budget_bound`).
    """

    def __init__(
        self,
        *,
        window_seconds: float = 3600.0,
        margin_fraction: float = 0.02,
        margin_requests: int = 0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.window = float(window_seconds)
        self.margin_fraction = float(margin_fraction)
        self.margin_requests = int(margin_requests)
        self._clock = clock
        self.limit: int | None = None  # last reported user-hour-lim
        self.remaining: int | None = None  # last reported user-hour-rem
        self._others = 0  # requests by other tools on this key in the window, estimated at _others_at
        self._others_at = 0.0
        self._done: deque[float] = deque()  # completion times of our requests, oldest first
        self._inflight = 0
        self._pending: int | None = None  # hint: requests still to be made in this run
        self._slot_waits = 0  # times a request waited for a slot of the full window
        self._paused_until = 0.0
        self._consecutive_429 = 0
        self._lock: anyio.Lock | None = None
        self._changed: anyio.Event | None = None
        # counters for RequestStats
        self.paced_requests = 0
        self.paced_seconds = 0.0
        self.paused_seconds = 0.0
        self.pauses = 0

    # -- hints and state --------------------------------------------------------------------------------
    def expect(self, requests: int | None) -> None:
        """Tell the pacer how many API requests the run still has to make (None: unknown)."""
        self._pending = None if requests is None else max(0, int(requests))

    @property
    def margin(self) -> int:
        """Requests kept free for other tools on the key."""
        if self.limit is None:
            return self.margin_requests
        return max(self.margin_requests, math.ceil(self.margin_fraction * self.limit))

    @property
    def paused_until(self) -> float:
        """Clock time until which the shared 429 pause holds every request."""
        return self._paused_until

    def own_in_window(self, now: float | None = None) -> int:
        """Our requests the server still counts: in flight + completed within the window."""
        now = self._clock() if now is None else now
        while self._done and self._done[0] <= now - self.window:
            self._done.popleft()
        return self._inflight + len(self._done)

    def others(self, now: float | None = None) -> int:
        """Estimated requests by other tools still in the window (forgotten once a full window has passed)."""
        now = self._clock() if now is None else now
        return self._others if now - self._others_at < self.window else 0

    def capacity(self, now: float | None = None) -> int | None:
        """How many of our own requests the window may hold right now (None while the limit is unknown)."""
        if self.limit is None:
            return None
        return self.limit - self.margin - self.others(now)

    # -- the decision ------------------------------------------------------------------------------------
    def admission_delay(self, now: float | None = None) -> float:
        """Seconds to wait before the next request may be sent (0: send now)."""
        now = self._clock() if now is None else now
        pause = self._paused_until - now
        own = self.own_in_window(now)
        cap = self.capacity(now)
        if cap is None:
            return max(0.0, pause)
        headroom = cap - own
        if headroom > 0:
            # Budget left in the window: use it at full speed. Spreading it out would only move the moment
            # the window fills, and every request not made now is one more the next window has to carry.
            return max(0.0, pause)
        # The window is full: wait until enough of our completed requests leave it. With none to wait for
        # (all in flight, or others hold the budget) re-check after one sustainable interval or a release.
        need = -headroom  # index of the completion whose expiry frees one slot
        if need < len(self._done):
            wait = self._done[need] + self.window - now
        else:
            wait = self.window / max(1, self.limit or 1)
        return max(pause, wait, 1e-3)

    @property
    def budget_bound(self) -> bool:
        """True when the announced remaining work does not fit in what is left of the window."""
        cap = self.capacity()
        if cap is None or self._pending is None:
            return False
        return self._pending > cap - self.own_in_window()

    async def acquire(self) -> BudgetTicket:
        """Wait for the shared 429 pause and for a slot in the window, then admit one request (FIFO among waiters).

        A request that waited for a slot (itself, or queued behind one that did) counts in `paced_requests`;
        the time spent waiting for slots adds up in `paced_seconds`.
        """
        if self._lock is None:
            self._lock = anyio.Lock()
        if not self._lock.locked() and self.admission_delay() <= 0:
            # nobody deciding or queued and room in the window (nearly always): admitted without a trip
            # through the event loop (the lock's checkpoint), so no request is delayed behind a waiter
            return self._admit()
        slot_waits_before = self._slot_waits  # a slot wait while this request queues holds it up as well
        async with self._lock:  # one admission decision at a time, so waiters cannot all rush in together
            waited_for_budget = False
            while True:
                now = self._clock()
                delay = self.admission_delay(now)
                if delay <= 0:
                    break
                paused = now < self._paused_until
                if not paused:
                    waited_for_budget = True
                    self._slot_waits += 1
                self._changed = anyio.Event()
                with anyio.move_on_after(delay):
                    # A completion can change the picture (new header, freed slot): re-decide early then,
                    # except while paused after a 429, which must hold for its full length.
                    if paused:
                        await anyio.sleep(delay)
                    else:
                        await self._changed.wait()
                waited = max(0.0, self._clock() - now)
                if paused:
                    self.paused_seconds += waited
                else:
                    self.paced_seconds += waited
            if waited_for_budget or self._slot_waits != slot_waits_before:
                self.paced_requests += 1
            return self._admit()

    def _admit(self) -> BudgetTicket:
        self._inflight += 1
        if self._pending:
            self._pending -= 1
        return BudgetTicket(admitted_at=self._clock())

    def release(self, ticket: BudgetTicket, rate_limit: RateLimit | None = None, *, counted: bool = True) -> None:
        """Record the end of a request and the header of its response (if any).

        `counted=False` for a request that surely never reached the server (connection refused).
        """
        if ticket.released:
            return
        ticket.released = True
        now = self._clock()
        self._inflight = max(0, self._inflight - 1)
        if counted:
            self._done.append(now)
        if rate_limit is not None:
            self.update(rate_limit, now)
        if self._changed is not None:
            self._changed.set()

    def update(self, rate_limit: RateLimit, now: float | None = None) -> None:
        """Take in one `X-Rate-Limit` header: new limit, remaining, and a fresh estimate of others' usage."""
        now = self._clock() if now is None else now
        self.limit, self.remaining = rate_limit.limit, rate_limit.remaining
        used = rate_limit.limit - rate_limit.remaining
        # Our completed requests still in our window are surely counted (ours expire later than the server's,
        # so stale ones are dropped first: counting them would underestimate others and overfill the window);
        # in-flight ones may be counted too, which only overestimates others.
        own_counted = self.own_in_window(now) - self._inflight
        self._others = max(0, used - own_counted)
        self._others_at = now

    # -- 429 -----------------------------------------------------------------------------------------------
    def is_burst_429(self, rate_limit: RateLimit | None) -> bool:
        """True when a 429 came while the hourly budget still had room (a burst limit, not the hour)."""
        rl_rem = rate_limit.remaining if rate_limit is not None else self.remaining
        return rl_rem is None or rl_rem > self.margin

    def on_429(self, rate_limit: RateLimit | None, *, base: float, maximum: float) -> float:
        """Pause every request of the client; returns the pause length in seconds.

        Burst 429: exponential back-off with jitter shared by all tasks. Hour exhausted: until our oldest
        logged request leaves the window (capped at `maximum`; the retry loop checks again after it).
        """
        now = self._clock()
        if rate_limit is not None:
            self.update(rate_limit, now)
        burst = self.is_burst_429(rate_limit)
        if burst and now < self._paused_until:
            # More 429s of requests that were already in flight: the same burst, already paused for.
            return self._paused_until - now
        self.pauses += 1
        self._consecutive_429 += 1
        if burst:
            pause = min(maximum, base * 2 ** (self._consecutive_429 - 1)) * random.uniform(0.5, 1.0)
        else:
            pause = min(maximum, (self._done[0] + self.window - now) if self._done else maximum)
            pause = max(pause, base)
        self._paused_until = max(self._paused_until, now + pause)
        return pause

    def on_success(self) -> None:
        """A request went through: the next 429 starts the back-off from the beginning again."""
        self._consecutive_429 = 0


class AdaptiveConcurrency:
    """A CapacityLimiter on API requests in flight that learns the server's burst limit from its 429s.

    The server refuses a request when it already holds its burst limit of our requests; the client always
    holds at least as many in flight as the server does (a request counts from before it is sent until its
    answer is read), so a 429 sent with `n` requests in flight (itself included) proves the limit is at most
    `n - 1`. That bound becomes the `ceiling`; the cap never grows above it again, so a limit once learned
    costs no further 429s. A ceiling remembered from an earlier run (`learned`) is used from the start.

    Until a ceiling is known the cap starts small (`slow_start`) and grows by one per success (doubling per
    round trip, like TCP's slow start) up to `maximum`: a server with an unknown limit sees the first 429 at
    most a request or two past it, not a whole wave of `maximum` requests. A 429 that says nothing about the
    limit (one request in flight, or no count given) halves the cap once per burst ("generation"), as TCP
    does once per round trip, and successes grow it back one at a time.
    """

    def __init__(
        self,
        maximum: int,
        *,
        recover_after: int = 20,
        learned: int | None = None,
        slow_start: int | None = None,
    ) -> None:
        self.maximum = max(1, int(maximum))
        self.recover_after = max(1, int(recover_after))
        self.ceiling: int | None = max(1, int(learned)) if learned is not None else None
        self.learned_this_run = False  # a 429 of this run lowered the ceiling (worth remembering)
        if self.ceiling is not None:
            self.current = min(self.maximum, self.ceiling)
        elif slow_start is not None:
            self.current = min(self.maximum, max(1, int(slow_start)))
        else:
            self.current = self.maximum
        self._probing = self.ceiling is None and self.current < self.maximum
        self.generation = 0
        self.decreases = 0
        self._successes = 0
        self._limiter: anyio.CapacityLimiter | None = None

    @property
    def limiter(self) -> anyio.CapacityLimiter:
        """The underlying anyio CapacityLimiter (created in the running event loop)."""
        if self._limiter is None:
            self._limiter = anyio.CapacityLimiter(self.current)
        return self._limiter

    @property
    def top(self) -> int:
        """The highest cap allowed: the configured maximum, or the learned ceiling if lower."""
        return self.maximum if self.ceiling is None else min(self.maximum, self.ceiling)

    def _set(self, value: int) -> None:
        self.current = value
        self.limiter.total_tokens = value  # lowering does not revoke tokens held; new requests wait

    def on_burst_429(self, generation: int, in_flight: int | None = None) -> bool:
        """Take in a burst 429 of a request sent with `in_flight` requests in flight; True when the cap fell.

        With `in_flight` >= 2 the ceiling becomes `in_flight - 1` (if lower) and the cap at most that. Else
        the cap halves (min 1), once per burst: 429s of requests started before the last cut do not cut again.
        """
        self._successes = 0
        self._probing = False
        if in_flight is not None and in_flight >= 2:
            bound = in_flight - 1
            if self.ceiling is None or bound < self.ceiling:
                self.ceiling = bound
                self.learned_this_run = True
            if self.current > self.top:
                self.generation += 1
                self.decreases += 1
                self._set(self.top)
                return True
            return False
        if generation != self.generation:
            return False
        self.generation += 1
        new = max(1, self.current // 2)
        if new != self.current:
            self.decreases += 1
            self._set(new)
            return True
        return False

    def on_success(self, in_flight: int | None = None) -> None:
        """Count a success of a request sent with `in_flight` requests in flight (itself included).

        The cap grows only when it was what held requests back (`in_flight` reached it; None: assume so), by
        one per such success while probing, else by one per `recover_after` in a row: one-at-a-time reads say
        nothing about how many the server takes at once, so it must not open the cap for the next wave.
        """
        if self.current >= self.top:
            self._successes = 0
            return
        if in_flight is not None and in_flight < self.current:
            return
        if self._probing:
            self._set(self.current + 1)
            return
        self._successes += 1
        if self._successes >= self.recover_after:
            self._successes = 0
            self._set(self.current + 1)
