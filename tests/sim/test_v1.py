"""Achievements v1 (deprecated paths) over real HTTP, backed by the same state as v2."""

from __future__ import annotations

import pytest
from simhelpers import Api, png_bytes


async def _create_v1(api: Api, vendor: str = "com.example.v1") -> str:
    body = {
        "data": {
            "type": "gameCenterAchievements",
            "attributes": {"referenceName": vendor, "vendorIdentifier": vendor, "points": 5, "showBeforeEarned": False, "repeatable": True},
            "relationships": {"gameCenterDetail": {"data": {"type": "gameCenterDetails", "id": api.sim.detail_id}}},
        }
    }
    status, doc, _ = await api.post("/v1/gameCenterAchievements", body)
    assert status == 201, doc
    assert "localizations" in doc["data"]["relationships"] and "versions" not in doc["data"]["relationships"]
    return str(doc["data"]["id"])


async def _create_loc_v1(api: Api, ach_id: str, locale: str = "de-DE") -> tuple[int, dict]:
    body = {
        "data": {
            "type": "gameCenterAchievementLocalizations",
            "attributes": {"locale": locale, "name": "Eins", "beforeEarnedDescription": "b", "afterEarnedDescription": "a"},
            "relationships": {"gameCenterAchievement": {"data": {"type": "gameCenterAchievements", "id": ach_id}}},
        }
    }
    status, doc, _ = await api.post("/v1/gameCenterAchievementLocalizations", body)
    return status, doc


async def test_v1_create_gets_version_1_visible_in_v2(api: Api) -> None:
    """A v1-created achievement has an implicit version 1, and v1 localizations land in that version."""
    ach_id = await _create_v1(api)
    status, doc = await _create_loc_v1(api, ach_id)
    assert status == 201 and doc["data"]["relationships"]["gameCenterAchievement"]["links"]["related"].endswith("/gameCenterAchievement")
    status, versions, _ = await api.get(f"/v2/gameCenterAchievements/{ach_id}/versions")
    assert [v["attributes"]["version"] for v in versions["data"]] == [1]
    status, locs, _ = await api.get(f"/v2/gameCenterAchievementVersions/{versions['data'][0]['id']}/localizations")
    assert [x["attributes"]["locale"] for x in locs["data"]] == ["de-DE"]
    status, listed, _ = await api.get(f"/v1/gameCenterDetails/{api.sim.detail_id}/gameCenterAchievements", params={"include": "localizations"})
    assert listed["data"][0]["id"] == ach_id and listed["included"][0]["attributes"]["locale"] == "de-DE"


async def test_v1_sees_v2_latest_version_localizations(api: Api) -> None:
    """/v1/gameCenterAchievements/{id}/localizations lists the latest version's localizations of a v2 achievement."""
    ach_id, _v, loc_id = await api.localized_version("com.example.mixed", "ja")
    status, doc, _ = await api.get(f"/v1/gameCenterAchievements/{ach_id}/localizations")
    assert status == 200 and [x["id"] for x in doc["data"]] == [loc_id]
    status, doc, _ = await api.get(f"/v1/gameCenterAchievementLocalizations/{loc_id}/gameCenterAchievement")
    assert doc["data"]["id"] == ach_id
    status, doc, _ = await api.get(f"/v1/gameCenterAchievements/{ach_id}/relationships/localizations")
    assert doc["data"] == [{"type": "gameCenterAchievementLocalizations", "id": loc_id}]


async def test_v1_duplicate_locale(api: Api) -> None:
    """A second v1 localization with the same locale is 409 DUPLICATE."""
    ach_id = await _create_v1(api)
    await _create_loc_v1(api, ach_id, "fr-FR")
    status, doc = await _create_loc_v1(api, ach_id, "fr-FR")
    assert status == 409 and doc["errors"][0]["code"] == "ENTITY_ERROR.ATTRIBUTE.INVALID.DUPLICATE"


async def test_v1_image_flow(api: Api) -> None:
    """v1 reserve (gameCenterAchievementLocalization) -> parts -> commit -> COMPLETE; v1 image paths answer it."""
    ach_id = await _create_v1(api)
    _s, loc = await _create_loc_v1(api, ach_id)
    loc_id = loc["data"]["id"]
    data = png_bytes(512)
    body = {
        "data": {
            "type": "gameCenterAchievementImages",
            "attributes": {"fileName": "one.png", "fileSize": len(data)},
            "relationships": {"gameCenterAchievementLocalization": {"data": {"type": "gameCenterAchievementLocalizations", "id": loc_id}}},
        }
    }
    status, doc, _ = await api.post("/v1/gameCenterAchievementImages", body)
    assert status == 201 and doc["data"]["relationships"]["gameCenterAchievementLocalization"]["data"]["id"] == loc_id
    image_id = doc["data"]["id"]
    await api.put_parts(doc["data"]["attributes"]["uploadOperations"], data)
    commit = {"data": {"type": "gameCenterAchievementImages", "id": image_id, "attributes": {"uploaded": True}}}
    status, doc, _ = await api.patch(f"/v1/gameCenterAchievementImages/{image_id}", commit)
    assert status == 200
    doc = await api.wait_processed(image_id)
    assert doc["data"]["attributes"]["assetDeliveryState"]["state"] == "COMPLETE"
    status, doc, _ = await api.get(f"/v1/gameCenterAchievementLocalizations/{loc_id}/gameCenterAchievementImage")
    assert doc["data"]["id"] == image_id and "gameCenterAchievementLocalization" in doc["data"]["relationships"]
    status, doc, _ = await api.get(f"/v1/gameCenterAchievementLocalizations/{loc_id}/relationships/gameCenterAchievementImage")
    assert doc["data"] == {"type": "gameCenterAchievementImages", "id": image_id}
    assert (await api.delete(f"/v1/gameCenterAchievementImages/{image_id}"))[0] == 204
    assert api.sim.state.images() == []


async def test_v1_wrong_relationship_name_is_409(api: Api) -> None:
    """A v1 localization body with the v2 relationship name (`version`) is refused with a pointer."""
    body = {
        "data": {
            "type": "gameCenterAchievementLocalizations",
            "attributes": {"locale": "en-US", "name": "n", "beforeEarnedDescription": "b", "afterEarnedDescription": "a"},
            "relationships": {"version": {"data": {"type": "gameCenterAchievementVersions", "id": "x"}}},
        }
    }
    status, doc, _ = await api.post("/v1/gameCenterAchievementLocalizations", body)
    assert status == 409 and doc["errors"][0]["source"]["pointer"].startswith("/data/relationships")


@pytest.mark.parametrize("path", ["/v1/gameCenterAchievements/{id}", "/v2/gameCenterAchievements/{id}"])
async def test_patch_and_read_both_versions(api: Api, path: str) -> None:
    """The same achievement reads and patches through v1 and v2 paths."""
    ach_id = await _create_v1(api, "com.example.both")
    url = path.format(id=ach_id)
    body = {"data": {"type": "gameCenterAchievements", "id": ach_id, "attributes": {"referenceName": "Both"}}}
    assert (await api.patch(url, body))[0] == 200
    status, doc, _ = await api.get(url)
    assert doc["data"]["attributes"]["referenceName"] == "Both"
