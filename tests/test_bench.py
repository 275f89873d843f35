"""The benchmark: a small real run (simulator in its own process, client in a child) and its formulas."""

from __future__ import annotations

import dataclasses
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from bulkgc import bench
from bulkgc.bench import BenchConfig, Work, lower_bound, minimum_requests

SMALL = dict(achievements=6, locales=2, api_latency=0.004, api_jitter=0.002, upload_latency=0.002,
             processing_delay=0.08, processing_jitter=0.02, poll_interval=0.1, change_fraction=0.25,
             budget_limit=20, budget_window=2.0)


@pytest.fixture(scope="module")
def small_run(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, object]]:
    """Run `python -m bulkgc.bench --json` on 6 achievements x 2 locales once for the module."""
    cache = tmp_path_factory.mktemp("bench-cache")
    argv = ["--json", "--cache", str(cache), "--phases", "fresh,noop,changed,budget"]  # scale: its own test
    for name, value in SMALL.items():
        argv += ["--" + name.replace("_", "-"), str(value)]
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        bench.main(argv)
    return [json.loads(line) for line in out.getvalue().splitlines() if line.strip()]


def test_json_lines_have_every_field(small_run: list[dict[str, object]]) -> None:
    """One JSON line per phase, in order, each carrying every PhaseResult field."""
    assert [r["phase"] for r in small_run] == ["fresh", "noop", "changed", "budget"]
    names = {f.name for f in dataclasses.fields(bench.PhaseResult)}
    for r in small_run:
        assert names <= set(r), names - set(r)
        assert r["exit_code"] == 0, r["failures"]
        assert r["counts_agree"] is True
        assert 0 < float(r["first_request_s"]) < float(r["wall_s"])  # type: ignore[arg-type]


def test_fresh_push_counts(small_run: list[dict[str, object]]) -> None:
    """The fresh push uploads every icon once and writes exactly what the work needs."""
    fresh = small_run[0]
    assert fresh["upload_parts"] == 12
    assert fresh["writes"] == fresh["expected_writes"] == 6 + 12 + 2 * 12
    assert fresh["rate_limited_429"] == 0


def test_noop_rerun_has_zero_writes(small_run: list[dict[str, object]]) -> None:
    """The re-run of an unchanged manifest writes nothing and uploads nothing."""
    noop = small_run[1]
    assert noop["writes"] == 0
    assert noop["upload_parts"] == 0
    assert noop["bytes_uploaded"] == 0


def test_changed_phase_writes_only_changed_items(small_run: list[dict[str, object]]) -> None:
    """After 25% icon and text edits, the writes are exactly those of the changed items."""
    changes = bench.choose_changes(BenchConfig(**{k: v for k, v in SMALL.items() if k != "poll_interval"}))
    changed = small_run[2]
    expected = len(changes.texts) + 3 * len(changes.icons)  # PATCH text; DELETE + reserve + commit per icon
    assert changed["writes"] == changed["expected_writes"] == expected
    assert changed["stray_writes"] == []
    assert changed["upload_parts"] == len(changes.icons)
    assert changed["targets"] == {"writes only for changed items": True}


def test_budget_phase_paces_to_the_compressed_window(small_run: list[dict[str, object]]) -> None:
    """Budget phase (20 per 2 s window): the fresh push's 50 requests span 3 windows with zero 429s, and the
    measured wall is never below the budget-bound time (the bound is a true lower bound)."""
    budget = small_run[3]
    assert budget["exit_code"] == 0, budget["failures"]
    assert budget["rate_limited_429"] == 0
    assert budget["writes"] == budget["expected_writes"] == small_run[0]["writes"]
    assert str(budget["bound_by"]).endswith("+budget")
    assert float(budget["lower_bound_s"]) >= 2 * 2.0  # 50 requests at 19 usable per window: 2 full windows
    assert float(budget["wall_s"]) >= float(budget["lower_bound_s"])
    assert set(budget["targets"]) == {"zero 429s", "wall <= 1.05 x budget-bound time",  # type: ignore[arg-type]
                                      "requests <= 1.02 x minimum"}


def test_request_time_spans_windows_when_the_budget_binds() -> None:
    """n requests with u usable per window: floor((n - 1) / u) windows, then the rest at the burst limit."""
    cfg = BenchConfig(api_latency=0.1, api_jitter=0.0, burst_limit=10, hourly_limit=100, rate_window=36.0,
                      rate_margin=0.02)
    assert cfg.usable_budget() == 98
    assert bench.request_time(98, cfg) == pytest.approx(98 * 0.01)
    assert bench.request_time(99, cfg) == pytest.approx(36.0 + 0.01)
    assert bench.request_time(250, cfg) == pytest.approx(2 * 36.0 + 54 * 0.01)


def test_minimum_requests_fresh_push() -> None:
    """Fresh 3 achievements x 2 locales: detail + 1 list page + 3 creates + 6 locs + 12 image writes + 3 polls."""
    work = Work(existing_achievements=0, achievements_created=3, localizations_written=6, images_uploaded=6,
                images_replaced=0, versions_polled=3)
    assert minimum_requests(work) == 1 + 1 + 3 + 6 + 12 + 3 == 26


def test_minimum_requests_noop_and_paging() -> None:
    """No-op over 450 existing achievements: detail + 3 list pages + 450 localization reads."""
    assert minimum_requests(Work(existing_achievements=450)) == 1 + 3 + 450
    assert minimum_requests(Work(existing_achievements=200)) == 1 + 1 + 200


def test_minimum_requests_changes() -> None:
    """10 existing; 4 texts changed, 2 icons replaced in 2 versions: reads + 4 + 2 x 3 + 2 polls."""
    work = Work(existing_achievements=10, localizations_written=4, images_uploaded=2, images_replaced=2,
                versions_polled=2)
    assert minimum_requests(work) == (1 + 1 + 10) + 4 + 6 + 2 == 24


def test_lower_bound_is_the_larger_of_throughput_and_chain() -> None:
    """Throughput (or its processing tail) dominates a big push; one image's chain dominates a tiny one."""
    cfg = BenchConfig(api_latency=0.1, api_jitter=0.0, upload_latency=0.05, upload_bandwidth=1e6,
                      processing_delay=1.0, burst_limit=10)
    big = Work(0, 100, 1000, 1000, 0, 100)
    # the requests before the last commit (all but the 100 polls), then processing and one poll
    assert lower_bound(big, cfg, 100_000) == pytest.approx((minimum_requests(big) - 100) * 0.1 / 10 + 1.0 + 0.1)
    assert bench.bound_by(big, cfg, 100_000) == "tail"
    texts_only = Work(100, 0, 1000, 0, 0, 0)
    assert lower_bound(texts_only, cfg, 100_000) == pytest.approx(minimum_requests(texts_only) * 0.1 / 10)
    tiny = Work(0, 1, 1, 1, 0, 1)
    # detail + list, then create achievement, create localization, reserve, part, commit, processing, poll
    assert lower_bound(tiny, cfg, 100_000) == pytest.approx(0.2 + 0.5 + 0.05 + 0.1 + 1.0)


def test_workload_cache_is_reused_and_changes_make_new_files(tmp_path: Path) -> None:
    """A second ensure_workload reuses the cache; a re-rendered icon in the copy leaves the cache's bytes alone."""
    cfg = BenchConfig(achievements=2, locales=2, cache=tmp_path / "cache", change_fraction=0.5)
    root, took = bench.ensure_workload(cfg, "1")
    assert took > 0 and len(list((root / "assets").glob("*.png"))) == 4
    assert bench.ensure_workload(cfg, "1") == (root, 0.0)
    copy = bench.copy_workload(root, tmp_path / "run")
    changes = bench.choose_changes(cfg)
    before = {p.name: p.read_bytes() for p in (root / "assets").glob("*.png")}
    bench.apply_changes(cfg, copy, changes, "1")
    assert {p.name: p.read_bytes() for p in (root / "assets").glob("*.png")} == before
    changed = {bench.icon_path(copy, i, loc).name for i, loc in changes.icons}
    for p in (copy / "assets").glob("*.png"):
        assert (p.read_bytes() != before[p.name]) == (p.name in changed)


def test_scale_phase_runs_its_own_workload(tmp_path: Path) -> None:
    """`--phases scale` pushes its own workload (achievements x scale_locales icons) on a fresh app, once each."""
    import contextlib
    import io

    argv = ["--json", "--cache", str(tmp_path / "cache"), "--phases", "scale", "--achievements", "3",
            "--scale-locales", "3", "--scale-image-size", "512"]
    for name, value in SMALL.items():
        if name not in ("achievements", "locales"):
            argv += ["--" + name.replace("_", "-"), str(value)]
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        bench.main(argv)
    (scale,) = [json.loads(line) for line in out.getvalue().splitlines() if line.strip()]
    assert scale["phase"] == "scale" and scale["images"] == 9 and scale["exit_code"] == 0, scale["failures"]
    assert scale["upload_parts"] == 9 and scale["writes"] == scale["expected_writes"] == 3 + 9 + 2 * 9
    assert scale["minimum_requests"] == 1 + 1 + 3 + 9 + 18 + 3
    assert set(scale["targets"]) == {"client peak RSS <= 150 MB", "client CPU <= 8 ms/image",
                                     "requests <= 1.02 x minimum"}
    assert scale["first_request_s"] >= 0 and float(scale["wall_s"]) >= float(scale["lower_bound_s"])


# ---------------------------------------------------------------------------------------------- mixed phases

# the first path segment's resource type -> kind, written out here (not taken from the kinds' declarations) so
# the count below is independent of what the minimum is computed from
TYPE_PREFIXES = (("gameCenterLeaderboardSet", "leaderboard_set"), ("gameCenterLeaderboard", "leaderboard"),
                 ("gameCenterAchievement", "achievement"), ("gameCenterActivit", "activity"),
                 ("gameCenterChallenge", "challenge"))
TINY_MIXED: dict[str, Any] = dict(SMALL, mixed_items=3, mixed_locales=2)
# each phase's JSON object, and each phase's simulator request records
MixedRun = tuple[dict[str, dict[str, Any]], dict[str, list[dict[str, Any]]]]


def kind_and_step(record: dict[str, Any]) -> tuple[str, str]:
    """(kind, step) of one API request from its method and path alone: create, localization, reserve, ..."""
    path = str(record["path"]).split("?")[0]
    segments = path.strip("/").split("/")  # v2, gameCenterAchievementImages, <id>, ...
    # a kind's list hangs off the Game Center detail (or group): its type is the last segment
    noun = segments[-1] if segments[1] in ("gameCenterDetails", "gameCenterGroups") else segments[1]
    kind = next((k for prefix, k in TYPE_PREFIXES if noun.startswith(prefix)), "other")
    if record["method"] == "GET":
        return kind, "read"
    if noun.endswith("Localizations"):
        return kind, "localization"
    if noun.endswith("Images"):
        return kind, {"POST": "reserve", "PATCH": "commit", "DELETE": "delete"}[str(record["method"])]
    if noun.endswith("Versions"):
        return kind, "version"
    if "relationships" in segments:
        return kind, "members"
    return kind, "create" if record["method"] == "POST" else "update"


@pytest.fixture(scope="module")
def mixed_run(tmp_path_factory: pytest.TempPathFactory) -> MixedRun:
    """The mixed and mixed-noop phases once for the module at a tiny size (3 achievements and leaderboards,
    1 set, 1 activity, 1 challenge, 2 locales), with each phase's simulator request log."""
    cfg = BenchConfig(**TINY_MIXED, cache=tmp_path_factory.mktemp("mixed-cache"))
    logs: dict[str, list[dict[str, Any]]] = {}
    results = bench.run_mixed(cfg, tmp_path_factory.mktemp("mixed-run") / "mixed", lambda _: None,
                              ["mixed", "mixed-noop"], logs=logs)
    return {phase: json.loads(r.to_json()) for phase, r in results}, logs


def test_mixed_work_counts_every_kind_from_its_declaration() -> None:
    """3 achievements and boards, 1 set, 1 activity, 1 challenge x 2 locales, fresh: per item a create,
    2 localizations, reserve + commit per image (an activity: its first locale's and its default image; a
    challenge: only its default image) and a poll per image owner; 6 list reads (detail + 5 kinds)."""
    from bulkgc.benchwork import mixed_work

    spec = BenchConfig(**TINY_MIXED).mixed_spec()
    work = mixed_work(spec, "mixed")
    assert work.writes_by_kind() == {"achievement": 3 * (1 + 2 + 2 * 2), "leaderboard": 3 * (1 + 2 + 2 * 2),
                                     "leaderboard_set": 1 + 2 + 2 * 2, "activity": 1 + 2 + 2 * 2,
                                     "challenge": 1 + 2 + 2 * 1}
    assert work.polls == 3 + 3 + 1 + 2 + 1
    assert work.minimum == 6 + (21 + 21 + 7 + 7 + 5) + 10
    noop = mixed_work(spec, "mixed-noop")
    # detail, 5 lists, a localization read per item, a set's members, the default image of the activity and
    # of the challenge
    assert (noop.minimum, noop.writes) == (1 + 5 + 9 + 1 + 2, 0)


def test_mixed_bound_follows_the_longest_chain() -> None:
    """A challenge waits for its board's create, then its own; with a 1 MB default image its chain (create
    x 2, reserve, 1 s part, commit, processing, poll) outlasts a set's (one more step, a small icon)."""
    from bulkgc.benchwork import mixed_work

    cfg = BenchConfig(api_latency=0.1, api_jitter=0.0, upload_latency=0.05, upload_bandwidth=1e6,
                      processing_delay=1.0, burst_limit=1000, mixed_items=3, mixed_locales=2)
    sizes = {"achievement": 100_000, "leaderboard": 100_000, "leaderboard_set": 100_000,
             "activity": 1_000_000, "challenge": 1_000_000}
    work = mixed_work(cfg.mixed_spec(), "mixed", sizes)
    terms = bench.mixed_bound_terms(work, cfg)
    # detail + lists, then board create, challenge create, reserve, commit, poll + 0.05 + 1.0 + 1.0
    assert terms["chain"] == pytest.approx(0.2 + 5 * 0.1 + 0.05 + 1.0 + 1.0)
    assert bench.lower_bound(work, cfg, 0) == pytest.approx(terms["chain"])


def test_mixed_phase_writes_exactly_the_minimum_per_kind(mixed_run: MixedRun) -> None:
    """Counted from the simulator's log alone, the mixed push's writes per kind and step (creates,
    localizations, reserves, commits) are exactly the minimum's, and its requests are at least the minimum."""
    from bulkgc.benchwork import mixed_work

    results, logs = mixed_run
    mixed = results["mixed"]
    assert mixed["exit_code"] == 0, mixed["failures"]
    api = [r for r in logs["mixed"] if r.get("kind") == "api" and r.get("status") != 429]
    steps = Counter(kind_and_step(r) for r in api if r["method"] != "GET")
    work = mixed_work(BenchConfig(**TINY_MIXED).mixed_spec(), "mixed")
    for row in work.kinds:
        assert steps.pop((row.kind, "create"), 0) == row.created, row.kind
        assert steps.pop((row.kind, "localization"), 0) == row.localizations_written, row.kind
        assert steps.pop((row.kind, "reserve"), 0) == row.images_uploaded, row.kind
        assert steps.pop((row.kind, "commit"), 0) == row.images_uploaded, row.kind
    assert steps == Counter(), "writes the minimum does not count"
    by_kind = Counter(kind for kind, step in (kind_and_step(r) for r in api) if step != "read")
    assert dict(by_kind) == mixed["expected_writes_by_kind"] == mixed["writes_by_kind"]
    assert mixed["minimum_requests"] == work.minimum
    assert mixed["requests"] == len(api) >= work.minimum
    assert mixed["upload_parts"] == 17  # 6 + 6 + 2 icons, 2 activity images, 1 challenge image


def test_mixed_noop_rerun_writes_nothing(mixed_run: MixedRun) -> None:
    """The same all-kinds manifest again: zero writes, and per kind at least the minimum's reads."""
    from bulkgc.benchwork import mixed_work

    results, logs = mixed_run
    noop = results["mixed-noop"]
    assert noop["exit_code"] == 0, noop["failures"]
    assert noop["writes"] == 0 and noop["upload_parts"] == 0 and noop["writes_by_kind"] == {}
    api = [r for r in logs["mixed-noop"] if r.get("kind") == "api"]
    reads = Counter(kind for kind, _ in map(kind_and_step, api))
    work = mixed_work(BenchConfig(**TINY_MIXED).mixed_spec(), "mixed-noop")
    for row in work.kinds:
        assert reads[row.kind] >= row.reads, row.kind
    assert reads["other"] == 1  # the app's Game Center detail
    assert int(noop["requests"]) >= int(noop["minimum_requests"]) == work.minimum


def test_mixed_phases_report_every_field(mixed_run: MixedRun) -> None:
    """Each mixed phase's JSON carries every PhaseResult field, a first request time and a true bound."""
    results, _ = mixed_run
    names = {f.name for f in dataclasses.fields(bench.PhaseResult)}
    for phase, r in results.items():
        assert names <= set(r), names - set(r)
        assert r["phase"] == phase and r["images"] == 17
        assert 0 < float(r["first_request_s"]) < float(r["wall_s"])
        assert float(r["wall_s"]) >= float(r["lower_bound_s"]) > 0
        assert r["counts_agree"] is True
    assert set(results["mixed"]["targets"]) == {
        "requests <= 1.02 x minimum", "writes per kind = minimum's", "zero 429s", "wall <= 1.10 x bound"}
