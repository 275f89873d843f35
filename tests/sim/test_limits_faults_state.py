"""Rate limits, burst limit, faults, control routes and persistence across restarts."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from simhelpers import Api, png_bytes, sim_config

from bulkgc.sim import FaultRule, Simulator


async def test_rolling_window_429_and_recovery(rate_clock: Any) -> None:
    """The header counts down per key, the window-full request gets 429 RATE_LIMIT_EXCEEDED, and the budget
    returns once the window has passed (not before)."""
    async with Simulator(sim_config(rate_limit=3, rate_window=0.5)) as sim, aiohttp.ClientSession() as s:
        api = Api(sim, s)
        path = f"/v1/apps/{sim.app_id}/gameCenterDetail"
        remaining = []
        for _ in range(3):
            status, _doc, headers = await api.get(path)
            assert status == 200
            remaining.append(headers["X-Rate-Limit"])
            rate_clock.advance(0.01)
        assert remaining == [f"user-hour-lim:3;user-hour-rem:{n};" for n in (2, 1, 0)]
        status, doc, headers = await api.get(path)
        assert status == 429 and doc["errors"][0]["code"] == "RATE_LIMIT_EXCEEDED"
        assert headers["X-Rate-Limit"] == "user-hour-lim:3;user-hour-rem:0;"
        other = sim.add_key()
        assert (await api.get(path, token=other.make_token()))[0] == 200  # budgets are per key
        rate_clock.advance(0.5 - 0.03 - 0.01)  # just short of the window after the first request: still full
        assert (await api.get(path))[0] == 429
        rate_clock.advance(0.02)  # the first request has left the window
        assert (await api.get(path))[0] == 200
        assert sim.counters["rate_limited"] == 2


async def test_burst_limit_429_with_budget_left() -> None:
    """More concurrent requests than burst_limit get 429 although the hourly budget has room."""
    async with Simulator(sim_config(burst_limit=2, api_latency=0.1)) as sim, aiohttp.ClientSession() as s:
        api = Api(sim, s)
        results = await asyncio.gather(*(api.get(f"/v1/apps/{sim.app_id}/gameCenterDetail") for _ in range(5)))
        statuses = sorted(r[0] for r in results)
        assert statuses.count(200) == 2 and statuses.count(429) == 3
        assert sim.counters["burst_limited"] == 3


async def test_status_fault_and_count(api: Api) -> None:
    """A status fault with count=1 answers 503 once as an ErrorResponse, then the route works again."""
    api.sim.add_fault(FaultRule(kind="status", status=503, route_glob="/v1/apps/*", count=1))
    path = f"/v1/apps/{api.sim.app_id}/gameCenterDetail"
    status, doc, headers = await api.get(path)
    assert status == 503 and doc["errors"][0]["status"] == "503" and "X-Rate-Limit" in headers
    assert (await api.get(path))[0] == 200


async def test_drop_fault_closes_connection(api: Api) -> None:
    """A drop fault closes the connection without an answer and the request is not applied."""
    api.sim.add_fault(FaultRule(kind="drop", method="POST", count=1))
    with pytest.raises(aiohttp.ClientError):
        await api.create_achievement("com.example.dropped")
    assert api.sim.state.achievements() == []
    assert api.sim.counters["dropped"] == 1


async def test_drop_after_apply_loses_the_response(api: Api) -> None:
    """drop_after_apply applies the create, then drops: the achievement exists although the client saw no answer."""
    api.sim.add_fault(FaultRule(kind="drop_after_apply", route_glob="/v2/gameCenterAchievements", count=1))
    with pytest.raises(aiohttp.ClientError):
        await api.create_achievement("com.example.lost")
    assert [a["attributes"]["vendorIdentifier"] for a in api.sim.state.achievements()] == ["com.example.lost"]


async def test_latency_fault_delays(api: Api) -> None:
    """A latency fault delays the matched request by its delay."""
    api.sim.add_fault(FaultRule(kind="latency", delay=0.2, count=1))
    loop = asyncio.get_running_loop()
    start = loop.time()
    await api.get(f"/v1/apps/{api.sim.app_id}/gameCenterDetail")
    assert loop.time() - start >= 0.2


async def test_control_routes(api: Api) -> None:
    """/sim/faults, /sim/counters, /sim/requests, /sim/versions/{id}/state and /sim/reset-counters work without auth."""
    base = api.sim.base_url
    _ach, version_id = await api.create_achievement()
    async with api.session.post(f"{base}/sim/faults", json={"kind": "status", "status": 500, "count": 1}) as r:
        assert r.status == 200 and (await r.json())["faults"][0]["status"] == 500
    assert (await api.get(f"/v1/apps/{api.sim.app_id}/gameCenterDetail"))[0] == 500
    async with api.session.delete(f"{base}/sim/faults") as r:
        assert (await r.json())["faults"] == []
    async with api.session.post(f"{base}/sim/versions/{version_id}/state", json={"state": "LIVE"}) as r:
        assert (await r.json())["state"] == "LIVE"
    async with api.session.get(f"{base}/sim/requests", params={"since": "1"}) as r:
        records = await r.json()
        assert records[0]["seq"] == 2 and all("Authorization" not in str(x) for x in records)
    async with api.session.get(f"{base}/sim/counters") as r:
        assert (await r.json())["status_500"] == 1
    async with api.session.post(f"{base}/sim/reset-counters") as r:
        assert (await r.json())["api_requests"] == 0
    async with api.session.get(f"{base}/sim/state") as r:
        assert version_id in (await r.json())["versions"]


async def test_state_survives_restart(tmp_path: Path) -> None:
    """With state_file, resources, keys, upload URLs and part bytes survive a restart; the upload finishes afterwards."""
    state_file = tmp_path / "sim.json"
    data = png_bytes(512)
    async with Simulator(sim_config(state_file=state_file)) as sim, aiohttp.ClientSession() as s:
        api = Api(sim, s)
        _a, _v, loc_id = await api.localized_version()
        _s, doc = await api.reserve_image(loc_id, len(data))
        ops, image_id = doc["data"]["attributes"]["uploadOperations"], doc["data"]["id"]
        await api.put_parts(ops[:2], data)
        key = sim.key
    assert state_file.exists() and (state_file.stat().st_mode & 0o777) == 0o600
    async with Simulator(sim_config(state_file=state_file, port=0)) as sim, aiohttp.ClientSession() as s:
        assert sim.key == key
        api = Api(sim, s)
        status, doc, _ = await api.get(f"/v2/gameCenterAchievementImages/{image_id}")
        new_ops = doc["data"]["attributes"]["uploadOperations"]
        await api.put_parts(new_ops[2:], data)
        assert (await api.commit(image_id))[0] == 200
        doc = await api.wait_processed(image_id)
        assert doc["data"]["attributes"]["assetDeliveryState"]["state"] == "COMPLETE"
        assert sim.state.image_bytes(image_id) == data
