"""Headless Chromium for tests: a local page's DOM after its scripts ran (--dump-dom), or a screenshot.

Chromium runs with a fresh profile and every outside connection disabled (no sync, no component updates, no
DNS: every host name resolves to nothing), so loading a report can only ever read the file itself.
If Chromium is missing the tests fail with how to install it; BULKGC_SKIP_BROWSER_TESTS=1 skips them
explicitly (for a laptop without Chromium; CI installs it, see .ci/run).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import pytest

FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-default-apps", "--disable-extensions", "--no-default-browser-check", "--no-proxy-server",
    "--host-resolver-rules=MAP * ~NOTFOUND", "--hide-scrollbars", "--mute-audio",
)
CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def chromium() -> str:
    """The Chromium binary ($BULKGC_CHROMIUM, /usr/bin/chromium or on PATH); fails, or skips if asked."""
    explicit = os.environ.get("BULKGC_CHROMIUM")
    found = explicit or next((p for p in ("/usr/bin/chromium", *map(shutil.which, CANDIDATES))
                              if p and os.access(p, os.X_OK)), None)
    if found:
        return found
    if os.environ.get("BULKGC_SKIP_BROWSER_TESTS") == "1":
        pytest.skip("BULKGC_SKIP_BROWSER_TESTS=1: headless Chromium tests skipped on request")
    pytest.fail("headless Chromium is needed to check the HTML report and was not found: install it "
                "(`apt-get install -y chromium`, as .ci/run does), point BULKGC_CHROMIUM at it, or set "
                "BULKGC_SKIP_BROWSER_TESTS=1 to skip these tests on this machine", pytrace=False)


def _run(args: list[str]) -> subprocess.CompletedProcess[str]:
    with tempfile.TemporaryDirectory(prefix="bulkgc-chromium-") as profile:
        proc = subprocess.run([chromium(), *FLAGS, f"--user-data-dir={profile}", *args], capture_output=True,
                              text=True, timeout=120, check=False)
    assert proc.returncode == 0, f"chromium failed ({proc.returncode}): {proc.stderr[-2000:]}"
    return proc


def dump_dom(page: Path, fragment: str = "") -> str:
    """The serialized DOM of `page` (a local file, optionally `#fragment`) after its scripts ran."""
    url = page.resolve().as_uri() + (f"#{fragment}" if fragment else "")
    out = _run(["--virtual-time-budget=5000", "--dump-dom", url]).stdout
    assert "<html" in out, f"chromium printed no DOM for {url}"
    return out


def screenshot(page: Path, png: Path, width: int = 1280, height: int = 1400) -> Path:
    """A PNG screenshot of `page` at width x height CSS pixels."""
    _run([f"--window-size={width},{height}", f"--screenshot={png}", "--virtual-time-budget=5000",
          page.resolve().as_uri()])
    assert png.exists() and png.stat().st_size > 0, "chromium wrote no screenshot"
    return png


@dataclass
class CardNode:
    """An `<article class="card">` of the rendered DOM: its attributes, text and images."""

    attrs: dict[str, str]
    text: str = ""
    images: list[dict[str, str]] = field(default_factory=list)  # attributes of each <img>
    placeholders: list[str] = field(default_factory=list)  # aria-labels of thumbnails that could not be shown
    tags: list[str] = field(default_factory=list)  # every element inside, by tag name

    @property
    def hidden(self) -> bool:
        return "hidden" in self.attrs

    def __getitem__(self, name: str) -> str:
        return self.attrs.get(f"data-{name}", "")


class _Cards(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.cards: list[CardNode] = []
        self.current: CardNode | None = None
        self.depth = 0
        self.all_tags: list[tuple[str, dict[str, str]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        self.all_tags.append((tag, a))
        if self.current is None:
            if tag == "article" and "card" in a.get("class", "").split():
                self.current, self.depth = CardNode(a), 1
            return
        self.current.tags.append(tag)
        if tag == "img":
            self.current.images.append(a)
            return  # a void element: no end tag
        if a.get("role") == "img":
            self.current.placeholders.append(a.get("aria-label", ""))
        if tag not in ("br", "meta", "input", "hr"):
            self.depth += 1

    def handle_endtag(self, tag: str) -> None:
        if self.current is None or tag == "img":
            return
        self.depth -= 1
        if self.depth == 0:
            self.current.text = " ".join(self.current.text.split())
            self.cards.append(self.current)
            self.current = None

    def handle_data(self, data: str) -> None:
        if self.current is not None:
            self.current.text += data


def parse_cards(dom: str) -> tuple[list[CardNode], list[tuple[str, dict[str, str]]]]:
    """The cards of a DOM, in document order, and every element of the page (tag, attributes)."""
    parser = _Cards()
    parser.feed(dom)
    parser.close()
    return parser.cards, parser.all_tags
