"""Compressed-time overnight run: several windows of budget, short-lived tokens, zero 429s, near-minimum time."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from nightbed import budget_capacity, make_tiny_workload, minimum_request_span, settings_for
from workload import assert_matches_manifest

from bulkgc.pipeline import push
from bulkgc.sim import SimConfig, Simulator


LIMIT, WINDOW, MARGIN = 600, 10.0, 0.02


@pytest.mark.slow
@pytest.mark.timeout(150)
async def test_overnight_run_paces_to_the_budget_and_renews_tokens(tmp_path: Path) -> None:
    """700 icons (>3 windows of budget): zero 429s, request span within 15% of the minimum, >= 5 token renewals."""

    wl = make_tiny_workload(tmp_path / "wl", 100)
    config = SimConfig(app_id=wl.app_id, seed=11, part_size=16 * 1024, processing_delay=0.05,
                       rate_limit=LIMIT, rate_window=WINDOW, max_token_lifetime=10, token_leeway=0.5)
    async with Simulator(config) as sim:
        settings = settings_for(sim, wl.manifest, tmp_path, rate_window=WINDOW, rate_margin=MARGIN,
                                token_lifetime=10.0)
        started = time.monotonic()
        report = await push(settings)
        elapsed = time.monotonic() - started
        counted = sorted(r.started for r in sim.requests if r.kind == "api" and r.status != 429)
        n = len(counted)
        cap = budget_capacity(LIMIT, MARGIN)
        span = counted[-1] - counted[0]
        minimum = minimum_request_span(n, cap, WINDOW)
        stats = report.totals
        print(f"\nN={n} cap={cap} span={span:.2f}s minimum={minimum:.2f}s ratio={span / minimum:.3f} "
              f"elapsed={elapsed:.2f}s 429s={sim.counters['rate_limited']} renewals={stats['token_renewals']} "
              f"tokens_seen={sim.counters['tokens_seen']} paced={stats['paced_requests']}")
        assert report.exit_code == 0
        assert_matches_manifest(sim, wl)
        assert n >= 3 * LIMIT
        assert sim.counters["rate_limited"] == 0
        assert span <= 1.15 * minimum
        assert stats["token_renewals"] >= 5 and sim.counters["tokens_seen"] >= 6
