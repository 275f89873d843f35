"""Which version gets edited: the plan's documented policy, checked against the simulator."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import fast_sim_config, settings_for
from workload import assert_matches_manifest, make_workload, writes

from bulkgc.cli import main
from bulkgc.pipeline import plan_only, push
from bulkgc.sim import Simulator


def _versions(sim: Simulator, vendor: str) -> list[dict]:
    ach = next(a for a in sim.state.achievements() if a["attributes"]["vendorIdentifier"] == vendor)
    return sim.state.versions_of(ach["id"])


async def test_live_version_gets_a_new_version_and_review_blocks(tmp_path: Path) -> None:
    """LIVE + changed text -> new version edited; LIVE + unchanged -> untouched; in review -> blocked, exit 1."""
    wl = make_workload(tmp_path / "wl", 3, ("en-US", "fr-FR"))
    async with Simulator(fast_sim_config(app_id=wl.app_id)) as sim:
        settings = settings_for(sim, wl.manifest, tmp_path)
        assert (await push(settings)).exit_code == 0
        live, same, review = wl.vendors
        sim.state.set_version_state(_versions(sim, live)[-1]["id"], "LIVE")
        sim.state.set_version_state(_versions(sim, same)[-1]["id"], "LIVE")
        sim.state.set_version_state(_versions(sim, review)[-1]["id"], "WAITING_FOR_REVIEW")
        wl.set_text(live, "fr-FR", "name", "Nouveau nom")
        wl.set_text(review, "en-US", "name", "Renamed during review")

        plan = await plan_only(settings)
        by_vendor = {a.vendor_id: a for a in plan.items}
        assert by_vendor[live].version_action == "create"
        assert by_vendor[same].version_action == "none" and not by_vendor[same].has_work
        assert by_vendor[review].action == "blocked" and "WAITING_FOR_REVIEW" in by_vendor[review].version_note

        mark = len(sim.requests)
        report = await push(settings)
        assert report.exit_code == 1  # the in-review change could not be applied
        blocked = [r for r in report.items if r.outcome == "blocked"]
        assert {r.vendor_identifier for r in blocked} == {review}
        assert all("VERSION_NOT_EDITABLE" in r.error_codes for r in blocked)
        assert [v["version"] for v in _versions(sim, live)] == [1, 2]
        assert len(_versions(sim, same)) == 1 and len(_versions(sim, review)) == 1
        routes = sorted((r.method, r.route) for r in writes(sim, mark))
        assert routes == [("PATCH", "/v2/gameCenterAchievementLocalizations/{id}"),
                          ("POST", "/v2/gameCenterAchievementVersions")]
        new_version = _versions(sim, live)[-1]
        names = {loc["locale"]: loc["name"] for loc in sim.state.localizations_of(new_version["id"])}
        assert names["fr-FR"] == "Nouveau nom"


async def test_on_live_skip_leaves_live_versions_alone(tmp_path: Path) -> None:
    """--on-live skip: a LIVE achievement whose text differs is left alone and the run still exits 0."""
    wl = make_workload(tmp_path / "wl", 2, ("en-US",))
    async with Simulator(fast_sim_config(app_id=wl.app_id)) as sim:
        settings = settings_for(sim, wl.manifest, tmp_path, on_live="skip")
        assert (await push(settings)).exit_code == 0
        sim.state.set_version_state(_versions(sim, wl.vendors[0])[-1]["id"], "LIVE")
        wl.set_text(wl.vendors[0], "en-US", "name", "Changed")
        mark = len(sim.requests)
        report = await push(settings)
        assert report.exit_code == 0
        assert writes(sim, mark) == []
        assert [r.outcome for r in report.items if r.kind == "achievement" and r.vendor_identifier == wl.vendors[0]] \
            == ["skipped"]


async def test_group_owned_achievements(tmp_path: Path) -> None:
    """When the app's detail belongs to a Game Center group, achievements are created in and read from the group."""
    wl = make_workload(tmp_path / "wl", 3, ("en-US", "ja"))
    async with Simulator(fast_sim_config(app_id=wl.app_id, use_group=True)) as sim:
        settings = settings_for(sim, wl.manifest, tmp_path)
        assert (await push(settings)).exit_code == 0
        assert_matches_manifest(sim, wl)
        assert {a["owner_kind"] for a in sim.state.achievements()} == {"group"}
        mark = len(sim.requests)
        assert (await push(settings)).exit_code == 0
        assert writes(sim, mark) == []


async def test_plan_command_prints_table_and_json_without_writing(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    """`bulkgc plan` shows the actions (table and --json) and sends no write request."""
    wl = make_workload(tmp_path / "wl", 2, ("en-US", "de-DE"))
    async with Simulator(fast_sim_config(app_id=wl.app_id)) as sim:
        settings = settings_for(sim, wl.manifest, tmp_path)
        args = [str(wl.manifest), "--base-url", sim.base_url, "--key-id", settings.key_id or "",
                "--issuer-id", settings.issuer_id or "", "--private-key-path", str(settings.private_key_path)]
        # the CLI runs its own event loop: call it in a worker thread
        import anyio

        code = await anyio.to_thread.run_sync(lambda: main(["plan", *args]))
        table = capsys.readouterr().out
        assert code == 0 and "create" in table and wl.vendors[0] in table and "4 to upload" in table
        code = await anyio.to_thread.run_sync(lambda: main(["plan", "--json", *args]))
        doc = json.loads(capsys.readouterr().out)
        assert code == 0 and doc["totals"]["images_upload"] == 4 and doc["noop"] is False
        assert writes(sim) == []
