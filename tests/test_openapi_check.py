"""Tests for spec validation: the simulator's runtime request validator and the test-side exchange check."""

from __future__ import annotations

import copy
import importlib.util
import json
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import openapi_check
import pytest

from bulkgc.sim import schema
from bulkgc.sim.schema import Violation, request_schema_for, schema_names, validate_body

REPO_ROOT = Path(__file__).resolve().parents[1]

# These tests hand the checker broken exchanges on purpose: their violations are not the simulator's.
pytestmark = pytest.mark.openapi_selftest

# Request bodies as documented in Apple's Game Center API docs (shared/asc/GAME_CENTER_API.md, A4).
ACHIEVEMENT_V2_CREATE = {
    "data": {
        "type": "gameCenterAchievements",
        "attributes": {"referenceName": "First Win", "vendorIdentifier": "com.example.first_win",
                       "points": 10, "showBeforeEarned": True, "repeatable": False},
        "relationships": {
            "gameCenterDetail": {"data": {"type": "gameCenterDetails", "id": "DETAIL_ID"}},
            "versions": {"data": [{"type": "gameCenterAchievementVersions", "id": "${v1}"}]},
        },
    },
    "included": [{"type": "gameCenterAchievementVersions", "id": "${v1}"}],
}
VERSION_V2_CREATE = {"data": {"type": "gameCenterAchievementVersions",
                              "relationships": {"achievement": {"data": {"type": "gameCenterAchievements",
                                                                         "id": "ACH_ID"}}}}}
LOCALIZATION_V2_CREATE = {"data": {
    "type": "gameCenterAchievementLocalizations",
    "attributes": {"locale": "en-US", "name": "First Win", "beforeEarnedDescription": "Win once",
                   "afterEarnedDescription": "You won"},
    "relationships": {"version": {"data": {"type": "gameCenterAchievementVersions", "id": "VERSION_ID"}}},
}}
LOCALIZATION_LINKAGE = {"data": {"type": "gameCenterAchievementLocalizations", "id": "LOC_ID"}}
IMAGE_V2_CREATE = {"data": {
    "type": "gameCenterAchievementImages",
    "attributes": {"fileName": "first_win.png", "fileSize": 123456},
    "relationships": {"localization": LOCALIZATION_LINKAGE},
}}
IMAGE_COMMIT = {"data": {
    "type": "gameCenterAchievementImages", "id": "IMAGE_ID", "attributes": {"uploaded": True},
}}
IMAGE_V1_CREATE = {"data": {
    "type": "gameCenterAchievementImages",
    "attributes": {"fileName": "first_win.png", "fileSize": 123456},
    "relationships": {"gameCenterAchievementLocalization": LOCALIZATION_LINKAGE},
}}
IMAGE_CREATE = "GameCenterAchievementImageV2CreateRequest"


def _image_create(**changes: Any) -> dict[str, Any]:
    body = copy.deepcopy(IMAGE_V2_CREATE)
    body["data"]["attributes"].update(changes)
    return body


def _one(violations: list[Violation]) -> Violation:
    assert len(violations) == 1, violations
    return violations[0]


# --- runtime validator (bulkgc.sim.schema) ---------------------------------------------------------


@pytest.mark.parametrize(
    ("schema_name", "body"),
    [
        ("GameCenterAchievementV2CreateRequest", ACHIEVEMENT_V2_CREATE),
        ("GameCenterAchievementVersionV2CreateRequest", VERSION_V2_CREATE),
        ("GameCenterAchievementLocalizationV2CreateRequest", LOCALIZATION_V2_CREATE),
        ("GameCenterAchievementImageV2CreateRequest", IMAGE_V2_CREATE),
        ("GameCenterAchievementImageV2UpdateRequest", IMAGE_COMMIT),
        ("GameCenterAchievementImageUpdateRequest", IMAGE_COMMIT),
        ("GameCenterAchievementImageCreateRequest", IMAGE_V1_CREATE),
    ],
)
def test_documented_bodies_are_valid(schema_name: str, body: dict[str, Any]) -> None:
    """The request bodies documented for the Game Center flow pass their schemas."""
    assert validate_body(schema_name, body) == []


def test_missing_required_attribute_points_at_the_member() -> None:
    """A missing required attribute is reported at the pointer where it belongs."""
    body = _image_create()
    del body["data"]["attributes"]["fileSize"]
    assert _one(validate_body(IMAGE_CREATE, body)) == Violation(
        "/data/attributes/fileSize", "'fileSize' is required", "required")


def test_missing_required_relationship_and_document_member() -> None:
    """Required members are checked at every level, including the top-level `data`."""
    body = _image_create()
    del body["data"]["relationships"]
    violation = _one(validate_body(IMAGE_CREATE, body))
    assert (violation.pointer, violation.kind) == ("/data/relationships", "required")
    assert _one(validate_body(IMAGE_CREATE, {})).pointer == "/data"


@pytest.mark.parametrize("bad_size", ["123456", 123456.0, True, [1]])
def test_wrong_type_is_flagged(bad_size: object) -> None:
    """fileSize must be a JSON integer: strings, floats, booleans and arrays are type violations."""
    violation = _one(validate_body(IMAGE_CREATE, _image_create(fileSize=bad_size)))
    assert (violation.pointer, violation.kind) == ("/data/attributes/fileSize", "type")


def test_wrong_enum_in_relationship_type() -> None:
    """A wrong resource `type` string in a relationship is an enum violation at its pointer."""
    body = _image_create()
    body["data"]["relationships"]["localization"]["data"]["type"] = "gameCenterAchievementVersions"
    violation = _one(validate_body(IMAGE_CREATE, body))
    assert (violation.pointer, violation.kind) == ("/data/relationships/localization/data/type", "enum")
    assert "gameCenterAchievementLocalizations" in violation.message


def test_wrong_document_type_is_flagged() -> None:
    """The one-value enum pinning `data.type` rejects any other resource type."""
    body = _image_create()
    body["data"]["type"] = "gameCenterLeaderboardImages"
    assert _one(validate_body(IMAGE_CREATE, body)).pointer == "/data/type"


def test_unknown_attribute_is_flagged() -> None:
    """An attribute Apple does not declare (GC images have no sourceFileChecksum) is kind "unknown"."""
    body = copy.deepcopy(IMAGE_COMMIT)
    body["data"]["attributes"]["sourceFileChecksum"] = "d41d8cd98f00b204e9800998ecf8427e"
    violation = _one(validate_body("GameCenterAchievementImageV2UpdateRequest", body))
    assert (violation.pointer, violation.kind) == ("/data/attributes/sourceFileChecksum", "unknown")


def test_unknown_relationship_name_from_other_api_version() -> None:
    """The v1 relationship name in a v2 create body is unknown, and the required v2 one is missing."""
    body = copy.deepcopy(IMAGE_V1_CREATE)
    violations = validate_body(IMAGE_CREATE, body)
    assert {(v.pointer, v.kind) for v in violations} == {
        ("/data/relationships/localization", "required"),
        ("/data/relationships/gameCenterAchievementLocalization", "unknown"),
    }


def test_pointer_escapes_slash_and_tilde() -> None:
    """Member names are escaped per RFC 6901 in pointers."""
    violation = _one(validate_body(IMAGE_CREATE, _image_create(**{"a/b~c": 1})))
    assert violation.pointer == "/data/attributes/a~1b~0c"


def test_null_where_not_nullable() -> None:
    """null for a non-nullable attribute is kind "null"; null for a nullable one passes."""
    violation = _one(validate_body(IMAGE_CREATE, _image_create(fileName=None)))
    assert (violation.pointer, violation.kind) == ("/data/attributes/fileName", "null")
    commit = copy.deepcopy(IMAGE_COMMIT)
    commit["data"]["attributes"]["uploaded"] = None
    assert validate_body("GameCenterAchievementImageV2UpdateRequest", commit) == []


def test_nullable_beside_ref_and_additional_properties() -> None:
    """`activityProperties` (nullable $ref to a string map) admits null and checks map values."""
    body = copy.deepcopy(ACHIEVEMENT_V2_CREATE)
    body["data"]["attributes"]["activityProperties"] = None
    assert validate_body("GameCenterAchievementV2CreateRequest", body) == []
    body["data"]["attributes"]["activityProperties"] = {"level": "3", "stars": 5}
    violation = _one(validate_body("GameCenterAchievementV2CreateRequest", body))
    assert (violation.pointer, violation.kind) == ("/data/attributes/activityProperties/stars", "type")


def test_array_items_are_checked_with_index_pointers() -> None:
    """Each array item is validated and reported with its index."""
    body = copy.deepcopy(ACHIEVEMENT_V2_CREATE)
    body["included"].append({"type": "gameCenterAchievements"})
    violation = _one(validate_body("GameCenterAchievementV2CreateRequest", body))
    assert (violation.pointer, violation.kind) == ("/included/1/type", "enum")


def test_one_of_picks_the_matching_alternative() -> None:
    """`included` items are a oneOf: a valid item of either kind passes; a bad one gets the closest branch."""
    base = {"data": {"type": "gameCenterMatchmakingRuleSetTests", "relationships": {
        "matchmakingRuleSet": {"data": {"type": "gameCenterMatchmakingRuleSets", "id": "R"}},
        "matchmakingRequests": {"data": [{"type": "gameCenterMatchmakingTestRequests", "id": "${r1}"}]}}}}
    good = dict(base, included=[
        {"type": "gameCenterMatchmakingTestRequests", "id": "${r1}", "attributes": {"secondsInQueue": 3}},
        {"type": "gameCenterMatchmakingTestPlayerProperties", "id": "${p1}", "attributes": {"playerId": "p"}},
    ])
    assert validate_body("GameCenterMatchmakingRuleSetTestCreateRequest", good) == []
    bad = dict(base, included=[
        {"type": "gameCenterMatchmakingTestRequests", "id": "${r1}", "attributes": {"secondsInQueue": "3"}}])
    violation = _one(validate_body("GameCenterMatchmakingRuleSetTestCreateRequest", bad))
    assert (violation.pointer, violation.kind) == ("/included/0/attributes/secondsInQueue", "type")


def test_request_schema_lookup_matches_placeholders_by_position() -> None:
    """aiohttp placeholder names map onto Apple's `{id}`; operations without a body map to None."""
    assert request_schema_for("post", "/v2/gameCenterAchievementImages") == IMAGE_CREATE
    assert request_schema_for("PATCH", "/v2/gameCenterAchievementImages/{image_id}") == (
        "GameCenterAchievementImageV2UpdateRequest")
    assert request_schema_for("GET", "/v2/gameCenterAchievementImages/{image_id}") is None
    assert request_schema_for("POST", "/v2/gameCenterAchievementImages/{id}") is None
    reorder = "/v1/gameCenterDetails/{d}/relationships/gameCenterAchievementsV2"
    assert request_schema_for("PATCH", reorder) == "GameCenterDetailGameCenterAchievementsV2LinkagesRequest"


def test_every_operation_schema_is_available() -> None:
    """Every schema named in the operation map can be validated; unknown names raise KeyError."""
    names = schema_names()
    document = schema._document()
    assert set(document["operations"].values()) <= names
    with pytest.raises(KeyError):
        validate_body("NoSuchRequest", {})


def _load_extract_script() -> ModuleType:
    script = REPO_ROOT / "scripts" / "extract_schemas.py"
    spec = importlib.util.spec_from_file_location("extract_schemas", script)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_schemas_json_is_up_to_date_with_the_spec() -> None:
    """bulkgc/sim/schemas.json equals a fresh extraction from Apple's spec."""
    extract = _load_extract_script()
    expected = extract.render(extract.extract(openapi_check.read_spec()))
    shipped = (REPO_ROOT / "bulkgc" / "sim" / "schemas.json").read_text(encoding="utf-8")
    assert shipped == expected, "bulkgc/sim/schemas.json is stale: run scripts/extract_schemas.py"
    operations = json.loads(shipped)["operations"]
    assert "POST /v2/gameCenterAchievementImages" in operations
    assert "PATCH /v2/gameCenterLeaderboardImages/{id}" in operations


# --- test-side exchange check (tests/openapi_check.py) ---------------------------------------------

IMAGE_URL = "http://127.0.0.1:1/v2/gameCenterAchievementImages/IMG1"
IMAGE_RESPONSE = {
    "data": {
        "type": "gameCenterAchievementImages",
        "id": "IMG1",
        "attributes": {
            "fileSize": 8192,
            "fileName": "first_win.png",
            "uploadOperations": [
                {"method": "PUT", "url": "http://127.0.0.1:1/upload/IMG1/0?Expires=1", "length": 4096,
                 "offset": 0, "requestHeaders": [{"name": "Content-Type", "value": "image/png"}]},
                {"method": "PUT", "url": "http://127.0.0.1:1/upload/IMG1/1?Expires=1", "length": 4096,
                 "offset": 4096, "requestHeaders": [{"name": "Content-Type", "value": "image/png"}]},
            ],
            "assetDeliveryState": {"errors": [], "state": "AWAITING_UPLOAD"},
        },
        "relationships": {"localization": LOCALIZATION_LINKAGE},
        "links": {"self": IMAGE_URL},
    },
    "links": {"self": IMAGE_URL},
}
ERROR_RESPONSE = {"errors": [{
    "id": "6f2c", "status": "409", "code": "ENTITY_ERROR.ATTRIBUTE.INVALID.DUPLICATE",
    "title": "The provided entity includes an attribute with a value that has already been used",
    "detail": "An image already exists for this localization.",
    "source": {"pointer": "/data/relationships/localization"},
}]}


def _record(**fields: Any) -> SimpleNamespace:
    base: dict[str, Any] = {"method": "POST", "path": "/v2/gameCenterAchievementImages",
                            "route": "/v2/gameCenterAchievementImages", "query": {}, "status": 201,
                            "request_body": IMAGE_V2_CREATE, "response_body": IMAGE_RESPONSE, "kind": "api"}
    base.update(fields)
    return SimpleNamespace(**base)


def test_conforming_image_response_passes() -> None:
    """A reservation answered with a well-formed GameCenterAchievementImageV2Response has no violations."""
    assert openapi_check.check_exchange(_record()) == []


def test_completed_image_with_documented_null_errors_passes() -> None:
    """A COMPLETE image as in Apple's documented example (errors/warnings null) conforms."""
    body = copy.deepcopy(IMAGE_RESPONSE)
    body["data"]["attributes"].update(
        uploadOperations=[],
        imageAsset={"templateUrl": "http://x/{w}x{h}bb.{f}", "width": 1024, "height": 1024},
        assetDeliveryState={"errors": None, "warnings": None, "state": "COMPLETE"})
    record = _record(method="GET", route="/v2/gameCenterAchievementImages/{image_id}", status=200,
                     request_body=None, response_body=json.dumps(body).encode())
    assert openapi_check.check_exchange(record) == []


def test_nonconforming_image_response_is_reported() -> None:
    """Missing data.type, an unknown state and a misspelt attribute are each reported with their location."""
    body = copy.deepcopy(IMAGE_RESPONSE)
    del body["data"]["type"]
    body["data"]["attributes"]["assetDeliveryState"]["state"] = "PROCESSING"
    body["data"]["attributes"]["filesize"] = 1
    problems = openapi_check.check_exchange(_record(response_body=body))
    assert len(problems) == 3, problems
    assert any(p.startswith("response /data:") and "'type' is a required property" in p for p in problems)
    assert any(p.startswith("response /data/attributes/assetDeliveryState/state:") and "PROCESSING" in p
               for p in problems)
    assert any(p.startswith("response /data/attributes:") and "'filesize'" in p for p in problems)


def test_null_for_non_nullable_response_member_is_reported() -> None:
    """`imageAsset: null` is not allowed by the spec (omit it until processing finishes)."""
    body = copy.deepcopy(IMAGE_RESPONSE)
    body["data"]["attributes"]["imageAsset"] = None
    assert openapi_check.check_exchange(_record(response_body=body)) == [
        "response /data/attributes/imageAsset: None for not nullable"
        " (schema GameCenterAchievementImageV2Response)"]


def test_error_response_is_checked_against_error_schema() -> None:
    """A 409 ErrorResponse conforms; an error item without title and with a numeric status does not."""
    assert openapi_check.check_exchange(_record(status=409, response_body=ERROR_RESPONSE)) == []
    bad = {"errors": [{"status": 409, "code": "ENTITY_ERROR"}]}
    problems = openapi_check.check_exchange(_record(status=409, response_body=bad))
    assert sorted(problems) == [
        "response /errors/0/status: 409 is not of type 'string' (schema ErrorResponse)",
        "response /errors/0: 'title' is a required property (schema ErrorResponse)",
    ]


def test_rejected_request_body_is_not_checked_but_accepted_one_is() -> None:
    """An invalid request answered 422 is fine; the same request answered 201 is a violation."""
    invalid = _image_create(fileSize="big")
    rejected = _record(status=422, request_body=invalid, response_body=ERROR_RESPONSE)
    assert openapi_check.check_exchange(rejected) == []
    problems = openapi_check.check_exchange(_record(request_body=invalid))
    assert problems == ["request /data/attributes/fileSize: 'big' is not of type 'integer' "
                        "(schema GameCenterAchievementImageV2CreateRequest)"]


def test_no_content_answers() -> None:
    """A bodiless 204 DELETE conforms; a 204 with a body, or an undeclared 200, does not."""
    route = "/v2/gameCenterAchievementImages/{image_id}"
    assert openapi_check.check_exchange(
        _record(method="DELETE", route=route, status=204, request_body=b"", response_body=b"")) == []
    with_body = openapi_check.check_exchange(
        _record(method="DELETE", route=route, status=204, request_body=None, response_body={"data": None}))
    assert with_body == ["status 204 declares no body but one was sent"]
    undeclared = openapi_check.check_exchange(
        _record(method="DELETE", route=route, status=200, request_body=None, response_body=None))
    assert undeclared and undeclared[0].startswith("status 200 is not declared")


def test_routes_apple_does_not_have_are_violations() -> None:
    """An unknown path or a method Apple does not offer on a known path is reported."""
    assert openapi_check.check_exchange(_record(route="/v2/gameCenterAchievementIcons")) == [
        "path /v2/gameCenterAchievementIcons is not in Apple's spec"]
    assert openapi_check.check_exchange(
        _record(method="PATCH", route="/v2/gameCenterAchievementVersions/{id}")) == [
        "PATCH /v2/gameCenterAchievementVersions/{id} is not an operation in Apple's spec"]


def test_simulator_control_and_upload_exchanges_are_ignored() -> None:
    """/sim/ and /upload routes and non-api kinds are not Apple's API and are skipped."""
    assert openapi_check.check_exchange(_record(route="/sim/state", response_body="not json")) == []
    upload = _record(route="/upload/{token}", kind="upload", response_body=b"")
    assert openapi_check.check_exchange(upload) == []
    assert openapi_check.check_exchange(_record(kind="control", route="/v2/nowhere")) == []


def test_mapping_records_and_regex_placeholders() -> None:
    """Records may be mappings, and aiohttp `{name:regex}` placeholders match by position."""
    record = vars(_record(method="GET", route=r"/v2/gameCenterAchievementImages/{image_id:\w+}", status=200,
                          request_body=None))
    assert openapi_check.check_exchange(record) == []


def test_fixture_fails_a_test_with_nonconforming_exchanges(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The autouse fixture observes simulator exchanges and fails the test, listing each violation."""
    import bulkgc.sim

    monkeypatch.setattr(bulkgc.sim, "observers", [], raising=False)
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    pytester.makeconftest((REPO_ROOT / "tests" / "conftest.py").read_text(encoding="utf-8"))
    pytester.makepyfile(test_inner="""
        from types import SimpleNamespace
        import bulkgc.sim

        def _send(status, body):
            record = SimpleNamespace(method="DELETE", route="/v2/gameCenterAchievementImages/{id}",
                                     status=status, request_body=None, response_body=body, kind="api")
            for observer in list(bulkgc.sim.observers):
                observer(record)

        def test_good():
            _send(204, None)

        def test_bad():
            _send(204, {"data": None})
    """)
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines([
        "*1 simulator exchange(s) do not conform*",
        "*DELETE /v2/gameCenterAchievementImages/{id} -> 204: status 204 declares no body but one was sent*",
        "openapi check: * exchanges validated*",
    ])
    assert bulkgc.sim.observers == []


# --- the spec ships with the repository (issue 12, item 2) ------------------------------------------


def test_spec_ships_inside_the_repository_as_apples_4_4_1(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without BULKGC_ASC_SPEC the checker reads the gzipped spec in tests/data: Apple's 4.4.1, as noted."""
    import gzip
    import hashlib
    import re

    monkeypatch.delenv(openapi_check.SPEC_ENV, raising=False)
    path = openapi_check.spec_path()
    assert path.is_relative_to(REPO_ROOT) and path.is_file(), path
    raw = gzip.decompress(path.read_bytes())
    noted = re.search(r"sha256 of the uncompressed JSON: `([0-9a-f]{64})`",
                      (path.parent / "PROVENANCE.md").read_text(encoding="utf-8"))
    assert noted and hashlib.sha256(raw).hexdigest() == noted.group(1)
    assert openapi_check.read_spec()["info"]["version"] == "4.4.1"


def test_violations_provoked_by_self_tests_are_counted_apart(monkeypatch: pytest.MonkeyPatch) -> None:
    """The session summary counts real violations apart from those a checker self-test provokes on purpose."""
    stats = openapi_check.CheckStats()
    monkeypatch.setattr(openapi_check, "STATS", stats)
    bad = _record(route="/v2/gameCenterAchievementIcons")
    stats.selftest = True
    assert openapi_check.check_exchange(bad)
    assert (stats.violations, stats.deliberate) == (0, 1)
    assert " 0 violations (+1 provoked on purpose by the checker's self-tests)" in stats.summary()
    stats.selftest = False
    assert openapi_check.check_exchange(bad)
    assert (stats.violations, stats.deliberate) == (1, 1)
