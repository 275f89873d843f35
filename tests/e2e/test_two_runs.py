"""Two runs on one app, separate journals: the loser's 409 says another run created it; a re-run converges."""

from __future__ import annotations

import threading
from pathlib import Path

import anyio
from anyio.from_thread import start_blocking_portal
from conftest import fast_sim_config, settings_for
from workload import assert_matches_manifest, make_workload

from bulkgc.pipeline import push
from bulkgc.plan import Plan
from bulkgc.report import RunReport, format_summary
from bulkgc.sim import Simulator


def test_409_after_another_run_created_the_achievement_says_so_and_a_rerun_converges(tmp_path: Path) -> None:
    """Run B plans, run A (own journal) creates everything, B's create gets 409: the advice says so."""
    wl = make_workload(tmp_path / "wl", 2, locales=("en-US",))
    with start_blocking_portal() as portal:
        with portal.wrap_async_context_manager(Simulator(fast_sim_config(app_id=wl.app_id))) as sim:
            settings_a = settings_for(sim, wl.manifest, tmp_path / "a", journal=tmp_path / "a" / "j.sqlite")
            settings_b = settings_for(sim, wl.manifest, tmp_path / "b", journal=tmp_path / "b" / "j.sqlite")
            reports: dict[str, RunReport] = {}

            def run_a_to_the_end(plan: Plan) -> None:
                # B has read App Store Connect and planned; A runs from start to end before B sends anything
                assert all(ap.action == "create" for ap in plan.of_kind("achievement"))
                thread = threading.Thread(target=lambda: reports.setdefault("a", anyio.run(push, settings_a)))
                thread.start()
                thread.join(120)

            async def run_b() -> RunReport:
                return await push(settings_b, on_plan=run_a_to_the_end)

            report_b = anyio.run(run_b)
            assert reports["a"].exit_code == 0
            assert report_b.exit_code == 1
            failed = [r for r in report_b.items if r.outcome == "failed"]
            assert {r.kind for r in failed} == {"achievement"}
            assert all(r.error_codes == ["ENTITY_ERROR.ATTRIBUTE.INVALID.DUPLICATE"] for r in failed)
            summary = format_summary(report_b)
            assert "another run or person created it in App Store Connect after this run read" in summary
            assert "run the same command again: it re-reads App Store Connect and converges" in summary
            assert "make it unique in the manifest" not in summary
            again = anyio.run(push, settings_b)
            assert again.exit_code == 0
            assert_matches_manifest(sim, wl)
