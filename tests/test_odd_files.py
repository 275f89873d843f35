"""Odd files named like icons or manifests (FIFO, /dev/zero link, device, socket, directory): a per-file
error, exit 2, nothing sent, under a memory limit and without ever blocking in open()."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from anyio.from_thread import start_blocking_portal

from bulkgc.sim import SimConfig, Simulator

REPO = Path(__file__).resolve().parent.parent
MEMORY_LIMIT = 768 * 1024 * 1024  # address space: an unbounded read of /dev/zero dies long before the timeout
# A hang is what these tests catch (before the fix: for ever); the bound is generous for a loaded CI machine.
HANG_TIMEOUT = 60.0

RUNNER = (
    "import resource, sys\n"
    f"resource.setrlimit(resource.RLIMIT_AS, ({MEMORY_LIMIT}, {MEMORY_LIMIT}))\n"
    "from bulkgc.cli import main\n"
    "sys.exit(main(sys.argv[1:]))\n"
)


def fifo(path: Path) -> None:
    os.mkfifo(path)


def dev_zero_link(path: Path) -> None:
    path.symlink_to("/dev/zero")


def dev_null_link(path: Path) -> None:
    path.symlink_to("/dev/null")


def unix_socket(path: Path) -> None:
    # bound by its relative name: a pytest tmp path can be longer than AF_UNIX allows
    code = f"import socket; socket.socket(socket.AF_UNIX).bind({path.name!r})"
    subprocess.run([sys.executable, "-c", code], cwd=path.parent, check=True, timeout=30)


def directory(path: Path) -> None:
    path.mkdir()


CASES: dict[str, tuple[Callable[[Path], None], str]] = {
    "fifo": (fifo, "is a FIFO (named pipe), not an image file: replace it with the icon file"),
    "dev-zero": (dev_zero_link,
                 "is a character device (the symbolic link points at /dev/zero), not an image file"),
    "device": (dev_null_link,
               "is a character device (the symbolic link points at /dev/null), not an image file"),
    "socket": (unix_socket, "is a socket, not an image file: replace it with the icon file"),
    "directory": (directory, "is a directory, not an image file: point at the icon file"),
}


@pytest.fixture(scope="module")
def live_sim() -> Iterator[Simulator]:
    """A simulator on 127.0.0.1 in its own thread; the CLI runs in a subprocess."""
    with start_blocking_portal() as portal:
        with portal.wrap_async_context_manager(Simulator(SimConfig(seed=5))) as sim:
            yield sim


def workspace(tmp: Path, make: Callable[[Path], None]) -> tuple[Path, Path]:
    """A copy of the example manifest and assets with its first icon replaced by the odd file."""
    shutil.copytree(REPO / "assets", tmp / "assets")
    shutil.copytree(REPO / "manifests", tmp / "manifests")
    victim = sorted((tmp / "assets").glob("*.png"))[0]
    victim.unlink()
    make(victim)
    return tmp / "manifests" / "example.toml", victim


def run_limited(args: list[str], cwd: Path, env: dict[str, str] | None = None) -> tuple[int, str, float]:
    """Run the CLI in a subprocess under the memory limit; (exit code, stderr+stdout, seconds)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("ASC_", "BULKGC_"))}
    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-c", RUNNER, *args], cwd=cwd, env={**clean, **(env or {})},
                          capture_output=True, text=True, timeout=HANG_TIMEOUT)
    return proc.returncode, proc.stdout + proc.stderr, time.monotonic() - started


@pytest.mark.parametrize("case", sorted(CASES))
def test_odd_icon_is_refused_by_validate_without_blocking(tmp_path: Path, case: str) -> None:
    """`bulkgc validate` names the odd file, its kind and the fix, exits 2, neither blocking nor growing."""
    make, words = CASES[case]
    manifest, victim = workspace(tmp_path, make)
    code, out, seconds = run_limited(["validate", str(manifest)], tmp_path)
    assert code == 2, out
    assert f"{victim.name}: {words}" in out
    assert "Traceback" not in out and "MemoryError" not in out
    print(f"{case}: {seconds:.2f}s")


@pytest.mark.parametrize("case", ["fifo", "dev-zero"])
def test_odd_icon_is_refused_by_push_before_anything_is_sent(tmp_path: Path, case: str,
                                                             live_sim: Simulator) -> None:
    """`bulkgc push` refuses a FIFO or a /dev/zero link before any request: exit 2, nothing sent."""
    make, words = CASES[case]
    manifest, victim = workspace(tmp_path, make)
    key = live_sim.key.write_p8(tmp_path / "keys")
    before = len(live_sim.requests)
    code, out, _ = run_limited(
        ["push", str(manifest), "--base-url", live_sim.base_url, "--key-id", live_sim.key.key_id,
         "--issuer-id", live_sim.key.issuer_id or "", "--private-key-path", str(key)], tmp_path)
    assert code == 2, out
    assert f"{victim.name}: {words}" in out and "Nothing was sent" in out
    assert len(live_sim.requests) == before
    assert not (tmp_path / "manifests" / ".bulkgc" / "journal.sqlite").exists()


def test_fifo_manifest_is_refused_without_blocking(tmp_path: Path) -> None:
    """A manifest path that is a FIFO is a per-file error (exit 2), not a process stuck in open()."""
    manifest = tmp_path / "game.toml"
    os.mkfifo(manifest)
    code, out, _ = run_limited(["validate", str(manifest)], tmp_path)
    assert code == 2, out
    assert "game.toml: is a FIFO (named pipe), not a manifest file; pass the manifest file itself" in out
