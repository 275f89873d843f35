"""The burst limit learned from 429s; --deadline from the environment exits resumable, a re-run completes."""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

import pytest
from nightbed import cli_env, fast_sim_config, make_tiny_workload, run_cli, settings_for, sim_flags
from workload import assert_matches_manifest

import bulkgc.pipeline
from bulkgc.asc.client import ClientConfig
from bulkgc.asc.ratelimit import AdaptiveConcurrency
from bulkgc.errors import EXIT_INTERRUPTED
from bulkgc.pipeline import push
from bulkgc.sim import Simulator

pytestmark = pytest.mark.timeout(120)


async def test_concurrency_learns_a_burst_limit_below_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Burst limit 3 < 8 allowed in flight: the run completes with <= 3 x 429; after each 429 the cap is at
    most the bound it proved and never grows past it; the limit learned is exactly 3 and the cap works at it;
    the limit is remembered beside the journal."""
    real = bulkgc.pipeline.client_config

    def quick_backoff(settings: bulkgc.pipeline.RunSettings) -> ClientConfig:
        return dataclasses.replace(real(settings), backoff_base=0.02, backoff_max=0.2)

    monkeypatch.setattr(bulkgc.pipeline, "client_config", quick_backoff)
    trace: list[tuple[str, int, int | None]] = []  # ("ok" | "429", the cap after it, in flight at its send)
    grow, cut = AdaptiveConcurrency.on_success, AdaptiveConcurrency.on_burst_429

    def on_success(self: AdaptiveConcurrency, in_flight: int | None = None) -> None:
        grow(self, in_flight)
        trace.append(("ok", self.current, in_flight))

    def on_burst_429(self: AdaptiveConcurrency, generation: int, in_flight: int | None = None) -> bool:
        fell = cut(self, generation, in_flight)
        trace.append(("429", self.current, in_flight))
        return fell

    monkeypatch.setattr(AdaptiveConcurrency, "on_success", on_success)
    monkeypatch.setattr(AdaptiveConcurrency, "on_burst_429", on_burst_429)

    wl = make_tiny_workload(tmp_path / "wl", 12, ("en-US", "fr-FR", "ja"))
    config = fast_sim_config(app_id=wl.app_id, burst_limit=3, api_latency=0.02)
    async with Simulator(config) as sim:
        settings = settings_for(sim, wl.manifest, tmp_path, api_concurrency=8)
        report = await push(settings)
        assert report.exit_code == 0, report.failures()[:3]
        assert_matches_manifest(sim, wl)
        limited = sim.counters["burst_limited"]
        remembered = json.loads((settings.journal_path.parent / "burst-limits.json").read_text())["limits"]
    print(f"\n429s={limited} trace={trace[:40]}")
    # slow start begins at 4 in flight: the first wave passes the limit by one or two, then the cap is learned
    assert 1 <= limited <= 3
    assert report.totals["burst_429s"] == limited and report.totals["rate_limited"] == limited
    # A 429 of a request sent with n in flight (itself included) proves the limit is at most n - 1; the cap
    # never exceeds the tightest bound proved so far. The first bound is usually exact (3); on a loaded
    # machine it can be loose by one (an answer the simulator has sent and the client not yet read still
    # counts as in flight: 1 run in 120 at load 9 learned 4 first) and a later 429 tightens it, within the
    # <= 3 above.
    bound: int | None = None
    for event, cap, in_flight in trace:
        if event == "429":
            assert in_flight is not None and in_flight >= 2, trace
            bound = in_flight - 1 if bound is None else min(bound, in_flight - 1)
        if bound is not None:
            assert cap <= bound, (cap, bound, trace)
    assert bound == 3  # the limit learned exactly, never below it
    last = max(i for i, (event, _, _) in enumerate(trace) if event == "429")
    assert max(cap for _, cap, _ in trace[last:]) == 3  # it works at the limit, not below it
    assert [entry["burst_limit"] for entry in remembered.values()] == [3]


@pytest.mark.slow
async def test_deadline_from_environment_exits_4_on_time_and_a_rerun_completes(tmp_path: Path) -> None:
    """All settings from env vars (ASC_*, BULKGC_*): deadline 3 s stops a longer run with exit 4 within 5 s."""
    deadline = 3.0
    wl = make_tiny_workload(tmp_path / "wl", 12, ("en-US", "fr-FR", "ja"))
    # ~0.1 s per API request, 2 in flight: the ~140 requests need ~7 s, well beyond the deadline. What is under
    # way at the deadline finishes and nothing new starts; "under way" includes requests already queued in the
    # client (here up to the 36 localization creates, ~1.8 s), which is what the 5 s allowance covers.
    config = fast_sim_config(app_id=wl.app_id, api_latency=0.1)
    report_path = tmp_path / "report.json"
    async with Simulator(config) as sim:
        env = cli_env(
            ASC_KEY_ID=sim.key.key_id, ASC_ISSUER_ID=sim.key.issuer_id,
            ASC_PRIVATE_KEY=sim.key.private_key_pem, BULKGC_MANIFEST=str(wl.manifest),
            BULKGC_BASE_URL=sim.base_url, BULKGC_JOURNAL=str(tmp_path / "journal.sqlite"),
            BULKGC_DEADLINE=f"{deadline:g}s", BULKGC_LOG_FORMAT="json", BULKGC_API_CONCURRENCY="2", BULKGC_IMAGES_IN_FLIGHT="4",
            BULKGC_POLL_INTERVAL="0.05", BULKGC_TOKEN_LIFETIME="10s", BULKGC_REPORT=str(report_path),
        )
        code, out, err, ended = await run_cli(["push"], env)
        first_request = min(r.started for r in sim.requests if r.kind == "api")
        overshoot = ended - (first_request + deadline)
        print(f"\ndeadline overshoot {overshoot:.2f}s")
        assert code == EXIT_INTERRUPTED, (out, err[-2000:])
        assert -0.5 <= overshoot <= 5.0
        # --log-format json (from the environment): events on stderr, the summary alone on stdout, as JSON
        summary = json.loads(out)
        assert err.startswith("{") and summary["event"] == "summary" and summary["interrupted"] is True
        assert summary["resume_hint"].startswith(f"bulkgc push {wl.manifest}")
        assert report_path.exists()  # BULKGC_REPORT honoured
        images_before = len(sim.state.images())
        assert 0 < images_before < len(wl.vendors) * len(wl.locales)  # it stopped part-way

        code, out, err, _ = await run_cli(["push", str(wl.manifest), *sim_flags(sim, tmp_path)], cli_env())
        assert code == 0, (out, err[-2000:])
        assert_matches_manifest(sim, wl)
        # nothing uploaded twice: one reservation per icon over both runs, every part sent once
        reserves = [r for r in sim.requests if r.method == "POST" and (r.route or "").endswith("AchievementImages")
                    and r.status == 201]
        assert len(reserves) == len(wl.vendors) * len(wl.locales)
        parts = [(r.path, r.query.get("partNumber")) for r in sim.requests if r.kind == "upload"]
        assert len(parts) == len(set(parts))
