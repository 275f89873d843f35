"""Fixtures for end-to-end pushes: a simulator on 127.0.0.1 and settings that point bulkgc at it."""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))

import bulkgc.pipeline  # noqa: E402
from bulkgc.asc.client import ClientConfig  # noqa: E402
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


#: Client back-off for tests that ride out simulated outages: the same policy (exponential with jitter,
#: capped, then the outage monitor's capped back-off) on a compressed time scale. With the defaults (0.5 s
#: doubling, 30 s cap) one request's six attempts alone take ~16 s before an outage is even declared.
QUICK_BACKOFF_BASE, QUICK_BACKOFF_MAX = 0.05, 1.0


@pytest.fixture
def quick_backoff(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[float, float]]:
    """Back-off base 0.05 s and cap 1 s for every push of the test (RunSettings has no knob for them; the
    policy is unchanged, as in tests/faults/conftest.py); yields (base, cap)."""
    real = bulkgc.pipeline.client_config

    def client_config(settings: RunSettings) -> ClientConfig:
        config = real(settings)
        return dataclasses.replace(config, backoff_base=QUICK_BACKOFF_BASE, backoff_max=QUICK_BACKOFF_MAX)

    monkeypatch.setattr(bulkgc.pipeline, "client_config", client_config)
    yield QUICK_BACKOFF_BASE, QUICK_BACKOFF_MAX
