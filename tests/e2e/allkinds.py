"""A workload using all five Game Center kinds (achievements, leaderboards, leaderboard sets, activities,
challenges) in several locales, and the check that App Store Connect holds exactly it."""

from __future__ import annotations

import functools
import hashlib
import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw
from workload import make_icon, sim_image_state

LOCALES = ("en-US", "fr-FR", "ja")
WIDE = (3840, 2160)


def make_wide(path: Path, index: int, variant: int = 0) -> None:
    """A distinct, opaque 3840x2160 RGB PNG (an activity's or challenge's image); small on disk."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(wide_png(index, variant))


@functools.lru_cache(maxsize=256)
def wide_png(index: int, variant: int = 0) -> bytes:
    """The bytes of `make_wide`'s PNG: drawn and encoded (~0.1 s) once per session, not once per test."""
    r, g, b = (
        (index * 37 + variant * 101) % 256,
        (index * 91 + 40) % 256,
        (index * 53 + variant * 17 + 90) % 256,
    )
    img = Image.new("RGB", WIDE, (r, g, b))
    x, y = 100 + 20 * (index % 100), 100 + 10 * (index % 100)
    ImageDraw.Draw(img).rectangle([x, y, x + 800 + 60 * variant, y + 600], fill=(255 - r, 255 - g, 255 - b))
    out = io.BytesIO()
    img.save(out, "PNG", compress_level=1)
    return out.getvalue()


@dataclass
class AllKinds:
    """The manifest's content, kept as data so a test can change it and write the manifest again."""

    root: Path
    app_id: str = "6446000014"
    locales: tuple[str, ...] = LOCALES
    achievements: list[str] = field(default_factory=lambda: ["com.ex.all.ach0", "com.ex.all.ach1"])
    boards: list[str] = field(default_factory=lambda: ["com.ex.all.lb0", "com.ex.all.lb1", "com.ex.all.lb2"])
    # set vendor id -> member leaderboards, in order
    sets: dict[str, list[str]] = field(
        default_factory=lambda: {
            "com.ex.all.set0": ["com.ex.all.lb2", "com.ex.all.lb0"],
            "com.ex.all.set1": ["com.ex.all.lb1", "com.ex.all.lb2", "com.ex.all.lb0"],
        }
    )
    activities: list[str] = field(default_factory=lambda: ["com.ex.all.act0"])
    # challenge vendor id -> its leaderboard
    challenges: dict[str, str] = field(default_factory=lambda: {"com.ex.all.ch0": "com.ex.all.lb1"})
    fallback_url: str = "https://example.com/play/raid"
    texts: dict[tuple[str, str, str, str], str] = field(default_factory=dict)  # (kind, vendor, locale, key)
    attributes: dict[tuple[str, str, str], Any] = field(default_factory=dict)  # (kind, vendor, key) -> value
    localized_wide: bool = True  # activities and challenges have localized images (else only the default one)

    @property
    def manifest(self) -> Path:
        return self.root / "game.toml"

    @property
    def assets(self) -> Path:
        return self.root / "assets"

    def of_kind(self, kind: str) -> list[str]:
        return {
            "achievement": self.achievements,
            "leaderboard": self.boards,
            "leaderboard_set": list(self.sets),
            "activity": self.activities,
            "challenge": list(self.challenges),
        }[kind]

    def image(self, kind: str, vendor: str, slot: str) -> Path:
        """The file of one image slot (a locale, or "default") by the naming convention."""
        folder = {
            "achievement": "",
            "leaderboard": "leaderboards",
            "leaderboard_set": "leaderboard_sets",
            "activity": "activities",
            "challenge": "challenges",
        }[kind]
        return self.assets / folder / f"{vendor}.{slot}.png"

    def slots(self, kind: str) -> tuple[str, ...]:
        """The image slots of an item of `kind`: its locales (if it has localized images), then "default"."""
        if kind not in ("activity", "challenge"):
            return self.locales
        return (self.locales if self.localized_wide else ()) + ("default",)

    def text(self, kind: str, vendor: str, locale: str, key: str) -> str:
        return self.texts.get((kind, vendor, locale, key), f"{kind} {vendor[-4:]} {key} {locale}")

    def want_texts(self, kind: str, vendor: str, locale: str) -> dict[str, Any]:
        """The texts of one localization, by App Store Connect attribute name."""
        if kind == "achievement":
            return {
                "name": self.text(kind, vendor, locale, "name"),
                "beforeEarnedDescription": self.text(kind, vendor, locale, "before"),
                "afterEarnedDescription": self.text(kind, vendor, locale, "after"),
            }
        if kind == "leaderboard":
            return {
                "name": self.text(kind, vendor, locale, "name"),
                "description": self.text(kind, vendor, locale, "description"),
            }
        if kind == "leaderboard_set":
            return {"name": self.text(kind, vendor, locale, "name")}
        return {
            "name": self.text(kind, vendor, locale, "name"),
            "description": self.text(kind, vendor, locale, "description"),
        }

    def write(self) -> None:
        q = json.dumps
        lines = [f"app_id = {q(self.app_id)}", 'assets = "assets"', ""]

        def locs(kind: str, vendor: str) -> None:
            for locale in self.locales:
                want = self.want_texts(kind, vendor, locale)
                keys = {
                    "beforeEarnedDescription": "before_earned_description",
                    "afterEarnedDescription": "after_earned_description",
                }
                lines.append(f"[{kind}.locales.{locale}]")
                lines.extend(f"{keys.get(k, k)} = {q(v)}" for k, v in want.items())
                lines.append("")

        def attrs(kind: str, vendor: str, defaults: dict[str, Any]) -> None:
            for key, value in defaults.items():
                value = self.attributes.get((kind, vendor, key), value)
                if isinstance(value, dict):
                    lines.append(f"{key} = {{ " + ", ".join(f"{k} = {q(v)}" for k, v in value.items()) + " }")
                else:
                    lines.append(f"{key} = {q(value)}")

        for i, v in enumerate(self.achievements):
            lines += ["[[achievement]]", f"vendor_identifier = {q(v)}"]
            attrs(
                "achievement",
                v,
                {
                    "reference_name": f"Achievement {i}",
                    "points": 10,
                    "show_before_earned": True,
                    "repeatable": False,
                },
            )
            lines.append("")
            locs("achievement", v)
        for i, v in enumerate(self.boards):
            lines += ["[[leaderboard]]", f"vendor_identifier = {q(v)}"]
            attrs(
                "leaderboard",
                v,
                {
                    "reference_name": f"Board {i}",
                    "default_formatter": "INTEGER",
                    "submission_type": "BEST_SCORE",
                    "score_sort_type": "DESC",
                },
            )
            lines.append("")
            locs("leaderboard", v)
        for i, (v, members) in enumerate(self.sets.items()):
            lines += ["[[leaderboard_set]]", f"vendor_identifier = {q(v)}", f"leaderboards = {q(members)}"]
            attrs("leaderboard_set", v, {"reference_name": f"Set {i}"})
            lines.append("")
            locs("leaderboard_set", v)
        for i, v in enumerate(self.activities):
            lines += ["[[activity]]", f"vendor_identifier = {q(v)}", f"fallback_url = {q(self.fallback_url)}"]
            attrs(
                "activity",
                v,
                {
                    "reference_name": f"Activity {i}",
                    "play_style": "SYNCHRONOUS",
                    "minimum_players_count": 2,
                    "maximum_players_count": 4,
                    "supports_party_code": True,
                    "properties": {"mode": "raid"},
                },
            )
            lines.append("")
            locs("activity", v)
        for i, (v, board) in enumerate(self.challenges.items()):
            lines += ["[[challenge]]", f"vendor_identifier = {q(v)}", f"leaderboard = {q(board)}"]
            attrs(
                "challenge",
                v,
                {"reference_name": f"Challenge {i}", "challenge_type": "LEADERBOARD", "repeatable": True},
            )
            lines.append("")
            locs("challenge", v)
        self.manifest.write_text("\n".join(lines), encoding="utf-8")


def make_all_kinds(root: Path, *, localized_wide: bool = True, **overrides: Any) -> AllKinds:
    """Write the manifest and one distinct image per slot (icons 512x512, activity/challenge images
    3840x2160); without `localized_wide`, activities and challenges get only their default image."""
    wl = AllKinds(root, localized_wide=localized_wide, **overrides)
    n = 0
    for kind in ("achievement", "leaderboard", "leaderboard_set", "activity", "challenge"):
        for vendor in wl.of_kind(kind):
            for slot in wl.slots(kind):
                path = wl.image(kind, vendor, slot)
                path.parent.mkdir(parents=True, exist_ok=True)
                if kind in ("activity", "challenge"):
                    make_wide(path, n)
                else:
                    make_icon(path, n)
                n += 1
    wl.write()
    return wl


def assert_all_kinds_exact(
    state: Any, wl: AllKinds, *, versions: dict[tuple[str, str], int] | None = None
) -> None:
    """App Store Connect holds exactly the manifest, every kind: one item per vendor id (with `versions`
    versions, default 1), each manifest locale once in the latest version with its texts and one COMPLETE
    image
    holding the local file's bytes, one COMPLETE default image per activity/challenge version, set members in
    the manifest's order, each challenge tied to its leaderboard, activity attributes and fallback URL; no
    reservation or orphan image anywhere."""
    board_ids = {b["attributes"]["vendorIdentifier"]: b["id"] for b in state.items("leaderboard")}
    for kind in ("achievement", "leaderboard", "leaderboard_set", "activity", "challenge"):
        items = {i["attributes"]["vendorIdentifier"]: i for i in state.items(kind)}
        assert sorted(items) == sorted(wl.of_kind(kind)), f"duplicate or missing {kind}"
        images = state.images(kind)
        assert [i["fileName"] for i in images if sim_image_state(i) != "COMPLETE"] == [], f"{kind}: leftovers"
        locs = {loc["id"]: loc for loc in state.localizations(kind)}
        per_owner: dict[str, list[dict[str, Any]]] = {}
        for img in images:
            owner = img["localization_id"] or f"version:{img.get('version_id')}"
            per_owner.setdefault(owner, []).append(img)
        assert all(len(v) == 1 for v in per_owner.values()), f"{kind}: a slot holds two images"
        for vendor, item in items.items():
            n = (versions or {}).get((kind, vendor), 1)
            assert len(state.versions_of(item["id"], kind)) == n, (kind, vendor, "versions")
            latest = state.latest_version(item["id"], kind)
            mine = [loc for loc in locs.values() if loc["version_id"] == latest["id"]]
            assert sorted(loc["locale"] for loc in mine) == sorted(wl.locales), (kind, vendor)
            for loc in mine:
                want = wl.want_texts(kind, vendor, loc["locale"])
                assert {k: loc.get(k) for k in want} == want, (kind, vendor, loc["locale"])
                if loc["locale"] not in wl.slots(kind):
                    assert loc["id"] not in per_owner, (
                        kind,
                        vendor,
                        loc["locale"],
                        "an image nobody asked for",
                    )
                    continue
                (img,) = per_owner.get(loc["id"], [None])
                assert img is not None, (kind, vendor, loc["locale"], "no image")
                digest = hashlib.sha256(state.image_bytes(img["id"])).hexdigest()
                assert (
                    digest == hashlib.sha256(wl.image(kind, vendor, loc["locale"]).read_bytes()).hexdigest()
                )
            if kind in ("activity", "challenge"):
                (img,) = per_owner.get(f"version:{latest['id']}", [None])
                assert img is not None, (kind, vendor, "no default image")
                digest = hashlib.sha256(state.image_bytes(img["id"])).hexdigest()
                assert digest == hashlib.sha256(wl.image(kind, vendor, "default").read_bytes()).hexdigest()
            if kind == "leaderboard_set":
                assert item["leaderboard_ids"] == [board_ids[b] for b in wl.sets[vendor]], (vendor, "members")
            if kind == "challenge":
                assert item["leaderboard_id"] == board_ids[wl.challenges[vendor]], (vendor, "leaderboard")
            if kind == "activity":
                attrs = item["attributes"]
                got = {
                    k: attrs.get(k)
                    for k in (
                        "playStyle",
                        "minimumPlayersCount",
                        "maximumPlayersCount",
                        "supportsPartyCode",
                        "properties",
                    )
                }
                mode = wl.attributes.get(("activity", vendor, "properties"), {"mode": "raid"})
                assert got == {
                    "playStyle": "SYNCHRONOUS",
                    "minimumPlayersCount": 2,
                    "maximumPlayersCount": 4,
                    "supportsPartyCode": True,
                    "properties": mode,
                }, vendor
                assert latest.get("fallbackUrl") == wl.fallback_url


KIND_NAMES = ("achievement", "leaderboard", "leaderboard_set", "activity", "challenge")


def uploaded(sim: Any) -> dict[str, str]:
    """Every image App Store Connect holds, any kind: id -> sha256 of its uploaded bytes."""
    return {
        img["id"]: hashlib.sha256(sim.state.image_bytes(img["id"])).hexdigest()
        for kind in KIND_NAMES
        for img in sim.state.images(kind)
    }


def pixels(path: Path) -> bytes:
    with Image.open(path) as img:
        return img.convert("RGB").tobytes()


def pulled_entries(record: Path) -> dict[tuple[str, str, str], str]:
    """(kind, vendor, locale or "default") -> sha256 of the file, from bulkgc-pulled.json."""
    doc = json.loads(record.read_text(encoding="utf-8"))
    return {
        (e["kind"], e["vendorIdentifier"], e.get("locale") or e["slot"]): sha
        for sha, entries in doc["images"].items()
        for e in entries
    }


def assert_nothing_written(logged: list[dict[str, Any]]) -> None:
    """No write and no upload in what the simulator logged (its /sim/requests)."""
    assert [(r["method"], r["path"]) for r in logged if r["method"] in ("POST", "PATCH", "DELETE")] == []
    assert [r["path"] for r in logged if r["kind"] == "upload"] == []
