"""Xcode-made `GameCenterResources.gamekit` bundles for tests: achievements, leaderboards, RGBA icons."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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
    root: Path, achievements: int = 2, leaderboards: int = 2, locales: tuple[str, ...] = XCODE_LOCALES
) -> Gamekit:
    """A bundle as Xcode 16 writes it: each localization has an opaque-RGBA image; the last board recurs."""
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
