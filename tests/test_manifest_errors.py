"""`bulkgc validate` points each manifest mistake at its cause: the right line, once, with the fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from bulkgc.cli import main

LOC = """
[achievement.locales.{code}]
name = "Name"
before_earned_description = "Before"
after_earned_description = "After"
"""


def achievement(vid: str, *, header: str = "[[achievement]]", extra: str = "", locales: str = "en-US") -> str:
    text = f'\n{header}\nvendor_identifier = "{vid}"\nreference_name = "Ref"\npoints = 10\n' \
           f"show_before_earned = true\nrepeatable = false\n{extra}"
    return text + "".join(LOC.format(code=code) for code in locales.split())


def validate(tmp_path: Path, body: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str], Path]:
    """Run `bulkgc validate` on app_id + body; (exit code, problem lines, manifest path)."""
    (tmp_path / "assets").mkdir(exist_ok=True)
    for vid in ("com.x.a", "com.x.b"):
        (tmp_path / "assets" / f"{vid}.png").write_bytes(b"")
    path = tmp_path / "m.toml"
    path.write_text('app_id = "1234567890"\n' + body, encoding="utf-8")
    code = main(["validate", str(path)])
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return code, [line.strip()[2:] for line in err.splitlines() if line.strip().startswith("- ")], path


def line_of(path: Path, text: str) -> int:
    return next(n for n, line in enumerate(path.read_text().splitlines(), 1) if line.strip() == text)


def test_single_bracket_achievement_table_says_use_double_brackets_at_its_line(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """[achievement] twice: one problem at the first [achievement] line saying to write [[achievement]]."""
    body = achievement("com.x.a", header="[achievement]") + achievement("com.x.b", header="[achievement]")
    code, found, path = validate(tmp_path, body, capsys)
    assert code == 2 and len(found) == 1, found
    assert found[0].startswith(f"{path}:{line_of(path, '[achievement]')}: ")
    assert "write [[achievement]] (double brackets)" in found[0]


def test_single_bracket_with_one_achievement_is_located(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A lone [achievement] table (valid TOML) is reported at its header line with the same fix."""
    code, found, path = validate(tmp_path, achievement("com.x.a", header="[achievement]"), capsys)
    assert code == 2 and len(found) == 1
    assert found[0].startswith(f"{path}:{line_of(path, '[achievement]')}: achievement: write [[achievement]]")


def test_missing_achievement_icon_reported_once_at_its_own_line(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An achievement's image naming a missing file: one problem at that line, none under locales.*.image."""
    body = achievement("com.x.a", extra='image = "badges/nope.png"\n', locales="en-US fr-FR de-DE")
    code, found, path = validate(tmp_path, body, capsys)
    assert code == 2 and len(found) == 1, found
    line = line_of(path, 'image = "badges/nope.png"')
    assert found[0].startswith(f"{path}:{line}: ")
    assert '.image: image \'badges/nope.png\' not found' in found[0] and "locales" not in found[0]


def test_misspelt_key_is_one_problem_not_also_missing(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """refrence_name and nme: one did-you-mean each at their own line, no 'missing' for the real keys."""
    body = achievement("com.x.a").replace("reference_name", "refrence_name")
    body = body.replace('name = "Name"', 'nme = "N"')
    code, found, path = validate(tmp_path, body, capsys)
    assert code == 2 and len(found) == 2, found
    first, second = line_of(path, 'refrence_name = "Ref"'), line_of(path, 'nme = "N"')
    assert found[0].startswith(f"{path}:{first}: ")
    assert "unknown key 'refrence_name'; did you mean 'reference_name'?" in found[0]
    assert found[1].startswith(f"{path}:{second}: ")
    assert "unknown key 'nme'; did you mean 'name'?" in found[1]
    assert not any("missing" in line for line in found)


@pytest.mark.parametrize(("written", "meant"),
                         [("french", "fr-FR"), ("German", "de-DE"), ("japanesse", "ja")])
def test_locale_written_as_language_name_gets_did_you_mean(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], written: str, meant: str) -> None:
    """A locale written as a language name (or a near miss of one) gets the App Store Connect code."""
    code, found, path = validate(tmp_path, achievement("com.x.a", locales=f"en-US {written}"), capsys)
    assert code == 2 and len(found) == 1, found
    line = line_of(path, f"[achievement.locales.{written}]")
    assert found[0].startswith(f"{path}:{line}: ")
    assert f"'{written}' is not a locale App Store Connect accepts; did you mean '{meant}'?" in found[0]


def test_text_limit_says_it_is_bulkgcs_guess_and_how_to_raise_it(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An over-long name names bulkgc's own limit (Apple documents none) and the [limits] key to raise it."""
    body = achievement("com.x.a").replace('name = "Name"', f'name = "{"n" * 70}"')
    code, found, _ = validate(tmp_path, body, capsys)
    assert code == 2 and len(found) == 1, found
    assert "is 70 characters; bulkgc's own limit is 64 (Apple documents none for name)" in found[0]
    assert "raise it with [limits] name = 70" in found[0]

    code, found, _ = validate(tmp_path, "[limits]\nname = 60\n" + body, capsys)
    assert code == 2 and "the limit is 60, set by [limits] name in this manifest" in found[0]


def test_apple_limits_say_so_and_cannot_be_overridden(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Points over 100 cite Apple's limit; [limits] points = 200 is refused at its line, typos too."""
    limits = "[limits]\npoints = 200\nvendor_identifier = 200\ndescripton = 300\n"
    body = limits + achievement("com.x.a").replace("points = 10", "points = 120")
    code, found, path = validate(tmp_path, body, capsys)
    assert code == 2 and len(found) == 4, found
    assert found[0].startswith(f"{path}:{line_of(path, 'points = 200')}: limits.points: ")
    assert "100 points per achievement is App Store Connect's documented limit" in found[0]
    assert "it cannot be changed: remove this line" in found[0]
    assert "limits.vendor_identifier: 100 characters is App Store Connect's documented limit" in found[1]
    assert "unknown limit 'descripton'; did you mean 'description'?" in found[2]
    assert "120 is out of range; App Store Connect allows 0..100 points each" in found[3]
    assert "(Apple's documented limit, App Store Connect Help, Achievements)" in found[3]


def test_each_locale_problem_points_at_its_own_items_table(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The same locale mistake in two items (and a correct one between) is reported at each item's own
    `[achievement.locales.<code>]` line, not at the first item's."""
    body = (achievement("com.x.a", locales="en-US french") + achievement("com.x.b", locales="en-US fr-FR")
            + achievement("com.x.c", locales="french de-DE"))
    (tmp_path / "assets").mkdir()
    (tmp_path / "assets" / "com.x.c.png").write_bytes(b"")
    code, found, path = validate(tmp_path, body, capsys)
    assert code == 2 and len(found) == 2, found
    lines = [n for n, line in enumerate(path.read_text().splitlines(), 1)
             if line.strip() == "[achievement.locales.french]"]
    assert len(lines) == 2
    for problem, line in zip(found, lines, strict=True):
        assert problem.startswith(f"{path}:{line}: "), (problem, line)
