"""End to end over 127.0.0.1: `bulkgc submit` puts exactly the manifest's edited versions into submissions."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anyio
import pytest
from conftest import fast_sim_config, settings_for
from live import cli_args
from workload import make_workload, writes

from bulkgc.cli import main
from bulkgc.pipeline import push
from bulkgc.report import format_summary
from bulkgc.sim import FaultRule, Simulator
from bulkgc.submit import submit

REVIEW_ROUTES = ("/v1/reviewSubmissions", "/v1/reviewSubmissionItems", "/v1/reviewSubmissions/{id}")


def submissions(sim: Simulator) -> list[dict[str, Any]]:
    return sorted(sim.state.data["reviewSubmissions"].values(), key=lambda r: r["seq"])


def items_of(sim: Simulator, submission_id: str) -> list[dict[str, Any]]:
    return [
        i for i in sim.state.data["reviewSubmissionItems"].values() if i["submission_id"] == submission_id
    ]


def latest_version(sim: Simulator, kind: str, vendor: str) -> dict[str, Any]:
    item = next(i for i in sim.state.items(kind) if i["attributes"]["vendorIdentifier"] == vendor)
    version = sim.state.latest_version(item["id"], kind)
    assert version is not None
    return version


def release_everything(sim: Simulator) -> None:
    """What App Review and the release would do: every version LIVE."""
    for kind in ("achievement", "leaderboard"):
        for version in sim.state.versions(kind):
            sim.state.set_version_state(version["id"], "LIVE")


async def test_push_then_submit_holds_exactly_the_edited_versions_of_both_kinds(tmp_path: Path) -> None:
    """One submission holds exactly the edited versions of both kinds; re-runs write nothing; --send sends."""
    wl = make_workload(tmp_path / "wl", 3, ("en-US", "fr-FR"), leaderboards=3)
    async with Simulator(fast_sim_config(app_id=wl.app_id, part_size=4096)) as sim:
        settings = settings_for(sim, wl.manifest, tmp_path)
        assert (await push(settings)).exit_code == 0
        release_everything(sim)
        wl.set_text(wl.vendors[1], "fr-FR", "name", "Un nouveau nom")
        wl.set_text(wl.boards[2], "en-US", "name", "Renamed board", kind="leaderboard")
        assert (await push(settings)).exit_code == 0
        edited = {
            latest_version(sim, "achievement", wl.vendors[1])["id"]: "gameCenterAchievementVersion",
            latest_version(sim, "leaderboard", wl.boards[2])["id"]: "gameCenterLeaderboardVersion",
        }

        mark = len(sim.requests)
        report, lines = await submit(settings)
        assert report.exit_code == 0, format_summary(report)
        (sub,) = submissions(sim)
        assert (sub["state"], sub["platform"], sub["app_id"]) == ("READY_FOR_REVIEW", "IOS", wl.app_id)
        held = {i["version_id"]: i["rel"] for i in items_of(sim, sub["id"])}
        assert held == edited
        added = sorted((r.gc_kind, r.vendor_identifier) for r in report.items if r.outcome == "done")
        assert added == [("achievement", wl.vendors[1]), ("leaderboard", wl.boards[2])]
        assert any("left READY_FOR_REVIEW" in line for line in lines)
        assert sorted(r.route for r in writes(sim, mark)) == [
            "/v1/reviewSubmissionItems",
            "/v1/reviewSubmissionItems",
            "/v1/reviewSubmissions",
        ]

        mark = len(sim.requests)
        again, _ = await submit(settings)
        assert again.exit_code == 0 and writes(sim, mark) == []
        assert [r.outcome for r in again.items if r.kind == "review"].count("unchanged") == 6

        mark = len(sim.requests)
        sent, lines = await submit(settings.replace(send=True))
        assert sent.exit_code == 0, format_summary(sent)
        assert [(r.method, r.route) for r in writes(sim, mark)] == [("PATCH", "/v1/reviewSubmissions/{id}")]
        assert submissions(sim)[0]["state"] == "WAITING_FOR_REVIEW"
        waiting = {
            v["id"]
            for k in ("achievement", "leaderboard")
            for v in sim.state.versions(k)
            if v["state"] == "WAITING_FOR_REVIEW"
        }
        assert waiting == set(edited)
        mark = len(sim.requests)
        assert (await submit(settings.replace(send=True)))[0].exit_code == 0
        assert writes(sim, mark) == []


async def test_first_time_items_are_added_but_not_sent_alone(tmp_path: Path) -> None:
    """First versions are added; --send refuses to send them without an app version (exit 1, code named)."""
    wl = make_workload(tmp_path / "wl", 2, ("en-US",), leaderboards=1)
    async with Simulator(fast_sim_config(app_id=wl.app_id, part_size=4096)) as sim:
        settings = settings_for(sim, wl.manifest, tmp_path)
        assert (await push(settings)).exit_code == 0
        report, _ = await submit(settings.replace(send=True))
        assert report.exit_code == 1
        (blocked,) = report.failures()
        assert blocked.error_codes == ["FIRST_TIME_NEEDS_APP_VERSION"] and "app version" in format_summary(
            report
        )
        (sub,) = submissions(sim)
        assert sub["state"] == "READY_FOR_REVIEW" and len(items_of(sim, sub["id"])) == 3
        assert not [
            r for r in sim.requests if r.method == "PATCH" and r.route == "/v1/reviewSubmissions/{id}"
        ]


async def test_more_than_200_versions_fill_the_open_submission_then_a_new_one(tmp_path: Path) -> None:
    """250 versions of an app end up in two submissions (200 + 50), each once; the output states the split."""
    first = make_workload(tmp_path / "first", 0, ("en-US",), leaderboards=50, app_id="6446000009")
    second = make_workload(tmp_path / "second", 100, ("en-US",), leaderboards=100, app_id="6446000009")
    # the second manifest's leaderboards need ids of their own (the workload numbers them from 0)
    second.boards = [b.replace("e2e", "e2e2") for b in second.boards]
    from workload import make_icon, write_manifest

    for n, board in enumerate(second.boards):
        make_icon(second.icon(board, "en-US", "leaderboard"), 500 + n)
    write_manifest(second)
    # an app with leaderboard sets may hold up to 500 leaderboards (A12): this one holds 150
    async with Simulator(fast_sim_config(app_id=first.app_id, part_size=65536, max_leaderboards=150)) as sim:
        s1 = settings_for(sim, first.manifest, tmp_path / "one")
        assert (await push(s1)).exit_code == 0
        assert (await submit(s1))[0].exit_code == 0
        (open_sub,) = submissions(sim)
        assert len(items_of(sim, open_sub["id"])) == 50

        s2 = settings_for(sim, second.manifest, tmp_path / "two", api_concurrency=16)
        assert (await push(s2)).exit_code == 0
        report, lines = await submit(s2)
        assert report.exit_code == 0, format_summary(report)
        assert any("200 versions to add" in line and "2 submissions" in line for line in lines), lines
        subs = submissions(sim)
        assert [s["id"] for s in subs][0] == open_sub["id"] and len(subs) == 2
        assert [len(items_of(sim, s["id"])) for s in subs] == [200, 50]
        every = [i["version_id"] for i in sim.state.data["reviewSubmissionItems"].values()]
        assert len(every) == len(set(every)) == 250
        versions = {v["id"] for k in ("achievement", "leaderboard") for v in sim.state.versions(k)}
        assert set(every) == versions


async def test_a_failed_image_blocks_submit_and_is_named(tmp_path: Path) -> None:
    """A FAILED icon blocks submit: exit 1, the image named with Apple's code, no submission touched."""
    wl = make_workload(tmp_path / "wl", 2, ("en-US", "fr-FR"), leaderboards=1)
    async with Simulator(fast_sim_config(app_id=wl.app_id, part_size=4096)) as sim:
        sim.add_fault(
            FaultRule(
                kind="fail_processing",
                method="PATCH",
                route_glob="/v2/gameCenterLeaderboardImages/*",
                code="IMAGE_ASSET_CORRUPT",
                count=1,
            )
        )
        settings = settings_for(sim, wl.manifest, tmp_path)
        assert (await push(settings)).exit_code == 1
        mark = len(sim.requests)
        report, lines = await submit(settings)
        assert report.exit_code == 1
        (failed,) = report.failures()
        assert (failed.gc_kind, failed.kind, failed.vendor_identifier) == (
            "leaderboard",
            "image",
            wl.boards[0],
        )
        assert failed.error_codes == ["IMAGE_ASSET_CORRUPT"] and failed.final_state == "FAILED"
        summary = format_summary(report)
        assert f"leaderboard image {wl.boards[0]}[" in summary and "IMAGE_ASSET_CORRUPT" in summary
        assert writes(sim, mark) == [] and submissions(sim) == []
        assert any("nothing submitted" in line for line in lines)


async def test_an_item_not_pushed_yet_blocks_submit(tmp_path: Path) -> None:
    """A text App Store Connect does not hold yet blocks submit (NOT_PUSHED, exit 1) and adds nothing."""
    wl = make_workload(tmp_path / "wl", 2, ("en-US",))
    async with Simulator(fast_sim_config(app_id=wl.app_id, part_size=4096)) as sim:
        settings = settings_for(sim, wl.manifest, tmp_path)
        assert (await push(settings)).exit_code == 0
        wl.set_text(wl.vendors[0], "en-US", "name", "Not pushed")
        report, _ = await submit(settings)
        assert report.exit_code == 1
        assert [(r.vendor_identifier, r.error_codes) for r in report.failures()] == [
            (wl.vendors[0], ["NOT_PUSHED"])
        ]
        assert submissions(sim) == []


async def test_images_still_processing_are_waited_for(tmp_path: Path) -> None:
    """Submit waits for an image still processing until it is COMPLETE (polling it), then adds the items."""
    wl = make_workload(tmp_path / "wl", 2, ("en-US",))
    async with Simulator(fast_sim_config(app_id=wl.app_id, part_size=4096, processing_delay=0.6)) as sim:
        settings = settings_for(sim, wl.manifest, tmp_path)
        sim.add_fault(
            FaultRule(kind="stuck", method="PATCH", route_glob="/v2/gameCenterAchievementImages/*", count=1)
        )
        # the push gives up waiting at once; the stuck image is left UPLOAD_COMPLETE for a while
        await push(settings.replace(processing_timeout=0.2, image_attempts=1))
        sim.clear_faults()
        stuck = [i for i in sim.state.images() if i.get("outcome") == "stuck"]
        assert len(stuck) == 1

        async def finish_processing() -> None:
            await anyio.sleep(0.5)
            with sim.state.lock:
                sim.state.data["images"][stuck[0]["id"]].update(outcome=None, done_at=0)

        async with anyio.create_task_group() as tg:
            tg.start_soon(finish_processing)
            report, _ = await submit(settings.replace(processing_timeout=10))
        assert report.exit_code == 0, format_summary(report)
        polls = [
            r for r in sim.requests if r.method == "GET" and r.route == "/v2/gameCenterAchievementImages/{id}"
        ]
        assert polls and len(items_of(sim, submissions(sim)[0]["id"])) == 2


def test_api_v1_is_refused_before_anything_is_sent(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`submit --api v1` and `push --submit --api v1` exit 2 with a message saying why and what to do."""
    wl = make_workload(tmp_path / "wl", 1, ("en-US",))
    for argv in (
        ["submit", str(wl.manifest), "--api", "v1"],
        ["push", str(wl.manifest), "--submit", "--api", "v1"],
    ):
        assert main([*argv, "--base-url", "http://127.0.0.1:9"]) == 2
        err = capsys.readouterr().err
        assert "v1" in err and "no versions" in err and "Nothing was sent" in err and "Traceback" not in err
    assert not (wl.manifest.parent / ".bulkgc").exists()


async def test_plan_shows_what_submit_would_add(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`bulkgc plan` (text, --json) lists what submit would add, also pending a push; it writes nothing."""
    wl = make_workload(tmp_path / "wl", 2, ("en-US",), leaderboards=1)
    async with Simulator(fast_sim_config(app_id=wl.app_id, part_size=4096)) as sim:
        settings = settings_for(sim, wl.manifest, tmp_path)
        assert (await push(settings)).exit_code == 0
        release_everything(sim)
        wl.set_text(wl.vendors[0], "en-US", "name", "Edited")
        args = [str(wl.manifest), *cli_args(sim, tmp_path)[:8]]
        code = await anyio.to_thread.run_sync(lambda: main(["plan", *args]))
        out = capsys.readouterr().out
        assert (
            code == 0
            and "bulkgc submit would add 1 version(s) (1 achievements); 1 of them once pushed" in out
        )
        assert push_ok(await push(settings))
        code = await anyio.to_thread.run_sync(lambda: main(["plan", "--json", *args]))
        doc = json.loads(capsys.readouterr().out)
        assert [(a["kind"], a["vendor_identifier"], a["version"]) for a in doc["submit"]["add"]] == [
            ("achievement", wl.vendors[0], 2)
        ]
        assert doc["submit"]["submissions"] == [{"id": None, "new": True, "items": 1}]
        assert [r for r in writes(sim) if "review" in r.route] == []


def push_ok(report: Any) -> bool:
    return bool(report.exit_code == 0)


async def test_lost_answers_are_looked_up_not_repeated(tmp_path: Path) -> None:
    """Lost answers of the submission POST, an item POST and the send PATCH: no duplicate, sent, exit 0."""
    wl = make_workload(tmp_path / "wl", 3, ("en-US",), leaderboards=1)
    async with Simulator(fast_sim_config(app_id=wl.app_id, part_size=4096)) as sim:
        settings = settings_for(sim, wl.manifest, tmp_path, request_timeout=5.0)
        assert (await push(settings)).exit_code == 0
        release_everything(sim)
        for vendor in wl.vendors:
            wl.set_text(vendor, "en-US", "name", f"{vendor} again")
        wl.set_text(wl.boards[0], "en-US", "name", "Board again", kind="leaderboard")
        assert (await push(settings)).exit_code == 0
        for route, method in (
            ("/v1/reviewSubmissions", "POST"),
            ("/v1/reviewSubmissionItems", "POST"),
            ("/v1/reviewSubmissions/*", "PATCH"),
        ):
            sim.add_fault(FaultRule(kind="drop_after_apply", method=method, route_glob=route, count=1))
        report, _ = await submit(settings.replace(send=True))
        assert report.exit_code == 0, format_summary(report)
        (sub,) = submissions(sim)
        assert sub["state"] == "WAITING_FOR_REVIEW"
        held = [i["version_id"] for i in items_of(sim, sub["id"])]
        assert len(held) == len(set(held)) == 4
        dropped = [r for r in sim.requests if r.dropped]
        assert len(dropped) == 3, [(r.method, r.route) for r in dropped]


async def test_deadline_while_an_image_processes_is_resumable(tmp_path: Path) -> None:
    """--deadline reached while waiting for an image: exit 4, nothing added; the re-run submits everything."""
    wl = make_workload(tmp_path / "wl", 2, ("en-US",))
    async with Simulator(fast_sim_config(app_id=wl.app_id, part_size=4096)) as sim:
        settings = settings_for(sim, wl.manifest, tmp_path)
        sim.add_fault(
            FaultRule(kind="stuck", method="PATCH", route_glob="/v2/gameCenterAchievementImages/*", count=1)
        )
        await push(settings.replace(processing_timeout=0.2, image_attempts=1))
        sim.clear_faults()
        report, _ = await submit(settings.replace(deadline=0.3, processing_timeout=30))
        assert report.exit_code == 4 and report.interrupted
        assert submissions(sim) == []
        (stuck,) = [i for i in sim.state.images() if i.get("outcome") == "stuck"]
        with sim.state.lock:
            sim.state.data["images"][stuck["id"]].update(outcome=None, done_at=0)
        again, _ = await submit(settings)
        assert again.exit_code == 0 and len(items_of(sim, submissions(sim)[0]["id"])) == 2
