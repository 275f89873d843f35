"""Xcode-made `GameCenterResources.gamekit` bundles for tests: achievements, leaderboards, RGBA icons."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from allkinds import make_wide
from PIL import Image, ImageDraw

XCODE_LOCALES = ("en-US", "de-DE", "ja")


def make_rgba_icon(path: Path, index: int, size: int = 512) -> None:
    """A distinct RGBA PNG whose alpha channel is fully opaque, as Xcode and design tools write them."""
    path.parent.mkdir(parents=True, exist_ok=True)
    img = Image.new(
        "RGBA", (size, size), ((index * 41) % 256, (index * 87 + 30) % 256, (index * 13 + 90) % 256, 255)
    )
    draw = ImageDraw.Draw(img)
    for k in range(0, size, 24 + index % 20):
        draw.line([(k, 0), (size - k, size)], fill=(255 - (index * 41) % 256, 200, 40, 255), width=3)
    img.save(path, "PNG")


@dataclass
class Gamekit:
    bundle: Path
    doc: dict[str, Any]
    icons: list[Path]

    @property
    def json_file(self) -> Path:
        return self.bundle / "gameCenterResources.json"

    def write(self) -> None:
        text = json.dumps(self.doc, indent=2, separators=(",", " : ")).replace("/", "\\/")
        self.json_file.write_text(text, encoding="utf-8")


def make_gamekit(
    root: Path,
    achievements: int = 2,
    leaderboards: int = 2,
    locales: tuple[str, ...] = XCODE_LOCALES,
    *,
    newer_kinds: bool = False,
) -> Gamekit:
    """A bundle as Xcode 16 writes it: each localization has an opaque-RGBA image; the last board recurs.

    With `newer_kinds` it also holds two leaderboard sets (ordered members), an activity and a challenge (tied
    to the first board), each activity/challenge with localized 3840x2160 RGB images and a default image, under
    the names bulkgc infers for them (`bulkgc.gamekit.Section`: no public file shows Xcode's)."""
    bundle = root / "GameCenterResources.gamekit"
    bundle.mkdir(parents=True)
    res: dict[str, Any] = {
        "achievements": [],
        "achievementLocalizations": {},
        "achievementImages": {},
        "leaderboards": [],
        "leaderboardLocalizations": {},
        "leaderboardImages": {},
    }
    icons: list[Path] = []
    n = 0
    for i in range(achievements):
        vid = f"com.example.xcode.ach{i}"
        res["achievements"].append(
            {
                "vendorIdentifier": vid,
                "referenceName": f"Achievement {i}",
                "points": 10 + i,
                "showBeforeEarned": True,
                "repeatable": False,
                "archived": False,
                "activityProperties": {},
            }
        )
        locs = []
        for loc in locales:
            local_id = f"{vid}-{loc}"
            locs.append(
                {
                    "locale": loc,
                    "localID": local_id,
                    "name": f"Ach {i} {loc}",
                    "beforeEarnedDescription": f"Do thing {i} ({loc})",
                    "afterEarnedDescription": f"Did thing {i} ({loc})",
                }
            )
            url = f"{loc}/AchievementImage-{local_id}.png"
            make_rgba_icon(bundle / url, n)
            icons.append(bundle / url)
            n += 1
            res["achievementImages"][local_id] = [{"localID": local_id, "url": url}]
        res["achievementLocalizations"][vid] = locs
    for i in range(leaderboards):
        vid = f"com.example.xcode.board{i}"
        board: dict[str, Any] = {
            "vendorIdentifier": vid,
            "referenceName": f"Board {i}",
            "defaultFormatter": "INTEGER",
            "submissionType": "BEST_SCORE",
            "scoreSortType": "DESC",
            "scoreRangeStart": None,
            "scoreRangeEnd": None,
            "visibility": "SHOW_FOR_ALL",
            "archived": False,
            "activityProperties": {},
        }
        if i == leaderboards - 1:  # one recurring leaderboard
            board.update(
                {
                    "recurrenceStartDate": "2026-11-09T06:00:00Z",
                    "recurrenceDuration": "PT168H",
                    "recurrenceRule": "FREQ=DAILY;INTERVAL=7",
                }
            )
        res["leaderboards"].append(board)
        locs = []
        for loc in locales:
            local_id = f"{vid}-{loc}"
            locs.append(
                {
                    "locale": loc,
                    "localID": local_id,
                    "name": f"Board {i} {loc}",
                    "formatterOverride": None,
                    "formatterSuffix": " pts",
                    "description": f"Top {i} {loc}",
                }
            )
            url = f"{loc}/LeaderboardImage-{local_id}.png"
            make_rgba_icon(bundle / url, n, size=1024)
            icons.append(bundle / url)
            n += 1
            res["leaderboardImages"][local_id] = [{"localID": local_id, "url": url}]
        res["leaderboardLocalizations"][vid] = locs
    if newer_kinds:
        boards = [b["vendorIdentifier"] for b in res["leaderboards"]]
        n = _add_newer_kinds(bundle, res, boards, locales, n)
    kit = Gamekit(bundle, {"meta": {"version": "2024-11-15"}, "resources": res}, icons)
    kit.write()
    return kit


def resources_as_data(doc: dict[str, Any]) -> dict[str, Any]:
    """`resources` compared as data: nulls and Xcode-only defaults dropped, arrays in a stable order, image
    urls reduced to which localID has an image."""

    def clean(obj: Any) -> Any:
        if isinstance(obj, dict):
            return {k: clean(v) for k, v in obj.items() if v is not None and k != "activityProperties"}
        if isinstance(obj, list):
            return [clean(v) for v in obj]
        return obj

    res = clean(doc["resources"])
    out: dict[str, Any] = {}
    for key, value in res.items():
        if key.endswith("Images"):
            out[key] = sorted(value)
        elif key.endswith("Localizations"):
            out[key] = {vid: sorted(locs, key=lambda e: e["locale"]) for vid, locs in value.items()}
        else:
            out[key] = sorted(value, key=lambda e: e["vendorIdentifier"])
    return out


def _add_newer_kinds(
    bundle: Path, res: dict[str, Any], boards: list[str], locales: tuple[str, ...], n: int
) -> int:
    """Leaderboard sets, an activity and a challenge (names as `bulkgc.gamekit.Section` infers them)."""
    sets = {"com.example.xcode.set0": boards[::-1], "com.example.xcode.set1": boards[:1]}
    res["leaderboardSets"] = [
        {"vendorIdentifier": vid, "referenceName": f"Set {i}", "leaderboardVendorIdentifiers": members}
        for i, (vid, members) in enumerate(sets.items())
    ]
    res["leaderboardSetLocalizations"] = {
        vid: [{"locale": loc, "localID": f"{vid}-{loc}", "name": f"Set {vid[-1]} {loc}"} for loc in locales]
        for vid in sets
    }
    res["leaderboardSetImages"] = {}
    for vid in sets:  # sets' icons are optional: only the first locale has one
        local_id = f"{vid}-{locales[0]}"
        url = f"{locales[0]}/LeaderboardSetImage-{local_id}.png"
        make_rgba_icon(bundle / url, n)
        Image.open(bundle / url).convert("RGB").save(bundle / url)
        n += 1
        res["leaderboardSetImages"][local_id] = [{"localID": local_id, "url": url}]
    act, chal = "com.example.xcode.raid", "com.example.xcode.weekly"
    res["activities"] = [
        {
            "vendorIdentifier": act,
            "referenceName": "Raid",
            "playStyle": "SYNCHRONOUS",
            "minimumPlayersCount": 2,
            "maximumPlayersCount": 6,
            "supportsPartyCode": True,
            "properties": {"mode": "raid", "tier": "3"},
            "archived": False,
            "fallbackUrl": "https://example.com/raid",
        }
    ]
    res["challenges"] = [
        {
            "vendorIdentifier": chal,
            "referenceName": "Weekly",
            "challengeType": "LEADERBOARD",
            "repeatable": True,
            "archived": False,
            "leaderboardVendorIdentifier": boards[0],
        }
    ]
    for section, title, vid in (("activity", "Activity", act), ("challenge", "Challenge", chal)):
        res[f"{section}Localizations"] = {
            vid: [
                {"locale": loc, "localID": f"{vid}-{loc}", "name": f"{title} {loc}", "description": f"Go {loc}"}
                for loc in locales
            ]
        }
        res[f"{section}Images"] = {}
        for loc in locales:
            local_id = f"{vid}-{loc}"
            url = f"{loc}/{title}Image-{local_id}.png"
            make_wide(bundle / url, n)
            n += 1
            res[f"{section}Images"][local_id] = [{"localID": local_id, "url": url}]
        url = f"{title}DefaultImage-{vid}.png"
        make_wide(bundle / url, n)
        n += 1
        res[f"{section}DefaultImages"] = {vid: [{"vendorIdentifier": vid, "url": url}]}
    return n
