"""Discovery and auth over real HTTP: app -> gameCenterDetail -> group, JWT checks, unknown routes."""

from __future__ import annotations

import random
import time

import aiohttp
import pytest
from simhelpers import Api, sim_config

from bulkgc.sim import Simulator
from bulkgc.sim.auth import generate_key


async def test_detail_of_app(api: Api) -> None:
    """GET /v1/apps/{id}/gameCenterDetail answers the seeded detail with a gameCenterGroup relationship."""
    status, doc, headers = await api.get(f"/v1/apps/{api.sim.app_id}/gameCenterDetail")
    assert status == 200
    assert doc["data"]["type"] == "gameCenterDetails" and doc["data"]["id"] == api.sim.detail_id
    assert "gameCenterGroup" in doc["data"]["relationships"]
    assert doc["links"]["self"].endswith(f"/v1/apps/{api.sim.app_id}/gameCenterDetail")
    assert headers["X-Rate-Limit"].startswith("user-hour-lim:3600;user-hour-rem:")


# data: null for an empty to-one is [INFER] (GAME_CENTER_API.md A1); tests/openapi_check.py allows it.
async def test_detail_linkage_and_group_none(api: Api) -> None:
    """The linkage answers {type,id}; a detail without group answers data null for its group."""
    status, doc, _ = await api.get(f"/v1/apps/{api.sim.app_id}/relationships/gameCenterDetail")
    assert status == 200 and doc["data"] == {"type": "gameCenterDetails", "id": api.sim.detail_id}
    status, doc, _ = await api.get(f"/v1/gameCenterDetails/{api.sim.detail_id}/gameCenterGroup")
    assert status == 200 and doc["data"] is None


async def test_group_owns_achievements() -> None:
    """With use_group the detail links to a group, achievements are created in and listed from the group."""
    async with Simulator(sim_config(use_group=True)) as sim, aiohttp.ClientSession() as session:
        api = Api(sim, session)
        assert sim.group_id
        status, doc, _ = await api.get(f"/v1/gameCenterDetails/{sim.detail_id}/relationships/gameCenterGroup")
        assert doc["data"] == {"type": "gameCenterGroups", "id": sim.group_id}
        status, doc, _ = await api.get(f"/v1/gameCenterDetails/{sim.detail_id}", params={"include": "gameCenterGroup"})
        assert status == 200 and doc["included"][0]["id"] == sim.group_id
        await api.create_achievement("g.one", group=True)
        status, doc, _ = await api.get(f"/v1/gameCenterGroups/{sim.group_id}/gameCenterAchievementsV2")
        assert [a["attributes"]["vendorIdentifier"] for a in doc["data"]] == ["g.one"]
        assert doc["data"][0]["relationships"]["gameCenterGroup"]["data"]["id"] == sim.group_id
        status, doc, _ = await api.get(f"/v1/gameCenterDetails/{sim.detail_id}/gameCenterAchievementsV2")
        assert doc["data"] == []


async def test_missing_and_bad_tokens_are_401(api: Api) -> None:
    """No token, wrong audience, too long lifetime, expired, wrong issuer, unknown kid and another key's signature all get 401."""
    path = f"/v1/apps/{api.sim.app_id}/gameCenterDetail"
    async with api.session.get(api.sim.base_url + path) as resp:
        body = await resp.json()
        assert resp.status == 401 and body["errors"][0]["code"] == "NOT_AUTHORIZED"
        assert body["errors"][0]["detail"] and "X-Rate-Limit" in resp.headers
    key = api.sim.key
    now = time.time()
    bad = [
        key.make_token(aud="appstoreconnect-v2"),
        key.make_token(lifetime=1201),
        key.make_token(now=now - 4000),
        key.make_token(iss="someone-else"),
    ]
    other = api.sim.add_key()
    forged = other.make_token().split(".")
    real = key.make_token().split(".")
    bad.append(".".join([real[0], real[1], forged[2]]))  # signature by another key
    bad.append(generate_key(random.Random(99), key_id="UNKNOWNKID").make_token())  # a key the simulator never saw
    for token in bad:
        status, doc, _ = await api.get(path, token=token)
        assert status == 401, token
        assert doc["errors"][0]["title"] == "Authentication credentials are missing or invalid."
    assert api.sim.counters["auth_failures"] == 1 + len(bad)


async def test_individual_key_uses_sub_user(api: Api) -> None:
    """An individual key (issuer None) is accepted with sub=user and rejected when the token carries an iss."""
    key = api.sim.add_key(issuer_id=None)
    path = f"/v1/apps/{api.sim.app_id}/gameCenterDetail"
    assert (await api.get(path, token=key.make_token()))[0] == 200
    assert (await api.get(path, token=key.make_token(iss="x")))[0] == 401


@pytest.mark.no_openapi_check  # deliberately outside the spec
async def test_unknown_path_and_wrong_method(api: Api) -> None:
    """Unknown paths answer 404 PATH_ERROR, wrong methods 405, both as ErrorResponse."""
    status, doc, _ = await api.get("/v1/nothingHere")
    assert status == 404 and doc["errors"][0]["code"] == "PATH_ERROR"
    status, doc, _ = await api.call("PUT", f"/v1/gameCenterDetails/{api.sim.detail_id}")
    assert status == 405 and doc["errors"][0]["status"] == "405"


async def test_unknown_detail_is_404(api: Api) -> None:
    """A detail id that does not exist answers 404 NOT_FOUND."""
    status, doc, _ = await api.get("/v1/gameCenterDetails/123/gameCenterAchievementsV2")
    assert status == 404 and doc["errors"][0]["code"] == "NOT_FOUND"


async def test_tokens_seen_counts_distinct_jwts(api: Api) -> None:
    """tokens_seen counts distinct valid tokens, not requests."""
    path = f"/v1/apps/{api.sim.app_id}/gameCenterDetail"
    for _ in range(3):
        await api.get(path)
    await api.get(path, token=api.sim.key.make_token(lifetime=600))
    assert api.sim.counters["tokens_seen"] == 2
