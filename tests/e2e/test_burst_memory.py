"""The burst limit is learned from a run's first 429s and remembered beside the journal for the next run."""

from __future__ import annotations

import json
import logging
import urllib.request
from pathlib import Path
from typing import Any

import anyio
import pytest
from conftest import fast_sim_config, settings_for
from workload import assert_matches_manifest, make_workload

from bulkgc.asc.burstmemory import FILE_NAME
from bulkgc.pipeline import push
from bulkgc.sim import Simulator

pytestmark = pytest.mark.timeout(120)


async def _counters(sim: Simulator) -> dict[str, Any]:
    """The simulator's counters as its control route serves them (what a separate process would see)."""
    def fetch() -> dict[str, Any]:
        with urllib.request.urlopen(sim.base_url + "/sim/counters", timeout=30) as resp:
            return dict(json.loads(resp.read()))

    return await anyio.to_thread.run_sync(fetch)


async def test_first_run_learns_burst_limit_and_rerun_gets_no_429(tmp_path: Path) -> None:
    """Burst limit 6, 10 allowed in flight: run 1 <= 3 x 429 and remembers 6; run 2 runs at 6 with 0 x 429."""
    wl = make_workload(tmp_path / "wl", 24, ("en-US", "fr-FR"))
    config = fast_sim_config(app_id=wl.app_id, burst_limit=6, api_latency=0.03, api_jitter=0.01)
    async with Simulator(config) as sim:
        settings = settings_for(sim, wl.manifest, tmp_path, api_concurrency=10)
        memory = settings.journal_path.parent / FILE_NAME

        first = await push(settings)
        assert first.exit_code == 0
        assert_matches_manifest(sim, wl)
        after_first = await _counters(sim)
        assert 1 <= after_first["burst_limited"] <= 3, after_first
        saved = json.loads(memory.read_text())["limits"]
        assert [entry["burst_limit"] for entry in saved.values()] == [6]
        assert list(saved) == [f"{sim.base_url} {sim.key.key_id}"]

        # the re-run reads 24 localizations at once: it starts at the remembered 6 in flight, never above
        mark = len(sim.requests)
        second = await push(settings)
        assert second.exit_code == 0
        after_second = await _counters(sim)
        assert after_second["burst_limited"] == after_first["burst_limited"], after_second
        assert after_second["api_requests"] > after_first["api_requests"] + 24
        assert _peak_in_flight([r for r in sim.requests[mark:] if r.kind == "api"]) == 6


def _peak_in_flight(records: list[Any]) -> int:
    """Most API requests the simulator held at once (from each record's start and end)."""
    edges = sorted([(r.started, 1) for r in records] + [(r.ended, -1) for r in records])
    peak = now = 0
    for _, step in edges:  # at equal times an end (-1) sorts before a start (+1): touching is not overlapping
        now += step
        peak = max(peak, now)
    return peak


async def test_corrupt_memory_is_ignored_with_a_note(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A burst-limit file that is not JSON: one note naming it, the push succeeds and rewrites it."""
    wl = make_workload(tmp_path / "wl", 12, ("en-US",))
    config = fast_sim_config(app_id=wl.app_id, burst_limit=6, api_latency=0.03, api_jitter=0.01)
    async with Simulator(config) as sim:
        settings = settings_for(sim, wl.manifest, tmp_path, api_concurrency=10)
        memory = settings.journal_path.parent / FILE_NAME
        memory.parent.mkdir(parents=True, exist_ok=True)
        memory.write_text("{not json", encoding="utf-8")
        with caplog.at_level(logging.WARNING, logger="bulkgc"):
            report = await push(settings)
        assert report.exit_code == 0
        notes = [r.getMessage() for r in caplog.records if FILE_NAME in r.getMessage()]
        assert notes and "not a bulkgc burst-limit file" in notes[0] and str(memory) in notes[0]
        entry = json.loads(memory.read_text())["limits"][f"{sim.base_url} {sim.key.key_id}"]
        assert entry["burst_limit"] == 6
