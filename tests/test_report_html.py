"""The HTML report's renderer and thumbnail cache on their own: escaping, redaction, honest thumbnails."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

from PIL import Image

from bulkgc.report import ItemResult, RunReport
from bulkgc.report_html import build_cards, render_html
from bulkgc.thumbnails import THUMB_EDGE, ThumbnailCache

JWT = "eyJhbGciOiJFUzI1NiJ9.eyJpc3MiOiJ4eXoifQ.c2lnbmF0dXJlc2lnbmF0dXJl"
PEM = "-----BEGIN PRIVATE KEY-----\nMIGTAgEAMBMGByqGSM49AgEGCCqGSM49\n-----END PRIVATE KEY-----"


def _png(path: Path, colour: tuple[int, int, int]) -> bytes:
    Image.new("RGB", (512, 512), colour).save(path, "PNG")
    return path.read_bytes()


def test_markup_is_escaped_and_secrets_are_redacted_in_the_page() -> None:
    """Markup in vendor ids, texts and messages shows as text; a JWT, a PEM key, a signed URL never show."""
    items = [
        ItemResult(kind="localization", vendor_identifier="com.x.<img src=x onerror=alert(1)>",
                   locale="en-US", action="update", outcome="failed",
                   error_codes=["ENTITY_ERROR.ATTRIBUTE.INVALID"],
                   message=f"token {JWT} key {PEM} url https://up.example/part?Signature=abc123",
                   changes={"name": ["</del><script>alert(1)</script>", f"new {JWT}"]}),
    ]
    report = RunReport(command="push", started=0.0, finished=1.0, items=items,
                       target={"base_url": "https://user:pw@api.example/?sig=zzz", "app_id": "1"})
    page = render_html(report, {})
    for secret in (JWT, "MIGTAgEAMBMGByqGSM49", "Signature=abc123", "user:pw", "sig=zzz"):
        assert secret not in page
    assert "<script>alert" not in page and "<img src=x" not in page
    assert "&lt;/del&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "ENTITY_ERROR.ATTRIBUTE.INVALID" in page and "fix the named attribute" in page


def test_cards_merge_texts_and_image_and_put_failures_first() -> None:
    """A card per localization: texts' and image's items merged, the worse outcome decides, failures first."""
    def item(kind: str, locale: str, outcome: str, **kw: object) -> ItemResult:
        return ItemResult(kind=kind, vendor_identifier="com.x.a", locale=locale, outcome=outcome,
                          **kw)  # type: ignore[arg-type]

    report = RunReport(command="push", started=0.0, finished=1.0, items=[
        ItemResult(kind="achievement", vendor_identifier="com.x.a", outcome="done"),
        item("localization", "en-US", "done", action="update", changes={"name": ["a", "b"]}),
        item("image", "en-US", "unchanged"),
        item("localization", "fr-FR", "unchanged"),
        item("image", "fr-FR", "failed", action="replace", error_codes=["IMAGE_ASSET_CORRUPT"],
             final_state="FAILED"),
    ])
    cards = build_cards(report)
    assert [(c.locale, c.state, c.codes) for c in cards] == [
        ("fr-FR", "failed", ["IMAGE_ASSET_CORRUPT"]), ("en-US", "complete", [])]
    assert cards[1].changes == {"name": ["a", "b"]} and cards[0].image_action == "replace"


def test_thumbnail_is_made_only_from_the_bytes_the_digest_names(tmp_path: Path) -> None:
    """The cache makes a thumbnail from a file only when its sha256 matches, keeps it, serves it by digest."""
    icon = tmp_path / "icon.png"
    data = _png(icon, (200, 30, 30))
    digest = hashlib.sha256(data).hexdigest()
    cache = ThumbnailCache(tmp_path / "thumbs")
    assert cache.get("0" * 64, icon) is None  # another file's digest: no picture rather than a wrong one
    thumb = cache.get(digest, icon)
    assert thumb is not None and cache.made == 1
    with Image.open(io.BytesIO(thumb)) as im:
        assert im.size == (THUMB_EDGE, THUMB_EDGE) and im.convert("RGB").getpixel((48, 48))[0] > 150
    _png(icon, (30, 30, 200))  # the file changes: the old digest is still served, from the cache
    assert ThumbnailCache(tmp_path / "thumbs").get(digest[:12]) == thumb
    assert ThumbnailCache(tmp_path / "thumbs").get(digest, icon) == thumb
