"""Fixtures for end-to-end pushes: a simulator on 127.0.0.1 and settings that point bulkgc at it."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from bulkgc.config import RunSettings  # noqa: E402
from bulkgc.sim import SimConfig, Simulator  # noqa: E402


def fast_sim_config(**overrides: Any) -> SimConfig:
    base: dict[str, Any] = dict(part_size=16 * 1024, processing_delay=0.05, seed=7)
    base.update(overrides)
    return SimConfig(**base)


def settings_for(sim: Simulator, manifest: Path, tmp: Path, **overrides: Any) -> RunSettings:
    key_path = sim.key.write_p8(tmp / "keys")
    base: dict[str, Any] = dict(
        manifest=manifest, base_url=sim.base_url, key_id=sim.key.key_id, issuer_id=sim.key.issuer_id,
        private_key_path=key_path, journal=tmp / "journal.sqlite", poll_interval=0.05, processing_timeout=5.0,
    )
    base.update(overrides)
    return RunSettings(**base)


@pytest.fixture
async def sim() -> AsyncIterator[Simulator]:
    async with Simulator(fast_sim_config()) as s:
        yield s
