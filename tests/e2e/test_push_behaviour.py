"""End to end: how a push talks to App Store Connect (batched polls, bounded concurrency) and how it
recovers across runs (an image FAILED in processing, an image deleted behind its back), per the simulator."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

import pytest
from conftest import fast_sim_config, settings_for
from workload import assert_matches_manifest, localization_id, make_workload, writes

from bulkgc.asc.resources import APP_DETAIL
from bulkgc.kinds import kind_api
from bulkgc.cli import main
from bulkgc.config import RunSettings
from bulkgc.pipeline import push
from bulkgc.report import ItemResult
from bulkgc.sim import FaultRule, RequestRecord, Simulator

LOCALES = ("en-US", "fr-FR", "ja")
FAILED_CODE = "IMAGE_ASSET_CORRUPT"
IMAGES = "/v2/gameCenterAchievementImages"


def peak_overlap(intervals: Iterable[tuple[float, float]]) -> int:
    """The most [start, end] intervals open at one instant (an end at t closes before a start at t opens)."""
    spans = list(intervals)
    events = sorted([(start, 1) for start, _ in spans] + [(end, -1) for _, end in spans])
    peak = current = 0
    for _, step in events:
        current += step
        peak = max(peak, current)
    return peak


def image_spans(records: list[RequestRecord]) -> list[tuple[float, float]]:
    """Per reserved image, the start of its reservation (POST) to the end of its commit (PATCH) or DELETE."""
    reserved: dict[str, float] = {}
    finished: dict[str, float] = {}
    for r in records:
        ok = r.kind == "api" and 200 <= r.status < 300
        if not ok or "/gameCenterAchievementImages" not in (r.route or ""):
            continue
        if r.method == "POST":
            reserved[r.response_body["data"]["id"]] = r.started
        elif r.method in ("PATCH", "DELETE"):
            image_id = r.path.rsplit("/", 1)[1]
            finished[image_id] = max(finished.get(image_id, 0.0), r.ended)
    assert set(finished) == set(reserved)
    return [(reserved[i], finished[i]) for i in reserved]


async def push_with_one_failed_image(sim: Simulator, settings: RunSettings) -> ItemResult:
    """Push with the 4th commit's processing ending FAILED with `FAILED_CODE`: exit 1, that image alone failed
    (returned); the fault is removed afterwards."""
    sim.add_fault(FaultRule(kind="fail_processing", method="PATCH", route_glob=f"{IMAGES}/*", skip=3, count=1,
                            code=FAILED_CODE))
    report = await push(settings)
    assert report.exit_code == 1
    failed = [r for r in report.items if r.outcome not in ("done", "unchanged")]
    assert [(r.kind, r.outcome, r.error_codes, r.final_state, r.attempts) for r in failed] == [
        ("image", "failed", [FAILED_CODE], "FAILED", 1)]
    sim.clear_faults()
    return failed[0]


@pytest.mark.parametrize("api", ["v2", "v1"])
async def test_fresh_push_polls_each_container_in_batches_never_per_image(tmp_path: Path, api: str) -> None:
    """A fresh push reads no image on its own: every poll is one GET of a container's localizations list, at
    most two per container touched, and the client's poll count is the simulator's."""
    wl = make_workload(tmp_path / "wl", 5, LOCALES)
    kapi = kind_api("achievement", api)
    async with Simulator(fast_sim_config(app_id=wl.app_id, part_size=8192)) as sim:
        report = await push(settings_for(sim, wl.manifest, tmp_path, api=api))
        assert report.exit_code == 0
        assert_matches_manifest(sim, wl)

        gets = [r for r in sim.requests if r.kind == "api" and r.method == "GET"]
        allowed = {APP_DETAIL, kapi.list_in_detail, kapi.loc_list}
        if kapi.version is not None:
            allowed.add(kapi.version.list_of_parent)  # new achievement's version (not in the create answer)
        routes = {r.route or r.path for r in gets}
        assert routes <= allowed, sorted(routes - allowed)
        assert not [r for r in gets if r.route in (kapi.image_item, kapi.loc_image_read)]

        polls = [r for r in gets if r.route == kapi.loc_list]
        if kapi.version is not None:
            containers = {v["id"] for v in sim.state.versions()}
        else:
            containers = {a["id"] for a in sim.state.achievements()}
        assert len(containers) == len(wl.vendors)
        assert {r.path.split("/")[3] for r in polls} == containers
        assert len(polls) <= 2 * len(containers)
        assert report.totals["polls"] == len(polls)


async def test_upload_parts_and_images_in_flight_stay_within_their_limits(tmp_path: Path) -> None:
    """With upload_concurrency 3 and images_in_flight 2: at most 3 (and at some point 2+) parts are in flight
    at once, and at most 2 (and at some point 2) images are between reservation and commit at once."""
    wl = make_workload(tmp_path / "wl", 4, LOCALES)
    config = fast_sim_config(app_id=wl.app_id, part_size=4096, upload_latency=0.03)
    async with Simulator(config) as sim:
        settings = settings_for(sim, wl.manifest, tmp_path, upload_concurrency=3, images_in_flight=2)
        report = await push(settings)
        assert report.exit_code == 0
        assert_matches_manifest(sim, wl)

        parts = [r for r in sim.requests if r.kind == "upload"]
        assert len(parts) > 3 * len(wl.vendors) * len(LOCALES)  # several parts per image
        assert 1 < peak_overlap((r.started, r.ended) for r in parts) <= settings.upload_concurrency
        spans = image_spans(sim.requests)
        assert len(spans) == len(wl.vendors) * len(LOCALES)
        assert 1 < peak_overlap(spans) <= settings.images_in_flight


async def test_image_failed_in_processing_is_replaced_by_the_next_run(tmp_path: Path) -> None:
    """An icon FAILED in processing (--image-attempts 1) fails the run with Apple's code; the next run deletes
    exactly that image, reserves and commits one for its localization, writes nothing else and ends exact."""
    wl = make_workload(tmp_path / "wl", 3, LOCALES)
    async with Simulator(fast_sim_config(app_id=wl.app_id, part_size=8192)) as sim:
        settings = settings_for(sim, wl.manifest, tmp_path, image_attempts=1)
        failed = await push_with_one_failed_image(sim, settings)
        assert failed.image_id is not None and failed.locale is not None
        assert (sim.state.get("images", failed.image_id) or {})["result"]["state"] == "FAILED"
        target_loc = localization_id(sim, failed.vendor_identifier, failed.locale)

        mark = len(sim.requests)
        again = await push(settings)
        assert again.exit_code == 0
        assert [(r.kind, r.vendor_identifier, r.locale) for r in again.items if r.outcome != "unchanged"] == [
            ("image", failed.vendor_identifier, failed.locale)]
        done = writes(sim, mark)
        assert [(r.method, r.route) for r in done] == [
            ("DELETE", f"{IMAGES}/{{id}}"), ("POST", IMAGES), ("PATCH", f"{IMAGES}/{{id}}")]
        delete, reserve, commit = done
        assert delete.path == f"{IMAGES}/{failed.image_id}"
        assert reserve.request_body["data"]["relationships"]["localization"]["data"]["id"] == target_loc
        assert commit.path == f"{IMAGES}/{reserve.response_body['data']['id']}"
        assert sim.state.get("images", failed.image_id) is None
        assert_matches_manifest(sim, wl)


async def test_image_deleted_in_app_store_connect_is_uploaded_again(tmp_path: Path) -> None:
    """An icon deleted directly in App Store Connect after a complete push is reserved and committed again for
    its localization by the next push, which writes nothing else and uploads only that icon's parts."""
    wl = make_workload(tmp_path / "wl", 3, LOCALES)
    async with Simulator(fast_sim_config(app_id=wl.app_id, part_size=8192)) as sim:
        settings = settings_for(sim, wl.manifest, tmp_path)
        assert (await push(settings)).exit_code == 0
        target_loc = localization_id(sim, wl.vendors[1], "fr-FR")
        gone = sim.state.image_of(target_loc)
        assert gone is not None
        sim.state.delete_image(gone["id"])

        mark = len(sim.requests)
        again = await push(settings)
        assert again.exit_code == 0
        done = writes(sim, mark)
        assert [(r.method, r.route) for r in done] == [("POST", IMAGES), ("PATCH", f"{IMAGES}/{{id}}")]
        reserve, commit = done
        assert reserve.request_body["data"]["relationships"]["localization"]["data"]["id"] == target_loc
        new = sim.state.get("images", reserve.response_body["data"]["id"])
        assert new is not None and commit.path == f"{IMAGES}/{new['id']}"
        uploads = [r for r in sim.requests[mark:] if r.kind == "upload"]
        assert uploads and {r.path for r in uploads} == {f"/upload/{new['token']}"}
        assert_matches_manifest(sim, wl)


async def test_status_json_lists_a_permanent_failure_with_apples_code(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    """After a push whose icon FAILED processing, `bulkgc status --json` (journal only: the simulator is gone,
    no credentials are set) lists exactly that image as failed with Apple's code."""
    wl = make_workload(tmp_path / "wl", 3, LOCALES)
    async with Simulator(fast_sim_config(app_id=wl.app_id, part_size=8192)) as sim:
        settings = settings_for(sim, wl.manifest, tmp_path, image_attempts=1)
        failed = await push_with_one_failed_image(sim, settings)
    for name in ("ASC_KEY_ID", "ASC_ISSUER_ID", "ASC_PRIVATE_KEY_PATH", "ASC_PRIVATE_KEY",
                 "ASC_API_KEY_JSON"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("BULKGC_BASE_URL", "http://127.0.0.1:9")
    capsys.readouterr()

    assert main(["status", str(wl.manifest), "--journal", str(settings.journal), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    key = f"image:achievement:{failed.vendor_identifier}:{failed.locale}"
    assert [(f["item"], f["error_codes"]) for f in info["failed"]] == [(key, [FAILED_CODE])]
    assert FAILED_CODE in info["failed"][0]["detail"]
    assert info["counts"]["failed"] == 1
    assert key not in {u["item"] for u in info["unfinished"]}  # failed, complete and unfinished are disjoint


async def test_versions_of_created_achievements_are_read_in_batches(tmp_path: Path) -> None:
    """The create answer names no version ids, so the push reads them: created achievements that wait at the same
    time share one read (their owner's list, filter[id], versions included), far fewer reads than creates."""
    wl = make_workload(tmp_path / "wl", 12, ("en-US",))
    kapi = kind_api("achievement", "v2")
    assert kapi.version is not None
    async with Simulator(fast_sim_config(app_id=wl.app_id, part_size=8192, api_latency=0.03)) as sim:
        report = await push(settings_for(sim, wl.manifest, tmp_path, api_concurrency=6))
        assert report.exit_code == 0
        assert_matches_manifest(sim, wl)
        creates = [r for r in sim.requests if r.method == "POST" and r.route == kapi.parent_create]
        batched = [r for r in sim.requests if r.method == "GET" and r.route == kapi.list_in_detail
                   and "filter[id]" in r.query]
        single = [r for r in sim.requests if r.method == "GET" and r.route == kapi.version.list_of_parent]
        asked = [i for r in batched for i in r.query["filter[id]"].split(",")]
        assert len(creates) == 12 and not single
        assert sorted(asked) == sorted(c.response_body["data"]["id"] for c in creates)  # each asked once
        assert 1 <= len(batched) <= 6, len(batched)
