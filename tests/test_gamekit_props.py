"""Property test: any gameCenterResources.json gives a Manifest or a ManifestError, nothing else."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bulkgc.errors import ManifestError
from bulkgc.manifest import Manifest, load_manifest

KEYS = [
    "achievements",
    "achievementLocalizations",
    "achievementImages",
    "leaderboards",
    "leaderboardLocalizations",
    "leaderboardImages",
    "vendorIdentifier",
    "referenceName",
    "points",
    "showBeforeEarned",
    "repeatable",
    "archived",
    "locale",
    "localID",
    "name",
    "url",
    "beforeEarnedDescription",
    "afterEarnedDescription",
    "defaultFormatter",
    "submissionType",
    "scoreSortType",
    "en-US",
    "v1",
    "v1-en-US",
    "resources",
    "meta",
    # the newer kinds, under the names bulkgc infers for them
    "leaderboardSets",
    "leaderboardSetLocalizations",
    "leaderboardSetImages",
    "leaderboardVendorIdentifiers",
    "activities",
    "activityLocalizations",
    "activityImages",
    "activityDefaultImages",
    "fallbackUrl",
    "properties",
    "challenges",
    "challengeLocalizations",
    "challengeImages",
    "challengeDefaultImages",
    "leaderboardVendorIdentifier",
    "challengeType",
]
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    st.text(max_size=20),
    st.sampled_from(["v1", "en-US", "v1-en-US", "en-US/a.png", "../a.png", "/etc/passwd", "INTEGER", "DESC"]),
)
json_like = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=8), children, max_size=5),
    ),
    max_leaves=30,
)
documents = st.one_of(json_like, st.fixed_dictionaries({"meta": json_like, "resources": json_like}))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents)
def test_any_gamekit_document_is_a_manifest_or_a_manifest_error(doc: Any) -> None:
    """Whatever the JSON holds, loading the bundle gives a Manifest or a ManifestError listing problems."""
    with tempfile.TemporaryDirectory() as tmp:
        bundle = Path(tmp) / "GameCenterResources.gamekit"
        (bundle / "en-US").mkdir(parents=True)
        (bundle / "en-US" / "a.png").write_bytes(b"\x89PNG\r\n\x1a\n")
        (bundle / "gameCenterResources.json").write_text(json.dumps(doc), encoding="utf-8")
        try:
            manifest = load_manifest(bundle, app_id="1")
        except ManifestError as exc:
            assert exc.problems
        else:
            assert isinstance(manifest, Manifest)
