"""The Simulator: an aiohttp.web server on 127.0.0.1 with auth, rate limits, faults, latency, uploads and control routes."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import io
import json
import logging
import random
import re
import signal
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import anyio
from aiohttp import web
from PIL import Image, PngImagePlugin

from . import errors as E
from . import specdata
from .auth import KeyRing, SimKey, generate_key
from .call import Call
from .config import SimConfig
from .faults import FaultPlan, FaultRule, deliver_signal
from .jsonapi import parse_query
from .kinds import routes
from .ratelimit import RateLimiter
from .schema import validate_body
from .state import SimState
from .uploads import analyse_image, content_type_for, signature_ok

log = logging.getLogger("bulkgc.sim")

WRITE_METHODS = frozenset({"POST", "PATCH", "DELETE"})


@dataclass
class RequestRecord:
    """One finished exchange as the simulator saw it (never includes the token)."""

    method: str
    path: str
    route: str | None
    query: dict[str, str]
    status: int
    request_body: Any
    response_body: Any
    kind: str  # "api" | "upload" | "control"
    started: float
    ended: float
    seq: int = 0
    key_id: str | None = None
    dropped: bool = False
    abandoned: bool = False  # handled (and applied) but the client had gone, e.g. after its own timeout


    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


observers: list[Callable[[RequestRecord], None]] = []
"""Called once per finished API exchange (e.g. to validate it against the OpenAPI spec)."""


def _client_gone(request: web.Request) -> bool:
    transport = request.transport
    return transport is None or transport.is_closing()


class _Drop(Exception):
    """Close the connection without an answer."""


class Simulator:
    """The local App Store Connect: `async with Simulator(SimConfig(...)) as sim: ...`."""

    def __init__(self, config: SimConfig | None = None) -> None:
        self.config = config or SimConfig()
        cfg = self.config
        self.rng = random.Random(cfg.seed)
        parts_dir = cfg.state_file.with_name(cfg.state_file.name + ".parts") if cfg.state_file else None
        self.state = SimState(cfg.seed, parts_dir)
        self.keys = KeyRing()
        self.faults = FaultPlan(cfg.seed, cfg.faults)
        self.limiter = RateLimiter(cfg.rate_limit, cfg.rate_window, cfg.burst_limit)
        self.requests: list[RequestRecord] = []
        self.counters: dict[str, int] = {}
        self.upload_tokens: dict[str, str] = {}
        self.key: SimKey
        self.base_url = ""
        self._tokens_seen: set[str] = set()
        self._seq = 0
        self._runner: web.AppRunner | None = None
        self._save_lock = asyncio.Lock()
        self._dirty = False
        self._tasks: set[asyncio.Task[None]] = set()
        self._deciding: dict[str, asyncio.Future[None]] = {}  # image id -> its processing being decided now
        self._handlers: dict[tuple[str, str], tuple[str, Any]] = {}
        self.reset_counters()

    # ---------------------------------------------------------------- lifecycle

    async def __aenter__(self) -> Simulator:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def start(self) -> None:
        cfg = self.config
        extra: dict[str, Any] = {}
        if cfg.state_file and cfg.state_file.exists():
            extra = await anyio.to_thread.run_sync(self.state.load, cfg.state_file)
        self._init_keys(extra.get("keys", []))
        self.state.seed_app(cfg.app_id, cfg.use_group, cfg.bundle_id)
        self.upload_tokens = {img["token"]: img["id"] for img in self.state.all_images()}
        app = web.Application(middlewares=[self._middleware], client_max_size=64 * 1024 * 1024)
        for method, path, api, handler in routes():
            self._handlers[(method, path)] = (api, handler)
            app.router.add_route(method, path, self._dispatch)
        app.router.add_route("*", "/upload/{token}", self._upload)
        self._add_control_routes(app)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, cfg.host, cfg.port)
        await site.start()
        sockets = site._server.sockets  # type: ignore[union-attr]
        port = sockets[0].getsockname()[1]
        self.base_url = f"http://{cfg.host}:{port}"
        for img in self.state.all_images():
            if img.get("committed_at") is not None and img.get("result") is None:
                self.schedule_processing(img["id"])
        await self.save()

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        await self.save()

    def _init_keys(self, saved: list[dict[str, Any]]) -> None:
        cfg = self.config
        for k in saved:
            self.keys.add(SimKey(k["key_id"], k["issuer_id"], k["private_key_pem"]))
        if saved:
            self.key = self.keys.all()[0]
            return
        key = generate_key(self.rng, issuer_id=cfg.issuer_id or "", key_id=cfg.key_id)
        if cfg.private_key_pem:
            key = SimKey(key.key_id, key.issuer_id, cfg.private_key_pem)
        self.keys.add(key)
        self.key = key

    def add_key(self, key_id: str | None = None, issuer_id: str | None = "", private_key_pem: str | None = None) -> SimKey:
        """Register another key; `issuer_id` None makes an individual key (tokens carry `sub: "user"`), "" draws a UUID."""
        key = generate_key(self.rng, issuer_id=issuer_id, key_id=key_id)
        if private_key_pem:
            key = SimKey(key.key_id, key.issuer_id, private_key_pem)
        self.keys.add(key)
        return key

    # ---------------------------------------------------------------- convenience

    @property
    def app_id(self) -> str:
        return self.config.app_id

    @property
    def detail_id(self) -> str:
        return str(self.state.data["apps"][self.config.app_id]["detail_id"])

    @property
    def group_id(self) -> str | None:
        return self.state.data["details"][self.detail_id].get("group_id")

    def add_fault(self, rule: FaultRule) -> None:
        self.faults.add(rule)

    def clear_faults(self) -> None:
        self.faults.clear()

    def reset_counters(self) -> None:
        self.counters.clear()
        self.counters.update(
            api_requests=0, upload_requests=0, control_requests=0, writes=0, rate_limited=0, burst_limited=0,
            bytes_uploaded=0, parts_uploaded=0, parts_overwritten=0, tokens_seen=0, auth_failures=0, dropped=0,
            faults_applied=0,
        )
        self._tokens_seen.clear()

    def _count(self, name: str, n: int = 1) -> None:
        self.counters[name] = self.counters.get(name, 0) + n

    # ---------------------------------------------------------------- persistence and processing

    async def save(self) -> None:
        """Write the state file (coalescing concurrent callers); no-op without `state_file`."""
        path = self.config.state_file
        if path is None:
            return
        self._dirty = True
        async with self._save_lock:
            if not self._dirty:
                return
            self._dirty = False
            keys = [{"key_id": k.key_id, "issuer_id": k.issuer_id, "private_key_pem": k.private_key_pem} for k in self.keys.all()]
            await anyio.to_thread.run_sync(lambda: self.state.save(path, {"keys": keys}))

    def schedule_processing(self, image_id: str) -> None:
        task = asyncio.get_running_loop().create_task(self._process_later(image_id))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _process_later(self, image_id: str) -> None:
        img = self.state.image(image_id)
        if img is None or img.get("outcome") == "stuck":
            return
        await asyncio.sleep(max(0.0, img["done_at"] - time.time()))
        if await self._finish_processing(image_id):
            await self.save()

    async def _finish_processing(self, image_id: str) -> bool:
        """Decide COMPLETE/FAILED for a committed image whose processing time is over (Pillow runs in a thread).

        Once per image: a request that finds the image being decided waits for that decision instead of
        decoding it again (every GET refreshes every due image, so ten polls at once used to decode the same
        3840x2160 images ten times over, and every one of them waited seconds)."""
        deciding = self._deciding.get(image_id)
        if deciding is not None:
            await asyncio.shield(deciding)
            return False  # the request that decided it saves the state
        img = self.state.image(image_id)
        if img is None or img.get("committed_at") is None or img.get("result") is not None:
            return False
        if img.get("outcome") == "stuck" or time.time() < img["done_at"]:
            return False
        decided = asyncio.get_running_loop().create_future()
        self._deciding[image_id] = decided
        try:
            outcome = img.get("outcome") or ""
            if outcome.startswith("fail:"):
                code = outcome[5:]
                result = {"state": "FAILED", "errors": [{"code": code, "description": code}]}
            else:
                data = await anyio.to_thread.run_sync(self.state.image_bytes, image_id)
                result = await anyio.to_thread.run_sync(analyse_image, data, img["fileName"], _sizes(img),
                                                        img.get("label"))
            if self.state.image(image_id) is img and img.get("result") is None:
                img["result"] = result
                return True
            return False
        finally:
            del self._deciding[image_id]
            decided.set_result(None)  # (also when this request was cancelled: a waiter then finds it undecided)

    async def _refresh_due_images(self) -> None:
        now = time.time()
        due = [
            i["id"] for i in self.state.all_images()
            if i.get("committed_at") is not None and i.get("result") is None and i.get("outcome") != "stuck" and now >= i["done_at"]
        ]
        changed = False
        for image_id in due:
            changed |= await self._finish_processing(image_id)
        if changed:
            await self.save()

    def _signal(self, rule: FaultRule) -> None:
        """Apply a `signal` fault (test bed): signal the client; after a SIGKILL nobody reads the answer."""
        self._count("faults_applied")
        deliver_signal(rule)
        if rule.signum == signal.SIGKILL:
            raise _Drop()

    # ---------------------------------------------------------------- recording

    def _record(self, rec: RequestRecord) -> None:
        self._seq += 1
        rec.seq = self._seq
        self.requests.append(rec)
        if len(self.requests) > self.config.max_recorded_requests:
            del self.requests[: len(self.requests) - self.config.max_recorded_requests]
        self._count(f"status_{rec.status}")
        if rec.kind == "api" and not rec.dropped:
            for observer in list(observers):
                observer(rec)

    # ---------------------------------------------------------------- API middleware

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> web.StreamResponse:
        path = request.path
        try:
            if path.startswith("/sim/") or path.startswith("/upload/"):
                return await handler(request)
            return await self._api(request)
        except ConnectionResetError:  # aiohttp's "Connection lost" while the body was still being read
            # The client went away mid-request (its timeout, a kill): one line, not aiohttp's full traceback.
            # Nobody reads the answer; aiohttp notices the closed transport and drops it quietly.
            log.warning("client disconnected mid-request: %s %s", request.method, path)
            return web.Response(status=400, text="client disconnected")

    def _route_of(self, request: web.Request) -> str | None:
        info = request.match_info
        if info.http_exception is not None or info.route.resource is None:
            return None
        return info.route.resource.canonical

    async def _api(self, request: web.Request) -> web.StreamResponse:
        started = time.time()
        method, path = request.method, request.path
        route = self._route_of(request)
        query = {k: v for k, v in request.query.items()}
        self._count("api_requests")
        if method in WRITE_METHODS:
            self._count("writes")
        key: SimKey | None = None
        admitted = False
        req_body: Any = None
        status = 500
        resp_body: Any = None
        dropped = False
        try:
            try:
                cfg = self.config
                try:
                    key = self.keys.verify(
                        request.headers.get("Authorization"), max_lifetime=cfg.max_token_lifetime, leeway=cfg.token_leeway
                    )
                except E.SimError:
                    self._count("auth_failures")
                    raise
                token_hash = hashlib.sha256(request.headers["Authorization"].encode()).hexdigest()
                if token_hash not in self._tokens_seen:
                    self._tokens_seen.add(token_hash)
                    self.counters["tokens_seen"] = len(self._tokens_seen)
                refused = self.limiter.admit(key.key_id)
                if refused == "hour":
                    self._count("rate_limited")
                    raise E.rate_limited(f"The API key has used its {cfg.rate_limit} requests per rolling hour.")
                if refused == "burst":
                    self._count("rate_limited")
                    self._count("burst_limited")
                    raise E.rate_limited("Too many concurrent requests for this API key.")
                admitted = True
                # latency is spent while the request is in flight (it counts toward the burst limit)
                delay = cfg.api_latency + (self.rng.uniform(0, cfg.api_jitter) if cfg.api_jitter else 0.0)
                latency_fault = self.faults.pick({"latency"}, method, path, route)
                if latency_fault:
                    self._count("faults_applied")
                    delay += latency_fault.delay
                if delay:
                    await asyncio.sleep(delay)
                info = request.match_info
                if info.http_exception is not None:
                    if isinstance(info.http_exception, web.HTTPMethodNotAllowed):
                        raise E.method_not_allowed(method, path)
                    raise E.path_error(path)
                assert route is not None
                api, handler = self._handlers[(method, route)]
                op = specdata.operation(method, route)
                fault = self.faults.pick({"status", "drop", "drop_after_apply"}, method, path, route)
                if fault is not None and fault.kind == "drop":
                    self._count("faults_applied")
                    raise _Drop()
                if fault is not None and fault.kind == "status" and not fault.after_apply:
                    self._count("faults_applied")
                    raise E.server_error(fault.status)
                signal_fault = self.faults.pick({"signal"}, method, path, route)
                if signal_fault is not None and not signal_fault.after_apply:
                    self._signal(signal_fault)
                if method in ("POST", "PATCH") or (method == "DELETE" and op["request"]):  # DELETE of a to-many linkage
                    req_body = await self._json_body(request)
                parsed = parse_query(op["params"], list(request.query.items()))
                if op["request"]:
                    self._validate(op["request"], req_body)
                if method == "GET":
                    await self._refresh_due_images()
                call = Call(self, method, path, route, api, parsed, list(request.query.items()), req_body, request.match_info.get("id"))
                status, resp_body, headers = await handler(call)
                if method in WRITE_METHODS:
                    await self.save()
                if signal_fault is not None and signal_fault.after_apply:
                    self._signal(signal_fault)
                if fault is not None:
                    self._count("faults_applied")
                    if fault.kind == "drop_after_apply":
                        raise _Drop()
                    raise E.server_error(fault.status)
            except E.SimError as err:
                status, resp_body, headers = err.status, err.body(), {}
        except (_Drop, ConnectionResetError):  # dropped by us, or the connection broke while reading the body
            dropped = True
            self._count("dropped")
            transport = request.transport
            if transport is not None:
                transport.abort()
            raise
        finally:
            if admitted and key is not None:
                self.limiter.release(key.key_id)
            # A client that gave up (its timeout) does not stop the handler, as on a real server: the request is
            # applied, and the record says nobody was there to read the answer.
            abandoned = not dropped and _client_gone(request)
            if abandoned:
                self._count("abandoned")
            self._record(
                RequestRecord(
                    method, path, route, query, 0 if dropped else status, req_body, None if dropped else resp_body, "api",
                    started, time.time(), key_id=key.key_id if key else None, dropped=dropped, abandoned=abandoned,
                )
            )
        headers = dict(headers)
        headers["X-Rate-Limit"] = self.limiter.header(key.key_id if key else None)
        if resp_body is None:
            return web.Response(status=status, headers=headers)
        return web.json_response(resp_body, status=status, headers=headers)

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:  # pragma: no cover - the middleware answers
        raise web.HTTPInternalServerError()

    async def _json_body(self, request: web.Request) -> Any:
        ctype = request.headers.get("Content-Type", "")
        if ctype.split(";", 1)[0].strip().lower() != "application/json":
            raise E.unsupported_media_type(ctype or "(none)")
        raw = await request.read()
        try:
            return json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise E.entity_invalid(f"JSON processing failed: {exc}") from None

    def _validate(self, schema_name: str, body: Any) -> None:
        violations = validate_body(schema_name, body)
        if not violations:
            return
        found = [_violation_error(v) for v in violations]
        first = found[0]
        first.extra = found[1:]
        raise first

    # ---------------------------------------------------------------- uploads (blob store)

    async def _upload(self, request: web.Request) -> web.StreamResponse:
        started = time.time()
        self._count("upload_requests")
        status, body, dropped = 200, "", False
        try:
            status, body = await self._upload_part(request)
        except (_Drop, ConnectionResetError):  # dropped by us, or the connection broke while reading the body
            dropped = True
            self._count("dropped")
            if request.transport is not None:
                request.transport.abort()
            raise
        finally:
            abandoned = not dropped and _client_gone(request)  # stored all the same, as a real blob store would
            if abandoned:
                self._count("abandoned")
            self._record(
                RequestRecord(
                    request.method, request.path, "/upload/{token}", dict(request.query), 0 if dropped else status, None,
                    None, "upload", started, time.time(), dropped=dropped, abandoned=abandoned,
                )
            )
        if status == 200:
            return web.Response(status=200, headers={"ETag": body})
        return web.Response(status=status, text=body, content_type="application/xml")

    async def _upload_part(self, request: web.Request) -> tuple[int, str]:
        cfg = self.config
        route = "/upload/{token}"
        latency = cfg.upload_latency
        fault = self.faults.pick({"latency"}, request.method, request.path, route)
        if fault:
            self._count("faults_applied")  # counted like an API latency fault: it hit whether or not it was read
            latency += fault.delay
        fault = self.faults.pick({"status", "drop"}, request.method, request.path, route)
        if fault is not None:
            self._count("faults_applied")
            if fault.kind == "drop":
                raise _Drop()
            return fault.status, _s3_error("InternalError", "We encountered an internal error. Please try again.")
        signal_fault = self.faults.pick({"signal"}, request.method, request.path, route)
        if signal_fault is not None and not signal_fault.after_apply:
            self._signal(signal_fault)
        if request.method != "PUT":
            return 405, _s3_error("MethodNotAllowed", "The specified method is not allowed against this resource.")
        if "Authorization" in request.headers:
            return 400, _s3_error("InvalidArgument", "Only one auth mechanism allowed; the URL is already signed, send no Authorization header.")
        token = request.match_info["token"]
        try:
            part = int(request.query["partNumber"])
            expires = int(request.query["Expires"])
            signature = request.query["Signature"]
        except (KeyError, ValueError):
            return 403, _s3_error("AccessDenied", "Query-string authentication requires partNumber, Expires and Signature.")
        if not signature_ok(self.state.meta["upload_secret"], token, part, expires, signature):
            return 403, _s3_error("SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided.")
        if time.time() > expires or self.faults.pick({"expire_upload"}, request.method, request.path, route):
            return 403, _s3_error("AccessDenied", "Request has expired")
        image_id = self.upload_tokens.get(token)
        img = self.state.image(image_id) if image_id else None
        if img is None or img.get("committed_at") is not None:
            return 404, _s3_error("NoSuchUpload", "The specified upload does not exist or was already completed.")
        op = next((o for o in img["operations"] if o["part"] == part), None)
        if op is None:
            return 404, _s3_error("NoSuchUpload", f"Part {part} is not part of this upload.")
        wanted_type = content_type_for(img["fileName"])
        if request.headers.get("Content-Type", "") != wanted_type:
            return 403, _s3_error("SignatureDoesNotMatch", f"Content-Type must be {wanted_type} as in the operation's requestHeaders.")
        data = await request.read()
        if latency or cfg.upload_bandwidth:
            await asyncio.sleep(latency + (len(data) / cfg.upload_bandwidth if cfg.upload_bandwidth else 0.0))
        if len(data) != op["length"]:
            return 400, _s3_error("IncompleteBody", f"Part {part} must be exactly {op['length']} bytes; received {len(data)}.")
        if img.get("committed_at") is not None or self.state.image(img["id"]) is not img:
            return 404, _s3_error("NoSuchUpload", "The specified upload does not exist or was already completed.")
        if str(part) in img["received"]:
            self._count("parts_overwritten")
        await anyio.to_thread.run_sync(self.state.parts.put, img["id"], part, data)
        img["received"][str(part)] = len(data)
        self._count("parts_uploaded")
        self._count("bytes_uploaded", len(data))
        await self.save()
        if signal_fault is not None and signal_fault.after_apply:
            self._signal(signal_fault)
        return 200, '"' + hashlib.md5(data, usedforsecurity=False).hexdigest() + '"'

    # ---------------------------------------------------------------- control routes

    def _add_control_routes(self, app: web.Application) -> None:
        def control(fn: Callable[[web.Request], Awaitable[Any]]) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
            async def wrapper(request: web.Request) -> web.StreamResponse:
                started = time.time()
                self._count("control_requests")
                status = 200
                try:
                    result = await fn(request)
                    response = result if isinstance(result, web.StreamResponse) else web.json_response(result)
                except (ValueError, KeyError, TypeError) as exc:
                    response = web.json_response({"error": str(exc)}, status=400)
                status = response.status
                self.requests.append(
                    RequestRecord(request.method, request.path, request.match_info.route.resource.canonical if request.match_info.route.resource else None,
                                  dict(request.query), status, None, None, "control", started, time.time())
                )
                return response

            return wrapper

        async def get_state(request: web.Request) -> Any:
            await self._refresh_due_images()
            return self.state.snapshot()

        async def get_requests(request: web.Request) -> Any:
            since = int(request.query.get("since", "0"))
            return [r.to_dict() for r in self.requests if r.seq > since and r.kind != "control"]

        async def get_counters(request: web.Request) -> Any:
            return dict(self.counters)

        async def post_faults(request: web.Request) -> Any:
            payload = await request.json()
            rules = payload if isinstance(payload, list) else [payload]
            parsed = [FaultRule.from_dict(r) for r in rules]
            for rule in parsed:
                self.add_fault(rule)
            return {"faults": self.faults.rules()}

        async def get_faults(request: web.Request) -> Any:
            return {"faults": self.faults.rules()}

        async def delete_faults(request: web.Request) -> Any:
            self.clear_faults()
            return {"faults": []}

        async def image_bytes(request: web.Request) -> Any:
            image_id = request.match_info["id"]
            if self.state.image(image_id) is None:
                return web.json_response({"error": f"no image {image_id}"}, status=404)
            data = await anyio.to_thread.run_sync(self.state.image_bytes, image_id)
            return web.Response(body=data, content_type="application/octet-stream")

        async def image_rendition(request: web.Request) -> Any:
            # The imageAsset.templateUrl of a COMPLETE image, filled in: like Apple's image CDN it serves a
            # re-encoded rendition at the asked size and format, never the uploaded bytes (no auth, as a CDN).
            image_id, name = request.match_info["id"], request.match_info["name"]
            img = self.state.image(image_id)
            found = re.fullmatch(r"(\d{1,5})x(\d{1,5})bb\.(png|jpg|jpeg)", name)
            if img is None or (img.get("result") or {}).get("state") != "COMPLETE":
                return web.json_response({"error": f"no processed image {image_id}"}, status=404)
            if found is None or not (0 < int(found.group(1)) <= 4096 and 0 < int(found.group(2)) <= 4096):
                return web.json_response({"error": f"{name}: expected {{w}}x{{h}}bb.{{png|jpg}}"}, status=400)
            size, fmt = (int(found.group(1)), int(found.group(2))), found.group(3)
            data = await anyio.to_thread.run_sync(self.state.image_bytes, image_id)
            body = await anyio.to_thread.run_sync(render_rendition, data, size, fmt)
            return web.Response(body=body, content_type="image/png" if fmt == "png" else "image/jpeg")

        async def set_version_state(request: web.Request) -> Any:
            payload = await request.json()
            version_id = request.match_info["id"]
            if self.state.version(version_id) is None:
                return web.json_response({"error": f"no version {version_id}"}, status=404)
            result = self.state.set_version_state(version_id, payload["state"])
            await self.save()
            return result

        async def reset_counters(request: web.Request) -> Any:
            self.reset_counters()
            return dict(self.counters)

        r = app.router
        r.add_get("/sim/state", control(get_state))
        r.add_get("/sim/requests", control(get_requests))
        r.add_get("/sim/counters", control(get_counters))
        r.add_get("/sim/faults", control(get_faults))
        r.add_post("/sim/faults", control(post_faults))
        r.add_delete("/sim/faults", control(delete_faults))
        r.add_get("/sim/images/{id}/bytes", control(image_bytes))
        r.add_get("/sim/assets/{id}/{name}", control(image_rendition))
        r.add_post("/sim/versions/{id}/state", control(set_version_state))
        r.add_post("/sim/reset-counters", control(reset_counters))


def render_rendition(data: bytes, size: tuple[int, int], fmt: str) -> bytes:
    """A re-encoded rendition of an uploaded image, as an image CDN serves it (other bytes, same picture)."""
    with Image.open(io.BytesIO(data)) as img:
        picture = img.convert("RGB")
    if picture.size != size:
        picture = picture.resize(size, Image.Resampling.LANCZOS)
    out = io.BytesIO()
    if fmt == "png":
        meta = PngImagePlugin.PngInfo()
        meta.add_text("Software", "bulkgc App Store Connect simulator rendition")
        picture.save(out, format="PNG", compress_level=9, pnginfo=meta)
    else:
        picture.save(out, format="JPEG", quality=90)
    return out.getvalue()


def _sizes(img: dict[str, Any]) -> tuple[tuple[int, int], ...] | None:
    """The sizes processing accepts for this image (set at reservation by its kind; None: the achievement rule)."""
    sizes = img.get("sizes")
    return tuple((int(w), int(h)) for w, h in sizes) if sizes else None


def _s3_error(code: str, message: str) -> str:
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code><Message>{message}</Message></Error>'


def _violation_error(v: Any) -> E.SimError:
    """Map a schema violation to Apple's 409 codes [INFER: Apple's exact codes for each case are not documented]."""
    pointer = v.pointer or "/data"
    if v.kind == "required":
        if "/relationships" in pointer:
            return E.SimError(409, "ENTITY_ERROR.RELATIONSHIP.REQUIRED", "The provided entity is missing a required relationship", v.message, pointer=pointer)
        return E.attribute_required(pointer, v.message)
    if "/relationships" in pointer:
        return E.relationship_invalid(pointer, v.message)
    if v.kind == "unknown":
        return E.attribute_invalid(pointer, f"{v.message} (this attribute is not allowed here)", code="ENTITY_ERROR.ATTRIBUTE.INVALID")
    return E.attribute_invalid(pointer, v.message)

