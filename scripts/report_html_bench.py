"""Measure the HTML report of a 1,000-image push: file size, time to render it, time for Chromium to load it.

    python scripts/report_html_bench.py [--achievements 100] [--locales 10] [--chromium /usr/bin/chromium]

It pushes `bulkgc bench`'s default workload (100 achievements x 10 locales, distinct 512x512 icons) to an
in-process simulator with no added latency, twice: a fresh push, then one where 5% of the icons and 5% of the
texts changed, 10 icons fail processing (the simulator's `fail_processing` fault) and 3 achievements have a
version in review. After each push the HTML report is written as `push --report-html` writes it (the first
with an empty thumbnail cache: every thumbnail is made; the second finds the unchanged and the replaced icons'
thumbnails cached). Chromium's load time is `--dump-dom` of the report minus that of an empty page (its own
start-up), median of 3. Numbers go to stdout; docs/REPORT.md quotes them.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import anyio
import anyio.to_thread

from bulkgc.bench import BenchConfig, apply_changes, choose_changes, copy_workload, ensure_workload
from bulkgc.config import RunSettings
from bulkgc.pipeline import push
from bulkgc.report import RunReport
from bulkgc.report_html import build_cards, write_html_report
from bulkgc.sim import FaultRule, SimConfig, Simulator
from bulkgc.thumbnails import ThumbnailCache

APP_ID = "6446000001"
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--host-resolver-rules=MAP * ~NOTFOUND")


Row = tuple[str, Path, int, int, int, float, float, dict[str, int]]


def render(name: str, report: RunReport, page: Path, cache_dir: Path) -> Row:
    """As `push --report-html` writes it: (name, page, cards, thumbnails, made, wall, CPU, states)."""
    cache = ThumbnailCache(cache_dir)
    t0, c0 = time.perf_counter(), time.process_time()
    write_html_report(report, page, cache)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    cards = build_cards(report)
    states: dict[str, int] = {}
    for card in cards:
        states[card.state] = states.get(card.state, 0) + 1
    shown = sum(1 for c in cards if c.digest) + sum(1 for c in cards if c.previous_digest)
    return name, page, len(cards), shown, cache.made, wall, cpu, states


async def two_pushes(cfg: BenchConfig, work: Path, journal: Path, out: Path) -> list[Row]:
    """The fresh push and the changed push, each followed at once by its HTML report."""
    rows = []
    thumbs = journal.parent / "thumbnails"
    config = SimConfig(app_id=APP_ID, part_size=1 << 20, processing_delay=0.05, seed=3, rate_limit=1_000_000)
    async with Simulator(config) as sim:
        key = sim.key.write_p8(work / "keys")
        settings = RunSettings(manifest=work / "manifest.toml", base_url=sim.base_url, key_id=sim.key.key_id,
                               issuer_id=sim.key.issuer_id, private_key_path=key, journal=journal,
                               poll_interval=0.1, image_attempts=1)
        first = await push(settings)
        rows.append(await anyio.to_thread.run_sync(render, "fresh push", first, out / "fresh.html", thumbs))
        apply_changes(cfg, work, choose_changes(cfg), APP_ID)
        for ach in sim.state.achievements()[:3]:
            latest = sim.state.latest_version(ach["id"])
            assert latest is not None
            sim.state.set_version_state(latest["id"], "WAITING_FOR_REVIEW")
        sim.add_fault(FaultRule(kind="fail_processing", method="PATCH", count=10, code="IMAGE_ASSET_CORRUPT",
                                route_glob="/v2/gameCenterAchievementImages/*"))
        second = await push(settings)
        page = out / "changed.html"
        rows.append(await anyio.to_thread.run_sync(render, "changed push", second, page, thumbs))
    return rows


def chromium_seconds(binary: str, page: Path, runs: int = 3) -> float:
    """Median wall seconds of `chromium --dump-dom page`."""
    times = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as profile:
            t0 = time.perf_counter()
            argv = [binary, *FLAGS, f"--user-data-dir={profile}", "--dump-dom", page.resolve().as_uri()]
            subprocess.run(argv,
                           capture_output=True, check=True, timeout=300)
            times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--achievements", type=int, default=100)
    parser.add_argument("--locales", type=int, default=10)
    parser.add_argument("--chromium", default=shutil.which("chromium") or "/usr/bin/chromium")
    parser.add_argument("--keep", type=Path, help="copy the two reports here")
    args = parser.parse_args(argv)
    cfg = BenchConfig(achievements=args.achievements, locales=args.locales)
    with tempfile.TemporaryDirectory(prefix="bulkgc-html-") as tmp:
        root = Path(tmp)
        cache_dir, _ = ensure_workload(cfg, APP_ID)
        work = copy_workload(cache_dir, root / "work")
        journal = root / "state" / "journal.sqlite"
        rows = anyio.run(two_pushes, cfg, work, journal, root)
        if args.keep:
            args.keep.mkdir(parents=True, exist_ok=True)
            for row in rows:
                shutil.copy(row[1], args.keep / row[1].name)
        blank = root / "blank.html"
        blank.write_text("<!DOCTYPE html><html><body></body></html>")
        base = chromium_seconds(args.chromium, blank) if Path(args.chromium).exists() else None
        for name, page, n, images, made, wall, cpu, states in rows:
            size = page.stat().st_size
            print(f"{name}: {n} cards ({', '.join(f'{v} {k}' for k, v in sorted(states.items()))}), "
                  f"{images} thumbnails shown, {made} made (rest from the cache)")
            print(f"  size {size / 1e6:.2f} MB = {size / n / 1024:.2f} KiB per card")
            print(f"  render (python) {wall:.2f} s wall, {cpu:.2f} s CPU")
            if base is not None:
                load = chromium_seconds(args.chromium, page)
                print(f"  chromium --dump-dom {load:.2f} s (empty page {base:.2f} s): load + layout + script "
                      f"{load - base:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
