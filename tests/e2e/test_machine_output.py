"""Machine output is one style: snake_case keys in plan --json, status --json and --report, ISO 8601 UTC
timestamps everywhere, and with --log-format json stdout holds exactly one JSON line, the summary."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

import anyio
from conftest import fast_sim_config, settings_for
from workload import make_workload

from bulkgc.cli import main
from bulkgc.sim import Simulator

ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3})?Z$")
SNAKE = re.compile(r"^[a-z][a-z0-9_]*$")
# maps whose keys are data, not field names: HTTP methods, request purposes, HTTP statuses
DATA_MAPS = {"requests_by_method", "by_method", "requests_by_purpose", "by_purpose", "by_status"}
TIME_KEYS = {"time", "started", "finished"}


def check_style(doc: Any, where: str) -> int:
    """Assert snake_case keys and ISO times throughout `doc`; return how many timestamps were checked."""
    times = 0
    if isinstance(doc, dict):
        for key, value in doc.items():
            assert SNAKE.match(key), f"{where}: key {key!r} is not snake_case"
            if key in TIME_KEYS and value is not None:
                assert isinstance(value, str) and ISO.match(value), f"{where}.{key}: {value!r} is not ISO UTC"
                times += 1
            elif key not in DATA_MAPS:
                times += check_style(value, f"{where}.{key}")
    elif isinstance(doc, list):
        for i, value in enumerate(doc):
            times += check_style(value, f"{where}[{i}]")
    return times


async def test_json_log_summary_report_status_and_plan_share_one_style(tmp_path: Path, capsys: Any) -> None:
    """`bulkgc push --log-format json --report`: stdout is one JSON summary line, stderr JSON events;
    report, status --json and plan --json use snake_case keys and ISO 8601 UTC timestamps."""
    wl = make_workload(tmp_path / "wl", 2, ("en-US", "fr-FR"))
    async with Simulator(fast_sim_config(app_id=wl.app_id)) as sim:
        settings = settings_for(sim, wl.manifest, tmp_path)
        auth = ["--base-url", sim.base_url, "--key-id", settings.key_id or "", "--issuer-id",
                settings.issuer_id or "", "--private-key-path", str(settings.private_key_path)]
        journal = ["--journal", str(tmp_path / "journal.sqlite")]
        report_path = tmp_path / "report.json"
        done = await anyio.run_process(
            [sys.executable, "-m", "bulkgc", "push", str(wl.manifest), *auth, *journal,
             "--log-format", "json",
             "--report", str(report_path)], check=False)
        assert done.returncode == 0, done.stderr.decode()

        out_lines = done.stdout.decode().splitlines()
        assert len(out_lines) == 1, out_lines  # the summary, nothing else
        summary = json.loads(out_lines[0])
        assert summary["event"] == "summary" and summary["exit_code"] == 0 and summary["failures"] == []
        assert summary["counts"]["done"] == 2 + 4 + 4 and summary["requests"] > 0
        assert check_style(summary, "summary") == 1

        events = [json.loads(line) for line in done.stderr.decode().splitlines()]
        assert events and {e["event"] for e in events} >= {"plan", "step", "item_done"}
        assert sum(check_style(e, "event") for e in events) == len(events)  # every event has its time

        report = json.loads(report_path.read_text())
        assert report["schema"] == "bulkgc-report/2"
        # started and finished of the run and of each of its 10 items
        assert check_style(report, "report") == 2 + 2 * len(report["items"]) == 22

        code = await anyio.to_thread.run_sync(lambda: main(["status", str(wl.manifest), *journal, "--json"]))
        status = json.loads(capsys.readouterr().out)
        assert code == 0 and status["last_run"]["outcome"] == "ok"
        assert check_style(status, "status") == 2

        code = await anyio.to_thread.run_sync(lambda: main(["status", str(wl.manifest), *journal]))
        text = capsys.readouterr().out
        assert re.search(r"started \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z,", text), text

        wl.set_text(wl.vendors[0], "en-US", "name", "Renamed")
        code = await anyio.to_thread.run_sync(lambda: main(["plan", str(wl.manifest), *auth, "--json"]))
        plan = json.loads(capsys.readouterr().out)
        assert code == 0 and plan["schema"] == "bulkgc-plan/2"
        check_style(plan, "plan")
        assert plan["totals"]["localizations_update"] == 1
