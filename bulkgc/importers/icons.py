"""Icon triage: `bulkgc validate`'s checks, and whether a refused icon only needs what `--fix-icons` does.

What is fixable, and how, is decided in one place, `bulkgc.fixicons.analyze_icon`: an icon the import calls
fixable is one `validate --fix-icons` and `push --fix-icons` will convert."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bulkgc.errors import InvalidImageError
from bulkgc.fixicons import analyze_icon
from bulkgc.scan import check_image

ICON_EXTENSIONS = (".png", ".jpg", ".jpeg")


@dataclass
class IconVerdict:
    """What the local checks say of one source icon."""

    ok: bool
    fixable: bool  # --fix-icons would convert it into a valid copy (no background colour needed)
    message: str  # the checks' message (empty when ok), with why --fix-icons cannot help when it cannot


def triage_icon(path: Path) -> IconVerdict:
    """Check one icon as `bulkgc validate` does; when refused, tell a mechanical fix from a designer's.

    An import has no `--icon-background`: a semi-transparent icon is not fixable here (the message says how
    `--fix-icons --icon-background` would flatten it)."""
    try:
        check_image(path)
        return IconVerdict(True, False, "")
    except InvalidImageError as exc:
        message = "; ".join(p.message for p in exc.problems)
    fix = analyze_icon(path, None)
    if fix is None:  # damaged, not an image, or nothing a conversion changes: the checks' message says it
        return IconVerdict(False, False, message)
    if fix.refusal is not None:
        return IconVerdict(False, False, f"{message}; --fix-icons cannot fix it: it {fix.refusal}")
    return IconVerdict(False, True, message)


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
