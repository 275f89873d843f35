"""The fault matrix: a real push against the simulator under each seeded fault ends with App Store Connect
holding exactly the manifest's icons, or with a report and exit code that name exactly what failed and why."""

from __future__ import annotations

import hashlib
import json
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from workload import LOCALES, Workload, make_workload, sha256, sim_image_state

from bulkgc.commands.push import finish
from bulkgc.config import RunSettings
from bulkgc.pipeline import push
from bulkgc.sim import FaultRule, RequestRecord, SimConfig, Simulator, observers

ACHIEVEMENTS = 6
WORKLOAD_LOCALES = LOCALES[:3]
IMAGE_ROUTE = "*/gameCenterAchievementImages"


def sim_config(wl: Workload, seed: int, **overrides: Any) -> SimConfig:
    base: dict[str, Any] = dict(app_id=wl.app_id, part_size=4096, processing_delay=0.05, seed=seed)
    base.update(overrides)
    return SimConfig(**base)


def settings_for(sim: Simulator, wl: Workload, tmp: Path, **overrides: Any) -> RunSettings:
    base: dict[str, Any] = dict(
        manifest=wl.manifest, base_url=sim.base_url, key_id=sim.key.key_id, issuer_id=sim.key.issuer_id,
        private_key_path=sim.key.write_p8(tmp / "keys"), journal=tmp / "journal.sqlite", poll_interval=0.05,
        processing_timeout=5.0, report=tmp / "report.json", junit=tmp / "junit.xml",
    )
    base.update(overrides)
    return RunSettings(**base)


@contextmanager
def on_reservation_of(sim: Simulator, vendor: str, locale: str, rule: Callable[[str], FaultRule]) -> Iterator[None]:
    """Install `rule(image_id)` for every icon reserved for `vendor`'s `locale` (targets one localization)."""
    def observe(rec: RequestRecord) -> None:
        if rec.method != "POST" or not (rec.route or "").endswith("/gameCenterAchievementImages"):
            return
        if not 200 <= rec.status < 300:
            return
        (rel,) = rec.request_body["data"]["relationships"].values()
        loc = sim.state.get("localizations", rel["data"]["id"])
        version = sim.state.get("versions", loc["version_id"]) if loc else None
        ach = sim.state.get("achievements", version["achievement_id"]) if version else None
        if loc and ach and loc["locale"] == locale and ach["attributes"]["vendorIdentifier"] == vendor:
            sim.add_fault(rule(rec.response_body["data"]["id"]))

    observers.append(observe)
    try:
        yield
    finally:
        observers.remove(observe)


def remote_images(sim: Simulator, wl: Workload) -> dict[tuple[str, str], list[dict[str, Any]]]:
    """(vendor, locale) -> the image records of that localization in the achievement's latest version."""
    state = sim.state
    achievements = {a["attributes"]["vendorIdentifier"]: a for a in state.achievements()}
    locs = state.localizations()
    images = state.images()
    out: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for vendor in wl.vendors:
        latest = state.latest_version(achievements[vendor]["id"])
        assert latest is not None
        mine = [loc for loc in locs if loc["version_id"] == latest["id"]]
        assert sorted(loc["locale"] for loc in mine) == sorted(wl.locales), vendor  # no duplicate localization
        for loc in mine:
            out[(vendor, loc["locale"])] = [img for img in images if img["localization_id"] == loc["id"]]
    return out


def assert_remote_state(sim: Simulator, wl: Workload, failed: dict[tuple[str, str], str] | None = None) -> None:
    """Every localization holds exactly one COMPLETE image with the local bytes, except `failed` ones,
    which hold at most one image, in the given state; no duplicate and no orphan image anywhere."""
    failed = failed or {}
    by_loc = remote_images(sim, wl)
    for (vendor, locale), imgs in by_loc.items():
        if (vendor, locale) in failed:
            assert len(imgs) <= 1, (vendor, locale, imgs)
            assert [sim_image_state(i) for i in imgs] in ([], [failed[(vendor, locale)]]), (vendor, locale, imgs)
            continue
        assert len(imgs) == 1, f"{vendor}/{locale} holds {len(imgs)} images"
        assert sim_image_state(imgs[0]) == "COMPLETE", (vendor, locale, imgs[0].get("result"))
        data = sim.state.image_bytes(imgs[0]["id"])
        assert hashlib.sha256(data).hexdigest() == sha256(wl.icon(vendor, locale)), (vendor, locale)
    live_locs = {loc["id"] for loc in sim.state.localizations()}
    orphans = [i for i in sim.state.images() if i["localization_id"] not in live_locs]
    assert orphans == []
    assert len(sim.state.images()) == sum(len(v) for v in by_loc.values())


def image_deletes(sim: Simulator) -> list[RequestRecord]:
    return [r for r in sim.requests if r.method == "DELETE" and "AchievementImages" in r.path and r.status == 204]


@dataclass
class Case:
    """One row of the matrix."""

    faults: list[FaultRule] = field(default_factory=list)
    sim: dict[str, Any] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)
    fired: Callable[[Simulator], bool] = lambda sim: sim.counters["faults_applied"] > 0  # the fault really hit


RECOVERABLE: dict[str, Case] = {
    "5xx_5_percent": Case([FaultRule(kind="status", status=500, probability=0.05),
                           FaultRule(kind="status", status=503, probability=0.05)]),
    "5xx_after_the_write_was_applied": Case([FaultRule(kind="status", status=500, after_apply=True,
                                                       method=m, probability=0.1) for m in ("POST", "PATCH")]),
    "drop_during_uploads": Case([FaultRule(kind="drop", route_glob="/upload/*", probability=0.15)]),
    "drop_during_posts": Case([FaultRule(kind="drop", method="POST", probability=0.15)]),
    "lost_answer_of_posts": Case([FaultRule(kind="drop_after_apply", method="POST", probability=0.15)]),
    "lost_answer_of_patch_and_delete": Case([FaultRule(kind="drop_after_apply", method=m, probability=0.15)
                                             for m in ("PATCH", "DELETE")]),
    "slower_than_the_timeout": Case(
        [FaultRule(kind="latency", delay=1.0, probability=0.08),
         FaultRule(kind="latency", delay=1.0, route_glob="/upload/*", probability=0.08)],
        settings={"request_timeout": 0.4}),
    "429_storm": Case(sim={"burst_limit": 2, "api_latency": 0.02},
                      settings={"api_concurrency": 8, "images_in_flight": 18},
                      fired=lambda sim: sim.counters["burst_limited"] >= 1),  # few: the limit is learned
    "upload_urls_expire_before_use": Case([FaultRule(kind="expire_upload", route_glob="/upload/*", count=3),
                                           FaultRule(kind="expire_upload", method="POST", route_glob=IMAGE_ROUTE,
                                                     count=2)],
                                          fired=lambda sim: sim.counters.get("status_403", 0) >= 3),
    "processing_stuck_then_redone": Case([FaultRule(kind="stuck", method="PATCH", route_glob=IMAGE_ROUTE + "/*",
                                                    count=3)],
                                         settings={"processing_timeout": 0.4, "image_attempts": 3},
                                         fired=lambda sim: len(image_deletes(sim)) == 3),
}


@pytest.mark.parametrize("seed", [1, 2])
@pytest.mark.parametrize("name", list(RECOVERABLE))
async def test_recoverable_fault_ends_with_the_manifest_state(tmp_path: Path, name: str, seed: int) -> None:
    """Under the fault the push still exits 0 and every localization holds one COMPLETE image with the local bytes."""
    case = RECOVERABLE[name]
    wl = make_workload(tmp_path / "wl", ACHIEVEMENTS, WORKLOAD_LOCALES)
    async with Simulator(sim_config(wl, seed, faults=tuple(case.faults), **case.sim)) as sim:
        settings = settings_for(sim, wl, tmp_path, **case.settings)
        report = await push(settings)
        failed = [(r.kind, r.name, r.error_codes, r.message) for r in report.items if r.outcome != "done"]
        assert report.exit_code == 0, failed
        assert failed == []
        assert case.fired(sim), sim.counters
        assert_remote_state(sim, wl)
        second_run = time.time()  # a slow request of the first run may be recorded after this
        again = await push(settings)  # and a second run finds nothing left to do
        assert again.exit_code == 0
        assert [r for r in sim.requests if r.started >= second_run and r.method in ("POST", "PATCH", "DELETE")] == []


PERMANENT: dict[str, tuple[Callable[[str], FaultRule], dict[str, Any], str, str]] = {
    # name -> (rule for each reservation of the target icon, settings, Apple's code in the report, final state)
    "processing_fails": (lambda image_id: FaultRule(kind="fail_processing", method="PATCH", path_regex=image_id,
                                                    code="IMAGE_ASSET_CORRUPT"),
                         {}, "IMAGE_ASSET_CORRUPT", "FAILED"),
    "stuck_beyond_the_attempt_budget": (lambda image_id: FaultRule(kind="stuck", method="PATCH", path_regex=image_id),
                                        {"processing_timeout": 0.3, "image_attempts": 2},
                                        "PROCESSING_TIMEOUT", "UPLOAD_COMPLETE"),
}


@pytest.mark.parametrize("name", list(PERMANENT))
async def test_permanent_failure_is_named_in_report_junit_and_exit_code(
    tmp_path: Path, name: str, capsys: pytest.CaptureFixture[str],
) -> None:
    """One icon that always fails: exit 1; summary, JSON report and JUnit name exactly it with the code; the rest is done."""
    rule, overrides, code, final_state = PERMANENT[name]
    wl = make_workload(tmp_path / "wl", ACHIEVEMENTS, WORKLOAD_LOCALES)
    target = (wl.vendors[2], WORKLOAD_LOCALES[1])
    async with Simulator(sim_config(wl, 5)) as sim:
        settings = settings_for(sim, wl, tmp_path, **overrides)
        with on_reservation_of(sim, *target, rule):
            report = await push(settings)
        exit_code = finish(settings, report)
        assert exit_code == report.exit_code == 1
        failed = [r for r in report.items if r.outcome not in ("done", "unchanged")]
        assert [(r.kind, r.vendor_identifier, r.locale, r.error_codes, r.final_state) for r in failed] == [
            ("image", *target, [code], final_state)]
        attempts = failed[0].attempts
        assert attempts == overrides.get("image_attempts", 1)
        assert_remote_state(sim, wl, failed={target: final_state})

    out = capsys.readouterr().out
    assert f"1 failed:\n  - achievement image {target[0]}[{target[1]}]: {code} (state {final_state})" in out
    data = json.loads(settings.report.read_text())  # type: ignore[union-attr]
    assert data["exit_code"] == 1
    assert [(i["vendor_identifier"], i["locale"], i["error_codes"]) for i in data["items"]
            if i["outcome"] == "failed"] == [(*target, [code])]
    assert data["counts"]["done"] == len(data["items"]) - 1
    suite = ET.parse(settings.junit).getroot()  # type: ignore[arg-type]
    assert suite.get("failures") == "1"
    failures = [(case.get("name"), f.get("type")) for case in suite.iter("testcase") for f in case.iter("failure")]
    assert failures == [(f"{target[0]}[{target[1]}]", code)]
