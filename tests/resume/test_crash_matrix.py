"""Crash matrix: `bulkgc push` (a process) is SIGKILLed by the simulator (a process with persistent state) at an
exact request, then run again; the end state is exactly the manifest's and nothing was done twice."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from crashbed import (
    SimProc,
    applied_writes,
    assert_exact_state,
    image_items,
    journal_known_parts,
    part_puts,
    run_push,
)
from workload import Workload, make_icon, make_workload, sim_image_state

from bulkgc.journal import Journal
from bulkgc.remote import digest_of

LOCALES = ("en-US", "fr-FR")
#: the writes of one clean push of the 4 x 2 workload
CLEAN = {"POST achievement": 4, "POST localization": 8, "POST image": 8, "PATCH image": 8}
IMAGES = "/v2/gameCenterAchievementImages"


def _change_icon(vendor_index: int, locale: str) -> Callable[[SimProc, Workload], None]:
    def change(sim: SimProc, wl: Workload) -> None:
        make_icon(wl.icon(wl.vendors[vendor_index], locale), 900 + vendor_index, variant=1)
    return change


def _change_texts(sim: SimProc, wl: Workload) -> None:
    wl.set_text(wl.vendors[0], "en-US", "name", "Renamed zero")
    wl.set_text(wl.vendors[2], "fr-FR", "name", "Deux renomme")


def _ship_all_then_rename_one(sim: SimProc, wl: Workload) -> None:
    for version in sim.state.versions():
        sim.call("POST", f"/sim/versions/{version['id']}/state", {"state": "LIVE"})
    wl.set_text(wl.vendors[3], "en-US", "name", "Three, second edition")


def _change_reserved_icons(sim: SimProc, wl: Workload) -> dict[str, int]:
    """The file behind each reservation the killed run left changes: the reservation is an orphan to delete."""
    state = sim.state
    items = image_items(state)
    orphans = [img for img in state.images() if sim_image_state(img) == "AWAITING_UPLOAD"]
    assert orphans, "the kill left no reservation"
    for n, img in enumerate(orphans):
        _, _, vendor, locale = items[img["id"]].split(":")
        make_icon(wl.icon(vendor, locale), 950 + n, variant=2)
    return {"DELETE image": len(orphans), "POST image": CLEAN["POST image"] + len(orphans)}


@dataclass(frozen=True)
class KillPoint:
    """Where the first run dies, and what a correct pair of runs writes in total."""

    name: str
    at: dict[str, Any]  # the `signal` fault's matching: method, route_glob, skip, after_apply
    writes: dict[str, int] = field(default_factory=lambda: dict(CLEAN))
    prepare: Callable[[SimProc, Workload], None] | None = None  # after a first full push, before the killed one
    between: Callable[[SimProc, Workload], dict[str, int]] | None = None  # after the kill; returns write changes
    flags: tuple[str, ...] = ()
    versions: dict[int, int] = field(default_factory=dict)  # vendor index -> versions expected
    api: str = "v2"
    achievements: int = 4
    leaderboards: int = 0  # the first shares the first achievement's vendor id

    def __str__(self) -> str:
        return self.name


POINTS = [
    KillPoint("achievement-created-answer-lost",
              {"method": "POST", "route_glob": "/v2/gameCenterAchievements", "skip": 1, "after_apply": True}),
    KillPoint("localization-created-answer-lost",
              {"method": "POST", "route_glob": "/v2/gameCenterAchievementLocalizations", "skip": 2,
               "after_apply": True}),
    KillPoint("image-reserved-answer-lost", {"method": "POST", "route_glob": IMAGES, "skip": 0, "after_apply": True}),
    KillPoint("between-parts-of-one-image", {"method": "PUT", "route_glob": "/upload/*", "skip": 2, "after_apply": True},
              flags=("--images-in-flight", "1", "--upload-concurrency", "1")),
    KillPoint("all-parts-sent-before-commit", {"method": "PATCH", "route_glob": IMAGES + "/*", "skip": 0}),
    KillPoint("committed-before-journal-write",
              {"method": "PATCH", "route_glob": IMAGES + "/*", "skip": 1, "after_apply": True}),
    KillPoint("during-polling", {"method": "GET", "route_glob": "/v2/gameCenterAchievementVersions/*/localizations"}),
    KillPoint("replaced-image-deleted", {"method": "DELETE", "route_glob": IMAGES + "/*", "after_apply": True},
              writes={"DELETE image": 1, "POST image": 1, "PATCH image": 1}, prepare=_change_icon(1, "fr-FR")),
    KillPoint("localization-patched",
              {"method": "PATCH", "route_glob": "/v2/gameCenterAchievementLocalizations/*", "after_apply": True},
              writes={"PATCH localization": 2}, prepare=_change_texts),
    KillPoint("many-images-in-flight", {"method": "PUT", "route_glob": "/upload/*", "skip": 14, "after_apply": True},
              flags=("--images-in-flight", "8")),
    KillPoint("new-version-created-answer-lost",
              {"method": "POST", "route_glob": "/v2/gameCenterAchievementVersions", "after_apply": True},
              writes={"POST version": 1, "PATCH localization": 1}, prepare=_ship_all_then_rename_one,
              versions={3: 2}),
    KillPoint("reserved-then-file-changed", {"method": "POST", "route_glob": IMAGES, "after_apply": True},
              between=_change_reserved_icons),
]
V1 = "/v1/gameCenterAchievementImages"
#: the v1 API shares the code paths; a few points prove it
POINTS_V1 = [
    KillPoint("v1-image-reserved-answer-lost", {"method": "POST", "route_glob": V1, "after_apply": True}, api="v1"),
    KillPoint("v1-between-parts-of-one-image",
              {"method": "PUT", "route_glob": "/upload/*", "skip": 2, "after_apply": True},
              flags=("--images-in-flight", "1", "--upload-concurrency", "1"), api="v1"),
    KillPoint("v1-committed-before-journal-write",
              {"method": "PATCH", "route_glob": V1 + "/*", "skip": 1, "after_apply": True}, api="v1"),
]


LB_IMAGES = "/v2/gameCenterLeaderboardImages"
#: the writes of one clean push of the mixed workload: 2 achievements and 3 leaderboards x 2 locales
CLEAN_MIXED = {"POST achievement": 2, "POST localization": 4, "POST image": 4, "PATCH image": 4,
               "POST leaderboard": 3, "POST leaderboard localization": 6, "POST leaderboard image": 6,
               "PATCH leaderboard image": 6}


def _change_board_icons(sim: SimProc, wl: Workload) -> None:
    for n, locale in enumerate(LOCALES):
        make_icon(wl.icon(wl.boards[1], locale, "leaderboard"), 700 + n, variant=1)


def _mixed(name: str, at: dict[str, Any], **kw: Any) -> KillPoint:
    return KillPoint(name, at, writes=kw.pop("writes", dict(CLEAN_MIXED)), achievements=2, leaderboards=3, **kw)


#: kill points inside leaderboard work, in a manifest that also holds achievements (one sharing a vendor id)
POINTS_LEADERBOARD = [
    _mixed("leaderboard-created-answer-lost",
           {"method": "POST", "route_glob": "/v2/gameCenterLeaderboards", "skip": 1, "after_apply": True}),
    _mixed("leaderboard-localization-created-answer-lost",
           {"method": "POST", "route_glob": "/v2/gameCenterLeaderboardLocalizations", "skip": 2, "after_apply": True}),
    _mixed("leaderboard-image-reserved-answer-lost",
           {"method": "POST", "route_glob": LB_IMAGES, "skip": 1, "after_apply": True}),
    _mixed("leaderboard-image-between-parts",
           {"method": "PUT", "route_glob": "/upload/*", "skip": 2, "after_apply": True},
           writes={"DELETE leaderboard image": 2, "POST leaderboard image": 2, "PATCH leaderboard image": 2},
           prepare=_change_board_icons, flags=("--images-in-flight", "1", "--upload-concurrency", "1")),
    _mixed("leaderboard-image-committed-before-journal-write",
           {"method": "PATCH", "route_glob": LB_IMAGES + "/*", "skip": 1, "after_apply": True}),
]
POINTS_LEADERBOARD_V1 = [
    _mixed("v1-leaderboard-image-reserved-answer-lost",
           {"method": "POST", "route_glob": "/v1/gameCenterLeaderboardImages", "after_apply": True}, api="v1"),
    _mixed("v1-leaderboard-image-committed-before-journal-write",
           {"method": "PATCH", "route_glob": "/v1/gameCenterLeaderboardImages/*", "skip": 1, "after_apply": True},
           api="v1"),
]


def crash_and_resume(tmp_path: Path, point: KillPoint, *, keep_journal: bool) -> None:
    wl = make_workload(tmp_path / "wl", point.achievements, LOCALES, leaderboards=point.leaderboards)
    journal = tmp_path / "journal.sqlite"
    api = ("--api", point.api)
    sim = SimProc(tmp_path, wl.app_id).start()
    try:
        if point.prepare is not None:
            first = run_push(sim, wl.manifest, journal, *api)
            assert first.returncode == 0, first.stderr[-2000:]
            point.prepare(sim, wl)

        killed = run_push(sim, wl.manifest, journal, *api, *point.flags, fault=point.at)
        assert killed.returncode == -9, f"the kill point was never reached:\n{killed.stderr[-2000:]}"
        after_kill = sim.state
        known = journal_known_parts(journal) if keep_journal else {}
        expected = dict(point.writes)
        if point.between is not None:
            expected.update(point.between(sim, wl))
        if not keep_journal:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{journal}{suffix}").unlink(missing_ok=True)

        rerun = run_push(sim, wl.manifest, journal, *api)
        assert rerun.returncode == 0, rerun.stderr[-3000:]
        both = sim.requests(killed.first_seq)
        killed_reqs = [r for r in both if r.started < rerun.launched]
        rerun_reqs = [r for r in both if r.started >= rerun.launched]

        # exactly the manifest, no duplicates, no orphans
        assert_exact_state(sim, wl, versions={wl.vendors[i]: n for i, n in point.versions.items()})
        # nothing applied twice: the two runs together wrote what one clean run writes
        if not point.at.get("after_apply"):
            killed_reqs = [r for r in killed_reqs if not r.dropped]
        assert applied_writes(killed_reqs + rerun_reqs) == expected

        # the re-run resumed reservations it found instead of reserving again, skipping the parts the journal knew
        state = sim.state
        items = image_items(state)
        puts = part_puts(rerun_reqs, state)
        for img in after_kill.images():
            if sim_image_state(img) != "AWAITING_UPLOAD" or img["id"] not in items:
                continue
            if digest_of(img["fileName"]) is None or point.between is not None:
                continue
            sent_before = known.get(img["id"], set())
            resumed = [e for e in rerun.steps("resume") if e["item"] == items[img["id"]]]
            assert [e["detail"].split(" of ")[0] for e in resumed] == [str(len(sent_before))], items[img["id"]]
            again = {part for image_id, part, _ in puts if image_id == img["id"]} & sent_before
            assert again == set(), f"{items[img['id']]}: parts {sorted(again)} sent again though the journal knew"
        # the journal agrees: `bulkgc status` would show nothing unfinished
        with Journal.open(journal, read_only=True) as j:
            assert [(i.item_key, i.state) for i in j.items(kind="image") if i.state != "complete"] == []
        # within the re-run no part goes twice
        ok = [(i, p) for i, p, status in puts if status == 200]
        assert len(ok) == len(set(ok))
        if keep_journal and "between-parts" in point.name:
            assert sum(map(len, known.values())) >= 1, "the journal knew no part: the case proves nothing"
        # and every exchange of both runs (and the prepare run) conforms to Apple's spec
        assert sim.assert_conforms() > 0
    finally:
        sim.stop()


@pytest.mark.slow
@pytest.mark.parametrize("point", POINTS + POINTS_V1 + POINTS_LEADERBOARD + POINTS_LEADERBOARD_V1, ids=str)
def test_kill_and_rerun(tmp_path: Path, point: KillPoint) -> None:
    """SIGKILL at this point, run again with the journal: the manifest's exact state, nothing done twice, resumed."""
    crash_and_resume(tmp_path, point, keep_journal=True)


@pytest.mark.slow
@pytest.mark.parametrize("point", POINTS + POINTS_LEADERBOARD, ids=str)
def test_kill_delete_journal_and_rerun(tmp_path: Path, point: KillPoint) -> None:
    """SIGKILL at this point, delete the journal, run again: the digests in fileName alone make it exact."""
    crash_and_resume(tmp_path, point, keep_journal=False)
