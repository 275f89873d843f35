"""The client's limits against the simulator: what is not retried, the retry deadline, timeouts, and the caps."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import aiohttp
import anyio
import pytest
from simclient import api_records, sim_and_client
from test_client_sim import localization_body, reserve_image

from bulkgc.errors import ConflictError, NotFoundError, ServerError, TransportError
from bulkgc.sim import FaultRule, SimConfig, Simulator

pytestmark = pytest.mark.timeout(30)


def records_for(sim: Simulator, path: str, method: str | None = None) -> list[Any]:
    """The simulator's API records of one path (optionally of one method)."""
    return [r for r in api_records(sim, method) if r.path == path]


async def wait_for_records(sim: Simulator, path: str, count: int) -> list[Any]:
    """The records of `path` once there are `count` of them: a request the client gave up on is logged when
    the simulator finishes serving it, which may be after the client has moved on."""
    with anyio.fail_after(5):
        while len(records_for(sim, path)) < count:
            await anyio.sleep(0.02)
    return records_for(sim, path)


def peak_overlap(records: Iterable[Any]) -> int:
    """Most records in progress at one moment (an end and a start on the same timestamp do not overlap)."""
    events = sorted([(r.started, 1) for r in records] + [(r.ended, -1) for r in records])
    now = peak = 0
    for _, step in events:  # at equal times -1 sorts first: the slot is freed before it is taken again
        now += step
        peak = max(peak, now)
    return peak


async def test_duplicate_locale_conflict_is_sent_once() -> None:
    """A 409 (locale exists) is a ConflictError at once: one POST reaches the sim, no retry, no lookup."""
    async with sim_and_client() as (sim, client):
        await reserve_image(sim, client, 100)
        (version,) = sim.state.versions()
        path = "/v2/gameCenterAchievementLocalizations"

        async def lookup() -> None:
            raise AssertionError("a 409 is an answer, not a lost one: nothing to look up")

        with pytest.raises(ConflictError, match="already exists"):
            await client.post(path, localization_body(version["id"]), lookup=lookup)
        assert [r.status for r in records_for(sim, path, "POST")] == [201, 409]
        assert client.stats.retries == 0 and client.stats.lookups == 0
        assert len(sim.state.localizations()) == 1


async def test_not_found_get_is_sent_once() -> None:
    """A 404 GET is a NotFoundError at once: the sim sees exactly one request, the client retries nothing."""
    async with sim_and_client() as (sim, client):
        path = "/v2/gameCenterAchievements/does-not-exist"
        with pytest.raises(NotFoundError):
            await client.get(path)
        assert [r.status for r in records_for(sim, path)] == [404]
        assert client.stats.retries == 0


async def test_retry_deadline_bounds_attempts_on_endless_503() -> None:
    """A route that always answers 503 is given up at retry_deadline, not max_attempts, with a ServerError, and no
    attempt starts after the deadline (the coming back-off counts)."""
    # Every back-off is exactly 0.1 s (base = max), so attempt k starts >= 0.1*(k-1) s after the first: at most
    # 5 sends start within 0.5 s. Without the deadline it would be 100.
    async with sim_and_client(max_attempts=100, retry_deadline=0.5, backoff_base=0.1, backoff_max=0.1,
                              sleep=anyio.sleep) as (sim, client):
        path = f"/v1/apps/{sim.app_id}/gameCenterDetail"
        sim.add_fault(FaultRule(kind="status", status=503, route_glob=path, count=10_000))
        with pytest.raises(ServerError) as info:
            await client.get(path)
        assert info.value.status == 503
        records = records_for(sim, path)
        statuses = [r.status for r in records]
        assert 2 <= len(statuses) <= 5 and set(statuses) == {503}, statuses
        assert all(r.started - records[0].started < 0.5 for r in records), [r.started for r in records]
        assert client.stats.retries == len(statuses) - 1


async def test_request_timeout_is_transport_error_and_retried() -> None:
    """A response slower than request_timeout is a TransportError the client retries; the 2nd send succeeds."""
    async with sim_and_client(request_timeout=0.3) as (sim, client):
        path = f"/v1/apps/{sim.app_id}/gameCenterDetail"
        sim.add_fault(FaultRule(kind="latency", delay=1.0, route_glob=path, count=1))
        doc = await client.get(path)
        assert doc.one.id == sim.detail_id
        records = await wait_for_records(sim, path, 2)
        assert len(records) == 2
        # the slow one was still served (a server does not notice a client's timeout) with nobody to read it
        assert sorted(r.abandoned for r in records) == [False, True] and sim.counters["abandoned"] == 1
        assert sim.counters["faults_applied"] == 1
        assert client.stats.transport_errors == 1 and client.stats.retries == 1


async def test_request_timeout_surfaces_as_transport_error_only() -> None:
    """With no retry left, a timeout raises bulkgc's TransportError, never an aiohttp or asyncio exception."""
    async with sim_and_client(request_timeout=0.3, max_attempts=1) as (sim, client):
        path = f"/v1/apps/{sim.app_id}/gameCenterDetail"
        sim.add_fault(FaultRule(kind="latency", delay=1.0, route_glob=path, count=1))
        with pytest.raises(TransportError, match="timed out") as info:
            await client.get(path)
        assert not isinstance(info.value, aiohttp.ClientError | TimeoutError)
        assert info.value.__cause__ is None and info.value.__suppress_context__
        assert len(await wait_for_records(sim, path, 1)) == 1


async def test_api_and_upload_concurrency_caps_are_separate(tmp_path: Path) -> None:
    """api_concurrency=2 and upload_concurrency=4 hold at once: the sim never sees more, and uploads exceed 2."""
    config = SimConfig(seed=4, part_size=1024, api_latency=0.1, upload_latency=0.1)
    async with sim_and_client(config, api_concurrency=2, upload_concurrency=4) as (sim, client):
        image = await reserve_image(sim, client, 8 * 1024)
        path = tmp_path / "icon.png"
        path.write_bytes(bytes(8 * 1024))
        before = sim.requests[-1].seq
        async with anyio.create_task_group() as tg:
            for _ in range(8):
                tg.start_soon(client.get, f"/v1/apps/{sim.app_id}/gameCenterDetail")
            for op in image["operations"]:
                tg.start_soon(client.upload_part, op, path.read_bytes())
        batch = [r for r in sim.requests if r.seq > before]
        api = [r for r in batch if r.kind == "api"]
        uploads = [r for r in batch if r.kind == "upload"]
        assert len(api) == len(uploads) == 8 and {r.status for r in batch} == {200}
        assert peak_overlap(api) == 2
        assert 2 < peak_overlap(uploads) <= 4
        assert peak_overlap(batch) > 4  # both pools were busy together: neither cap waits for the other
