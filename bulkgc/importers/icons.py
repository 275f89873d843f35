"""Icon triage: `bulkgc validate`'s checks, and whether a refused icon only needs a mechanical conversion."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from bulkgc.errors import InvalidImageError
from bulkgc.scan import MAX_FILE_BYTES, check_image

ICON_EXTENSIONS = (".png", ".jpg", ".jpeg")


@dataclass
class IconVerdict:
    """What the local checks say of one source icon."""

    ok: bool
    fixable: bool  # square, opaque, decodable: a conversion/resize would make it valid
    message: str  # the checks' message (empty when ok)


def triage_icon(path: Path) -> IconVerdict:
    """Check one icon as `bulkgc validate` does; when refused, tell a mechanical fix from a designer's."""
    try:
        check_image(path)
        return IconVerdict(True, False, "")
    except InvalidImageError as exc:
        message = "; ".join(p.message for p in exc.problems)
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            return IconVerdict(False, False, message)
        with Image.open(path) as img:
            fmt, (width, height), frames = img.format, img.size, getattr(img, "n_frames", 1)
            limit = Image.MAX_IMAGE_PIXELS
            if limit is not None and width * height > limit:  # never decode a bomb
                return IconVerdict(False, False, message)
            img.load()
            translucent = False
            if "A" in img.mode or "transparency" in img.info:
                alpha = img.convert("RGBA").getchannel("A")
                translucent = alpha.point(lambda a: 255 - a).getbbox() is not None
    except Exception:  # noqa: BLE001 - whatever Pillow says, the checks' message already explains it
        return IconVerdict(False, False, message)
    expected = {"PNG": (".png",), "JPEG": (".jpg", ".jpeg")}.get(str(fmt), ())
    if width != height:
        message += f"; it is not square ({width}x{height}): crop it to a square first (bulkgc never crops)"
    fixable = path.suffix.lower() in expected and width == height and frames == 1 and not translucent
    return IconVerdict(False, fixable, message)


def find_icon(icons_dir: Path, names: list[str]) -> str | None:
    """The first of `names` (each tried as given, then with .png/.jpg/.jpeg) that is a file in `icons_dir`."""
    for name in names:
        if not name or "/" in name or "\\" in name or name in (".", ".."):
            continue
        candidates = [name] if Path(name).suffix.lower() in ICON_EXTENSIONS else []
        candidates += [name + ext for ext in ICON_EXTENSIONS]
        for candidate in candidates:
            if (icons_dir / candidate).is_file():
                return candidate
    return None
