"""Tests of the local icon checks: every bad kind of image is reported, with its reason, in one scan."""

from __future__ import annotations

import hashlib
import io
import os
import struct
import zlib
from pathlib import Path

import pytest
from PIL import Image

from bulkgc.errors import InvalidImageError, Problem
from bulkgc.scan import (
    ImageInfo,
    PendingIcon,
    check_image,
    digest_icon,
    display_path,
    first_half,
    pixel_check,
    scan_directory,
    scan_images,
    walk_images,
)


def save(img: Image.Image, path: Path, fmt: str | None = None, **params: object) -> Path:
    """Save `img` to `path` and return the path."""
    img.save(path, fmt, **params)
    return path


def rgb(size: tuple[int, int] = (512, 512), color: tuple[int, int, int] = (20, 90, 200)) -> Image.Image:
    """An opaque RGB image with a little structure."""
    img = Image.new("RGB", size, color)
    img.paste((250, 200, 0), (size[0] // 4, size[1] // 4, size[0] // 2, size[1] // 2))
    return img


def png_chunk(kind: bytes, payload: bytes) -> bytes:
    """One PNG chunk with its CRC."""
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def huge_header_png(width: int, height: int) -> bytes:
    """A tiny file whose IHDR claims width x height pixels (a decompression bomb header)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 16)
    chunks = png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", idat) + png_chunk(b"IEND", b"")
    return b"\x89PNG\r\n\x1a\n" + chunks


def reason(problems: list[Problem], path: Path) -> str:
    """The message of the one problem located at `path` (fails if there is none or several)."""
    found = [p.message for p in problems if p.location == display_path(path)]
    assert len(found) == 1, (path, problems)
    return found[0]


def test_valid_png_and_jpeg_pass_with_hash_and_mime(tmp_path: Path) -> None:
    """A 512 RGB PNG and a 1024 RGB JPEG pass; size, sha256 and mime describe the file bytes."""
    png = save(rgb(), tmp_path / "a.png")
    jpg = save(rgb((1024, 1024)), tmp_path / "b.jpeg", quality=80)
    info = check_image(png)
    assert (info.format, info.width, info.height, info.mime) == ("PNG", 512, 512, "image/png")
    assert info.size == png.stat().st_size
    assert info.sha256 == hashlib.sha256(png.read_bytes()).hexdigest()
    jinfo = check_image(jpg)
    assert (jinfo.format, jinfo.width, jinfo.mime, jinfo.notes) == ("JPEG", 1024, "image/jpeg", ())


def test_progressive_jpeg_is_accepted_with_a_note(tmp_path: Path) -> None:
    """A progressive JPEG passes (App Store Connect decodes any baseline/progressive JPEG) and is noted."""
    path = save(rgb(), tmp_path / "p.jpg", quality=80, progressive=True)
    info = check_image(path)
    assert info.notes == ("progressive JPEG",)


def test_check_image_raises_one_problem_with_every_reason(tmp_path: Path) -> None:
    """A wrong-sized RGBA image with transparency gets one Problem naming both faults and the file."""
    img = Image.new("RGBA", (300, 200), (255, 0, 0, 0))
    path = save(img, tmp_path / "bad.png")
    with pytest.raises(InvalidImageError) as caught:
        check_image(path)
    (problem,) = caught.value.problems
    assert problem.location == str(path)
    assert "300x200" in problem.message and "512x512 or 1024x1024" in problem.message
    assert "transparency" in problem.message and "flatten" in problem.message


async def test_every_bad_kind_is_reported_in_one_scan(tmp_path: Path) -> None:
    """One directory scan lists every bad icon with its reason and keeps the good ones."""
    d = tmp_path / "icons"
    d.mkdir()
    good = save(rgb(), d / "good.png")
    good_jpg = save(rgb(), d / "good_progressive.jpg", quality=85, progressive=True)
    bad: dict[str, tuple[Path, str]] = {}

    def expect(key: str, path: Path, fragment: str) -> None:
        bad[key] = (path, fragment)

    (d / "text.png").write_text("not an image at all\n")
    expect("text", d / "text.png", "not a PNG or JPEG")
    noisy = Image.frombytes("RGB", (512, 512), os.urandom(512 * 512 * 3))
    noisy_bytes = io.BytesIO()
    noisy.save(noisy_bytes, "PNG")
    (d / "truncated.png").write_bytes(noisy_bytes.getvalue()[: len(noisy_bytes.getvalue()) // 2])
    expect("truncated", d / "truncated.png", "truncated")
    (d / "empty.png").write_bytes(b"")
    expect("empty", d / "empty.png", "empty (0 bytes)")
    expect("511", save(rgb((511, 512)), d / "w511.png"), "511x512")
    expect("tall", save(rgb((512, 1024)), d / "tall.png"), "512x1024")
    expect("2048", save(rgb((2048, 2048)), d / "big.png"), "2048x2048")
    clear = Image.new("RGBA", (512, 512), (0, 128, 0, 255))
    clear.putpixel((0, 0), (0, 0, 0, 0))
    expect("transparent", save(clear, d / "transparent.png"), "has transparency; flatten")
    expect("opaque_rgba", save(Image.new("RGBA", (512, 512), (9, 9, 9, 255)), d / "opaque_rgba.png"),
           "IMAGE_ALPHA_NOT_ALLOWED")
    expect("palette", save(rgb().convert("P"), d / "palette.png"), "palette (P")
    expect("gray", save(rgb().convert("L"), d / "gray.png"), "grayscale (L)")
    expect("gray_alpha", save(rgb().convert("LA"), d / "gray_alpha.png"), "grayscale with alpha (LA)")
    expect("16bit", save(Image.new("I;16", (512, 512), 30000), d / "sixteen.png"), "16-bit grayscale")
    expect("1bit", save(rgb().convert("1"), d / "onebit.png"), "1-bit")
    expect("cmyk", save(rgb().convert("CMYK"), d / "cmyk.jpg", quality=80), "CMYK")
    expect("gray_jpeg", save(rgb().convert("L"), d / "gray.jpg"), "grayscale (L)")
    frames = [rgb(color=(i * 40, 0, 0)) for i in range(3)]
    apng = d / "animated.png"
    frames[0].save(apng, save_all=True, append_images=frames[1:], duration=100)
    expect("apng", apng, "animated PNG (3 frames)")
    (d / "bomb.png").write_bytes(huge_header_png(40_000, 40_000))
    expect("bomb", d / "bomb.png", "decompression-bomb limit")
    expect("mismatch", save(rgb(), d / "really_jpeg.png", "JPEG"), "content is JPEG")
    expect("gif", save(rgb().convert("P"), d / "anim.png", "GIF"), "is a GIF")
    expect("webp_named_jpg", save(rgb(), d / "w.jpg", "WEBP"), "is a WebP")
    # A manifest may name a path the walk would not list: a directory called like an icon, unreadable files.
    named = tmp_path / "named"
    named.mkdir()
    (named / "dir.png").mkdir()
    expect("directory", named / "dir.png", "is a directory")
    if os.geteuid() != 0:  # root reads mode-000 files anyway; the directory case covers "unreadable" then
        locked = save(rgb(), named / "locked.png")
        locked.chmod(0)
        expect("permission", locked, "permission denied")
    (d / "loop").symlink_to(d, target_is_directory=True)
    expect("dir_loop", d / "loop", "symbolic link loop")
    (d / "self.png").symlink_to(d / "self.png")
    expect("self_loop", d / "self.png", "symbolic link loop")
    (d / "dangling.png").symlink_to(d / "nowhere.png")
    expect("dangling", d / "dangling.png", "broken symbolic link")
    raw_name = os.fsencode(d) + b"/caf\xe9.png"
    with open(raw_name, "wb") as handle:
        rgb().save(handle, "PNG")
    expect("non_utf8", Path(os.fsdecode(raw_name)), "not valid UTF-8")
    (d / ".hidden.png").write_text("hidden junk is skipped")
    (d / "README.txt").write_text("not an icon candidate")

    try:
        paths, walk_problems = walk_images(d)
        infos, image_problems = await scan_images([*paths, *sorted(named.iterdir())], concurrency=3)
        problems = walk_problems + image_problems
        # a push's first half finds every one of them too; only the good PNG is left for the second half
        pending: list[PendingIcon] = []
        half_infos, half_problems = await scan_images([*paths, *sorted(named.iterdir())], concurrency=3,
                                                      pending=pending)
    finally:
        for path, _ in bad.values():
            if path.exists() and not path.is_symlink():
                path.chmod(0o755)

    assert set(infos) == {good, good_jpg}
    assert all(isinstance(i, ImageInfo) for i in infos.values())
    for key, (path, fragment) in bad.items():
        message = reason(problems, path)
        assert fragment in message, (key, message)
    assert len(problems) == len(bad)
    assert [icon.path for icon in pending] == [good] and set(half_infos) == {good_jpg}
    assert [str(p) for p in half_problems] == [str(p) for p in image_problems]
    readable = [p for p in problems if p.location.endswith("caf\\xe9.png")]
    assert len(readable) == 1 and str(readable[0]).encode("utf-8")  # printable: no lone surrogates


def test_bomb_limit_follows_image_max_pixels(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Lowering Image.MAX_IMAGE_PIXELS makes an otherwise valid 512x512 icon a refused bomb, undecoded."""
    path = save(rgb(), tmp_path / "x.png")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    with pytest.raises(InvalidImageError, match="decompression-bomb limit of 1000"):
        check_image(path)


def test_png_with_16_bit_rgb_is_rejected(tmp_path: Path) -> None:
    """A 16-bit-per-channel RGB PNG (which Pillow opens as 8-bit RGB) is caught from the IHDR."""
    raw = b"".join(b"\x00" + b"\x12\x34" * 3 * 512 for _ in range(512))
    ihdr = struct.pack(">IIBBBBB", 512, 512, 16, 2, 0, 0, 0)
    data = b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", zlib.compress(raw))
    path = tmp_path / "rgb16.png"
    path.write_bytes(data + png_chunk(b"IEND", b""))
    with pytest.raises(InvalidImageError, match="16 bits per channel"):
        check_image(path)


def test_rgb_png_with_transparent_colour_key_is_rejected(tmp_path: Path) -> None:
    """An RGB PNG with a tRNS colour key is transparent where that colour appears."""
    path = save(rgb(), tmp_path / "key.png", transparency=(20, 90, 200))
    with pytest.raises(InvalidImageError, match="has transparency"):
        check_image(path)


async def test_scan_images_deduplicates_and_keeps_input_order(tmp_path: Path) -> None:
    """scan_images checks each path once and reports problems in the order the paths were given."""
    a = save(rgb((100, 100)), tmp_path / "a.png")
    b = save(rgb((200, 200)), tmp_path / "b.png")
    ok = save(rgb(), tmp_path / "ok.png")
    infos, problems = await scan_images([b, ok, a, b], concurrency=1)
    assert list(infos) == [ok]
    assert [p.location for p in problems] == [str(b), str(a)]


def test_walk_is_sorted_and_skips_hidden_and_non_icons(tmp_path: Path) -> None:
    """walk_images lists *.png/*.jpg/*.jpeg (any case) sorted, recursing into sub-directories."""
    (tmp_path / "b.PNG").write_bytes(b"x")
    (tmp_path / "a.jpeg").write_bytes(b"x")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "c.jpg").write_bytes(b"x")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "d.png").write_bytes(b"x")
    (tmp_path / "notes.md").write_text("x")
    paths, problems = walk_images(tmp_path)
    assert paths == [tmp_path / "a.jpeg", tmp_path / "b.PNG", tmp_path / "sub" / "c.jpg"]
    assert problems == []


async def test_scan_directory_merges_walk_and_image_problems(tmp_path: Path) -> None:
    """scan_directory returns the walk's problems (a link loop) and the images' problems together."""
    save(rgb(), tmp_path / "ok.png")
    save(rgb((64, 64)), tmp_path / "small.png")
    (tmp_path / "loop").symlink_to(tmp_path, target_is_directory=True)
    infos, problems = await scan_directory(tmp_path)
    assert list(infos) == [tmp_path / "ok.png"]
    assert [p.location for p in problems] == [str(tmp_path / "loop"), str(tmp_path / "small.png")]


def test_walk_of_a_missing_directory_is_a_problem(tmp_path: Path) -> None:
    """Walking a directory that does not exist reports it instead of raising."""
    paths, problems = walk_images(tmp_path / "nope")
    assert paths == [] and len(problems) == 1 and "cannot open" in problems[0].message


def test_oversized_file_is_refused_without_reading_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file over MAX_FILE_BYTES is a problem stating its size (checked before reading)."""
    import bulkgc.scan as scan_module

    path = save(rgb(), tmp_path / "x.png")
    monkeypatch.setattr(scan_module, "MAX_FILE_BYTES", 100)
    with pytest.raises(InvalidImageError, match=f"is {path.stat().st_size} bytes"):
        check_image(path)


async def test_scan_cache_skips_unchanged_files_and_rechecks_changed_ones(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A second scan with the cache decodes nothing unchanged; a rewritten file is decoded again."""
    import bulkgc.scan as scan_mod

    paths = []
    for i in range(3):
        p = tmp_path / f"icon{i}.png"
        Image.new("RGB", (512, 512), (i * 40, 10, 10)).save(p)
        paths.append(p)
    cache_file = tmp_path / ".bulkgc" / "scan-cache.json"
    cache = scan_mod.ScanCache(cache_file)
    first, problems = await scan_mod.scan_images(paths, cache=cache)
    cache.save()
    assert problems == [] and cache_file.exists() and (cache_file.stat().st_mode & 0o777) == 0o600

    decoded: list[Path] = []
    real = scan_mod.check_image
    monkeypatch.setattr(scan_mod, "check_image", lambda p, *a: decoded.append(Path(p)) or real(p, *a))
    second, _ = await scan_mod.scan_images(paths, cache=scan_mod.ScanCache(cache_file))
    assert decoded == [] and second == first

    Image.new("RGBA", (512, 512), (0, 0, 0, 0)).save(paths[1])  # now invalid: must be seen
    third, problems = await scan_mod.scan_images(paths, cache=scan_mod.ScanCache(cache_file))
    assert decoded == [paths[1]] and len(problems) == 1 and paths[1] not in third


def raw_rows(img: Image.Image, filters: bytes | None = None) -> bytes:
    """The unfiltered scanlines of an RGB image, each opened by its filter type byte (0 unless `filters`)."""
    width, height = img.size
    pixels = img.tobytes()
    types = filters or bytes(height)
    return b"".join(bytes([types[y]]) + pixels[y * 3 * width:(y + 1) * 3 * width] for y in range(height))


def rgb_png(img: Image.Image, stream: bytes, *, interlace: int = 0, idat_parts: int = 1, iend: bool = True) -> bytes:
    """A PNG of `img`'s size whose (already compressed) pixel stream is `stream`, split over `idat_parts` IDATs."""
    ihdr = struct.pack(">IIBBBBB", img.width, img.height, 8, 2, 0, 0, interlace)
    step = -(-len(stream) // idat_parts)
    idats = b"".join(png_chunk(b"IDAT", stream[i:i + step]) for i in range(0, len(stream), step))
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + idats + (png_chunk(b"IEND", b"") if iend else b"")


def adam7_stream(img: Image.Image) -> bytes:
    """The raw (filter 0) Adam7-interlaced scanlines of an RGB image, passes in order."""
    passes = ((0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2))
    px = img.load()
    out = bytearray()
    for x0, y0, dx, dy in passes:
        for y in range(y0, img.height, dy):
            row = [px[x, y] for x in range(x0, img.width, dx)]
            if row:
                out += b"\x00" + bytes(c for p in row for c in p)
    return bytes(out)


def pillow_decodes(data: bytes) -> bool:
    """Whether Pillow's full decode of `data` succeeds (the reference the quick check must agree with)."""
    try:
        with Image.open(io.BytesIO(data)) as img:
            img.load()
        return True
    except Exception:  # noqa: BLE001 - any failure is "does not decode"
        return False


def _two_halves(path: Path) -> str | None:
    """A push's verdict on `path`: the first half's, or once that passed the second's (None: valid)."""
    icon = first_half(path)
    if icon is None:  # not for the first half to vouch for: the full check decides (as the push does)
        try:
            check_image(path)
        except InvalidImageError as exc:
            return exc.problems[0].message
        return None
    info, stamp = digest_icon(icon)
    assert info.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    verdict = pixel_check(icon, stamp)
    assert not verdict.changed
    return None if verdict.problem is None else verdict.problem.message


def test_plain_png_pixel_stream_check_agrees_with_a_full_decode(tmp_path: Path) -> None:
    """A valid 8-bit RGB PNG's pixel stream is checked without unpacking it: every way of breaking it is caught
    (a short stream, a bad filter type, broken deflate data, a file cut mid-chunk, a flipped bit) with the same
    verdict as Pillow's full decode, and harmless variants (several IDATs, no IEND) pass as they do there."""
    img = rgb((512, 512))
    raw = raw_rows(img)
    bad_filter = raw_rows(img, filters=bytes([0] * 300 + [9] + [0] * 211))
    good = rgb_png(img, zlib.compress(raw))
    flipped = bytearray(good)
    flipped[good.index(b"IDAT") + 200] ^= 0x10
    cases = {
        "ok": (good, None),
        "ok-split-idat": (rgb_png(img, zlib.compress(raw), idat_parts=5), None),
        "ok-no-iend": (rgb_png(img, zlib.compress(raw), iend=False), None),
        "short-stream": (rgb_png(img, zlib.compress(raw[:-700])), "is truncated"),
        "cut-mid-chunk": (good[: len(good) // 2], "is truncated"),
        "bad-filter-type": (rgb_png(img, zlib.compress(bad_filter)), "unknown filter type"),
        "broken-deflate": (rgb_png(img, zlib.compress(raw)[:40] + b"\xff" * 64 + zlib.compress(raw)[104:]),
                           "cannot be decoded"),
    }
    for name, (data, expected) in cases.items():
        path = tmp_path / f"{name}.png"
        path.write_bytes(data)
        if expected is None:
            assert check_image(path).size == len(data), name
            assert pillow_decodes(data), name
        else:
            with pytest.raises(InvalidImageError) as err:
                check_image(path)
            assert expected in err.value.problems[0].message and "export or copy it again" in str(err.value), name
            assert not pillow_decodes(data), name
        assert _two_halves(path) == (None if expected is None else err.value.problems[0].message), name
    # stricter than Pillow on purpose: a flipped bit breaks the chunk's CRC, which libpng (and so App Store
    # Connect's processing) refuses even where the deflate data still happens to inflate
    path = tmp_path / "flipped.png"
    path.write_bytes(bytes(flipped))
    with pytest.raises(InvalidImageError, match="IDAT chunk fails its checksum"):
        check_image(path)


def test_interlaced_png_is_decoded_in_full_by_pillow(tmp_path: Path) -> None:
    """An Adam7-interlaced RGB PNG (not the quick path) is fully decoded: whole it passes, cut short it fails."""
    img = rgb((512, 512))
    data = rgb_png(img, zlib.compress(adam7_stream(img)), interlace=1)
    with Image.open(io.BytesIO(data)) as probe:
        assert probe.info.get("interlace") and probe.size == (512, 512)
    good = tmp_path / "interlaced.png"
    good.write_bytes(data)
    assert check_image(good).width == 512
    short = tmp_path / "interlaced-short.png"
    short.write_bytes(rgb_png(img, zlib.compress(adam7_stream(img)[:-5000]), interlace=1))
    with pytest.raises(InvalidImageError, match="truncated"):
        check_image(short)
