"""Helpers for the overnight tests: the e2e helpers, tiny generated workloads and the budget arithmetic."""

from __future__ import annotations

import math
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import anyio
from PIL import Image

E2E = Path(__file__).resolve().parents[1] / "e2e"
if str(E2E) not in sys.path:
    sys.path.insert(0, str(E2E))

import importlib.util  # noqa: E402

from workload import Workload, texts, write_manifest  # noqa: E402

# tests/e2e/conftest.py holds `settings_for`; it is loaded under its own name so it cannot shadow a conftest
_spec = importlib.util.spec_from_file_location("e2e_conftest", E2E / "conftest.py")
assert _spec is not None and _spec.loader is not None
e2e_conftest = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(e2e_conftest)
settings_for = e2e_conftest.settings_for
fast_sim_config = e2e_conftest.fast_sim_config

LOCALES7 = ("en-US", "fr-FR", "de-DE", "ja", "es-ES", "it", "ko")


def make_tiny_workload(root: Path, achievements: int, locales: tuple[str, ...] = LOCALES7, *,
                       app_id: str = "6446000001") -> Workload:
    """`achievements` x `locales` distinct icons, each a flat 512x512 colour (a few hundred bytes, quick to make)."""
    assets = root / "assets"
    assets.mkdir(parents=True, exist_ok=True)
    vendors = [f"com.example.night.ach{i:03d}" for i in range(achievements)]
    n = 0
    for vendor in vendors:
        for locale in locales:
            # the colour encodes the index, so every icon has its own bytes (and its own sha256)
            Image.new("RGB", (512, 512), (n % 256, (n // 256) % 256, 200)).save(assets / f"{vendor}.{locale}.png")
            n += 1
    wl = Workload(root, root / "game.toml", assets, app_id, vendors, locales)
    texts[wl.manifest] = {}
    write_manifest(wl)
    return wl


def budget_capacity(limit: int, margin_fraction: float, margin_requests: int = 0) -> int:
    """Requests bulkgc allows itself per window: the limit less the margin kept for other tools (RateBudget.margin)."""
    return limit - max(margin_requests, math.ceil(margin_fraction * limit))


def minimum_request_span(requests: int, capacity: int, window: float) -> float:
    """Shortest possible time from the first to the last of `requests` admissions under a rolling-window cap.

    At most `capacity` admissions fit in any window of `window` seconds, so admission k + capacity comes at
    least `window` after admission k: a_(k+cap) >= a_k + W. Chaining from a_1 = 0 gives
    a_N >= floor((N - 1) / cap) * W, and bursts of `cap` at 0, W, 2W, ... reach it: the bound is exact.
    """
    if requests <= 0:
        return 0.0
    return ((requests - 1) // capacity) * window


ANSI = "\x1b["


def cli_env(**extra: str) -> dict[str, str]:
    """A clean environment for a `python -m bulkgc` child: no BULKGC_/ASC_ variables leak in from the shell."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BULKGC_", "ASC_"))}
    env.pop("TERM", None)
    env.update(extra)
    return env


async def run_cli(args: list[str], env: dict[str, str], *, timeout: float = 60.0) -> tuple[int, str, str, float]:
    """Run `python -m bulkgc ARGS` (stdin closed, pipes, not a tty); (exit code, stdout, stderr, monotonic end)."""
    with anyio.fail_after(timeout):
        proc = await anyio.run_process([sys.executable, "-m", "bulkgc", *args], stdin=subprocess.DEVNULL,
                                       env=env, check=False)
    ended = time.monotonic()
    return proc.returncode, proc.stdout.decode(), proc.stderr.decode(), ended


def sim_flags(sim: Any, tmp: Path) -> list[str]:
    """The flags that point the CLI at `sim` with its key (journal in `tmp`, quick polls)."""
    return ["--base-url", sim.base_url, "--key-id", sim.key.key_id, "--issuer-id", sim.key.issuer_id,
            "--private-key-path", str(sim.key.write_p8(tmp / "keys")), "--journal", str(tmp / "journal.sqlite"),
            "--poll-interval", "0.05", "--processing-timeout", "5"]
