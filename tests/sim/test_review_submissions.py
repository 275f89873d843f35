"""Review submissions in the simulator: spec-valid bodies, item relationships, 409s, states, limits."""

from __future__ import annotations

from typing import Any

from simhelpers import Api, rel, sim_config
from test_leaderboards import create_leaderboard

from bulkgc.sim import Simulator

ACH = "gameCenterAchievementVersion"


async def new_submission(api: Api, platform: str | None = "IOS") -> str:
    attrs = {} if platform is None else {"attributes": {"platform": platform}}
    body = {
        "data": {"type": "reviewSubmissions", **attrs, "relationships": rel("app", "apps", api.sim.app_id)}
    }
    status, doc, _ = await api.post("/v1/reviewSubmissions", body)
    assert status == 201, doc
    return str(doc["data"]["id"])


def item_body(submission: str, rel_name: str, type_: str, version: str) -> dict[str, Any]:
    return {
        "data": {
            "type": "reviewSubmissionItems",
            "relationships": {
                **rel("reviewSubmission", "reviewSubmissions", submission),
                **rel(rel_name, type_, version),
            },
        }
    }


async def add(
    api: Api, submission: str, version: str, rel_name: str = ACH, type_: str = "gameCenterAchievementVersions"
) -> tuple[int, Any]:
    status, doc, _ = await api.post(
        "/v1/reviewSubmissionItems", item_body(submission, rel_name, type_, version)
    )
    return status, doc


def live(sim: Simulator, version_id: str) -> None:
    sim.state.set_version_state(version_id, "LIVE")


async def test_add_versions_of_two_kinds_then_send(api: Api) -> None:
    """Versions of two kinds go in one submission; sending it makes both WAITING_FOR_REVIEW, not editable."""
    ach, v1 = await api.create_achievement("rs.a")
    lb, lb1 = await create_leaderboard(api, "rs.lb")
    live(api.sim, v1)
    live(api.sim, lb1)
    _s, doc, _ = await api.post(
        "/v2/gameCenterAchievementVersions",
        {
            "data": {
                "type": "gameCenterAchievementVersions",
                "relationships": rel("achievement", "gameCenterAchievements", ach),
            }
        },
    )
    v2 = doc["data"]["id"]
    _s, doc, _ = await api.post(
        "/v2/gameCenterLeaderboardVersions",
        {
            "data": {
                "type": "gameCenterLeaderboardVersions",
                "relationships": rel("leaderboard", "gameCenterLeaderboards", lb),
            }
        },
    )
    lb2 = doc["data"]["id"]
    sub = await new_submission(api)
    assert (await add(api, sub, v2))[0] == 201
    status, doc = await add(api, sub, lb2, "gameCenterLeaderboardVersion", "gameCenterLeaderboardVersions")
    assert status == 201, doc
    assert doc["data"]["relationships"]["gameCenterLeaderboardVersion"]["data"]["id"] == lb2
    status, doc, _ = await api.get(
        f"/v1/reviewSubmissions/{sub}/items", params={"include": f"{ACH},gameCenterLeaderboardVersion"}
    )
    assert status == 200
    assert sorted(i["type"] for i in doc["included"]) == [
        "gameCenterAchievementVersions",
        "gameCenterLeaderboardVersions",
    ]
    status, doc, _ = await api.patch(
        f"/v1/reviewSubmissions/{sub}",
        {"data": {"type": "reviewSubmissions", "id": sub, "attributes": {"submitted": True}}},
    )
    assert status == 200, doc
    assert doc["data"]["attributes"]["state"] == "WAITING_FOR_REVIEW"
    assert doc["data"]["attributes"]["submittedDate"]
    states = {v["id"]: v["state"] for v in api.sim.state.versions() + api.sim.state.versions("leaderboard")}
    assert states[v2] == states[lb2] == "WAITING_FOR_REVIEW"
    # a sent submission takes no more items, and is not sent twice
    status, doc = await add(api, sub, v1)
    assert status == 409 and doc["errors"][0]["code"].startswith("STATE_ERROR")
    status, doc, _ = await api.patch(
        f"/v1/reviewSubmissions/{sub}",
        {"data": {"type": "reviewSubmissions", "id": sub, "attributes": {"submitted": True}}},
    )
    assert status == 409
    # the version is no longer editable
    status, doc, _ = await api.post(
        "/v2/gameCenterAchievementLocalizations",
        {
            "data": {
                "type": "gameCenterAchievementLocalizations",
                "attributes": {
                    "locale": "de-DE",
                    "name": "n",
                    "beforeEarnedDescription": "b",
                    "afterEarnedDescription": "a",
                },
                "relationships": rel("version", "gameCenterAchievementVersions", v2),
            }
        },
    )
    assert status == 409


async def test_a_version_in_an_open_submission_cannot_be_added_again(api: Api) -> None:
    """The same version in a second item (same or another open submission) is refused with 409."""
    _a, v1 = await api.create_achievement("rs.dup")
    first, second = await new_submission(api), await new_submission(api)
    assert (await add(api, first, v1))[0] == 201
    for sub in (first, second):
        status, doc = await add(api, sub, v1)
        assert status == 409 and first in doc["errors"][0]["detail"], doc
    assert len(api.sim.state.data["reviewSubmissionItems"]) == 1


async def test_item_relationships_are_checked(api: Api) -> None:
    """Unknown relationships, wrong types, another kind's version, none or a missing submission: all 409."""
    _a, v1 = await api.create_achievement("rs.rel")
    sub = await new_submission(api)
    status, doc = await add(api, sub, v1, "gameCenterAchievementVersions")  # not a relationship of the schema
    assert status == 409 and doc["errors"][0]["source"]["pointer"].startswith("/data/relationships"), doc
    status, doc = await add(api, sub, v1, ACH, "gameCenterLeaderboardVersions")  # wrong type
    assert status == 409, doc
    status, doc = await add(api, sub, v1, "gameCenterLeaderboardVersion", "gameCenterLeaderboardVersions")
    assert status == 409 and "There is no gameCenterLeaderboardVersions" in doc["errors"][0]["detail"]
    body = {
        "data": {
            "type": "reviewSubmissionItems",
            "relationships": rel("reviewSubmission", "reviewSubmissions", sub),
        }
    }
    status, doc, _ = await api.post("/v1/reviewSubmissionItems", body)
    assert status == 409 and doc["errors"][0]["code"] == "ENTITY_ERROR.RELATIONSHIP.REQUIRED"
    status, doc = await add(api, "nope", v1)
    assert status == 409 and "reviewSubmissions" in doc["errors"][0]["detail"]
    assert api.sim.state.data["reviewSubmissionItems"] == {}


async def test_only_editable_versions_and_at_most_200_items(api: Api) -> None:
    """A LIVE version cannot be submitted; the 201st item of a submission is refused (Apple: 200)."""
    _a, v1 = await api.create_achievement("rs.live")
    live(api.sim, v1)
    sub = await new_submission(api)
    status, doc = await add(api, sub, v1)
    assert status == 409 and "LIVE" in doc["errors"][0]["detail"]
    # fill the submission with 200 items directly in the store, then ask for one more over HTTP
    state = api.sim.state
    for n in range(200):
        state.put(
            "reviewSubmissionItems",
            {
                "id": f"fill-{n}",
                "seq": state.next_seq(),
                "submission_id": sub,
                "rel": ACH,
                "version_id": f"none-{n}",
                "state": "READY_FOR_REVIEW",
            },
        )
    _b, other = await api.create_achievement("rs.more")
    status, doc = await add(api, sub, other)
    assert status == 409 and "at most 200" in doc["errors"][0]["detail"], doc


async def test_list_by_app_platform_and_state_with_paging(api: Api) -> None:
    """GET /v1/reviewSubmissions needs filter[app]; platform and state filter; pages follow links.next."""
    status, doc, _ = await api.get("/v1/reviewSubmissions")
    assert status == 400 and doc["errors"][0]["source"]["parameter"] == "filter[app]"
    ios = [await new_submission(api) for _ in range(3)]
    mac = await new_submission(api, "MAC_OS")
    default = await new_submission(api, None)
    status, doc, _ = await api.get(
        "/v1/reviewSubmissions",
        params={
            "filter[app]": api.sim.app_id,
            "filter[platform]": "IOS",
            "filter[state]": "READY_FOR_REVIEW",
            "limit": "2",
        },
    )
    assert status == 200
    seen = [r["id"] for r in doc["data"]]
    status, doc, _ = await api.get(doc["links"]["next"])
    seen += [r["id"] for r in doc["data"]]
    assert seen == [*ios, default] and mac not in seen
    status, doc, _ = await api.get(
        "/v1/reviewSubmissions", params={"filter[app]": api.sim.app_id, "filter[state]": "WAITING_FOR_REVIEW"}
    )
    assert doc["data"] == []
    status, doc, _ = await api.get("/v1/reviewSubmissions", params={"filter[app]": "999"})
    assert doc["data"] == []


async def test_first_time_components_cannot_be_sent_alone(api: Api) -> None:
    """A first version (never live) is not sent without an app version (409); nothing changes state."""
    _a, v1 = await api.create_achievement("rs.first")
    sub = await new_submission(api)
    assert (await add(api, sub, v1))[0] == 201
    status, doc, _ = await api.patch(
        f"/v1/reviewSubmissions/{sub}",
        {"data": {"type": "reviewSubmissions", "id": sub, "attributes": {"submitted": True}}},
    )
    assert status == 409 and "app version" in doc["errors"][0]["detail"], doc
    assert api.sim.state.data["reviewSubmissions"][sub]["state"] == "READY_FOR_REVIEW"
    assert api.sim.state.versions()[0]["state"] == "PREPARE_FOR_SUBMISSION"


async def test_cancel_and_delete_item(api: Api) -> None:
    """Deleting an item or canceling a sent submission frees its versions (PREPARE_FOR_SUBMISSION again)."""
    ach, v1 = await api.create_achievement("rs.cancel")
    live(api.sim, v1)
    _s, doc, _ = await api.post(
        "/v2/gameCenterAchievementVersions",
        {
            "data": {
                "type": "gameCenterAchievementVersions",
                "relationships": rel("achievement", "gameCenterAchievements", ach),
            }
        },
    )
    v2 = doc["data"]["id"]
    first = await new_submission(api)
    _s, item = await add(api, first, v2)
    status, _d, _h = await api.delete(f"/v1/reviewSubmissionItems/{item['data']['id']}")
    assert status == 204
    second = await new_submission(api)
    assert (await add(api, second, v2))[0] == 201
    status, doc, _ = await api.patch(
        f"/v1/reviewSubmissions/{second}",
        {"data": {"type": "reviewSubmissions", "id": second, "attributes": {"submitted": True}}},
    )
    assert status == 200
    status, doc, _ = await api.patch(
        f"/v1/reviewSubmissions/{second}",
        {"data": {"type": "reviewSubmissions", "id": second, "attributes": {"canceled": True}}},
    )
    assert status == 200 and doc["data"]["attributes"]["state"] == "COMPLETE"
    assert next(v for v in api.sim.state.versions() if v["id"] == v2)["state"] == "PREPARE_FOR_SUBMISSION"
    assert (await add(api, await new_submission(api), v2))[0] == 201


async def test_items_of_another_app_are_refused() -> None:
    """A version of a Game Center item that does not belong to the submission's app cannot be added."""
    import aiohttp

    async with Simulator(sim_config()) as sim, aiohttp.ClientSession() as session:
        api = Api(sim, session)
        _a, v1 = await api.create_achievement("rs.other")
        sim.state.data["apps"]["42"] = {
            "id": "42",
            "name": "Other",
            "bundleId": "com.x.other",
            "detail_id": "0",
        }
        body = {"data": {"type": "reviewSubmissions", "relationships": rel("app", "apps", "42")}}
        _s, doc, _ = await api.post("/v1/reviewSubmissions", body)
        status, doc = await add(api, doc["data"]["id"], v1)
        assert status == 409 and "does not belong" in doc["errors"][0]["detail"]
