"""Hostile inputs to `bulkgc import`: every problem at once with file:line and the fix, exit 2, nothing
written, never a traceback; icons needing a fix are reported (and `validate` agrees), unfixable ones stop."""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path

import pytest
from importsources import APP_ID, PLAY_ICONS, icon_bytes, make_igdb, make_play, make_steam

from bulkgc.cli import main


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No ASC_*/BULKGC_* variable of the machine running the tests may change what the CLI does."""
    for name in list(os.environ):
        if name.startswith(("ASC_", "BULKGC_")):
            monkeypatch.delenv(name)


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """Run `bulkgc argv` in-process; (exit code, stdout, stderr). No traceback may reach the user."""
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err, err
    return code, out, err


def listing(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


def assert_refused(
    capsys: pytest.CaptureFixture[str], argv: list[str], out_dir: Path, expected: list[str]
) -> str:
    """The import exits 2, lists every expected problem in one run, and writes nothing at all."""
    before = listing(out_dir)
    code, stdout, stderr = run_cli(capsys, *argv)
    assert code == 2, stdout + stderr
    for text in expected:
        assert text in stderr, f"{text!r} not in:\n{stderr}"
    assert "Nothing was written." in stderr
    assert listing(out_dir) == before
    return stderr


def write_csv_lines(path: Path, lines: list[str]) -> None:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_play_every_problem_at_once(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Play: short rows, duplicate names, bad values, unknown languages and names, no icon: all named."""
    folder = make_play(tmp_path)
    write_csv_lines(
        folder / "AchievementsMetadata.csv",
        [
            "First Blood,Defeat your first enemy.,False,1,Revealed,200,2",
            "Collector,Collect coins.,True,,Revealed,150",  # line 2: 6 values
            "First Blood,Again.,False,1,Revealed,10,3",  # line 3: duplicate name
            "Secret Room,Find it.,Maybe,1,Secret,7,0",  # line 4: four bad values
            "Champion,Win.,True,,Revealed,100,4",  # line 5: incremental without steps
        ],
    )
    write_csv_lines(
        folder / "AchievementsLocalizations.csv",
        [
            "First Blood,Erstes Blut,Besiege deinen ersten Gegner.,de-DE",
            "First Blood,tlhIngan,Qapla',klingon",  # line 2: unknown language
            "Frist Blood,Premier sang,Battez votre premier ennemi.,fr-FR",  # line 3: no such achievement
            "Champion,Champion,fr-FR",  # line 4: 3 values
        ],
    )
    write_csv_lines(
        folder / "AchievementsIconsMappings.csv",
        [
            "First Blood,first_blood.png",
            "Champion,nothere.png",
            "Secret Room,secret.png",
        ],
    )
    out = tmp_path / "game.toml"
    meta, locs = folder / "AchievementsMetadata.csv", folder / "AchievementsLocalizations.csv"
    icons_csv = folder / "AchievementsIconsMappings.csv"
    stderr = assert_refused(
        capsys,
        ["import", "play", str(folder), "--out", str(out), "--app-id", APP_ID],
        tmp_path,
        [
            f"{meta}:2: 6 value(s); every row of AchievementsMetadata.csv has 7",
            f"{meta}:3: duplicate achievement name 'First Blood' (first at {meta}:1)",
            f"{meta}:4: Incremental value is 'Maybe'; write True or False",
            f"{meta}:4: Initial State is 'Secret'; write Hidden or Revealed",
            f"{meta}:4: Points is '7'; Play takes a multiple of 5 from 5 to 200",
            f"{meta}:4: List Order is '0'; write a positive whole number",
            f"{meta}:5: Steps Needed is ''; an incremental achievement needs a whole number",
            f"{locs}:2: unknown language 'klingon'",
            "--locale-map klingon=LOCALE",
            f"{locs}:3: no achievement named 'Frist Blood' in AchievementsMetadata.csv; "
            "did you mean 'First Blood'?",
            f"{locs}:4: 3 value(s); every row of AchievementsLocalizations.csv has 4",
            f"{icons_csv}:2: icon {folder / 'nothere.png'} does not exist",
        ],
    )
    assert stderr.startswith("11 import problem(s):")


def test_play_non_utf8_and_missing_metadata(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A non-UTF-8 CSV is named with its first bad byte's line; a ZIP without the metadata CSV says so."""
    folder = make_play(tmp_path)
    locs = folder / "AchievementsLocalizations.csv"
    locs.write_bytes(locs.read_bytes().replace("Münzen".encode(), b"M\xfcnzen"))
    line = next(n for n, text in enumerate(locs.read_bytes().split(b"\n"), 1) if b"\xfc" in text)
    assert_refused(
        capsys,
        ["import", "play", str(folder), "--out", str(tmp_path / "g.toml"), "--app-id", APP_ID],
        tmp_path,
        [f"{locs}:{line}: not valid UTF-8", "save the file as UTF-8"],
    )
    archive = tmp_path / "empty.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("AchievementsLocalizations.csv", "x,y,z,de-DE\n")
    assert_refused(
        capsys,
        ["import", "play", str(archive), "--out", str(tmp_path / "g.toml"), "--app-id", APP_ID],
        tmp_path,
        [f"{archive}:AchievementsMetadata.csv: missing"],
    )
    (tmp_path / "broken.zip").write_bytes(b"PK\x03\x04 this is not a zip")
    assert_refused(
        capsys,
        [
            "import",
            "play",
            str(tmp_path / "broken.zip"),
            "--out",
            str(tmp_path / "g.toml"),
            "--app-id",
            APP_ID,
        ],
        tmp_path,
        ["not a readable ZIP"],
    )


def test_steam_schema_problems_and_truncated_vdf(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Steam: a duplicate API name and a missing displayName (with lines) plus a truncated VDF, in one run."""
    schema, vdf, icons = make_steam(tmp_path / "src")
    data = json.loads(schema.read_text(encoding="utf-8"))
    items = data["game"]["availableGameStats"]["achievements"]
    items[2]["name"] = items[0]["name"]
    del items[3]["displayName"]
    schema.write_text(json.dumps(data, indent=2), encoding="utf-8")
    lines = schema.read_text(encoding="utf-8").splitlines()
    starts = [n for n, text in enumerate(lines, 1) if text.strip() == "{"][1:]  # the top, then each item
    text = vdf.read_text(encoding="utf-8")
    vdf.write_text(text[: text.index('"japanese"') + 40], encoding="utf-8")  # cut inside a quoted string
    cut_line = vdf.read_text(encoding="utf-8").count("\n") + 1
    out = tmp_path / "game.toml"
    assert_refused(
        capsys,
        [
            "import",
            "steam",
            str(schema),
            "--localization",
            str(vdf),
            "--icons",
            str(icons),
            "--out",
            str(out),
            "--app-id",
            APP_ID,
        ],
        tmp_path,
        [
            f"{schema}:{starts[2]}: duplicate API name 'ACH_WIN_ONE_GAME' (first at {schema}:{starts[0]})",
            f'{schema}:{starts[3]}: ACH.Speed-Run: no "displayName"',
            f"{vdf}:{cut_line}: a quoted string is never closed (the file may be truncated)",
        ],
    )


def test_steam_languages_tokens_and_icons(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Steam: unknown language, a token naming no achievement, a key twice and a missing icon, at once."""
    schema, vdf, icons = make_steam(tmp_path / "src")
    text = vdf.read_text(encoding="utf-8").replace('"japanese"', '"klingon"')
    text = text.replace(
        '"ACH_SECRET_NAME"\t"影"',
        '"ACH_SECRET_NAME"\t"影"\n\t\t\t"ACH_NOPE_NAME"\t"?"\n\t\t\t"ACH_SECRET_NAME"\t"again"',
    )
    vdf.write_text(text, encoding="utf-8")
    lines = text.splitlines()
    klingon = lines.index('\t"klingon"') + 1
    nope = next(n for n, line in enumerate(lines, 1) if "ACH_NOPE_NAME" in line)
    missing = next(icons.iterdir())
    missing.unlink()
    assert_refused(
        capsys,
        [
            "import",
            "steam",
            str(schema),
            "--localization",
            str(vdf),
            "--icons",
            str(icons),
            "--out",
            str(tmp_path / "g.toml"),
            "--app-id",
            APP_ID,
        ],
        tmp_path,
        [
            f"{vdf}:{klingon}: unknown language 'klingon'",
            f"{vdf}:{nope}: token ACH_NOPE_NAME/_DESC matches no achievement API name",
            f"{vdf}:{nope + 1}: key 'ACH_SECRET_NAME' appears twice in one block (first at line {nope - 1})",
            f"no icon in {icons} (looked for {missing.name}",
        ],
    )


def test_steam_without_icons_folder_names_the_flag(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Steam only links icons: without --icons the one problem says to save them and pass --icons DIR."""
    schema, _, _ = make_steam(tmp_path / "src")
    assert_refused(
        capsys,
        ["import", "steam", str(schema), "--out", str(tmp_path / "g.toml"), "--app-id", APP_ID],
        tmp_path,
        ["never downloads", "--icons DIR"],
    )


def test_igdb_every_problem_at_once(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """IGDB: no external_id, an unknown region, one locale twice, two games, a missing icon: all listed."""
    path, icons = make_igdb(tmp_path / "src")
    records = json.loads(path.read_text(encoding="utf-8"))
    del records[0]["external_id"]
    records[1]["language"] = 42
    records[5]["language"] = 5  # AKM E456's ja text again
    records[8]["game"] = [7]
    records.append(
        {
            "id": 1,
            "name": "Orphan",
            "external_id": "AKM_NO_ICON",
            "category": 1,
            "created_at": 0,
            "updated_at": 0,
            "game": [1942],
        }
    )
    path.write_text(json.dumps(records, ensure_ascii=False, indent=2), encoding="utf-8")
    starts = [n for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if line == "  {"]
    assert_refused(
        capsys,
        [
            "import",
            "igdb",
            str(path),
            "--icons",
            str(icons),
            "--out",
            str(tmp_path / "g.json"),
            "--app-id",
            APP_ID,
        ],
        tmp_path,
        [
            f"{path}:{starts[0]}: external_id is missing",
            f"{path}:{starts[1]}: AKM_E123DDD: language 42 is not an IGDB region id",
            f"{path}:{starts[5]}: AKM E456 Ünïcode: ja texts are given twice "
            f"(first at {path}:{starts[4]}); keep one",
            "records belong to different games",
            f"{path}:{starts[9]}: AKM_NO_ICON: no icon in {icons}",
        ],
    )


def test_igdb_bad_json_is_named_with_its_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A JSON syntax error in an IGDB export is reported with its line; nothing is written."""
    path, icons = make_igdb(tmp_path / "src")
    text = path.read_text(encoding="utf-8").splitlines()
    text[5] = text[5] + ","  # a trailing comma: invalid JSON
    path.write_text("\n".join(text[:12]), encoding="utf-8")
    assert_refused(
        capsys,
        [
            "import",
            "igdb",
            str(path),
            "--icons",
            str(icons),
            "--out",
            str(tmp_path / "g.toml"),
            "--app-id",
            APP_ID,
        ],
        tmp_path,
        [f"{path}:", "JSON syntax error"],
    )


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--app-id", "12ab"], "--app-id '12ab': an App Store Connect app id is digits only"),
        ([], "--app-id is required"),
        (["--app-id", APP_ID, "--vendor-prefix", "com studio"], "--vendor-prefix 'com studio'"),
        (["--app-id", APP_ID, "--locale-map", "german=de_DE"], "did you mean 'de-DE'?"),
        (["--app-id", APP_ID, "--locale-map", "german"], "write LANGUAGE=LOCALE"),
        (
            ["--app-id", APP_ID, "--default-locale", "english"],
            "--default-locale 'english' is not a Game Center locale",
        ),
        (["--app-id", APP_ID, "--points", "101"], "--points 101: Game Center allows 0..100"),
        (["--app-id", APP_ID, "--points", "300"], "--points 300"),
        (["--app-id", APP_ID, "--report", "no/such/dir/r.json"], "--report must name a file"),
    ],
)
def test_bad_flags_are_usage_errors(
    flags: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Bad flag values exit 2 with a message naming the flag and the fix; nothing is written."""
    schema, vdf, icons = make_steam(tmp_path / "src")
    before = listing(tmp_path)
    code, _, stderr = run_cli(
        capsys,
        "import",
        "steam",
        str(schema),
        "--icons",
        str(icons),
        "--out",
        str(tmp_path / "g.toml"),
        *flags,
    )
    assert code == 2
    assert message in stderr
    assert listing(tmp_path) == before


def test_points_flag_over_the_total_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--points N with N × count over 1,000 is refused with the largest N that fits."""
    folder = make_play(tmp_path)
    rows = [f"Ach {i},Do thing {i}.,False,1,Revealed,5,{i + 1}" for i in range(40)]
    write_csv_lines(folder / "AchievementsMetadata.csv", rows)
    (folder / "AchievementsLocalizations.csv").unlink()
    write_csv_lines(folder / "AchievementsIconsMappings.csv", [f"Ach {i},first_blood.png" for i in range(40)])
    assert_refused(
        capsys,
        [
            "import",
            "play",
            str(folder),
            "--out",
            str(tmp_path / "g.toml"),
            "--app-id",
            APP_ID,
            "--points",
            "30",
        ],
        tmp_path,
        ["30 × 40 achievements = 1200 points", "--points 25"],
    )


def test_more_than_100_achievements_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """101 achievements exceed Game Center's limit: refused, naming the limit."""
    folder = make_play(tmp_path)
    write_csv_lines(
        folder / "AchievementsMetadata.csv",
        [f"Ach {i},Do thing {i}.,False,1,Revealed,5,{i + 1}" for i in range(101)],
    )
    (folder / "AchievementsLocalizations.csv").unlink()
    write_csv_lines(
        folder / "AchievementsIconsMappings.csv", [f"Ach {i},first_blood.png" for i in range(101)]
    )
    assert_refused(
        capsys,
        ["import", "play", str(folder), "--out", str(tmp_path / "g.toml"), "--app-id", APP_ID],
        tmp_path,
        ["101 achievements: Game Center allows at most 100 per app"],
    )


def test_fixable_icons_are_reported_and_the_manifest_is_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Wrong-size and opaque-RGBA icons: the manifest is written, the report lists each with the fix, and
    `bulkgc validate` refuses exactly those icons until they are fixed."""
    names = list(PLAY_ICONS.values())
    icons = {
        names[0]: icon_bytes(1, size=(300, 300)),
        names[1]: icon_bytes(2, mode="RGBA"),
        names[2]: icon_bytes(3),
        names[3]: icon_bytes(4, mode="L"),
    }
    folder = make_play(tmp_path, icons=icons)
    out = tmp_path / "game.toml"
    code, stdout, stderr = run_cli(
        capsys,
        "import",
        "play",
        str(folder),
        "--out",
        str(out),
        "--app-id",
        APP_ID,
        "--report",
        str(tmp_path / "r.json"),
    )
    assert code == 0, stderr
    assert "3 icon(s) need a mechanical fix: run `bulkgc validate --fix-icons`" in stdout
    assert f"{folder}/{names[0]}: is 300x300: App Store Connect needs 512x512 or 1024x1024" in stdout
    assert f"{folder}/{names[1]}: has an alpha channel (fully opaque)" in stdout
    assert f"{folder}/{names[3]}: is in grayscale" in stdout
    report = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    assert sorted(i["icon"] for i in report["icons_to_fix"]) == sorted(
        f"{folder}/{n}" for n in (names[0], names[1], names[3])
    )
    code, _, stderr = run_cli(capsys, "validate", str(out))
    assert code == 2
    for name in (names[0], names[1], names[3]):
        assert name in stderr
    assert names[2] not in stderr
    sources = {n: (folder / n).read_bytes() for n in names}
    code, _, stderr = run_cli(capsys, "validate", str(out), "--fix-icons")
    assert code == 0, stderr
    assert {n: (folder / n).read_bytes() for n in names} == sources  # the sources are never touched


@pytest.mark.parametrize(
    ("make", "why"),
    [
        (
            lambda: icon_bytes(5, size=(1240, 768)),
            "--fix-icons cannot fix it: it is 1240x768, not square: --fix-icons never crops",
        ),
        (lambda: b"GIF89a not an icon", "not a PNG or JPEG"),
    ],
)
def test_icons_no_conversion_can_fix_stop_the_import(
    make: object, why: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A non-square icon (bulkgc never crops) or a non-image stops the import: exit 2, nothing written."""
    name = PLAY_ICONS["Champion"]
    folder = make_play(tmp_path, icons={**{n: icon_bytes(9) for n in PLAY_ICONS.values()}, name: make()})  # type: ignore[operator]
    assert_refused(
        capsys,
        ["import", "play", str(folder), "--out", str(tmp_path / "g.toml"), "--app-id", APP_ID],
        tmp_path,
        [f"{folder}/{name}:", why, "icon of 'Champion'"],
    )


def test_steam_and_igdb_icons_needing_a_fix_are_reported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Steam JPEGs of 300x300 and an opaque-alpha IGDB icon are listed with the fix (exit 0)."""
    schema, vdf, steam_icons = make_steam(tmp_path / "steam", icon_size=(300, 300))
    code, stdout, stderr = run_cli(
        capsys,
        "import",
        "steam",
        str(schema),
        "--localization",
        str(vdf),
        "--icons",
        str(steam_icons),
        "--out",
        str(tmp_path / "s.toml"),
        "--app-id",
        APP_ID,
    )
    assert code == 0, stderr
    assert "4 icon(s) need a mechanical fix: run `bulkgc validate --fix-icons`" in stdout
    assert stdout.count("is 300x300: App Store Connect needs 512x512 or 1024x1024 pixels; resize it") == 4
    path, igdb_icons = make_igdb(tmp_path / "igdb")
    (igdb_icons / "achv3c4d.png").write_bytes(icon_bytes(3, mode="RGBA"))
    code, stdout, stderr = run_cli(
        capsys,
        "import",
        "igdb",
        str(path),
        "--icons",
        str(igdb_icons),
        "--out",
        str(tmp_path / "i.toml"),
        "--app-id",
        APP_ID,
    )
    assert code == 0, stderr
    assert (
        "1 icon(s) need a mechanical fix" in stdout and f"{igdb_icons}/achv3c4d.png: has an alpha channel" in stdout
    )
    assert "icon achv3c4d.png needs fixing" in stdout  # on the achievement that uses it, too


@pytest.mark.parametrize(
    ("out", "message"),
    [
        ("no/such/dir/game.toml", "does not exist; create it first"),
        ("game.yaml", "--out must end in .toml or .json"),
    ],
)
def test_bad_out_paths_are_refused(
    out: str, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--out in a missing folder or with another extension: exit 2 naming --out's problem, nothing written."""
    folder = make_play(tmp_path)
    argv = ["import", "play", str(folder), "--out", str(tmp_path / out), "--app-id", APP_ID]
    assert_refused(capsys, argv, tmp_path, [message])


def test_broken_unicode_escapes_are_named_not_crashed_on(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A JSON \\ud800 escape (a lone surrogate no file can hold) is a problem with file:line, not a crash."""
    path, icons = make_igdb(tmp_path / "src")
    path.write_text(
        path.read_text(encoding="utf-8").replace('"Dragon Slayer"', '"Dragon \\ud800 Slayer"'),
        encoding="utf-8",
    )
    argv = [
        "import",
        "igdb",
        str(path),
        "--icons",
        str(icons),
        "--out",
        str(tmp_path / "g.toml"),
        "--app-id",
        APP_ID,
    ]
    assert_refused(
        capsys, argv, tmp_path, [f"{path}:2: 'Dragon \\ud800 Slayer' holds a lone UTF-16 surrogate"]
    )
