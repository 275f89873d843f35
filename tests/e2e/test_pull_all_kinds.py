"""`bulkgc pull` of every kind bulkgc supports, round trips over 127.0.0.1: push a manifest (or a gamekit) with
all five kinds in three locales -> pull (toml, json, gamekit) -> push of what was pulled writes nothing."""

from __future__ import annotations

import hashlib
import json
import shutil
import tomllib
from pathlib import Path

import anyio
import pytest
from allkinds import (
    assert_all_kinds_exact,
    assert_nothing_written,
    make_all_kinds,
    pixels,
    pulled_entries,
    uploaded,
)
from conftest import fast_sim_config, settings_for
from live import cli_args, last_seq, live_sim, logged_since, run_cli
from PIL import Image
from workload import sim_image_state
from xcode import make_gamekit, resources_as_data

from bulkgc.pipeline import push
from bulkgc.sim import Simulator

KINDS = ("achievement", "leaderboard", "leaderboard_set", "activity", "challenge")


def complete(sim: Simulator) -> int:
    return sum(sim_image_state(img) == "COMPLETE" for kind in KINDS for img in sim.state.images(kind))


@pytest.mark.parametrize("fmt", ["toml", "json", "gamekit"])
def test_pull_every_kind_then_push_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], fmt: str
) -> None:
    """All five kinds (members in order, a challenge's board, fallback URL, default images) pulled as `fmt`:
    reads only, one rendition per COMPLETE image, every slot's picture; push of the result writes nothing."""
    wl = make_all_kinds(tmp_path / "wl")
    # one icon for every locale of an achievement: three remote images whose renditions are the same bytes
    shared = wl.image("achievement", wl.achievements[0], "en-US")
    for locale in wl.locales[1:]:
        shutil.copyfile(shared, wl.image("achievement", wl.achievements[0], locale))
    with live_sim(fast_sim_config(app_id=wl.app_id, part_size=64 * 1024)) as sim:
        assert anyio.run(push, settings_for(sim, wl.manifest, tmp_path)).exit_code == 0
        assert_all_kinds_exact(sim.state, wl)
        held, n_complete = uploaded(sim), complete(sim)
        assert n_complete == 29  # 6 achievement, 9 leaderboard, 6 set icons; 2 x (3 localized + 1 default)

        out = tmp_path / "pulled"
        pull_args = ["pull", *cli_args(sim, tmp_path)[:8], "--app-id", wl.app_id, "--out", str(out)]
        mark, seq = len(sim.requests), last_seq(sim)
        code, stdout, err = run_cli([*pull_args, "--format", fmt, "--log-format", "json"], capsys)
        assert code == 0, stdout + err
        assert "2 achievements, 3 leaderboards, 2 leaderboard sets, 1 activity, 1 challenge" in stdout
        # progress: the plan counts every image, default images included, and each one is reported done
        events = [json.loads(line) for line in err.splitlines()]
        (planned,) = [e for e in events if e["event"] == "plan"]
        assert planned["images"] == n_complete and planned["items"] == 9
        done = {e["item"] for e in events if e["event"] == "item_done" and e["outcome"] == "done"}
        assert done == {f"image:{k}:{v}:{s}" for k in KINDS for v in wl.of_kind(k) for s in wl.slots(k)}
        assert "27 localization(s), 6 reference(s)" in stdout and "(2 of them default images)" in stdout
        logged = logged_since(sim, seq)
        assert {r["method"] for r in logged} == {"GET"} and not [r for r in logged if r["kind"] == "upload"]
        renditions = [r for r in sim.requests[mark:] if r.path.startswith("/sim/assets/")]
        assert len(renditions) == n_complete

        manifest = {
            "toml": out / "manifest.toml",
            "json": out / "manifest.json",
            "gamekit": out / "GameCenterResources.gamekit",
        }[fmt]
        # every slot (each locale's image and each default image) was written, with the picture pushed
        record = pulled_entries(out / "bulkgc-pulled.json")
        slots = {(k, v, s) for k in KINDS for v in wl.of_kind(k) for s in wl.slots(k)}
        assert set(record) == slots
        files = {hashlib.sha256(p.read_bytes()).hexdigest(): p for p in manifest.parent.rglob("*.png")}
        assert len(files) == n_complete - 2  # the shared icon's three renditions are one file content
        for (kind, vendor, slot), sha in record.items():
            assert pixels(files[sha]) == pixels(wl.image(kind, vendor, slot)), (kind, vendor, slot)
        assert not set(held.values()) & set(files)  # renditions, not the uploaded bytes

        # references, version attributes and default images as the manifest expresses them
        if fmt == "gamekit":
            res = json.loads((manifest / "gameCenterResources.json").read_text(encoding="utf-8"))["resources"]
            sets = {s["vendorIdentifier"]: s["leaderboardVendorIdentifiers"] for s in res["leaderboardSets"]}
            tied = {c["vendorIdentifier"]: c["leaderboardVendorIdentifier"] for c in res["challenges"]}
            (activity,) = res["activities"]
            fallback = activity["fallbackUrl"]
            defaults = {
                vid: entry[0]["url"]
                for section in ("activityDefaultImages", "challengeDefaultImages")
                for vid, entry in res[section].items()
            }
        else:
            text = manifest.read_text(encoding="utf-8")
            data = tomllib.loads(text) if fmt == "toml" else json.loads(text)
            sets = {s["vendor_identifier"]: s["leaderboards"] for s in data["leaderboard_set"]}
            tied = {c["vendor_identifier"]: c["leaderboard"] for c in data["challenge"]}
            (activity,) = data["activity"]
            fallback = activity["fallback_url"]
            assert activity["properties"] == {"mode": "raid"}
            defaults = {
                i["vendor_identifier"]: i["default_image"] for k in ("activity", "challenge") for i in data[k]
            }
        assert sets == wl.sets and tied == wl.challenges and fallback == wl.fallback_url
        assert sorted(defaults) == sorted([*wl.activities, *wl.challenges])

        seq = last_seq(sim)
        extra = ["--app-id", wl.app_id] if fmt == "gamekit" else []
        journal = ["--journal", str(tmp_path / "j2")]
        push_args = ["push", str(manifest), *cli_args(sim, tmp_path), *extra, *journal]
        code, stdout, err = run_cli(push_args, capsys)
        assert code == 0, stdout + err
        assert_nothing_written(logged_since(sim, seq))
        assert uploaded(sim) == held  # the same images, the same uploaded bytes
        assert_all_kinds_exact(sim.state, wl)

        if fmt == "json":  # a second pull downloads nothing; a changed default image is pushed again
            mark = len(sim.requests)
            code, stdout, err = run_cli([*pull_args, "--format", fmt], capsys)
            assert code == 0 and f"images: 0 downloaded, {n_complete} unchanged" in stdout, stdout + err
            assert not [r for r in sim.requests[mark:] if r.path.startswith("/sim/assets/")]
            default = out / "assets" / defaults[wl.activities[0]]
            with Image.open(default) as img:
                img.rotate(180).save(default)
            seq = last_seq(sim)
            code, stdout, err = run_cli(push_args, capsys)
            assert code == 0, stdout + err
            reserves = [r["path"] for r in logged_since(sim, seq) if r["method"] == "POST"]
            assert reserves == ["/v1/gameCenterActivityImages"]


def test_gamekit_with_every_kind_push_then_pull_gives_the_same_resources(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A gamekit holding all five kinds -> push -> pull --format gamekit: the same resources compared as data
    (set members in order, the challenge's board, fallbackUrl, default images); unknown keys of the newer
    kinds kept on rewrite; a push of either bundle writes nothing."""
    kit = make_gamekit(tmp_path / "proj", newer_kinds=True)
    original = json.loads(kit.json_file.read_text(encoding="utf-8"))
    with live_sim(fast_sim_config(part_size=64 * 1024)) as sim:
        common = [*cli_args(sim, tmp_path), "--app-id", sim.app_id]
        code, out, err = run_cli(
            ["push", str(kit.bundle), *common, "--fix-icons", "--journal", str(tmp_path / "j1")], capsys
        )
        assert code == 0, out + err
        sets = {s["attributes"]["vendorIdentifier"]: s for s in sim.state.items("leaderboard_set")}
        boards = {b["id"]: b["attributes"]["vendorIdentifier"] for b in sim.state.items("leaderboard")}
        assert [boards[i] for i in sets["com.example.xcode.set0"]["leaderboard_ids"]] == [
            "com.example.xcode.board1",
            "com.example.xcode.board0",
        ]
        (challenge,) = sim.state.items("challenge")
        assert boards[challenge["leaderboard_id"]] == "com.example.xcode.board0"
        held = uploaded(sim)

        fresh = tmp_path / "fresh"
        code, out, err = run_cli(
            ["pull", *common[:8], "--app-id", sim.app_id, "--out", str(fresh), "--format", "gamekit"], capsys
        )
        assert code == 0, err
        bundle = fresh / "GameCenterResources.gamekit"
        pulled = json.loads((bundle / "gameCenterResources.json").read_text(encoding="utf-8"))
        assert resources_as_data(pulled) == resources_as_data(original)
        for name in (
            "ActivityDefaultImage-com.example.xcode.raid.png",
            "ChallengeDefaultImage-com.example.xcode.weekly.png",
        ):
            assert pixels(bundle / name) == pixels(kit.bundle / name)

        # rewriting the user's bundle keeps keys bulkgc does not know, in the newer kinds too
        kit.doc["resources"]["activities"][0]["xcodeFuture"] = {"keep": 1}
        kit.doc["resources"]["challengeDefaultImages"]["com.example.xcode.weekly"][0]["note"] = "kept"
        kit.write()
        code, out, err = run_cli(
            ["pull", *common[:8], "--app-id", sim.app_id, "--out", str(kit.bundle), "--format", "gamekit"],
            capsys,
        )
        assert code == 0, err
        rewritten = json.loads(kit.json_file.read_text(encoding="utf-8"))
        assert rewritten["resources"]["activities"][0]["xcodeFuture"] == {"keep": 1}
        assert rewritten["resources"]["challengeDefaultImages"]["com.example.xcode.weekly"][0]["note"] == "kept"
        assert resources_as_data(rewritten) == resources_as_data(kit.doc)

        for i, pushed in enumerate((bundle, kit.bundle)):
            seq = last_seq(sim)
            journal = ["--journal", str(tmp_path / f"j{i + 2}")]
            code, out, err = run_cli(["push", str(pushed), *common, *journal], capsys)
            assert code == 0, out + err
            assert_nothing_written(logged_since(sim, seq))
        assert uploaded(sim) == held
