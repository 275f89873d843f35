"""Progress bars on a (fake) terminal, driven by real pushes against the simulator.

One bar per stage with work, never past its total, short of 100% when a run is interrupted, full after the
resume, none on a no-op run.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import anyio
from conftest import fast_sim_config, settings_for
from workload import assert_matches_manifest, make_workload

from bulkgc.pipeline import push
from bulkgc.progress import Event, TqdmSink
from bulkgc.sim import Simulator

WIDTH = 100
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_FRAME = re.compile(r"^(texts|uploads|processing)\s*:\s*(\d+)%\|[^|]*\|\s*(\d+)/(\d+)")


class FakeTerminal(io.StringIO):
    """A StringIO that says it is a terminal, as a user's shell would."""

    def isatty(self) -> bool:
        return True


class StopAfterCommits(TqdmSink):
    """The real terminal sink; also asks the run to stop after `n` images are committed (like Ctrl-C)."""

    def __init__(self, stream: FakeTerminal, stop: anyio.Event, n: int) -> None:
        super().__init__(stream, ncols=WIDTH)
        self._stop, self._left = stop, n

    def on_event(self, e: Event) -> None:
        super().on_event(e)
        if e.step == "commit" and e.outcome == "ok":
            self._left -= 1
            if self._left == 0:
                self._stop.set()


def screen(text: str) -> list[str]:
    """What a terminal shows after `text`: carriage return, newline, cursor-up, overwriting, as a tty does."""
    rows: list[list[str]] = [[]]
    row = col = 0
    for token in re.findall(r"\x1b\[[0-9;]*[A-Za-z]|.|\n", text, flags=re.S):
        if token == "\r":
            col = 0
        elif token == "\n":
            row, col = row + 1, 0
            while len(rows) <= row:
                rows.append([])
        elif token == "\x1b[A":
            row = max(0, row - 1)
        elif token.startswith("\x1b"):
            raise AssertionError(f"unexpected escape {token!r}")
        else:
            line = rows[row]
            line.extend(" " * (col + 1 - len(line)))
            line[col] = token
            col += 1
    return ["".join(r).rstrip() for r in rows if "".join(r).strip()]


def frames(text: str) -> dict[str, list[tuple[int, int, int]]]:
    """Every drawn frame of every bar, as (percent, n, total), checking that no screen line mixes two bars."""
    out: dict[str, list[tuple[int, int, int]]] = {}
    for fragment in re.split(r"[\r\n]", _ANSI.sub("\n", text)):
        labels = re.findall(r"\b(?:texts|uploads|processing)\s*:", fragment)
        assert len(labels) <= 1, f"two bars on one line: {fragment!r}"
        assert len(fragment.rstrip()) <= WIDTH, f"line wider than the terminal: {fragment!r}"
        m = _FRAME.match(fragment)
        if m:
            out.setdefault(m.group(1), []).append((int(m.group(2)), int(m.group(3)), int(m.group(4))))
    for name, seen in out.items():
        assert all(n <= total for _, n, total in seen), f"{name} bar past its total: {seen}"
        assert len({total for _, _, total in seen}) == 1, f"{name} bar changed its total: {seen}"
    return out


async def test_bars_per_stage_through_interrupt_resume_and_noop(tmp_path: Path) -> None:
    """Fresh push interrupted, resumed, re-run: bars match each run's work, never overflow or fake 100%."""
    wl = make_workload(tmp_path / "wl", 4, ("en-US", "fr-FR", "de-DE"))
    async with Simulator(fast_sim_config(app_id=wl.app_id, processing_delay=0.3)) as sim:
        settings = settings_for(sim, wl.manifest, tmp_path, images_in_flight=2)

        first, stop = FakeTerminal(), anyio.Event()
        report = await push(settings, sink=StopAfterCommits(first, stop, 3), stop=stop)
        assert report.interrupted and report.exit_code == 4
        bars = frames(first.getvalue())
        assert set(bars) == {"texts", "uploads", "processing"}
        assert bars["uploads"][-1][2] == 12 and bars["processing"][-1][2] == 12
        for name in ("uploads", "processing"):
            percent, n, total = bars[name][-1]
            assert n < total and percent < 100, f"{name} reads {percent}% ({n}/{total}) after an interrupt"
        assert "interrupted" in first.getvalue()
        shown = screen(first.getvalue())
        bar_lines = [line for line in shown if _FRAME.match(line)]
        # what stays on screen: the three bars in stage order, each drawn whole (no stale tail of another)
        assert [line.split()[0].rstrip(":") for line in bar_lines] == ["texts", "uploads", "processing"]
        assert all(line.endswith("]") for line in bar_lines), bar_lines

        second = FakeTerminal()
        report = await push(settings, sink=TqdmSink(second, ncols=WIDTH))
        assert report.exit_code == 0
        assert_matches_manifest(sim, wl)
        bars = frames(second.getvalue())
        shown = [line for line in screen(second.getvalue()) if _FRAME.match(line)]
        assert [line.split()[0].rstrip(":") for line in shown] == ["uploads", "processing"]
        done_before = sum(1 for r in sim.requests if r.kind == "api" and r.method == "PATCH"
                          and "Images/" in r.path)  # commits: every image committed exactly once
        assert done_before == 12
        assert "uploads" in bars and "processing" in bars
        for name, seen in bars.items():
            percent, n, total = seen[-1]
            assert (percent, n) == (100, total), f"{name} ends at {percent}% ({n}/{total}) after a full run"
        assert bars["uploads"][-1][2] < 12  # only what was left: committed images are not redone

        third = FakeTerminal()
        report = await push(settings, sink=TqdmSink(third, ncols=WIDTH))
        assert report.exit_code == 0 and frames(third.getvalue()) == {}  # nothing to do: no bar at all
