"""Icons are checked in two halves: requests start after the cheap half, an upload waits for its own icon."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import anyio
import pytest
from conftest import fast_sim_config, settings_for
from workload import assert_matches_manifest, localization_id, make_workload

import bulkgc.iconchecks
import bulkgc.pipeline
import bulkgc.sim as simmod
from bulkgc.errors import EXIT_INVALID_INPUT, INVALID_IMAGE, InvalidImageError, JournalError
from bulkgc.journal import Journal
from bulkgc.pipeline import push
from bulkgc.sim import Simulator

pytestmark = pytest.mark.timeout(120)


def is_reservation(rec: Any) -> bool:
    return rec.method == "POST" and rec.path.endswith("/gameCenterAchievementImages")


@contextmanager
def pixel_checks_held_until_first_write(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """Every icon's pixel check (in its worker thread) waits until the simulator has seen a write; yields the
    sequence number of that write. A push that sent nothing before its pixel checks would never get one."""
    released = threading.Event()
    first_write: list[int] = []
    real = bulkgc.iconchecks.pixel_check

    def held(*args: Any) -> Any:
        assert released.wait(30), "no write reached the server while the pixel checks were held"
        return real(*args)

    def observe(rec: Any) -> None:
        if rec.kind == "api" and rec.method != "GET" and not first_write:
            first_write.append(rec.seq)
            released.set()

    monkeypatch.setattr(bulkgc.iconchecks, "pixel_check", held)
    simmod.observers.append(observe)
    try:
        yield first_write
    finally:
        simmod.observers.remove(observe)
        released.set()


async def test_writes_start_before_pixel_checks_end_and_uploads_wait_for_them(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With every pixel check held, the reads and the first write still reach the server; no image is reserved
    before the checks go on, and the push then completes exactly."""
    wl = make_workload(tmp_path / "wl", 3, ("en-US", "fr-FR"))
    async with Simulator(fast_sim_config(app_id=wl.app_id)) as sim:
        with pixel_checks_held_until_first_write(monkeypatch) as first_write:
            report = await push(settings_for(sim, wl.manifest, tmp_path))
        assert report.exit_code == 0
        assert first_write, "no write while the pixel checks were held"
        api = [r for r in sim.requests if r.kind == "api"]
        before = [r.method for r in api if r.seq < first_write[0]]
        assert before and set(before) == {"GET"}
        reservations = [r.seq for r in api if is_reservation(r)]
        assert len(reservations) == 6 and min(reservations) > first_write[0]
        assert_matches_manifest(sim, wl)


async def test_an_upload_waits_for_its_own_icon_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """One icon's pixel check is held until every other image is committed: its image is reserved only after
    that, while the others never waited for it."""
    wl = make_workload(tmp_path / "wl", 3, ("en-US", "fr-FR"))
    slow = wl.icon(wl.vendors[0], "en-US")
    released = threading.Event()
    real = bulkgc.iconchecks.pixel_check
    commits: list[int] = []

    def held(icon: Any, *args: Any) -> Any:
        if icon.path == slow:
            assert released.wait(30), "the other images waited for this icon"
        return real(icon, *args)

    def observe(rec: Any) -> None:
        if rec.kind == "api" and rec.method == "PATCH" and "/gameCenterAchievementImages/" in rec.path:
            commits.append(rec.seq)
            if len(commits) == 5:
                released.set()

    monkeypatch.setattr(bulkgc.iconchecks, "pixel_check", held)
    simmod.observers.append(observe)
    try:
        async with Simulator(fast_sim_config(app_id=wl.app_id)) as sim:
            report = await push(settings_for(sim, wl.manifest, tmp_path))
            assert report.exit_code == 0
            slow_loc = localization_id(sim, wl.vendors[0], "en-US")
            (slow_reservation,) = [r.seq for r in sim.requests if is_reservation(r)
                                   and slow_loc in str(r.request_body)]
            assert slow_reservation > commits[4]
            assert_matches_manifest(sim, wl)
    finally:
        simmod.observers.remove(observe)
        released.set()


def _break_idat_crc(path: Path) -> None:
    """Flip one byte inside the first IDAT chunk's data: the file keeps its structure, its CRC fails."""
    data = bytearray(path.read_bytes())
    at = data.index(b"IDAT") + 4 + 10
    data[at] ^= 0xFF
    path.write_bytes(bytes(data))


async def test_damaged_pixel_data_is_never_uploaded_and_the_push_exits_2(tmp_path: Path) -> None:
    """An icon whose pixel data fails its CRC (found after the first request): that image alone fails with
    INVALID_IMAGE and is never reserved or sent, everything else is pushed, and the run exits 2 naming it."""
    wl = make_workload(tmp_path / "wl", 3, ("en-US", "fr-FR"))
    bad_vendor = wl.vendors[1]
    bad = wl.icon(bad_vendor, "fr-FR")
    _break_idat_crc(bad)
    async with Simulator(fast_sim_config(app_id=wl.app_id)) as sim:
        settings = settings_for(sim, wl.manifest, tmp_path)
        report = await push(settings)
        assert report.exit_code == EXIT_INVALID_INPUT
        failed = [r for r in report.items if r.outcome == "failed"]
        assert [(r.kind, r.vendor_identifier, r.locale, r.error_codes) for r in failed] == [
            ("image", bad_vendor, "fr-FR", [INVALID_IMAGE])]
        message = failed[0].message
        assert bad.name in message and "IDAT chunk fails its checksum" in message
        assert "export or copy it again" in message
        loc_id = localization_id(sim, bad_vendor, "fr-FR")  # its texts were pushed
        assert not [i for i in sim.state.images() if i["localization_id"] == loc_id]
        assert len([r for r in sim.requests if is_reservation(r)]) == 5  # every other icon, not that one
        journal = Journal.open(settings.journal_path, read_only=True)
        try:
            run = journal.last_run()
            assert run is not None and run.outcome == "failed"
        finally:
            journal.close()
        # fixed, the next run uploads that icon alone
        make_workload(tmp_path / "wl", 3, ("en-US", "fr-FR"))
        before = len(sim.requests)
        again = await push(settings)
        assert again.exit_code == 0
        assert len([r for r in sim.requests[before:] if is_reservation(r)]) == 1
        assert_matches_manifest(sim, wl)


async def test_bad_pixel_data_of_every_icon_is_listed(tmp_path: Path) -> None:
    """Two damaged icons of two items: both are listed (one failure each), the third item is complete."""
    wl = make_workload(tmp_path / "wl", 3, ("en-US",))
    bad = [wl.icon(wl.vendors[0], "en-US"), wl.icon(wl.vendors[2], "en-US")]
    for path in bad:
        _break_idat_crc(path)
    async with Simulator(fast_sim_config(app_id=wl.app_id)) as sim:
        report = await push(settings_for(sim, wl.manifest, tmp_path))
        assert report.exit_code == EXIT_INVALID_INPUT
        failed = sorted((r.vendor_identifier, r.message) for r in report.items if r.outcome == "failed")
        assert [v for v, _ in failed] == [wl.vendors[0], wl.vendors[2]]
        assert all(path.name in message for path, (_, message) in zip(bad, failed, strict=True))
        assert len([r for r in sim.requests if is_reservation(r)]) == 1


async def test_a_second_push_on_the_journal_sends_nothing(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """The journal is locked before the first request: a second push on it, while the first holds it before
    sending anything, stops with exit 3's error and sends nothing; the first then completes."""
    wl = make_workload(tmp_path / "wl", 2, ("en-US",))
    go_on = anyio.Event()
    holding = anyio.Event()
    real = bulkgc.pipeline.resolve_app_id

    async def held(*args: Any) -> Any:  # the first thing a push does with its client: nothing sent yet
        holding.set()
        await go_on.wait()
        return await real(*args)

    monkeypatch.setattr(bulkgc.pipeline, "resolve_app_id", held)
    async with Simulator(fast_sim_config(app_id=wl.app_id)) as sim:
        settings = settings_for(sim, wl.manifest, tmp_path)
        async with anyio.create_task_group() as tg:
            tg.start_soon(push, settings)
            with anyio.fail_after(30):
                await holding.wait()
            with pytest.raises(JournalError, match="in use"):
                await push(settings)
            assert sim.requests == []
            go_on.set()
        assert_matches_manifest(sim, wl)


async def test_an_icon_that_fails_the_cheap_half_stops_the_push_before_any_request(tmp_path: Path) -> None:
    """A truncated PNG (its chunks end early) is found by the first half: exit 2 before anything is sent."""
    wl = make_workload(tmp_path / "wl", 2, ("en-US",))
    bad = wl.icon(wl.vendors[1], "en-US")
    bad.write_bytes(bad.read_bytes()[: bad.stat().st_size // 2])
    async with Simulator(fast_sim_config(app_id=wl.app_id)) as sim:
        with pytest.raises(InvalidImageError) as caught:
            await push(settings_for(sim, wl.manifest, tmp_path))
        assert bad.name in str(caught.value) and "truncated" in str(caught.value)
        assert caught.value.reads_sent is False
        assert sim.requests == []


async def test_icons_checked_in_two_halves_are_remembered(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """Icons that passed both halves are in the scan cache: the next push checks none of them again."""
    wl = make_workload(tmp_path / "wl", 2, ("en-US", "fr-FR"))
    async with Simulator(fast_sim_config(app_id=wl.app_id)) as sim:
        settings = settings_for(sim, wl.manifest, tmp_path)
        assert (await push(settings)).exit_code == 0
        checked: list[Any] = []
        monkeypatch.setattr(bulkgc.iconchecks, "pixel_check", lambda icon, *a: checked.append(icon))
        monkeypatch.setattr(bulkgc.iconchecks, "digest_icon", lambda icon: checked.append(icon))
        before = len(sim.requests)
        again = await push(settings)
        assert again.exit_code == 0 and checked == []
        assert {r.method for r in sim.requests[before:]} == {"GET"}  # nothing to do either
