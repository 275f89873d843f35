"""Source data made in the tests for each importer (Play, Steam, IGDB), and what Game Center must then hold.

Each maker writes the other store's files exactly as that store lays them out, plus icons, and returns an
`Expected`: the achievements (vendor id, reference name, points, shown before earned, texts per locale, icon
file) worked out by hand from the mapping rules of docs/IMPORT.md, not by calling the importer.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image

APP_ID = "6446000016"
PREFIX = "com.studio.game."


def hashed(source_id: str) -> str:
    """The 8-hex suffix the vendor-id rule appends to ids that had to change (docs/IMPORT.md)."""
    return hashlib.sha256(source_id.encode("utf-8")).hexdigest()[:8]


def icon_bytes(
    seed: int, *, size: tuple[int, int] = (512, 512), mode: str = "RGB", fmt: str = "PNG"
) -> bytes:
    """A distinct icon (colour and a square placed by `seed`) encoded as `fmt`."""
    colour = ((seed * 53) % 256, (seed * 97) % 256, (seed * 29 + 80) % 256)
    img = Image.new("RGB", size, colour)
    offset = 20 + (seed * 37) % 200
    img.paste((255 - colour[0], 255 - colour[1], 255 - colour[2]), (offset, offset, offset + 64, offset + 64))
    if mode != "RGB":
        img = img.convert(mode)
    buf = io.BytesIO()
    img.save(buf, fmt, **({"quality": 90} if fmt == "JPEG" else {}))
    return buf.getvalue()


@dataclass
class Ach:
    """One achievement as Game Center should hold it after import + push."""

    vendor: str
    reference: str
    points: int
    shown: bool
    texts: dict[str, tuple[str, str]]  # locale -> (name, description): both descriptions get the one text
    icon: Path


@dataclass
class Expected:
    """What an import of a made source must produce."""

    achievements: list[Ach] = field(default_factory=list)

    @property
    def vendors(self) -> list[str]:
        return [a.vendor for a in self.achievements]


# ------------------------------------------------------------------------------------------------ Play

PLAY_METADATA = [  # Name, Description, Incremental value, Steps Needed, Initial State, Points, List Order
    ["First Blood", "Defeat your first enemy.", "False", "1", "Revealed", "200", "2"],
    ["Collector", "Collect 500 coins.", "True", "500", "Revealed", "150", "1"],
    ["Secret Room", "Find the room behind the waterfall.", "False", "1", "Hidden", "50", "3"],
    ["Champion", 'Win the "Grand" tournament, twice.', "False", "1", "Revealed", "100", "4"],
]
PLAY_TEXTS = {  # Play locale -> {name: (localized name, localized description)}
    "de-DE": {
        "First Blood": ("Erstes Blut", "Besiege deinen ersten Gegner."),
        "Collector": ("Sammler", "Sammle 500 Münzen."),
        "Secret Room": ("Geheimraum", "Finde den Raum hinter dem Wasserfall."),
        "Champion": ("Champion", "Gewinne das „Grand“-Turnier zweimal."),
    },
    "fr-FR": {
        "First Blood": ("Premier sang", "Battez votre premier ennemi."),
        "Collector": ("Collectionneur", "Ramassez 500 pièces."),
        "Secret Room": ("Salle secrète", "Trouvez la salle derrière la cascade."),
        "Champion": ("Champion", "Gagnez deux fois le tournoi « Grand »."),
    },
    "ja-JP": {
        "First Blood": ("初陣", "最初の敵を倒す。"),
        "Collector": ("収集家", "コインを500枚集める。"),
        "Secret Room": ("秘密の部屋", "滝の裏の部屋を見つける。"),
        "Champion": ("王者", "「グランド」大会で2回優勝する。"),
    },
    "bg": {"Champion": ("Шампион", "Спечели турнира два пъти.")},  # Game Center has no Bulgarian: left out
}
PLAY_ICONS = {
    "First Blood": "first_blood.png",
    "Collector": "collector.png",
    "Secret Room": "secret.png",
    "Champion": "champion.png",
}


def _csv(rows: list[list[str]]) -> bytes:
    import csv

    buf = io.StringIO(newline="")
    csv.writer(buf, lineterminator="\n").writerows(rows)
    return buf.getvalue().encode("utf-8")


def play_files(icons: dict[str, bytes] | None = None) -> dict[str, bytes]:
    """The files of a Play Games bulk import: the three CSVs and the icons."""
    files = {
        "AchievementsMetadata.csv": _csv(PLAY_METADATA),
        "AchievementsLocalizations.csv": _csv(
            [[name, n, d, code] for code, texts in PLAY_TEXTS.items() for name, (n, d) in texts.items()]
        ),
        "AchievementsIconsMappings.csv": _csv([[name, file] for name, file in PLAY_ICONS.items()]),
    }
    if icons is None:
        icons = {file: icon_bytes(i) for i, file in enumerate(PLAY_ICONS.values())}
    files.update(icons)
    return files


def make_play(root: Path, *, as_zip: bool = False, icons: dict[str, bytes] | None = None) -> Path:
    """A Play bulk import as a folder (or a ZIP of the same files) under `root`."""
    files = play_files(icons)
    if as_zip:
        root.mkdir(parents=True, exist_ok=True)
        path = root / "PlayAchievements.zip"
        with zipfile.ZipFile(path, "w") as archive:
            for name, data in files.items():
                archive.writestr(name, data)
        return path
    folder = root / "play"
    folder.mkdir(parents=True)
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return folder


def play_expected(icons_dir: Path) -> Expected:
    """Play: List Order decides the order; points ×1/2 (largest 200 → 100); ja-JP → ja; bg left out."""
    points = {"First Blood": 100, "Collector": 75, "Secret Room": 25, "Champion": 50}
    meta = {row[0]: row for row in PLAY_METADATA}
    exp = Expected()
    for name in ("Collector", "First Blood", "Secret Room", "Champion"):
        texts = {"en-US": (name, meta[name][1])}
        for code, locale in (("de-DE", "de-DE"), ("fr-FR", "fr-FR"), ("ja-JP", "ja")):
            texts[locale] = PLAY_TEXTS[code][name]
        vendor = PREFIX + (name if " " not in name else f"{name.replace(' ', '_')}-{hashed(name)}")
        exp.achievements.append(
            Ach(vendor, name, points[name], meta[name][4] == "Revealed", texts, icons_dir / PLAY_ICONS[name])
        )
    return exp


# ------------------------------------------------------------------------------------------------ Steam

STEAM_ACHIEVEMENTS = [  # API name, displayName, description, hidden, icon hash
    ("ACH_WIN_ONE_GAME", "Winner", "Win one game.", 0, "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c"),
    ("ACH_SECRET", "Shadow", "", 1, "1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d"),
    (
        "ACH_TRAVEL_FAR",
        "Interstellar",
        "Travel 10,000 light years.",
        0,
        "2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e",
    ),
    (
        "ACH.Speed-Run",
        "Speedrunner",
        "Finish in under an hour.",
        0,
        "3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f",
    ),
]
STEAM_TEXTS = {  # Steam language -> {API name: (name, description)}
    "german": {
        "ACH_WIN_ONE_GAME": ("Gewinner", "Gewinne ein Spiel."),
        "ACH_SECRET": ("Schatten", ""),
        "ACH_TRAVEL_FAR": ("Interstellar", "Reise 10.000 Lichtjahre."),
        "ACH.Speed-Run": ("Schnellläufer", "Beende es in unter einer Stunde."),
    },
    "japanese": {
        "ACH_WIN_ONE_GAME": ("勝者", "1回勝つ。"),
        "ACH_SECRET": ("影", "秘密。"),
        "ACH_TRAVEL_FAR": ("星間", "1万光年旅する。"),
        "ACH.Speed-Run": ("スピードランナー", "1時間以内にクリアする。"),
    },
    "schinese": {
        "ACH_WIN_ONE_GAME": ("胜利者", "赢得一局。"),
        "ACH_SECRET": ("暗影", "秘密。"),
        "ACH_TRAVEL_FAR": ("星际", "旅行一万光年。"),
        "ACH.Speed-Run": ("速通者", "一小时内通关。"),
    },
}


def _vdf_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def make_steam(root: Path, *, icon_size: tuple[int, int] = (512, 512)) -> tuple[Path, Path, Path]:
    """(schema JSON, localization VDF, icons folder): a GetSchemaForGame answer and Steamworks' VDF export.

    The localization file names ACH_TRAVEL_FAR by Steamworks' positional token NEW_ACHIEVEMENT_1_2 (third
    achievement), the others by API name; the icons folder holds each achieved icon under its URL's name.
    """
    root.mkdir(parents=True, exist_ok=True)
    base = "https://steamcdn-a.akamaihd.net/steamcommunity/public/images/apps/480"
    schema = {
        "game": {
            "gameName": "Spacewar",
            "gameVersion": "12",
            "availableGameStats": {
                "achievements": [
                    {
                        "name": api,
                        "defaultvalue": 0,
                        "displayName": name,
                        "hidden": hidden,
                        **({"description": desc} if desc else {}),
                        "icon": f"{base}/{h}.jpg",
                        "icongray": f"{base}/{h[::-1]}.jpg",
                    }
                    for api, name, desc, hidden, h in STEAM_ACHIEVEMENTS
                ],
                "stats": [],
            },
        }
    }
    schema_path = root / "schema.json"
    schema_path.write_text(json.dumps(schema, indent=2), encoding="utf-8")
    lines = ['"lang"', "{", '\t// exported by Steamworks "Download Localization Data"']
    for language, texts in STEAM_TEXTS.items():
        lines += [f'\t"{language}"', "\t{", '\t\t"Tokens"', "\t\t{"]
        for api, (name, desc) in texts.items():
            token = "NEW_ACHIEVEMENT_1_2" if api == "ACH_TRAVEL_FAR" else api
            lines.append(f'\t\t\t"{token}_NAME"\t{_vdf_string(name)}')
            lines.append(f'\t\t\t"{token}_DESC"\t{_vdf_string(desc)}')
        lines += ["\t\t}", "\t}"]
    lines.append("}")
    vdf_path = root / "loc.vdf"
    vdf_path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    icons = root / "steam-icons"
    icons.mkdir()
    for i, (_, _, _, _, h) in enumerate(STEAM_ACHIEVEMENTS):
        (icons / f"{h}.jpg").write_bytes(icon_bytes(40 + i, size=icon_size, fmt="JPEG"))
    return schema_path, vdf_path, icons


def steam_expected(icons_dir: Path) -> Expected:
    """Steam: no points → 1000 / 4 capped at 100; hidden → not shown; empty description → the name."""
    exp = Expected()
    locales = {"german": "de-DE", "japanese": "ja", "schinese": "zh-Hans"}
    for api, name, desc, hidden, h in STEAM_ACHIEVEMENTS:
        texts = {"en-US": (name, desc or name)}
        for language, locale in locales.items():
            n, d = STEAM_TEXTS[language][api]
            texts[locale] = (n, d or n)
        vendor = PREFIX + api
        exp.achievements.append(Ach(vendor, name, 100, not hidden, texts, icons_dir / f"{h}.jpg"))
    return exp


# ------------------------------------------------------------------------------------------------ IGDB

IGDB_RECORDS = [  # external_id, language region id (None: untagged), name, description, cloudinary_id
    ("AKM_E123DDD", None, "Dragon Slayer", "Slay the ancient dragon.", "achv1a2b"),
    ("AKM_E123DDD", 5, "竜殺し", "古代竜を倒す。", "achv1a2b"),
    ("AKM_E123DDD", 9, "용 사냥꾼", "고대 용을 처치하세요.", "achv1a2b"),
    ("AKM E456 Ünïcode", None, "Pathfinder", "Discover every region.", "achv3c4d"),
    ("AKM E456 Ünïcode", 5, "開拓者", "すべての地域を発見する。", "achv3c4d"),
    ("AKM E456 Ünïcode", 9, "개척자", "모든 지역을 발견하세요.", "achv3c4d"),
    ("AKM_E789", None, "Completionist", "Earn every other achievement.", "achv5e6f"),
    ("AKM_E789", 5, "完璧主義者", "他のすべての実績を獲得する。", "achv5e6f"),
    ("AKM_E789", 9, "완벽주의자", "다른 모든 업적을 달성하세요.", "achv5e6f"),
]


def make_igdb(root: Path) -> tuple[Path, Path]:
    """(IGDB export JSON, icons folder named by cloudinary_id)."""
    root.mkdir(parents=True, exist_ok=True)
    records = []
    for n, (external_id, region, name, desc, cloud) in enumerate(IGDB_RECORDS):
        record = {
            "id": 1000 + n,
            "name": name,
            "category": 1,
            "external_id": external_id,
            "description": desc,
            "game": [1942],
            "created_at": 1700000000,
            "updated_at": 1700000000,
            "icon": {
                "id": 77 + n,
                "cloudinary_id": cloud,
                "width": 512,
                "height": 512,
                "url": f"//images.igdb.com/igdb/image/upload/t_thumb/{cloud}.jpg",
            },
        }
        if region is not None:
            record["language"] = region
        records.append(record)
    path = root / "achievements.json"
    path.write_text(json.dumps(records, ensure_ascii=False, indent=2), encoding="utf-8")
    icons = root / "igdb-icons"
    icons.mkdir()
    for i, cloud in enumerate(dict.fromkeys(r[4] for r in IGDB_RECORDS)):
        (icons / f"{cloud}.png").write_bytes(icon_bytes(80 + i))
    return path, icons


def igdb_expected(icons_dir: Path, points: int) -> Expected:
    """IGDB: records grouped by external_id; 5 japan → ja, 9 korea → ko; no hidden flag; --points."""
    exp = Expected()
    groups: dict[str, dict[str, tuple[str, str]]] = {}
    clouds: dict[str, str] = {}
    for external_id, region, name, desc, cloud in IGDB_RECORDS:
        locale = {None: "en-US", 5: "ja", 9: "ko"}[region]
        groups.setdefault(external_id, {})[locale] = (name, desc)
        clouds[external_id] = cloud
    for external_id, texts in groups.items():
        if external_id == "AKM E456 Ünïcode":
            vendor = f"{PREFIX}AKM_E456_Unicode-{hashed(external_id)}"
        else:
            vendor = PREFIX + external_id
        exp.achievements.append(
            Ach(vendor, texts["en-US"][0], points, True, texts, icons_dir / f"{clouds[external_id]}.png")
        )
    return exp
