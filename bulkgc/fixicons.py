"""`--fix-icons`: icons App Store Connect would refuse, converted on request into cached copies, never in
place.

What is fixed: an alpha channel that is fully opaque, a palette, grayscale or 16-bit image (-> 8-bit RGB PNG),
a square of a size Apple does not take (resized with a Lanczos filter to the nearest accepted size). What is
refused: a semi-transparent image unless the user names a background colour (`--icon-background '#RRGGBB'`), a
non-square image (no silent crop), anything damaged. The fixed PNG is written to a cache directory beside the
journal, named by the source's digest and the fix, so a re-run reuses it byte for byte: digests, remote
`fileName`s, the journal and the plan all key on the bytes actually uploaded, and a re-run is still 0 writes.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path

import anyio
import anyio.to_thread
from PIL import Image

from bulkgc.errors import InvalidImageError, Problem
from bulkgc.scan import (
    ALLOWED_SIZES,
    ImageInfo,
    PendingIcon,
    ScanCache,
    check_image,
    check_threads,
    display_path,
    read_image_file,
    scan_images,
)

# Bump when the conversion changes: cached copies made by an older rule are then made again.
FIX_VERSION = 1
_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
_JPEG_MAGIC = b"\xff\xd8\xff"
_SIXTEEN_BIT = ("I;16", "I;16B", "I;16L", "I;16N", "I")


def parse_color(text: str) -> tuple[int, int, int]:
    """'#RRGGBB' (or 'RRGGBB') -> (r, g, b); ValueError naming the expected form otherwise."""
    value = str(text).strip().lstrip("#")
    if len(value) != 6 or any(c not in "0123456789abcdefABCDEF" for c in value):
        raise ValueError(f"{text!r} is not a colour; write it as '#RRGGBB', e.g. '#000000' for black")
    return int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16)


def color_text(color: tuple[int, int, int]) -> str:
    return "#{:02X}{:02X}{:02X}".format(*color)


@dataclass(frozen=True)
class IconFix:
    """What --fix-icons does (or refuses to do) with one icon."""

    source: Path
    fixes: tuple[str, ...]  # what the conversion changes, for people
    refusal: str | None = None  # why it cannot be fixed (None: it can)
    data: bytes | None = None  # the fixed PNG (only when it can be fixed)


def _read_source(path: Path) -> bytes | None:
    """The icon's bytes as the scan reads them (regular files only, size-capped: never a FIFO or /dev/zero);
    None when it cannot be read (the scan's message already says why)."""
    try:
        return read_image_file(path)
    except (InvalidImageError, OSError):
        return None


def _bit_depth(data: bytes) -> int | None:
    if data.startswith(_PNG_MAGIC) and len(data) >= 26 and data[12:16] == b"IHDR":
        return data[24]
    return None


def analyze_icon(
    path: Path,
    background: tuple[int, int, int] | None,
    sizes: tuple[tuple[int, int], ...] = ALLOWED_SIZES,
) -> IconFix | None:
    """How --fix-icons would fix `path`; None when it is no image a conversion could help (damaged, not an
    image).

    Synchronous and CPU-bound (a full decode): run it in a worker thread."""
    data = _read_source(path)
    if data is None or not (data.startswith(_PNG_MAGIC) or data.startswith(_JPEG_MAGIC)):
        return None
    try:
        img = Image.open(io.BytesIO(data))
        limit = Image.MAX_IMAGE_PIXELS
        if limit is not None and img.size[0] * img.size[1] > limit:
            return None
        if getattr(img, "n_frames", 1) > 1:
            return None
        img.load()
    except Exception:  # noqa: BLE001 - any decoder failure: nothing to fix, the scan's message stands
        return None
    width, height = img.size
    fixes: list[str] = []
    shaped = [size for size in sizes if size[0] * height == size[1] * width]
    if not shaped:
        want = " or ".join(f"{w}x{h}" for w, h in sizes)
        shape = "not square" if all(w == h for w, h in sizes) else f"not the shape of {want}"
        why = f"is {width}x{height}, {shape}: --fix-icons never crops; export it at {want}"
        return IconFix(path, (), why)
    mode = img.mode
    has_alpha = mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in img.info
    if has_alpha:
        rgba = img.convert("RGBA")
        alpha = rgba.getchannel("A")
        if alpha.getextrema()[0] == 255:
            fixes.append("removed its fully opaque alpha channel")
            out = rgba.convert("RGB")
        elif background is not None:
            fixes.append(f"flattened its transparency onto {color_text(background)}")
            out = Image.new("RGB", img.size, background)
            out.paste(rgba, mask=alpha)
        else:
            why = (
                "has transparency: pass --icon-background '#RRGGBB' with --fix-icons to flatten it onto that "
                "colour, or flatten it yourself"
            )
            return IconFix(path, (), why)
    elif mode in _SIXTEEN_BIT:
        fixes.append("converted 16-bit grayscale to 8-bit RGB")
        # scale, not clip: 16-bit values become 8-bit ones (i / 256)
        out = img.convert("I").point(lambda i: i * (1 / 256)).convert("L").convert("RGB")
    else:
        out = img.convert("RGB")
    if mode == "P":
        fixes.append("converted palette colours to RGB")
    elif mode in ("L", "LA", "1"):
        fixes.append("converted grayscale to RGB")
    elif mode == "CMYK":
        fixes.append("converted CMYK to RGB")
    elif mode not in ("RGB", "RGBA", *_SIXTEEN_BIT):
        fixes.append(f"converted {mode} to RGB")
    depth = _bit_depth(data)
    if depth is not None and depth > 8 and mode in ("RGB", "RGBA"):
        fixes.append(f"reduced {depth} bits per channel to 8")
    if (width, height) not in sizes:
        target = min(shaped, key=lambda s: (abs(s[0] - width), -s[0]))
        fixes.append(f"resized {width}x{height} to {target[0]}x{target[1]} (Lanczos)")
        out = out.resize(target, Image.Resampling.LANCZOS)
    fmt = "PNG" if data.startswith(_PNG_MAGIC) else "JPEG"
    if fmt != "PNG" and fixes:
        fixes.append("saved as PNG")
    if path.suffix.lower() not in ((".png",) if fmt == "PNG" else (".jpg", ".jpeg")):
        fixes.append("saved as PNG under a .png name")
    if not fixes:
        return None
    buffer = io.BytesIO()
    out.save(buffer, format="PNG", optimize=False, compress_level=6)
    return IconFix(path, tuple(fixes), None, buffer.getvalue())


def _fix_signature(background: tuple[int, int, int] | None, sizes: tuple[tuple[int, int], ...]) -> str:
    text = f"{FIX_VERSION}|{color_text(background) if background else '-'}|{sizes}"
    return hashlib.sha256(text.encode()).hexdigest()[:8]


def _cache_names(
    path: Path, background: tuple[int, int, int] | None, fix_dir: Path, sizes: tuple[tuple[int, int], ...]
) -> tuple[Path, Path] | None:
    """(fixed PNG, its notes) in the cache for the current content of `path`; None when it cannot be read."""
    source = _read_source(path)
    if source is None:
        return None
    name = f"{hashlib.sha256(source).hexdigest()[:24]}-{_fix_signature(background, sizes)}"
    return fix_dir / f"{name}.png", fix_dir / f"{name}.json"


def _checked_copy(
    path: Path,
    target: Path,
    fixes: tuple[str, ...],
    scan_cache: ScanCache | None,
    sizes: tuple[tuple[int, int], ...],
) -> ImageInfo | Problem:
    try:
        hit = scan_cache.get(target) if scan_cache is not None else None
        if hit is not None and (hit.width, hit.height) in sizes:
            info = hit
        else:
            info = check_image(target, sizes)
            if scan_cache is not None:
                scan_cache.put(info, target.stat())
    except InvalidImageError as exc:  # a conversion that does not pass the checks: say so, never upload it
        why = f"--fix-icons made {target} but it still fails: {exc.problems[0].message}"
        return Problem(display_path(path), why)
    return replace(info, fixed_from=path, fixes=fixes)


def _cached_fix(
    path: Path,
    background: tuple[int, int, int] | None,
    fix_dir: Path,
    scan_cache: ScanCache | None,
    sizes: tuple[tuple[int, int], ...] = ALLOWED_SIZES,
) -> ImageInfo | None:
    """The copy an earlier run made of this content (same digest, same fix), without decoding the source."""
    names = _cache_names(path, background, fix_dir, sizes)
    if names is None or not names[0].is_file():
        return None
    try:
        fixes = tuple(json.loads(names[1].read_text(encoding="utf-8"))["fixes"])
    except (OSError, ValueError, TypeError, KeyError):
        return None
    outcome = _checked_copy(path, names[0], fixes, scan_cache, sizes)
    return outcome if isinstance(outcome, ImageInfo) else None


def _fixed(
    path: Path,
    background: tuple[int, int, int] | None,
    fix_dir: Path,
    scan_cache: ScanCache | None,
    sizes: tuple[tuple[int, int], ...] = ALLOWED_SIZES,
) -> ImageInfo | Problem | None:
    """The fixed copy of `path`, made now; a Problem when refused; None when a conversion cannot help."""
    names = _cache_names(path, background, fix_dir, sizes)
    if names is None:
        return None
    target, notes = names
    fix = analyze_icon(path, background, sizes)
    if fix is None:
        return None
    if fix.refusal is not None:
        return Problem(display_path(path), f"--fix-icons cannot fix it: it {fix.refusal}")
    assert fix.data is not None
    fix_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    # the PNG first, its notes last: notes present means the copy is complete
    for dest, payload in ((target, fix.data), (notes, json.dumps({"fixes": list(fix.fixes)}).encode())):
        tmp = dest.with_name(f"{dest.name}.{os.getpid()}.tmp")
        tmp.write_bytes(payload)
        os.replace(tmp, dest)
    return _checked_copy(path, target, fix.fixes, scan_cache, sizes)


def _advice(
    path: Path, background: tuple[int, int, int] | None, sizes: tuple[tuple[int, int], ...] = ALLOWED_SIZES
) -> str | None:
    """What --fix-icons would do for a refused icon, as a sentence (None: it would not help)."""
    fix = analyze_icon(path, background, sizes)
    if fix is None:
        return None
    if fix.refusal is not None:
        if "transparency" in fix.refusal:
            return "--fix-icons --icon-background '#RRGGBB' would flatten it onto that colour"
        return None
    return f"--fix-icons would fix it ({', '.join(fix.fixes)}) in a copy; your file stays as it is"


async def check_icons(
    paths: Iterable[str | os.PathLike[str]],
    *,
    fix: bool = False,
    background: tuple[int, int, int] | None = None,
    fix_dir: Path | None = None,
    cache: ScanCache | None = None,
    sizes: Mapping[Path, tuple[tuple[int, int], ...]] | None = None,
    pending: list[PendingIcon] | None = None,
) -> tuple[dict[Path, ImageInfo], list[Problem]]:
    """Check every icon; with `fix`, refused ones are converted into `fix_dir` (their ImageInfo describes the
    copy that is uploaded, `fixed_from` the user's file). Without `fix`, each refusal a conversion would cure
    says so. With a `pending` list, plain PNGs get only the first half of the checks and go there
    (`scan_images`): what they hold can only be damaged pixel data, which no conversion cures."""
    unique = list(dict.fromkeys(Path(p) for p in paths))
    limiter = anyio.CapacityLimiter(check_threads())
    known: dict[Path, ImageInfo] = {}
    fixing = fix and fix_dir is not None

    def allowed(path: Path) -> tuple[tuple[int, int], ...]:
        return (sizes or {}).get(path, ALLOWED_SIZES)

    async def reuse(path: Path) -> None:
        assert fix_dir is not None
        info = await anyio.to_thread.run_sync(
            _cached_fix, path, background, fix_dir, cache, allowed(path), limiter=limiter
        )
        if info is not None:
            known[path] = info

    if fixing:  # a source converted before (same digest) is not decoded again: most of a re-run's CPU
        async with anyio.create_task_group() as tg:
            for path in unique:
                tg.start_soon(reuse, path)
    halves: list[PendingIcon] = []
    infos, problems = await scan_images([p for p in unique if p not in known], cache=cache, sizes=sizes,
                                        pending=halves if pending is not None else None)
    infos.update(known)
    if pending is not None:
        pending += halves
    half_checked = {icon.path for icon in halves}
    failing = [p for p in unique if p not in infos and p not in half_checked]
    by_path = dict(zip(failing, problems, strict=True))
    results: dict[Path, ImageInfo | Problem] = {}

    async def settle(path: Path) -> None:
        problem = by_path[path]
        if fixing:
            assert fix_dir is not None
            outcome = await anyio.to_thread.run_sync(
                _fixed, path, background, fix_dir, cache, allowed(path), limiter=limiter
            )
            if isinstance(outcome, Problem):
                results[path] = Problem(problem.location, f"{problem.message}; {outcome.message}")
            else:
                results[path] = outcome if outcome is not None else problem
        else:
            advice = await anyio.to_thread.run_sync(_advice, path, background, allowed(path), limiter=limiter)
            results[path] = Problem(problem.location, f"{problem.message}; {advice}") if advice else problem

    async with anyio.create_task_group() as tg:
        for path in failing:
            tg.start_soon(settle, path)
    for path in failing:
        outcome = results[path]
        if isinstance(outcome, ImageInfo):
            infos[path] = outcome
    out = [r for p in failing if isinstance(r := results[p], Problem)]
    ordered = {p: infos[p] for p in unique if p in infos}
    return ordered, out


def fixed_icons(infos: Iterable[ImageInfo]) -> list[tuple[str, tuple[str, ...]]]:
    """(user's file, fixes) of every icon that --fix-icons converted, for validate, plan and the report."""
    return [(display_path(i.fixed_from), i.fixes) for i in infos if i.fixed_from is not None]
