"""The shipped sample: `bulkgc demo` pushes manifests/example.toml to its embedded simulator and a re-run
writes nothing; the committed icons under assets/ are exactly what scripts/make_assets.py draws."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import bulkgc.demo
from bulkgc.demo import run_demo
from bulkgc.manifest import load_manifest
from bulkgc.sim import Simulator

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "manifests" / "example.toml"
ASSETS = ROOT / "assets"


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


async def test_demo_pushes_the_example_then_a_second_push_writes_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The demo exits 0, its second push makes zero writes, and its simulator holds, for every localization of
    manifests/example.toml, the manifest's name and one COMPLETE image with the icon file's bytes."""
    started: list[Simulator] = []

    class RecordedSimulator(Simulator):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            started.append(self)

    monkeypatch.setattr(bulkgc.demo, "Simulator", RecordedSimulator)
    result = await run_demo(EXAMPLE, processing_delay=0.05)

    assert max(result.first.exit_code, result.second.exit_code) == 0
    assert result.second_writes == 0
    assert {r.outcome for r in result.second.items} == {"unchanged"}
    (sim,) = started
    all_writes = [r for r in sim.requests if r.kind == "api" and r.method in ("POST", "PATCH", "DELETE")]
    assert len(all_writes) == result.first_writes > 0  # every write belongs to the first push

    manifest = load_manifest(EXAMPLE)
    state = sim.state
    achievements = {a["attributes"]["vendorIdentifier"]: a for a in state.achievements()}
    assert set(achievements) == {a.vendor_identifier for a in manifest.of_kind("achievement")}
    expected_locs = 0
    for desired in manifest.of_kind("achievement"):
        latest = state.latest_version(achievements[desired.vendor_identifier]["id"])
        assert latest is not None
        remote = {loc["locale"]: loc for loc in state.localizations_of(latest["id"])}
        assert sorted(remote) == sorted(loc.locale for loc in desired.localizations), latest
        for loc in desired.localizations:
            expected_locs += 1
            where = (desired.vendor_identifier, loc.locale)
            assert remote[loc.locale]["name"] == loc["name"], where
            images = [i for i in state.images() if i["localization_id"] == remote[loc.locale]["id"]]
            (image,) = images
            assert (image.get("result") or {}).get("state") == "COMPLETE", (where, image.get("result"))
            assert _sha256(state.image_bytes(image["id"])) == _sha256(Path(loc.image).read_bytes()), where
    assert len(state.images()) == result.images_complete == result.localizations == expected_locs


def test_make_assets_regenerates_the_committed_icons_byte_for_byte(tmp_path: Path) -> None:
    """scripts/make_assets.py writes into a fresh directory exactly the files under assets/, byte for byte."""
    script = ROOT / "scripts" / "make_assets.py"
    done = subprocess.run([sys.executable, str(script), "--out", str(tmp_path)], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr

    def files(root: Path) -> dict[str, bytes]:
        return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}

    generated, committed = files(tmp_path), files(ASSETS)
    assert sorted(generated) == sorted(committed)
    assert [name for name in committed if generated[name] != committed[name]] == []
