"""Stopping and sharing: SIGTERM/SIGINT leave a usable journal and a resume hint; one push per journal; `status`
reads the journal while a push runs; a re-run of a finished push only reads."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from crashbed import PY, SimProc, applied_writes, assert_exact_state, push_argv, run_push, settle
from workload import make_workload

LOCALES = ("en-US", "fr-FR")


@pytest.fixture
def sim_proc(tmp_path: Path) -> Iterator[SimProc]:
    sim = SimProc(tmp_path, "6446000001").start()
    try:
        yield sim
        sim.assert_conforms()  # what the test made it serve conforms to Apple's spec
    finally:
        sim.stop()


def _status(manifest: Path, journal: Path, *args: str) -> subprocess.CompletedProcess[str]:
    # no credentials, and a base URL nobody listens on: status must not need either
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BULKGC_", "ASC_"))}
    env["BULKGC_BASE_URL"] = "http://127.0.0.1:9"
    return subprocess.run([PY, "-m", "bulkgc", "status", str(manifest), "--journal", str(journal), *args],
                          capture_output=True, text=True, env=env, timeout=30)


def _quick_check(journal: Path) -> str:
    conn = sqlite3.connect(f"file:{journal}?mode=ro", uri=True)
    try:
        return str(conn.execute("PRAGMA quick_check").fetchone()[0])
    finally:
        conn.close()


def _wait_fault_applied(sim: SimProc, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not any(f["applied"] for f in sim.faults()):
        assert time.monotonic() < deadline, "the signal fault never fired"
        time.sleep(0.01)


def test_noop_rerun_reads_about_one_request_per_achievement(tmp_path: Path, sim_proc: SimProc) -> None:
    """A re-run of a finished push (with its journal, then without) sends no write and <= achievements + 3 reads."""
    wl = make_workload(tmp_path / "wl", 4, LOCALES)
    journal = tmp_path / "journal.sqlite"
    first = run_push(sim_proc, wl.manifest, journal)
    assert first.returncode == 0, first.stderr[-2000:]
    for drop_journal in (False, True):
        if drop_journal:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{journal}{suffix}").unlink(missing_ok=True)
        again = run_push(sim_proc, wl.manifest, journal)
        assert again.returncode == 0, again.stderr[-2000:]
        reqs = sim_proc.requests(again.first_seq)
        assert applied_writes(reqs) == {}
        assert [r for r in reqs if r.kind == "upload"] == []
        reads = [r for r in reqs if r.kind == "api"]
        assert all(r.method == "GET" for r in reads)
        assert len(reads) <= len(wl.vendors) + 3, [r.path for r in reads]
    assert_exact_state(sim_proc, wl)


#: The simulator's processing time for the SIGTERM test: longer than any plausible delay between an image's
#: commit and the stopped push's first poll of it, so the images in flight when SIGTERM lands are certainly
#: still processing when that run ends (unfinished, for `status` to list). With the bed's 0.1 s the margin was
#: ~0.05 s (one --poll-interval): on a loaded machine the first poll sometimes found them COMPLETE, the run
#: left no started image unfinished, and `status` rightly listed none. A timing tolerance, widened.
SIGTERM_PROCESSING_DELAY = "1.5"


@pytest.fixture
def slow_processing_sim(tmp_path: Path) -> Iterator[SimProc]:
    sim = SimProc(tmp_path, "6446000001", "--processing-delay", SIGTERM_PROCESSING_DELAY).start()
    try:
        yield sim
        sim.assert_conforms()
    finally:
        sim.stop()


def test_sigterm_exit_4_intact_journal_hint_and_resume(tmp_path: Path, slow_processing_sim: SimProc) -> None:
    """SIGTERM mid-upload: exit 4, resume hint naming the journal, journal passes quick_check, status lists the
    unfinished items, and the same command completes the push."""
    sim_proc = slow_processing_sim
    wl = make_workload(tmp_path / "wl", 4, LOCALES)
    journal = tmp_path / "journal.sqlite"
    stopped = run_push(sim_proc, wl.manifest, journal, "--images-in-flight", "2",
                       fault={"method": "PUT", "route_glob": "/upload/*", "skip": 3, "signum": signal.SIGTERM})
    assert stopped.returncode == 4, stopped.stderr[-2000:]
    assert "SIGTERM" in stopped.stderr
    summary = json.loads(stopped.stdout)  # the push runs with --log-format json: the summary is JSON
    assert summary["interrupted"] is True and summary["exit_code"] == 4
    assert summary["resume_hint"] == f"bulkgc push {wl.manifest} --journal {journal}"
    assert _quick_check(journal) == "ok"

    status = _status(wl.manifest, journal, "--json")
    assert status.returncode == 0, status.stderr
    info = json.loads(status.stdout)
    assert info["running"] is None
    assert info["unfinished"], ("status shows nothing unfinished after an interrupted push", info,
                                stopped.stdout, stopped.stderr[-4000:])
    text = _status(wl.manifest, journal)
    assert "Run the same push again to resume" in text.stdout

    resumed = run_push(sim_proc, wl.manifest, journal)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert_exact_state(sim_proc, wl)
    both = sim_proc.requests(stopped.first_seq)
    assert applied_writes(both) == {"POST achievement": 4, "POST localization": 8, "POST image": 8, "PATCH image": 8}


def test_sigint_twice_forces_stop_and_leaves_usable_journal(tmp_path: Path, sim_proc: SimProc) -> None:
    """A second SIGINT stops at once (exit 4, 'nothing is lost'); the journal still opens and the re-run completes."""
    wl = make_workload(tmp_path / "wl", 4, LOCALES)
    journal = tmp_path / "journal.sqlite"

    def second_sigint(proc: subprocess.Popen[bytes]) -> None:
        _wait_fault_applied(sim_proc)
        time.sleep(0.05)  # let the first one be handled
        proc.send_signal(signal.SIGINT)

    stopped = run_push(sim_proc, wl.manifest, journal, "--images-in-flight", "8",
                       fault={"method": "PUT", "route_glob": "/upload/*", "skip": 2, "signum": signal.SIGINT},
                       while_running=second_sigint)
    assert stopped.returncode == 4, stopped.stderr[-2000:]
    assert "SIGINT" in stopped.stderr
    summary = json.loads(stopped.stdout)
    assert "stopped before the run could finish cleanly; nothing is lost" in summary["message"]
    assert summary["resume_hint"] == f"bulkgc push {wl.manifest} --journal {journal}"
    assert _quick_check(journal) == "ok"
    assert _status(wl.manifest, journal).returncode == 0

    resumed = run_push(sim_proc, wl.manifest, journal)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert_exact_state(sim_proc, wl)


def test_one_push_per_journal_and_status_while_running(tmp_path: Path, sim_proc: SimProc) -> None:
    """While a push holds the journal: a second push fails fast with exit 3 naming the holder's pid, and `status`
    (no network) reads the journal and names the running push; the first push then finishes."""
    wl = make_workload(tmp_path / "wl", 4, LOCALES)
    journal = tmp_path / "journal.sqlite"
    seen: dict[str, object] = {}

    def while_frozen(proc: subprocess.Popen[bytes]) -> None:
        seen["pid"] = proc.pid
        _wait_fault_applied(sim_proc)
        deadline = time.monotonic() + 10
        while Path(f"/proc/{proc.pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "T":
            assert time.monotonic() < deadline, "the push was not stopped"
            time.sleep(0.01)
        try:
            settle(sim_proc)  # what the frozen push had already sent
            mark = sim_proc.last_seq()
            started = time.monotonic()
            second = subprocess.run(push_argv(wl.manifest, journal), capture_output=True, text=True,
                                    env=sim_proc.env(), timeout=30)
            seen["second"] = (second.returncode, second.stderr, time.monotonic() - started)
            status = _status(wl.manifest, journal)
            seen["status"] = (status.returncode, status.stdout + status.stderr)
            seen["requests"] = sim_proc.requests(mark)
        finally:
            os.kill(proc.pid, signal.SIGCONT)

    first = run_push(sim_proc, wl.manifest, journal,
                     fault={"method": "PUT", "route_glob": "/upload/*", "skip": 1, "signum": signal.SIGSTOP},
                     while_running=while_frozen)
    code, err, took = seen["second"]  # type: ignore[misc]
    assert code == 3, err
    assert f"is in use by bulkgc pid {seen['pid']} on host" in err
    assert took < 10
    status_code, status_out = seen["status"]  # type: ignore[misc]
    assert status_code == 0, status_out
    assert "A push is running now: bulkgc pid" in status_out
    assert "unfinished image:" in status_out
    assert seen["requests"] == []  # neither the refused push nor status sent a request
    assert first.returncode == 0, first.stderr[-2000:]
    assert_exact_state(sim_proc, wl)

