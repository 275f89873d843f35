"""`bulkgc submit` (a process) SIGKILLed by the simulator (a process), then run again: no duplicates."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from crashbed import PY, SimProc, run_push
from workload import make_workload

from bulkgc.journal import Journal

#: the kill's fault rule and how many items the killed run left in the submission (items go one at a time
#: with --api-concurrency 1, so the kill lands between two of them)
KILLS: dict[str, tuple[dict[str, Any], int]] = {
    # the submission is created but its answer is lost: the resume must use it, not make a second one
    "submission created, answer lost": (
        {"method": "POST", "route_glob": "/v1/reviewSubmissions", "after_apply": True},
        0,
    ),
    # killed between items: the third item's answer is lost (it was applied); others may be in flight
    "between items": (
        {"method": "POST", "route_glob": "/v1/reviewSubmissionItems", "skip": 2, "after_apply": True},
        3,
    ),
    # killed before the fourth item reached App Store Connect
    "before an item": ({"method": "POST", "route_glob": "/v1/reviewSubmissionItems", "skip": 3}, 3),
}


@pytest.mark.parametrize("point", list(KILLS))
def test_submit_killed_then_resumed_holds_each_version_once(tmp_path: Path, point: str) -> None:
    """Killed at `point`, a re-run completes: one submission, each version once, only missing ones added."""
    wl = make_workload(tmp_path / "wl", 4, ("en-US",), leaderboards=2)
    journal = tmp_path / "journal.sqlite"
    sim = SimProc(tmp_path, wl.app_id).start()
    try:
        assert run_push(sim, wl.manifest, journal).returncode == 0
        rule, left = KILLS[point]
        killed = run_push(sim, wl.manifest, journal, "--api-concurrency", "1", command="submit", fault=rule)
        assert killed.returncode == -9, killed.stderr[-2000:]
        before = _items(sim)
        assert len(before) == left
        again = run_push(sim, wl.manifest, journal, command="submit")
        assert again.returncode == 0, again.stderr[-3000:] + again.stdout[-3000:]
        state = sim.state
        assert len(state.data["reviewSubmissions"]) == 1, "a second submission was created"
        (sub,) = state.data["reviewSubmissions"].values()
        held = [i["version_id"] for i in state.data["reviewSubmissionItems"].values()]
        versions = {v["id"] for k in ("achievement", "leaderboard") for v in state.versions(k)}
        assert sorted(held) == sorted(versions) and len(held) == 6
        assert {i["submission_id"] for i in state.data["reviewSubmissionItems"].values()} == {sub["id"]}
        resumed_posts = [
            r
            for r in sim.requests(again.first_seq)
            if r.method == "POST" and r.route == "/v1/reviewSubmissionItems" and r.status == 201
        ]
        assert len(resumed_posts) == 6 - len(before)
        assert not [
            r
            for r in sim.requests(again.first_seq)
            if r.method == "POST" and r.route == "/v1/reviewSubmissions"
        ]
        # --log-format json: stdout is the summary line, the lines for people are on stderr
        assert json.loads(again.stdout)["exit_code"] == 0
        assert f"{6 - len(before)} item(s) added" in again.stderr
        with Journal.open(journal, run_command="status", read_only=True) as j:
            rows = j.items(kind="review")
        # every version's row says where it is, also for those the killed run added without hearing back
        assert [r.state for r in rows] == ["added"] * 6
        assert {r.remote_id for r in rows} == set(state.data["reviewSubmissionItems"])
        assert {r.parent_id for r in rows} == {sub["id"]}
        assert sim.assert_conforms() > 0
    finally:
        sim.stop()


def _items(sim: SimProc) -> list[dict[str, Any]]:
    return list(sim.state.data["reviewSubmissionItems"].values())


def test_push_submit_command_line_pushes_then_submits_with_one_report(tmp_path: Path) -> None:
    """`push --submit` pushes then submits, listing each item, one report; --send refuses first versions."""
    wl = make_workload(tmp_path / "wl", 2, ("en-US",), leaderboards=1)
    journal = tmp_path / "journal.sqlite"
    report = tmp_path / "report.json"
    sim = SimProc(tmp_path, wl.app_id).start()
    try:
        done = run_push(sim, wl.manifest, journal, "--submit", "--report", str(report))
        assert done.returncode == 0, done.stderr[-3000:]
        # --log-format json: stdout is one summary line for both steps; the lines for people go to stderr
        (summary,) = done.stdout.splitlines()
        assert json.loads(summary)["command"] == "push --submit"
        listed = [line for line in done.stderr.splitlines() if line.startswith("added ")]
        assert len(listed) == 3 and "left READY_FOR_REVIEW" in done.stderr
        doc = json.loads(report.read_text())
        kinds = {(i["kind"], i["outcome"]) for i in doc["items"]}
        assert ("image", "done") in kinds and ("review", "done") in kinds
        assert len(sim.state.data["reviewSubmissionItems"]) == 3
        status = subprocess.run(
            [PY, "-m", "bulkgc", "status", str(wl.manifest), "--journal", str(journal), "--json"],
            capture_output=True,
            text=True,
            check=True,
        )
        rows = json.loads(status.stdout)["review"]
        assert {r["review_item"] for r in rows} == set(sim.state.data["reviewSubmissionItems"])
        sent = run_push(sim, wl.manifest, journal, "--submit", "--send")
        assert (
            sent.returncode == 1
            and "FIRST_TIME_NEEDS_APP_VERSION" in json.loads(sent.stdout)["failures"][0]["error_codes"]
        )
        assert "Traceback" not in sent.stderr
        # no key material or token in anything a person or a CI log sees
        seen = done.stdout + done.stderr + sent.stdout + sent.stderr + report.read_text()
        assert "eyJ" not in seen and "BEGIN" not in seen
        assert sim.assert_conforms() > 0
    finally:
        sim.stop()
