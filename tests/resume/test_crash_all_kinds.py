"""Kill points inside set membership, activity default image and challenge localization work; re-run."""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from crashbed import SimProc, run_push

sys.path.insert(0, str(Path(__file__).parents[1] / "e2e"))

from allkinds import AllKinds, assert_all_kinds_exact, make_all_kinds, make_wide  # noqa: E402

from bulkgc.journal import Journal  # noqa: E402

LOCALES = ("en-US", "fr-FR")
SETS = "/v2/gameCenterLeaderboardSets"
MEMBERS = SETS + "/{id}/relationships/gameCenterLeaderboards"
ACT_IMAGES = "/v1/gameCenterActivityImages"
CH_LOCS = "/v1/gameCenterChallengeLocalizations"


def workload(root: Path) -> AllKinds:
    """1 achievement, 2 leaderboards, 1 set of both, 1 activity and 1 challenge in 2 locales; activities and
    challenges carry only their default image (their localized images are optional)."""
    return make_all_kinds(
        root,
        locales=LOCALES,
        localized_wide=False,
        achievements=["com.ex.all.ach0"],
        boards=["com.ex.all.lb0", "com.ex.all.lb1"],
        sets={"com.ex.all.set0": ["com.ex.all.lb1", "com.ex.all.lb0"]},
    )


def clean_writes(wl: AllKinds) -> Counter[tuple[str, str]]:
    """The writes of one clean fresh push of `wl`: per kind creates, localizations, reserves and commits."""
    n = len(wl.locales)
    out: Counter[tuple[str, str]] = Counter()
    for prefix, stem, items, images in (
        ("/v2", "Achievement", wl.achievements, n),
        ("/v2", "Leaderboard", wl.boards, n),
        ("/v2", "LeaderboardSet", list(wl.sets), n),
        ("/v1", "Activity", wl.activities, 1),
        ("/v1", "Challenge", list(wl.challenges), 1),
    ):
        plural = "gameCenterActivities" if stem == "Activity" else f"gameCenter{stem}s"
        out[("POST", f"{prefix}/{plural}")] += len(items)
        out[("POST", f"{prefix}/gameCenter{stem}Localizations")] += len(items) * n
        out[("POST", f"{prefix}/gameCenter{stem}Images")] += len(items) * images
        out[("PATCH", f"{prefix}/gameCenter{stem}Images/{{id}}")] += len(items) * images
    return out


def applied(reqs: list[Any]) -> Counter[tuple[str, str]]:
    """Writes App Store Connect applied: answered 2xx, or dropped after being applied (the killed request)."""
    return Counter(
        (r.method, r.route)
        for r in reqs
        if r.kind == "api"
        and r.method in ("POST", "PATCH", "DELETE")
        and (200 <= r.status < 300 or r.dropped)
    )


def _reorder_members(sim: SimProc, wl: AllKinds) -> None:
    wl.sets["com.ex.all.set0"] = ["com.ex.all.lb0", "com.ex.all.lb1"]
    wl.write()


def _change_default_image(sim: SimProc, wl: AllKinds) -> None:
    make_wide(wl.image("activity", "com.ex.all.act0", "default"), 61, variant=3)


def _change_challenge_texts(sim: SimProc, wl: AllKinds) -> None:
    wl.texts[("challenge", "com.ex.all.ch0", "en-US", "name")] = "Weekly sprint"
    wl.texts[("challenge", "com.ex.all.ch0", "fr-FR", "description")] = "Course de la semaine"
    wl.write()


@dataclass(frozen=True)
class Point:
    """Where the first run dies and what both runs together write (None: one clean fresh push's writes)."""

    name: str
    at: dict[str, Any]
    writes: dict[tuple[str, str], int] | None = None
    prepare: Callable[[SimProc, AllKinds], None] | None = None
    flags: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return self.name


POINTS = [
    # set membership: in the create request, then one PATCH of the whole ordered list
    Point("set-created-answer-lost", {"method": "POST", "route_glob": SETS, "after_apply": True}),
    Point(
        "set-membership-patched-answer-lost",
        {"method": "PATCH", "route_glob": SETS + "/*/relationships/*", "after_apply": True},
        writes={("PATCH", MEMBERS): 1},
        prepare=_reorder_members,
    ),
    Point(
        "set-membership-killed-before-patch",
        {"method": "PATCH", "route_glob": SETS + "/*/relationships/*"},
        writes={("PATCH", MEMBERS): 1},
        prepare=_reorder_members,
    ),
    # the activity version's default image
    Point(
        "activity-default-image-reserved-answer-lost",
        {"method": "POST", "route_glob": ACT_IMAGES, "after_apply": True},
    ),
    Point(
        "activity-default-image-between-parts",
        {"method": "PUT", "route_glob": "/upload/*", "skip": 2, "after_apply": True},
        writes={
            ("DELETE", ACT_IMAGES + "/{id}"): 1,
            ("POST", ACT_IMAGES): 1,
            ("PATCH", ACT_IMAGES + "/{id}"): 1,
        },
        prepare=_change_default_image,
        flags=("--images-in-flight", "1", "--upload-concurrency", "1"),
    ),
    Point(
        "activity-default-image-committed-before-journal-write",
        {"method": "PATCH", "route_glob": ACT_IMAGES + "/*", "after_apply": True},
    ),
    # challenge localizations
    Point(
        "challenge-localization-created-answer-lost",
        {"method": "POST", "route_glob": CH_LOCS, "skip": 1, "after_apply": True},
    ),
    Point(
        "challenge-localization-patched-answer-lost",
        {"method": "PATCH", "route_glob": CH_LOCS + "/*", "after_apply": True},
        writes={("PATCH", CH_LOCS + "/{id}"): 2},
        prepare=_change_challenge_texts,
    ),
]


@pytest.mark.slow
@pytest.mark.parametrize("keep_journal", [True, False], ids=["journal", "no-journal"])
@pytest.mark.parametrize("point", POINTS, ids=str)
def test_kill_inside_new_kinds_then_rerun(tmp_path: Path, point: Point, keep_journal: bool) -> None:
    """SIGKILL here, re-run (journal kept or deleted): exact state, one run's writes, nothing unfinished."""
    wl = workload(tmp_path / "wl")
    journal = tmp_path / "journal.sqlite"
    sim = SimProc(tmp_path, wl.app_id).start()
    try:
        if point.prepare is not None:
            first = run_push(sim, wl.manifest, journal)
            assert first.returncode == 0, first.stderr[-2000:]
            point.prepare(sim, wl)
        killed = run_push(sim, wl.manifest, journal, *point.flags, fault=point.at)
        assert killed.returncode == -9, f"the kill point was never reached:\n{killed.stderr[-2000:]}"
        if not keep_journal:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{journal}{suffix}").unlink(missing_ok=True)
        rerun = run_push(sim, wl.manifest, journal)
        assert rerun.returncode == 0, rerun.stderr[-3000:]

        assert_all_kinds_exact(sim.state, wl)
        both = sim.requests(killed.first_seq)
        if not point.at.get("after_apply"):  # the killed request never reached App Store Connect's state
            both = [r for r in both if not r.dropped]
        expected = Counter(point.writes) if point.writes is not None else clean_writes(wl)
        assert applied(both) == expected
        if "between-parts" in point.name:  # the reservation was resumed: its parts were not all sent again
            assert [e for e in rerun.steps("resume") if e["item"] == "image:activity:com.ex.all.act0:default"]
        with Journal.open(journal, read_only=True) as j:
            assert [(i.item_key, i.state) for i in j.items(kind="image") if i.state != "complete"] == []
        again = run_push(sim, wl.manifest, journal)
        assert again.returncode == 0 and applied(sim.requests(again.first_seq)) == Counter()
        assert sim.assert_conforms() > 0
    finally:
        sim.stop()
