"""Activities and challenges (simulator): versions, localizations, images, default images, leaderboard."""

from __future__ import annotations

from typing import Any

from simhelpers import Api, owner_rel, png_bytes, rel, upload_image
from test_leaderboards import create_leaderboard

ACT, AVER, ALOC, AIMG = (
    "gameCenterActivities",
    "gameCenterActivityVersions",
    "gameCenterActivityLocalizations",
    "gameCenterActivityImages",
)
CH, CVER, CLOC, CIMG = (
    "gameCenterChallenges",
    "gameCenterChallengeVersions",
    "gameCenterChallengeLocalizations",
    "gameCenterChallengeImages",
)


def wide_png(width: int = 3840, height: int = 2160) -> bytes:
    """A generated opaque RGB PNG of the given size."""
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (width, height), (10, 120, 200)).save(buf, "PNG")
    return buf.getvalue()


async def create_activity(
    api: Api, vendor: str = "act.one", fallback: str | None = "https://example.com/play", **attrs: Any
) -> tuple[str, str]:
    version: dict[str, Any] = {"type": AVER, "id": "${v}"}
    if fallback:
        version["attributes"] = {"fallbackUrl": fallback}
    body = {
        "data": {
            "type": ACT,
            "attributes": {
                "referenceName": vendor,
                "vendorIdentifier": vendor,
                "playStyle": "SYNCHRONOUS",
                **attrs,
            },
            "relationships": {**owner_rel(api.sim), "versions": {"data": [{"type": AVER, "id": "${v}"}]}},
        },
        "included": [version],
    }
    status, doc, _ = await api.post("/v1/gameCenterActivities", body)
    assert status == 201, doc
    status, versions, _ = await api.get(f"/v1/gameCenterActivities/{doc['data']['id']}/versions")
    return doc["data"]["id"], versions["data"][0]["id"]


async def test_activity_version_localizations_and_images(api: Api) -> None:
    """An activity version keeps fallbackUrl; its localized and default images reach COMPLETE."""
    act_id, version_id = await create_activity(
        api, minimumPlayersCount=2, maximumPlayersCount=4, supportsPartyCode=True
    )
    status, doc, _ = await api.get(f"/v1/gameCenterActivityVersions/{version_id}")
    assert doc["data"]["attributes"] == {
        "version": 1,
        "state": "PREPARE_FOR_SUBMISSION",
        "fallbackUrl": "https://example.com/play",
    }
    status, doc, _ = await api.patch(
        f"/v1/gameCenterActivityVersions/{version_id}",
        {"data": {"type": AVER, "id": version_id, "attributes": {"fallbackUrl": "https://example.com/v2"}}},
    )
    assert status == 200 and doc["data"]["attributes"]["fallbackUrl"] == "https://example.com/v2"
    body = {
        "data": {
            "type": ALOC,
            "attributes": {"locale": "en-US", "name": "Race", "description": "Race friends"},
            "relationships": rel("version", AVER, version_id),
        }
    }
    status, doc, _ = await api.post("/v1/gameCenterActivityLocalizations", body)
    assert status == 201, doc
    loc_id = doc["data"]["id"]
    status, _d, _ = await api.post("/v1/gameCenterActivityLocalizations", body)
    assert status == 409
    data = wide_png()
    local_id, doc = await upload_image(
        api, "/v1/gameCenterActivityImages", AIMG, rel("localization", ALOC, loc_id), data
    )
    assert (
        doc["data"]["attributes"]["assetDeliveryState"]["state"] == "COMPLETE"
        and "relationships" not in doc["data"]
    )
    default_id, doc = await upload_image(
        api, "/v1/gameCenterActivityImages", AIMG, rel("version", AVER, version_id), data
    )
    assert doc["data"]["attributes"]["assetDeliveryState"]["state"] == "COMPLETE"
    status, doc, _ = await api.get(f"/v1/gameCenterActivityVersions/{version_id}/defaultImage")
    assert doc["data"]["id"] == default_id
    status, doc, _ = await api.get(f"/v1/gameCenterActivityLocalizations/{loc_id}/image")
    assert doc["data"]["id"] == local_id
    assert api.sim.state.image_bytes(default_id) == data
    assert sorted(i["id"] for i in api.sim.state.images("activity")) == sorted([local_id, default_id])
    status, doc, _ = await api.post(
        "/v1/gameCenterActivityImages",
        {
            "data": {
                "type": AIMG,
                "attributes": {"fileName": "d.png", "fileSize": 9},
                "relationships": rel("version", AVER, version_id),
            }
        },
    )
    assert status == 409  # one default image per version
    status, doc, _ = await api.post(
        "/v1/gameCenterActivityImages",
        {
            "data": {
                "type": AIMG,
                "attributes": {"fileName": "d.png", "fileSize": 9},
                "relationships": {**rel("version", AVER, version_id), **rel("localization", ALOC, loc_id)},
            }
        },
    )
    assert status == 409  # an image belongs to a localization or a version, not both
    status, listing, _ = await api.get(f"/v1/gameCenterDetails/{api.sim.detail_id}/gameCenterActivities")
    assert [d["id"] for d in listing["data"]] == [act_id]


async def test_activity_rules_and_image_size(api: Api) -> None:
    """Player counts must be ordered; a 1024x1024 default image ends FAILED (wrong dimensions)."""
    body = {
        "data": {
            "type": ACT,
            "attributes": {
                "referenceName": "x",
                "vendorIdentifier": "act.bad",
                "minimumPlayersCount": 5,
                "maximumPlayersCount": 2,
            },
            "relationships": owner_rel(api.sim),
        }
    }
    status, doc, _ = await api.post("/v1/gameCenterActivities", body)
    assert status == 409 and doc["errors"][0]["source"]["pointer"] == "/data/attributes/minimumPlayersCount"
    body["data"]["attributes"].update(playStyle="TURN_BASED", minimumPlayersCount=1)
    status, doc, _ = await api.post("/v1/gameCenterActivities", body)
    assert status == 409 and doc["errors"][0]["source"]["pointer"] == "/data/attributes/playStyle"
    _act, version_id = await create_activity(api, "act.size", fallback=None)
    _id, doc = await upload_image(
        api, "/v1/gameCenterActivityImages", AIMG, rel("version", AVER, version_id), png_bytes(1024)
    )
    state = doc["data"]["attributes"]["assetDeliveryState"]
    assert state["state"] == "FAILED" and state["errors"][0]["code"] == "IMAGE_INCORRECT_DIMENSIONS"
    assert "3840x2160" in state["errors"][0]["description"]


async def test_challenge_leaderboard_versions_and_images(api: Api) -> None:
    """A challenge's leaderboard is set at creation and by PATCH; version 2 copies texts and default image."""
    lb_a, _ = await create_leaderboard(api, "lb.a")
    lb_b, _ = await create_leaderboard(api, "lb.b")
    body = {
        "data": {
            "type": CH,
            "attributes": {
                "referenceName": "Beat it",
                "vendorIdentifier": "ch.one",
                "challengeType": "LEADERBOARD",
                "repeatable": True,
            },
            "relationships": {**owner_rel(api.sim), **rel("leaderboardV2", "gameCenterLeaderboards", lb_a)},
        }
    }
    status, doc, _ = await api.post("/v1/gameCenterChallenges", body)
    assert status == 201, doc
    ch_id = doc["data"]["id"]
    assert api.sim.state.items("challenge")[0]["leaderboard_id"] == lb_a
    status, _d, _ = await api.patch(
        f"/v1/gameCenterChallenges/{ch_id}/relationships/leaderboardV2",
        {"data": {"type": "gameCenterLeaderboards", "id": lb_b}},
    )
    assert status == 204 and api.sim.state.items("challenge")[0]["leaderboard_id"] == lb_b
    status, doc, _ = await api.patch(
        f"/v1/gameCenterChallenges/{ch_id}/relationships/leaderboardV2",
        {"data": {"type": "gameCenterLeaderboards", "id": "0"}},
    )
    assert status == 409
    status, versions, _ = await api.get(f"/v1/gameCenterChallenges/{ch_id}/versions")
    v1 = versions["data"][0]["id"]
    status, doc, _ = await api.post(
        "/v1/gameCenterChallengeLocalizations",
        {
            "data": {
                "type": CLOC,
                "attributes": {"locale": "fr-FR", "name": "Défi"},
                "relationships": rel("version", CVER, v1),
            }
        },
    )
    assert status == 201, doc
    loc_id = doc["data"]["id"]
    await upload_image(
        api, "/v1/gameCenterChallengeImages", CIMG, rel("localization", CLOC, loc_id), wide_png()
    )
    _d, doc = await upload_image(
        api, "/v1/gameCenterChallengeImages", CIMG, rel("version", CVER, v1), wide_png()
    )
    assert doc["data"]["attributes"]["assetDeliveryState"]["state"] == "COMPLETE"
    api.sim.state.set_version_state(v1, "LIVE")
    status, doc, _ = await api.patch(
        f"/v1/gameCenterChallengeLocalizations/{loc_id}",
        {"data": {"type": CLOC, "id": loc_id, "attributes": {"description": "x"}}},
    )
    assert status == 409
    status, doc, _ = await api.post(
        "/v1/gameCenterChallengeVersions",
        {"data": {"type": CVER, "relationships": rel("challenge", CH, ch_id)}},
    )
    assert status == 201 and doc["data"]["attributes"]["version"] == 2
    v2 = doc["data"]["id"]
    status, doc, _ = await api.get(f"/v1/gameCenterChallengeVersions/{v2}/defaultImage")
    assert doc["data"]["attributes"]["assetDeliveryState"]["state"] == "COMPLETE"
    status, doc, _ = await api.get(f"/v1/gameCenterChallengeVersions/{v2}/localizations")
    assert [d["attributes"]["name"] for d in doc["data"]] == ["Défi"]
    long_name = {
        "data": {
            "type": CH,
            "attributes": {
                "referenceName": "n" * 256,
                "vendorIdentifier": "ch.long",
                "challengeType": "LEADERBOARD",
            },
            "relationships": owner_rel(api.sim),
        }
    }
    status, doc, _ = await api.post("/v1/gameCenterChallenges", long_name)
    assert status == 409 and doc["errors"][0]["source"]["pointer"] == "/data/attributes/referenceName"


async def test_default_image_survives_restart_and_control_routes(tmp_path: Any) -> None:
    """A half-uploaded default image survives a restart; control routes work for an activity version."""
    import aiohttp
    from simhelpers import sim_config

    from bulkgc.sim import Simulator

    state_file = tmp_path / "sim.json"
    data = wide_png()
    async with Simulator(sim_config(state_file=state_file)) as sim, aiohttp.ClientSession() as s:
        api = Api(sim, s)
        _act, version_id = await create_activity(api, "act.persist")
        body = {
            "data": {
                "type": AIMG,
                "attributes": {"fileName": "wide.png", "fileSize": len(data)},
                "relationships": rel("version", AVER, version_id),
            }
        }
        status, doc, _ = await api.post("/v1/gameCenterActivityImages", body)
        assert status == 201, doc
        image_id, ops = doc["data"]["id"], doc["data"]["attributes"]["uploadOperations"]
        await api.put_parts(ops[:1], data)
    async with Simulator(sim_config(state_file=state_file)) as sim, aiohttp.ClientSession() as s:
        api = Api(sim, s)
        status, doc, _ = await api.get(f"/v1/gameCenterActivityImages/{image_id}")
        await api.put_parts(doc["data"]["attributes"]["uploadOperations"][1:], data)
        status, doc, _ = await api.patch(
            f"/v1/gameCenterActivityImages/{image_id}",
            {"data": {"type": AIMG, "id": image_id, "attributes": {"uploaded": True}}},
        )
        assert status == 200, doc
        async with s.get(f"{sim.base_url}/sim/images/{image_id}/bytes") as r:
            assert await r.read() == data
        async with s.post(f"{sim.base_url}/sim/versions/{version_id}/state", json={"state": "LIVE"}) as r:
            assert (await r.json())["state"] == "LIVE"
        async with s.get(f"{sim.base_url}/sim/state") as r:
            snapshot = await r.json()
        assert snapshot["gameCenterActivityVersions"][version_id]["state"] == "LIVE"
        assert snapshot["gameCenterActivities"] and "achievements" in snapshot
