"""Fixtures for the simulator tests: a running Simulator and an authenticated client."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest
from simhelpers import Api, sim_config

import bulkgc.sim.ratelimit
from bulkgc.sim import Simulator


@pytest.fixture
async def sim() -> AsyncIterator[Simulator]:
    async with Simulator(sim_config()) as s:
        yield s


@pytest.fixture
async def api(sim: Simulator) -> AsyncIterator[Api]:
    async with aiohttp.ClientSession() as session:
        yield Api(sim, session)


class RateClock:
    """The clock of the simulator's rate limiter (`bulkgc.sim.ratelimit` reads only `time.monotonic`), moved
    by the test: which request is inside the rolling window is then decided by the test, not by how fast a
    loaded machine gets the requests to the simulator."""

    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def rate_clock(monkeypatch: pytest.MonkeyPatch) -> RateClock:
    """Put the simulator's rate-limit window on a clock the test moves (requests still go over loopback)."""
    clock = RateClock()
    monkeypatch.setattr(bulkgc.sim.ratelimit, "time", clock)
    return clock
