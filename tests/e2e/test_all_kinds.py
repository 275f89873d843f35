"""End to end over 127.0.0.1: one manifest with all five kinds (achievements, leaderboards, leaderboard sets,
activities, challenges) in three locales: fresh push exact, re-run 0 writes, one change per kind exact."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from allkinds import assert_all_kinds_exact, make_all_kinds, make_wide
from conftest import fast_sim_config, settings_for
from workload import make_icon, writes

from bulkgc.config import RunSettings
from bulkgc.errors import BulkgcError, InvalidImageError, ManifestError, meaningful_error
from bulkgc.journal import Journal
from bulkgc.pipeline import plan_only, push
from bulkgc.report import write_json_report, write_junit
from bulkgc.report_html import write_html_report
from bulkgc.sim import Simulator
from bulkgc.thumbnails import cache_for


async def push_error(settings: RunSettings) -> BaseException:
    """The error a push stops with, as the CLI reports it (the leaf of anyio's exception group)."""
    try:
        await push(settings)
    except BaseExceptionGroup as group:
        return meaningful_error(group, (BulkgcError,))
    except BulkgcError as exc:
        return exc
    raise AssertionError("the push did not stop")


def routes(sim: Simulator, mark: int) -> list[tuple[str, str]]:
    return sorted((r.method, r.route) for r in writes(sim, mark))


async def test_all_kinds_fresh_noop_then_one_change_per_kind(tmp_path: Path) -> None:
    """All five kinds land exact, a re-run writes nothing, one change per kind is exactly its writes."""
    wl = make_all_kinds(tmp_path / "wl")
    async with Simulator(fast_sim_config(app_id=wl.app_id, part_size=64 * 1024)) as sim:
        settings = settings_for(sim, wl.manifest, tmp_path)
        report = await push(settings)
        assert report.exit_code == 0, [
            (r.gc_kind, r.vendor_identifier, r.message) for r in report.items if r.outcome != "done"
        ][:5]
        assert_all_kinds_exact(sim.state, wl)
        # referenced items first: each set and challenge create starts after the leaderboard creates ended
        creates = {r.route: [] for r in writes(sim, 0)}
        for r in writes(sim, 0):
            if r.method == "POST":
                creates[r.route].append(r)
        boards_done = max(r.ended for r in creates["/v2/gameCenterLeaderboards"])
        named = creates["/v2/gameCenterLeaderboardSets"] + creates["/v1/gameCenterChallenges"]
        assert len(named) == 3 and min(r.started for r in named) >= boards_done
        # the sets were created with their members: no membership request after the creates
        fresh = routes(sim, 0)
        assert (
            "PATCH",
            "/v2/gameCenterLeaderboardSets/{id}/relationships/gameCenterLeaderboards",
        ) not in fresh
        assert fresh.count(("POST", "/v1/gameCenterActivityImages")) == 4  # 3 locales + the default image
        done = {
            (r.gc_kind, r.vendor_identifier, r.locale)
            for r in report.items
            if r.kind == "image" and r.outcome == "done"
        }
        assert ("activity", "com.ex.all.act0", "default") in done and (
            "challenge",
            "com.ex.all.ch0",
            "default",
        ) in done

        # reports: JSON rows name the kind and the default slot; JUnit and HTML render every kind
        out = tmp_path / "out"
        out.mkdir()
        write_json_report(report, out / "r.json")
        rows = json.loads((out / "r.json").read_text(encoding="utf-8"))["items"]
        assert {r["gc_kind"] for r in rows} == {
            "achievement",
            "leaderboard",
            "leaderboard_set",
            "activity",
            "challenge",
        }
        write_junit(report, out / "j.xml")
        assert "bulkgc.leaderboard_set" in (out / "j.xml").read_text(encoding="utf-8")
        write_html_report(report, out / "r.html", cache_for(settings.journal_path))
        html = (out / "r.html").read_text(encoding="utf-8")
        assert "com.ex.all.set1" in html and "com.ex.all.act0" in html and "com.ex.all.ch0" in html

        mark = len(sim.requests)
        again = await push(settings)
        assert again.exit_code == 0
        assert writes(sim, mark) == []
        assert not [r for r in sim.requests[mark:] if r.kind == "upload"]

        # one change per kind
        wl.texts[("achievement", "com.ex.all.ach1", "ja", "name")] = "新しい"
        wl.attributes[("leaderboard", "com.ex.all.lb2", "reference_name")] = "Board two, renamed"
        wl.sets["com.ex.all.set1"] = ["com.ex.all.lb0", "com.ex.all.lb2"]  # one member out, order changed
        make_wide(wl.image("activity", "com.ex.all.act0", "default"), 99, variant=1)
        wl.texts[("challenge", "com.ex.all.ch0", "fr-FR", "description")] = "Nouvelle description"
        wl.write()
        plan = await plan_only(settings)
        assert sorted((p.kind.name, p.vendor_id) for p in plan.items if p.has_work) == sorted(
            [
                ("achievement", "com.ex.all.ach1"),
                ("leaderboard", "com.ex.all.lb2"),
                ("leaderboard_set", "com.ex.all.set1"),
                ("activity", "com.ex.all.act0"),
                ("challenge", "com.ex.all.ch0"),
            ]
        )
        doc = (
            plan.to_dict()
        )  # plan --json: each kind under its plural, references and default images included
        (set1,) = [i for i in doc["leaderboard_sets"] if i["vendor_identifier"] == "com.ex.all.set1"]
        assert set1["reference_changes"] == {"leaderboards": ["com.ex.all.lb0", "com.ex.all.lb2"]}
        assert doc["activities"][0]["default_image"]["action"] == "replace"
        table = plan.format_table()
        assert "leaderboards: -> com.ex.all.lb0, com.ex.all.lb2" in table and "default image:" in table
        mark = len(sim.requests)
        third = await push(settings)
        assert third.exit_code == 0
        assert routes(sim, mark) == sorted(
            [
                ("PATCH", "/v2/gameCenterAchievementLocalizations/{id}"),
                ("PATCH", "/v2/gameCenterLeaderboards/{id}"),
                ("PATCH", "/v2/gameCenterLeaderboardSets/{id}/relationships/gameCenterLeaderboards"),
                ("DELETE", "/v1/gameCenterActivityImages/{id}"),
                ("POST", "/v1/gameCenterActivityImages"),
                ("PATCH", "/v1/gameCenterActivityImages/{id}"),
                ("PATCH", "/v1/gameCenterChallengeLocalizations/{id}"),
            ]
        )
        bodies = {r.route: r.request_body for r in writes(sim, mark)}
        assert bodies["/v2/gameCenterLeaderboards/{id}"]["data"]["attributes"] == {
            "referenceName": "Board two, renamed"
        }
        assert bodies["/v1/gameCenterChallengeLocalizations/{id}"]["data"]["attributes"] == {
            "description": "Nouvelle description"
        }
        reserve = bodies["/v1/gameCenterActivityImages"]["data"]["relationships"]
        assert list(reserve) == ["version"]  # the default image hangs off the version, not a localization
        assert_all_kinds_exact(sim.state, wl)
        mark = len(sim.requests)
        assert (await push(settings)).exit_code == 0 and writes(sim, mark) == []
        with Journal.open(settings.journal, read_only=True) as j:  # what `bulkgc status` reads
            images = {i.item_key: i.state for i in j.items(kind="image")}
        assert images["image:activity:com.ex.all.act0:default"] == "complete"
        assert images["image:leaderboard_set:com.ex.all.set0:ja"] == "complete"
        assert (
            set(images.values()) == {"complete"} and len(images) == 2 * 3 + 3 * 3 + 2 * 3 + 4 + 4
        )  # 3 locales (+ default)


async def test_references_fallback_url_and_new_version_of_live_activity(tmp_path: Path) -> None:
    """Challenge re-tied: one link PATCH; fallback URL: one version PATCH; LIVE activity: a new version."""
    wl = make_all_kinds(tmp_path / "wl", locales=("en-US", "de-DE"))
    async with Simulator(fast_sim_config(app_id=wl.app_id, part_size=64 * 1024)) as sim:
        settings = settings_for(sim, wl.manifest, tmp_path)
        assert (await push(settings)).exit_code == 0
        wl.challenges["com.ex.all.ch0"] = "com.ex.all.lb2"
        wl.fallback_url = "https://example.com/play/raid2"
        wl.write()
        mark = len(sim.requests)
        assert (await push(settings)).exit_code == 0
        assert routes(sim, mark) == sorted(
            [
                ("PATCH", "/v1/gameCenterChallenges/{id}/relationships/leaderboardV2"),
                ("PATCH", "/v1/gameCenterActivityVersions/{id}"),
            ]
        )
        bodies = {r.route: r.request_body for r in writes(sim, mark)}
        assert bodies["/v1/gameCenterActivityVersions/{id}"]["data"]["attributes"] == {
            "fallbackUrl": "https://example.com/play/raid2"
        }
        assert_all_kinds_exact(sim.state, wl)

        (activity,) = sim.state.items("activity")
        for version in sim.state.versions_of(activity["id"], "activity"):
            sim.state.set_version_state(version["id"], "LIVE")
        make_wide(wl.image("activity", "com.ex.all.act0", "default"), 55, variant=2)
        mark = len(sim.requests)
        assert (await push(settings)).exit_code == 0
        assert routes(sim, mark) == sorted(
            [
                ("POST", "/v1/gameCenterActivityVersions"),
                ("DELETE", "/v1/gameCenterActivityImages/{id}"),
                ("POST", "/v1/gameCenterActivityImages"),
                ("PATCH", "/v1/gameCenterActivityImages/{id}"),
            ]
        )
        assert_all_kinds_exact(sim.state, wl, versions={("activity", "com.ex.all.act0"): 2})


@pytest.mark.parametrize("api", ["v1"])
async def test_all_kinds_on_the_deprecated_api(tmp_path: Path, api: str) -> None:
    """--api v1: sets on the deprecated endpoints, activities and challenges on their one API; exact, noop."""
    wl = make_all_kinds(tmp_path / "wl", locales=("en-US",))
    async with Simulator(fast_sim_config(app_id=wl.app_id, part_size=64 * 1024)) as sim:
        settings = settings_for(sim, wl.manifest, tmp_path, api=api)
        report = await push(settings)
        assert report.exit_code == 0, [r.message for r in report.items if r.outcome != "done"][:3]
        assert ("POST", "/v1/gameCenterLeaderboardSets") in routes(sim, 0)
        (legacy,) = [r for r in writes(sim, 0) if r.route == "/v1/gameCenterChallenges"]
        assert list(legacy.request_body["data"]["relationships"])[1] == "leaderboard"
        assert_all_kinds_exact(sim.state, wl)
        wl.sets["com.ex.all.set0"] = ["com.ex.all.lb0", "com.ex.all.lb1", "com.ex.all.lb2"]
        wl.write()
        mark = len(sim.requests)
        assert (await push(settings)).exit_code == 0
        assert routes(sim, mark) == [
            ("PATCH", "/v1/gameCenterLeaderboardSets/{id}/relationships/gameCenterLeaderboards")
        ]
        assert_all_kinds_exact(sim.state, wl)


async def test_unknown_reference_and_wrong_image_size_stop_before_any_write(tmp_path: Path) -> None:
    """Unknown referenced vendor ids and a wrong default image size stop the push before any write."""
    wl = make_all_kinds(tmp_path / "wl", locales=("en-US",))
    async with Simulator(fast_sim_config(app_id=wl.app_id)) as sim:
        settings = settings_for(sim, wl.manifest, tmp_path)
        wl.sets["com.ex.all.set0"] = ["com.ex.all.lb0", "com.ex.all.lb9"]
        wl.challenges["com.ex.all.ch0"] = "com.ex.all.nope"
        wl.write()
        caught = await push_error(settings)
        assert isinstance(caught, ManifestError)  # exit code 2 from the CLI
        text = str(caught)
        assert "'com.ex.all.lb9'" in text and "'com.ex.all.nope'" in text and "leaderboard_set" in text
        assert writes(sim, 0) == []

        wl.sets["com.ex.all.set0"] = ["com.ex.all.lb0"]
        wl.challenges["com.ex.all.ch0"] = "com.ex.all.lb0"
        wl.write()
        make_icon(wl.image("challenge", "com.ex.all.ch0", "default"), 3, size=1024)
        mark = len(sim.requests)
        bad = await push_error(settings)
        assert isinstance(bad, InvalidImageError)
        assert "is 1024x1024: App Store Connect needs 3840x2160 pixels" in str(bad)
        assert sim.requests[mark:] == []  # refused before the first request


async def test_submit_adds_every_kinds_versions_to_one_submission(tmp_path: Path) -> None:
    """After a push of all five kinds, submit puts each item's version in one submission under its own
    relationship (achievement, leaderboard, set, activity, challenge version); a re-run adds nothing."""
    from bulkgc.submit import submit

    wl = make_all_kinds(tmp_path / "wl", localized_wide=False)
    rel_of = {"achievement": "gameCenterAchievementVersion", "leaderboard": "gameCenterLeaderboardVersion",
              "leaderboard_set": "gameCenterLeaderboardSetVersion", "activity": "gameCenterActivityVersion",
              "challenge": "gameCenterChallengeVersion"}
    async with Simulator(fast_sim_config(app_id=wl.app_id, part_size=64 * 1024)) as sim:
        settings = settings_for(sim, wl.manifest, tmp_path)
        assert (await push(settings)).exit_code == 0
        expected = {v["id"]: rel_of[kind] for kind in rel_of for v in sim.state.versions(kind)}
        assert len(expected) == sum(len(wl.of_kind(kind)) for kind in rel_of)
        report, _ = await submit(settings)
        assert report.exit_code == 0, [(r.gc_kind, r.vendor_identifier, r.message) for r in report.failures()]
        (sub,) = sim.state.data["reviewSubmissions"].values()
        held = {i["version_id"]: i["rel"] for i in sim.state.data["reviewSubmissionItems"].values()
                if i["submission_id"] == sub["id"]}
        assert held == expected
        mark = len(sim.requests)
        again, _ = await submit(settings)
        assert again.exit_code == 0 and writes(sim, mark) == []
