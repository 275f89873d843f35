"""Outages beyond one request's retries: ridden out within --outage-patience, or ended resumable (exit 4)."""

from __future__ import annotations

import json
import os
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest
from anyio.from_thread import start_blocking_portal
from conftest import fast_sim_config, settings_for
from workload import assert_matches_manifest, make_workload, sim_image_state, writes

import bulkgc.sim as simmod
from bulkgc.cli import main
from bulkgc.pipeline import push
from bulkgc.sim import FaultRule, Simulator

#: The outage ridden out. With the client's back-off compressed (the `quick_backoff` fixture: 0.05 s doubling,
#: 1 s cap) it is what 60 s is at the defaults (0.5 s, 30 s cap), and more: one request's own retries (~1.6 s)
#: run out long before it ends, so an outage is declared and waited out with the capped back-off for ~8 s,
#: 8 back-off caps (60 s at the defaults: ~16 s of retries, then 44 s, under 2 caps).
OUTAGE_SECONDS = 10.0


def outage_rules() -> list[FaultRule]:
    """App Store Connect down: every API request answers 503, every upload connection is dropped."""
    return [FaultRule(kind="status", status=503), FaultRule(kind="drop", route_glob="/upload/*")]


def is_first_commit(rec: Any) -> bool:
    return (rec.method == "PATCH" and "/gameCenterAchievementImages/" in rec.path and rec.status == 200
            and (rec.request_body or {}).get("data", {}).get("attributes", {}).get("uploaded") is True)


class OutageAt:
    """Starts an outage inside the simulator when it answers the first image commit (others in flight)."""

    def __init__(self, sim: Simulator, started: anyio.Event | None = None) -> None:
        self.sim = sim
        self.seq: int | None = None
        self.started = started  # set when the outage begins (only when the simulator shares the test's loop)

    def __call__(self, rec: Any) -> None:
        if self.seq is None and is_first_commit(rec):
            self.seq = rec.seq
            for rule in outage_rules():
                self.sim.add_fault(rule)
            if self.started is not None:
                self.started.set()


@pytest.mark.slow
async def test_long_outage_is_ridden_out_to_the_exact_end_state(
    tmp_path: Path, quick_backoff: tuple[float, float],
) -> None:
    """An outage (503s, dropped uploads) from the first commit on, lasting many times one request's retries
    and the back-off cap: exit 0, all COMPLETE, none lost."""
    _, cap = quick_backoff
    wl = make_workload(tmp_path / "wl", 4, locales=("en-US", "fr-FR", "de-DE"))
    async with Simulator(fast_sim_config(app_id=wl.app_id, part_size=4096, processing_delay=0.3)) as sim:
        settings = settings_for(sim, wl.manifest, tmp_path, processing_timeout=600.0, images_in_flight=4)
        trigger = OutageAt(sim, anyio.Event())
        simmod.observers.append(trigger)

        async def end_outage() -> None:
            assert trigger.started is not None
            await trigger.started.wait()
            await anyio.sleep(OUTAGE_SECONDS)
            sim.clear_faults()

        try:
            async with anyio.create_task_group() as tg:
                tg.start_soon(end_outage)
                started = anyio.current_time()
                report = await push(settings)
                took = anyio.current_time() - started
        finally:
            simmod.observers.remove(trigger)
        assert trigger.seq is not None, "the outage never started"
        during = [r for r in sim.requests if r.seq > trigger.seq and (r.status == 503 or r.dropped)]
        assert len(during) >= 10, "the outage was not seen by the client"
        assert took >= OUTAGE_SECONDS
        unfinished = [(r.name, r.outcome, r.message) for r in report.items if r.outcome != "done"]
        assert report.exit_code == 0, unfinished
        assert not report.interrupted and report.stop_reason == ""
        assert report.totals["outages"] >= 1 and report.totals["outage_seconds"] > 0
        # declared once one request's retries ran out, and waited out for several back-off caps
        assert report.totals["outage_seconds"] >= 4 * cap, report.totals
        # exact end state: one COMPLETE image per localization with the file's bytes, no orphan, none waiting
        assert_matches_manifest(sim, wl)
        assert all(sim_image_state(img) == "COMPLETE" for img in sim.state.images())
        mark = len(sim.requests)
        again = await push(settings)
        assert again.exit_code == 0 and writes(sim, mark) == []


@pytest.fixture
def thread_sim(tmp_path: Path) -> Iterator[tuple[Simulator, Any]]:
    """A simulator in its own thread, so the CLI can run `anyio.run` in this one."""
    wl = make_workload(tmp_path / "wl", 3, locales=("en-US", "fr-FR"))
    with start_blocking_portal() as portal:
        simulator = Simulator(fast_sim_config(app_id=wl.app_id, part_size=4096))
        with portal.wrap_async_context_manager(simulator) as sim:
            yield sim, wl


def test_outage_beyond_patience_ends_exit_4_with_both_reports(
    tmp_path: Path, thread_sim: tuple[Simulator, Any], capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch, quick_backoff: tuple[float, float],
) -> None:
    """An outage longer than --outage-patience 2s: exit 4; summary, --report and --junit name the cause."""
    for name in list(os.environ):
        if name.startswith(("ASC_", "BULKGC_")):
            monkeypatch.delenv(name)
    sim, wl = thread_sim
    key = sim.key.write_p8(tmp_path / "keys")
    report_path, junit_path = tmp_path / "out" / "report.json", tmp_path / "out" / "junit.xml"
    argv = [
        "push", str(wl.manifest), "--base-url", sim.base_url, "--key-id", sim.key.key_id,
        "--issuer-id", sim.key.issuer_id or "", "--private-key-path", str(key), "--journal",
        str(tmp_path / "journal.sqlite"), "--poll-interval", "0.05", "--report", str(report_path),
        "--junit", str(junit_path), "--log-format", "plain",
    ]
    trigger = OutageAt(sim)
    simmod.observers.append(trigger)
    try:
        code = main([*argv, "--outage-patience", "2s"])
    finally:
        simmod.observers.remove(trigger)
    out, err = capsys.readouterr()
    assert trigger.seq is not None
    assert code == 4, err[-2000:]
    assert "Stopped: App Store Connect did not answer for" in out, err[-3000:]
    assert "--outage-patience 2s" in out
    assert "run the same command again to resume" in out
    assert "Traceback" not in err
    report = json.loads(report_path.read_text())
    assert report["exit_code"] == 4 and report["interrupted"] is True
    assert "did not answer" in report["stop_reason"] and "503" in report["stop_reason"]
    names = {(i["kind"], i["vendor_identifier"], i["locale"]) for i in report["items"]}
    assert len(names) == 3 + 3 * 2 * 2  # every planned item is listed, finished or interrupted
    assert report["counts"]["interrupted"] > 0
    suite = ET.parse(junit_path).getroot().find("testsuite")
    assert suite is not None and "did not answer" in (suite.findtext("system-err") or "")
    assert int(suite.get("skipped") or 0) == report["counts"]["interrupted"]
    # the service comes back: the same command converges
    sim.clear_faults()
    assert main(argv) == 0
    capsys.readouterr()
    assert_matches_manifest(sim, wl)


def test_outage_patience_comes_from_flag_then_environment_then_default() -> None:
    """--outage-patience beats BULKGC_OUTAGE_PATIENCE, which beats the 15-minute default; durations parse."""
    import argparse

    from bulkgc.config import RunSettings, add_arguments, from_sources

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    assert from_sources(RunSettings, parser.parse_args([]), {}).outage_patience == 900.0
    env = {"BULKGC_OUTAGE_PATIENCE": "2m"}
    assert from_sources(RunSettings, parser.parse_args([]), env).outage_patience == 120.0
    flagged = from_sources(RunSettings, parser.parse_args(["--outage-patience", "1h"]), env)
    assert flagged.outage_patience == 3600.0
