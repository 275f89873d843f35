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
    assert {i.kind.name for i in manifest.items} == {"achievement", "leaderboard"}  # the example shows both
    state = sim.state
    expected_locs = expected_images = 0
    for kind in ("achievement", "leaderboard"):
        items = {a["attributes"]["vendorIdentifier"]: a for a in state.items(kind)}
        assert set(items) == {i.vendor_identifier for i in manifest.of_kind(kind)}
        images = state.images(kind)
        for desired in manifest.of_kind(kind):
            latest = state.latest_version(items[desired.vendor_identifier]["id"], kind)
            assert latest is not None
            remote = {loc["locale"]: loc for loc in state.localizations_of(latest["id"], kind)}
            assert sorted(remote) == sorted(loc.locale for loc in desired.localizations), latest
            for loc in desired.localizations:
                expected_locs += 1
                where = (kind, desired.vendor_identifier, loc.locale)
                assert remote[loc.locale]["name"] == loc["name"], where
                held = [i for i in images if i["localization_id"] == remote[loc.locale]["id"]]
                if loc.image is None:  # an optional icon the manifest does not give
                    assert held == [], where
                    continue
                expected_images += 1
                (image,) = held
                assert (image.get("result") or {}).get("state") == "COMPLETE", (where, image.get("result"))
                assert _sha256(state.image_bytes(image["id"])) == _sha256(Path(loc.image).read_bytes()), where
    assert expected_images < expected_locs  # the example has a leaderboard without an icon
    assert len(state.all_images()) == result.images_complete == expected_images
    assert result.localizations == expected_locs


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
