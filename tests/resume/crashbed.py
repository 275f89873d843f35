"""Crash-test bed: `bulkgc sim` and `bulkgc push` as real processes, a push killed at an exact request, re-run."""

from __future__ import annotations

import atexit
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

sys.path.insert(0, str(Path(__file__).parents[1] / "e2e"))

from openapi_check import assert_all_conform  # noqa: E402

from bulkgc.sim.state import SimState  # noqa: E402

PY = sys.executable
SIM_ARGS = ("--part-size", "4096", "--processing-delay", "0.1", "--seed", "5")


class SimProc:
    """`python -m bulkgc sim --state-file ... --ready-file ...` as a subprocess, read through its control
    routes.

    Each test gets a simulator process of its own that nothing else has talked to. Its start-up (an
    interpreter and the simulator's imports, most of a second) is taken off the test's path: once a test's
    simulator is ready, the next one (same app id and flags) is launched in a directory of its own and waits,
    unused, to be adopted by the next `start()`; and `stop()` reaps a stopped simulator later instead of
    waiting for it to save its state and exit.
    """

    def __init__(self, root: Path, app_id: str, *args: str) -> None:
        self.root = root
        self.app_id = app_id
        self.args = args  # more `bulkgc sim` flags, after SIM_ARGS (a repeated flag overrides it)
        self.state_file = root / "sim-state.json"
        self.ready = root / "sim-ready.json"
        self.proc: subprocess.Popen[bytes] | None = None
        self.info: dict[str, Any] = {}
        self.spare_dir: Path | None = None  # the directory of a pre-launched simulator (removed once reaped)

    def start(self) -> SimProc:
        _reap_stopped()
        spare = _take_spare(self.app_id, self.args)
        if spare is not None:
            self.root, self.state_file, self.ready = spare.root, spare.state_file, spare.ready
            self.proc, self.spare_dir = spare.proc, spare.spare_dir
        else:
            self._launch()
        self._wait_ready()
        _launch_spare(self.app_id, self.args)  # the next test's simulator starts while this test runs
        return self

    def _launch(self) -> None:
        self.ready.unlink(missing_ok=True)
        log = open(self.root / "sim.log", "ab")  # noqa: SIM115 - the child owns it
        self.proc = subprocess.Popen(
            [PY, "-m", "bulkgc", "sim", *SIM_ARGS, *self.args, "--app-id", self.app_id,
             "--state-file", str(self.state_file),
             "--ready-file", str(self.ready), "--key-dir", str(self.root / "keys")],
            stdout=log, stderr=log,
        )
        log.close()

    def _wait_ready(self) -> None:
        assert self.proc is not None
        deadline = time.monotonic() + 30
        while not self.ready.exists():
            assert self.proc.poll() is None, (self.root / "sim.log").read_text()
            assert time.monotonic() < deadline, "simulator did not start"
            time.sleep(0.02)
        self.info = json.loads(self.ready.read_text())

    def stop(self) -> None:
        """SIGTERM; the process is reaped (a spare's directory removed) before the next start, or at exit."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        if self.proc is not None:
            _STOPPED.append((self.proc, self.spare_dir))
        self.proc = None


    # -- control routes ------------------------------------------------------------------------------------

    def call(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.info["base_url"] + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"} if data else {})
        with urllib.request.urlopen(req, timeout=30) as resp:
            raw = resp.read()
        return json.loads(raw) if raw else None

    def add_fault(self, **rule: Any) -> None:
        self.call("POST", "/sim/faults", rule)

    def clear_faults(self) -> None:
        self.call("DELETE", "/sim/faults")

    def faults(self) -> list[dict[str, Any]]:
        return list(self.call("GET", "/sim/faults")["faults"])

    def requests(self, since: int = 0) -> list[Any]:
        """API and upload requests after sequence number `since` (objects with method, path, route, status, ...)."""
        return [SimpleNamespace(**r) for r in self.call("GET", f"/sim/requests?since={since}")]

    def assert_conforms(self) -> int:
        """Every exchange this simulator process served conforms to Apple's OpenAPI spec (the in-process
        observer of tests/conftest.py cannot see another process); returns how many were checked."""
        return assert_all_conform(self.requests(), "simulator process")

    def progress(self) -> tuple[int, int]:
        """(API and upload requests the simulator has started, those it has finished and recorded): it counts
        each one when it starts, and its status when it records it at the end."""
        counters = self.call("GET", "/sim/counters")
        ended = sum(n for name, n in counters.items() if name.startswith("status_"))
        return int(counters.get("api_requests", 0) + counters.get("upload_requests", 0)), int(ended)

    def last_seq(self) -> int:
        reqs = self.call("GET", "/sim/requests")
        return max((r["seq"] for r in reqs), default=0)

    @property
    def state(self) -> SimState:
        """The simulator's state now (processing brought up to date), with the part store on disk behind it."""
        snapshot = self.call("GET", "/sim/state")
        state = SimState(0, self.state_file.with_name(self.state_file.name + ".parts"))
        state.meta = snapshot["meta"]
        for name in state.data:
            state.data[name] = snapshot.get(name, {})
        return state

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("BULKGC_", "ASC_"))}
        env.update(BULKGC_BASE_URL=self.info["base_url"], ASC_KEY_ID=self.info["key_id"],
                   ASC_ISSUER_ID=self.info["issuer_id"], ASC_PRIVATE_KEY_PATH=self.info["private_key_path"])
        return env


_SPARE: list[SimProc] = []  # at most one simulator launched ahead, not yet adopted
_STOPPED: list[tuple[subprocess.Popen[bytes], Path | None]] = []  # sent SIGTERM, not yet reaped


def _launch_spare(app_id: str, args: tuple[str, ...]) -> None:
    if not _SPARE:
        spare_dir = Path(tempfile.mkdtemp(prefix="bulkgc-crashbed-sim-"))
        spare = SimProc(spare_dir, app_id, *args)
        spare.spare_dir = spare_dir
        spare._launch()
        _SPARE.append(spare)


def _take_spare(app_id: str, args: tuple[str, ...]) -> SimProc | None:
    """The pre-launched simulator if it is the one asked for (else it is stopped: the next one will be)."""
    if not _SPARE:
        return None
    spare = _SPARE.pop()
    if (spare.app_id, spare.args) == (app_id, args) and spare.proc is not None and spare.proc.poll() is None:
        return spare
    spare.stop()
    return None


def _reap_stopped() -> None:
    while _STOPPED:
        proc, spare_dir = _STOPPED.pop()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if spare_dir is not None:
            shutil.rmtree(spare_dir, ignore_errors=True)


@atexit.register
def _stop_all() -> None:
    for spare in _SPARE:
        spare.stop()
    _SPARE.clear()
    _reap_stopped()


@dataclass
class PushResult:
    returncode: int
    stdout: str
    stderr: str
    first_seq: int  # simulator request numbers after this one belong to this run (or to a killed one before it)
    launched: float  # wall clock when the process started: requests that started later belong to this run
    events: list[dict[str, Any]] = field(default_factory=list)

    def steps(self, step: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e.get("event") == "step" and e.get("step") == step]


def push_argv(manifest: Path, journal: Path, *extra: str, command: str = "push") -> list[str]:
    return [PY, "-m", "bulkgc", command, str(manifest), "--journal", str(journal), "--poll-interval", "0.05",
            "--processing-timeout", "10", "--log-format", "json", *extra]


def run_push(sim: SimProc, manifest: Path, journal: Path, *extra: str, fault: dict[str, Any] | None = None,
             timeout: float = 60, env: dict[str, str] | None = None,
             while_running: Callable[[subprocess.Popen[bytes]], None] | None = None,
             command: str = "push") -> PushResult:
    """Run `bulkgc push` to its end; with `fault`, a `signal` rule aimed at this very process is installed first.

    The child waits on its stdin until the rule is in place, so the rule sees every request it sends.
    """
    first = sim.last_seq()
    launched = time.time()
    argv = push_argv(manifest, journal, *extra, command=command)  # `command`: push, or submit
    gated = ["/bin/sh", "-c", 'read go; exec "$@"', "sh", *argv]
    proc = subprocess.Popen(gated, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=env or sim.env(), cwd=manifest.parent)
    assert proc.stdin is not None
    if fault is not None:
        sim.add_fault(kind="signal", pid=proc.pid, count=1, **fault)
    proc.stdin.write(b"go\n")
    proc.stdin.close()
    proc.stdin = None
    try:
        if while_running is not None:
            while_running(proc)
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        raise AssertionError(f"push did not finish in {timeout}s:\n{err.decode()[-3000:]}") from None
    finally:
        if fault is not None:
            sim.clear_faults()
    events = []
    for line in err.decode().splitlines():
        if line.startswith("{"):
            try:
                events.append(json.loads(line))
            except ValueError:
                pass
    if proc.returncode < 0:
        settle(sim)
    return PushResult(proc.returncode, out.decode(), err.decode(), first, launched, events)


def settle(sim: SimProc, quiet: float = 2.0, timeout: float = 30.0) -> None:
    """Wait until the simulator has finished what a killed (or frozen) client still had in flight.

    Observed, not guessed: the simulator counts each API and upload request when it starts and records it when
    it ends, so nothing is in flight when the counts agree. The client is dead (or stopped) before this is
    called, so everything it sent is already in the simulator's socket buffers; two agreeing reads in a row
    (each a round trip through the simulator's event loop) leave no buffered request unstarted. A request that
    stays in flight with nothing recorded for `quiet` s (a frozen client's half-sent body) ends the wait too.
    """
    deadline = time.monotonic() + timeout
    agreeing = 0
    last, since = -1, time.monotonic()
    while True:
        started, ended = sim.progress()
        agreeing = agreeing + 1 if started == ended else 0
        if agreeing == 2:
            return
        if ended != last:
            last, since = ended, time.monotonic()
        elif agreeing == 0 and time.monotonic() - since >= quiet:
            return
        assert time.monotonic() < deadline, f"the simulator still has {started - ended} request(s) in flight"
        time.sleep(0.01)


def copy_tree(src: Path, dst: Path) -> None:
    shutil.copytree(src, dst, dirs_exist_ok=True)


# ---------------------------------------------------------------------------------------------- what happened


V2 = "/v2/gameCenterAchievement"
LB = "/v2/gameCenterLeaderboard"
ROUTES = {
    "POST achievement": ("POST", "/v2/gameCenterAchievements"),
    "POST version": ("POST", f"{V2}Versions"),
    "POST localization": ("POST", f"{V2}Localizations"),
    "PATCH localization": ("PATCH", f"{V2}Localizations/{{id}}"),
    "POST image": ("POST", f"{V2}Images"),
    "PATCH image": ("PATCH", f"{V2}Images/{{id}}"),
    "DELETE image": ("DELETE", f"{V2}Images/{{id}}"),
    "POST leaderboard": ("POST", "/v2/gameCenterLeaderboards"),
    "PATCH leaderboard": ("PATCH", "/v2/gameCenterLeaderboards/{id}"),
    "POST leaderboard version": ("POST", f"{LB}Versions"),
    "POST leaderboard localization": ("POST", f"{LB}Localizations"),
    "PATCH leaderboard localization": ("PATCH", f"{LB}Localizations/{{id}}"),
    "POST leaderboard image": ("POST", f"{LB}Images"),
    "PATCH leaderboard image": ("PATCH", f"{LB}Images/{{id}}"),
    "DELETE leaderboard image": ("DELETE", f"{LB}Images/{{id}}"),
}
_NAMES = {v: k for k, v in ROUTES.items()}


def applied_writes(reqs: list[Any]) -> dict[str, int]:
    """Writes App Store Connect applied, by name: answered 2xx, or dropped after being applied (a lost answer).

    The only dropped requests in these tests are the ones a `signal` fault killed; the caller passes only runs
    whose killed request was applied (after_apply) or removes it.
    """
    out: dict[str, int] = {}
    for r in reqs:
        if r.kind != "api" or r.method not in ("POST", "PATCH", "DELETE"):
            continue
        if not (200 <= r.status < 300 or r.dropped):
            continue
        route = (r.route or "").replace("/v1/", "/v2/")  # the v1 routes have the same shape
        name = _NAMES.get((r.method, route), f"{r.method} {r.route}")
        out[name] = out.get(name, 0) + 1
    return out


def part_puts(reqs: list[Any], state: SimState) -> list[tuple[str, int, int]]:
    """(image id, part number, status) of each part upload, in order."""
    by_token = {img["token"]: img["id"] for img in state.images()}
    out = []
    for r in reqs:
        if r.kind == "upload":
            token = r.path.rsplit("/", 1)[-1]
            out.append((by_token.get(token, token), int(r.query.get("partNumber", 0)), r.status))
    return out


def journal_known_parts(journal: Path) -> dict[str, set[int]]:
    """Image id -> part numbers the journal recorded as uploaded (read straight from the file, read-only)."""
    import sqlite3
    from urllib.parse import parse_qs, urlsplit

    out: dict[str, set[int]] = {}
    if not journal.exists():
        return out
    conn = sqlite3.connect(f"file:{journal}?mode=ro", uri=True)
    try:
        rows = conn.execute(
            "SELECT i.remote_id, i.upload_operations, p.part_index FROM parts p JOIN items i USING (item_key)")
        for remote_id, ops_json, index in rows:
            ops = json.loads(ops_json)
            if remote_id and index < len(ops):
                number = int(parse_qs(urlsplit(ops[index]["url"]).query)["partNumber"][0])
                out.setdefault(remote_id, set()).add(number)
    finally:
        conn.close()
    return out


def assert_exact_state(sim: SimProc, wl: Any, *, versions: dict[str, int] | None = None) -> None:
    """Exactly the manifest, for every kind: one item per vendor id with `versions` versions (default 1; keys
    `vendor` for achievements, `leaderboard:vendor` for leaderboards), each manifest locale once in the latest
    version, with the manifest's texts, holding one COMPLETE image with the local file's bytes; no reservation
    left anywhere, every image attached to an existing localization, no localization with two images."""
    from workload import sha256, sim_image_state

    from bulkgc.kinds import KINDS
    from bulkgc.manifest import load_manifest

    loaded = load_manifest(wl.manifest)
    state = sim.state
    for kind in KINDS:
        manifest = {i.vendor_identifier: i for i in loaded.of_kind(kind.name)}
        items = state.items(kind.name)
        vendors = [a["attributes"]["vendorIdentifier"] for a in items]
        assert sorted(vendors) == sorted(wl.of_kind(kind.name)), f"duplicate or missing {kind.plural}"
        locs = {loc["id"]: loc for loc in state.localizations(kind.name)}
        images = state.images(kind.name)
        per_loc: dict[str, list[dict[str, Any]]] = {}
        for img in images:
            assert img["localization_id"] in locs, f"{kind.name} image {img['id']} belongs to no localization"
            per_loc.setdefault(img["localization_id"], []).append(img)
        assert all(len(v) == 1 for v in per_loc.values()), f"a {kind.name} localization holds two images"
        leftovers = [(img["fileName"], sim_image_state(img)) for img in images if sim_image_state(img) != "COMPLETE"]
        assert leftovers == [], f"{kind.name}: reservations or unprocessed images left behind"
        for item in items:
            vendor = item["attributes"]["vendorIdentifier"]
            name = vendor if kind.name == "achievement" else f"{kind.name}:{vendor}"
            assert len(state.versions_of(item["id"], kind.name)) == (versions or {}).get(name, 1), f"{name}: versions"
            latest = state.latest_version(item["id"], kind.name)
            assert latest is not None
            mine = [loc for loc in locs.values() if loc["version_id"] == latest["id"]]
            assert sorted(loc["locale"] for loc in mine) == sorted(wl.locales), f"{name}: duplicate or missing locales"
            want = {loc.locale: loc for loc in manifest[vendor].localizations}
            for loc in mine:
                w = want[loc["locale"]]
                assert {t.asc: loc.get(t.asc) for t in kind.texts} == {t.asc: w[t.key] for t in kind.texts}, \
                    (name, loc["locale"])
                imgs = per_loc.get(loc["id"], [])
                assert len(imgs) == 1, f"{name}/{loc['locale']} has no image"
                data = state.image_bytes(imgs[0]["id"])
                assert hashlib.sha256(data).hexdigest() == sha256(wl.icon(vendor, loc["locale"], kind.name)), \
                    (name, loc["locale"])


def image_items(state: SimState) -> dict[str, str]:
    """Image id -> the journal key of its item (`image:<kind>:<vendor>:<locale>`), for every kind."""
    from bulkgc.kinds import KINDS

    out = {}
    for kind in KINDS:
        version_vendor = {v["id"]: item["attributes"]["vendorIdentifier"] for item in state.items(kind.name)
                          for v in state.versions_of(item["id"], kind.name)}
        locs = {loc["id"]: loc for loc in state.localizations(kind.name)}
        for img in state.images(kind.name):
            loc = locs.get(img["localization_id"])
            if loc is not None:
                out[img["id"]] = f"image:{kind.name}:{version_vendor[loc['version_id']]}:{loc['locale']}"
    return out
