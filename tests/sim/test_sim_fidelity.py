"""Simulator fidelity over real HTTP: stuck processing, v2 localization reads/deletes, JWT header checks,
the latency model, the rolling rate-limit window, and `bulkgc sim --help` covering every knob."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import re
import subprocess
import sys
import time
from typing import Any

import aiohttp
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from simhelpers import Api, png_bytes, sim_config

from bulkgc.sim import FaultRule, SimConfig, Simulator
from bulkgc.sim.auth import AUDIENCE
from bulkgc.sim.config import field_docs
from bulkgc.sim.faults import FAULT_KINDS

DETAIL_PATH = "/v1/apps/{app_id}/gameCenterDetail"


async def _committed_image(api: Api, vendor: str, locale: str = "en-US") -> str:
    """Reserve, upload every part and commit a valid 512x512 PNG; returns the image id."""
    _a, _v, loc_id = await api.localized_version(vendor, locale)
    data = png_bytes(512)
    status, doc = await api.reserve_image(loc_id, len(data))
    assert status == 201, doc
    assert set(await api.put_parts(doc["data"]["attributes"]["uploadOperations"], data)) == {200}
    status, committed = await api.commit(doc["data"]["id"])
    assert status == 200 and committed["data"]["attributes"]["assetDeliveryState"]["state"] == "UPLOAD_COMPLETE"
    return str(doc["data"]["id"])


async def _delivery_state(api: Api, image_id: str) -> str:
    status, doc, _ = await api.get(f"/v2/gameCenterAchievementImages/{image_id}")
    assert status == 200, doc
    return str(doc["data"]["attributes"]["assetDeliveryState"]["state"])


# ------------------------------------------------------------------ stuck_fraction


@pytest.mark.parametrize(("fraction", "final"), [(1.0, "UPLOAD_COMPLETE"), (0.0, "COMPLETE")])
async def test_stuck_fraction_decides_whether_processing_ends(fraction: float, final: str) -> None:
    """stuck_fraction=1 leaves a fully uploaded, committed image UPLOAD_COMPLETE after processing_delay; 0 lets it COMPLETE."""
    async with Simulator(sim_config(stuck_fraction=fraction, processing_delay=0.05)) as sim, aiohttp.ClientSession() as s:
        api = Api(sim, s)
        image_id = await _committed_image(api, "com.example.stuck")
        await asyncio.sleep(0.3)  # six processing delays
        if final == "COMPLETE":
            await api.wait_processed(image_id)
        held = sim.state.get("images", image_id)
        assert held is not None and time.time() > held["done_at"]  # the processing time is over either way
        assert sum(held["received"].values()) == held["fileSize"]
        assert await _delivery_state(api, image_id) == final


async def test_stuck_fraction_half_is_seeded_mix() -> None:
    """stuck_fraction=0.5 with a fixed seed leaves some images stuck and lets the others COMPLETE."""
    async with Simulator(sim_config(stuck_fraction=0.5, processing_delay=0.05, seed=11)) as sim, aiohttp.ClientSession() as s:
        api = Api(sim, s)
        ids = [await _committed_image(api, f"com.example.mix{n}") for n in range(8)]
        await asyncio.sleep(0.3)
        for image_id in ids:
            await api.wait_processed(image_id, timeout=0.2)
        states = [await _delivery_state(api, image_id) for image_id in ids]
        assert set(states) == {"UPLOAD_COMPLETE", "COMPLETE"}, states
        held = {img["id"]: img for img in sim.state.images()}
        assert [held[i]["outcome"] == "stuck" for i in ids] == [st == "UPLOAD_COMPLETE" for st in states]


# ------------------------------------------------------------------ v2 localizations


async def test_version_localizations_include_image(api: Api) -> None:
    """GET /v2/gameCenterAchievementVersions/{id}/localizations?include=image puts the reserved image in `included`."""
    _a, version_id, loc_id = await api.localized_version()
    _s, reserved = await api.reserve_image(loc_id, 1000, "icon.png")
    image_id = reserved["data"]["id"]
    status, doc, _ = await api.get(f"/v2/gameCenterAchievementVersions/{version_id}/localizations", params={"include": "image"})
    assert status == 200, doc
    assert [loc["id"] for loc in doc["data"]] == [loc_id]
    assert doc["data"][0]["relationships"]["image"]["data"] == {"type": "gameCenterAchievementImages", "id": image_id}
    included = doc["included"]
    assert [(i["type"], i["id"]) for i in included] == [("gameCenterAchievementImages", image_id)]
    assert included[0]["attributes"]["fileName"] == "icon.png" and included[0]["attributes"]["fileSize"] == 1000
    status, plain, _ = await api.get(f"/v2/gameCenterAchievementVersions/{version_id}/localizations")
    assert status == 200 and "included" not in plain


async def test_get_single_localization(api: Api) -> None:
    """GET /v2/gameCenterAchievementLocalizations/{id} answers the localization with its attributes and version."""
    _a, version_id, loc_id = await api.localized_version("com.example.single", "fr-FR")
    status, doc, _ = await api.get(f"/v2/gameCenterAchievementLocalizations/{loc_id}")
    assert status == 200, doc
    assert doc["data"]["type"] == "gameCenterAchievementLocalizations" and doc["data"]["id"] == loc_id
    assert doc["data"]["attributes"] == {"locale": "fr-FR", "name": "First", "beforeEarnedDescription": "Win once",
                                         "afterEarnedDescription": "You won"}
    status, version, _ = await api.get(f"/v2/gameCenterAchievementLocalizations/{loc_id}", params={"include": "version"})
    assert status == 200 and [i["id"] for i in version["included"]] == [version_id]
    assert (await api.get("/v2/gameCenterAchievementLocalizations/00000000-0000-4000-8000-000000000000"))[0] == 404


async def test_delete_localization_of_editable_version(api: Api) -> None:
    """DELETE of a localization of a PREPARE_FOR_SUBMISSION version answers 204 and the localization is gone."""
    _a, version_id, loc_id = await api.localized_version()
    _a2, _v2, other_id = await api.localized_version("com.example.keep")
    status, body, _ = await api.delete(f"/v2/gameCenterAchievementLocalizations/{loc_id}")
    assert status == 204 and body is None
    assert (await api.get(f"/v2/gameCenterAchievementLocalizations/{loc_id}"))[0] == 404
    status, doc, _ = await api.get(f"/v2/gameCenterAchievementVersions/{version_id}/localizations")
    assert status == 200 and doc["data"] == []
    assert [loc["id"] for loc in api.sim.state.localizations()] == [other_id]


# ------------------------------------------------------------------ JWT header checks


def _signing_key(sim: Simulator, kind: str) -> str | None:
    """The key a forged token is signed with: the sim key, a shared secret, a P-384 key or none at all."""
    if kind == "sim":
        return sim.key.private_key_pem
    if kind == "secret":
        return "a-shared-secret-of-at-least-32-bytes!"
    if kind == "p384":
        return (
            ec.generate_private_key(ec.SECP384R1())
            .private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
            .decode("ascii")
        )
    return None


def _forged_token(sim: Simulator, *, alg: str = "ES256", key: str = "sim", **header: Any) -> str:
    """A token with valid claims for the sim key whose header and signature differ only where asked."""
    now = int(time.time())
    claims = {"iss": sim.key.issuer_id, "aud": AUDIENCE, "iat": now, "exp": now + 600}
    return jwt.encode(claims, _signing_key(sim, key), algorithm=alg, headers={"kid": sim.key.key_id, "typ": "JWT", **header})


@pytest.mark.parametrize(
    "forge",
    [
        pytest.param({"kid": "ZZZZ999999"}, id="unknown-kid"),
        pytest.param({"alg": "HS256", "key": "secret"}, id="alg-HS256"),
        pytest.param({"alg": "ES384", "key": "p384"}, id="alg-ES384"),
        pytest.param({"alg": "none", "key": "none"}, id="alg-none"),
        pytest.param({"typ": "JWS"}, id="typ-JWS"),
    ],
)
async def test_jwt_header_checks_are_401(api: Api, forge: dict[str, Any]) -> None:
    """A token with an unknown kid, an alg other than ES256, or typ other than JWT gets 401 NOT_AUTHORIZED (Apple's shape)."""
    path = DETAIL_PATH.format(app_id=api.sim.app_id)
    assert (await api.get(path, token=_forged_token(api.sim)))[0] == 200  # the same forging without the change passes
    status, doc, headers = await api.get(path, token=_forged_token(api.sim, **forge))
    assert status == 401, doc
    assert len(doc["errors"]) == 1
    error = doc["errors"][0]
    assert error["status"] == "401" and error["code"] == "NOT_AUTHORIZED"
    assert error["title"] == "Authentication credentials are missing or invalid." and error["detail"] and error["id"]
    assert headers["X-Rate-Limit"].startswith("user-hour-lim:")
    last = api.sim.requests[-1]
    assert (last.status, last.key_id) == (401, None)
    assert api.sim.counters["auth_failures"] == 1


# ------------------------------------------------------------------ latency model


async def test_api_latency_is_a_lower_bound() -> None:
    """With api_latency=0.2 an API request takes at least 0.2 s, as seen by the client and in the simulator's record."""
    async with Simulator(sim_config(api_latency=0.2)) as sim, aiohttp.ClientSession() as s:
        api = Api(sim, s)
        loop = asyncio.get_running_loop()
        start = loop.time()
        status, _doc, _ = await api.get(DETAIL_PATH.format(app_id=sim.app_id))
        assert status == 200 and loop.time() - start >= 0.2
        record = sim.requests[-1]
        # wall-clock stamps of the record: 5 ms slack for time.time() vs. the loop's monotonic clock
        assert record.kind == "api" and record.ended - record.started >= 0.2 - 0.005


async def test_upload_latency_plus_bandwidth_is_a_lower_bound() -> None:
    """With upload_latency and upload_bandwidth, each part takes at least latency + size / bandwidth."""
    latency, bandwidth = 0.1, 20_000.0
    async with Simulator(sim_config(upload_latency=latency, upload_bandwidth=bandwidth)) as sim, aiohttp.ClientSession() as s:
        api = Api(sim, s)
        _a, _v, loc_id = await api.localized_version()
        data = png_bytes(512)
        _s, doc = await api.reserve_image(loc_id, len(data))
        ops = doc["data"]["attributes"]["uploadOperations"]
        assert len(ops) > 1 and ops[-1]["length"] < ops[0]["length"] == 4096
        loop = asyncio.get_running_loop()
        for op in (ops[0], ops[-1]):  # a full part and the shorter last one
            floor = latency + op["length"] / bandwidth
            start = loop.time()
            assert await api.put_parts([op], data) == [200]
            assert loop.time() - start >= floor, op
            record = sim.requests[-1]
            assert record.kind == "upload" and record.ended - record.started >= floor - 0.005
        assert sim.counters["bytes_uploaded"] == ops[0]["length"] + ops[-1]["length"]


# ------------------------------------------------------------------ rolling window


async def test_rate_window_rolls_per_request(rate_clock: Any) -> None:
    """A slot frees when the oldest request leaves the window while a later one still blocks: a rolling, not a fixed, window."""
    window = 2.0  # on the test's clock (the `rate_clock` fixture): no real waiting, no dependence on load
    async with Simulator(sim_config(rate_limit=2, rate_window=window)) as sim, aiohttp.ClientSession() as s:
        api = Api(sim, s)
        path = DETAIL_PATH.format(app_id=sim.app_id)

        async def rem() -> tuple[int, str]:
            status, _doc, headers = await api.get(path)
            return status, headers["X-Rate-Limit"]

        assert await rem() == (200, "user-hour-lim:2;user-hour-rem:1;")  # A
        rate_clock.advance(window / 2)
        assert await rem() == (200, "user-hour-lim:2;user-hour-rem:0;")  # B, half a window after A
        assert await rem() == (429, "user-hour-lim:2;user-hour-rem:0;")  # full: A and B are inside
        rate_clock.advance(window / 2 + 0.05)
        # A has left the window, B has not: exactly one slot is free
        assert await rem() == (200, "user-hour-lim:2;user-hour-rem:0;")  # C
        status, doc, headers = await api.get(path)  # D, right after C: a fixed window would have reset and allowed it
        assert status == 429 and doc["errors"][0]["code"] == "RATE_LIMIT_EXCEEDED"
        assert headers["X-Rate-Limit"] == "user-hour-lim:2;user-hour-rem:0;"
        assert [r.status for r in sim.requests] == [200, 200, 429, 200, 429]
        assert sim.counters["rate_limited"] == 2


# ------------------------------------------------------------------ `bulkgc sim --help`


def _help_entries(text: str) -> dict[str, str]:
    """Map each option string of an argparse help screen to its (whitespace-collapsed) help text."""
    entries: dict[str, str] = {}
    current: list[str] = []

    def flush() -> None:
        if current:
            # argparse separates the invocation from the help text by two or more spaces
            invocation, _, rest = current[0].strip().partition("  ")
            help_text = " ".join(" ".join([rest, *current[1:]]).split())
            for flag in re.findall(r"--[a-z0-9-]+", invocation):
                entries[flag] = help_text
            current.clear()

    options = text.split("\noptions:\n", 1)[1]
    for line in options.splitlines():
        if re.match(r"^  -", line):
            flush()
        current.append(line)
    flush()
    return entries


def test_sim_help_lists_every_knob() -> None:
    """`bulkgc sim --help` has a flag with help text in user words for every SimConfig field, --key-dir and
    --ready-file, and --fault names every rule key and kind that bulkgc/sim/faults.py accepts, with an example
    that parses."""
    result = subprocess.run(
        [sys.executable, "-m", "bulkgc", "sim", "--help"], capture_output=True, text=True, timeout=60,
        env={**os.environ, "COLUMNS": "1000"},
    )
    assert result.returncode == 0, result.stderr
    entries = _help_entries(result.stdout)
    docs = field_docs()
    flags = {"faults": "--fault", "private_key_pem": "--private-key-file"}
    for f in dataclasses.fields(SimConfig):
        flag = flags.get(f.name, "--" + f.name.replace("_", "-"))
        assert flag in entries, f"{f.name}: no {flag} in `bulkgc sim --help`"
        assert docs.get(f.name), f"SimConfig.{f.name} has no documentation string"
        # in a user's words (issue 12): not the docstring's programmer asides
        assert len(entries[flag].split()) > 3, flag
        assert not re.search(r"\[INFER|\bNone\b|Simulator\.|SimConfig", entries[flag]), (flag, entries[flag])
    for flag in ("--key-dir", "--ready-file", "--private-key-file", "--state-file"):
        assert len(entries[flag].split()) > 3, flag
    fault_help = entries["--fault"]
    for kind in sorted(FAULT_KINDS):
        assert re.search(rf"\b{kind}\b", fault_help), f"--fault help does not name kind {kind}"
    for key in (f.name for f in dataclasses.fields(FaultRule)):
        assert re.search(rf"\b{key}\b", fault_help), f"--fault help does not name key {key}"
    examples = re.findall(r"'([a-z_]+=[^']+)'", fault_help)
    assert examples, fault_help
    for example in examples:
        FaultRule.parse(example)
