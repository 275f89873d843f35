"""Generated workloads for end-to-end tests: distinct opaque icons and a manifest that uses them."""

from __future__ import annotations

import functools
import hashlib
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw

LOCALES = ("en-US", "fr-FR", "de-DE", "ja")


def make_icon(path: Path, index: int, size: int = 512, variant: int = 0) -> None:
    """A distinct, opaque RGB PNG for `index` (and `variant`, to make a changed icon)."""
    path.write_bytes(icon_png(index, size, variant))


@functools.lru_cache(maxsize=4096)
def icon_png(index: int, size: int = 512, variant: int = 0) -> bytes:
    """The bytes of `make_icon`'s PNG: drawn and encoded once per session (many tests use the same icons)."""
    r, g, b = (index * 37 + variant * 101) % 256, (index * 91 + 40) % 256, (index * 53 + variant * 17 + 90) % 256
    img = Image.new("RGB", (size, size), (r, g, b))
    draw = ImageDraw.Draw(img)
    step = 16 + index % 48
    for k in range(0, size, step):
        draw.line([(k, 0), (size - k, size)], fill=((r + 90) % 256, (g + 50) % 256, (b + 20) % 256), width=3)
    draw.rectangle([size // 4, size // 4, size // 4 + 40 + variant * 30, size // 2], fill=(255 - r, 255 - g, 255 - b))
    out = io.BytesIO()
    img.save(out, "PNG")
    return out.getvalue()


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@dataclass
class Workload:
    root: Path
    manifest: Path
    assets: Path
    app_id: str
    vendors: list[str]  # achievements
    locales: tuple[str, ...]
    boards: list[str] = field(default_factory=list)  # leaderboards (the first shares the first achievement's id)

    def icon(self, vendor: str, locale: str, kind: str = "achievement") -> Path:
        folder = self.assets / "leaderboards" if kind == "leaderboard" else self.assets
        return folder / f"{vendor}.{locale}.png"

    def set_text(self, vendor: str, locale: str, field: str, value: str, kind: str = "achievement") -> None:
        texts[self.manifest][(vendor, locale, field if kind == "achievement" else f"{kind}:{field}")] = value
        write_manifest(self)

    def of_kind(self, kind: str) -> list[str]:
        return {"achievement": self.vendors, "leaderboard": self.boards}.get(kind, [])


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


def expected_board_texts(wl: Workload, vendor: str, locale: str) -> dict[str, str | None]:
    """The texts the manifest gives leaderboard `vendor`'s `locale`, by App Store Connect attribute name."""
    i = wl.boards.index(vendor)
    chosen = texts.get(wl.manifest, {})
    return {
        "name": chosen.get((vendor, locale, "leaderboard:name"), f"Board {i} {locale}"),
        "formatterOverride": None,
        "formatterSuffix": " pts",
        "formatterSuffixSingular": None,
        "description": chosen.get((vendor, locale, "leaderboard:description"), f"Best of {i} ({locale})"),
    }


def expected(wl: Workload, kind: str, vendor: str, locale: str) -> dict[str, str | None]:
    return expected_texts(wl, vendor, locale) if kind == "achievement" else expected_board_texts(wl, vendor, locale)  # type: ignore[return-value]


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
    for i, vendor in enumerate(wl.boards):
        lines += ["[[leaderboard]]", f'vendor_identifier = "{vendor}"', f'reference_name = "Leaderboard {i}"',
                  'default_formatter = "INTEGER"', 'submission_type = "BEST_SCORE"', 'score_sort_type = "DESC"',
                  "score_range_start = 0", 'score_range_end = "100000"', ""]
        for locale in wl.locales:
            board = expected_board_texts(wl, vendor, locale)
            lines += [f"[leaderboard.locales.{locale}]", f'name = "{board["name"]}"',
                      f'formatter_suffix = "{board["formatterSuffix"]}"', f'description = "{board["description"]}"', ""]
    wl.manifest.write_text("\n".join(lines), encoding="utf-8")


def make_workload(root: Path, achievements: int, locales: tuple[str, ...] = LOCALES, *,
                  app_id: str = "6446000001", leaderboards: int = 0) -> Workload:
    """`achievements` x `locales` distinct icons found by convention (<vendor>.<locale>.png), and as many for
    `leaderboards` (leaderboards/<vendor>.<locale>.png); the first leaderboard shares the first achievement's id."""
    assets = root / "assets"
    (assets / "leaderboards").mkdir(parents=True, exist_ok=True)
    vendors = [f"com.example.e2e.ach{i:03d}" for i in range(achievements)]
    boards = [vendors[0] if i == 0 and vendors else f"com.example.e2e.board{i:03d}" for i in range(leaderboards)]
    wl = Workload(root, root / "game.toml", assets, app_id, vendors, locales, boards)
    n = 0
    for kind in ("achievement", "leaderboard"):
        for vendor in wl.of_kind(kind):
            for locale in locales:
                make_icon(wl.icon(vendor, locale, kind), n)
                n += 1
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
    """Every manifest localization of every kind exists once with the manifest's texts and holds exactly one COMPLETE
    image with the local file's bytes; no image anywhere else."""
    state = sim.state
    for kind in ("achievement", "leaderboard"):
        vendors = wl.of_kind(kind)
        items = {a["attributes"]["vendorIdentifier"]: a for a in state.items(kind)}
        assert set(vendors) <= set(items), kind
        locs = state.localizations(kind)
        images = state.images(kind)
        by_loc: dict[str, list[dict[str, Any]]] = {}
        for img in images:
            by_loc.setdefault(img["localization_id"], []).append(img)
        for vendor in vendors:
            latest = state.latest_version(items[vendor]["id"], kind)
            assert latest is not None
            mine = [loc for loc in locs if loc["version_id"] == latest["id"]]
            assert sorted(loc["locale"] for loc in mine) == sorted(wl.locales), (kind, vendor)
            for loc in mine:
                want = expected(wl, kind, vendor, loc["locale"])
                assert {name: loc.get(name) for name in want} == want, (kind, vendor, loc["locale"])
                imgs = by_loc.get(loc["id"], [])
                assert len(imgs) == 1, f"{kind} {vendor}/{loc['locale']} holds {len(imgs)} images"
                assert sim_image_state(imgs[0]) == "COMPLETE", (kind, vendor, loc["locale"], imgs[0].get("result"))
                data = state.image_bytes(imgs[0]["id"])
                assert hashlib.sha256(data).hexdigest() == sha256(wl.icon(vendor, loc["locale"], kind)), \
                    (kind, vendor, loc["locale"])
        # no image anywhere that is not attached to a live localization (no orphans, no leftovers)
        loc_ids = {loc["id"] for loc in locs}
        assert all(img["localization_id"] in loc_ids for img in images)
        assert len(images) == len(vendors) * len(wl.locales), kind
