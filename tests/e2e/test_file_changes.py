"""Icons replaced during a push: the bytes committed always hash to the digest in the image's fileName."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from conftest import fast_sim_config, settings_for
from workload import assert_matches_manifest, localization_id, make_icon, make_workload

import bulkgc.sim as simmod
from bulkgc.pipeline import push
from bulkgc.plan import DIGEST_LEN, digest_of
from bulkgc.sim import Simulator

Trigger = Callable[[Any], bool]


@contextmanager
def on_request(trigger: Trigger, action: Callable[[], None]) -> Iterator[list[int]]:
    """Run `action` once, inside the simulator, when it sees the first API exchange `trigger` accepts.

    The simulator calls its observers before the answer goes out, so the client cannot have seen the answer
    of that request yet: the swap happens at an exact point of the run.
    """
    fired: list[int] = []

    def observe(rec: Any) -> None:
        if not fired and trigger(rec):
            fired.append(rec.seq)
            action()

    simmod.observers.append(observe)
    try:
        yield fired
    finally:
        simmod.observers.remove(observe)


def replace_atomically(path: Path, data: bytes) -> None:
    """Write `data` beside `path` and rename it over it (how editors and exporters save)."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def icon_bytes(tmp: Path, index: int, size: int = 512, variant: int = 0) -> bytes:
    path = tmp / f"gen-{index}-{size}-{variant}.png"
    make_icon(path, index, size=size, variant=variant)
    return path.read_bytes()


def same_size_variant(tmp: Path, original: bytes) -> bytes:
    """A different valid icon with exactly the byte count of `original` (padding in a PNG text chunk)."""
    import struct
    import zlib

    other = icon_bytes(tmp, 500, variant=3)
    assert len(other) + 12 + 5 <= len(original), "the replacement must be smaller before padding"
    pad = len(original) - len(other) - 12 - 5  # chunk header + CRC, 'pad\0' keyword + 1 text byte minimum
    body = b"pad\x00" + b"x" * (pad + 1)
    chunk = struct.pack(">I", len(body)) + b"tEXt" + body + struct.pack(">I", zlib.crc32(b"tEXt" + body))
    out = other[:-12] + chunk + other[-12:]  # before IEND
    assert len(out) == len(original)
    return out


def assert_remote_image_consistent(sim: Simulator, vendor: str, locale: str, expected: bytes) -> None:
    """The localization's one image holds `expected`, and its fileName carries the digest of those bytes."""
    loc_id = localization_id(sim, vendor, locale)
    (img,) = [i for i in sim.state.images() if i["localization_id"] == loc_id]
    data = sim.state.image_bytes(img["id"])
    assert data == expected
    assert digest_of(img["fileName"]) == hashlib.sha256(data).hexdigest()[:DIGEST_LEN]


def is_first_api(rec: Any) -> bool:
    return rec.kind == "api"


def is_reservation(rec: Any) -> bool:
    return rec.method == "POST" and rec.path.endswith("/gameCenterAchievementImages") and rec.status == 201


@pytest.mark.parametrize("variant", ["same-size", "larger", "smaller"])
async def test_icon_replaced_after_scan_is_uploaded_under_its_own_digest(tmp_path: Path,
                                                                         variant: str) -> None:
    """An icon replaced (same size, larger, smaller) after the first request lands, bytes and digest."""
    wl = make_workload(tmp_path / "wl", 2, locales=("en-US", "fr-FR"))
    vendor, locale = wl.vendors[1], "fr-FR"
    target = wl.icon(vendor, locale)
    original = target.read_bytes()
    replacement = {
        "same-size": lambda: same_size_variant(tmp_path, original),
        "larger": lambda: icon_bytes(tmp_path, 77, size=1024),
        "smaller": lambda: _smaller_icon(tmp_path, len(original)),
    }[variant]()
    assert replacement != original
    if variant == "same-size":
        assert len(replacement) == len(original)
    elif variant == "larger":
        assert len(replacement) > len(original)
    else:
        assert len(replacement) < len(original)
    async with Simulator(fast_sim_config(app_id=wl.app_id, part_size=4096)) as sim:
        settings = settings_for(sim, wl.manifest, tmp_path)
        with on_request(is_first_api, lambda: replace_atomically(target, replacement)) as fired:
            report = await push(settings)
        assert fired, "the swap never happened"
        assert report.exit_code == 0, [r.message for r in report.items if r.outcome == "failed"]
        assert_remote_image_consistent(sim, vendor, locale, replacement)
        assert_matches_manifest(sim, wl)
        # the next run agrees: nothing to do
        mark = len(sim.requests)
        again = await push(settings)
        assert again.exit_code == 0
        assert not [r for r in sim.requests[mark:] if r.method in ("POST", "PATCH", "DELETE")]


def _smaller_icon(tmp: Path, than: int) -> bytes:
    """A valid icon with fewer bytes than `than` (a flat colour compresses to almost nothing)."""
    from PIL import Image

    path = tmp / "flat.png"
    Image.new("RGB", (512, 512), (10, 120, 200)).save(path, "PNG")
    data = path.read_bytes()
    assert len(data) < than
    return data


async def test_icon_swapped_then_reverted_mid_upload_ends_with_the_final_content(tmp_path: Path) -> None:
    """Swapped after the first request, put back once its reservation exists: the original is what lands."""
    wl = make_workload(tmp_path / "wl", 1, locales=("en-US",))
    vendor, locale = wl.vendors[0], "en-US"
    target = wl.icon(vendor, locale)
    original = target.read_bytes()
    other = same_size_variant(tmp_path, original)
    async with Simulator(fast_sim_config(app_id=wl.app_id, part_size=4096)) as sim:
        settings = settings_for(sim, wl.manifest, tmp_path)
        with on_request(is_first_api, lambda: replace_atomically(target, other)) as swapped, \
                on_request(is_reservation, lambda: replace_atomically(target, original)) as reverted:
            report = await push(settings)
        assert swapped and reverted and reverted[0] > swapped[0]
        assert report.exit_code == 0, [r.message for r in report.items if r.outcome == "failed"]
        # the reservation made for the swapped content was deleted, never committed
        reservations = [r for r in sim.requests if is_reservation(r)]
        assert len(reservations) == 2
        first_name = reservations[0].request_body["data"]["attributes"]["fileName"]
        assert digest_of(first_name) == hashlib.sha256(other).hexdigest()[:DIGEST_LEN]
        assert_remote_image_consistent(sim, vendor, locale, original)
        assert_matches_manifest(sim, wl)
        (img,) = [i for i in report.items if i.kind == "image"]
        assert img.outcome == "done" and img.attempts == 2


async def test_icon_replaced_by_an_invalid_file_fails_its_item_and_the_next_run_fixes_it(
        tmp_path: Path) -> None:
    """A file that turns invalid after the scan fails its item ("changed during the push"), nothing else."""
    wl = make_workload(tmp_path / "wl", 2, locales=("en-US",))
    vendor = wl.vendors[0]
    target = wl.icon(vendor, "en-US")
    original = target.read_bytes()
    async with Simulator(fast_sim_config(app_id=wl.app_id, part_size=4096)) as sim:
        settings = settings_for(sim, wl.manifest, tmp_path)
        with on_request(is_first_api, lambda: replace_atomically(target, b"not a png at all")):
            report = await push(settings)
        assert report.exit_code == 1
        failed = [r for r in report.items if r.outcome == "failed"]
        assert [(r.kind, r.vendor_identifier) for r in failed] == [("image", vendor)]
        assert "changed during the push" in failed[0].message and "fix the file" in failed[0].message
        assert str(target.name) in failed[0].message
        assert failed[0].attempts == 1  # a broken file is not uploaded again and again
        loc_id = localization_id(sim, vendor, "en-US")
        assert not [i for i in sim.state.images() if i["localization_id"] == loc_id]  # nothing committed
        # the other achievement is complete
        other = wl.vendors[1]
        assert_remote_image_consistent(sim, other, "en-US", wl.icon(other, "en-US").read_bytes())
        replace_atomically(target, original)
        fixed = await push(settings)
        assert fixed.exit_code == 0
        assert_matches_manifest(sim, wl)
