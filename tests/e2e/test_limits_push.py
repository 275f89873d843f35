"""A manifest's [limits] raises bulkgc's own text limits for push too; the longer text reaches the server."""

from __future__ import annotations

import sys
from pathlib import Path

import anyio
from conftest import fast_sim_config, settings_for
from workload import make_workload

from bulkgc.sim import Simulator

LONG_NAME = "An achievement name longer than bulkgc's own guess of 64 characters!"


async def test_raised_name_limit_lets_push_send_the_long_name(tmp_path: Path) -> None:
    """A 68-character name: refused by default (exit 2, nothing sent); with [limits] name = 80, pushed."""
    assert len(LONG_NAME) > 64
    wl = make_workload(tmp_path / "wl", 1, ("en-US",))
    wl.set_text(wl.vendors[0], "en-US", "name", LONG_NAME)
    async with Simulator(fast_sim_config(app_id=wl.app_id)) as sim:
        settings = settings_for(sim, wl.manifest, tmp_path)
        args = [sys.executable, "-m", "bulkgc", "push", str(wl.manifest), "--base-url", sim.base_url,
                "--key-id", settings.key_id or "",
                "--issuer-id", settings.issuer_id or "", "--private-key-path", str(settings.private_key_path),
                "--journal", str(tmp_path / "journal.sqlite"),
                "--poll-interval", "0.05"]  # the simulator processes in 0.05 s: no 2 s (default) poll wait
        # a real `bulkgc push` process (it installs signal handlers, so not in a worker thread)
        done = await anyio.run_process(args, check=False)
        err = done.stderr.decode()
        assert done.returncode == 2 and "bulkgc's own limit is 64" in err and "[limits] name = 68" in err
        assert [r for r in sim.requests if r.kind == "api"] == []

        wl.manifest.write_text(wl.manifest.read_text() + "\n[limits]\nname = 80\n", encoding="utf-8")
        done = await anyio.run_process(args, check=False)
        assert done.returncode == 0, done.stderr.decode()
        assert [loc["name"] for loc in sim.state.localizations()] == [LONG_NAME]
