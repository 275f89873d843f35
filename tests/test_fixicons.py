"""--fix-icons: what is converted, what is refused, and that the user's files are never touched."""

from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path

import anyio
import pytest
from PIL import Image

from bulkgc.cli import main
from bulkgc.config import RunSettings, from_sources
from bulkgc.errors import ConfigError, Problem
from bulkgc.fixicons import check_icons, parse_color
from bulkgc.scan import ImageInfo, check_image


def picture(mode: str, size: tuple[int, int] = (512, 512), alpha: int = 255) -> Image.Image:
    """A small picture with structure in `mode` (alpha applied to the right half when the mode has one)."""
    img = Image.new("RGB", size, (20, 120, 220))
    img.paste((250, 180, 10), (size[0] // 4, size[1] // 4, size[0] // 2, size[1] // 2))
    if mode in ("RGBA", "LA"):
        rgba = img.convert("RGBA")
        mask = Image.new("L", size, 255)
        mask.paste(alpha, (size[0] // 2, 0, size[0], size[1]))
        rgba.putalpha(mask)
        return rgba.convert(mode)
    return img.convert(mode)


def save(img: Image.Image, path: Path, **params: object) -> Path:
    img.save(path, "PNG", **params)
    return path


def fix(
    paths: list[Path], tmp: Path, background: tuple[int, int, int] | None = None, on: bool = True
) -> tuple[dict[Path, ImageInfo], list[Problem]]:
    """check_icons as push runs it (fixed copies into `tmp`/fixed), or as without the flag."""
    return anyio.run(lambda: check_icons(paths, fix=on, background=background, fix_dir=tmp / "fixed"))


@pytest.mark.parametrize(
    ("name", "make", "said"),
    [
        ("opaque_rgba", lambda: picture("RGBA"), "removed its fully opaque alpha channel"),
        ("palette", lambda: picture("RGB").convert("P", palette=Image.Palette.ADAPTIVE), "palette"),
        ("grayscale", lambda: picture("L"), "grayscale"),
        ("gray_alpha_opaque", lambda: picture("LA"), "alpha"),
        ("gray16", lambda: picture("L").convert("I;16"), "16-bit"),
        ("wrong_size", lambda: picture("RGB", (600, 600)), "resized 600x600 to 512x512"),
        ("large", lambda: picture("RGBA", (2048, 2048)), "resized 2048x2048 to 1024x1024"),
    ],
)
def test_fixable_icons_become_valid_rgb_pngs_and_sources_stay(
    tmp_path: Path, name: str, make: object, said: str
) -> None:
    """Each fixable kind of icon becomes an 8-bit RGB PNG that passes the checks; the source is unchanged."""
    src = save(make(), tmp_path / f"{name}.png")  # type: ignore[operator]
    before = src.read_bytes()
    infos, problems = fix([src], tmp_path)
    assert problems == []
    info = infos[src]
    assert info.fixed_from == src and info.path != src and info.path.parent == tmp_path / "fixed"
    assert any(said in f for f in info.fixes), info.fixes
    assert check_image(info.path).sha256 == info.sha256 == hashlib.sha256(info.path.read_bytes()).hexdigest()
    with Image.open(info.path) as out:
        assert out.mode == "RGB" and out.size in ((512, 512), (1024, 1024))
    assert src.read_bytes() == before


def test_opaque_rgba_pixels_are_kept_exactly(tmp_path: Path) -> None:
    """Dropping an opaque alpha channel keeps every pixel's colour."""
    src = save(picture("RGBA"), tmp_path / "a.png")
    infos, _ = fix([src], tmp_path)
    with Image.open(infos[src].path) as out, Image.open(src) as orig:
        assert out.tobytes() == orig.convert("RGB").tobytes()


def test_semi_transparent_is_refused_unless_a_background_is_named(tmp_path: Path) -> None:
    """A semi-transparent icon is refused naming --icon-background; with a colour it is flattened onto it."""
    src = save(picture("RGBA", alpha=0), tmp_path / "see-through.png")
    infos, problems = fix([src], tmp_path)
    assert infos == {} and len(problems) == 1
    assert "see-through.png" in problems[0].location and "--icon-background" in problems[0].message
    infos, problems = fix([src], tmp_path, background=(255, 255, 255))
    assert problems == []
    with Image.open(infos[src].path) as out:
        assert out.getpixel((511, 0)) == (255, 255, 255) and out.getpixel((0, 0)) == (20, 120, 220)
    assert any("#FFFFFF" in f for f in infos[src].fixes)


def test_non_square_and_damaged_icons_are_refused(tmp_path: Path) -> None:
    """A non-square icon is refused (never cropped); a truncated one keeps the scan's message."""
    wide = save(picture("RGBA", (1024, 512)), tmp_path / "wide.png")
    data = io.BytesIO()
    picture("RGBA").save(data, "PNG")
    broken = tmp_path / "broken.png"
    broken.write_bytes(data.getvalue()[: len(data.getvalue()) // 2])
    infos, problems = fix([wide, broken], tmp_path)
    assert infos == {}
    by_file = {Path(p.location).name: p.message for p in problems}
    assert "never crops" in by_file["wide.png"]
    assert "truncated" in by_file["broken.png"] and "--fix-icons" not in by_file["broken.png"]


def test_without_the_flag_the_refusal_says_fix_icons_would_fix_it(tmp_path: Path) -> None:
    """Without --fix-icons each fixable refusal names the flag and nothing is written."""
    src = save(picture("RGBA"), tmp_path / "a.png")
    infos, problems = fix([src], tmp_path, on=False)
    assert infos == {} and "--fix-icons would fix it" in problems[0].message
    assert not (tmp_path / "fixed").exists()


def test_fixed_copies_are_a_cache_reused_byte_for_byte(tmp_path: Path) -> None:
    """A second run reuses the cached copy (same bytes, same digest); a changed source makes a new one."""
    src = save(picture("RGBA"), tmp_path / "a.png")
    first, _ = fix([src], tmp_path)
    stamp = first[src].path.stat().st_mtime_ns
    again, _ = fix([src], tmp_path)
    assert again[src].path == first[src].path and again[src].sha256 == first[src].sha256
    assert again[src].path.stat().st_mtime_ns == stamp and again[src].fixes == first[src].fixes
    save(picture("RGBA").rotate(90), src)
    changed, _ = fix([src], tmp_path)
    assert changed[src].path != first[src].path and changed[src].sha256 != first[src].sha256


def test_settings_read_fix_icons_and_background_from_environment() -> None:
    """BULKGC_FIX_ICONS and BULKGC_ICON_BACKGROUND set the run; a bad colour is an error naming the form."""
    s: RunSettings = from_sources(env={"BULKGC_FIX_ICONS": "1", "BULKGC_ICON_BACKGROUND": "#10a0FF"})
    assert s.fix_icons is True and s.icon_background == (16, 160, 255)
    with pytest.raises(ConfigError, match="RRGGBB"):
        from_sources(env={"BULKGC_ICON_BACKGROUND": "white"})
    with pytest.raises(ValueError, match="RRGGBB"):
        parse_color("#12345")


def test_validate_lists_fixes_and_exits_zero(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """validate --fix-icons on a manifest lists what would be converted and writes nothing beside it."""
    monkeypatch.delenv("BULKGC_FIX_ICONS", raising=False)
    assets = tmp_path / "assets"
    assets.mkdir()
    save(picture("RGBA"), assets / "com.example.a.png")
    manifest = tmp_path / "m.toml"
    manifest.write_text(
        'app_id = "1"\n[[achievement]]\nvendor_identifier = "com.example.a"\nreference_name = "A"\n'
        "points = 1\n"
        'show_before_earned = true\nrepeatable = false\n[achievement.locales.en-US]\nname = "A"\n'
        'before_earned_description = "b"\nafter_earned_description = "a"\n',
        encoding="utf-8",
    )
    listing = sorted(p for p in tmp_path.rglob("*"))
    assert main(["validate", str(manifest)]) == 2
    assert "--fix-icons would fix it" in capsys.readouterr().err
    assert main(["validate", str(manifest), "--fix-icons"]) == 0
    out = capsys.readouterr().out
    assert "com.example.a.png: removed its fully opaque alpha channel" in out
    assert sorted(p for p in tmp_path.rglob("*")) == listing


def test_fifo_icon_is_refused_without_blocking(tmp_path: Path) -> None:
    """A FIFO in place of an icon is refused with and without --fix-icons; nothing waits on it."""
    fifo = tmp_path / "pipe.png"
    os.mkfifo(fifo)
    for on in (False, True):
        infos, problems = fix([fifo], tmp_path, on=on)
        assert infos == {} and len(problems) == 1 and "pipe.png" in problems[0].location
        assert "--fix-icons" not in problems[0].message
