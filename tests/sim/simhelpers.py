"""Helpers for the simulator tests: an authenticated JSON:API client, generated PNG/JPEG bytes, a small SimConfig."""

from __future__ import annotations

import io
import random
from typing import Any

import aiohttp
from PIL import Image

from bulkgc.sim import SimConfig, Simulator


def png_bytes(size: int = 512, mode: str = "RGB", fmt: str = "PNG") -> bytes:
    """A generated image (no committed binaries): `size`x`size`, colour mode `mode`, format `fmt`."""
    colour: Any = (200, 30, 30) if mode == "RGB" else (200, 30, 30, 128)
    image = Image.new(mode, (size, size), colour)
    # a stripe of seeded noise keeps the file a few parts long (4 KiB parts) instead of one
    noise = random.Random(size).randbytes(size * 8 * len(mode))
    image.paste(Image.frombytes(mode, (size, 8), noise), (0, 0))
    buf = io.BytesIO()
    image.save(buf, fmt)
    return buf.getvalue()


class Api:
    """Tiny JSON:API client for tests: sends the sim key's token, returns (status, body, headers)."""

    def __init__(self, sim: Simulator, session: aiohttp.ClientSession) -> None:
        self.sim = sim
        self.session = session
        self.token = sim.key.make_token()

    async def call(self, method: str, path: str, body: Any = None, *, params: Any = None, token: str | None = None,
                   headers: dict[str, str] | None = None) -> tuple[int, Any, Any]:
        hdrs = {"Authorization": f"Bearer {token or self.token}"}
        if headers:
            hdrs.update(headers)
        url = path if path.startswith("http") else self.sim.base_url + path
        async with self.session.request(method, url, json=body, params=params, headers=hdrs) as resp:
            text = await resp.text()
            parsed = None
            if text:
                try:
                    parsed = await resp.json(content_type=None)
                except ValueError:
                    parsed = text
            return resp.status, parsed, resp.headers

    async def get(self, path: str, **kw: Any) -> tuple[int, Any, Any]:
        return await self.call("GET", path, **kw)

    async def post(self, path: str, body: Any, **kw: Any) -> tuple[int, Any, Any]:
        return await self.call("POST", path, body, **kw)

    async def patch(self, path: str, body: Any, **kw: Any) -> tuple[int, Any, Any]:
        return await self.call("PATCH", path, body, **kw)

    async def delete(self, path: str, **kw: Any) -> tuple[int, Any, Any]:
        return await self.call("DELETE", path, **kw)

    # ---- flows used by many tests

    async def create_achievement(self, vendor: str = "com.example.a1", points: int = 10, *, group: bool = False) -> tuple[str, str]:
        owner = (
            {"gameCenterGroup": {"data": {"type": "gameCenterGroups", "id": self.sim.group_id}}}
            if group
            else {"gameCenterDetail": {"data": {"type": "gameCenterDetails", "id": self.sim.detail_id}}}
        )
        body = {
            "data": {
                "type": "gameCenterAchievements",
                "attributes": {"referenceName": vendor, "vendorIdentifier": vendor, "points": points,
                               "showBeforeEarned": True, "repeatable": False},
                "relationships": {**owner, "versions": {"data": [{"type": "gameCenterAchievementVersions", "id": "${v1}"}]}},
            },
            "included": [{"type": "gameCenterAchievementVersions", "id": "${v1}"}],
        }
        status, doc, _ = await self.post("/v2/gameCenterAchievements", body)
        assert status == 201, doc
        ach_id = doc["data"]["id"]
        status, versions, _ = await self.get(f"/v2/gameCenterAchievements/{ach_id}/versions")
        assert status == 200, versions
        return ach_id, versions["data"][0]["id"]

    async def create_localization(self, version_id: str, locale: str = "en-US") -> tuple[int, Any]:
        body = {
            "data": {
                "type": "gameCenterAchievementLocalizations",
                "attributes": {"locale": locale, "name": "First", "beforeEarnedDescription": "Win once",
                               "afterEarnedDescription": "You won"},
                "relationships": {"version": {"data": {"type": "gameCenterAchievementVersions", "id": version_id}}},
            }
        }
        status, doc, _ = await self.post("/v2/gameCenterAchievementLocalizations", body)
        return status, doc

    async def reserve_image(self, loc_id: str, size: int, name: str = "icon.png") -> tuple[int, Any]:
        body = {
            "data": {
                "type": "gameCenterAchievementImages",
                "attributes": {"fileName": name, "fileSize": size},
                "relationships": {"localization": {"data": {"type": "gameCenterAchievementLocalizations", "id": loc_id}}},
            }
        }
        status, doc, _ = await self.post("/v2/gameCenterAchievementImages", body)
        return status, doc

    async def put_parts(self, ops: list[dict[str, Any]], data: bytes) -> list[int]:
        statuses = []
        for op in ops:
            hdrs = {h["name"]: h["value"] for h in op["requestHeaders"]}
            chunk = data[op["offset"] : op["offset"] + op["length"]]
            async with self.session.request(op["method"], op["url"], data=chunk, headers=hdrs) as resp:
                await resp.read()
                statuses.append(resp.status)
        return statuses

    async def commit(self, image_id: str) -> tuple[int, Any]:
        body = {"data": {"type": "gameCenterAchievementImages", "id": image_id, "attributes": {"uploaded": True}}}
        status, doc, _ = await self.patch(f"/v2/gameCenterAchievementImages/{image_id}", body)
        return status, doc

    async def wait_processed(self, image_id: str, timeout: float = 5.0) -> Any:
        import asyncio
        import time

        deadline = time.monotonic() + timeout
        while True:
            status, doc, _ = await self.get(f"/v2/gameCenterAchievementImages/{image_id}")
            assert status == 200, doc
            if doc["data"]["attributes"]["assetDeliveryState"]["state"] in ("COMPLETE", "FAILED") or time.monotonic() > deadline:
                return doc
            await asyncio.sleep(0.02)

    async def localized_version(self, vendor: str = "com.example.a1", locale: str = "en-US") -> tuple[str, str, str]:
        ach_id, version_id = await self.create_achievement(vendor)
        status, loc = await self.create_localization(version_id, locale)
        assert status == 201, loc
        return ach_id, version_id, loc["data"]["id"]


def sim_config(**overrides: Any) -> SimConfig:
    base: dict[str, Any] = {"part_size": 4096, "processing_delay": 0.05, "seed": 7}
    base.update(overrides)
    return SimConfig(**base)


def rel(name: str, type_: str, rid: str) -> dict[str, Any]:
    """One to-one relationship entry of a request body."""
    return {name: {"data": {"type": type_, "id": rid}}}


def owner_rel(sim: Simulator) -> dict[str, Any]:
    return rel("gameCenterDetail", "gameCenterDetails", sim.detail_id)


async def localize(api: Api, prefix: str, stem: str, version_id: str, name: str,
                   locale: str = "en-US") -> tuple[int, Any]:
    """POST a localization of a version of any kind (prefix "/v2", stem "Leaderboard"); returns (status, doc)."""
    body = {
        "data": {
            "type": f"gameCenter{stem}Localizations",
            "attributes": {"locale": locale, "name": name},
            "relationships": rel("version", f"gameCenter{stem}Versions", version_id),
        }
    }
    status, doc, _ = await api.post(f"{prefix}/gameCenter{stem}Localizations", body)
    return status, doc


async def upload_image(api: Api, prefix: str, image_type: str, relationships: dict[str, Any], data: bytes,
                       name: str = "icon.png") -> tuple[str, Any]:
    """Reserve an image of any kind at `prefix` (e.g. /v2/gameCenterLeaderboardImages), upload every part, commit,
    and wait for processing; returns (image id, the final document)."""
    import asyncio
    import time

    body = {"data": {"type": image_type, "attributes": {"fileName": name, "fileSize": len(data)}, "relationships": relationships}}
    status, doc, _ = await api.post(prefix, body)
    assert status == 201, doc
    image_id = doc["data"]["id"]
    assert doc["data"]["attributes"]["assetDeliveryState"]["state"] == "AWAITING_UPLOAD"
    assert all(s == 200 for s in await api.put_parts(doc["data"]["attributes"]["uploadOperations"], data))
    status, doc, _ = await api.patch(f"{prefix}/{image_id}", {"data": {"type": image_type, "id": image_id, "attributes": {"uploaded": True}}})
    assert status == 200, doc
    deadline = time.monotonic() + 10
    while doc["data"]["attributes"]["assetDeliveryState"]["state"] not in ("COMPLETE", "FAILED") and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
        status, doc, _ = await api.get(f"{prefix}/{image_id}")
        assert status == 200, doc
    return image_id, doc
