"""Ctrl-C twice (or a burst of SIGINT/SIGTERM) always ends `bulkgc push` with exit 4, whenever they land."""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from crashbed import SimProc, assert_exact_state, run_push
from workload import make_workload


@pytest.fixture
def sim_proc(tmp_path: Path) -> Iterator[SimProc]:
    sim = SimProc(tmp_path, "6446000001").start()
    try:
        yield sim
    finally:
        sim.stop()


# Gaps (seconds) between the first signal (sent by the simulator at an exact request) and the ones after it:
# together they land while requests are in flight, while the run winds down and while the process exits.
GAPS = [(0.0,), (0.002,), (0.02,), (0.1,), (0.3,), (0.0, 0.0, 0.0, 0.0), (0.05, 0.001, 0.001), (0.6, 0.01)]


def test_repeated_stop_signals_always_exit_4(tmp_path: Path, sim_proc: SimProc) -> None:
    """Eight runs, each stopped by SIGINT at a request, then signalled again after 0-0.6 s: each exits 4."""
    wl = make_workload(tmp_path / "wl", 3, ("en-US", "fr-FR"))
    journal = tmp_path / "journal.sqlite"
    codes = []
    for i, gaps in enumerate(GAPS):
        def more_signals(proc: subprocess.Popen[bytes], gaps: tuple[float, ...] = gaps, i: int = i) -> None:
            deadline = time.monotonic() + 30
            while not any(f["applied"] for f in sim_proc.faults()):
                if proc.poll() is not None or time.monotonic() > deadline:
                    return
                time.sleep(0.002)
            for gap in gaps:
                time.sleep(gap)
                if proc.poll() is not None:
                    return
                proc.send_signal(signal.SIGTERM if i % 3 == 2 else signal.SIGINT)

        first = {"method": "GET", "skip": 1, "signum": signal.SIGINT}
        result = run_push(sim_proc, wl.manifest, journal, fault=first, while_running=more_signals)
        codes.append(result.returncode)
        assert result.returncode == 4, (gaps, result.stderr[-2000:])
        assert "Traceback" not in result.stderr
    assert codes == [4] * len(GAPS)
    finished = run_push(sim_proc, wl.manifest, journal)
    assert finished.returncode == 0, finished.stderr[-2000:]
    assert_exact_state(sim_proc, wl)
