"""Generated workloads for end-to-end tests: distinct opaque icons and a manifest that uses them."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw

LOCALES = ("en-US", "fr-FR", "de-DE", "ja")


def make_icon(path: Path, index: int, size: int = 512, variant: int = 0) -> None:
    """A distinct, opaque RGB PNG for `index` (and `variant`, to make a changed icon)."""
    r, g, b = (index * 37 + variant * 101) % 256, (index * 91 + 40) % 256, (index * 53 + variant * 17 + 90) % 256
    img = Image.new("RGB", (size, size), (r, g, b))
    draw = ImageDraw.Draw(img)
    step = 16 + index % 48
    for k in range(0, size, step):
        draw.line([(k, 0), (size - k, size)], fill=((r + 90) % 256, (g + 50) % 256, (b + 20) % 256), width=3)
    draw.rectangle([size // 4, size // 4, size // 4 + 40 + variant * 30, size // 2], fill=(255 - r, 255 - g, 255 - b))
    img.save(path, "PNG")


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@dataclass
class Workload:
    root: Path
    manifest: Path
    assets: Path
    app_id: str
    vendors: list[str]
    locales: tuple[str, ...]

    def icon(self, vendor: str, locale: str) -> Path:
        return self.assets / f"{vendor}.{locale}.png"

    def set_text(self, vendor: str, locale: str, field: str, value: str) -> None:
        texts[self.manifest][(vendor, locale, field)] = value
        write_manifest(self)


texts: dict[Path, dict[tuple[str, str, str], str]] = {}


def expected_texts(wl: Workload, vendor: str, locale: str) -> dict[str, str]:
    """The texts the manifest gives `vendor`'s `locale`, by App Store Connect attribute name."""
    i = wl.vendors.index(vendor)
    chosen = texts.get(wl.manifest, {})
    return {
        "name": chosen.get((vendor, locale, "name"), f"Name {i} {locale}"),
        "beforeEarnedDescription": chosen.get((vendor, locale, "before"), f"Do thing {i} ({locale})"),
        "afterEarnedDescription": chosen.get((vendor, locale, "after"), f"Did thing {i} ({locale})"),
    }


def write_manifest(wl: Workload) -> None:
    lines = [f'app_id = "{wl.app_id}"', 'assets = "assets"', ""]
    for i, vendor in enumerate(wl.vendors):
        lines += ["[[achievement]]", f'vendor_identifier = "{vendor}"', f'reference_name = "Achievement {i}"',
                  "points = 5", "show_before_earned = true", "repeatable = false", ""]
        for locale in wl.locales:
            want = expected_texts(wl, vendor, locale)
            lines += [
                f"[achievement.locales.{locale}]",
                f'name = "{want["name"]}"',
                f'before_earned_description = "{want["beforeEarnedDescription"]}"',
                f'after_earned_description = "{want["afterEarnedDescription"]}"',
                "",
            ]
    wl.manifest.write_text("\n".join(lines), encoding="utf-8")


def make_workload(root: Path, achievements: int, locales: tuple[str, ...] = LOCALES, *,
                  app_id: str = "6446000001") -> Workload:
    """`achievements` x `locales` distinct icons found by convention (<vendor>.<locale>.png)."""
    assets = root / "assets"
    assets.mkdir(parents=True, exist_ok=True)
    vendors = [f"com.example.e2e.ach{i:03d}" for i in range(achievements)]
    n = 0
    for vendor in vendors:
        for locale in locales:
            make_icon(assets / f"{vendor}.{locale}.png", n)
            n += 1
    wl = Workload(root, root / "game.toml", assets, app_id, vendors, locales)
    texts[wl.manifest] = {}
    write_manifest(wl)
    return wl


def localization_id(sim: Any, vendor: str, locale: str) -> str:
    """The simulator's id of `vendor`'s `locale` localization in the achievement's latest version."""
    state = sim.state
    ach = next(a for a in state.achievements() if a["attributes"]["vendorIdentifier"] == vendor)
    latest = state.latest_version(ach["id"])
    assert latest is not None, vendor
    (loc,) = [loc for loc in state.localizations_of(latest["id"]) if loc["locale"] == locale]
    return str(loc["id"])


def sim_image_state(img: dict[str, Any]) -> str:
    """The assetDeliveryState the simulator would report for one of its image records."""
    if img.get("committed_at") is None:
        return "AWAITING_UPLOAD"
    result = img.get("result")
    return "UPLOAD_COMPLETE" if result is None else str(result["state"])


def writes(sim: Any, since: int = 0) -> list[Any]:
    """API write requests (POST/PATCH/DELETE) the simulator received after request number `since`."""
    return [r for r in sim.requests[since:] if r.kind == "api" and r.method in ("POST", "PATCH", "DELETE")]


def assert_matches_manifest(sim: Any, wl: Workload) -> None:
    """Every manifest localization exists once with the manifest's texts and holds exactly one COMPLETE image with
    the local file's bytes."""
    state = sim.state
    achievements = {a["attributes"]["vendorIdentifier"]: a for a in state.achievements()}
    assert set(wl.vendors) <= set(achievements)
    locs = state.localizations()
    images = state.images()
    by_loc: dict[str, list[dict[str, Any]]] = {}
    for img in images:
        by_loc.setdefault(img["localization_id"], []).append(img)
    for vendor in wl.vendors:
        ach = achievements[vendor]
        latest = state.latest_version(ach["id"])
        assert latest is not None
        mine = [loc for loc in locs if loc["version_id"] == latest["id"]]
        assert sorted(loc["locale"] for loc in mine) == sorted(wl.locales), vendor
        for loc in mine:
            remote_texts = {name: loc[name] for name in ("name", "beforeEarnedDescription", "afterEarnedDescription")}
            assert remote_texts == expected_texts(wl, vendor, loc["locale"]), (vendor, loc["locale"])
            imgs = by_loc.get(loc["id"], [])
            assert len(imgs) == 1, f"{vendor}/{loc['locale']} holds {len(imgs)} images"
            assert sim_image_state(imgs[0]) == "COMPLETE", (vendor, loc["locale"], imgs[0].get("result"))
            data = state.image_bytes(imgs[0]["id"])
            assert hashlib.sha256(data).hexdigest() == sha256(wl.icon(vendor, loc["locale"])), (vendor, loc["locale"])
    # no image anywhere that is not attached to a live localization (no orphans, no leftovers)
    loc_ids = {loc["id"] for loc in locs}
    assert all(img["localization_id"] in loc_ids for img in images)
    assert len(images) == len(wl.vendors) * len(wl.locales)
