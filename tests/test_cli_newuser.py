"""What a new user trips on (issue 12): one settings path for every command, status on a missing manifest or a
running push, no implicit manifest, a closed stdout pipe, the target line, help texts, fastlane credentials
and the demo's output; each driven through the CLI, against a live simulator where a server is involved."""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from anyio.from_thread import start_blocking_portal
from PIL import Image

from bulkgc.cli import main
from bulkgc.journal import Journal
from bulkgc.sim import SimConfig, Simulator

APP_ID = "6446000012"
VENDOR = "com.example.newuser"
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def live_sim() -> Iterator[Simulator]:
    """A simulator on 127.0.0.1 in its own thread, so the CLI can run `anyio.run` in this one."""
    with start_blocking_portal() as portal:
        with portal.wrap_async_context_manager(
            Simulator(SimConfig(app_id=APP_ID, seed=12, processing_delay=0.05))
        ) as sim:
            yield sim


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No ASC_*/BULKGC_*/fastlane variable of the machine changes what the CLI does; start in an empty dir.
    Pushes poll the simulator's processing (0.05 s) every 0.05 s, not every 2 s (the default, for Apple)."""
    for name in list(os.environ):
        if name.startswith(("ASC_", "BULKGC_", "APP_STORE_CONNECT_API_KEY")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("BULKGC_POLL_INTERVAL", "0.05")
    monkeypatch.chdir(tmp_path)


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """Run `bulkgc argv` in-process; (exit code, stdout, stderr). No traceback may reach the user."""
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err, err
    return code, out, err


def icon(path: Path, color: tuple[int, int, int]) -> None:
    """A valid 512x512 opaque RGB icon of one colour (so two icon sets differ byte for byte)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (512, 512), color).save(path, "PNG")


def write_manifest(path: Path, vendor: str = VENDOR, *, name: str = "New user") -> Path:
    """A one-achievement manifest whose icon is found by name (<vendor>.png) in the assets directory."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        f'app_id = "{APP_ID}"\nassets = "assets"\n\n[[achievement]]\nvendor_identifier = "{vendor}"\n'
        f'reference_name = "{name}"\npoints = 5\nshow_before_earned = true\nrepeatable = false\n\n'
        f'[achievement.locales.en-US]\nname = "{name}"\n'
        'before_earned_description = "Before"\nafter_earned_description = "After"\n',
        encoding="utf-8",
    )
    return path


def sim_env(sim: Simulator, tmp: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point bulkgc at the simulator through the environment, as `bulkgc sim` tells users to; the key path."""
    (tmp / "keys").mkdir(exist_ok=True)
    key = sim.key.write_p8(tmp / "keys")  # AuthKey_<KEY ID>.p8, as App Store Connect names it
    monkeypatch.setenv("BULKGC_BASE_URL", sim.base_url)
    monkeypatch.setenv("ASC_KEY_ID", sim.key.key_id)
    monkeypatch.setenv("ASC_ISSUER_ID", sim.key.issuer_id)
    monkeypatch.setenv("ASC_PRIVATE_KEY_PATH", str(key))
    return key


def api_requests(sim: Simulator) -> int:
    return sum(1 for r in sim.requests if r.kind == "api")


def image_bytes_for(sim: Simulator, vendor: str) -> list[bytes]:
    """The bytes of every image the simulator holds for `vendor`'s localizations."""
    state = sim.state
    (ach,) = [a for a in state.achievements() if a["attributes"]["vendorIdentifier"] == vendor]
    latest = state.latest_version(ach["id"])
    locs = {loc["id"] for loc in state.localizations_of(latest["id"])}
    return [state.image_bytes(i["id"]) for i in state.images() if i["localization_id"] in locs]


# ---------------------------------------------------------------------------------- item 1: one settings path


def test_validate_checks_the_icons_push_uploads_when_bulkgc_assets_is_set(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], live_sim: Simulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With BULKGC_ASSETS set, validate checks that directory (not the manifest's) and push uploads it."""
    vendor = VENDOR + ".assets"
    manifest = write_manifest(tmp_path / "game" / "m.toml", vendor)
    (tmp_path / "game" / "assets").mkdir()
    (tmp_path / "game" / "assets" / f"{vendor}.png").write_text("not an image")  # the manifest's own: broken
    icon(tmp_path / "other" / f"{vendor}.png", (10, 200, 30))
    sim_env(live_sim, tmp_path, monkeypatch)

    code, _, err = run_cli(capsys, "validate", str(manifest))
    assert code == 2 and "not a PNG or JPEG" in err  # without the variable: the manifest's broken icon
    monkeypatch.setenv("BULKGC_ASSETS", str(tmp_path / "other"))
    code, out, err = run_cli(capsys, "validate", str(manifest))
    assert code == 0 and "1 image(s) checked" in out, err
    code, out, err = run_cli(capsys, "push", str(manifest), "--log-format", "plain")
    assert code == 0, err
    assert image_bytes_for(live_sim, vendor) == [(tmp_path / "other" / f"{vendor}.png").read_bytes()]


def test_validate_reads_the_manifest_named_by_bulkgc_manifest(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`BULKGC_MANIFEST=m.toml bulkgc validate` checks m.toml, as push would, never manifests/example.toml."""
    manifest = write_manifest(tmp_path / "m.toml")
    monkeypatch.setenv("BULKGC_MANIFEST", str(manifest))
    code, _, err = run_cli(capsys, "validate")
    assert (
        code == 2 and "m.toml: assets: the assets directory" in err
    )  # m.toml was read: its assets are missing
    icon(tmp_path / "assets" / f"{VENDOR}.png", (1, 2, 3))
    code, out, err = run_cli(capsys, "validate")
    assert code == 0 and str(manifest) in out and "example.toml" not in out + err


@pytest.mark.parametrize("command", ["validate", "plan", "push", "status"])
def test_a_bad_setting_names_the_variable_or_flag_it_came_from(
    command: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    live_sim: Simulator,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A missing manifest from BULKGC_MANIFEST or the argument: exit 2 naming that origin; nothing is sent."""
    sim_env(live_sim, tmp_path, monkeypatch)
    before = api_requests(live_sim)
    monkeypatch.setenv("BULKGC_MANIFEST", str(tmp_path / "gone.toml"))
    code, _, err = run_cli(capsys, command)
    assert code == 2 and "gone.toml: file not found (from environment variable BULKGC_MANIFEST)" in err, err
    code, _, err = run_cli(capsys, command, str(tmp_path / "typo.toml"))
    assert code == 2 and "typo.toml: file not found" in err, err
    assert api_requests(live_sim) == before


def test_bad_assets_directory_and_key_file_name_their_origin(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], live_sim: Simulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """BULKGC_ASSETS naming no directory (exit 2), --private-key-path naming no file (exit 3); no request."""
    manifest = write_manifest(tmp_path / "m.toml")
    icon(tmp_path / "assets" / f"{VENDOR}.png", (1, 2, 3))
    sim_env(live_sim, tmp_path, monkeypatch)
    before = api_requests(live_sim)
    monkeypatch.setenv("BULKGC_ASSETS", str(tmp_path / "nowhere"))
    for command in ("validate", "plan", "push"):
        code, _, err = run_cli(capsys, command, str(manifest))
        assert code == 2 and "from environment variable BULKGC_ASSETS" in err, (command, err)
    monkeypatch.delenv("BULKGC_ASSETS")
    code, _, err = run_cli(capsys, "push", str(manifest), "--private-key-path", str(tmp_path / "no.p8"))
    assert code == 3 and "no.p8 (from flag --private-key-path) does not exist" in err, err
    assert api_requests(live_sim) == before


# ---------------------------------------------------------------------------------- item 3: status


def test_status_of_a_missing_manifest_is_file_not_found(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """status with a manifest that does not exist exits 2 'file not found', even beside another journal."""
    other = write_manifest(tmp_path / "m.toml")
    with Journal.open(tmp_path / ".bulkgc" / "journal.sqlite", run_command="push") as journal:
        journal.finish_run(journal.start_run(str(other), {}), "ok", {})
    code, out, err = run_cli(capsys, "status", str(tmp_path / "missing.toml"))
    assert code == 2 and "missing.toml: file not found" in err and out == ""


def test_status_while_a_push_runs_says_running_not_resume(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """While a push holds the journal's lock, status says it is running, never 'did not finish, run again'."""
    manifest = write_manifest(tmp_path / "m.toml")
    journal = Journal.open(tmp_path / ".bulkgc" / "journal.sqlite", run_command="push")
    try:
        journal.start_run(str(manifest), {})
        journal.put(f"image:achievement:{VENDOR}:en-US", state="uploading")
        code, out, _ = run_cli(capsys, "status", str(manifest))
        assert code == 0
        assert "A push is running now" in out and "still running" in out
        assert "did not finish" not in out and "run the same push again" not in out.lower()
    finally:
        journal.close()
    code, out, _ = run_cli(capsys, "status", str(manifest))  # the same journal once that push is gone
    assert "did not finish (resumable)" in out and "Run the same push again to resume" in out
    # a run cut off before it started some images: those are in no list, and status says so
    assert "items that run had not started yet" in out


# ------------------------------------------------------------------------------ item 10: no manifest given


@pytest.mark.parametrize("command", ["push", "submit", "plan", "validate", "status"])
def test_no_manifest_given_prints_usage_and_exits_2(
    command: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    live_sim: Simulator,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """In a directory holding manifests/example.toml, `bulkgc COMMAND` alone says 'no manifest given' with the
    usage line (exit 2) and never falls back to the example; nothing is sent."""
    write_manifest(tmp_path / "manifests" / "example.toml")
    icon(tmp_path / "manifests" / "assets" / f"{VENDOR}.png", (1, 2, 3))
    sim_env(live_sim, tmp_path, monkeypatch)
    before = api_requests(live_sim)
    code, out, err = run_cli(capsys, command)
    assert code == 2, err
    assert err.startswith(f"usage: bulkgc {command}") and "bulkgc: no manifest given" in err
    assert "example.toml" not in out + err and api_requests(live_sim) == before


# ---------------------------------------------------------------------------------- item 4: a closed pipe


@pytest.mark.parametrize(
    "argv", [["status", "m.toml"], ["status", "m.toml", "--json"], ["validate", "m.toml"], ["push", "--help"]]
)
def test_a_closed_stdout_pipe_ends_quietly(argv: list[str], tmp_path: Path) -> None:
    """Output into a pipe whose reader has gone (`bulkgc status | head -1`) ends with no message at all and
    exit 141 like a Unix tool killed by SIGPIPE (help output, already printed, keeps its exit 0)."""
    write_manifest(tmp_path / "m.toml")
    icon(tmp_path / "assets" / f"{VENDOR}.png", (1, 2, 3))
    with Journal.open(tmp_path / ".bulkgc" / "journal.sqlite", run_command="push") as journal:
        journal.start_run(str(tmp_path / "m.toml"), {})
        for n in range(50):
            journal.put(f"image:achievement:{VENDOR}{n}:en-US", state="uploading")
    child = subprocess.Popen(
        [sys.executable, "-m", "bulkgc", *argv],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={k: v for k, v in os.environ.items() if not k.startswith(("ASC_", "BULKGC_"))},
    )
    assert child.stdout is not None and child.stderr is not None
    child.stdout.close()  # the reader goes away before bulkgc writes anything
    err = child.stderr.read().decode()
    child.stderr.close()
    assert child.wait(timeout=60) == (0 if "--help" in argv else 141)
    assert err == ""


# ------------------------------------------------------------------------------ item 7: say where you send


@pytest.mark.parametrize("command", ["plan", "push"])
def test_plan_and_push_start_with_the_target_line(
    command: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    live_sim: Simulator,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The first line names the base URL (and that BULKGC_BASE_URL set it), app id, key id and API version;
    the key's text never appears; with --log-format json the line is a JSON event."""
    vendor = f"{VENDOR}.target.{command}"
    manifest = write_manifest(tmp_path / "m.toml", vendor)
    icon(tmp_path / "assets" / f"{vendor}.png", (40, 50, 60))
    key = sim_env(live_sim, tmp_path, monkeypatch)

    code, out, err = run_cli(capsys, command, str(manifest), "--api", "v2")
    assert code == 0, err
    assert err.splitlines()[0] == (
        f"{'Pushing to' if command == 'push' else 'Reading'} {live_sim.base_url} (from "
        f"environment variable BULKGC_BASE_URL): app {APP_ID}, key id "
        f"{live_sim.key.key_id}, API v2"
    )
    key_body = key.read_text().splitlines()[1]
    assert "PRIVATE KEY" not in out + err and key_body not in out + err

    monkeypatch.setenv("BULKGC_LOG_FORMAT", "json")
    monkeypatch.delenv("BULKGC_BASE_URL")
    code, out, err = run_cli(capsys, command, str(manifest), "--base-url", live_sim.base_url)
    assert code == 0, err
    event = json.loads(err.splitlines()[0])
    assert {k: event[k] for k in ("event", "base_url", "base_url_from", "app_id", "key_id", "api")} == {
        "event": "target",
        "base_url": live_sim.base_url,
        "base_url_from": "flag --base-url",
        "app_id": APP_ID,
        "key_id": live_sim.key.key_id,
        "api": "v2",
    }
    monkeypatch.delenv("BULKGC_LOG_FORMAT")
    code, out, err = (
        run_cli(capsys, command, str(manifest), "--base-url", live_sim.base_url, "--quiet")
        if command == "push"
        else (0, "", "")
    )
    assert code == 0 and "Pushing to" not in err  # --quiet: failures and the summary only


# ---------------------------------------------------------------------------------- item 13: credentials


FASTLANE = "APP_STORE_CONNECT_API_KEY_"


@pytest.mark.parametrize("how", ["fastlane_file", "fastlane_text", "fastlane_base64", "asc_base64"])
def test_credentials_as_fastlane_and_ci_secret_stores_hold_them(
    how: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    live_sim: Simulator,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """fastlane's APP_STORE_CONNECT_API_KEY_* variables (key file, key text, base64 text) and a base64 key in
    ASC_PRIVATE_KEY authenticate a push: the simulator answers 2xx to every request, none 401."""
    vendor = f"{VENDOR}.creds.{how}"
    manifest = write_manifest(tmp_path / "m.toml", vendor)
    icon(tmp_path / "assets" / f"{vendor}.png", (70, 80, 90))
    (tmp_path / "keys").mkdir()
    key = live_sim.key.write_p8(tmp_path / "keys")
    pem = key.read_text()
    b64 = base64.b64encode(pem.encode()).decode()
    monkeypatch.setenv("BULKGC_BASE_URL", live_sim.base_url)
    if how.startswith("fastlane"):
        monkeypatch.setenv(FASTLANE + "KEY_ID", live_sim.key.key_id)
        monkeypatch.setenv(FASTLANE + "ISSUER_ID", live_sim.key.issuer_id)
        if how == "fastlane_file":
            monkeypatch.setenv(FASTLANE + "KEY_FILEPATH", str(key))
        elif how == "fastlane_text":
            monkeypatch.setenv(FASTLANE + "KEY", pem)
        else:
            monkeypatch.setenv(FASTLANE + "KEY", b64)
            monkeypatch.setenv(FASTLANE + "IS_KEY_CONTENT_BASE64", "true")
    else:
        monkeypatch.setenv("ASC_KEY_ID", live_sim.key.key_id)
        monkeypatch.setenv("ASC_ISSUER_ID", live_sim.key.issuer_id)
        monkeypatch.setenv("ASC_PRIVATE_KEY", b64)
    seen = len(live_sim.requests)
    code, out, err = run_cli(capsys, "push", str(manifest), "--log-format", "plain")
    assert code == 0, err
    sent = [r for r in live_sim.requests[seen:] if r.kind == "api"]
    assert sent and all(200 <= r.status < 300 for r in sent), [(r.method, r.path, r.status) for r in sent]
    assert image_bytes_for(live_sim, vendor) == [(tmp_path / "assets" / f"{vendor}.png").read_bytes()]
    assert b64 not in out + err and pem.splitlines()[1] not in out + err


def test_asc_variables_win_over_fastlane_ones(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """With both set, ASC_KEY_ID is used, and an error about it names that variable, not fastlane's."""
    manifest = write_manifest(tmp_path / "m.toml")
    icon(tmp_path / "assets" / f"{VENDOR}.png", (1, 2, 3))
    monkeypatch.setenv("ASC_KEY_ID", "HAS SPACE")
    monkeypatch.setenv(FASTLANE + "KEY_ID", "GOODKEY001")
    monkeypatch.setenv(FASTLANE + "KEY_FILEPATH", str(tmp_path / "AuthKey_GOODKEY001.p8"))
    code, _, err = run_cli(capsys, "plan", str(manifest), "--base-url", "http://127.0.0.1:9")
    assert code == 3
    assert f"AuthKey_GOODKEY001.p8 (from environment variable {FASTLANE}KEY_FILEPATH) does not exist" in err


def test_key_file_named_for_another_key_id_is_reported_before_any_request(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], live_sim: Simulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """AuthKey_<ID>.p8 with another key id: exit 3 naming both ids and where the id came from; no request."""
    manifest = write_manifest(tmp_path / "m.toml")
    icon(tmp_path / "assets" / f"{VENDOR}.png", (1, 2, 3))
    sim_env(live_sim, tmp_path, monkeypatch)
    monkeypatch.setenv("ASC_KEY_ID", "OTHERKEY01")
    before = len(live_sim.requests)
    for command in ("plan", "push"):
        code, out, err = run_cli(capsys, command, str(manifest))
        assert code == 3, err
        assert (
            f"the key file AuthKey_{live_sim.key.key_id}.p8 is named for key id {live_sim.key.key_id}, "
            "but the key id given is OTHERKEY01 (from environment variable ASC_KEY_ID)"
        ) in err
        assert "Pushing to" not in err and "Reading" not in err
    assert len(live_sim.requests) == before


# ------------------------------------------------------------------------------ item 14: the demo reads well


def test_demo_output_redirected_is_framed_condensed_and_ends_with_next_steps(tmp_path: Path) -> None:
    """`bulkgc demo > file 2>&1`: each header precedes its push's output, per-item lines are condensed to one
    line per kind, and it ends with what to do next (a manifest per docs/MANIFEST.md, rehearse on the sim)."""
    done = subprocess.run(
        [sys.executable, "-m", "bulkgc", "demo", "--processing-delay", "0.05"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=300,
        env={k: v for k, v in os.environ.items() if not k.startswith(("ASC_", "BULKGC_"))},
    )
    assert done.returncode == 0, done.stdout
    lines = done.stdout.splitlines()

    def index(prefix: str, start: int = 0) -> int:
        return next(i for i, line in enumerate(lines) if i >= start and line.startswith(prefix))

    first = index("== First push")
    plan = index("20", first)  # the first push's timestamped plan line comes after its header
    first_summary = index("bulkgc push: ", plan)
    second = index("== Second push")
    second_summary = index("bulkgc push: ", second)
    assert first < plan < first_summary < second < second_summary
    assert [line.split(":")[0].strip() for line in lines[plan + 1 : first_summary]] == [
        "achievements",
        "leaderboards",
        "localizations",
        "images",
    ]  # one line per kind, not one per step of each item (the example has achievements and leaderboards)
    assert "unchanged" in lines[second_summary]
    assert len(lines) < 40, done.stdout
    tail = "\n".join(lines[index("What next:"):])  # the demo ends with what to do next
    assert lines[-1].strip().startswith("and, when it looks right") and len(lines) - index("What next:") < 20
    for step in ("docs/MANIFEST.md", "GameCenterResources.gamekit", "bulkgc import", "bulkgc pull",
                 "--fix-icons", "bulkgc sim", "bulkgc submit"):
        assert step in tail, step


def test_sim_stop_line_reads_well(tmp_path: Path) -> None:
    """`bulkgc sim` says how it stops and where state lives ('kept only in memory', no 'savedonly'), exports
    an absolute key path, and stops cleanly on SIGTERM."""
    ready = tmp_path / "ready.json"
    child = subprocess.Popen(
        [sys.executable, "-m", "bulkgc", "sim", "--key-dir", "keys", "--ready-file", str(ready)],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        for _ in range(600):
            if ready.exists() or child.poll() is not None:
                break
            time.sleep(0.05)
        info = json.loads(ready.read_text())
    finally:
        child.terminate()
        out, err = child.communicate(timeout=60)
    assert child.returncode == 0, err
    assert "Stop with Ctrl-C (state is kept only in memory)." in out and "savedonly" not in out
    key = Path(info["private_key_path"])
    assert f"export ASC_PRIVATE_KEY_PATH={(tmp_path / key).resolve()}" in out
    assert (tmp_path / key).is_file()


# ---------------------------------------------------------------------------------- item 11: --help

SUBCOMMANDS = ["demo", "push", "submit", "plan", "validate", "status", "pull", "sim", "bench"]


def help_text(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    """What `bulkgc argv --help` prints (it exits 0)."""
    with pytest.raises(SystemExit) as exited:
        main([*argv, "--help"])
    assert exited.value.code == 0
    return capsys.readouterr().out


@pytest.mark.parametrize("command", SUBCOMMANDS)
def test_every_subcommand_help_has_description_examples_and_exit_codes(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """`bulkgc COMMAND --help` has a description, an examples section of runnable `bulkgc COMMAND` lines, and
    its exit codes (0 and at least one failure code), with no Python internals."""
    text = help_text(capsys, command)
    after_usage = text.split("\n\n")[1]
    assert not after_usage.startswith(("options:", "positional")) and len(after_usage) > 40, text
    examples = text.split("\nexamples:\n")[1].split("\n\n")[0].splitlines()
    assert examples and all(
        line.startswith(f"  bulkgc {command}") or "=" in line.split()[0] for line in examples
    )
    codes = text.split("\nexit codes:\n")[1].splitlines()
    assert codes[0].startswith("  0 ") and any(line.startswith(("  1 ", "  2 ")) for line in codes), text
    for internal in ("[INFER", "None", "Simulator.", "fnmatch", "re.search", "SimConfig"):
        assert internal not in text, (command, internal)


def test_sim_help_uses_readable_placeholders(capsys: pytest.CaptureFixture[str]) -> None:
    """Every placeholder in `bulkgc sim --help` says what to type (SECONDS, BYTES, ...), not a field name."""
    usage = help_text(capsys, "sim").split("\n\n")[0]
    placeholders = set(re.findall(r"--[\w-]+ ([A-Z_]+)\]", usage))
    assert placeholders and placeholders <= {
        "ADDRESS",
        "PORT",
        "APP_ID",
        "BUNDLE_ID",
        "N",
        "KEY_ID",
        "UUID",
        "SECONDS",
        "BYTES",
        "FRACTION",
        "BYTES_PER_S",
        "FILE",
        "DIR",
        "RULE",
    }, placeholders


def test_bench_help_keeps_the_formulas_layout(capsys: pytest.CaptureFixture[str]) -> None:
    """`bulkgc bench --help` prints the request and wall-time formulas one term per line, as written."""
    text = help_text(capsys, "bench")
    for line in (
        "    minimum = 1 (app's Game Center detail) + max(1, ceil(existing achievements / 200)) list pages",
        "            + 2 x images uploaded              (reserve + commit; parts go to upload URLs, "
        "not the API)",
        "    throughput = T(minimum)",
        "    bound      = max(throughput, critical, tail)",
    ):
        assert line in text.splitlines(), line
