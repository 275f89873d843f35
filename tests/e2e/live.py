"""Running the real CLI in-process against a simulator served on 127.0.0.1 from its own thread."""

from __future__ import annotations

import contextlib
import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from anyio.from_thread import start_blocking_portal

from bulkgc.cli import main
from bulkgc.sim import SimConfig, Simulator


def cli_args(sim: Simulator, tmp: Path) -> list[str]:
    """Connection flags for `sim` (the first 8 are what a read-only command needs)."""
    key = sim.key.write_p8(tmp / "keys")
    return [
        "--base-url",
        sim.base_url,
        "--key-id",
        sim.key.key_id,
        "--issuer-id",
        sim.key.issuer_id,
        "--private-key-path",
        str(key),
        "--poll-interval",
        "0.05",
    ]


@contextlib.contextmanager
def live_sim(config: SimConfig) -> Iterator[Simulator]:
    """A simulator on 127.0.0.1 in its own thread, so the CLI can run `anyio.run` here."""
    with start_blocking_portal() as portal:
        with portal.wrap_async_context_manager(Simulator(config)) as sim:
            yield sim


def run_cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """Run the real CLI in-process; (exit code, stdout, stderr). No traceback may reach the user."""
    code = main(argv)
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err, err
    return code, out, err


def last_seq(sim: Simulator) -> int:
    """The sequence number of the last API or upload request the simulator logged (0: none yet; control routes
    are logged without one)."""
    return max((r.seq for r in sim.requests), default=0)


def logged_since(sim: Simulator, seq: int) -> list[dict[str, Any]]:
    """What the simulator received after request `seq`, as its `/sim/requests` endpoint reports it (over HTTP:
    API calls and uploads, not the control routes)."""
    with urllib.request.urlopen(f"{sim.base_url}/sim/requests?since={seq}", timeout=30) as response:
        return list(json.loads(response.read()))
