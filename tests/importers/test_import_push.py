"""`bulkgc import` end to end: made Play, Steam and IGDB data -> import -> validate -> push (all through the
CLI) to the simulator on 127.0.0.1, which must then hold exactly the achievements, texts and icon bytes;
the same input gives byte-identical output."""

from __future__ import annotations

import json
import os
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from anyio.from_thread import start_blocking_portal
from importsources import (
    APP_ID,
    PREFIX,
    Expected,
    igdb_expected,
    make_igdb,
    make_play,
    make_steam,
    play_expected,
    steam_expected,
)

from bulkgc.cli import main
from bulkgc.sim import SimConfig, Simulator

sys.path.insert(0, str(Path(__file__).parents[1] / "e2e"))
from live import cli_args  # noqa: E402  (tests/e2e/live.py: a simulator's connection flags)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No ASC_*/BULKGC_* variable of the machine running the tests may change what the CLI does."""
    for name in list(os.environ):
        if name.startswith(("ASC_", "BULKGC_")):
            monkeypatch.delenv(name)


@pytest.fixture
def live_sim() -> Iterator[Simulator]:
    """A fresh simulator on 127.0.0.1 in its own thread, so the CLI can run `anyio.run` in this one."""
    with start_blocking_portal() as portal:
        config = SimConfig(app_id=APP_ID, seed=16, processing_delay=0.05, part_size=16 * 1024)
        with portal.wrap_async_context_manager(Simulator(config)) as sim:
            yield sim


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """Run `bulkgc argv` in-process; (exit code, stdout, stderr). No traceback may reach the user."""
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err, err
    return code, out, err


def import_source(kind: str, tmp: Path, out: Path, *extra: str) -> tuple[list[str], Expected]:
    """Make `kind`'s source data under tmp; (the `bulkgc import` argv writing `out`, what must result)."""
    common = ["--out", str(out), "--app-id", APP_ID, "--vendor-prefix", PREFIX, *extra]
    if kind == "play":
        folder = make_play(tmp / "src")
        return ["import", "play", str(folder), *common], play_expected(folder)
    if kind == "play-zip":
        archive = make_play(tmp / "src", as_zip=True)
        return ["import", "play", str(archive), *common], play_expected(out.parent / f"{out.stem}.icons")
    if kind == "steam":
        schema, vdf, icons = make_steam(tmp / "src")
        argv = ["import", "steam", str(schema), "--localization", str(vdf), "--icons", str(icons), *common]
        return argv, steam_expected(icons)
    schema_path, icons = make_igdb(tmp / "src")
    argv = [
        "import",
        "igdb",
        str(schema_path),
        "--icons",
        str(icons),
        "--locale-map",
        "1=skip",
        "--points",
        "20",
        *common,
    ]
    return argv, igdb_expected(icons, 20)


def push_argv(sim: Simulator, manifest: Path, tmp: Path) -> list[str]:
    journal = ["--journal", str(tmp / "state" / "journal.sqlite"), "--log-format", "plain"]
    return ["push", str(manifest), *cli_args(sim, tmp), *journal]


def assert_sim_holds_exactly(sim: Simulator, expected: Expected) -> None:
    """The simulator holds exactly the expected achievements; each locale's texts; one COMPLETE image per
    localization whose bytes are the icon file's."""
    state = sim.state
    achievements = {a["attributes"]["vendorIdentifier"]: a for a in state.achievements()}
    assert sorted(achievements) == sorted(expected.vendors)
    images = state.images()
    localizations = state.localizations()
    for exp in expected.achievements:
        attrs = achievements[exp.vendor]["attributes"]
        assert (attrs["referenceName"], attrs["points"], attrs["showBeforeEarned"], attrs["repeatable"]) == (
            exp.reference,
            exp.points,
            exp.shown,
            False,
        ), exp.vendor
        latest = state.latest_version(achievements[exp.vendor]["id"])
        assert latest is not None
        mine = [loc for loc in localizations if loc["version_id"] == latest["id"]]
        held = {
            loc["locale"]: (loc["name"], loc["beforeEarnedDescription"], loc["afterEarnedDescription"])
            for loc in mine
        }
        assert held == {locale: (name, desc, desc) for locale, (name, desc) in exp.texts.items()}, exp.vendor
        for loc in mine:
            (img,) = [i for i in images if i["localization_id"] == loc["id"]]
            assert img["result"]["state"] == "COMPLETE", (exp.vendor, loc["locale"], img.get("result"))
            assert state.image_bytes(img["id"]) == exp.icon.read_bytes(), (exp.vendor, loc["locale"])
    assert len(images) == sum(len(a.texts) for a in expected.achievements)


@pytest.mark.parametrize("kind", ["play", "play-zip", "steam", "igdb"])
def test_import_validate_push_lands_exactly_the_source(
    kind: str, tmp_path: Path, live_sim: Simulator, capsys: pytest.CaptureFixture[str]
) -> None:
    """import → validate → push puts exactly the source's achievements, texts and icon bytes in the sim."""
    out = tmp_path / "manifests" / "game.toml"
    out.parent.mkdir()
    argv, expected = import_source(kind, tmp_path, out)
    code, stdout, stderr = run_cli(capsys, *argv)
    assert code == 0, stderr
    assert "Mapping report" in stdout
    code, stdout, stderr = run_cli(capsys, "validate", str(out))
    assert code == 0, stderr
    assert live_sim.requests == []  # import and validate never touch the network
    code, stdout, stderr = run_cli(capsys, *push_argv(live_sim, out, tmp_path))
    assert code == 0, stdout + stderr
    assert_sim_holds_exactly(live_sim, expected)
    mark = len(live_sim.requests)
    code, _, stderr = run_cli(capsys, *push_argv(live_sim, out, tmp_path))
    assert code == 0, stderr
    writes = [
        r for r in live_sim.requests[mark:] if r.method in ("POST", "PATCH", "DELETE") and r.kind == "api"
    ]
    assert writes == []  # the imported manifest is stable: a re-run has nothing to do


@pytest.mark.parametrize("kind", ["play", "play-zip", "steam", "igdb"])
@pytest.mark.parametrize("fmt", ["toml", "json"])
def test_same_input_twice_gives_byte_identical_output(
    kind: str, fmt: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Importing the same input twice gives byte-identical manifests (and reports)."""
    out = tmp_path / f"game.{fmt}"
    argv, _ = import_source(kind, tmp_path, out, "--report", str(tmp_path / "report.json"))
    assert run_cli(capsys, *argv)[0] == 0
    first, first_report = out.read_bytes(), (tmp_path / "report.json").read_bytes()
    out.unlink()
    if kind == "play-zip":
        for icon in (tmp_path / "game.icons").iterdir():
            icon.unlink()
        (tmp_path / "game.icons").rmdir()
    code, stdout, stderr = run_cli(capsys, *argv)
    assert code == 0, stderr
    assert out.read_bytes() == first
    assert (tmp_path / "report.json").read_bytes() == first_report
    data = json.loads(first) if fmt == "json" else tomllib.loads(first.decode("utf-8"))
    assert data["app_id"] == APP_ID and len(data["achievement"]) in (3, 4)


def test_mapping_report_states_every_lossy_step(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The report names rescaled points, hidden, incremental, one description, dropped languages."""
    out = tmp_path / "game.toml"
    argv, _ = import_source("play", tmp_path, out, "--report", str(tmp_path / "r.json"))
    code, stdout, _ = run_cli(capsys, *argv)
    assert code == 0
    report = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    by_id: dict[str, Any] = {a["source_id"]: a for a in report["achievements"]}
    assert [a["source_id"] for a in report["achievements"]] == [
        "Collector",
        "First Blood",
        "Secret Room",
        "Champion",
    ]
    assert by_id["First Blood"]["points"] == {"source": 200, "manifest": 100}
    assert any("points 200 → 100" in n for n in by_id["First Blood"]["notes"])
    assert any("multiplied by 1/2" in n for n in report["notes"])
    assert any("hidden → show_before_earned = false" in n for n in by_id["Secret Room"]["notes"])
    assert any("incremental (500 steps)" in n for n in by_id["Collector"]["notes"])
    assert all(any("both Game Center descriptions" in n for n in a["notes"]) for a in report["achievements"])
    assert any("First Blood" in n and "hash" in n for n in by_id["First Blood"]["notes"])
    assert any("'bg'" in n and "no Game Center locale" in n for n in report["notes"])
    for text in (
        "points 200 → 100",
        "incremental (500 steps)",
        "'bg'",
        "First Blood → com.studio.game.First_Blood-",
    ):
        assert text in stdout, text


def test_existing_manifest_is_never_overwritten_without_force(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An existing --out file is left alone (exit 2, names --force); with --force it is replaced."""
    out = tmp_path / "game.toml"
    out.write_text("# mine\n", encoding="utf-8")
    argv, _ = import_source("steam", tmp_path, out)
    code, _, stderr = run_cli(capsys, *argv)
    assert code == 2
    assert "already exists" in stderr and "--force" in stderr
    assert out.read_text(encoding="utf-8") == "# mine\n"
    code, _, stderr = run_cli(capsys, *argv, "--force")
    assert code == 0, stderr
    assert out.read_text(encoding="utf-8").startswith("# Made by `bulkgc import steam`")


def test_long_texts_are_cut_noted_and_still_validate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A 100-character name and a 400-character description are cut (…) and noted; validate accepts them."""
    schema, _, icons = make_steam(tmp_path / "src")
    data = json.loads(schema.read_text(encoding="utf-8"))
    first = data["game"]["availableGameStats"]["achievements"][0]
    first["displayName"] = "Conqueror of " + "the very long " * 7
    first["description"] = "Win " + "one more game " * 30
    schema.write_text(json.dumps(data), encoding="utf-8")
    out = tmp_path / "game.json"
    argv = ["import", "steam", str(schema), "--icons", str(icons), "--out", str(out), "--app-id", APP_ID]
    code, stdout, stderr = run_cli(capsys, *argv)
    assert code == 0, stderr
    assert "en-US name cut to 64 characters" in stdout and "en-US description cut to 255" in stdout
    texts = json.loads(out.read_text(encoding="utf-8"))["achievement"][0]["locales"]["en-US"]
    for key, limit, original in (("name", 64, first["displayName"]),
                                 ("before_earned_description", 255, first["description"])):
        cut = texts[key]
        assert len(cut) <= limit and cut.endswith("…"), key
        assert original.startswith(cut[:-1]) and original[len(cut) - 1] == " ", key  # cut at a word boundary
    assert run_cli(capsys, "validate", str(out))[0] == 0
