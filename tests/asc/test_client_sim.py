"""The real AscClient against the real simulator on 127.0.0.1: tokens, 401s, retries, duplicates, paging."""

from __future__ import annotations

import time
from pathlib import Path

import anyio
import pytest
from simclient import (
    achievement_body,
    achievements_path,
    api_records,
    lookup_achievement,
    sim_and_client,
)

from bulkgc.asc.client import UploadExpiredError
from bulkgc.errors import AuthError, TransportError
from bulkgc.sim import FaultRule, SimConfig

pytestmark = pytest.mark.timeout(30)


async def test_paging_follows_links_next_verbatim() -> None:
    """pages() walks every page via links.next as given; get_all merges them without duplicates."""
    async with sim_and_client() as (sim, client):
        for i in range(5):
            await client.post("/v2/gameCenterAchievements", achievement_body(sim, f"ach.{i}"))
        pages = [p async for p in client.pages(achievements_path(sim), {"limit": 2})]
        assert [len(p.resources) for p in pages] == [2, 2, 1]
        gets = api_records(sim, "GET")[-3:]
        for page, rec in zip(pages[:-1], gets[1:], strict=True):
            assert page.next_url is not None and page.next_url.endswith(rec.path + "?" + page.next_url.split("?", 1)[1])
        merged = await client.get_all(achievements_path(sim), {"limit": 2})
        assert sorted(r.attributes["vendorIdentifier"] for r in merged.resources) == [f"ach.{i}" for i in range(5)]
        assert client.stats.by_purpose["write"] == 5 and client.stats.by_method["GET"] == 6


async def test_token_renewed_across_several_lifetimes() -> None:
    """2 s tokens over 3 lifetimes against a sim with no leeway: renewed before expiry, so never a 401."""
    # No leeway and a 2 s maximum: a token kept past its exp, or minted longer-lived, is answered 401.
    strict = SimConfig(seed=1, token_leeway=0, max_token_lifetime=2)
    async with sim_and_client(strict, token_lifetime=2, renew_margin=0.5) as (sim, client):
        deadline = time.monotonic() + 3 * 2 + 0.2
        n = 0
        while time.monotonic() < deadline:
            await client.get(f"/v1/apps/{sim.app_id}/gameCenterDetail")
            n += 1
            await anyio.sleep(0.1)
        assert sim.counters["auth_failures"] == 0 and sim.counters.get("status_401", 0) == 0
        assert [r.status for r in api_records(sim)] == [200] * n
        assert client.tokens.renewals >= 3 and client.stats.auth_retries == 0
        assert sim.counters["tokens_seen"] == client.tokens.minted < n  # each minted token used, and reused


async def test_single_401_renews_once_and_succeeds() -> None:
    """A 401 makes the client mint one fresh token and resend once."""
    async with sim_and_client() as (sim, client):
        sim.add_fault(FaultRule(kind="status", status=401, count=1))
        doc = await client.get(f"/v1/apps/{sim.app_id}/gameCenterDetail")
        assert doc.one.id == sim.detail_id
        assert [r.status for r in api_records(sim)] == [401, 200]
        assert client.tokens.renewals == 1 and client.stats.auth_retries == 1
        assert sim.counters["tokens_seen"] == 2


async def test_wrong_issuer_is_auth_error_without_storm() -> None:
    """A key the server keeps rejecting gives AuthError naming the key after at most 2 requests; later calls fail fast."""
    async with sim_and_client(creds={"issuer_id": "00000000-0000-0000-0000-000000000000"}) as (sim, client):
        with pytest.raises(AuthError) as info:
            await client.get(f"/v1/apps/{sim.app_id}/gameCenterDetail")
        message = str(info.value)
        assert sim.key.key_id in message and "issuer" in message and "revoked" in message
        assert "eyJ" not in message and "BEGIN" not in message
        with pytest.raises(AuthError):
            await client.get(f"/v1/apps/{sim.app_id}/gameCenterDetail")
        assert len(api_records(sim)) <= 2


async def test_5xx_and_dropped_connections_recovered_without_duplicates() -> None:
    """GET 500s, dropped PATCH/POST connections and a 503 POST are retried; the sim holds one of each achievement."""
    async with sim_and_client() as (sim, client):
        sim.add_fault(FaultRule(kind="status", status=500, method="GET", count=2))
        doc = await client.get(f"/v1/apps/{sim.app_id}/gameCenterDetail")
        assert doc.one.id == sim.detail_id

        sim.add_fault(FaultRule(kind="status", status=503, method="POST", count=1))
        first = await client.post("/v2/gameCenterAchievements", achievement_body(sim, "a.first"))

        sim.add_fault(FaultRule(kind="drop", method="POST", count=1))
        second = await client.post("/v2/gameCenterAchievements", achievement_body(sim, "a.second"),
                                   lookup=lookup_achievement(client, sim, "a.second"))

        sim.add_fault(FaultRule(kind="drop", method="PATCH", count=2))
        patched = await client.patch(
            f"/v2/gameCenterAchievements/{first.one.id}",
            {"data": {"type": "gameCenterAchievements", "id": first.one.id, "attributes": {"referenceName": "renamed"}}},
        )
        assert patched.one.attributes["referenceName"] == "renamed"

        vendors = sorted(a["attributes"]["vendorIdentifier"] for a in sim.state.achievements())
        assert vendors == ["a.first", "a.second"]
        assert {first.one.id, second.one.id} == {a["id"] for a in sim.state.achievements()}
        assert client.stats.retries == 2 + 1 + 1 + 2 and client.stats.lookups == 1
        assert not any(r.status == 409 for r in api_records(sim))  # no duplicate create was ever attempted


async def test_lost_post_response_is_looked_up_not_resent() -> None:
    """drop_after_apply on a POST: the lookup finds the created resource, so nothing is created twice."""
    async with sim_and_client() as (sim, client):
        sim.add_fault(FaultRule(kind="drop_after_apply", method="POST", count=1))
        doc = await client.post("/v2/gameCenterAchievements", achievement_body(sim, "lost.once"),
                                lookup=lookup_achievement(client, sim, "lost.once"))
        assert [a["id"] for a in sim.state.achievements()] == [doc.one.id]
        assert len(api_records(sim, "POST")) == 1 and client.stats.lookup_hits == 1


async def test_lost_post_without_lookup_is_not_resent() -> None:
    """Without a lookup, a POST whose answer was lost is reported, never blindly resent."""
    async with sim_and_client() as (sim, client):
        sim.add_fault(FaultRule(kind="drop_after_apply", method="POST", count=1))
        with pytest.raises(TransportError, match="may have been applied"):
            await client.post("/v2/gameCenterAchievements", achievement_body(sim, "lost.twice"))
        assert len(api_records(sim, "POST")) == 1 and len(sim.state.achievements()) == 1


async def test_delete_after_lost_answer_counts_as_done() -> None:
    """A DELETE whose answer was lost is resent; the 404 it then gets means it worked."""
    async with sim_and_client() as (sim, client):
        created = await client.post("/v2/gameCenterAchievements", achievement_body(sim, "to.delete"))
        sim.add_fault(FaultRule(kind="drop_after_apply", method="DELETE", count=1))
        await client.delete(f"/v2/gameCenterAchievements/{created.one.id}")
        assert [r.status for r in api_records(sim, "DELETE")] == [0, 404]
        assert sim.state.achievements() == []


def localization_body(version_id: str, locale: str = "en-US") -> dict:  # type: ignore[type-arg]
    """v2 create body: a localization of one achievement version."""
    return {"data": {
        "type": "gameCenterAchievementLocalizations",
        "attributes": {"locale": locale, "name": "N", "beforeEarnedDescription": "b", "afterEarnedDescription": "a"},
        "relationships": {"version": {"data": {"type": "gameCenterAchievementVersions", "id": version_id}}}}}


async def reserve_image(sim, client, size: int) -> dict:  # type: ignore[no-untyped-def]
    """An achievement with an en-US localization and a reserved image of `size` bytes: its id and upload operations."""
    ach = await client.post("/v2/gameCenterAchievements", achievement_body(sim, "with.image"))
    versions = await client.get(f"/v2/gameCenterAchievements/{ach.one.id}/versions")
    loc = await client.post("/v2/gameCenterAchievementLocalizations", localization_body(versions.resources[0].id))
    img = await client.post("/v2/gameCenterAchievementImages", {"data": {
        "type": "gameCenterAchievementImages", "attributes": {"fileName": "icon.png", "fileSize": size},
        "relationships": {"localization": {"data": {"type": "gameCenterAchievementLocalizations", "id": loc.one.id}}}}})
    return {"id": img.one.id, "operations": img.one.attributes["uploadOperations"]}


async def test_upload_parts_never_carry_authorization(tmp_path: Path) -> None:
    """Parts go out without the JWT (the sim answers 400 to any Authorization), are retried on 503, bytes exact."""
    payload = bytes(range(256)) * 40  # 10240 bytes -> 3 parts of 4096
    path = tmp_path / "icon.png"
    path.write_bytes(payload)
    async with sim_and_client(SimConfig(seed=2, part_size=4096)) as (sim, client):
        image = await reserve_image(sim, client, len(payload))
        assert len(image["operations"]) == 3
        sim.add_fault(FaultRule(kind="status", status=503, route_glob="/upload/*", count=1))
        async with anyio.create_task_group() as tg:
            for op in image["operations"]:
                tg.start_soon(client.upload_part, op, payload)
        uploads = [r for r in sim.requests if r.kind == "upload"]
        assert sorted(r.status for r in uploads) == [200, 200, 200, 503]
        assert sim.counters["parts_uploaded"] == 3 and sim.counters["parts_overwritten"] == 0
        assert sim.state.image_bytes(image["id"]) == payload
        assert client.stats.bytes_uploaded == len(payload) and client.stats.by_purpose["upload"] == 4


async def test_expired_upload_url_raises_distinct_redacted_error(tmp_path: Path) -> None:
    """A 403 from the upload host is UploadExpiredError, and its text carries no signature."""
    path = tmp_path / "icon.png"
    path.write_bytes(b"x" * 100)
    async with sim_and_client() as (sim, client):
        image = await reserve_image(sim, client, 100)
        sim.add_fault(FaultRule(kind="expire_upload", route_glob="/upload/*"))
        with pytest.raises(UploadExpiredError) as info:
            await client.upload_part(image["operations"][0], path.read_bytes())
        assert "Signature" not in str(info.value) and "reserve" in str(info.value)
        assert len([r for r in sim.requests if r.kind == "upload"]) == 1  # not retried
