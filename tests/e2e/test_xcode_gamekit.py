"""Xcode's GameCenterResources.gamekit as a manifest, --fix-icons, and pull round trips, over 127.0.0.1."""

from __future__ import annotations

import hashlib
import io
import json
import tomllib
from pathlib import Path
from typing import Any

import anyio
import pytest
from conftest import fast_sim_config, settings_for
from live import cli_args, live_sim, run_cli
from PIL import Image
from workload import make_workload, sim_image_state, writes
from xcode import make_gamekit, make_rgba_icon, resources_as_data

from bulkgc.cli import main
from bulkgc.pipeline import push
from bulkgc.pull import pull
from bulkgc.sim import Simulator


def digests(paths: list[Path]) -> dict[Path, str]:
    return {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in paths}


def complete_images(sim: Simulator, kind: str) -> list[dict[str, Any]]:
    return [img for img in sim.state.images(kind) if sim_image_state(img) == "COMPLETE"]


def sim_resources(sim: Simulator) -> dict[tuple[str, str, str], dict[str, Any]]:
    """(kind, vendor, locale) -> texts of the latest version's localization, with its image's bytes."""
    out = {}
    for kind in ("achievement", "leaderboard"):
        images = {img.get("localization_id"): img for img in sim.state.images(kind)}
        for item in sim.state.items(kind):
            latest = sim.state.latest_version(item["id"], kind)
            assert latest is not None
            for loc in sim.state.localizations_of(latest["id"], kind):
                img = images.get(loc["id"])
                data = sim.state.image_bytes(img["id"]) if img else None
                key = (kind, item["attributes"]["vendorIdentifier"], loc["locale"])
                out[key] = {"texts": loc, "image": data}
    return out


# ------------------------------------------------------------------------------------------- gamekit + fixes


def test_gamekit_needs_fix_icons_then_pushes_fixed_copies_exactly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Opaque-RGBA gamekit: refused naming --fix-icons; with it pushed exact as fixed PNGs; 0 writes again."""
    kit = make_gamekit(tmp_path / "proj")
    before = digests(sorted(p for p in kit.bundle.rglob("*") if p.is_file()))
    code, out, err = run_cli(["validate", str(kit.bundle)], capsys)
    assert code == 2
    for icon in kit.icons:
        line = next(li for li in err.splitlines() if icon.name in li)
        assert "--fix-icons would fix it" in line and "alpha" in line
    code, out, err = run_cli(["validate", str(kit.bundle), "--fix-icons"], capsys)
    assert code == 0, err
    assert out.count("removed its fully opaque alpha channel") == len(kit.icons)

    with live_sim(fast_sim_config(bundle_id="com.example.xcodegame")) as sim:
        journal = tmp_path / "state" / "journal.sqlite"
        base = ["push", str(kit.bundle), *cli_args(sim, tmp_path), "--journal", str(journal)]
        code, out, err = run_cli([*base, "--bundle-id", "com.example.xcodegame"], capsys)
        assert code == 2 and "--fix-icons" in err
        assert [r for r in sim.requests if r.kind == "api"] == []  # refused before anything was sent

        code, out, err = run_cli([*base, "--bundle-id", "com.example.xcodegame", "--fix-icons"], capsys)
        assert code == 0, out + err
        assert "icon(s) pushed as their --fix-icons copies" in out
        lookups = [r for r in sim.requests if r.path == "/v1/apps"]
        assert len(lookups) == 1 and lookups[0].query.get("filter[bundleId]") == "com.example.xcodegame"
        held = sim_resources(sim)
        assert len(held) == 2 * 3 + 2 * 3
        for kind, n in (("achievement", 6), ("leaderboard", 6)):
            assert len(complete_images(sim, kind)) == n == len(sim.state.images(kind))
        fixed_dir = journal.parent / "fixed-icons"
        for icon in kit.icons:
            kind = "achievement" if "AchievementImage" in icon.name else "leaderboard"
            locale = icon.parent.name
            vid = icon.stem.split("-", 1)[1][: -len(locale) - 1]
            data = held[(kind, vid, locale)]["image"]
            assert data is not None and data in {p.read_bytes() for p in fixed_dir.glob("*.png")}
            with Image.open(io.BytesIO(data)) as got, Image.open(icon) as src:
                assert got.format == "PNG" and got.mode == "RGB" and got.size == src.size
                assert got.tobytes() == src.convert("RGB").tobytes()  # same pixels, alpha gone
        board = next(
            b["attributes"]
            for b in sim.state.items("leaderboard")
            if b["attributes"]["vendorIdentifier"] == "com.example.xcode.board1"
        )
        assert board["recurrenceRule"] == "FREQ=DAILY;INTERVAL=7" and board["recurrenceDuration"] == "PT168H"

        mark = len(sim.requests)
        code, out, err = run_cli([*base, "--app-id", sim.app_id, "--fix-icons"], capsys)
        assert code == 0, out + err
        assert writes(sim, mark) == [] and not [r for r in sim.requests[mark:] if r.kind == "upload"]
    assert digests(sorted(p for p in kit.bundle.rglob("*") if p.is_file())) == before


def test_gamekit_problems_carry_json_paths_and_unknown_keys_warn(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Gamekit value problems name their JSON path and fix; unknown keys are warnings only."""
    kit = make_gamekit(tmp_path / "proj", achievements=1, leaderboards=1)
    res = kit.doc["resources"]
    res["leaderboards"][0]["scoreSortType"] = "DESCENDING"
    res["leaderboards"][0]["flavour"] = "extra"
    res["achievementLocalizations"]["com.example.xcode.ach0"][1]["locale"] = "xx-YY"
    del res["achievementImages"]["com.example.xcode.ach0-ja"]
    res["gameCenterFutureThings"] = []
    del res["achievements"][0]["points"]
    kit.write()
    code, out, err = run_cli(["validate", str(kit.bundle), "--fix-icons"], capsys)
    assert code == 2
    assert "resources.leaderboards[0].scoreSortType" in err and "ASC, DESC" in err
    assert 'resources.achievementLocalizations["com.example.xcode.ach0"][1]' in err and "xx-YY" in err
    assert 'resources.achievementLocalizations["com.example.xcode.ach0"][2]' in err
    assert "localID 'com.example.xcode.ach0-ja' has no image" in err and "achievementImages" in err
    assert 'resources.achievements[0].points: missing; add "points" : 10' in err
    assert (
        "warning:" in err
        and "resources.leaderboards[0].flavour" in err
        and "resources.gameCenterFutureThings" in err
    )
    assert "Traceback" not in err


@pytest.mark.parametrize(
    "case",
    [
        "malformed",
        "escape",
        "missing_file",
        "duplicate_local_id",
        "empty_resources",
        "default_image_escape",
        "bad_references",
    ],
)
def test_hostile_gamekits_are_refused_clearly_and_nothing_is_sent(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], case: str
) -> None:
    """Hostile gamekits are refused with path and fix (or a clean no-op) and nothing is sent."""
    newer = case in ("default_image_escape", "bad_references")
    kit = make_gamekit(tmp_path / "proj", achievements=2, leaderboards=1, newer_kinds=newer)
    res = kit.doc["resources"]
    expect = ""
    if case == "malformed":
        kit.json_file.write_text('{"meta" : {}, "resources" : {"achievements" : [ }', encoding="utf-8")
        expect = "JSON syntax error"
    else:
        if case == "escape":
            (tmp_path / "proj" / "outside.png").write_bytes(kit.icons[0].read_bytes())
            res["achievementImages"]["com.example.xcode.ach0-en-US"][0]["url"] = "../outside.png"
            expect = 'resources.achievementImages["com.example.xcode.ach0-en-US"][0].url'
        elif case == "missing_file":
            kit.icons[1].unlink()
            expect = "not found"
        elif case == "duplicate_local_id":
            res["achievementLocalizations"]["com.example.xcode.ach1"][0]["localID"] = (
                "com.example.xcode.ach0-en-US"
            )
            expect = "duplicate localID"
        elif case == "default_image_escape":
            (tmp_path / "proj" / "outside.png").write_bytes(kit.icons[0].read_bytes())
            res["activityDefaultImages"]["com.example.xcode.raid"][0]["url"] = "../outside.png"
            expect = 'resources.activityDefaultImages["com.example.xcode.raid"][0].url'
        elif case == "bad_references":
            res["leaderboardSets"][0]["leaderboardVendorIdentifiers"] = "com.example.xcode.board0"
            del res["challenges"][0]["leaderboardVendorIdentifier"]
            expect = (
                "resources.leaderboardSets[0].leaderboardVendorIdentifiers: must be an array of leaderboard "
                "vendor identifiers"
            )
        else:
            kit.doc["resources"] = {}
        kit.write()
    with live_sim(fast_sim_config()) as sim:
        code, out, err = run_cli(
            [
                "push",
                str(kit.bundle),
                *cli_args(sim, tmp_path),
                "--app-id",
                sim.app_id,
                "--journal",
                str(tmp_path / "j.sqlite"),
                "--fix-icons",
            ],
            capsys,
        )
        assert [r for r in sim.requests if r.kind != "control"] == []
    assert "Traceback" not in err
    if case == "empty_resources":
        assert code == 0, err
        return
    assert code == 2 and expect in err and "Nothing was sent" in err
    if case in ("escape", "default_image_escape"):
        assert "outside the bundle" in err
    if case == "bad_references":
        challenge = "resources.challenges[0].leaderboardVendorIdentifier"
        assert f'{challenge}: missing; add "leaderboardVendorIdentifier"' in err


# ------------------------------------------------------------------------------------------ pull round trips


@pytest.mark.parametrize("fmt", ["toml", "gamekit", "json"])
def test_pull_then_push_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str], fmt: str) -> None:
    """push -> pull (renditions, reads only) -> push of the pulled manifest writes nothing."""
    wl = make_workload(tmp_path / "wl", 2, ("en-US", "fr-FR", "ja"), leaderboards=2)
    with live_sim(fast_sim_config(app_id=wl.app_id)) as sim:
        settings = settings_for(sim, wl.manifest, tmp_path)
        assert anyio.run(push, settings).exit_code == 0
        mark = len(sim.requests)
        out = tmp_path / "pulled"
        pull_args = [
            "pull",
            *cli_args(sim, tmp_path)[:8],
            "--app-id",
            wl.app_id,
            "--out",
            str(out),
            "--format",
            fmt,
        ]
        code, stdout, err = run_cli(
            pull_args,
            capsys,
        )
        assert code == 0, err
        assert "reads only" in stdout
        # the summary counts every kind, those App Store Connect has none of included
        assert "2 achievements, 2 leaderboards, 0 leaderboard sets, 0 activities, 0 challenges" in stdout
        pulled = sim.requests[mark:]
        assert {r.method for r in pulled if r.kind == "api"} == {"GET"}
        renditions = [r for r in pulled if r.path.startswith("/sim/assets/")]
        assert len(renditions) == 2 * 3 + 2 * 3
        assert not [r for r in pulled if r.kind == "upload"]
        manifest = {
            "toml": out / "manifest.toml",
            "json": out / "manifest.json",
            "gamekit": out / "GameCenterResources.gamekit",
        }[fmt]
        files = sorted(p for p in manifest.parent.rglob("*.png"))
        assert len(files) == 12
        uploaded = {
            hashlib.sha256(sim.state.image_bytes(i["id"])).hexdigest()
            for k in ("achievement", "leaderboard")
            for i in sim.state.images(k)
        }
        assert not uploaded & set(digests(files).values())  # re-encoded renditions, not the uploaded bytes

        mark = len(sim.requests)
        extra = [] if fmt != "gamekit" else ["--app-id", wl.app_id]
        code, stdout, err = run_cli(
            [
                "push",
                str(manifest),
                *cli_args(sim, tmp_path),
                *extra,
                "--journal",
                str(tmp_path / f"again-{fmt}.sqlite"),
            ],
            capsys,
        )
        assert code == 0, stdout + err
        assert writes(sim, mark) == [] and not [r for r in sim.requests[mark:] if r.kind == "upload"]

        if fmt == "json":  # a second pull is cheap: only images whose file changed are downloaded again
            mark = len(sim.requests)
            code, stdout, err = run_cli(pull_args, capsys)
            assert code == 0 and "images: 0 downloaded, 12 unchanged" in stdout, stdout + err
            assert not [r for r in sim.requests[mark:] if r.path.startswith("/sim/assets/")]
        if fmt == "toml":
            data = tomllib.loads(manifest.read_text(encoding="utf-8"))
            assert {a["vendor_identifier"] for a in data["achievement"]} == set(wl.vendors)
            assert {b["vendor_identifier"] for b in data["leaderboard"]} == set(wl.boards)
            # a changed pulled icon is uploaded again: the record holds only while the file is unchanged
            first = out / "assets" / f"{wl.vendors[0]}.ja.png"
            make_rgba_icon(first, 99)
            Image.open(first).convert("RGB").save(first)
            mark = len(sim.requests)
            code, stdout, err = run_cli(
                [
                    "push",
                    str(manifest),
                    *cli_args(sim, tmp_path),
                    "--journal",
                    str(tmp_path / "again-toml.sqlite"),
                ],
                capsys,
            )
            assert code == 0, stdout + err
            reserves = [r for r in writes(sim, mark) if r.method == "POST" and "Images" in r.path]
            assert len(reserves) == 1


def test_gamekit_push_then_pull_gamekit_gives_the_same_resources(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """gamekit -> push -> pull --format gamekit: same resources, unknown keys kept, 0 writes after."""
    kit = make_gamekit(tmp_path / "proj")
    kit.doc["futureKey"] = {"keep": True}
    kit.doc["resources"]["gameCenterFutureThings"] = [{"vendorIdentifier": "thing1"}]
    kit.doc["resources"]["achievements"][0]["xcodeOnly"] = "keep me"
    kit.write()
    original = json.loads(kit.json_file.read_text(encoding="utf-8"))
    with live_sim(fast_sim_config()) as sim:
        common = [*cli_args(sim, tmp_path), "--app-id", sim.app_id]
        code, out, err = run_cli(
            ["push", str(kit.bundle), *common, "--fix-icons", "--journal", str(tmp_path / "j1.sqlite")],
            capsys,
        )
        assert code == 0, out + err
        code, out, err = run_cli(
            ["pull", *common[:8], "--app-id", sim.app_id, "--out", str(kit.bundle), "--format", "gamekit"],
            capsys,
        )
        assert code == 0, err
        text = kit.json_file.read_text(encoding="utf-8")
        assert '" : ' in text and "\\/" in text  # Xcode's spelling
        rewritten = json.loads(text)
        assert resources_as_data(rewritten) == resources_as_data(original)
        assert rewritten["futureKey"] == {"keep": True} and rewritten["meta"] == {"version": "2024-11-15"}
        assert rewritten["resources"]["achievements"][0]["xcodeOnly"] == "keep me"
        mark = len(sim.requests)
        code, out, err = run_cli(
            ["push", str(kit.bundle), *common, "--journal", str(tmp_path / "j2.sqlite")], capsys
        )
        assert code == 0, out + err
        assert writes(sim, mark) == []


def test_pull_needs_an_app_and_finds_it_by_bundle_id(tmp_path: Path) -> None:
    """pull finds the app by bundle id; an unknown bundle id exits 3 and writes nothing."""
    with live_sim(fast_sim_config(bundle_id="com.example.found")) as sim:
        settings = settings_for(sim, tmp_path / "unused.toml", tmp_path, bundle_id="com.example.found")
        result = anyio.run(pull, settings, tmp_path / "out", "json")
        assert result.app_id == sim.app_id and result.manifest.is_file()
        code = main(
            [
                "pull",
                *cli_args(sim, tmp_path)[:8],
                "--bundle-id",
                "com.example.nope",
                "--out",
                str(tmp_path / "o2"),
            ]
        )
        assert code == 3
        assert not (tmp_path / "o2").exists()


def test_plan_lists_each_fix_and_the_copy_it_uploads(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """plan --fix-icons (reads only) names every converted icon and its fixes, in the table and in --json."""
    kit = make_gamekit(tmp_path / "proj", achievements=1, leaderboards=1)
    with live_sim(fast_sim_config()) as sim:
        args = [str(kit.bundle), *cli_args(sim, tmp_path)[:8], "--app-id", sim.app_id, "--fix-icons"]
        code, out, err = run_cli(["plan", *args], capsys)
        assert code == 0, err
        assert f"--fix-icons uploads fixed copies of {len(kit.icons)} icon(s)" in out
        code, out, err = run_cli(["plan", *args, "--json"], capsys)
        assert code == 0, err
        assert {r.method for r in sim.requests if r.kind == "api"} == {"GET"}
    doc = json.loads(out)
    images = [la["image"] for kind in ("achievements", "leaderboards") for item in doc[kind]
              for la in item["localizations"]]
    assert sorted(i["file"] for i in images) == sorted(str(p) for p in kit.icons)
    fixes = [["removed its fully opaque alpha channel"]] * len(images)
    assert [i["action"] for i in images] == ["upload"] * len(images) and [i["fixes"] for i in images] == fixes
