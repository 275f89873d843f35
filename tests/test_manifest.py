"""Tests of the manifest loader: the format, every validation rule and where each problem is located."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from bulkgc import manifest as manifest_module
from bulkgc.errors import ManifestError
from bulkgc.locales import ASC_LOCALES, suggest_locale
from bulkgc.kinds import kind
from bulkgc.manifest import Item, Localization, Manifest, load_manifest, text_limits
from bulkgc.scan import scan_images

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "manifests" / "example.toml"

HEAD = """\
app_id = "1234567890"
[defaults]
points = 10
show_before_earned = true
repeatable = false
"""


def ach(
    vid: str = "com.x.a", *, locales: tuple[str, ...] = ("en-US",), extra: str = "", loc_extra: str = ""
) -> str:
    """TOML text of one achievement with valid texts for `locales`."""
    text = f'[[achievement]]\nvendor_identifier = "{vid}"\nreference_name = "Ref {vid}"\n{extra}\n'
    for code in locales:
        text += (
            f"[achievement.locales.{code}]\n"
            f'name = "Name {code}"\n'
            'before_earned_description = "Before"\nafter_earned_description = "After"\n'
            f"{loc_extra}\n"
        )
    return text


def write(
    tmp_path: Path, body: str, *, name: str = "m.toml", icons: tuple[str, ...] = ("com.x.a.png",)
) -> Path:
    """Write a manifest (HEAD + body) and empty icon files into tmp_path/assets; return the manifest path."""
    (tmp_path / "assets").mkdir(exist_ok=True)
    for icon in icons:
        (tmp_path / "assets" / icon).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "assets" / icon).write_bytes(b"")
    path = tmp_path / name
    path.write_text(HEAD + body, encoding="utf-8")
    return path


def problems(path: Path, **kwargs: object) -> list[str]:
    """The problems (as 'location: message' strings) load_manifest reports for `path`."""
    with pytest.raises(ManifestError) as caught:
        load_manifest(path, **kwargs)  # type: ignore[arg-type]
    assert str(caught.value).count("\n  - ") == len(caught.value.problems)
    return [str(p) for p in caught.value.problems]


def one(found: list[str], *fragments: str) -> str:
    """The single problem containing every fragment (fails unless exactly one does)."""
    hits = [p for p in found if all(f in p for f in fragments)]
    assert len(hits) == 1, (fragments, found)
    return hits[0]


# --- the format -----------------------------------------------------------------------------------------


def test_minimal_manifest_loads_with_defaults_and_asc_names(tmp_path: Path) -> None:
    """A valid manifest gives frozen dataclasses; defaults fill gaps; attributes map to ASC names."""
    path = write(tmp_path, ach(extra="points = 42"))
    m = load_manifest(path)
    assert isinstance(m, Manifest) and m.app_id == "1234567890" and m.assets_dir == tmp_path / "assets"
    (a,) = m.of_kind("achievement")
    assert isinstance(a, Item) and a["points"] == 42 and a["show_before_earned"] is True
    assert dict(a.attributes) == {
        "vendor_identifier": "com.x.a",
        "reference_name": "Ref com.x.a",
        "points": 42,
        "show_before_earned": True,
        "repeatable": False,
    }
    (loc,) = a.localizations
    assert isinstance(loc, Localization) and loc.image == tmp_path / "assets" / "com.x.a.png"
    assert dict(loc.texts) == {
        "name": "Name en-US",
        "before_earned_description": "Before",
        "after_earned_description": "After",
    }
    assert m.images() == (loc.image,) and m.localization_count == 1
    with pytest.raises(AttributeError):
        a.vendor_identifier = "b"  # type: ignore[misc]


def test_json_with_the_same_structure_and_camel_case_keys_loads(tmp_path: Path) -> None:
    """A .json manifest (camelCase ASC names accepted as aliases) gives the same Manifest as TOML."""
    toml_path = write(tmp_path, ach(extra="points = 5"))
    data = {
        "appId": "1234567890",
        "defaults": {"points": 10, "show_before_earned": True, "repeatable": False},
        "achievement": [
            {
                "vendorIdentifier": "com.x.a",
                "referenceName": "Ref com.x.a",
                "points": 5,
                "locales": {
                    "en-US": {
                        "name": "Name en-US",
                        "beforeEarnedDescription": "Before",
                        "afterEarnedDescription": "After",
                    }
                },
            }
        ],
    }
    json_path = tmp_path / "m.json"
    json_path.write_text(json.dumps(data))
    assert load_manifest(json_path).of_kind("achievement") == load_manifest(toml_path).of_kind("achievement")


def test_locale_tables_and_includes_merge_into_achievements(tmp_path: Path) -> None:
    """[locales.<locale>."<vid>"] tables, in the manifest or in included files, add localizations."""
    body = 'include = ["locales/*.toml"]\n' + ach() + (
        '[locales.fr-FR."com.x.a"]\nname = "Nom"\nbefore_earned_description = "Avant"\n'
        'after_earned_description = "Après"\n'
    )
    path = write(tmp_path, "")
    path.write_text(body.replace("[[achievement]]", HEAD + "[[achievement]]", 1))
    (tmp_path / "locales").mkdir()
    (tmp_path / "locales" / "ja.toml").write_text(
        '[locales.ja."com.x.a"]\nname = "名前"\n'
        'before_earned_description = "前"\nafter_earned_description = "後"\n',
        encoding="utf-8",
    )
    (a,) = load_manifest(path).of_kind("achievement")
    assert a.locales == ("en-US", "fr-FR", "ja")
    assert a.localization("ja") is not None and a.localization("ja")["name"] == "名前"  # type: ignore[union-attr]


def test_image_resolution_order(tmp_path: Path) -> None:
    """Per-localization image > per-achievement image > <vid>.<locale>.png > <vid>.png|jpg|jpeg."""
    body = ach("com.x.a", locales=("en-US", "fr-FR"), extra='image = "shared.png"')
    after = 'after_earned_description = "After"\n'
    body = body.replace(after, after + 'image = "own.png"\n', 1)
    body += ach("com.x.b", locales=("en-US", "fr-FR", "ja"))
    path = write(tmp_path, body, icons=("shared.png", "own.png", "com.x.b.fr-FR.png", "com.x.b.jpeg"))
    a, b = load_manifest(path).of_kind("achievement")
    assets = tmp_path / "assets"
    assert [loc.image for loc in a.localizations] == [assets / "own.png", assets / "shared.png"]
    assert [loc.image for loc in b.localizations] == [assets / "com.x.b.jpeg", assets / "com.x.b.fr-FR.png",
                                                      assets / "com.x.b.jpeg"]


def test_assets_key_and_override(tmp_path: Path) -> None:
    """`assets` is relative to the manifest; the assets_dir argument overrides it."""
    path = write(tmp_path, 'assets = "art"\n' + ach(), icons=())
    (tmp_path / "art").mkdir()
    (tmp_path / "art" / "com.x.a.png").write_bytes(b"")
    text = path.read_text()
    path.write_text('assets = "art"\n' + text.replace('assets = "art"\n', ""))
    assert load_manifest(path).assets_dir == tmp_path / "art"
    other = tmp_path / "other"
    other.mkdir()
    (other / "com.x.a.png").write_bytes(b"")
    overridden = load_manifest(path, assets_dir=other)
    assert overridden.of_kind("achievement")[0].localizations[0].image == other / "com.x.a.png"


def test_example_manifest_loads_and_all_its_images_pass_the_scan() -> None:
    """manifests/example.toml loads cleanly, uses >= 12 achievements and 2 leaderboards x >= 3 locales (every item
    in every locale), and every icon passes."""
    import anyio

    m = load_manifest(EXAMPLE)
    assert len(m.of_kind("achievement")) >= 12 and len(m.of_kind("leaderboard")) == 2 and len(m.locales) >= 3
    assert m.localization_count == len(m.items) * len(m.locales)
    boards = [loc.image for b in m.of_kind("leaderboard") for loc in b.localizations]
    assert None in boards and m.assets_dir / "leaderboards" / "com.starrover.lb.longest_drive.png" in boards
    infos, found = anyio.run(scan_images, m.images())
    assert found == [] and set(infos) == set(m.images())
    images = {str(loc.image.relative_to(m.assets_dir)) for a in m.of_kind("achievement") for loc in a.localizations}
    assert any(i.startswith("localized/") for i in images)  # per-localization image
    assert any(i.startswith("badges/") for i in images)  # per-achievement image
    assert any(i.endswith(".ja.png") for i in images)  # per-locale convention


def test_big_manifest_of_100_achievements_by_10_locales_loads_quickly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """100 achievements x 10 locales load in well under a few seconds and list the assets dir only once."""
    codes = ASC_LOCALES[:10]
    body = "".join(ach(f"com.big.a{i:03}", locales=codes, extra="points = 10") for i in range(100))
    path = write(tmp_path, body, icons=tuple(f"com.big.a{i:03}.png" for i in range(100)))
    listings: list[object] = []
    real_listdir = os.listdir
    monkeypatch.setattr(manifest_module.os, "listdir", lambda p: listings.append(p) or real_listdir(p))
    started = time.perf_counter()
    m = load_manifest(path)
    elapsed = time.perf_counter() - started
    assert m.localization_count == 1000 and len(m.images()) == 100
    assert len(listings) == 1
    assert elapsed < 5, elapsed  # a generous guard against quadratic behaviour; the benchmark measures speed


# --- reading and syntax ------------------------------------------------------------------------------------


def test_unreadable_and_unsupported_files(tmp_path: Path) -> None:
    """Missing file, a directory, a .yaml file and non-UTF-8 bytes each give one located problem."""
    assert "file not found" in one(problems(tmp_path / "nope.toml"), "nope.toml")
    (tmp_path / "d.toml").mkdir()
    assert "is a directory" in one(problems(tmp_path / "d.toml"), "d.toml")
    (tmp_path / "m.yaml").write_text("a: 1")
    assert "use a .toml or .json" in one(problems(tmp_path / "m.yaml"), "m.yaml")
    (tmp_path / "bad.toml").write_bytes(b'app_id = "1"\nname = "caf\xe9"\n')
    assert one(problems(tmp_path / "bad.toml"), "not valid UTF-8").startswith(f"{tmp_path / 'bad.toml'}:2:")


def test_toml_syntax_error_has_the_line(tmp_path: Path) -> None:
    """A TOML syntax error is reported at file:line with tomllib's message."""
    path = tmp_path / "m.toml"
    path.write_text('app_id = "1"\n\n[[achievement]]\nvendor_identifier = "x\n')
    found = one(problems(path), "TOML syntax error")
    assert found.startswith(f"{path}:4:")


def test_toml_table_defined_twice_hints_at_duplicates(tmp_path: Path) -> None:
    """The same locale table twice in one achievement is a TOML error with a 'defined twice' hint."""
    path = write(tmp_path, ach(locales=("en-US", "en-US")))
    assert "defined twice" in one(problems(path), "TOML syntax error").split("; ")[-1]


def test_json_syntax_error_and_duplicate_keys(tmp_path: Path) -> None:
    """JSON errors carry the line; duplicate JSON keys (silently merged by json) are reported."""
    path = tmp_path / "m.json"
    path.write_text('{\n  "app_id": "1",\n  "achievement": [,]\n}')
    assert one(problems(path), "JSON syntax error").startswith(f"{path}:3:")
    path.write_text('{"app_id": "1", "app_id": "2", "achievement": []}')
    assert "appears twice" in one(problems(path), "'app_id'")


def test_top_level_must_be_a_table(tmp_path: Path) -> None:
    """A JSON array at the top level is a problem, not a crash."""
    path = tmp_path / "m.json"
    path.write_text("[1, 2]")
    one(problems(path), "top level must be a table")


# --- validation rules ---------------------------------------------------------------------------------


def test_unknown_keys_suggest_the_closest_known_key(tmp_path: Path) -> None:
    """Misspelt keys at every level are reported with a difflib suggestion and their location."""
    path = write(tmp_path, ach(extra="refrence_name = 'y'\npoint = 3", loc_extra='nmae = "n"'))
    path.write_text("asets = 'x'\n" + path.read_text().replace("repeatable = false", "repeatble = false"))
    found = problems(path)
    assert "did you mean 'assets'" in one(found, "asets")
    where = 'achievement[1] (vendor_identifier "com.x.a").refrence_name'
    assert "did you mean 'reference_name'" in one(found, where)
    assert "did you mean 'points'" in one(found, ").point:")
    assert "did you mean 'name'" in one(found, ".locales.en-US.nmae")
    assert "did you mean 'repeatable'" in one(found, "defaults.repeatble")


def test_missing_fields_are_reported_with_the_fix(tmp_path: Path) -> None:
    """Missing vendor id, reference name, points (no default), app_id and texts are each reported."""
    path = tmp_path / "m.toml"
    (tmp_path / "assets").mkdir()
    path.write_text(
        "[[achievement]]\nshow_before_earned = true\nrepeatable = false\n"
        "[achievement.locales.en-US]\nname = 'n'\nbefore_earned_description = 'b'\n"
    )
    found = problems(path)
    one(found, "app_id: missing")
    one(found, "achievement[1].vendor_identifier: missing")
    one(found, "achievement[1].reference_name: missing")
    assert "[defaults]" in one(found, "achievement[1].points: missing")
    one(found, "achievement[1].locales.en-US.after_earned_description: missing")


def test_wrong_types_are_reported(tmp_path: Path) -> None:
    """bool for points, int for a bool, int app_id, int name, non-table locales entry are type problems."""
    body = ach(extra="points = true\nrepeatable = 1", loc_extra="").replace('name = "Name en-US"', "name = 7")
    path = write(tmp_path, body)
    path.write_text(path.read_text().replace('app_id = "1234567890"', "app_id = 1234567890"))
    found = problems(path)
    assert 'write app_id = "1234567890"' in one(found, "app_id")
    assert "not a boolean (true)" in one(found, ").points:")
    assert "write repeatable = true" in one(found, ").repeatable:")
    assert "must be a string, not an integer" in one(found, ".locales.en-US.name")


def test_single_bracket_achievement_table_is_explained(tmp_path: Path) -> None:
    """[achievement] instead of [[achievement]] gets a message about double brackets."""
    path = write(tmp_path, ach().replace("[[achievement]]", "[achievement]"))
    assert "double brackets" in "".join(problems(path))


def test_duplicate_vendor_identifiers(tmp_path: Path) -> None:
    """The second achievement with the same vendor id is reported, naming the first one and its line."""
    path = write(tmp_path, ach() + ach())
    found = one(problems(path), "duplicate vendor_identifier")
    assert found.startswith(f"{path}:15: achievement[2]") and "already used by achievement[1]" in found


def test_duplicate_locale_across_inline_and_locale_table(tmp_path: Path) -> None:
    """A locale given inline and again in a [locales...] table is a duplicate, located at the second."""
    body = ach() + (
        '[locales.en-US."com.x.a"]\nname = "n"\n'
        'before_earned_description = "b"\nafter_earned_description = "a"\n'
    )
    path = write(tmp_path, body)
    found = one(problems(path), "duplicate locale en-US")
    assert found.startswith(f"{path}:15: locales.en-US.\"com.x.a\"")


@pytest.mark.parametrize(("code", "suggestion"), [("fr_FR", "fr-FR"), ("en", "en-US"), ("EN-us", "en-US"),
                                                  ("ja-JP", "ja"), ("zh-CN", "zh-Hans")])
def test_locales_app_store_connect_does_not_accept_get_a_suggestion(
    tmp_path: Path, code: str, suggestion: str
) -> None:
    """Locale codes outside Apple's list are rejected with the close accepted code."""
    path = write(tmp_path, ach(locales=("en-US",)) + f'[locales."{code}"."com.x.a"]\nname = "n"\n')
    assert f"did you mean {suggestion!r}" in one(problems(path), f"'{code}' is not a locale")
    assert suggest_locale(code) == suggestion


def test_text_limits_and_empty_texts(tmp_path: Path) -> None:
    """Over-long name/descriptions/reference name and blank texts are reported with their lengths."""
    limits = text_limits(kind("achievement"))
    long_reference = "r" * (limits["reference_name"] + 1)
    body = ach().replace('reference_name = "Ref com.x.a"', f'reference_name = "{long_reference}"')
    body = body.replace('"Name en-US"', f'"{"n" * (limits["name"] + 1)}"')
    body = body.replace('"Before"', f'"{"b" * (limits["before_earned_description"] + 1)}"')
    body = body.replace('"After"', '"   "')
    found = problems(write(tmp_path, body))
    assert f"is {limits['reference_name'] + 1} characters" in one(found, ").reference_name")
    assert f"bulkgc's own limit is {limits['name']}" in one(found, ".locales.en-US.name")
    one(found, ".locales.en-US.before_earned_description", "characters")
    assert "is empty" in one(found, ".locales.en-US.after_earned_description")


def test_texts_at_the_limit_are_accepted(tmp_path: Path) -> None:
    """Texts exactly at each limit (counted in characters, not bytes) are fine."""
    limits = text_limits(kind("achievement"))
    body = ach().replace('"Name en-US"', f'"{"é" * limits["name"]}"')
    body = body.replace('"Before"', f'"{"ß" * limits["before_earned_description"]}"')
    assert load_manifest(write(tmp_path, body)).of_kind("achievement")[0].localizations[0]["name"] == "é" * limits["name"]


def test_vendor_identifier_length_and_characters(tmp_path: Path) -> None:
    """Vendor ids over 100 characters or with spaces/non-ASCII are rejected, naming the bad characters."""
    long_id = "a" * 101
    path = write(tmp_path, ach(long_id) + ach("com.x.bad id!"), icons=())
    found = problems(path)
    assert "is 101 characters" in one(found, "achievement[1]", "vendor_identifier:")
    assert "' ', '!'" in one(found, "achievement[2]", "vendor_identifier:")
    at_limit = ach("a" * 100).replace("Ref " + "a" * 100, "Ref")
    assert load_manifest(write(tmp_path, at_limit, icons=("a" * 100 + ".png",))).of_kind("achievement")


def test_points_range_total_and_achievement_count(tmp_path: Path) -> None:
    """Points outside 0..100, a total over 1000 and more than 100 achievements are each reported."""
    body = ach("com.x.neg", extra="points = -1") + ach("com.x.big", extra="points = 101")
    body += "".join(ach(f"com.x.a{i}", extra="points = 100") for i in range(11))
    found = problems(write(tmp_path, body, icons=()))
    assert "0..100" in one(found, "com.x.neg", ").points:")
    assert "0..100" in one(found, "com.x.big", ").points:")
    assert "1100 points" in one(found, ": points:")
    many = "".join(ach(f"com.x.m{i}", extra="points = 0") for i in range(101))
    found = problems(write(tmp_path, many, icons=tuple(f"com.x.m{i}.png" for i in range(101))))
    (only,) = found
    assert only.startswith(f"{tmp_path / 'm.toml'}: achievement: 101 achievements")
    assert "at most 100 per app" in only


def test_achievement_without_localization(tmp_path: Path) -> None:
    """An achievement with no locale tables at all is reported at its line."""
    path = write(tmp_path, ach(locales=()))
    assert one(problems(path), "no localization").startswith(f"{path}:6: achievement[1]")


def test_missing_images(tmp_path: Path) -> None:
    """An explicit image that does not exist and a localization with no convention match are reported."""
    body = ach("com.x.a", loc_extra='image = "nope.png"') + ach("com.x.b")
    found = problems(write(tmp_path, body, icons=()))
    assert "relative to the assets directory" in one(found, "com.x.a", "image 'nope.png' not found")
    assert "com.x.b.en-US.png" in one(found, "com.x.b", "no image found")


def test_ambiguous_convention_images(tmp_path: Path) -> None:
    """Both <vid>.png and <vid>.jpg present is ambiguous: reported instead of silently picking one."""
    found = problems(write(tmp_path, ach(), icons=("com.x.a.png", "com.x.a.jpg")))
    one(found, "ambiguous image")


def test_missing_assets_directory(tmp_path: Path) -> None:
    """A missing assets directory is reported once (not per localization), named, with how to set it."""
    path = write(tmp_path, ach(locales=("en-US", "fr-FR")) + ach("com.x.b"), icons=())
    path.write_text('assets = "gone"\n' + path.read_text())
    found = problems(path)
    assert len(found) == 1 and f"{tmp_path / 'gone'}" in one(found, ": assets:", "pass --assets")


def test_locale_table_for_unknown_achievement_suggests_the_id(tmp_path: Path) -> None:
    """[locales.fr-FR."com.x.aa"] with no such achievement suggests the closest vendor id."""
    path = write(tmp_path, ach() + '[locales.fr-FR."com.x.aa"]\nname = "n"\n')
    assert "did you mean 'com.x.a'" in one(problems(path), 'locales.fr-FR."com.x.aa"')


def test_include_problems_are_located_in_the_included_file(tmp_path: Path) -> None:
    """An include pattern matching nothing, and an included file with foreign keys, are reported."""
    path = write(tmp_path, ach())
    path.write_text('include = ["locales/*.toml", "missing.toml"]\n' + path.read_text())
    (tmp_path / "locales").mkdir()
    (tmp_path / "locales" / "fr-FR.toml").write_text('app_id = "2"\n[locales.fr-FR."com.x.b"]\nname = "n"\n')
    found = problems(path)
    assert "matches no file" in one(found, "'missing.toml'")
    inc = str(tmp_path / "locales" / "fr-FR.toml")
    one(found, f"{inc}: app_id", "may only hold")
    assert one(found, "no achievement has vendor_identifier 'com.x.b'").startswith(f"{inc}:2:")


def test_every_problem_is_reported_at_once_with_line_numbers(tmp_path: Path) -> None:
    """Problems in several achievements come back in one ManifestError, each at the line of its own key."""
    body = ach("com.x.a") + ach("com.x.b", loc_extra='image = ""') + ach("com.x.c", locales=("fr-FR",))
    body = body.replace('name = "Name fr-FR"', 'name = ""')
    path = write(tmp_path, body, icons=("com.x.a.png", "com.x.c.png"))
    found = problems(path)
    assert len(found) == 2
    assert one(found, "com.x.b", "image").startswith(f"{path}:23: ")  # image = "" (its table starts at 19)
    assert one(found, "com.x.c", ".locales.fr-FR.name", "is empty").startswith(f"{path}:29: ")
