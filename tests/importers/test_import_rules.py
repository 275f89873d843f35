"""The importers' building blocks: the strict VDF reader, vendor-id and points rules, language maps."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from importsources import APP_ID, make_steam

from bulkgc.importers import ImportOptions, run_import
from bulkgc.importers.common import Collector
from bulkgc.importers.languages import LocaleResolver, parse_locale_map
from bulkgc.importers.play import guess_locale
from bulkgc.importers.rules import fit_text, rescale_points, vendor_identifier
from bulkgc.importers.steam import STEAM_LANGUAGES
from bulkgc.importers.vdf import VdfBlock, VdfSyntaxError, decode_text, parse_vdf
from bulkgc.locales import is_asc_locale

VALID_ID = re.compile(r"[A-Za-z0-9._-]{1,100}")


def test_vdf_nested_blocks_escapes_comments_and_lines() -> None:
    """Nested blocks, escapes, // comments and unquoted tokens parse; every entry keeps its line."""
    text = (
        '"lang"\n{\n  // a comment\n  "english" {\n    "Tokens"\n    {\n      "A_NAME"  "Say \\"hi\\"\\n"\n'
        "      B_DESC  plain\n    }\n  }\n}\n"
    )
    top, duplicates = parse_vdf(text, "loc.vdf")
    assert duplicates == []
    lang = top.get("LANG")  # keys compare case-insensitively, as Valve's do
    assert lang is not None and isinstance(lang[0], VdfBlock) and lang[1] == 1
    english = lang[0].get("english")
    assert english is not None and isinstance(english[0], VdfBlock)
    tokens = english[0].get("Tokens")
    assert tokens is not None and isinstance(tokens[0], VdfBlock)
    assert tokens[0].entries == [("A_NAME", 'Say "hi"\n', 7), ("B_DESC", "plain", 8)]


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ('"lang"\n{\n  "english"\n  {\n', 4, "this block's { is never closed"),
        ('"lang"\n{\n  "a"  "unfinished\n', 3, "a quoted string is never closed"),
        ('"lang"\n{\n  "a"\n', 3, "key 'a' has no value"),
        ('"a" "b"\n}\n', 2, "a } closes nothing"),
        ('"a"\n{\n  { "x" "y" }\n}\n', 3, "a { where a key was expected"),
        ('"a" { "b" }\n', 1, "key 'b' has no value before this }"),
        ('"a" { [$WIN32] "b" "c" }\n', 1, "conditional"),
    ],
)
def test_vdf_syntax_errors_name_the_line(text: str, line: int, message: str) -> None:
    """Truncated or malformed VDF raises one problem with file:line and what to do."""
    with pytest.raises(VdfSyntaxError) as caught:
        parse_vdf(text, "loc.vdf")
    assert caught.value.problem.location == f"loc.vdf:{line}"
    assert message in caught.value.problem.message


def test_vdf_duplicate_keys_and_encodings() -> None:
    """A key twice in a block names both lines; UTF-16 with a BOM decodes; bad UTF-8 names its line."""
    _, duplicates = parse_vdf('"t"\n{\n "K" "1"\n "k" "2"\n}\n', "x.vdf")
    assert [str(d) for d in duplicates] == [
        "x.vdf:4: key 'k' appears twice in one block (first at line 3); keep one"
    ]
    assert decode_text('"a" "é"'.encode("utf-16"), "x.vdf") == '"a" "é"'
    with pytest.raises(VdfSyntaxError) as caught:
        decode_text(b'"a"\n"b"\n"\xff"', "x.vdf")
    assert caught.value.problem.location == "x.vdf:3"


@given(st.text(min_size=1, max_size=150), st.sampled_from(["", "com.studio.game.", "x" * 80]))
def test_vendor_identifier_is_valid_stable_and_injective(source_id: str, prefix: str) -> None:
    """Any source id gives a valid id (≤ 100, allowed characters), the same each time; valid ids are kept."""
    vid, note = vendor_identifier(prefix, source_id)
    assert VALID_ID.fullmatch(vid) and vid.startswith(prefix)
    assert vendor_identifier(prefix, source_id) == (vid, note)
    if VALID_ID.fullmatch(source_id) and len(prefix + source_id) <= 100:
        assert (vid, note) == (prefix + source_id, None)
    else:
        assert note is not None and source_id[:1] and vid != prefix + source_id


def test_vendor_identifier_keeps_ids_apart_that_sanitize_alike() -> None:
    """'First Blood' and 'First_Blood' stay different: the changed one carries a hash of the original."""
    changed, note = vendor_identifier("", "First Blood")
    assert changed.startswith("First_Blood-") and len(changed) == len("First_Blood-") + 8 and note
    assert vendor_identifier("", "First_Blood") == ("First_Blood", None)
    assert vendor_identifier("", "Über Ächievement")[0].startswith("Uber_Achievement-")


@given(st.lists(st.integers(min_value=0, max_value=10_000), min_size=1, max_size=100))
def test_rescaled_points_meet_apple_limits_and_keep_the_order(points: list[int]) -> None:
    """Rescaled points are ≤ 100 each, ≤ 1000 in total, keep the source's order, and are untouched if fine."""
    scaled, note = rescale_points(list(points), None)
    assert all(0 <= p <= 100 for p in scaled) and sum(scaled) <= 1000
    for i, j in zip(range(len(points)), range(1, len(points)), strict=False):
        if points[i] <= points[j]:
            assert scaled[i] <= scaled[j]
        else:
            assert scaled[i] >= scaled[j]
    if max(points) <= 100 and sum(points) <= 1000:
        assert scaled == points and note is None


def test_points_without_source_values_get_an_equal_share() -> None:
    """A source with no points: each gets 1000 // n (at most 100); --points overrides everything."""
    assert rescale_points([None] * 4, None)[0] == [100] * 4
    assert rescale_points([None] * 60, None)[0] == [16] * 60
    assert rescale_points([200, None], 7)[0] == [7, 7]
    assert rescale_points([200, 150, 50, 100], None)[0] == [100, 75, 25, 50]


def test_language_tables_map_to_real_game_center_locales() -> None:
    """Every Steam language maps to a Game Center locale (or is left out on purpose); Play codes too."""
    assert all(v is None or is_asc_locale(v) for v in STEAM_LANGUAGES.values())
    assert guess_locale("ja-JP") == ("ja", None)
    assert guess_locale("zh-TW") == ("zh-Hant", None)
    assert guess_locale("fr_FR") == ("fr-FR", None)
    assert guess_locale("en-IN") == ("en-US", "no Game Center locale en-IN; mapped to the closest, en-US")
    assert guess_locale("es-419")[0] == "es-MX"  # type: ignore[index]
    assert guess_locale("bg") == (None, None)
    assert guess_locale("klingon") is None


def test_locale_map_overrides_and_unknown_languages() -> None:
    """--locale-map wins over the table; skip leaves a language out (noted); unknown is one problem."""
    overrides, errors = parse_locale_map(["bulgarian=skip,latam=es-ES", "klingon=xx"])
    assert overrides == {"bulgarian": "skip", "latam": "es-ES"} and len(errors) == 1
    resolver = LocaleResolver(STEAM_LANGUAGES, overrides)
    collector = Collector()
    assert resolver.resolve("latam", "f:1", collector) == "es-ES"
    assert resolver.resolve("Bulgarian", "f:2", collector) is None
    assert resolver.resolve("elvish", "f:3", collector) is None
    assert resolver.resolve("elvish", "f:9", collector) is None
    assert [str(p) for p in collector.problems][0].startswith("f:3: unknown language 'elvish'")
    assert len(collector.problems) == 1
    assert any("'Bulgarian' left out by --locale-map" in n for n in resolver.notes())


def test_long_texts_are_cut_at_a_word_with_an_ellipsis() -> None:
    """A text over the limit is cut at a word boundary and ends in an ellipsis; a short one is untouched."""
    assert fit_text("short", 64) == "short"
    cut = fit_text("word " * 30, 64)
    assert len(cut) <= 64 and cut.endswith("word…")


def test_steam_one_language_layout_is_read(tmp_path: Path) -> None:
    """A per-language file ("lang" { "Language" "german" "Tokens" {...} }) is read too."""
    schema, _, icons = make_steam(tmp_path / "src")
    vdf = tmp_path / "german.vdf"
    vdf.write_text('"lang"\n{\n\t"Language"\t"german"\n\t"Tokens"\n\t{\n'
                   '\t\t"ACH_WIN_ONE_GAME_NAME"\t"Gewinner"\n\t\t"ACH_WIN_ONE_GAME_DESC"\t"Gewinne."\n\t}\n}\n',
                   encoding="utf-8")
    out = tmp_path / "g.json"
    run_import("steam", schema, ImportOptions(app_id=APP_ID, out=out, icons=icons), localization=vdf)
    first = json.loads(out.read_text(encoding="utf-8"))["achievement"][0]
    assert first["locales"]["de-DE"]["name"] == "Gewinner"
    assert sorted(first["locales"]) == ["de-DE", "en-US"]
