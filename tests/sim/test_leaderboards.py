"""Leaderboards in the simulator (v2, v1): bodies, enums, formats, limits, versions, images."""

from __future__ import annotations

from typing import Any

import aiohttp
from simhelpers import Api, owner_rel, png_bytes, rel, sim_config, upload_image

from bulkgc.sim import FaultRule, Simulator

LB = "gameCenterLeaderboards"
VER = "gameCenterLeaderboardVersions"
LOC = "gameCenterLeaderboardLocalizations"
IMG = "gameCenterLeaderboardImages"


def leaderboard_body(
    sim: Simulator, vendor: str = "lb.one", *, v1: bool = False, **attrs: Any
) -> dict[str, Any]:
    attributes = {
        "referenceName": vendor,
        "vendorIdentifier": vendor,
        "defaultFormatter": "INTEGER",
        "submissionType": "BEST_SCORE",
        "scoreSortType": "DESC",
        **attrs,
    }
    if v1:
        return {"data": {"type": LB, "attributes": attributes, "relationships": owner_rel(sim)}}
    return {
        "data": {
            "type": LB,
            "attributes": attributes,
            "relationships": {**owner_rel(sim), "versions": {"data": [{"type": VER, "id": "${v}"}]}},
        },
        "included": [{"type": VER, "id": "${v}"}],
    }


async def create_leaderboard(api: Api, vendor: str = "lb.one", **attrs: Any) -> tuple[str, str]:
    status, doc, _ = await api.post("/v2/gameCenterLeaderboards", leaderboard_body(api.sim, vendor, **attrs))
    assert status == 201, doc
    lb_id = doc["data"]["id"]
    status, versions, _ = await api.get(f"/v2/gameCenterLeaderboards/{lb_id}/versions")
    assert status == 200, versions
    return lb_id, versions["data"][0]["id"]


async def create_localization(
    api: Api, version_id: str, locale: str = "en-US", **attrs: Any
) -> tuple[int, Any]:
    body = {
        "data": {
            "type": LOC,
            "attributes": {"locale": locale, "name": "High scores", **attrs},
            "relationships": rel("version", VER, version_id),
        }
    }
    status, doc, _ = await api.post("/v2/gameCenterLeaderboardLocalizations", body)
    return status, doc


async def test_create_with_inline_version(api: Api) -> None:
    """A v2 create with an inline version makes the leaderboard and version 1, listed by the detail."""
    lb_id, version_id = await create_leaderboard(
        api, "lb.create", scoreRangeStart="0", scoreRangeEnd="1000", visibility="SHOW_FOR_ALL"
    )
    status, doc, _ = await api.get(f"/v2/gameCenterLeaderboards/{lb_id}", params={"include": "versions"})
    assert status == 200
    attrs = doc["data"]["attributes"]
    assert (
        attrs["vendorIdentifier"] == "lb.create"
        and attrs["archived"] is False
        and attrs["scoreRangeEnd"] == "1000"
    )
    assert doc["included"][0]["id"] == version_id and doc["included"][0]["attributes"] == {
        "version": 1,
        "state": "PREPARE_FOR_SUBMISSION",
    }
    status, listing, _ = await api.get(f"/v1/gameCenterDetails/{api.sim.detail_id}/gameCenterLeaderboardsV2")
    assert [d["id"] for d in listing["data"]] == [lb_id]
    assert [x["id"] for x in api.sim.state.items("leaderboard")] == [lb_id]
    assert api.sim.state.versions("leaderboard")[0]["leaderboard_id"] == lb_id
    # a leaderboard without its inline version is refused
    body = leaderboard_body(api.sim, "lb.noversion")
    body.pop("included")
    status, doc, _ = await api.post("/v2/gameCenterLeaderboards", body)
    assert status == 409, doc


async def test_enums_formats_and_duplicates(api: Api) -> None:
    """Enums follow the spec, number/duration/recurrence rules hold, vendor ids are unique per kind."""
    cases = [
        ({"submissionType": "HIGHEST"}, "/data/attributes/submissionType"),
        ({"defaultFormatter": "PERCENT"}, "/data/attributes/defaultFormatter"),
        ({"scoreRangeStart": "low"}, "/data/attributes/scoreRangeStart"),
        ({"scoreRangeStart": "10", "scoreRangeEnd": "1"}, "/data/attributes/scoreRangeStart"),
        ({"recurrenceDuration": "one day"}, "/data/attributes/recurrenceDuration"),
        ({"recurrenceStartDate": "2026-01-01T00:00:00Z"}, "/data/attributes/recurrenceDuration"),
    ]
    for attrs, pointer in cases:
        status, doc, _ = await api.post(
            "/v2/gameCenterLeaderboards", leaderboard_body(api.sim, "lb.bad", **attrs)
        )
        assert status == 409 and doc["errors"][0]["source"]["pointer"] == pointer, (attrs, doc)
    await create_leaderboard(
        api,
        "shared.id",
        recurrenceStartDate="2026-01-01T00:00:00Z",
        recurrenceDuration="P1W",
        recurrenceRule="FREQ=WEEKLY",
    )
    status, doc, _ = await api.post("/v2/gameCenterLeaderboards", leaderboard_body(api.sim, "shared.id"))
    assert status == 409 and doc["errors"][0]["code"] == "ENTITY_ERROR.ATTRIBUTE.INVALID.DUPLICATE"
    await api.create_achievement("shared.id")  # an achievement may share a leaderboard's vendor id
    assert [a["attributes"]["vendorIdentifier"] for a in api.sim.state.achievements()] == ["shared.id"]


async def test_localizations_duplicate_locale_and_editing(api: Api) -> None:
    """Localizations carry the formatter fields; a second locale is 409; v1 sees the latest version's."""
    lb_id, version_id = await create_leaderboard(api, "lb.loc")
    status, doc = await create_localization(
        api,
        version_id,
        formatterSuffix=" pts",
        formatterSuffixSingular=" pt",
        formatterOverride="DECIMAL_POINT_1_PLACE",
        description="Best runs",
    )
    assert status == 201, doc
    loc_id = doc["data"]["id"]
    assert doc["data"]["attributes"]["formatterSuffix"] == " pts"
    status, doc = await create_localization(api, version_id)
    assert status == 409 and doc["errors"][0]["source"]["pointer"] == "/data/attributes/locale"
    status, doc = await create_localization(api, version_id, locale="fr-FR", formatterOverride="PERCENT")
    assert status == 409 and doc["errors"][0]["source"]["pointer"] == "/data/attributes/formatterOverride"
    status, doc, _ = await api.patch(
        f"/v2/gameCenterLeaderboardLocalizations/{loc_id}",
        {"data": {"type": LOC, "id": loc_id, "attributes": {"name": "Top"}}},
    )
    assert status == 200 and doc["data"]["attributes"]["name"] == "Top"
    status, doc, _ = await api.patch(
        f"/v2/gameCenterLeaderboardLocalizations/{loc_id}",
        {"data": {"type": LOC, "id": loc_id, "attributes": {"name": " "}}},
    )
    assert status == 409
    status, doc, _ = await api.get(f"/v1/gameCenterLeaderboards/{lb_id}/localizations")
    assert [d["attributes"]["name"] for d in doc["data"]] == ["Top"]
    assert [(x["locale"], x["name"]) for x in api.sim.state.localizations("leaderboard")] == [
        ("en-US", "Top")
    ]


async def test_image_flow_and_size_rule(api: Api) -> None:
    """Reserve, parts, commit: COMPLETE with the bytes; a wrong size ends FAILED naming leaderboards."""
    _lb, version_id = await create_leaderboard(api, "lb.img")
    _s, loc = await create_localization(api, version_id)
    loc_id = loc["data"]["id"]
    data = png_bytes(512)
    image_id, doc = await upload_image(
        api, "/v2/gameCenterLeaderboardImages", IMG, rel("localization", LOC, loc_id), data
    )
    assert doc["data"]["attributes"]["assetDeliveryState"]["state"] == "COMPLETE"
    assert api.sim.state.image_bytes(image_id) == data
    status, linked, _ = await api.get(f"/v2/gameCenterLeaderboardLocalizations/{loc_id}/image")
    assert linked["data"]["id"] == image_id
    status, doc, _ = await api.post(
        "/v2/gameCenterLeaderboardImages",
        {
            "data": {
                "type": IMG,
                "attributes": {"fileName": "b.png", "fileSize": 10},
                "relationships": rel("localization", LOC, loc_id),
            }
        },
    )
    assert status == 409  # one image per localization
    _s, other = await create_localization(api, version_id, locale="de-DE")
    _id, doc = await upload_image(
        api,
        "/v2/gameCenterLeaderboardImages",
        IMG,
        rel("localization", LOC, other["data"]["id"]),
        png_bytes(300),
    )
    state = doc["data"]["attributes"]["assetDeliveryState"]
    assert state["state"] == "FAILED" and "leaderboard images" in state["errors"][0]["description"]
    assert len(api.sim.state.images("leaderboard")) == 2


async def test_versions_live_and_copy(api: Api) -> None:
    """A LIVE version's localizations are frozen (409); a new version copies texts and processed images."""
    lb_id, v1 = await create_leaderboard(api, "lb.ver")
    _s, loc = await create_localization(api, v1)
    loc_id = loc["data"]["id"]
    await upload_image(
        api, "/v2/gameCenterLeaderboardImages", IMG, rel("localization", LOC, loc_id), png_bytes(1024)
    )
    body = {"data": {"type": VER, "relationships": rel("leaderboard", LB, lb_id)}}
    status, doc, _ = await api.post("/v2/gameCenterLeaderboardVersions", body)
    assert status == 409 and doc["errors"][0]["code"] == "STATE_ERROR.ENTITY_STATE_INVALID"
    api.sim.state.set_version_state(v1, "LIVE")
    status, doc, _ = await api.patch(
        f"/v2/gameCenterLeaderboardLocalizations/{loc_id}",
        {"data": {"type": LOC, "id": loc_id, "attributes": {"name": "Changed"}}},
    )
    assert status == 409 and doc["errors"][0]["code"] == "STATE_ERROR.ENTITY_STATE_INVALID"
    status, doc, _ = await api.post("/v2/gameCenterLeaderboardVersions", body)
    assert status == 201 and doc["data"]["attributes"] == {"version": 2, "state": "PREPARE_FOR_SUBMISSION"}
    status, locs, _ = await api.get(f"/v2/gameCenterLeaderboardVersions/{doc['data']['id']}/localizations")
    new_loc = locs["data"][0]["id"]
    assert new_loc != loc_id and locs["data"][0]["attributes"]["name"] == "High scores"
    status, img, _ = await api.get(f"/v2/gameCenterLeaderboardLocalizations/{new_loc}/image")
    assert img["data"]["attributes"]["assetDeliveryState"]["state"] == "COMPLETE"
    status, _doc, _ = await api.delete(f"/v2/gameCenterLeaderboards/{lb_id}")
    assert status == 409  # a live leaderboard is archived, not deleted


async def test_v1_flow(api: Api) -> None:
    """v1: create (version 1 implicit), localization on the leaderboard, image via the v1 relationship."""
    status, doc, _ = await api.post("/v1/gameCenterLeaderboards", leaderboard_body(api.sim, "lb.v1", v1=True))
    assert status == 201, doc
    lb_id = doc["data"]["id"]
    assert "versions" not in doc["data"]["relationships"]
    body = {
        "data": {
            "type": LOC,
            "attributes": {"locale": "en-US", "name": "Old"},
            "relationships": rel("gameCenterLeaderboard", LB, lb_id),
        }
    }
    status, doc, _ = await api.post("/v1/gameCenterLeaderboardLocalizations", body)
    assert status == 201, doc
    loc_id = doc["data"]["id"]
    status, dup, _ = await api.post("/v1/gameCenterLeaderboardLocalizations", body)
    assert status == 409
    image_id, doc = await upload_image(
        api,
        "/v1/gameCenterLeaderboardImages",
        IMG,
        rel("gameCenterLeaderboardLocalization", LOC, loc_id),
        png_bytes(512),
    )
    assert doc["data"]["attributes"]["assetDeliveryState"]["state"] == "COMPLETE"
    status, linked, _ = await api.get(
        f"/v1/gameCenterLeaderboardLocalizations/{loc_id}/gameCenterLeaderboardImage"
    )
    assert linked["data"]["id"] == image_id
    status, versions, _ = await api.get(f"/v2/gameCenterLeaderboards/{lb_id}/versions")
    assert [v["attributes"]["version"] for v in versions["data"]] == [1]
    status, doc, _ = await api.patch(
        f"/v1/gameCenterLeaderboards/{lb_id}",
        {"data": {"type": LB, "id": lb_id, "attributes": {"archived": True, "scoreSortType": "ASC"}}},
    )
    assert status == 200 and doc["data"]["attributes"]["archived"] is True
    status, _d, _ = await api.delete(f"/v1/gameCenterLeaderboardImages/{image_id}")
    assert status == 204 and api.sim.state.images("leaderboard") == []


async def test_limit_without_sets() -> None:
    """Without sets the detail holds max_leaderboards; one more is 409 and nothing is stored."""
    async with Simulator(sim_config(max_leaderboards=2)) as sim, aiohttp.ClientSession() as s:
        api = Api(sim, s)
        await create_leaderboard(api, "lb.a")
        await create_leaderboard(api, "lb.b")
        status, doc, _ = await api.post("/v2/gameCenterLeaderboards", leaderboard_body(sim, "lb.c"))
        assert status == 409 and "without leaderboard sets" in doc["errors"][0]["detail"]
        assert len(sim.state.items("leaderboard")) == 2


async def test_faults_apply_to_leaderboard_routes(api: Api) -> None:
    """A lost answer after apply still creates the leaderboard; a 503 before apply creates nothing."""
    api.sim.add_fault(
        FaultRule(kind="status", status=503, method="POST", route_glob="/v2/gameCenterLeaderboards", count=1)
    )
    status, _doc, _ = await api.post("/v2/gameCenterLeaderboards", leaderboard_body(api.sim, "lb.f1"))
    assert status == 503 and api.sim.state.items("leaderboard") == []
    api.sim.add_fault(
        FaultRule(kind="drop_after_apply", method="POST", route_glob="/v2/gameCenterLeaderboards", count=1)
    )
    try:
        await api.post("/v2/gameCenterLeaderboards", leaderboard_body(api.sim, "lb.f2"))
        raise AssertionError("the answer should have been lost")
    except aiohttp.ClientError:
        pass
    assert [x["attributes"]["vendorIdentifier"] for x in api.sim.state.items("leaderboard")] == ["lb.f2"]


async def test_listing_filters_and_paging(api: Api) -> None:
    """The detail's leaderboard listing honours filter[archived], filter[referenceName] and cursor paging."""
    ids = [(await create_leaderboard(api, f"lb.page{i}"))[0] for i in range(3)]
    await api.patch(
        f"/v2/gameCenterLeaderboards/{ids[1]}",
        {"data": {"type": LB, "id": ids[1], "attributes": {"archived": True}}},
    )
    path = f"/v1/gameCenterDetails/{api.sim.detail_id}/gameCenterLeaderboardsV2"
    status, doc, _ = await api.get(path, params={"filter[archived]": "true"})
    assert [d["id"] for d in doc["data"]] == [ids[1]]
    status, doc, _ = await api.get(path, params={"filter[referenceName]": "lb.page2"})
    assert [d["id"] for d in doc["data"]] == [ids[2]]
    seen: list[str] = []
    status, doc, _ = await api.get(path, params={"limit": "2"})
    while True:
        assert status == 200, doc
        seen += [d["id"] for d in doc["data"]]
        if "next" not in doc["links"]:
            break
        status, doc, _ = await api.get(doc["links"]["next"])
    assert seen == ids and doc["meta"]["paging"]["total"] == 3
    status, doc, _ = await api.get(path, params={"filter[vendorIdentifier]": "lb.page0"})
    assert status == 400 and doc["errors"][0]["source"]["parameter"] == "filter[vendorIdentifier]"
