"""Leaderboard sets, activities and challenges in the manifest: references, attributes, version attributes,
default images by name or convention, and every problem reported at once before any request."""

from __future__ import annotations

from pathlib import Path

from test_manifest import one, problems, write
from test_manifest_leaderboards import board

from bulkgc.manifest import load_manifest


def a_set(vid: str = "com.x.set", members: str = '["com.x.a"]', extra: str = "") -> str:
    return (
        f'[[leaderboard_set]]\nvendor_identifier = "{vid}"\nreference_name = "Set"\n'
        f"leaderboards = {members}\n"
        f'{extra}\n[leaderboard_set.locales.en-US]\nname = "Arcade"\n\n'
    )


def activity(vid: str = "com.x.act", extra: str = "") -> str:
    return (
        f'[[activity]]\nvendor_identifier = "{vid}"\nreference_name = "Raid"\n{extra}\n'
        '[activity.locales.en-US]\nname = "Raid"\ndescription = "Go"\n\n'
    )


def challenge(vid: str = "com.x.ch", extra: str = 'leaderboard = "com.x.a"') -> str:
    return (
        f'[[challenge]]\nvendor_identifier = "{vid}"\nreference_name = "Weekly"\n'
        'challenge_type = "LEADERBOARD"\n'
        f'{extra}\n[challenge.locales.en-US]\nname = "Weekly"\n\n'
    )


def test_new_kinds_load_with_references_attributes_and_default_images(tmp_path: Path) -> None:
    """Set members keep order; activity attributes, fallback URL are read; default images by name or file."""
    extra = (
        'play_style = "SYNCHRONOUS"\nminimum_players_count = 2\nmaximum_players_count = 8\n'
        'supports_party_code = true\nproperties = { mode = "raid" }\nfallback_url = "https://x.example/p"\n'
    )
    body = (
        board("com.x.a")
        + board("com.x.b")
        + a_set(members='["com.x.b", "com.x.a"]')
        + activity(extra=extra)
        + challenge(extra='leaderboard = "com.x.b"\ndefault_image = "art/weekly.jpg"')
    )
    path = write(
        tmp_path,
        body,
        icons=("activities/com.x.act.default.png", "activities/com.x.act.en-US.png", "art/weekly.jpg"),
    )
    m = load_manifest(path)
    (s,) = m.of_kind("leaderboard_set")
    assert s.references == {"leaderboards": ("com.x.b", "com.x.a")}
    (act,) = m.of_kind("activity")
    assert act["properties"] == {"mode": "raid"} and act["maximum_players_count"] == 8
    assert act.version_attributes == {"fallback_url": "https://x.example/p"}
    assert act.default_image == tmp_path / "assets" / "activities" / "com.x.act.default.png"
    assert act.localizations[0].image == tmp_path / "assets" / "activities" / "com.x.act.en-US.png"
    (ch,) = m.of_kind("challenge")
    assert (
        ch.references == {"leaderboard": ("com.x.b",)}
        and ch.default_image == tmp_path / "assets/art/weekly.jpg"
    )
    assert ch.localizations[0].image is None  # localized images are optional
    sizes = m.image_sizes()
    assert sizes[act.default_image] == ((3840, 2160),) and sizes[tmp_path / "assets/art/weekly.jpg"] == (
        (3840, 2160),
    )


def test_new_kinds_problems_all_at_once(tmp_path: Path) -> None:
    """Bad references, enums, player counts, properties, URL, a missing leaderboard: each one reported."""
    members = "[" + ", ".join(f'"com.x.b{i}"' for i in range(101)) + "]"
    extra = 'play_style = "ASYNC"\nproperties = { mode = 3 }\nfallback_url = "ftp://x"\n'
    players = "minimum_players_count = 5\nmaximum_players_count = 2\n"  # rules judge otherwise valid items
    body = (
        board("com.x.a")
        + a_set("com.x.s1", '"com.x.a"')
        + a_set("com.x.s2", '["com.x.a", "com.x.a"]')
        + a_set("com.x.s3", members)
        + activity(extra=extra)
        + activity("com.x.act2", players)
        + challenge(extra="")
        + challenge("com.x.ch2", extra='leaderboard = "com.x.a"\ndefault_image = "nope.png"')
    )
    body += activity("com.x.act3")  # two default images by convention: bulkgc refuses to guess
    twins = ("activities/com.x.act3.default.png", "activities/com.x.act3.default.jpg")
    found = problems(write(tmp_path, body, icons=twins))
    one(found, "leaderboard_set[1]", ".leaderboards", "must be an array")
    one(found, "leaderboard_set[2]", "'com.x.a'", "more than once")
    one(found, "leaderboard_set[3]", "lists 101 leaderboards", "at most 100")
    one(found, "activity[1]", "play_style", "use one of: ASYNCHRONOUS, SYNCHRONOUS")
    one(found, "activity[2]", "minimum_players_count", "is more than maximum_players_count")
    one(found, "activity[1]", "properties", "table of strings")
    one(found, "activity[1]", "fallback_url", "http(s) URL")
    one(found, "challenge[1]", "leaderboard", "missing; set leaderboard =")
    one(found, "challenge[2]", "default_image 'nope.png' not found")
    one(found, "activity[3]", "ambiguous default image", "com.x.act3.default.jpg")


def test_new_kinds_have_their_own_locale_sections_in_includes(tmp_path: Path) -> None:
    """`[activity_locales.<locale>."<vendor>"]` in an included file adds a locale to that activity only."""
    (tmp_path / "locales").mkdir()
    (tmp_path / "locales" / "de.toml").write_text(
        '[activity_locales.de-DE."com.x.act"]\nname = "Überfall"\n', encoding="utf-8"
    )
    path = write(tmp_path, 'include = ["locales/*.toml"]\n' + activity(), icons=())
    text = path.read_text(encoding="utf-8").replace('include = ["locales/*.toml"]\n', "")
    path.write_text('include = ["locales/*.toml"]\n' + text, encoding="utf-8")
    (act,) = load_manifest(path).of_kind("activity")
    assert act.locales == ("en-US", "de-DE") and act.localization("de-DE")["description"] is None


def test_challenge_reference_name_keeps_apples_255_while_others_keep_bulkgcs_64(tmp_path: Path) -> None:
    """Challenge reference names have Apple's 255 characters; sets bulkgc's 64, which [limits] may raise."""
    long_ref = "r" * 200
    body = board("com.x.a") + challenge().replace(
        'reference_name = "Weekly"', f'reference_name = "{long_ref}"'
    )
    (ch,) = load_manifest(write(tmp_path, body, icons=())).of_kind("challenge")
    assert ch["reference_name"] == long_ref
    body = board("com.x.a") + a_set().replace('reference_name = "Set"', 'reference_name = "' + "s" * 65 + '"')
    one(problems(write(tmp_path, body, icons=())), "leaderboard_set[1]", "reference_name", "is 65 characters")
    raised = write(tmp_path, "[limits]\nreference_name = 70\n" + body, icons=())
    assert len(load_manifest(raised).of_kind("leaderboard_set")[0]["reference_name"]) == 65
    too_long = challenge().replace('reference_name = "Weekly"', 'reference_name = "' + "c" * 256 + '"')
    one(
        problems(write(tmp_path, board("com.x.a") + too_long, icons=())),
        "challenge[1]",
        "reference_name",
        "App Store Connect allows 255",
    )
