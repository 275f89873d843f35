"""Helpers for the client-against-simulator tests: a running sim + AscClient, and request bodies."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from bulkgc.asc.auth import Credentials, TokenProvider
from bulkgc.asc.client import AscClient, ClientConfig
from bulkgc.asc.jsonapi import Document
from bulkgc.sim import SimConfig, Simulator


async def instant_sleep(seconds: float) -> None:
    """Back-off sleep for tests: retry timing is not under test, only what is retried."""


def client_config(sim: Simulator, **overrides: Any) -> ClientConfig:
    """Client settings pointing at the simulator, with quick back-off."""
    settings: dict[str, Any] = {"base_url": sim.base_url, "backoff_base": 0.01, "backoff_max": 0.2,
                                "sleep": instant_sleep}
    settings.update(overrides)
    return ClientConfig(**settings)


def credentials(sim: Simulator, **overrides: Any) -> Credentials:
    """The simulator's seeded key as Credentials (overrides e.g. issuer_id to break it)."""
    args: dict[str, Any] = {"key_id": sim.key.key_id, "issuer_id": sim.key.issuer_id,
                            "private_key": sim.key.private_key_pem}
    args.update(overrides)
    return Credentials.load(**args)


@asynccontextmanager
async def sim_and_client(
    sim_config: SimConfig | None = None, *, token_lifetime: float = 1200, renew_margin: float = 60,
    creds: dict[str, Any] | None = None, **client: Any
) -> AsyncIterator[tuple[Simulator, AscClient]]:
    """A running simulator and a client using its key."""
    async with Simulator(sim_config or SimConfig(seed=1)) as sim:
        tokens = TokenProvider(credentials(sim, **(creds or {})), lifetime=token_lifetime, renew_margin=renew_margin)
        async with AscClient(client_config(sim, **client), tokens) as c:
            yield sim, c


def api_records(sim: Simulator, method: str | None = None) -> list[Any]:
    """The simulator's API request records (optionally of one method)."""
    return [r for r in sim.requests if r.kind == "api" and (method is None or r.method == method)]


def achievement_body(sim: Simulator, vendor: str, points: int = 10) -> dict[str, Any]:
    """v2 create body: an achievement with its inline first version."""
    return {
        "data": {
            "type": "gameCenterAchievements",
            "attributes": {"referenceName": vendor, "vendorIdentifier": vendor, "points": points,
                           "showBeforeEarned": True, "repeatable": False},
            "relationships": {
                "gameCenterDetail": {"data": {"type": "gameCenterDetails", "id": sim.detail_id}},
                "versions": {"data": [{"type": "gameCenterAchievementVersions", "id": "${v1}"}]},
            },
        },
        "included": [{"type": "gameCenterAchievementVersions", "id": "${v1}"}],
    }


def achievements_path(sim: Simulator) -> str:
    """The detail's v2 achievement listing."""
    return f"/v1/gameCenterDetails/{sim.detail_id}/gameCenterAchievementsV2"


def lookup_achievement(client: AscClient, sim: Simulator, vendor: str) -> Any:
    """A POST lookup: finds the achievement by vendorIdentifier (no server-side filter exists)."""

    async def lookup() -> Document | None:
        doc = await client.get_all(achievements_path(sim), {"limit": "200"})
        for r in doc.resources:
            if r.attributes.get("vendorIdentifier") == vendor:
                return Document(data=r)
        return None

    return lookup
