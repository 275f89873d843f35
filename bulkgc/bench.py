"""The benchmark: push a generated workload to a simulator in a separate process and compare with what the work allows.

Three chained phases run against one fresh simulated app: `fresh` (everything is new), `noop` (the same
manifest again: nothing to do) and `changed` (5% of the icons re-rendered and 5% of the texts edited). The
`budget` phase repeats the fresh push on a new app against Apple's hourly budget with the hour compressed
(default 1,296 requests per 36 s window: 36 requests a second). Each phase's client runs in a fresh child
process, so its CPU seconds and peak RSS are the client's alone; requests are counted from the simulator's own
request log (the authority) and cross-checked with the client's stats.

Minimum requests (what the API cannot do without), from the work of the phase:

    minimum = 1 (app's Game Center detail) + max(1, ceil(existing achievements / 200)) list pages
            + existing achievements            (one localization read each, images embedded)
            + achievements created             (one POST each; v2 creates the first version inline)
            + localizations created or changed (one POST or PATCH each)
            + 2 x images uploaded              (reserve + commit; parts go to upload URLs, not the API)
            + images replaced                  (one DELETE of the old image each)
            + versions polled                  (one batched poll per version that got at least one image)

Lower bound on wall time, mean latencies (`latency + jitter/2`), usable = window limit - the client's margin:

    T(n)       = n x api_latency / burst_limit                                   if n <= usable
               = floor((n - 1) / usable) x window + ((n - 1) mod usable + 1) x api_latency / burst_limit
    throughput = T(minimum)
    critical   = discovery chain (detail + list pages [+ one localization read if achievements exist])
               + one image's chain: [create achievement] [create localization] [delete old image] + reserve
                 + upload_latency + part/bandwidth + commit + processing + one poll   (if any image moves)
               + one write (if only texts move)
    tail       = T(minimum - polls) + processing + one poll   (when every write leads to an image commit)
    bound      = max(throughput, critical, tail)

Mixed phases (`mixed`, then `mixed-noop`: the same manifest again) on a simulator of their own: every kind at
once. --mixed-items achievements and leaderboards, a third as many activities and challenges (each challenge
tied to a leaderboard), a quarter as many leaderboard sets (4 ordered members each), --mixed-locales locales
each; 512 px icons (achievements, leaderboards, sets); 3840x2160 images: a default image per activity and
challenge, and an activity's first locale's image; an activity's version carries its fallback URL.
Their minimum, summed over the kinds, each kind's terms from its declaration (bulkgc/kinds):

    minimum = 1 (app's Game Center detail) + per kind: max(1, ceil(existing / 200)) list pages
            + per existing item: 1 localization read [+ 1 member-list read: sets] [+ 1 default image read]
            + items created                    (one POST each; first version and references inline)
            + items wanting an update-only attribute (one PATCH each, e.g. archived = true; none here)
            + localizations created            (one POST each)
            + 2 x images uploaded              (reserve + commit; localized and default images)
            + versions polled                  (one batched read of the localizations, images embedded)
            + default images polled            (one read of the version's default image each)

Their bound is max(throughput, critical, tail) as above, with the chain and tail of many kinds:

    critical = detail + lists (all kinds at once) [+ one localization read, if items exist]
             + max over kinds of: [create of a referenced item made in the same push: a set's leaderboards,
               a challenge's board] + create + [localization create, for a localized image] + reserve
               + upload_latency + part/bandwidth + commit + processing + one poll
    tail     = T(minimum - polls - localizations created without an image) + processing + one poll

Targets (report only): fresh: first API request <= 0.5 s, wall <= 1.10 x bound, requests <= 1.02 x minimum,
no 429, client peak RSS <= 150 MB, client CPU <= 8 ms per image; scale: RSS <= 150 MB, CPU <= 8 ms per image,
requests <= 1.02 x minimum; noop: no write, <= 0.25 requests per image; changed: writes only
for the changed items (exactly the minimum's writes); budget: no 429, wall <= 1.05 x bound, requests <= 1.02 x
minimum; mixed: requests <= 1.02 x minimum, writes per kind exactly the minimum's, zero 429s, wall <= 1.10 x
bound; mixed-noop: zero writes, requests <= 1.02 x minimum. See docs/BENCHMARK.md.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import hashlib
import json
import math
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from bulkgc.benchwork import MixedSpec, MixedWork, chain_seconds, render_icon

# Bump when the generated images or texts change, so stale caches are not reused.
WORKLOAD_FORMAT = 1
CHAIN = ("fresh", "noop", "changed")  # one simulated app: each phase starts from the state the last one left
ALONE = ("budget", "scale")  # each on a fresh simulator of its own
MIXED = ("mixed", "mixed-noop")  # every kind, chained on a simulator of their own
PHASES = CHAIN + ALONE + MIXED
WRITE_METHODS = frozenset({"POST", "PATCH", "DELETE"})
LOCALE_POOL = ("en-US", "fr-FR", "de-DE", "ja", "es-ES", "it", "pt-BR", "ko", "zh-Hans", "nl-NL", "sv", "ru",
               "pl", "tr", "zh-Hant", "da", "fi", "no", "cs", "hu", "ro", "uk", "el", "he", "th", "vi", "id",
               "ms", "hi", "ar-SA", "ca", "hr", "sk", "en-GB", "en-AU", "en-CA", "es-MX", "fr-CA", "pt-PT")
LIST_PAGE = 200  # achievements per list page (limit=200 is the API's maximum)
MAX_ACHIEVEMENTS = 100  # per app (Apple; the manifest enforces it)
MIXED_MIN_ITEMS = 1


# ---------------------------------------------------------------------------------------------- settings


@dataclass(frozen=True, kw_only=True)
class BenchConfig:
    """One benchmark run: workload, latency model of the simulator, client settings, output."""

    achievements: int = 100
    """Achievements in the workload (Apple allows at most 100 per app)."""
    locales: int = 10
    """Locales per achievement; one icon each (default 100 x 10 = 1,000 images)."""
    image_size: int = 512
    """Icon edge in pixels: 512 or 1024."""
    change_fraction: float = 0.05
    """Share of icons re-rendered and of texts edited before the `changed` phase."""
    seed: int = 7
    """Seed of the workload and of the simulator's jitter."""
    api_latency: float = 0.080
    """Seconds the simulator adds to every API request."""
    api_jitter: float = 0.020
    """Uniform extra 0..jitter seconds per API request."""
    upload_latency: float = 0.040
    """Seconds the simulator adds to every upload part."""
    upload_bandwidth: float = 20e6
    """Bytes per second of one part upload."""
    processing_delay: float = 1.5
    """Seconds from commit until an image is processed."""
    processing_jitter: float = 0.3
    """Uniform +/- jitter on the processing time."""
    burst_limit: int = 10
    """Concurrent API requests the simulator admits before answering 429."""
    hourly_limit: int = 50_000
    """Requests per rolling hour (generous by default; Apple's documented default is 3,600)."""
    rate_window: float = 3600.0
    """Length of the rolling rate window in seconds."""
    budget_limit: int = 1296
    """Budget phase: requests per compressed window (36 s x 36 req/s: Apple's 3,600 an hour, 100x faster)."""
    budget_window: float = 36.0
    """Budget phase: length of the compressed rolling window in seconds."""
    scale_locales: int = 39
    """Scale phase: locales per achievement (100 x 39 = 3,900 distinct icons by default)."""
    scale_image_size: int = 1024
    """Scale phase: icon edge in pixels (512 or 1024)."""
    mixed_items: int = 30
    """Mixed phases: achievements and leaderboards each (activities, challenges: a third; sets: a quarter)."""
    mixed_locales: int = 5
    """Mixed phases: locales per item."""
    rate_margin: float = 0.02
    """Client: share of each window's budget left for other tools (push's default; the bound excludes it)."""
    part_size: int = 5 * 1024 * 1024
    """Bytes per upload operation the simulator hands out."""
    images_in_flight: int | None = None
    """Client: images being reserved/uploaded/committed at once (default: as push)."""
    api_concurrency: int | None = None
    """Client: API requests in flight at once (default: as push)."""
    upload_concurrency: int | None = None
    """Client: upload parts in flight at once (default: as push)."""
    poll_interval: float | None = None
    """Client: seconds between polls of a version (default: as push)."""
    phases: tuple[str, ...] = PHASES
    """Phases to run (fresh, noop, changed share one app and run from the first; budget, scale get their own;
    mixed-noop runs after mixed on a third)."""
    cache: Path | None = None
    """Workload cache directory (default ~/.cache/bulkgc-bench/<params-hash>)."""
    keep: bool = False
    """Keep the run directory (manifest copy, journal, simulator state and logs) and print where it is."""
    profile: Path | None = None
    """Write a cProfile of each phase's client (its event-loop thread) to DIR/<phase>.prof."""

    def __post_init__(self) -> None:
        problems = []
        if not 1 <= self.achievements <= MAX_ACHIEVEMENTS:
            problems.append(f"achievements must be 1..{MAX_ACHIEVEMENTS} (App Store Connect's limit per app)")
        if not 1 <= self.locales <= len(LOCALE_POOL):
            problems.append(f"locales must be 1..{len(LOCALE_POOL)}")
        if self.image_size not in (512, 1024) or self.scale_image_size not in (512, 1024):
            problems.append("image sizes must be 512 or 1024")
        if not 1 <= self.scale_locales <= len(LOCALE_POOL):
            problems.append(f"scale locales must be 1..{len(LOCALE_POOL)}")
        if not MIXED_MIN_ITEMS <= self.mixed_items <= MAX_ACHIEVEMENTS:
            problems.append(f"mixed items must be {MIXED_MIN_ITEMS}..{MAX_ACHIEVEMENTS} (per kind and app)")
        if not 1 <= self.mixed_locales <= len(LOCALE_POOL):
            problems.append(f"mixed locales must be 1..{len(LOCALE_POOL)}")
        if not 0.0 <= self.change_fraction <= 1.0:
            problems.append("change fraction must be within 0..1")
        unknown = [p for p in self.phases if p not in PHASES]
        if unknown or not self.phases:
            problems.append(f"phases must be some of {', '.join(PHASES)}")
        if self.burst_limit < 1 or self.hourly_limit < 1 or self.budget_limit < 1:
            problems.append("burst, hourly and budget limits must be at least 1")
        if self.rate_window <= 0 or self.budget_window <= 0:
            problems.append("rate and budget windows must be positive")
        if not 0.0 <= self.rate_margin < 1.0:
            problems.append("rate margin must be within 0..1")
        if problems:
            raise ValueError("; ".join(problems))

    @property
    def images(self) -> int:
        return self.achievements * self.locales

    def workload_key(self) -> str:
        """Hash of what the generated files depend on (names the cache directory)."""
        text = json.dumps({"format": WORKLOAD_FORMAT, "achievements": self.achievements, "locales": self.locales,
                           "size": self.image_size, "seed": self.seed}, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def cache_dir(self) -> Path:
        base = self.cache if self.cache is not None else Path.home() / ".cache" / "bulkgc-bench"
        return base / self.workload_key()

    def mean_api_latency(self) -> float:
        return self.api_latency + self.api_jitter / 2

    def usable_budget(self) -> int:
        """Requests per window the client may spend: the limit less the margin it leaves other tools."""
        return max(1, self.hourly_limit - math.ceil(self.rate_margin * self.hourly_limit))

    def for_scale_phase(self) -> BenchConfig:
        """The scale phase's workload: as many achievements, `scale_locales` each, `scale_image_size` icons."""
        return replace(self, locales=self.scale_locales, image_size=self.scale_image_size)

    def mixed_spec(self) -> MixedSpec:
        """The mixed phases' workload."""
        return MixedSpec(items=self.mixed_items, locales=LOCALE_POOL[: self.mixed_locales], seed=self.seed)

    def for_budget_phase(self) -> BenchConfig:
        """The same run with Apple's hour compressed: the budget phase's simulator and client."""
        return replace(self, hourly_limit=self.budget_limit, rate_window=self.budget_window)


# ---------------------------------------------------------------------------------------------- the work


@dataclass(frozen=True)
class Work:
    """What one phase has to do, as App Store Connect sees it."""

    existing_achievements: int = 0
    achievements_created: int = 0
    localizations_written: int = 0  # created or changed
    images_uploaded: int = 0  # new and replacements
    images_replaced: int = 0  # ... of which replace an older image (one DELETE each)
    versions_polled: int = 0  # versions with at least one image uploaded

    @property
    def writes(self) -> int:
        return self.achievements_created + self.localizations_written + 2 * self.images_uploaded + self.images_replaced

    @property
    def reads(self) -> int:
        return 1 + max(1, math.ceil(self.existing_achievements / LIST_PAGE)) + self.existing_achievements

    @property
    def polls(self) -> int:
        return self.versions_polled


def minimum_requests(work: Work) -> int:
    """API requests the work cannot be done with fewer of (see the module docstring)."""
    return work.reads + work.writes + work.polls


def request_time(n: int, cfg: BenchConfig) -> float:
    """Seconds `n` API requests take at best: at the burst limit, and `usable` per rolling window.

    Request k (from 0) cannot start before request k - usable left the window, i.e. `window` after it started;
    so with the first window spent at full speed, n requests end after floor((n - 1) / usable) windows plus
    the rest of them at full speed.
    """
    if n <= 0:
        return 0.0
    per_request = cfg.mean_api_latency() / cfg.burst_limit
    usable = cfg.usable_budget()
    if n <= usable:
        return n * per_request
    return (n - 1) // usable * cfg.rate_window + ((n - 1) % usable + 1) * per_request


def bound_terms(work: Work, cfg: BenchConfig, image_bytes: int) -> dict[str, float]:
    """The lower bound's terms in seconds: request throughput (burst limit and budget), one item's chain and,
    when every write leads to an image, the requests before the last commit plus its processing tail."""
    t_api = cfg.mean_api_latency()
    minimum = minimum_requests(work)
    discovery = t_api * (1 + max(1, math.ceil(work.existing_achievements / LIST_PAGE))
                         + (1 if work.existing_achievements else 0))
    chain = 0.0
    if work.images_uploaded:
        steps = 2 + 1  # reserve, commit, one poll
        steps += 1 if work.achievements_created else 0
        steps += 1 if work.localizations_written and work.achievements_created else 0
        steps += 1 if work.images_replaced else 0
        part = min(image_bytes, cfg.part_size)
        chain = steps * t_api + cfg.upload_latency + part / cfg.upload_bandwidth + cfg.processing_delay
    elif work.writes:
        chain = t_api
    tail = 0.0
    every_write_carries_an_image = work.localizations_written == work.images_uploaded and not work.images_replaced
    if work.images_uploaded and every_write_carries_an_image:
        # Every request but the polls precedes some commit (its own item's), so all of them are done before
        # the last commit is; then that image is processed and one poll sees it.
        tail = request_time(minimum - work.polls, cfg) + cfg.processing_delay + t_api
    return {"throughput": request_time(minimum, cfg), "chain": discovery + chain, "tail": tail}


def mixed_bound_terms(work: MixedWork, cfg: BenchConfig) -> dict[str, float]:
    """The mixed phases' bound terms: throughput as for achievements; the chain of the kind whose items wait
    longest (a set or challenge waits for its leaderboard's create); the tail before the last commit."""
    t_api = cfg.mean_api_latency()
    existing = any(k.existing for k in work.kinds)
    # detail, then every kind's list at once, then (items exist) their localizations (a set's member list
    # and a version's default image can be read alongside)
    discovery = t_api * (2 + (1 if existing else 0))
    chain = chain_seconds(work, api=t_api, upload_latency=cfg.upload_latency, bandwidth=cfg.upload_bandwidth,
                          part_size=cfg.part_size, processing=cfg.processing_delay)
    if not chain and work.writes:
        chain = t_api
    tail = 0.0
    if work.images_uploaded:
        # every request but the polls and the localizations without an image precedes some commit
        before_last_commit = work.minimum - work.polls - work.bare_localizations
        tail = request_time(before_last_commit, cfg) + cfg.processing_delay + t_api
    return {"throughput": request_time(work.minimum, cfg), "chain": discovery + chain, "tail": tail}


def phase_bound_terms(work: Work | MixedWork, cfg: BenchConfig, image_bytes: int) -> dict[str, float]:
    """The bound's terms of either kind of work (achievements only, or mixed)."""
    if isinstance(work, MixedWork):
        return mixed_bound_terms(work, cfg)
    return bound_terms(work, cfg, image_bytes)


def phase_minimum(work: Work | MixedWork) -> int:
    return work.minimum if isinstance(work, MixedWork) else minimum_requests(work)


def lower_bound(work: Work | MixedWork, cfg: BenchConfig, image_bytes: int) -> float:
    """Seconds the phase cannot take less than: the largest of its bound terms."""
    return max(phase_bound_terms(work, cfg, image_bytes).values())


def bound_by(work: Work | MixedWork, cfg: BenchConfig, image_bytes: int) -> str:
    """Which term sets the bound; "+budget" when the work does not fit in one window of the usable budget."""
    terms = phase_bound_terms(work, cfg, image_bytes)
    name = max(terms, key=lambda k: terms[k])
    return name + ("+budget" if phase_minimum(work) > cfg.usable_budget() else "")


# ---------------------------------------------------------------------------------------------- workload


def vendor_id(index: int) -> str:
    return f"com.bench.ach.a{index:03d}"


@dataclass(frozen=True)
class Texts:
    name: str
    before: str
    after: str


def texts_for(index: int, locale: str, edition: int = 0) -> Texts:
    suffix = f" (edit {edition})" if edition else ""
    return Texts(name=f"Feat {index} {locale}{suffix}",
                 before=f"Complete challenge number {index} in {locale}.{suffix}",
                 after=f"You completed challenge number {index} in {locale}.{suffix}")


def _write_icon(path: str, seed: int, size: int) -> int:
    data = render_icon(seed, size)
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "wb") as fh:
        fh.write(data)
    os.replace(tmp, path)  # a new inode: a hard-linked cache copy keeps the old bytes
    return len(data)


def icon_seed(cfg: BenchConfig, index: int, locale_index: int, edition: int = 0) -> int:
    return (cfg.seed * 1_000_003 + index * 1000 + locale_index) * 10 + edition


def render_icons(jobs: Sequence[tuple[Path, int]], size: int) -> int:
    """Render (path, seed) icons in a process pool; returns the total bytes written."""
    if not jobs:
        return 0
    workers = min(len(jobs), os.cpu_count() or 2)
    if workers <= 1 or len(jobs) < 8:
        return sum(_write_icon(str(p), s, size) for p, s in jobs)
    with concurrent.futures.ProcessPoolExecutor(workers) as pool:
        return sum(pool.map(_write_icon, [str(p) for p, _ in jobs], [s for _, s in jobs], [size] * len(jobs),
                            chunksize=16))


def _toml_string(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)  # a JSON string is a valid TOML basic string


def write_manifest(path: Path, cfg: BenchConfig, editions: dict[tuple[int, str], int], app_id: str) -> None:
    """The workload's manifest; `editions` bumps the texts of some (achievement, locale) pairs."""
    points = max(0, min(100, 1000 // cfg.achievements))
    lines = [f"app_id = {_toml_string(app_id)}", 'assets = "assets"', "",
             "[defaults]", "show_before_earned = true", "repeatable = false", ""]
    for i in range(cfg.achievements):
        lines += ["[[achievement]]", f"vendor_identifier = {_toml_string(vendor_id(i))}",
                  f'reference_name = "Bench {i}"', f"points = {points}", ""]
        for locale in LOCALE_POOL[: cfg.locales]:
            t = texts_for(i, locale, editions.get((i, locale), 0))
            lines += [f"[achievement.locales.{_toml_string(locale)}]", f"name = {_toml_string(t.name)}",
                      f"before_earned_description = {_toml_string(t.before)}",
                      f"after_earned_description = {_toml_string(t.after)}", ""]
    tmp = path.with_suffix(".tmp")
    tmp.write_text("\n".join(lines), encoding="utf-8")
    os.replace(tmp, path)


def icon_path(root: Path, index: int, locale: str) -> Path:
    return root / "assets" / f"{vendor_id(index)}.{locale}.png"


def ensure_workload(cfg: BenchConfig, app_id: str) -> tuple[Path, float]:
    """The cached workload (generated once per parameter set); returns (directory, seconds spent generating)."""
    root = cfg.cache_dir()
    marker = root / "workload.json"
    if marker.exists():
        return root, 0.0
    started = time.perf_counter()
    (root / "assets").mkdir(parents=True, exist_ok=True)
    jobs = [(icon_path(root, i, loc), icon_seed(cfg, i, li))
            for i in range(cfg.achievements) for li, loc in enumerate(LOCALE_POOL[: cfg.locales])]
    total = render_icons([j for j in jobs if not j[0].exists()], cfg.image_size)
    write_manifest(root / "manifest.toml", cfg, {}, app_id)
    marker.write_text(json.dumps({"format": WORKLOAD_FORMAT, "images": len(jobs), "bytes_rendered": total}))
    return root, time.perf_counter() - started


def copy_workload(cache: Path, dest: Path) -> Path:
    """A working copy of the workload (hard links where possible; changed icons get new files)."""
    def link_or_copy(src: str, dst: str) -> None:
        try:
            os.link(src, dst)
        except OSError:
            shutil.copy2(src, dst)

    shutil.copytree(cache, dest, copy_function=link_or_copy)
    return dest


@dataclass
class Changes:
    """What the `changed` phase edits: (achievement index, locale) pairs."""

    icons: set[tuple[int, str]] = field(default_factory=set)
    texts: set[tuple[int, str]] = field(default_factory=set)


def choose_changes(cfg: BenchConfig) -> Changes:
    """Seeded choice of round(fraction x items) icons and, independently, as many texts."""
    pairs = [(i, loc) for i in range(cfg.achievements) for loc in LOCALE_POOL[: cfg.locales]]
    n = round(cfg.change_fraction * len(pairs))
    rng = random.Random(cfg.seed + 1)
    return Changes(icons=set(rng.sample(pairs, n)), texts=set(rng.sample(pairs, n)))


def apply_changes(cfg: BenchConfig, workdir: Path, changes: Changes, app_id: str) -> None:
    """Re-render the chosen icons and edit the chosen texts in the working copy."""
    locales = LOCALE_POOL[: cfg.locales]
    render_icons([(icon_path(workdir, i, loc), icon_seed(cfg, i, locales.index(loc), edition=1))
                  for i, loc in sorted(changes.icons)], cfg.image_size)
    write_manifest(workdir / "manifest.toml", cfg, {pair: 1 for pair in changes.texts}, app_id)


def work_of(cfg: BenchConfig, phase: str, changes: Changes) -> Work:
    """The work each phase needs, from the workload (not from what the client did)."""
    if phase == "fresh":
        return Work(0, cfg.achievements, cfg.images, cfg.images, 0, cfg.achievements)
    if phase == "noop":
        return Work(existing_achievements=cfg.achievements)
    return Work(existing_achievements=cfg.achievements, localizations_written=len(changes.texts),
                images_uploaded=len(changes.icons), images_replaced=len(changes.icons),
                versions_polled=len({i for i, _ in changes.icons}))


# ---------------------------------------------------------------------------------------------- simulator


def _sim_config_fields(cfg: BenchConfig) -> dict[str, Any]:
    # No state file: the simulator would rewrite its whole state after every write, which is its cost, not
    # the client's, and would distort the latency model.
    return {
        "api_latency": cfg.api_latency, "api_jitter": cfg.api_jitter, "upload_latency": cfg.upload_latency,
        "upload_bandwidth": cfg.upload_bandwidth, "processing_delay": cfg.processing_delay,
        "processing_jitter": cfg.processing_jitter, "burst_limit": cfg.burst_limit, "rate_limit": cfg.hourly_limit,
        "rate_window": cfg.rate_window, "part_size": cfg.part_size, "seed": cfg.seed,
        "max_recorded_requests": 1_000_000,
    }


class SimProcess:
    """The simulator in its own process (`python -m bulkgc sim --ready-file`), plus its control routes."""

    def __init__(self, cfg: BenchConfig, workdir: Path) -> None:
        self.cfg = cfg
        self.workdir = workdir
        self.proc: subprocess.Popen[bytes] | None = None
        self.info: dict[str, Any] = {}
        self.log_path = workdir / "sim.log"

    def command(self, ready: Path) -> list[str]:
        fields_ = _sim_config_fields(self.cfg)
        args = [sys.executable, "-m", "bulkgc", "sim", "--ready-file", str(ready), "--key-dir", str(self.workdir)]
        for name, value in fields_.items():
            args += [f"--{name.replace('_', '-')}", str(value)]
        return args

    def start(self, timeout: float = 60.0) -> dict[str, Any]:
        ready = self.workdir / "sim-ready.json"
        ready.unlink(missing_ok=True)
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(self.command(ready), stdout=log, stderr=subprocess.STDOUT,
                                         cwd=self.workdir)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the simulator exited with {self.proc.returncode}; see {self.log_path}:\n"
                                   + self.log_path.read_text(errors="replace")[-2000:])
            if ready.exists():
                try:
                    self.info = _normalise_ready(json.loads(ready.read_text()), ready.parent)
                    return self.info
                except (json.JSONDecodeError, KeyError):
                    pass  # written but not complete yet
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"the simulator did not become ready within {timeout:.0f}s; see {self.log_path}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def control(self, route: str) -> Any:
        with urllib.request.urlopen(self.info["base_url"] + route, timeout=60) as resp:
            return json.loads(resp.read())

    def __enter__(self) -> SimProcess:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _normalise_ready(raw: dict[str, Any], base: Path) -> dict[str, Any]:
    """Accept the ready file's spellings (flat or nested key info)."""
    key = raw.get("key") if isinstance(raw.get("key"), dict) else raw
    path = key.get("private_key_path") or key.get("key_path") or raw.get("key_path") or raw.get("private_key_path")
    return {"base_url": raw["base_url"], "app_id": raw["app_id"], "key_id": key["key_id"],
            "issuer_id": key["issuer_id"], "private_key_path": str((base / path) if path else "")}


# ---------------------------------------------------------------------------------------------- client child


def client_main() -> None:
    """Child-process entry: run one push from a JSON spec on stdin, print measurements as JSON on stdout."""
    import resource

    spec = json.loads(sys.stdin.read())
    profile_path = spec.pop("_profile", None)
    import anyio

    from bulkgc.config import RunSettings
    from bulkgc.pipeline import push

    settings = RunSettings(**{k: Path(v) if k in ("manifest", "private_key_path", "journal") else v
                              for k, v in spec.items()})
    before = resource.getrusage(resource.RUSAGE_SELF)
    started = time.perf_counter()
    started_at = time.time()
    if profile_path:
        import cProfile

        with cProfile.Profile() as prof:
            report = anyio.run(push, settings)
        prof.dump_stats(profile_path)
    else:
        report = anyio.run(push, settings)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_SELF)
    items = Counter(f"{r.kind}:{r.action}:{r.outcome}" for r in report.items)
    failures = [f"{r.kind} {r.vendor_identifier} {r.locale}: {r.outcome} {r.error_codes} {r.message}"
                for r in report.items if r.outcome in ("failed", "skipped", "interrupted")][:10]
    json.dump({
        "wall": wall,
        "started_at": started_at,
        "cpu": (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime),
        "cpu_user": after.ru_utime - before.ru_utime,
        "cpu_system": after.ru_stime - before.ru_stime,
        "cpu_process": after.ru_utime + after.ru_stime,
        "maxrss_kb": after.ru_maxrss,  # kilobytes on Linux
        "exit_code": report.exit_code,
        "totals": report.totals,
        "items": dict(items),
        "failures": failures,
    }, sys.stdout, default=str)


def run_client(spec: dict[str, Any], timeout: float) -> dict[str, Any]:
    proc = subprocess.run([sys.executable, "-c", "from bulkgc.bench import client_main; client_main()"],
                          input=json.dumps(spec), capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"the client failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
    return json.loads(proc.stdout)


def client_spec(cfg: BenchConfig, sim: dict[str, Any], workdir: Path) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "manifest": str(workdir / "manifest.toml"), "base_url": sim["base_url"], "key_id": sim["key_id"],
        "issuer_id": sim["issuer_id"], "private_key_path": sim["private_key_path"],
        "journal": str(workdir / "journal.sqlite"), "quiet": True,
        # the client must know the window the simulator counts in (a compressed hour in the budget phase)
        "rate_window": cfg.rate_window, "rate_margin": cfg.rate_margin,
    }
    for name in ("images_in_flight", "api_concurrency", "upload_concurrency", "poll_interval"):
        if getattr(cfg, name) is not None:
            spec[name] = getattr(cfg, name)
    return spec


# ---------------------------------------------------------------------------------------------- measuring


def classify(records: Iterable[dict[str, Any]]) -> dict[str, int]:
    """Counts of the simulator's request records of one phase."""
    c: Counter[str] = Counter()
    for r in records:
        if r.get("kind") == "upload":
            c["upload_parts"] += 1
            continue
        if r.get("kind") != "api":
            continue
        c["api"] += 1
        if r.get("status") == 429:
            c["429"] += 1
        c["writes" if r.get("method") in WRITE_METHODS else "gets"] += 1
    return dict(c)


def _kind_of_type() -> dict[str, str]:
    """Resource type in a path (`gameCenterLeaderboardSetImages`) -> its kind, from the kinds' API rows."""
    from bulkgc.kinds import KINDS

    out: dict[str, str] = {}
    for kind in KINDS:
        for row in kind.apis:
            version = row.version.type if row.version else None
            for type_ in (row.parent_type, row.loc_type, row.image_type, version):
                if type_:
                    out[type_] = kind.name
    return out


_PATH_TYPE = re.compile(r"^/v\d+/(\w+)")


def writes_by_kind(records: Iterable[dict[str, Any]]) -> dict[str, int]:
    """Writes (POST, PATCH, DELETE) answered without a 429, by the Game Center kind their path names."""
    types = _kind_of_type()
    c: Counter[str] = Counter()
    for r in records:
        if r.get("kind") != "api" or r.get("method") not in WRITE_METHODS or r.get("status") == 429:
            continue
        m = _PATH_TYPE.match(r.get("path", ""))
        c[types.get(m.group(1), "other") if m else "other"] += 1
    return dict(sorted(c.items()))


def item_index(before: dict[str, Any], after: dict[str, Any]) -> dict[str, tuple[str, str | None]]:
    """Simulator id -> (vendor identifier, locale or None) over two state snapshots."""
    out: dict[str, tuple[str, str | None]] = {}
    for snap in (before, after):
        achievements = snap.get("achievements", {})
        versions = snap.get("versions", {})
        locs = snap.get("localizations", {})

        def vendor_of(ach_id: str) -> str:
            return str((achievements.get(ach_id) or {}).get("attributes", {}).get("vendorIdentifier", ach_id))

        for aid in achievements:
            out[aid] = (vendor_of(aid), None)
        for vid, v in versions.items():
            out[vid] = (vendor_of(v["achievement_id"]), None)
        for lid, loc in locs.items():
            out[lid] = (vendor_of(versions.get(loc["version_id"], {}).get("achievement_id", "")), loc["locale"])
        for iid, img in snap.get("images", {}).items():
            loc = locs.get(img["localization_id"]) or {}
            out[iid] = out.get(img["localization_id"], (vendor_of(""), loc.get("locale")))
    return out


_ID = re.compile(r"[0-9a-fA-F-]{8,}|\d{6,}")


def writes_outside(records: Iterable[dict[str, Any]], index: dict[str, tuple[str, str | None]],
                   changed: set[tuple[str, str]]) -> list[str]:
    """Writes that touch no changed (vendor, locale) item: each as 'METHOD path'."""
    stray = []
    for r in records:
        if r.get("kind") != "api" or r.get("method") not in WRITE_METHODS:
            continue
        ids = _ID.findall(r.get("path", "") + " " + json.dumps(r.get("request_body") or {}))
        targets = {index[i] for i in ids if i in index and index[i][1] is not None}
        if not targets & changed:
            stray.append(f"{r['method']} {r['path']}")
    return stray


def timeline(records: Sequence[dict[str, Any]], started_at: float) -> dict[str, float]:
    """Where the wall time went: until the first API request, until the last write (simulator clock)."""
    api = [r for r in records if r.get("kind") == "api"]
    writes = [r for r in api if r.get("method") in WRITE_METHODS]
    first = min((r["started"] for r in api), default=started_at)
    last = max((r["ended"] for r in writes), default=first)
    return {"first_request_s": round(first - started_at, 3), "last_write_s": round(last - started_at, 3)}


@dataclass
class PhaseResult:
    """One phase's numbers (one JSON line)."""

    phase: str
    images: int
    wall_s: float
    lower_bound_s: float
    wall_ratio: float
    bound_by: str  # the bound's largest term: throughput, chain or tail; "+budget" when one window cannot hold it
    minimum_requests: int
    requests: int
    requests_ratio: float
    requests_per_image: float
    writes: int
    reads: int
    polls: int
    expected_writes: int
    rate_limited_429: int
    retries: int
    bytes_uploaded: int
    upload_parts: int
    client_cpu_s: float
    client_cpu_system_s: float  # of which in the kernel (sockets, fsync, thread switches)
    journal_writes: int  # resume-journal writes (each durable before the push goes on)
    journal_transactions: int  # fsynced transactions they took (group commit)
    client_cpu_ms_per_image: float
    client_peak_rss_mb: float
    client_requests: int
    counts_agree: bool
    stray_writes: list[str]
    first_request_s: float  # client start -> first API request (manifest, icon scan, token)
    last_write_s: float  # client start -> last write answered (then only polls remain)
    exit_code: int
    targets: dict[str, bool]
    work: dict[str, int]
    failures: list[str]
    writes_by_kind: dict[str, int] = field(default_factory=dict)  # measured (simulator log), 429s left out
    expected_writes_by_kind: dict[str, int] = field(default_factory=dict)  # the minimum's writes per kind

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=False)


def targets_for(phase: str, r: PhaseResult) -> dict[str, bool]:
    if phase == "fresh":
        return {
            "first API request <= 0.5 s": r.first_request_s <= 0.5,
            "wall <= 1.10 x bound": r.wall_ratio <= 1.10,
            "requests <= 1.02 x minimum": r.requests_ratio <= 1.02,
            "zero 429s": r.rate_limited_429 == 0,
            "client peak RSS <= 150 MB": r.client_peak_rss_mb <= 150,
            "client CPU <= 8 ms/image": r.client_cpu_ms_per_image <= 8,
        }
    if phase == "noop":
        return {"zero writes": r.writes == 0, "<= 0.25 requests/image": r.requests_per_image <= 0.25}
    if phase == "scale":
        return {
            "client peak RSS <= 150 MB": r.client_peak_rss_mb <= 150,
            "client CPU <= 8 ms/image": r.client_cpu_ms_per_image <= 8,
            "requests <= 1.02 x minimum": r.requests_ratio <= 1.02,
        }
    if phase == "budget":
        return {
            "zero 429s": r.rate_limited_429 == 0,
            "wall <= 1.05 x budget-bound time": r.wall_ratio <= 1.05,
            "requests <= 1.02 x minimum": r.requests_ratio <= 1.02,
        }
    if phase == "mixed":
        return {
            "requests <= 1.02 x minimum": r.requests_ratio <= 1.02,
            "writes per kind = minimum's": r.writes_by_kind == r.expected_writes_by_kind,
            "zero 429s": r.rate_limited_429 == 0,
            "wall <= 1.10 x bound": r.wall_ratio <= 1.10,
        }
    if phase == "mixed-noop":
        return {"zero writes": r.writes == 0, "requests <= 1.02 x minimum": r.requests_ratio <= 1.02}
    return {"writes only for changed items": r.writes == r.expected_writes and not r.stray_writes}


def measure_phase(phase: str, cfg: BenchConfig, sim: SimProcess, workdir: Path, work: Work | MixedWork,
                  changed: set[tuple[str, str]], image_bytes: int, images: int | None = None,
                  log: list[dict[str, Any]] | None = None) -> PhaseResult:
    """Run one phase's client against `sim` and measure it (`images`: default, the achievement workload's);
    the phase's simulator request records are appended to `log` when one is given."""
    since = max((r["seq"] for r in sim.control("/sim/requests?since=0")[-1:]), default=0)
    before_state = sim.control("/sim/state") if phase == "changed" else {}
    before = sim.control("/sim/counters")
    spec = client_spec(cfg, sim.info, workdir)
    if cfg.profile is not None:
        cfg.profile.mkdir(parents=True, exist_ok=True)
        spec["_profile"] = str(cfg.profile.absolute() / f"{phase}.prof")
    out = run_client(spec, timeout=3600)
    after = sim.control("/sim/counters")
    records = sim.control(f"/sim/requests?since={since}")
    if log is not None:
        log.extend(records)
    c = classify(records)
    totals = out["totals"]
    purpose = totals.get("by_purpose", {})
    api = c.get("api", 0)
    polls = int(purpose.get("poll", 0))
    minimum = phase_minimum(work)
    bound = lower_bound(work, cfg, image_bytes)
    stray: list[str] = []
    if phase == "changed":
        index = item_index(before_state, sim.control("/sim/state"))
        stray = writes_outside(records, index, changed)
    client_api = int(totals.get("requests", 0)) - int(purpose.get("upload", 0))
    images = cfg.images if images is None else images
    n = max(images, 1)
    if isinstance(work, MixedWork):
        work_fields, expected_by_kind = work.flat(), {k: v for k, v in work.writes_by_kind().items() if v}
    else:
        work_fields, expected_by_kind = asdict(work), ({"achievement": work.writes} if work.writes else {})
    r = PhaseResult(
        phase=phase, images=images, wall_s=round(out["wall"], 3), lower_bound_s=round(bound, 3),
        wall_ratio=round(out["wall"] / bound, 3) if bound else 0.0, bound_by=bound_by(work, cfg, image_bytes),
        minimum_requests=minimum, requests=api,
        requests_ratio=round(api / minimum, 3) if minimum else 0.0, requests_per_image=round(api / n, 3),
        writes=c.get("writes", 0), reads=c.get("gets", 0) - polls, polls=polls, expected_writes=work.writes,
        rate_limited_429=c.get("429", 0), retries=int(totals.get("retries", 0)),
        bytes_uploaded=int(after.get("bytes_uploaded", 0)) - int(before.get("bytes_uploaded", 0)),
        upload_parts=c.get("upload_parts", 0), client_cpu_s=round(out["cpu"], 3),
        client_cpu_system_s=round(out["cpu_system"], 3),
        journal_writes=int(totals.get("journal_writes", 0)),
        journal_transactions=int(totals.get("journal_transactions", 0)),
        client_cpu_ms_per_image=round(1000 * out["cpu"] / n, 2),
        client_peak_rss_mb=round(out["maxrss_kb"] / 1024, 1), client_requests=client_api,
        counts_agree=client_api == api and int(totals.get("bytes_uploaded", 0)) == (
            int(after.get("bytes_uploaded", 0)) - int(before.get("bytes_uploaded", 0))),
        stray_writes=stray[:20], **timeline(records, float(out["started_at"])),
        exit_code=int(out["exit_code"]), targets={}, work=work_fields, failures=out.get("failures", []),
        writes_by_kind=writes_by_kind(records), expected_writes_by_kind=expected_by_kind,
    )
    r.targets = targets_for(phase, r)
    return r


# ---------------------------------------------------------------------------------------------- running


def run_bench(cfg: BenchConfig, *, log: Any = None) -> list[PhaseResult]:
    """Generate (or reuse) the workload, start the simulator in its own process, run the phases in order.

    The chained phases (fresh, noop, changed) share one simulated app and run from the first up to the last one
    asked for; budget and scale each get a simulator and a working copy of their own; the mixed phases (mixed,
    then mixed-noop) share another.
    """
    def say(text: str) -> None:
        if log is not None:
            print(text, file=log, flush=True)

    wanted = set(cfg.phases)
    chained = [w for w in wanted if w in CHAIN]
    to_run = [p for p in CHAIN if chained and CHAIN.index(p) <= max(CHAIN.index(w) for w in chained)]
    workdir = Path(tempfile.mkdtemp(prefix="bulkgc-bench-"))
    results: list[PhaseResult] = []

    def record(phase: str, result: PhaseResult) -> None:
        if phase in wanted:
            results.append(result)
            say(f"phase {phase}: {result.wall_s:.1f}s, {result.requests} API requests")
        if result.exit_code != 0:
            say(f"phase {phase}: the push exited with {result.exit_code}: {result.failures[:3]}")

    try:
        if to_run:
            (workdir / "chain").mkdir()
            with SimProcess(cfg, workdir / "chain") as sim:
                app_id = sim.info["app_id"]
                cache, generated = ensure_workload(cfg, app_id)
                how = f", generated in {generated:.1f}s" if generated else ", cached"
                say(f"workload: {cfg.achievements} achievements x {cfg.locales} locales = {cfg.images} icons "
                    f"({cfg.image_size}px) in {cache}{how}")
                run_dir = copy_workload(cache, workdir / "chain" / "workload")
                write_manifest(run_dir / "manifest.toml", cfg, {}, app_id)  # the simulator decides the app id
                image_bytes = _largest_icon(run_dir)
                changes = choose_changes(cfg)
                for phase in to_run:
                    if phase == "changed":
                        apply_changes(cfg, run_dir, changes, app_id)
                    changed = {(vendor_id(i), loc) for i, loc in changes.icons | changes.texts}
                    say(f"phase {phase}: running")
                    record(phase, measure_phase(phase, cfg, sim, run_dir, work_of(cfg, phase, changes), changed,
                                                image_bytes))
        for phase in ALONE:
            if phase not in wanted:
                continue
            # budget: the fresh push again, on a new app, against Apple's hourly budget with the hour compressed;
            # scale: a fresh push of many more, larger icons (its own cached workload)
            pcfg = cfg.for_budget_phase() if phase == "budget" else cfg.for_scale_phase()
            (workdir / phase).mkdir()
            with SimProcess(pcfg, workdir / phase) as sim:
                app_id = sim.info["app_id"]
                cache, generated = ensure_workload(pcfg, app_id)
                if generated:
                    say(f"phase {phase}: workload of {pcfg.images} icons ({pcfg.image_size}px) generated in "
                        f"{generated:.1f}s in {cache}")
                run_dir = copy_workload(cache, workdir / phase / "workload")
                write_manifest(run_dir / "manifest.toml", pcfg, {}, app_id)
                say(f"phase {phase}: running ({pcfg.images} icons; {pcfg.hourly_limit} requests per "
                    f"{pcfg.rate_window:g} s window)")
                record(phase, measure_phase(phase, pcfg, sim, run_dir, work_of(pcfg, "fresh", Changes()), set(),
                                            _largest_icon(run_dir)))
        if wanted & set(MIXED):
            # mixed-noop re-runs what mixed pushed: mixed always runs first
            chain = ["mixed"] + (["mixed-noop"] if "mixed-noop" in wanted else [])
            for phase, result in run_mixed(cfg, workdir / "mixed", say, chain):
                record(phase, result)
    finally:
        if cfg.keep:
            say(f"kept the run directory: {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    order = {p: i for i, p in enumerate(PHASES)}
    return sorted(results, key=lambda r: order[r.phase])


def run_mixed(cfg: BenchConfig, workdir: Path, say: Any, chain: Sequence[str],
              logs: dict[str, list[dict[str, Any]]] | None = None) -> list[tuple[str, PhaseResult]]:
    """The mixed phases on a simulator of their own: every kind pushed fresh, then (mixed-noop) unchanged.

    `logs`, when given, receives each phase's simulator request records (tests count from them).
    """
    from bulkgc.benchwork import SHORT, ensure_mixed_workload, largest_images, mixed_work, write_mixed_manifest

    spec = cfg.mixed_spec()
    base = cfg.cache if cfg.cache is not None else Path.home() / ".cache" / "bulkgc-bench"
    workdir.mkdir(parents=True, exist_ok=True)
    out = []
    with SimProcess(cfg, workdir) as sim:
        app_id = sim.info["app_id"]
        cache, generated = ensure_mixed_workload(spec, base, app_id)
        images = spec.images(cache)
        wide = sum(1 for _, _, _, size in images if size[0] != size[1])
        how = f", generated in {generated:.1f}s" if generated else ", cached"
        counts = ", ".join(f"{spec.count(k)} {k}" for k in SHORT)
        say(f"mixed workload: {counts}, {len(spec.locales)} locales each; {len(images)} images "
            f"({wide} of 3840x2160) in {cache}{how}")
        run_dir = copy_workload(cache, workdir / "workload")
        write_mixed_manifest(run_dir / "manifest.toml", spec, app_id)
        sizes = largest_images(spec, run_dir)
        for phase in chain:
            say(f"phase {phase}: running")
            work = mixed_work(spec, phase, sizes)
            log = logs.setdefault(phase, []) if logs is not None else None
            out.append((phase, measure_phase(phase, cfg, sim, run_dir, work, set(), max(sizes.values()),
                                             images=len(images), log=log)))
    return out


def _largest_icon(run_dir: Path) -> int:
    sizes = [p.stat().st_size for p in (run_dir / "assets").glob("*.png")]
    return max(sizes) if sizes else 0


def format_table(results: Sequence[PhaseResult]) -> str:
    """A short human table, one column per phase, then PASS/MISS per target."""
    rows: list[tuple[str, ...]] = [("", *(r.phase for r in results))]

    def row(label: str, fmt: Any) -> None:
        rows.append((label, *(fmt(r) for r in results)))

    row("wall s", lambda r: f"{r.wall_s:.2f}")
    row("lower bound s", lambda r: f"{r.lower_bound_s:.2f}")
    row("wall / bound", lambda r: f"{r.wall_ratio:.2f}")
    row("  bound set by", lambda r: r.bound_by)
    row("  first API request at s", lambda r: f"{r.first_request_s:.2f}")
    row("  last write at s", lambda r: f"{r.last_write_s:.2f}" if r.writes else "-")
    row("API requests", lambda r: str(r.requests))
    row("minimum requests", lambda r: str(r.minimum_requests))
    row("requests / minimum", lambda r: f"{r.requests_ratio:.3f}")
    row("requests / image", lambda r: f"{r.requests_per_image:.3f}")
    row("  writes", lambda r: f"{r.writes} (min {r.expected_writes})")
    row("  reads", lambda r: str(r.reads))
    row("  polls", lambda r: str(r.polls))
    row("429s", lambda r: str(r.rate_limited_429))
    row("retries", lambda r: str(r.retries))
    row("upload parts", lambda r: str(r.upload_parts))
    row("MB uploaded", lambda r: f"{r.bytes_uploaded / 1e6:.1f}")
    row("client CPU s", lambda r: f"{r.client_cpu_s:.2f}")
    row("  of which system", lambda r: f"{r.client_cpu_system_s:.2f}")
    row("journal writes / fsyncs", lambda r: f"{r.journal_writes} / {r.journal_transactions}")
    row("client CPU ms/image", lambda r: f"{r.client_cpu_ms_per_image:.2f}")
    row("client peak RSS MB", lambda r: f"{r.client_peak_rss_mb:.1f}")
    row("sim/client counts agree", lambda r: "yes" if r.counts_agree else "NO")
    row("exit code", lambda r: str(r.exit_code))
    widths = [max(len(x[i]) for x in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in enumerate(zip(x, widths,
                                                                                                   strict=True)))
             for x in rows]
    lines.append("")
    for r in results:
        for name, ok in r.targets.items():
            lines.append(f"{'PASS' if ok else 'MISS'}  {r.phase}: {name}")
        for stray in r.stray_writes[:5]:
            lines.append(f"      stray write: {stray}")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------- command line


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """One option per BenchConfig field, plus --json."""
    docs = _field_docs()
    defaults = BenchConfig()
    for f in fields(BenchConfig):
        flag = "--" + f.name.replace("_", "-")
        default = getattr(defaults, f.name)
        help_text = docs.get(f.name, "") + ("" if default is None else f" (default: {_show(default)})")
        if f.name == "keep":
            parser.add_argument(flag, action="store_true", help=help_text)
        elif f.name == "phases":
            parser.add_argument(flag, default=",".join(PHASES), metavar="LIST",
                                help=help_text + f"; comma-separated from {','.join(PHASES)}")
        elif f.name in ("cache", "profile"):
            parser.add_argument(flag, type=Path, default=None, metavar="DIR", help=help_text)
        else:
            kind = int if isinstance(default, int) and not isinstance(default, bool) else float
            if f.name in ("images_in_flight", "api_concurrency", "upload_concurrency"):
                kind = int
            metavar = next((m for key, m in _METAVARS.items() if key in f.name), "N")
            parser.add_argument(flag, type=kind, default=default, metavar=metavar, help=help_text)
    parser.add_argument("--json", action="store_true", help="print one JSON line per phase instead of the table")


# readable placeholders in --help, by what the option's name says it holds
_METAVARS = {"latency": "SECONDS", "jitter": "SECONDS", "delay": "SECONDS", "window": "SECONDS",
             "interval": "SECONDS", "bandwidth": "BYTES_PER_S", "part_size": "BYTES", "fraction": "FRACTION",
             "margin": "FRACTION"}


def _show(value: Any) -> str:
    return ",".join(value) if isinstance(value, tuple) else str(value)


def _field_docs() -> dict[str, str]:
    import ast
    import inspect

    tree = ast.parse(inspect.getsource(BenchConfig))
    body = tree.body[0].body  # type: ignore[attr-defined]
    docs = {}
    for node, nxt in zip(body, body[1:], strict=False):
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and isinstance(nxt, ast.Expr):
            if isinstance(nxt.value, ast.Constant) and isinstance(nxt.value.value, str):
                docs[node.target.id] = nxt.value.value.rstrip(".")
    return docs


def config_from_args(args: argparse.Namespace) -> BenchConfig:
    values = {f.name: getattr(args, f.name) for f in fields(BenchConfig)}
    values["phases"] = tuple(p.strip() for p in str(args.phases).split(",") if p.strip())
    return BenchConfig(**values)


def main_from_args(args: argparse.Namespace) -> int:
    """Run the benchmark; JSON lines or the table on stdout, progress on stderr. 0 if every target passes."""
    try:
        cfg = config_from_args(args)
    except ValueError as exc:
        print(f"bulkgc bench: {exc}", file=sys.stderr)
        return 2
    results = run_bench(cfg, log=sys.stderr)
    if args.json:
        for r in results:
            print(r.to_json())
    else:
        print(format_table(results))
    return 0 if all(all(r.targets.values()) for r in results) else 1


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bulkgc.bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(parser)
    return main_from_args(parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
