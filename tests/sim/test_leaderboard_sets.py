"""Leaderboard sets in the simulator (v2, v1): ordered membership, limits, localizations, images."""

from __future__ import annotations

from typing import Any

import aiohttp
from simhelpers import Api, owner_rel, png_bytes, rel, sim_config, upload_image
from test_leaderboards import create_leaderboard, leaderboard_body

from bulkgc.sim import Simulator

SET = "gameCenterLeaderboardSets"
SVER = "gameCenterLeaderboardSetVersions"
SLOC = "gameCenterLeaderboardSetLocalizations"
SIMG = "gameCenterLeaderboardSetImages"
LB = "gameCenterLeaderboards"


def set_body(
    sim: Simulator, vendor: str, members: list[str] | None = None, *, v1: bool = False
) -> dict[str, Any]:
    rels: dict[str, Any] = dict(owner_rel(sim))
    if members is not None:
        rels["gameCenterLeaderboards"] = {"data": [{"type": LB, "id": m} for m in members]}
    body: dict[str, Any] = {
        "data": {
            "type": SET,
            "attributes": {"referenceName": vendor, "vendorIdentifier": vendor},
            "relationships": rels,
        }
    }
    if not v1:
        rels["versions"] = {"data": [{"type": SVER, "id": "${v}"}]}
        body["included"] = [{"type": SVER, "id": "${v}"}]
    return body


async def create_set(api: Api, vendor: str, members: list[str] | None = None) -> tuple[str, str]:
    status, doc, _ = await api.post("/v2/gameCenterLeaderboardSets", set_body(api.sim, vendor, members))
    assert status == 201, doc
    status, versions, _ = await api.get(f"/v2/gameCenterLeaderboardSets/{doc['data']['id']}/versions")
    return doc["data"]["id"], versions["data"][0]["id"]


async def member_ids(api: Api, set_id: str, api_version: str = "v2") -> list[str]:
    status, doc, _ = await api.get(
        f"/{api_version}/gameCenterLeaderboardSets/{set_id}/relationships/gameCenterLeaderboards"
    )
    assert status == 200, doc
    return [d["id"] for d in doc["data"]]


def linkage(ids: list[str]) -> dict[str, Any]:
    return {"data": [{"type": LB, "id": i} for i in ids]}


async def test_membership_keeps_order(api: Api) -> None:
    """Members given at creation, added (POST), reordered (PATCH), removed (DELETE) are listed in order."""
    a, _ = await create_leaderboard(api, "lb.a")
    b, _ = await create_leaderboard(api, "lb.b")
    c, _ = await create_leaderboard(api, "lb.c")
    set_id, _v = await create_set(api, "set.one", [b, a])
    assert await member_ids(api, set_id) == [b, a]
    path = f"/v2/gameCenterLeaderboardSets/{set_id}/relationships/gameCenterLeaderboards"
    status, _d, _ = await api.post(path, linkage([c, a]))
    assert status == 204 and await member_ids(api, set_id) == [b, a, c]
    status, _d, _ = await api.patch(path, linkage([c, b, a]))
    assert status == 204 and await member_ids(api, set_id) == [c, b, a]
    status, _d, _ = await api.call("DELETE", path, linkage([b]))
    assert status == 204 and await member_ids(api, set_id) == [c, a]
    assert await member_ids(api, set_id, "v1") == [c, a]
    status, doc, _ = await api.get(f"/v2/gameCenterLeaderboardSets/{set_id}/gameCenterLeaderboards")
    assert [d["attributes"]["vendorIdentifier"] for d in doc["data"]] == ["lb.c", "lb.a"]
    status, doc, _ = await api.get(
        f"/v2/gameCenterLeaderboards/{a}", params={"include": "gameCenterLeaderboardSets"}
    )
    assert [d["id"] for d in doc["data"]["relationships"]["gameCenterLeaderboardSets"]["data"]] == [set_id]
    status, doc, _ = await api.patch(path, linkage([a, "nope"]))
    assert status == 409 and doc["errors"][0]["source"]["pointer"] == "/data/1/id"
    assert api.sim.state.items("leaderboard_set")[0]["leaderboard_ids"] == [c, a]
    status, _d, _ = await api.delete(f"/v2/gameCenterLeaderboards/{c}")
    assert status == 204 and await member_ids(api, set_id) == [a]


async def test_new_leaderboard_joins_sets_and_limits() -> None:
    """A leaderboard created with gameCenterLeaderboardSets joins them; sets and members are bounded."""
    async with (
        Simulator(sim_config(max_leaderboard_sets=1, max_leaderboards_per_set=2)) as sim,
        aiohttp.ClientSession() as s,
    ):
        api = Api(sim, s)
        a, _ = await create_leaderboard(api, "lb.a")
        set_id, _v = await create_set(api, "set.one", [a])
        body = leaderboard_body(sim, "lb.b")
        body["data"]["relationships"]["gameCenterLeaderboardSets"] = {"data": [{"type": SET, "id": set_id}]}
        status, doc, _ = await api.post("/v2/gameCenterLeaderboards", body)
        assert status == 201, doc
        assert await member_ids(api, set_id) == [a, doc["data"]["id"]]
        c, _ = await create_leaderboard(api, "lb.c")
        status, doc, _ = await api.post(
            f"/v2/gameCenterLeaderboardSets/{set_id}/relationships/gameCenterLeaderboards", linkage([c])
        )
        assert status == 409 and "at most 2" in doc["errors"][0]["detail"]
        status, doc, _ = await api.post("/v2/gameCenterLeaderboardSets", set_body(sim, "set.two"))
        assert status == 409 and "At most 1 leaderboard set" in doc["errors"][0]["detail"]


async def test_set_localizations_images_and_v1(api: Api) -> None:
    """Set localizations are unique per locale; images reach COMPLETE; v1 sees the same set."""
    set_id, version_id = await create_set(api, "set.loc")
    body = {
        "data": {
            "type": SLOC,
            "attributes": {"locale": "en-US", "name": "Arcade"},
            "relationships": rel("version", SVER, version_id),
        }
    }
    status, doc, _ = await api.post("/v2/gameCenterLeaderboardSetLocalizations", body)
    assert status == 201, doc
    loc_id = doc["data"]["id"]
    status, doc, _ = await api.post("/v2/gameCenterLeaderboardSetLocalizations", body)
    assert status == 409
    data = png_bytes(512)
    image_id, doc = await upload_image(
        api, "/v2/gameCenterLeaderboardSetImages", SIMG, rel("localization", SLOC, loc_id), data
    )
    assert (
        doc["data"]["attributes"]["assetDeliveryState"]["state"] == "COMPLETE"
        and api.sim.state.image_bytes(image_id) == data
    )
    status, doc, _ = await api.get(f"/v1/gameCenterLeaderboardSets/{set_id}/localizations")
    assert [d["attributes"]["name"] for d in doc["data"]] == ["Arcade"]
    status, doc, _ = await api.get(
        f"/v1/gameCenterLeaderboardSetLocalizations/{loc_id}/gameCenterLeaderboardSetImage"
    )
    assert doc["data"]["id"] == image_id
    status, doc, _ = await api.post("/v1/gameCenterLeaderboardSets", set_body(api.sim, "set.v1", v1=True))
    assert status == 201, doc
    v1_set = doc["data"]["id"]
    body = {
        "data": {
            "type": SLOC,
            "attributes": {"locale": "ja", "name": "Old"},
            "relationships": rel("gameCenterLeaderboardSet", SET, v1_set),
        }
    }
    status, doc, _ = await api.post("/v1/gameCenterLeaderboardSetLocalizations", body)
    assert status == 201, doc
    status, doc, _ = await api.get(f"/v1/gameCenterDetails/{api.sim.detail_id}/gameCenterLeaderboardSetsV2")
    assert [d["id"] for d in doc["data"]] == [set_id, v1_set]
    assert [x["locale"] for x in api.sim.state.localizations("leaderboard_set")] == ["en-US", "ja"]
