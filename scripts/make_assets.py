"""Generate the deterministic sample icons (achievements, leaderboards) of the "Star Rover" example into assets/."""

from __future__ import annotations

import argparse
import colorsys
import math
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

SIZE = 512
PREFIX = "com.starrover.ach."


@dataclass(frozen=True)
class Icon:
    """One icon to draw: file name (relative to the assets dir), shape, label and hue."""

    file: str
    shape: str
    label: str
    hue: float


# Convention files (<vendor>.png, <vendor>.<locale>.png; leaderboards/ for leaderboards) plus the explicitly
# referenced ones (badges/ for a per-achievement `image`, localized/ for a per-localization `image`).
ICONS: tuple[Icon, ...] = (
    Icon(f"{PREFIX}first_landing.png", "triangle", "LAND", 0.58),
    Icon(f"{PREFIX}crater_explorer.png", "circle", "CRATER", 0.08),
    Icon(f"{PREFIX}ice_miner.png", "diamond", "ICE", 0.52),
    Icon(f"{PREFIX}dust_storm.png", "spiral", "STORM", 0.11),
    Icon(f"{PREFIX}solar_array.png", "square", "SOLAR", 0.15),
    Icon(f"{PREFIX}deep_drill.png", "bars", "DRILL", 0.03),
    Icon(f"{PREFIX}alien_artifact.png", "hexagon", "RELIC", 0.78),
    Icon(f"{PREFIX}alien_artifact.ja.png", "hexagon", "JA", 0.83),
    Icon(f"{PREFIX}alien_artifact.de-DE.png", "hexagon", "DE", 0.73),
    Icon(f"{PREFIX}night_drive.png", "moon", "NIGHT", 0.66),
    Icon(f"{PREFIX}comet_chaser.png", "comet", "COMET", 0.55),
    Icon(f"{PREFIX}wormhole.png", "rings", "WARP", 0.88),
    Icon(f"{PREFIX}full_upgrade.png", "star", "MAX", 0.13),
    Icon(f"{PREFIX}first_landing.fr-FR.png", "triangle", "FR", 0.62),
    Icon("badges/speed_run.png", "bolt", "FAST", 0.0),
    Icon("badges/grand_tour.png", "star", "TOUR", 0.33),
    Icon("localized/rescue_mission.en-US.png", "cross", "SOS", 0.97),
    Icon("localized/rescue_mission.fr-FR.png", "cross", "SOS FR", 0.95),
    Icon("localized/rescue_mission.de-DE.png", "cross", "SOS DE", 0.93),
    Icon("localized/rescue_mission.ja.png", "cross", "SOS JA", 0.91),
    # leaderboards find theirs by convention in leaderboards/ (their icon is optional)
    Icon("leaderboards/com.starrover.lb.longest_drive.png", "bars", "DRIVE", 0.45),
)


def _color(hue: float, saturation: float, value: float) -> tuple[int, int, int]:
    r, g, b = colorsys.hsv_to_rgb(hue % 1.0, saturation, value)
    return round(r * 255), round(g * 255), round(b * 255)


def _polygon(sides: int, radius: float, rotation: float = -math.pi / 2) -> list[tuple[float, float]]:
    c = SIZE / 2
    angles = [rotation + 2 * math.pi * i / sides for i in range(sides)]
    return [(c + radius * math.cos(a), c + radius * math.sin(a)) for a in angles]


def _star(points: int, outer: float, inner: float) -> list[tuple[float, float]]:
    c = SIZE / 2
    coords = []
    for i in range(points * 2):
        r = outer if i % 2 == 0 else inner
        a = -math.pi / 2 + math.pi * i / points
        coords.append((c + r * math.cos(a), c + r * math.sin(a)))
    return coords


def draw_icon(icon: Icon) -> Image.Image:
    """An opaque 512x512 RGB icon: a disc (Game Center crops to a circle), a shape and a label."""
    background = _color(icon.hue, 0.55, 0.35)
    disc = _color(icon.hue, 0.65, 0.80)
    ink = _color(icon.hue + 0.5, 0.15, 1.0)
    img = Image.new("RGB", (SIZE, SIZE), background)
    draw = ImageDraw.Draw(img)
    c = SIZE / 2
    draw.ellipse((24, 24, SIZE - 24, SIZE - 24), fill=disc)
    shape = icon.shape
    if shape == "triangle":
        draw.polygon(_polygon(3, 130), fill=ink)
    elif shape == "circle":
        draw.ellipse((c - 120, c - 140, c + 120, c + 100), outline=ink, width=22)
    elif shape == "diamond":
        draw.polygon(_polygon(4, 140), fill=ink)
    elif shape == "square":
        draw.rectangle((c - 110, c - 140, c + 110, c + 60), fill=ink)
        for x in range(-110, 111, 55):
            draw.line((c + x, c - 140, c + x, c + 60), fill=disc, width=6)
    elif shape == "hexagon":
        draw.polygon(_polygon(6, 135, 0), fill=ink)
    elif shape == "spiral":
        for i in range(5):
            r = 40 + i * 25
            draw.arc((c - r, c - 40 - r, c + r, c - 40 + r), 20 * i, 20 * i + 270, fill=ink, width=14)
    elif shape == "bars":
        for i, h in enumerate((80, 140, 200)):
            draw.rectangle((c - 105 + i * 75, c + 60 - h, c - 55 + i * 75, c + 60), fill=ink)
    elif shape == "moon":
        draw.ellipse((c - 120, c - 150, c + 100, c + 70), fill=ink)
        draw.ellipse((c - 60, c - 170, c + 140, c + 30), fill=disc)
    elif shape == "comet":
        draw.ellipse((c + 20, c - 150, c + 120, c - 50), fill=ink)
        for i in range(4):
            draw.line((c + 40, c - 80 + i * 12, c - 140, c + 40 + i * 12), fill=ink, width=10 - i * 2)
    elif shape == "rings":
        for r in (140, 100, 60):
            draw.ellipse((c - r, c - 40 - r, c + r, c - 40 + r), outline=ink, width=16)
    elif shape == "star":
        draw.polygon(_star(5, 150, 60), fill=ink)
    elif shape == "bolt":
        bolt = [(20, -170), (-90, -10), (-10, -10), (-40, 80), (90, -70), (5, -70)]
        draw.polygon([(c + x, c + y) for x, y in bolt], fill=ink)
    elif shape == "cross":
        draw.rectangle((c - 40, c - 160, c + 40, c + 60), fill=ink)
        draw.rectangle((c - 130, c - 90, c + 130, c - 10), fill=ink)
    font = ImageFont.load_default(size=56)
    draw.text((c, SIZE - 120), icon.label, fill=ink, font=font, anchor="mm")
    return img


def main(argv: list[str] | None = None) -> int:
    """Write every icon under --out (default: assets/ next to this repository's scripts/)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent.parent / "assets")
    args = parser.parse_args(argv)
    for icon in ICONS:
        path = args.out / icon.file
        path.parent.mkdir(parents=True, exist_ok=True)
        draw_icon(icon).save(path, "PNG", optimize=True)
        print(f"{path} {path.stat().st_size} bytes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
