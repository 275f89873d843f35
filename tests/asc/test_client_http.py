"""Client behaviour the simulator does not produce (406 text, HTML 502, foreign links.next, refused port),
against a small aiohttp server on 127.0.0.1; plus config validation and redaction."""

from __future__ import annotations

import json
import socket
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from simclient import instant_sleep

from bulkgc.asc.auth import Credentials, TokenProvider
from bulkgc.asc.client import UNREACHED_TRIES, AscClient, ClientConfig, ConnectFailedError, build_api_error
from bulkgc.errors import ApiError, ConfigError, ConflictError, ServerError, TransportError
from bulkgc.redact import redact_text, redact_url

pytestmark = pytest.mark.timeout(30)

MULTI_ERRORS = {"errors": [
    {"status": "409", "code": "ENTITY_ERROR.ATTRIBUTE.INVALID.DUPLICATE", "title": "dup",
     "detail": "Entity with locale: 'ja' already exists. Try updating.", "source": {"pointer": "/data/attributes/locale"}},
    {"status": "409", "code": "STATE_ERROR.ENTITY_STATE_INVALID", "title": "state", "detail": "not editable"},
]}


@pytest.fixture
async def server() -> AsyncIterator[tuple[str, list[web.Request]]]:
    """A tiny server: paging with absolute links.next, a 406 in plain text, an HTML 502, a 2-error 409."""
    seen: list[web.Request] = []

    async def page(request: web.Request) -> web.Response:
        seen.append(request)
        base = f"http://127.0.0.1:{request.url.port}"
        cursor = request.query.get("cursor")
        if cursor is None:
            return web.json_response({"data": [{"type": "t", "id": "1"}], "links": {
                "self": "s", "next": f"{base}/v1/items?cursor=a%2Bb%3D&limit=1"}})
        if cursor == "a+b=":  # the encoded cursor arrived exactly as given
            return web.json_response({"data": [{"type": "t", "id": "2"}], "included": [{"type": "i", "id": "x"}],
                                      "links": {"self": "s", "next": "https://evil.example/v1/items?cursor=z"}})
        return web.json_response({"errors": [{"status": "400", "code": "PARAMETER_ERROR.INVALID"}]}, status=400)

    async def not_acceptable(request: web.Request) -> web.Response:
        seen.append(request)
        return web.Response(status=406, text="Not Acceptable: use application/json", content_type="text/plain")

    async def bad_gateway(request: web.Request) -> web.Response:
        seen.append(request)
        return web.Response(status=502, text="<html><body>Bad Gateway</body></html>", content_type="text/html")

    async def conflict(request: web.Request) -> web.Response:
        seen.append(request)
        return web.json_response(MULTI_ERRORS, status=409)

    app = web.Application()
    app.router.add_get("/v1/items", page)
    app.router.add_get("/v1/text", not_acceptable)
    app.router.add_get("/v1/gateway", bad_gateway)
    app.router.add_post("/v1/conflict", conflict)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}", seen
    finally:
        await runner.cleanup()


def _client(base_url: str, p256_pem: str, **kw: Any) -> AscClient:
    creds = Credentials.load(key_id="ABCDE12345", issuer_id="iss", private_key=p256_pem)
    config = ClientConfig(base_url=base_url, backoff_base=0.0, backoff_max=0.0, sleep=instant_sleep, **kw)
    return AscClient(config, TokenProvider(creds))


async def test_pages_follow_encoded_next_and_refuse_foreign_host(server: Any, p256_pem: str) -> None:
    """links.next is followed verbatim (encoding kept); a next link to another host is refused, token not sent."""
    base, seen = server
    async with _client(base, p256_pem) as client:
        pages = []
        with pytest.raises(ApiError, match="refusing to send the token"):
            async for page in client.pages("/v1/items", {"limit": 1}):
                pages.append(page)
        assert [p.resources[0].id for p in pages] == ["1", "2"]
        assert seen[1].raw_path == "/v1/items?cursor=a%2Bb%3D&limit=1"
        assert all(r.headers["Authorization"].startswith("Bearer ") for r in seen)


async def test_406_plain_text_and_html_502(server: Any, p256_pem: str) -> None:
    """A 406 plain-text body (sent once) and a non-JSON 502 (retried) become ApiError/ServerError with the text."""
    base, seen = server
    async with _client(base, p256_pem, max_attempts=3) as client:
        with pytest.raises(ApiError) as info:
            await client.get("/v1/text")
        assert info.value.status == 406 and type(info.value) is ApiError
        assert "GET /v1/text answered 406: Not Acceptable: use application/json" in str(info.value)
        assert len(seen) == 1 and client.stats.retries == 0  # a 4xx other than 429 is never retried
        with pytest.raises(ServerError, match="GET /v1/gateway answered 502: <html><body>Bad Gateway") as e502:
            await client.get("/v1/gateway")
        assert e502.value.errors == [] and len(seen) == 1 + 3 and client.stats.retries == 2


async def test_conflict_keeps_every_error(server: Any, p256_pem: str) -> None:
    """A 409 with two errors is a ConflictError carrying both, with pointer and codes in the message; sent once."""
    base, seen = server
    async with _client(base, p256_pem) as client:
        with pytest.raises(ConflictError) as info:
            await client.post("/v1/conflict", {"data": {"type": "t"}})
    err = info.value
    assert len(seen) == 1
    assert [e.code for e in err.errors] == ["ENTITY_ERROR.ATTRIBUTE.INVALID.DUPLICATE", "STATE_ERROR.ENTITY_STATE_INVALID"]
    assert err.has_code("ENTITY_ERROR") and err.source == {"pointer": "/data/attributes/locale"}
    assert "POST /v1/conflict answered 409" in str(err) and "(at /data/attributes/locale)" in str(err)
    assert "STATE_ERROR.ENTITY_STATE_INVALID" in str(err)


async def test_connection_refused_is_wrapped(p256_pem: str) -> None:
    """A closed port gives ConnectFailedError (a TransportError), never an aiohttp exception; retried, even a
    POST (surely not applied). Before the service has answered once, a client tries UNREACHED_TRIES
    connections in all, then stops retrying: a wrong URL is said within seconds, not after the back-off."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    async with _client(f"http://127.0.0.1:{port}", p256_pem, max_attempts=2) as client:
        with pytest.raises(ConnectFailedError) as info:
            await client.get("/v1/apps")
        assert isinstance(info.value, TransportError) and client.stats.retries == 1
    async with _client(f"http://127.0.0.1:{port}", p256_pem, max_attempts=2) as client:
        with pytest.raises(ConnectFailedError):  # surely not applied, so even a POST is retried
            await client.post("/v1/apps", {"data": {}})
        assert client.stats.retries == 1
    async with _client(f"http://127.0.0.1:{port}", p256_pem, max_attempts=6) as client:
        with pytest.raises(ConnectFailedError):
            await client.get("/v1/apps")
        assert client.stats.retries == UNREACHED_TRIES - 1 == 2  # three connections, not six
        with pytest.raises(ConnectFailedError):  # the cap is the client's: the next request is not retried
            await client.get("/v1/apps")
        assert client.stats.retries == 2


@pytest.mark.parametrize("url", ["http://api.example.com", "ftp://127.0.0.1", "http://10.0.0.1:8080"])
def test_config_refuses_plain_http_to_real_hosts(url: str) -> None:
    """Plain http only for loopback; anything else is a ConfigError."""
    with pytest.raises(ConfigError):
        ClientConfig(base_url=url)


def test_config_accepts_https_and_loopback() -> None:
    """https anywhere, http on 127.0.0.1 / localhost / ::1."""
    for url in ("https://api.appstoreconnect.apple.com", "http://127.0.0.1:8000", "http://localhost:1", "http://[::1]:9"):
        ClientConfig(base_url=url)
    with pytest.raises(ConfigError):
        ClientConfig(api_concurrency=0)


def test_error_text_is_redacted() -> None:
    """A body echoing a JWT or a key never reaches the exception text."""
    token = "eyJhbGciOiJFUzI1NiJ9.eyJpc3MiOiJ4In0.c2lnbmF0dXJl"
    body = json.dumps({"errors": [{"code": "X", "title": "bad", "detail": f"token {token} invalid"}]}).encode()
    err = build_api_error(400, "GET", "/v1/x", body, "application/json")
    assert token not in str(err) and "<redacted token>" in str(err)


def test_redact_url_and_text() -> None:
    """Upload URL signatures and credentials are dropped; PEM blocks and bearer tokens are scrubbed."""
    url = "https://u:p@blob.example/upload/abc?uploadId=1&Signature=SECRET&AWSAccessKeyId=AK&Expires=1"
    assert redact_url(url) == "https://blob.example/upload/abc?<redacted>"
    text = f"PUT {url} with Authorization: Bearer abc.def.ghi and -----BEGIN PRIVATE KEY-----\nMIG\n-----END PRIVATE KEY-----"
    out = redact_text(text)
    assert "SECRET" not in out and "abc.def.ghi" not in out and "MIG" not in out and "blob.example/upload/abc" in out
