"""Outage patience: when App Store Connect stops answering for longer than one request's retries, wait it out.

One monitor per client. A request whose retries ran out on a transient failure (no answer, or 5xx) does not
fail its item: it declares an outage and keeps trying with a capped back-off; the pipeline starts no new
work while an outage lasts (`wait_until_answering`). The first answer below 500 ends the outage. When the
outage has lasted `patience` seconds, every waiting request raises OutageError (an InterruptedRun: exit 4,
resumable), so the run ends with its summary and reports instead of aborting.

A service that has not answered once in this run is not waited for: that is a wrong base URL, DNS, proxy
or TLS problem far more often than an outage. The user learns it within seconds: a connection that cannot be
opened is tried three times in all before anything answered, other failures get one request's retries; the
error is raised as it is and the CLI exits 4. With a patience of 0 (the library default) nothing is waited.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import anyio

from bulkgc.errors import OutageError

log = logging.getLogger("bulkgc.asc")

DEFAULT_PATIENCE = 900.0


def _duration(seconds: float) -> str:
    seconds = max(0, round(seconds))
    minutes, secs = divmod(seconds, 60)
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


class OutageMonitor:
    """Shared state of one client's outage: since when, the last error, and whether patience ran out."""

    def __init__(self, patience: float = DEFAULT_PATIENCE, *, backoff_base: float = 1.0,
                 backoff_max: float = 30.0, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[Any]] = anyio.sleep) -> None:
        self.patience = max(0.0, patience)
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.clock = clock
        self.sleep = sleep
        self.answered = False  # the service answered (status < 500) at least once in this run
        self.since: float | None = None  # when the current outage was declared
        self.last_error = ""
        self.outages = 0  # outages ridden out or given up on (report totals)
        self.waited_seconds = 0.0
        self.gave_up: OutageError | None = None
        self._over = anyio.Event()

    @property
    def active(self) -> bool:
        """True while an outage is declared and not over."""
        return self.since is not None

    def on_answer(self) -> None:
        """The service answered (any status below 500): an outage is over."""
        self.answered = True
        if self.since is not None and self.gave_up is None:
            lasted = self.clock() - self.since
            self.waited_seconds += lasted
            log.warning("App Store Connect answers again after %s; carrying on", _duration(lasted))
            self.since = None
            self._over.set()

    async def wait_after(self, exc: BaseException, tries: int, first_failed: float) -> None:
        """Called when one request's retries ran out on `exc` (its first failure at `first_failed`): wait
        before it tries again, or raise.

        Raises `exc` itself when there is no patience (0), when the service has never answered in this run, or
        when only this request keeps failing while others are answered (its item fails, as any other); raises
        OutageError when an outage has outlasted the patience.
        """
        if self.gave_up is not None:
            raise self.gave_up
        if self.patience <= 0 or not self.answered:
            raise exc
        self.last_error = str(exc)
        now = self.clock()
        if self.since is None:
            self.since, self._over = now, anyio.Event()
            self.outages += 1
            log.warning("App Store Connect is not answering (%s); no new work starts, in-flight work waits, "
                        "trying again with back-off for up to %s (--outage-patience)", exc,
                        _duration(self.patience))
        outage = now - self.since
        if outage >= self.patience:
            self.waited_seconds += outage
            self.gave_up = OutageError(
                f"App Store Connect did not answer for {_duration(outage)}, beyond --outage-patience "
                f"{_duration(self.patience)} (last: {self.last_error}) Check "
                "https://developer.apple.com/system-status/ and this machine's network, then run the same "
                "command again to resume; work already done is kept")
            self._over.set()  # wake everything waiting for the outage to end: it ends with the run
            raise self.gave_up
        mine = now - first_failed
        if mine >= self.patience:
            raise exc  # others were answered meanwhile: not an outage, this request alone keeps failing
        left = self.patience - max(outage, mine)
        delay = min(self.backoff_max, self.backoff_base * 2 ** max(0, tries - 1), left)
        await self.sleep(max(0.0, delay))

    async def wait_until_answering(self) -> None:
        """Block new work while an outage lasts; raise OutageError if patience runs out meanwhile."""
        while self.since is not None and self.gave_up is None:
            await self._over.wait()
        if self.gave_up is not None:
            raise self.gave_up
