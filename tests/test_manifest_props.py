"""Property tests: any input gives a Manifest or a ManifestError, never another exception."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bulkgc.errors import ManifestError
from bulkgc.locales import ASC_LOCALES
from bulkgc.manifest import Manifest, load_manifest, parse_manifest

KNOWN_KEYS = [
    "app_id", "appId", "assets", "include", "defaults", "achievement", "locales", "vendor_identifier",
    "vendorIdentifier", "reference_name", "points", "show_before_earned", "repeatable", "image", "name",
    "before_earned_description", "after_earned_description", "beforeEarnedDescription",
]
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=True),
    st.text(max_size=40),
    st.sampled_from(["icon.png", "", "1234567890", "../x.png"]),
)
keys = st.one_of(st.sampled_from(KNOWN_KEYS + list(ASC_LOCALES[:5])), st.text(max_size=12))
json_like = st.recursive(
    scalars,
    lambda children: st.one_of(st.lists(children, max_size=4), st.dictionaries(keys, children, max_size=5)),
    max_leaves=25,
)


def loc_table() -> st.SearchStrategy[Any]:
    """A localization table: usually plausible, sometimes junk."""
    text = st.one_of(st.text(max_size=80), json_like)
    return st.one_of(
        st.fixed_dictionaries(
            {"name": text, "before_earned_description": text, "after_earned_description": text},
            optional={"image": st.one_of(st.just("icon.png"), json_like), "extra": json_like},
        ),
        json_like,
    )


achievement = st.fixed_dictionaries(
    {"vendor_identifier": st.one_of(st.from_regex(r"[a-z.]{1,12}", fullmatch=True), json_like)},
    optional={
        "reference_name": st.one_of(st.text(max_size=70), json_like),
        "points": st.one_of(st.integers(-5, 120), json_like),
        "show_before_earned": st.one_of(st.booleans(), json_like),
        "repeatable": st.one_of(st.booleans(), json_like),
        "image": st.one_of(st.just("icon.png"), json_like),
        "locales": st.one_of(
            st.dictionaries(
                st.one_of(st.sampled_from(ASC_LOCALES), st.text(max_size=6)), loc_table(), max_size=3
            ),
            json_like,
        ),
    },
)
manifest_like = st.one_of(
    st.fixed_dictionaries(
        {"app_id": st.one_of(st.just("1234567890"), json_like)},
        optional={
            "defaults": st.one_of(st.fixed_dictionaries({"points": st.integers(0, 100)}), json_like),
            "achievement": st.one_of(st.lists(achievement, max_size=4), json_like),
            "locales": json_like,
            "include": st.one_of(st.just(["*.toml"]), json_like),
            "assets": st.one_of(st.just("."), json_like),
        },
    ),
    json_like,
)

VALID_TOML = """\
app_id = "1234567890"
assets = "."
[defaults]
points = 10
show_before_earned = true
repeatable = false
[[achievement]]
vendor_identifier = "com.x.a"
reference_name = "A"
image = "icon.png"
[achievement.locales.en-US]
name = "Name"
before_earned_description = "Before"
after_earned_description = "After"
"""


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory with an icon.png so that some generated manifests are valid."""
    directory = tmp_path_factory.mktemp("props")
    (directory / "icon.png").write_bytes(b"")
    return directory


def outcome(call: Any) -> Manifest | ManifestError:
    """Run `call`; return the Manifest or the ManifestError (any other exception fails the test)."""
    try:
        result = call()
    except ManifestError as exc:
        assert exc.problems and all(p.location and p.message for p in exc.problems)
        str(exc).encode("utf-8")  # the message is printable
        return exc
    assert isinstance(result, Manifest)
    return result


@SETTINGS
@given(data=manifest_like)
def test_any_parsed_data_gives_a_manifest_or_a_manifest_error(workdir: Path, data: Any) -> None:
    """parse_manifest on arbitrary JSON-like data never raises anything but ManifestError."""
    outcome(lambda: parse_manifest(data, path=workdir / "m.toml"))


@SETTINGS
@given(data=manifest_like)
def test_any_json_file_gives_a_manifest_or_a_manifest_error(workdir: Path, data: Any) -> None:
    """load_manifest on any JSON document (as written by json.dumps) never raises anything else."""
    path = workdir / "m.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    outcome(lambda: load_manifest(path))


@SETTINGS
@given(cut=st.integers(0, len(VALID_TOML)), insert=st.text(max_size=30), drop=st.integers(0, 20))
def test_mutated_toml_text_gives_a_manifest_or_a_manifest_error(
    workdir: Path, cut: int, insert: str, drop: int
) -> None:
    """A valid TOML manifest with text inserted and removed anywhere never crashes the loader."""
    path = workdir / "m.toml"
    text = VALID_TOML[:cut] + insert + VALID_TOML[cut + drop :]
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    outcome(lambda: load_manifest(path))


@SETTINGS
@given(raw=st.binary(max_size=200))
def test_arbitrary_bytes_give_a_manifest_error(workdir: Path, raw: bytes) -> None:
    """Random bytes in a .toml file are a ManifestError (they never form a valid manifest)."""
    path = workdir / "m.toml"
    path.write_bytes(raw)
    assert isinstance(outcome(lambda: load_manifest(path)), ManifestError)


def test_the_unmutated_toml_seed_is_valid(workdir: Path) -> None:
    """The seed text of the mutation test loads, so the mutation test explores near-valid input."""
    path = workdir / "seed.toml"
    path.write_text(VALID_TOML, encoding="utf-8")
    assert isinstance(outcome(lambda: load_manifest(path)), Manifest)
