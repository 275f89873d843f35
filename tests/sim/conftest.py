"""Fixtures for the simulator tests: a running Simulator and an authenticated client."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest
from simhelpers import Api, sim_config

from bulkgc.sim import Simulator


@pytest.fixture
async def sim() -> AsyncIterator[Simulator]:
    async with Simulator(sim_config()) as s:
        yield s


@pytest.fixture
async def api(sim: Simulator) -> AsyncIterator[Api]:
    async with aiohttp.ClientSession() as session:
        yield Api(sim, session)
