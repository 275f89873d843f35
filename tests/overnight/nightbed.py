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


def minimum_request_span(admissions: list[float], capacity: int, window: float) -> float:
    """Shortest time from the first to the last of these admissions that the rolling-window budget allows.

    At most `capacity` requests fit in any window of `window` seconds, so admission i + capacity comes at least
    `window` after admission i: a[i + cap] >= a[i] + W. Chaining k = floor((N - 1) / cap) times back from the
    last request: a[N] >= a[N - k*cap] + k*W, where request r = N - k*cap (1 <= r <= cap) lies in the first
    window. The first window is never paced (its `cap` requests go at the client's full speed), so a[r] - a[1]
    is the fastest this client reaches its r-th request, and

        minimum = k * W + (a[r] - a[1])

    is what the budget allows; with an infinitely fast client it is k * W (bursts of `cap` at 0, W, 2W, ...).
    """
    n = len(admissions)
    if n == 0:
        return 0.0
    k = (n - 1) // capacity
    r = n - k * capacity
    return k * window + (admissions[r - 1] - admissions[0])


ANSI = "\x1b["


def cli_env(**extra: str) -> dict[str, str]:
    """A clean environment for a `python -m bulkgc` child: no BULKGC_/ASC_ variables leak in from the shell."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BULKGC_", "ASC_"))}
    env.pop("TERM", None)
    env.update(extra)
    return env


async def run_cli(args: list[str], env: dict[str, str], *, timeout: float = 60.0) -> tuple[int, str, str, float]:
    """Run `python -m bulkgc ARGS` (stdin closed, pipes, not a tty); (exit code, stdout, stderr, wall-clock end)."""
    with anyio.fail_after(timeout):
        proc = await anyio.run_process([sys.executable, "-m", "bulkgc", *args], stdin=subprocess.DEVNULL,
                                       env=env, check=False)
    ended = time.time()  # the simulator stamps its request records with wall-clock time
    return proc.returncode, proc.stdout.decode(), proc.stderr.decode(), ended


def sim_flags(sim: Any, tmp: Path) -> list[str]:
    """The flags that point the CLI at `sim` with its key (journal in `tmp`, quick polls)."""
    return ["--base-url", sim.base_url, "--key-id", sim.key.key_id, "--issuer-id", sim.key.issuer_id,
            "--private-key-path", str(sim.key.write_p8(tmp / "keys")), "--journal", str(tmp / "journal.sqlite"),
            "--poll-interval", "0.05", "--processing-timeout", "5"]
