"""Achievements v2 over real HTTP: create with inline version, list/paging/include/fields, update, delete, versions."""

from __future__ import annotations

from simhelpers import Api


def _list_path(api: Api) -> str:
    return f"/v1/gameCenterDetails/{api.sim.detail_id}/gameCenterAchievementsV2"


async def test_create_returns_real_ids_and_version_1(api: Api) -> None:
    """POST /v2/gameCenterAchievements answers 201 with a real id; the inline version is version 1 PREPARE_FOR_SUBMISSION."""
    ach_id, version_id = await api.create_achievement("com.example.first")
    assert not ach_id.startswith("$") and not version_id.startswith("$")
    status, doc, _ = await api.get(f"/v2/gameCenterAchievementVersions/{version_id}")
    assert status == 200
    assert doc["data"]["attributes"] == {"version": 1, "state": "PREPARE_FOR_SUBMISSION"}
    assert doc["data"]["relationships"]["achievement"]["data"]["id"] == ach_id
    created = [r for r in api.sim.requests if r.method == "POST"][0]
    assert created.status == 201 and created.route == "/v2/gameCenterAchievements"


async def test_create_requires_matching_inline_version(api: Api) -> None:
    """A create whose versions linkage does not match `included` is 409 with a pointer; without versions it is REQUIRED."""
    body = {
        "data": {
            "type": "gameCenterAchievements",
            "attributes": {"referenceName": "x", "vendorIdentifier": "x", "points": 5, "showBeforeEarned": True, "repeatable": False},
            "relationships": {
                "gameCenterDetail": {"data": {"type": "gameCenterDetails", "id": api.sim.detail_id}},
                "versions": {"data": [{"type": "gameCenterAchievementVersions", "id": "${a}"}]},
            },
        },
        "included": [{"type": "gameCenterAchievementVersions", "id": "${b}"}],
    }
    status, doc, _ = await api.post("/v2/gameCenterAchievements", body)
    assert status == 409 and doc["errors"][0]["code"] == "ENTITY_ERROR.RELATIONSHIP.INVALID"
    assert doc["errors"][0]["source"]["pointer"].startswith("/data/relationships/versions")
    del body["data"]["relationships"]["versions"]
    status, doc, _ = await api.post("/v2/gameCenterAchievements", body)
    assert status == 409 and doc["errors"][0]["code"] == "ENTITY_ERROR.RELATIONSHIP.REQUIRED"
    assert api.sim.state.achievements() == []


async def test_schema_violations_are_409_with_pointer(api: Api) -> None:
    """Wrong attribute type, missing attribute, unknown attribute and wrong type string each answer 409 with a pointer."""
    base = {
        "type": "gameCenterAchievements",
        "attributes": {"referenceName": "x", "vendorIdentifier": "x", "points": 5, "showBeforeEarned": True, "repeatable": False},
        "relationships": {
            "gameCenterDetail": {"data": {"type": "gameCenterDetails", "id": api.sim.detail_id}},
            "versions": {"data": [{"type": "gameCenterAchievementVersions", "id": "v"}]},
        },
    }
    cases = [
        ({"points": "5"}, "/data/attributes/points", "ENTITY_ERROR.ATTRIBUTE.INVALID"),
        ({"points": None}, "/data/attributes/points", "ENTITY_ERROR.ATTRIBUTE.INVALID"),
        ({"color": "red"}, "/data/attributes/color", "ENTITY_ERROR.ATTRIBUTE.INVALID"),
    ]
    for change, pointer, code in cases:
        data = {**base, "attributes": {**base["attributes"], **change}}
        status, doc, _ = await api.post("/v2/gameCenterAchievements", {"data": data, "included": [{"type": "gameCenterAchievementVersions", "id": "v"}]})
        assert status == 409, change
        assert doc["errors"][0]["source"]["pointer"] == pointer and doc["errors"][0]["code"] == code
    data = {**base, "attributes": {k: v for k, v in base["attributes"].items() if k != "points"}}
    status, doc, _ = await api.post("/v2/gameCenterAchievements", {"data": data})
    assert status == 409 and doc["errors"][0]["code"] == "ENTITY_ERROR.ATTRIBUTE.REQUIRED"
    assert doc["errors"][0]["source"]["pointer"] == "/data/attributes/points"
    status, doc, _ = await api.post("/v2/gameCenterAchievements", {"data": {**base, "type": "gameCenterLeaderboards"}})
    assert status == 409 and doc["errors"][0]["source"]["pointer"] == "/data/type"


async def test_non_json_and_wrong_content_type(api: Api) -> None:
    """A body that is not JSON answers 400 ENTITY_INVALID; a non-JSON Content-Type answers 415."""
    url = api.sim.base_url + "/v2/gameCenterAchievements"
    hdrs = {"Authorization": f"Bearer {api.token}"}
    async with api.session.post(url, data=b"{nope", headers={**hdrs, "Content-Type": "application/json"}) as resp:
        assert resp.status == 400 and (await resp.json())["errors"][0]["code"] == "ENTITY_INVALID"
    async with api.session.post(url, data=b"{}", headers={**hdrs, "Content-Type": "text/plain"}) as resp:
        assert resp.status == 415


async def test_duplicate_vendor_identifier_and_points_rules(api: Api) -> None:
    """Reusing a vendorIdentifier (even of a deleted achievement) is 409 DUPLICATE; points above 100 are 409."""
    ach_id, _ = await api.create_achievement("com.example.dup")
    status, doc, _ = await api.post("/v2/gameCenterAchievements", _body(api, "com.example.dup"))
    assert status == 409 and doc["errors"][0]["code"] == "ENTITY_ERROR.ATTRIBUTE.INVALID.DUPLICATE"
    assert (await api.delete(f"/v2/gameCenterAchievements/{ach_id}"))[0] == 204
    status, doc, _ = await api.post("/v2/gameCenterAchievements", _body(api, "com.example.dup"))
    assert status == 409
    status, doc, _ = await api.post("/v2/gameCenterAchievements", _body(api, "com.example.big", points=101))
    assert status == 409 and doc["errors"][0]["source"]["pointer"] == "/data/attributes/points"


def _body(api: Api, vendor: str, points: int = 10) -> dict:
    return {
        "data": {
            "type": "gameCenterAchievements",
            "attributes": {"referenceName": vendor, "vendorIdentifier": vendor, "points": points, "showBeforeEarned": True, "repeatable": False},
            "relationships": {
                "gameCenterDetail": {"data": {"type": "gameCenterDetails", "id": api.sim.detail_id}},
                "versions": {"data": [{"type": "gameCenterAchievementVersions", "id": "v"}]},
            },
        },
        "included": [{"type": "gameCenterAchievementVersions", "id": "v"}],
    }


async def test_paging_follows_links_next(api: Api) -> None:
    """limit=2 over 5 achievements gives 3 pages via links.next with meta.paging total/limit/nextCursor."""
    for i in range(5):
        await api.create_achievement(f"com.example.p{i}", points=1)
    seen: list[str] = []
    status, doc, _ = await api.get(_list_path(api), params={"limit": "2"})
    pages = 1
    assert doc["meta"]["paging"]["total"] == 5 and doc["meta"]["paging"]["limit"] == 2
    assert doc["meta"]["paging"]["nextCursor"]
    seen += [a["attributes"]["vendorIdentifier"] for a in doc["data"]]
    while "next" in doc["links"]:
        status, doc, _ = await api.get(doc["links"]["next"])
        assert status == 200
        pages += 1
        seen += [a["attributes"]["vendorIdentifier"] for a in doc["data"]]
    assert pages == 3 and seen == [f"com.example.p{i}" for i in range(5)]


async def test_bad_query_parameters_are_400(api: Api) -> None:
    """limit>200, unknown include/fields value, unknown filter and a bogus cursor answer 400 PARAMETER_ERROR.INVALID."""
    for params, parameter in [
        ({"limit": "201"}, "limit"),
        ({"limit": "0"}, "limit"),
        ({"include": "localizations"}, "include"),
        ({"fields[gameCenterAchievements]": "points,colour"}, "fields[gameCenterAchievements]"),
        ({"filter[vendorIdentifier]": "x"}, "filter[vendorIdentifier]"),
        ({"limit[versions]": "51"}, "limit[versions]"),
        ({"cursor": "%%%"}, "cursor"),
        ({"sort": "points"}, "sort"),
    ]:
        status, doc, _ = await api.get(_list_path(api), params=params)
        assert status == 400, params
        assert doc["errors"][0]["code"] == "PARAMETER_ERROR.INVALID"
        assert doc["errors"][0]["source"] == {"parameter": parameter}


async def test_include_versions_and_sparse_fields(api: Api) -> None:
    """include=versions fills `included` and the relationship data; fields[] trims attributes."""
    ach_id, version_id = await api.create_achievement("com.example.inc")
    status, doc, _ = await api.get(
        _list_path(api),
        params={"include": "versions", "limit[versions]": "5", "fields[gameCenterAchievements]": "vendorIdentifier,versions"},
    )
    assert status == 200
    item = doc["data"][0]
    assert item["attributes"] == {"vendorIdentifier": "com.example.inc"}
    assert item["relationships"]["versions"]["data"] == [{"type": "gameCenterAchievementVersions", "id": version_id}]
    assert [i["id"] for i in doc["included"]] == [version_id]
    status, doc, _ = await api.get(_list_path(api), params={"filter[referenceName]": "nope"})
    assert doc["data"] == [] and doc["meta"]["paging"]["total"] == 0


async def test_update_and_delete_achievement(api: Api) -> None:
    """PATCH changes attributes (id must match the URL); DELETE answers 204 and removes versions too."""
    ach_id, version_id = await api.create_achievement("com.example.upd")
    body = {"data": {"type": "gameCenterAchievements", "id": ach_id, "attributes": {"points": 20, "archived": True}}}
    status, doc, _ = await api.patch(f"/v2/gameCenterAchievements/{ach_id}", body)
    assert status == 200 and doc["data"]["attributes"]["points"] == 20 and doc["data"]["attributes"]["archived"] is True
    body["data"]["id"] = "other"
    assert (await api.patch(f"/v2/gameCenterAchievements/{ach_id}", body))[0] == 409
    status, doc, _ = await api.delete(f"/v2/gameCenterAchievements/{ach_id}")
    assert status == 204 and doc is None
    assert api.sim.state.achievements() == [] and api.sim.state.versions() == []
    assert [r.response_body for r in api.sim.requests if r.method == "DELETE"] == [None]


async def test_new_version_only_after_live(api: Api) -> None:
    """A second version is 409 STATE_ERROR while version 1 is editable; after LIVE it is version 2 with copied localizations."""
    ach_id, v1, _loc = await api.localized_version("com.example.ver")
    body = {"data": {"type": "gameCenterAchievementVersions",
                     "relationships": {"achievement": {"data": {"type": "gameCenterAchievements", "id": ach_id}}}}}
    status, doc, _ = await api.post("/v2/gameCenterAchievementVersions", body)
    assert status == 409 and doc["errors"][0]["code"] == "STATE_ERROR.ENTITY_STATE_INVALID"
    api.sim.state.set_version_state(v1, "LIVE")
    status, doc, _ = await api.post("/v2/gameCenterAchievementVersions", body)
    assert status == 201 and doc["data"]["attributes"] == {"version": 2, "state": "PREPARE_FOR_SUBMISSION"}
    v2 = doc["data"]["id"]
    status, doc, _ = await api.get(f"/v2/gameCenterAchievementVersions/{v2}/localizations")
    assert [loc["attributes"]["locale"] for loc in doc["data"]] == ["en-US"]
    status, doc, _ = await api.get(f"/v2/gameCenterAchievements/{ach_id}/versions", params={"include": "localizations"})
    assert [v["attributes"]["version"] for v in doc["data"]] == [1, 2]
    assert len(doc["included"]) == 2
