"""The import's icon triage and --fix-icons agree: what the import calls fixable is what --fix-icons fixes."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from importsources import icon_bytes
from PIL import Image

from bulkgc.fixicons import analyze_icon
from bulkgc.importers.icons import triage_icon


def translucent() -> bytes:
    img = Image.new("RGBA", (512, 512), (10, 200, 30, 255))
    img.paste((0, 0, 0, 90), (0, 0, 100, 100))
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


ICONS = {
    "valid.png": (lambda: icon_bytes(1), "ok"),
    "small.png": (lambda: icon_bytes(2, size=(300, 300)), "fixable"),
    "opaque-rgba.png": (lambda: icon_bytes(3, mode="RGBA"), "fixable"),
    "gray.png": (lambda: icon_bytes(4, mode="L"), "fixable"),
    "palette.png": (lambda: icon_bytes(5, mode="P"), "fixable"),
    "png-named.jpg": (lambda: icon_bytes(6), "fixable"),
    "wide.png": (lambda: icon_bytes(7, size=(1240, 768)), "refused"),
    "translucent.png": (translucent, "refused"),
    "not-an-image.png": (lambda: b"GIF89a not an icon", "refused"),
}


@pytest.mark.parametrize("name", sorted(ICONS))
def test_triage_follows_fix_icons_analysis(tmp_path: Path, name: str) -> None:
    """Each icon's verdict is the one --fix-icons' analysis gives (fixable iff it makes a copy), and a refusal
    --fix-icons explains carries that explanation."""
    make, expected = ICONS[name]
    path = tmp_path / name
    path.write_bytes(make())
    verdict = triage_icon(path)
    got = "ok" if verdict.ok else ("fixable" if verdict.fixable else "refused")
    assert got == expected, verdict.message
    if verdict.ok:
        return
    fix = analyze_icon(path, None)
    assert verdict.fixable == (fix is not None and fix.refusal is None and fix.data is not None)
    if fix is not None and fix.refusal is not None:
        assert verdict.message.endswith(f"--fix-icons cannot fix it: it {fix.refusal}")
    if name == "translucent.png":
        assert "--icon-background" in verdict.message
