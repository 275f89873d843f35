"""Unattended CLI runs: JSON event log, JSON report and JUnit for a run where one icon fails; --quiet."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from nightbed import ANSI, cli_env, make_tiny_workload, run_cli, sim_flags

from bulkgc.sim import FaultRule, SimConfig, Simulator

pytestmark = pytest.mark.timeout(90)

IMAGE_COMMIT = "*/gameCenterAchievementImages/*"
FAIL_CODE = "IMAGE_ASSET_CORRUPT"
STEP_KEYS = {"time", "item", "step", "attempt", "outcome", "latency"}


def one_failing_icon_sim(app_id: str, *more: FaultRule) -> SimConfig:
    """A simulator whose first committed icon ends processing FAILED with FAIL_CODE (every other one completes)."""
    rule = FaultRule(kind="fail_processing", method="PATCH", route_glob=IMAGE_COMMIT, count=1, code=FAIL_CODE)
    return SimConfig(app_id=app_id, seed=21, part_size=16 * 1024, processing_delay=0.05, faults=(rule, *more))


async def test_json_log_report_and_junit_of_a_run_with_one_failed_icon(tmp_path: Path) -> None:
    """--log-format json: only JSON events on stderr, no bars or escapes; report and JUnit name the failure; exit 1."""
    wl = make_tiny_workload(tmp_path / "wl", 4, ("en-US", "fr-FR", "ja"))
    report_path, junit_path = tmp_path / "out" / "report.json", tmp_path / "out" / "junit.xml"
    report_path.parent.mkdir()
    # two transient 503s as well: the client's retry warnings must come out as JSON lines too
    flaky_reads = FaultRule(kind="status", status=503, method="GET", count=2)
    async with Simulator(one_failing_icon_sim(wl.app_id, flaky_reads)) as sim:
        code, out, err, _ = await run_cli(
            ["push", str(wl.manifest), *sim_flags(sim, tmp_path), "--image-attempts", "1", "--log-format", "json",
             "--report", str(report_path), "--junit", str(junit_path)], cli_env())
    assert code == 1, (out, err)
    assert ANSI not in out + err and "\r" not in out + err  # no progress bars, no colour: not a terminal

    events = [json.loads(line) for line in err.splitlines()]  # every stderr line is one JSON object
    steps = [e for e in events if e["event"] == "step"]
    assert steps and all(STEP_KEYS <= e.keys() for e in steps)
    assert all(isinstance(e["latency"], float) for e in steps if e["outcome"] == "ok")
    assert all(isinstance(e["time"], str) and e["time"].endswith("Z") for e in events)
    retry_logs = [e for e in events if e["event"] == "log" and "retrying" in e["message"]]
    assert len(retry_logs) == 2 and all(e["level"] == "WARNING" for e in retry_logs)
    failed_steps = [e for e in steps if e["outcome"] == "failed"]
    assert len(failed_steps) == 1 and failed_steps[0]["item"].startswith("image:")
    failed_item = failed_steps[0]["item"]
    assert {"item": failed_item, "outcome": "failed"}.items() <= next(
        e for e in events if e["event"] == "item_done" and e["item"] == failed_item).items()

    report: dict[str, Any] = json.loads(report_path.read_text())
    items = report["items"]
    assert len(items) == 4 + 4 * 3 + 4 * 3  # achievements, localizations, images
    for item in items:
        assert {"kind", "vendor_identifier", "locale", "action", "image_id", "final_state", "error_codes",
                "attempts", "timings", "outcome"} <= item.keys()
    (bad,) = [i for i in items if i["outcome"] == "failed"]
    assert f"{bad['kind']}:{bad['gc_kind']}:{bad['vendor_identifier']}:{bad['locale']}" == failed_item
    assert bad["error_codes"] == [FAIL_CODE] and bad["final_state"] == "FAILED" and bad["image_id"]
    assert bad["attempts"] == 1 and bad["action"] == "upload"
    good_images = [i for i in items if i["kind"] == "image" and i["outcome"] == "done"]
    assert len(good_images) == 11 and all(i["final_state"] == "COMPLETE" for i in good_images)
    # timings per step: what the morning reader needs to see where an icon's time went
    assert all({"reserve", "upload", "commit", "processed", "seconds"} <= i["timings"].keys() for i in good_images)
    totals = report["totals"]
    assert totals["requests_by_method"]["POST"] >= 4 + 12 + 12 and totals["requests_by_method"]["PATCH"] >= 12
    assert totals["rate_limited"] == 0 and totals["retries"] == 2 and report["duration"] > 0
    assert report["exit_code"] == 1

    suite = ET.parse(junit_path).getroot().find("testsuite")
    assert suite is not None
    cases = suite.findall("testcase")
    assert len(cases) == len(items)
    failures = [(c.get("name"), c.find("failure")) for c in cases if c.find("failure") is not None]
    assert len(failures) == 1 and suite.get("failures") == "1"
    name, failure = failures[0]
    assert name == f"{bad['vendor_identifier']}[{bad['locale']}]"
    assert failure is not None and FAIL_CODE in (failure.get("message") or "") and FAIL_CODE in (failure.text or "")
    # with --log-format json the summary on stdout is one JSON line naming the failure with Apple's code
    (line,) = out.splitlines()
    summary = json.loads(line)
    assert summary["counts"]["failed"] == 1 and summary["exit_code"] == 1
    assert [f["error_codes"] for f in summary["failures"]] == [[FAIL_CODE]]


async def test_quiet_prints_only_failures_and_the_summary(tmp_path: Path) -> None:
    """--quiet (not a tty): stderr holds only the failed icon's lines; stdout is the summary."""
    wl = make_tiny_workload(tmp_path / "wl", 3, ("en-US", "de-DE"))
    async with Simulator(one_failing_icon_sim(wl.app_id)) as sim:
        code, out, err, _ = await run_cli(
            ["push", str(wl.manifest), *sim_flags(sim, tmp_path), "--image-attempts", "1", "--quiet"], cli_env())
    assert code == 1, (out, err)
    lines = err.splitlines()
    assert lines and all(" failed" in line and line.split()[1:3] == ["achievement", "image"] for line in lines), lines
    assert len({line.split()[2] for line in lines}) == 1  # one icon (vendor/locale), its failed step and its end
    assert out.startswith("bulkgc push: ") and FAIL_CODE in out and ANSI not in out + err
