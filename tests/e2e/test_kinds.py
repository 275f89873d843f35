"""End to end over 127.0.0.1: a manifest mixing achievements and leaderboards (a vendor id in both)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import fast_sim_config, settings_for
from workload import assert_matches_manifest, make_icon, make_workload, writes

from bulkgc.cli import main
from bulkgc.pipeline import plan_only, push
from bulkgc.sim import Simulator


@pytest.mark.parametrize("api", ["v2", "v1"])
async def test_mixed_kinds_fresh_push_noop_then_exactly_the_changes(tmp_path: Path, api: str) -> None:
    """Achievements and leaderboards land exact (texts, one COMPLETE image each); a re-run writes nothing; one
    leaderboard text and one leaderboard icon changed are exactly the writes of the third run."""
    wl = make_workload(tmp_path / "wl", 3, ("en-US", "fr-FR", "ja"), leaderboards=3)
    shared = wl.vendors[0]
    assert wl.boards[0] == shared  # one vendor id in both kinds
    async with Simulator(fast_sim_config(app_id=wl.app_id, part_size=4096)) as sim:
        settings = settings_for(sim, wl.manifest, tmp_path, api=api)

        report = await push(settings)
        assert report.exit_code == 0, [r for r in report.items if r.outcome == "failed"][:3]
        assert_matches_manifest(sim, wl)
        boards = {b["attributes"]["vendorIdentifier"]: b for b in sim.state.items("leaderboard")}
        attrs = boards[shared]["attributes"]
        assert (attrs["defaultFormatter"], attrs["submissionType"], attrs["scoreSortType"]) == (
            "INTEGER",
            "BEST_SCORE",
            "DESC",
        )
        assert attrs["referenceName"] == "Leaderboard 0"
        done = {
            (r.gc_kind, r.kind, r.vendor_identifier, r.locale) for r in report.items if r.outcome == "done"
        }
        assert ("leaderboard", "image", shared, "ja") in done and (
            "achievement",
            "image",
            shared,
            "ja",
        ) in done

        mark = len(sim.requests)
        again = await push(settings)
        assert again.exit_code == 0
        assert writes(sim, mark) == []
        assert not [r for r in sim.requests[mark:] if r.kind == "upload"]
        # one read per item (its localizations, images embedded) plus discovery: detail + one list per kind
        assert (
            len([r for r in sim.requests[mark:] if r.kind == "api"]) == len(wl.vendors) + len(wl.boards) + 3
        )

        make_icon(wl.icon(shared, "fr-FR", "leaderboard"), 777, variant=1)
        wl.set_text(wl.boards[2], "ja", "name", "新しい名前", kind="leaderboard")
        plan = await plan_only(settings)
        assert [(p.kind.name, p.vendor_id) for p in plan.items if p.has_work] == [
            ("leaderboard", shared),
            ("leaderboard", wl.boards[2]),
        ]
        mark = len(sim.requests)
        third = await push(settings)
        assert third.exit_code == 0
        prefix = "/v2" if api == "v2" else "/v1"
        assert sorted((r.method, r.route) for r in writes(sim, mark)) == sorted(
            [
                ("DELETE", f"{prefix}/gameCenterLeaderboardImages/{{id}}"),
                ("PATCH", f"{prefix}/gameCenterLeaderboardImages/{{id}}"),
                ("PATCH", f"{prefix}/gameCenterLeaderboardLocalizations/{{id}}"),
                ("POST", f"{prefix}/gameCenterLeaderboardImages"),
            ]
        )
        patched = [r for r in writes(sim, mark) if r.method == "PATCH" and "Localizations" in r.route]
        assert patched[0].request_body["data"]["attributes"] == {"name": "新しい名前"}
        assert_matches_manifest(sim, wl)


async def test_leaderboard_attribute_change_is_one_patch_and_archived_is_set_after_create(
    tmp_path: Path,
) -> None:
    """A changed leaderboard attribute is one PATCH of just that attribute; `archived = true` on a new
    leaderboard (not part of Apple's create request) follows the create as an update."""
    wl = make_workload(tmp_path / "wl", 1, ("en-US",), leaderboards=2)
    async with Simulator(fast_sim_config(app_id=wl.app_id)) as sim:
        settings = settings_for(sim, wl.manifest, tmp_path)
        assert (await push(settings)).exit_code == 0
        text = wl.manifest.read_text(encoding="utf-8")
        second = text.index(f'vendor_identifier = "{wl.boards[1]}"')
        text = text[:second] + text[second:].replace(
            'score_range_end = "100000"', 'score_range_end = "250.5"', 1
        )
        text = text.replace(
            'vendor_identifier = "com.example.e2e.ach000"\nreference_name = "Leaderboard 0"',
            'vendor_identifier = "com.example.e2e.ach000"\nreference_name = "Leaderboard 0"\narchived = true',
            1,
        )
        wl.manifest.write_text(text, encoding="utf-8")
        mark = len(sim.requests)
        assert (await push(settings)).exit_code == 0
        patches = {r.path.rsplit("/", 1)[-1]: r.request_body["data"]["attributes"] for r in writes(sim, mark)}
        boards = {b["attributes"]["vendorIdentifier"]: b for b in sim.state.items("leaderboard")}
        assert patches == {
            boards[wl.boards[1]]["id"]: {"scoreRangeEnd": "250.5"},
            boards[wl.boards[0]]["id"]: {"archived": True},
        }
        assert boards[wl.boards[0]]["attributes"]["archived"] is True

        # a brand-new archived leaderboard: create, then the update only an update can make
        text = wl.manifest.read_text(encoding="utf-8").replace(
            "com.example.e2e.board001", "com.example.e2e.board009"
        )
        wl.manifest.write_text(text, encoding="utf-8")
        (wl.assets / "leaderboards" / "com.example.e2e.board001.en-US.png").rename(
            wl.assets / "leaderboards" / "com.example.e2e.board009.en-US.png"
        )
        mark = len(sim.requests)
        assert (await push(settings)).exit_code == 0
        noop = len(sim.requests)
        assert (await push(settings)).exit_code == 0
        assert writes(sim, noop) == []
        assert [r for r in writes(sim, mark) if r.route == "/v2/gameCenterLeaderboards"]


async def test_plan_json_and_status_name_the_kind(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`plan --json` and the table list items under their kind; the journal's keys carry it (a vendor id, two
    kinds)."""
    wl = make_workload(tmp_path / "wl", 1, ("en-US",), leaderboards=1)
    async with Simulator(fast_sim_config(app_id=wl.app_id)) as sim:
        settings = settings_for(sim, wl.manifest, tmp_path)
        plan = await plan_only(settings)
        doc = plan.to_dict()
        both = doc["achievements"] + doc["leaderboards"]
        listed = [(i["kind"], i["vendor_identifier"], i["action"]) for i in both]
        assert listed == [("achievement", wl.vendors[0], "create"), ("leaderboard", wl.vendors[0], "create")]
        totals = doc["totals"]
        assert totals["achievements_create"] == totals["leaderboards_create"] == 1
        assert totals["images_upload"] == 2
        board = doc["leaderboards"][0]
        assert {c["attribute"]: c["new"] for c in board["changes"]}["scoreSortType"] == "DESC"
        table = plan.format_table()
        assert table.index("achievements:") < table.index(f"+ {wl.vendors[0]}: create; new leaderboard (v1)")
        assert (await push(settings)).exit_code == 0
    capsys.readouterr()
    assert main(["status", str(wl.manifest), "--journal", str(settings.journal), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["unfinished"] == [] and info["failed"] == []
    from bulkgc.journal import Journal

    with Journal.open(settings.journal, read_only=True) as j:
        keys = {i.item_key for i in j.items(kind="image")}
    assert keys == {f"image:achievement:{wl.vendors[0]}:en-US", f"image:leaderboard:{wl.vendors[0]}:en-US"}


async def test_live_leaderboard_gets_a_new_version_and_a_frozen_setting_is_blocked(tmp_path: Path) -> None:
    """A LIVE leaderboard whose text differs gets a new version (v2); changing its sort order once it is live
    is reported blocked with its own code and nothing is sent for it."""
    wl = make_workload(tmp_path / "wl", 1, ("en-US",), leaderboards=3)
    async with Simulator(fast_sim_config(app_id=wl.app_id)) as sim:
        settings = settings_for(sim, wl.manifest, tmp_path)
        assert (await push(settings)).exit_code == 0
        boards = {b["attributes"]["vendorIdentifier"]: b for b in sim.state.items("leaderboard")}
        for vendor in wl.boards[1:]:
            sim.state.set_version_state(
                sim.state.latest_version(boards[vendor]["id"], "leaderboard")["id"], "LIVE"
            )
        renamed, frozen = wl.boards[1], wl.boards[2]
        wl.set_text(renamed, "en-US", "name", "Season two", kind="leaderboard")
        text = wl.manifest.read_text(encoding="utf-8")
        at = text.index(f'vendor_identifier = "{frozen}"')
        wl.manifest.write_text(
            text[:at] + text[at:].replace('score_sort_type = "DESC"', 'score_sort_type = "ASC"', 1),
            encoding="utf-8",
        )

        mark = len(sim.requests)
        report = await push(settings)
        assert report.exit_code == 1
        blocked = [r for r in report.items if r.outcome == "blocked" and r.kind == "leaderboard"]
        assert [(r.vendor_identifier, r.error_codes) for r in blocked] == [
            (frozen, ["ATTRIBUTE_NOT_EDITABLE_AFTER_RELEASE"])
        ]
        assert "scoreSortType" in blocked[0].message
        assert sorted((r.method, r.route) for r in writes(sim, mark)) == [
            ("PATCH", "/v2/gameCenterLeaderboardLocalizations/{id}"),
            ("POST", "/v2/gameCenterLeaderboardVersions"),
        ]
        versions = sim.state.versions_of(boards[renamed]["id"], "leaderboard")
        assert [v["version"] for v in versions] == [1, 2]
        (loc,) = sim.state.localizations_of(versions[-1]["id"], "leaderboard")
        assert loc["name"] == "Season two"
        after = {b["attributes"]["vendorIdentifier"]: b for b in sim.state.items("leaderboard")}
        assert after[frozen]["attributes"]["scoreSortType"] == "DESC"
