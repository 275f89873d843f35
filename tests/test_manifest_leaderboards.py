"""Leaderboards in the manifest: Apple's attributes and enums, optional icons in their folder, includes."""

from __future__ import annotations

import json
from pathlib import Path

from test_manifest import ach, one, problems, write

from bulkgc.manifest import load_manifest


def board(
    vid: str = "com.x.a", *, locales: tuple[str, ...] = ("en-US",), extra: str = "", loc_extra: str = ""
) -> str:
    """TOML text of one leaderboard with the required attributes and a name per locale."""
    text = (
        f'[[leaderboard]]\nvendor_identifier = "{vid}"\nreference_name = "Board {vid}"\n'
        'default_formatter = "INTEGER"\nsubmission_type = "BEST_SCORE"\nscore_sort_type = "DESC"\n'
        f"{extra}\n"
    )
    for code in locales:
        text += f'[leaderboard.locales.{code}]\nname = "Best {code}"\n{loc_extra}\n'
    return text


def test_leaderboard_loads_with_apples_attributes_and_optional_texts(tmp_path: Path) -> None:
    """Every leaderboard attribute is read by its snake_case name; optional texts and icon may be left out."""
    extra = (
        'score_range_start = 0\nscore_range_end = "1000.5"\nrecurrence_start_date = 2026-01-01T00:00:00Z\n'
        'recurrence_duration = "P1W"\nrecurrence_rule = "FREQ=WEEKLY"\nvisibility = "SHOW_FOR_ALL"\n'
        "archived = false"
    )
    path = write(
        tmp_path, board(extra=extra, loc_extra='formatter_suffix = " pts"\ndescription = "Top"'), icons=()
    )
    (b,) = load_manifest(path).of_kind("leaderboard")
    assert (
        b.kind.name == "leaderboard"
        and b["default_formatter"] == "INTEGER"
        and b["score_sort_type"] == "DESC"
    )
    assert b["score_range_end"] == "1000.5" and b["recurrence_start_date"] == "2026-01-01T00:00:00Z"
    assert b["recurrence_duration"] == "P1W" and b["archived"] is False
    (loc,) = b.localizations
    assert loc.image is None  # the icon is optional and none was given or found
    assert dict(loc.texts) == {
        "name": "Best en-US",
        "formatter_override": None,
        "formatter_suffix": " pts",
        "formatter_suffix_singular": None,
        "description": "Top",
    }


def test_leaderboard_enums_and_formats_are_checked_before_any_request(tmp_path: Path) -> None:
    """Enums from Apple's spec, numbers, date-times with a zone and ISO 8601 durations are each reported."""
    body = board().replace('"INTEGER"', '"INTEGR"').replace('"DESC"', '"DOWN"')
    body = body.replace(
        "\n\n[leaderboard.locales",
        '\nscore_range_start = "lots"\nrecurrence_start_date = '
        '"2026-01-01T00:00:00"\nrecurrence_duration = "1 week"\nvisibility = "PUBLIC"\n\n'
        "[leaderboard.locales",
        1,
    )
    body = body.replace('name = "Best en-US"', 'name = "Best en-US"\nformatter_override = "YEN"')
    found = problems(write(tmp_path, body, icons=()))
    assert "did you mean 'INTEGER'" in one(found, "leaderboard[1]", ").default_formatter")
    assert "ASC, DESC" in one(found, ").score_sort_type")
    assert "must be a number" in one(found, ").score_range_start")
    assert "time zone" in one(found, ").recurrence_start_date")
    assert "ISO 8601 duration" in one(found, ").recurrence_duration")
    assert "SHOW_FOR_ALL" in one(found, ").visibility")
    assert "MONEY_YEN" in one(found, ".locales.en-US.formatter_override")


def test_missing_required_attributes_and_limits(tmp_path: Path) -> None:
    """Required attributes are named with an example; Apple's 100-leaderboard limit and text limits hold."""
    body = board().replace('submission_type = "BEST_SCORE"\n', "")
    body = body.replace('name = "Best en-US"', f'name = "{"n" * 65}"\ndescription = "{"d" * 256}"')
    body += "".join(board(f"com.x.b{i:03}") for i in range(100))
    found = problems(write(tmp_path, body, icons=()))
    assert 'submission_type = "BEST_SCORE"' in one(found, '(vendor_identifier "com.x.a").submission_type')
    assert "limit is 64" in one(found, "com.x.a", ".locales.en-US.name")
    assert "limit is 255" in one(found, "com.x.a", ".locales.en-US.description")
    assert "101 leaderboards; App Store Connect allows at most 100" in one(found, ": leaderboard: ")


def test_icons_by_convention_live_in_their_own_folder_so_a_shared_vendor_id_cannot_collide(
    tmp_path: Path,
) -> None:
    """An achievement and a leaderboard with one vendor id find their own icon (boards: leaderboards/)."""
    body = ach("com.x.same", locales=("en-US", "fr-FR")) + board("com.x.same", locales=("en-US", "fr-FR"))
    path = write(
        tmp_path,
        body,
        icons=("com.x.same.png", "leaderboards/com.x.same.fr-FR.png", "leaderboards/com.x.same.png"),
    )
    m = load_manifest(path)
    assets = tmp_path / "assets"
    (a,) = m.of_kind("achievement")
    (b,) = m.of_kind("leaderboard")
    assert [loc.image for loc in a.localizations] == [assets / "com.x.same.png"] * 2
    assert [loc.image for loc in b.localizations] == [
        assets / "leaderboards" / "com.x.same.png",
        assets / "leaderboards" / "com.x.same.fr-FR.png",
    ]
    assert set(m.images()) == {
        assets / "com.x.same.png",
        assets / "leaderboards" / "com.x.same.png",
        assets / "leaderboards" / "com.x.same.fr-FR.png",
    }


def test_explicit_leaderboard_icon_must_exist_and_ambiguity_is_reported(tmp_path: Path) -> None:
    """An explicit `image` that is missing, or two convention files for one locale, are problems."""
    body = board("com.x.a", extra='image = "nope.png"') + board("com.x.b")
    found = problems(write(tmp_path, body, icons=("leaderboards/com.x.b.png", "leaderboards/com.x.b.jpg")))
    assert "image 'nope.png' not found" in one(found, "com.x.a", ".image")
    assert "ambiguous image: leaderboards/com.x.b.png, leaderboards/com.x.b.jpg" in one(
        found, "com.x.b", ".image"
    )


def test_leaderboard_texts_from_included_files_and_json(tmp_path: Path) -> None:
    """[leaderboard_locales.<locale>.<vendor>] tables in included files fill texts; JSON works alike."""
    (tmp_path / "locales").mkdir()
    (tmp_path / "locales" / "fr.toml").write_text(
        '[leaderboard_locales.fr-FR."com.x.a"]\nname = "Meilleur"\n\n'
        '[locales.fr-FR."com.x.a"]\nname = "Nom"\n'
        'before_earned_description = "Avant"\nafter_earned_description = "Apres"\n',
        encoding="utf-8",
    )
    path = write(tmp_path, ach("com.x.a") + board("com.x.a"))
    path.write_text('include = ["locales/*.toml"]\n' + path.read_text(encoding="utf-8"), encoding="utf-8")
    m = load_manifest(path)
    (b,) = m.of_kind("leaderboard")
    assert b.localization("fr-FR") is not None and b.localization("fr-FR")["name"] == "Meilleur"  # type: ignore[index]
    assert m.of_kind("achievement")[0].localization("fr-FR")["name"] == "Nom"  # type: ignore[index]

    doc = {
        "app_id": "1234567890",
        "leaderboard": [
            {
                "vendorIdentifier": "com.x.j",
                "referenceName": "J",
                "defaultFormatter": "ELAPSED_TIME_SECOND",
                "submissionType": "MOST_RECENT_SCORE",
                "scoreSortType": "ASC",
                "locales": {"ja": {"name": "最高", "formatterSuffixSingular": " 秒"}},
            }
        ],
    }
    json_path = tmp_path / "m.json"
    json_path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    (j,) = load_manifest(json_path).items
    assert (
        j["submission_type"] == "MOST_RECENT_SCORE"
        and j.localizations[0]["formatter_suffix_singular"] == " 秒"
    )


def test_unknown_leaderboard_in_locale_table_names_the_kind(tmp_path: Path) -> None:
    """leaderboard_locales for an id no leaderboard has is reported (an achievement's id does not count)."""
    body = ach("com.x.a") + board("com.x.b") + '[leaderboard_locales.de-DE."com.x.a"]\nname = "X"\n'
    found = problems(write(tmp_path, body, icons=("com.x.a.png",)))
    assert "no leaderboard has vendor_identifier 'com.x.a'" in one(found, "leaderboard_locales.de-DE")


def test_rules_across_attributes_are_checked_before_any_request(tmp_path: Path) -> None:
    """A score range whose start is above its end, and a recurrence given in part, are each reported."""
    body = board("com.x.a", extra='score_range_start = "500"\nscore_range_end = 100')
    body += board("com.x.b", extra='recurrence_duration = "P1D"')
    body += board("com.x.c", extra='score_range_start = 1\nscore_range_end = "1.0"\nrecurrence_start_date = '
                  '2026-02-01T00:00:00Z\nrecurrence_duration = "P1D"\nrecurrence_rule = "FREQ=DAILY"')
    found = problems(write(tmp_path, body, icons=()))
    assert "500 is above score_range_end (100); swap them" in one(found, "com.x.a", ").score_range_start")
    why = one(found, "com.x.b", ").recurrence_start_date")
    assert "needs recurrence_start_date, recurrence_duration, recurrence_rule together" in why
    assert not [p for p in found if "com.x.c" in p]  # equal ends and a complete recurrence are fine
