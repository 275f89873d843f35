"""AscClient: one aiohttp session per run; JSON:API in/out; status -> exception; retries; upload parts."""

from __future__ import annotations

import asyncio
import dataclasses
import ipaddress
import json
import logging
import socket
import ssl
import time
from collections import Counter, deque
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Literal, TypeVar
from urllib.parse import parse_qs, urlsplit

import aiohttp
import anyio
from yarl import URL

from bulkgc import __version__
from bulkgc.asc.auth import TokenProvider
from bulkgc.asc.burstmemory import BurstMemory
from bulkgc.asc.jsonapi import Document, merge_documents, parse_document, parse_errors
from bulkgc.asc.outage import OutageMonitor
from bulkgc.asc.ratelimit import HEADER as RATE_LIMIT_HEADER
from bulkgc.asc.ratelimit import AdaptiveConcurrency, RateBudget, RateLimit, held, parse_rate_limit
from bulkgc.asc.retry import RetryPolicy, Sleep, call_with_retry, is_transient
from bulkgc.errors import (
    ApiError,
    AuthError,
    ConfigError,
    ConflictError,
    ErrorDetail,
    NotFoundError,
    RateLimitedError,
    ServerError,
    TransportError,
)
from bulkgc.redact import redact_text, redact_url

log = logging.getLogger("bulkgc.asc")

DEFAULT_BASE_URL = "https://api.appstoreconnect.apple.com"
Purpose = Literal["read", "poll", "write", "upload"]
Lookup = Callable[[], Awaitable[Document | None]]
T = TypeVar("T")


#: connection attempts (over the whole client) that fail to open before App Store Connect answered once in this
#: run, after which the run stops with exit 4 instead of backing off for a minute
UNREACHED_TRIES = 3


class ConnectFailedError(TransportError):
    """The connection could not be opened (refused, DNS, connect timeout): the request was never sent."""


class UploadExpiredError(ApiError):
    """An upload URL was refused with 403 or is past its `Expires`: fetch fresh upload operations (re-reserve)."""


@dataclass(frozen=True, kw_only=True)
class ClientConfig:
    """How the client talks to App Store Connect. Validated on creation; every field has a safe default."""

    base_url: str = DEFAULT_BASE_URL  # https only; plain http is accepted for a loopback host (the simulator)
    api_concurrency: int = 8  # API requests in flight at most (adaptive: learns the burst limit from 429s)
    upload_concurrency: int = 16  # upload-part requests in flight at most (separate from API requests)
    connect_timeout: float = 10.0  # seconds to open a connection
    read_timeout: float = 30.0  # seconds without a byte from the server before a request is abandoned
    request_timeout: float = 60.0  # seconds one HTTP request may take in all before it is abandoned (and retried)
    max_attempts: int = 6  # sends of one request, the first included
    retry_deadline: float = 300.0  # seconds after which one request is not attempted again
    backoff_base: float = 0.5  # first back-off (seconds) after a transient failure; doubles, with jitter
    backoff_max: float = 30.0  # longest single back-off or shared 429 pause (seconds)
    # seconds an outage is waited out before giving up (the CLI's default: 15 min); 0: never wait
    outage_patience: float = 0.0
    rate_limit_margin: float = 0.02  # fraction of the hourly budget left for other tools on the key
    rate_limit_margin_requests: int = 0  # ... or at least this many requests, whichever is larger
    window_seconds: float = 3600.0  # the rolling rate-limit window (Apple: one hour; shorter in tests)
    recover_after: int = 20  # successes in a row before the adaptive concurrency cap grows by one
    slow_start: int = 4  # API requests in flight at first while the server's burst limit is unknown
    burst_memory: Path | None = None  # file remembering learned burst limits (burstmemory.py); None: none
    user_agent: str = f"bulkgc/{__version__}"
    sleep: Sleep = field(default=anyio.sleep, repr=False, compare=False)  # back-off sleep; tests make it instant
    clock: Callable[[], float] = field(default=time.monotonic, repr=False, compare=False)  # pacing clock

    def __post_init__(self) -> None:
        parts = urlsplit(self.base_url)
        if parts.scheme not in ("https", "http") or not parts.hostname:
            raise ConfigError(f"base URL {self.base_url!r} is not an http(s) URL; use {DEFAULT_BASE_URL}")
        if parts.scheme == "http" and not _is_loopback(parts.hostname):
            # Tokens over plain http to a real host could be read by anyone on the path.
            raise ConfigError(
                f"base URL {self.base_url!r} uses plain http; use https (http is allowed only for a loopback simulator)"
            )
        for name in ("api_concurrency", "upload_concurrency", "max_attempts", "recover_after", "slow_start"):
            if int(getattr(self, name)) < 1:
                raise ConfigError(f"client setting {name} must be at least 1")
        for name in ("connect_timeout", "read_timeout", "request_timeout", "retry_deadline", "window_seconds"):
            if float(getattr(self, name)) <= 0:
                raise ConfigError(f"client setting {name} must be positive")
        if self.backoff_base < 0 or self.backoff_max < self.backoff_base:
            raise ConfigError("client back-off must satisfy 0 <= backoff_base <= backoff_max")
        if not 0 <= self.rate_limit_margin < 1 or self.rate_limit_margin_requests < 0:
            raise ConfigError("rate-limit margin must be a fraction in [0, 1) and a request count >= 0")

    @property
    def retry_policy(self) -> RetryPolicy:
        """The RetryPolicy these settings describe."""
        return RetryPolicy(
            max_attempts=self.max_attempts,
            deadline=self.retry_deadline,
            backoff_base=self.backoff_base,
            backoff_max=self.backoff_max,
            sleep=self.sleep,
        )


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass
class RequestStats:
    """What the client did: requests by method/purpose/status, 429s, retries, renewals, bytes, latencies."""

    by_method: Counter[str] = field(default_factory=Counter)
    by_purpose: Counter[str] = field(default_factory=Counter)
    by_status: Counter[int] = field(default_factory=Counter)
    rate_limited: int = 0  # 429 answers
    burst_429s: int = 0  # ... of which came while the hourly budget still had room
    retries: int = 0  # re-sends after a transient failure
    auth_retries: int = 0  # re-sends after a 401 with a fresh token
    token_renewals: int = 0
    lookups: int = 0  # POST lost-answer lookups
    lookup_hits: int = 0  # ... that found the resource already created
    transport_errors: int = 0
    bytes_uploaded: int = 0
    upload_parts: int = 0
    paced_requests: int = 0  # admitted after waiting for a slot of the (full) hourly window
    paced_seconds: float = 0.0
    paused_seconds: float = 0.0  # shared pause after 429s
    concurrency_now: int = 0
    concurrency_decreases: int = 0
    latencies: deque[float] = field(default_factory=lambda: deque(maxlen=10_000))  # seconds, most recent

    @property
    def requests(self) -> int:
        """HTTP requests sent (API and upload)."""
        return sum(self.by_method.values())

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly summary (latency percentiles instead of the raw list)."""
        lat = sorted(self.latencies)

        def pct(p: float) -> float | None:
            return round(lat[min(len(lat) - 1, int(p * len(lat)))], 4) if lat else None

        return {
            "requests": self.requests,
            "by_method": dict(self.by_method),
            "by_purpose": dict(self.by_purpose),
            "by_status": {str(k): v for k, v in sorted(self.by_status.items())},
            "rate_limited": self.rate_limited,
            "burst_429s": self.burst_429s,
            "retries": self.retries,
            "auth_retries": self.auth_retries,
            "token_renewals": self.token_renewals,
            "lookups": self.lookups,
            "lookup_hits": self.lookup_hits,
            "transport_errors": self.transport_errors,
            "bytes_uploaded": self.bytes_uploaded,
            "upload_parts": self.upload_parts,
            "paced_requests": self.paced_requests,
            "paced_seconds": round(self.paced_seconds, 3),
            "paused_seconds": round(self.paused_seconds, 3),
            "concurrency_now": self.concurrency_now,
            "concurrency_decreases": self.concurrency_decreases,
            "latency": {"count": len(lat), "p50": pct(0.5), "p95": pct(0.95), "max": round(lat[-1], 4) if lat else None},
        }


_STATUS_ERRORS: dict[int, type[ApiError]] = {
    401: AuthError,
    403: AuthError,
    404: NotFoundError,
    409: ConflictError,
    429: RateLimitedError,
}

_ADVICE: dict[type[ApiError], str] = {
    AuthError: "check the key id, issuer id and .p8 file belong together, the key is not revoked, "
    "and its role allows this (Users and Access > Integrations)",
    NotFoundError: "the resource does not exist or this key cannot see it; re-run to refresh remote state",
    ConflictError: "it conflicts with the current state in App Store Connect; re-run to refresh and reconcile",
    RateLimitedError: "the key's request budget is exhausted; bulkgc pauses and retries, or run later "
    "or with a lower --api-concurrency",
    ServerError: "App Store Connect failed; bulkgc retried it (and waits out an outage up to "
    "--outage-patience); if it persists, run the same command again later to resume",
    ApiError: "App Store Connect refused the request; see the detail above",
}


def _error_class(status: int) -> type[ApiError]:
    if status in _STATUS_ERRORS:
        return _STATUS_ERRORS[status]
    return ServerError if status >= 500 else ApiError


def _describe(errors: list[ErrorDetail]) -> str:
    parts = []
    for e in errors:
        text = e.title or e.code or "error"
        if e.detail and e.detail != e.title:
            text += f": {e.detail}"
        if e.where:
            text += f" (at {e.where})"
        if e.code:
            text += f" [{e.code}]"
        parts.append(text)
    return "; ".join(parts)


def build_api_error(status: int, method: str, shown_url: str, body: bytes, content_type: str) -> ApiError:
    """The ApiError subclass for an HTTP error answer, with all of Apple's `errors[]` and advice."""
    errors: list[ErrorDetail] = []
    if "json" in content_type or body[:1] in (b"{", b"["):
        try:
            errors = parse_errors(json.loads(body))
        except (ValueError, RecursionError):  # RecursionError: nested deeper than the decoder goes
            errors = []
    if errors:
        what = _describe(errors)
    else:
        # 406 answers in plain text; proxies answer in HTML: show a short, scrubbed excerpt.
        text = " ".join(body.decode("utf-8", "replace").split())
        what = (text[:300] + ("..." if len(text) > 300 else "")) or "no body"
    cls = _error_class(status)
    advice = _ADVICE.get(cls, _ADVICE[ApiError])
    if status == 406:
        advice = "App Store Connect cannot produce the requested representation; this is a bulkgc bug, please report it"
    message = redact_text(f"{method} {shown_url} answered {status}: {what}. Next: {advice}.")
    return cls(message, status=status, errors=errors, method=method, url=shown_url)


class AscClient:
    """App Store Connect API client; use as `async with AscClient(config, tokens) as client:`."""

    def __init__(self, config: ClientConfig, tokens: TokenProvider) -> None:
        self.config = config
        self.tokens = tokens
        self.budget = RateBudget(
            window_seconds=config.window_seconds,
            margin_fraction=config.rate_limit_margin,
            margin_requests=config.rate_limit_margin_requests,
            clock=config.clock,
        )
        self._memory = BurstMemory(config.burst_memory) if config.burst_memory is not None else None
        # a limit learned by an earlier run with this key against this server: start at it, never above
        remembered = self._memory.recall(config.base_url, tokens.credentials.key_id) if self._memory else None
        self.concurrency = AdaptiveConcurrency(
            config.api_concurrency, recover_after=config.recover_after, learned=remembered,
            slow_start=config.slow_start,
        )
        self._in_flight = 0  # API requests sent and not yet answered (the burst-limit evidence of a 429)
        # per request in flight: the most requests in flight at once while it was (the bound its 429 proves)
        self._peaks: dict[int, int] = {}  # request number -> that peak
        self._sent = 0  # API requests sent (numbers them)
        # connections that could not be opened (refused, DNS) before the service ever answered in this run
        self._unreached = 0
        self._stats = RequestStats()
        self._base = URL(config.base_url.rstrip("/"))
        self._session: aiohttp.ClientSession | None = None
        self._upload_limiter: anyio.CapacityLimiter | None = None
        self._auth_failure: AuthError | None = None
        self._policy = config.retry_policy
        self._single_attempt = dataclasses.replace(self._policy, max_attempts=1)  # during an outage
        self.outage = OutageMonitor(config.outage_patience, backoff_base=max(config.backoff_base, 0.1),
                                    backoff_max=config.backoff_max, sleep=config.sleep)

    # -- lifecycle -----------------------------------------------------------------------------------------
    async def __aenter__(self) -> AscClient:
        self.tokens.token()  # sign once now so a key problem surfaces before any request
        connector = aiohttp.TCPConnector(limit=self.config.api_concurrency + self.config.upload_concurrency)
        self._session = aiohttp.ClientSession(
            connector=connector,
            timeout=aiohttp.ClientTimeout(
                total=self.config.request_timeout,
                connect=self.config.connect_timeout,
                sock_read=self.config.read_timeout,
            ),
            cookie_jar=aiohttp.DummyCookieJar(),  # no state may flow from the API to the upload hosts
            headers={"User-Agent": self.config.user_agent},
        )
        # aiohttp silently resends an idempotent request once when a pooled connection drops. That resend
        # bypasses our budget, pacing and stats, and hides a lost answer (a DELETE would then look like a
        # plain 404), so retries are left to retry.py alone. Private attribute: harmless if it disappears.
        if hasattr(self._session, "_retry_connection"):
            self._session._retry_connection = False
        self._upload_limiter = anyio.CapacityLimiter(self.config.upload_concurrency)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the HTTP session (idempotent) and remember a burst limit this run learned."""
        ac = self.concurrency
        if self._memory is not None and ac.learned_this_run and ac.ceiling is not None:
            ac.learned_this_run = False
            self._memory.remember(self.config.base_url, self.tokens.credentials.key_id, ac.ceiling)
        if self._session is not None:
            session, self._session = self._session, None
            await session.close()

    @property
    def stats(self) -> RequestStats:
        """Request statistics, current as of this call."""
        s = self._stats
        s.token_renewals = self.tokens.renewals
        s.paced_requests = self.budget.paced_requests
        s.paced_seconds = self.budget.paced_seconds
        s.paused_seconds = self.budget.paused_seconds
        s.concurrency_now = self.concurrency.current
        s.concurrency_decreases = self.concurrency.decreases
        return s

    # -- JSON:API verbs --------------------------------------------------------------------------------------
    async def get(self, path: str, params: Mapping[str, Any] | None = None, purpose: Purpose = "read") -> Document:
        """GET a path (or an absolute URL on the API host, e.g. a `links.next`); retried when transient."""
        return await self._call("GET", path, params=params, purpose=purpose)

    async def pages(
        self, path: str, params: Mapping[str, Any] | None = None, purpose: Purpose = "read"
    ) -> AsyncIterator[Document]:
        """Yield each page of a collection, following `links.next` verbatim until there is none."""
        doc = await self.get(path, params, purpose)
        yield doc
        seen: set[str] = set()
        while doc.next_url:
            nxt = doc.next_url
            if nxt in seen:
                raise ApiError(f"GET {path}: the server's links.next repeats {redact_url(nxt)}; paging stopped")
            seen.add(nxt)
            doc = await self.get(nxt, None, purpose)
            yield doc

    async def get_all(
        self, path: str, params: Mapping[str, Any] | None = None, purpose: Purpose = "read"
    ) -> Document:
        """All pages of a collection in one Document (`data` and `included` merged, de-duplicated)."""
        return merge_documents([page async for page in self.pages(path, params, purpose)])

    async def post(self, path: str, body: Mapping[str, Any], lookup: Lookup | None = None) -> Document:
        """Create a resource. A POST whose answer was lost is resent only after `lookup()` found nothing.

        Without `lookup`, a POST is retried only when it surely was not applied (connection refused, 429,
        503); otherwise the error is raised, so a duplicate is never created.
        """
        return await self._call("POST", path, body=body, purpose="write", lookup=lookup)

    async def patch(self, path: str, body: Mapping[str, Any]) -> Document:
        """Update a resource (idempotent, so retried as it is)."""
        return await self._call("PATCH", path, body=body, purpose="write")

    async def delete(self, path: str) -> None:
        """Delete a resource; a 404 after a lost answer counts as done (the first send deleted it)."""
        await self._call("DELETE", path, purpose="write")

    # -- the request machinery -------------------------------------------------------------------------------
    async def _call(
        self,
        method: str,
        target: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Mapping[str, Any] | None = None,
        purpose: Purpose,
        lookup: Lookup | None = None,
    ) -> Document:
        url = self._api_url(target, method)
        data = json.dumps(body, separators=(",", ":")).encode() if body is not None else None
        maybe_applied = False  # an earlier send of this request may have reached the server

        async def attempt() -> Document:
            nonlocal maybe_applied
            if method == "POST" and maybe_applied and lookup is not None:
                self._stats.lookups += 1
                found = await lookup()
                if found is not None:
                    self._stats.lookup_hits += 1
                    log.info("POST %s: the lost answer's resource exists already; not sending again", target)
                    return found
            try:
                return await self._send_authed(method, url, params, data, purpose)
            except NotFoundError:
                if method == "DELETE" and maybe_applied:
                    return Document()
                raise
            except ApiError as e:
                if is_transient(e) and not _surely_not_applied(e):
                    maybe_applied = True
                    if method == "POST" and lookup is None:
                        raise type(e)(
                            f"{e} The create may have been applied; it is not resent without a lookup. "
                            "Re-run to reconcile.",
                            status=e.status, errors=e.errors, method=e.method, url=e.url,
                        ) from None
                raise

        def retry_if(e: BaseException) -> bool:
            if not is_transient(e) or self._auth_failure is not None:
                return False
            if isinstance(e, ConnectFailedError) and self._unreached >= UNREACHED_TRIES:
                # Nothing has answered yet in this run: a wrong base URL, DNS or proxy far more often than a
                # blip. Three tries in all (about 1.5 s), not the full back-off (about 16 s), then say so.
                return False
            if method == "POST" and lookup is None:
                return _surely_not_applied(e)
            return True

        def on_retry(e: BaseException, attempt_no: int) -> None:
            self._stats.retries += 1
            log.warning("retrying %s %s after attempt %d: %s", method, _shown(url), attempt_no, redact_text(str(e)))

        return await self._patiently(lambda policy: call_with_retry(attempt, policy, retry_if=retry_if,
                                                                    on_retry=on_retry), retry_if)

    async def _patiently(self, run: Callable[[RetryPolicy], Awaitable[T]],
                         retry_if: Callable[[BaseException], bool]) -> T:
        """`run(policy)` (one request with its retries); when its retries run out on a failure worth
        repeating, the service is in an outage: wait with capped back-off (the monitor's) and send it again,
        one attempt at a time, until it answers or patience runs out (OutageError). A 429 is not an outage:
        the rate limiter handles it."""
        tries = 0
        first_failed: float | None = None
        policy = self._policy
        while True:
            try:
                return await run(policy)
            except (TransportError, ServerError) as e:
                if not retry_if(e):
                    raise
                tries += 1
                if first_failed is None:
                    first_failed = time.monotonic()
                await self.outage.wait_after(e, tries, first_failed)
                policy = self._single_attempt

    def _api_url(self, target: str, method: str) -> URL:
        if target.startswith(("http://", "https://")):
            url = URL(target, encoded=True)  # links.next verbatim: re-encoding could change the cursor
            if url.origin() != self._base.origin():
                # The token must only ever go to the API host.
                raise ApiError(
                    f"{method} {redact_url(target)}: refusing to send the token to a host other than "
                    f"{self._base.origin()}",
                    method=method,
                    url=redact_url(target),
                )
            return url
        if not target.startswith("/"):
            target = "/" + target
        return URL(str(self._base) + target, encoded=False)

    async def _send_authed(
        self, method: str, url: URL, params: Mapping[str, Any] | None, data: bytes | None, purpose: str
    ) -> Document:
        """One send with the cached token; on a 401 one renewal and one re-send, then AuthError for good."""
        if self._auth_failure is not None:
            f = self._auth_failure
            raise AuthError(str(f), status=f.status, errors=f.errors, method=method, url=_shown(url))
        used: list[str] = []  # the token each send carried, to renew only a token that was rejected
        try:
            return await self._send_api(method, url, params, data, purpose, used)
        except AuthError as e:
            if e.status != 401:
                raise
        # The token may have expired in flight or the server's clock runs ahead: renew once.
        self.tokens.invalidate(used[-1])  # no-op when a concurrent task renewed already
        self._stats.auth_retries += 1
        try:
            return await self._send_api(method, url, params, data, purpose, used)
        except AuthError as e:
            if e.status != 401:
                raise
            creds = self.tokens.credentials
            who = f"issuer {creds.issuer_id}" if creds.issuer_id else "no issuer id (individual key)"
            failure = AuthError(
                f"App Store Connect rejected the token for key {creds.key_id} ({who}) twice, also when freshly "
                f"signed ({method} {_shown(url)} answered 401). Check that the issuer id is the one shown in "
                "Users and Access > Integrations, that the key id matches the .p8 file "
                f"(AuthKey_{creds.key_id}.p8), that the key has not been revoked, and that this machine's "
                "clock is right.",
                status=401,
                errors=e.errors,
                method=method,
                url=_shown(url),
            )
            self._auth_failure = failure  # every other request fails fast: no retry storm on a bad key
            raise failure from None

    async def _send_api(
        self,
        method: str,
        url: URL,
        params: Mapping[str, Any] | None,
        data: bytes | None,
        purpose: str,
        used_tokens: list[str],
    ) -> Document:
        """Exactly one HTTP request to the API (budget, pause gate, concurrency cap), mapped to a Document."""
        assert self._session is not None, "use AscClient as an async context manager"
        headers = {"Accept": "application/json"}
        if data is not None:
            headers["Content-Type"] = "application/json"
        query = {k: str(v) for k, v in params.items()} if params else None
        shown = _shown(url, params)
        rate_limit: RateLimit | None = None
        reached_server = True
        async with held(self.concurrency.limiter):
            # The shared 429 pause and the pacing are checked after getting a slot, right before sending,
            # so no task that queued for a slot before a 429 slips through the pause.
            ticket = await self.budget.acquire()
            # Taken after any pacing wait, so a long wait never sends an expired token.
            token = self.tokens.token()
            used_tokens.append(token)
            headers["Authorization"] = f"Bearer {token}"
            generation = self.concurrency.generation
            self._in_flight += 1
            in_flight = self._in_flight  # this request included
            peaks = self._peaks
            for other, seen in peaks.items():
                if seen < in_flight:
                    peaks[other] = in_flight
            self._sent += 1
            number = self._sent
            peaks[number] = in_flight
            try:
                status, content_type, rl_header, raw = await self._exchange(
                    method, url, purpose, shown, params=query, data=data, headers=headers
                )
                rate_limit = parse_rate_limit(rl_header)
            except ConnectFailedError:
                reached_server = False
                if not self.outage.answered:
                    self._unreached += 1  # counted once per connection (retry_if may see one error twice)
                raise
            finally:
                self._in_flight -= 1
                peak = self._peaks.pop(number)
                self.budget.release(ticket, rate_limit, counted=reached_server)
        log.debug("%s %s -> %d", method, shown, status)
        if 200 <= status < 300:
            self.budget.on_success()
            self.concurrency.on_success(in_flight)
            try:
                return parse_document(json.loads(raw) if raw.strip() else None)
            except (ValueError, RecursionError) as e:  # DocumentShapeError is a ValueError
                raise ApiError(
                    f"{method} {shown} answered {status} with a body that is not a JSON:API document "
                    f"({type(e).__name__}); App Store Connect may have changed, please report it",
                    status=status, method=method, url=shown,
                ) from None
        if status == 429:
            self._stats.rate_limited += 1
            if self.budget.is_burst_429(rate_limit):
                self._stats.burst_429s += 1
                # A request sent after this one may reach the server first, so the 429 proves only that the
                # limit is below the most requests in flight while this one was, not those at its send.
                self.concurrency.on_burst_429(generation, peak)
            pause = self.budget.on_429(rate_limit, base=self.config.backoff_base, maximum=self.config.backoff_max)
            log.info("429 on %s %s: all requests pause %.2fs", method, shown, pause)
        raise build_api_error(status, method, shown, raw, content_type)

    async def _exchange(
        self,
        method: str,
        url: URL,
        purpose: str,
        shown: str,
        *,
        params: Mapping[str, str] | None = None,
        data: bytes | AsyncIterator[memoryview] | None = None,
        headers: Mapping[str, str],
    ) -> tuple[int, str, str | None, bytes]:
        """One HTTP exchange -> (status, content type, X-Rate-Limit header, body); aiohttp errors wrapped."""
        assert self._session is not None, "use AscClient as an async context manager"
        self._stats.by_method[method] += 1
        self._stats.by_purpose[purpose] += 1
        started = time.monotonic()
        try:
            async with self._session.request(method, url, params=params, data=data, headers=headers) as resp:
                raw = await resp.read()
                result = (resp.status, resp.headers.get("Content-Type", ""), resp.headers.get(RATE_LIMIT_HEADER), raw)
        except Exception as e:  # every aiohttp/asyncio failure becomes a TransportError (none leaks out)
            sent = not isinstance(e, aiohttp.ClientConnectorError | aiohttp.ConnectionTimeoutError)
            raise self._transport_error(e, method, shown, sent=sent, url=url) from None
        finally:
            self._stats.latencies.append(time.monotonic() - started)
        self._stats.by_status[result[0]] += 1
        if result[0] < 500:
            self.outage.on_answer()
        return result

    def _transport_error(self, e: BaseException, method: str, shown: str, *, sent: bool,
                         url: URL | None = None) -> TransportError:
        self._stats.transport_errors += 1
        where = f"{url.host}:{url.port}" if url is not None and url.host else "the server"
        what, check = describe_transport_failure(e, where, url.host if url is not None else None,
                                                 self.config.request_timeout)
        cls = TransportError if sent else ConnectFailedError
        return cls(f"{method} {shown}: {what}; {check}", status=0, method=method, url=shown)

    # -- uploads ---------------------------------------------------------------------------------------------
    async def upload_part(self, operation: Mapping[str, Any], content: bytes | memoryview) -> int:
        """Send one UploadOperation's byte range of `content` (the whole file, read and hashed once); returns
        the bytes sent.

        The part is a slice of the buffer whose sha256 the reservation's fileName carries, never a fresh read
        of the path: a file replaced meanwhile cannot slip unchecked bytes in. Never sends the Authorization
        header (upload URLs are pre-signed). Retried on transient failure; a 403 or a past `Expires` raises
        UploadExpiredError so the caller can re-reserve.
        """
        assert self._session is not None and self._upload_limiter is not None, "use AscClient in `async with`"
        try:
            method = str(operation.get("method") or "PUT").upper()
            raw_url = str(operation["url"])
            offset = int(operation.get("offset") or 0)
            length = int(operation["length"])
            op_headers = {
                str(h["name"]): str(h["value"]) for h in (operation.get("requestHeaders") or []) if h.get("name")
            }
        except (KeyError, TypeError, ValueError, AttributeError):
            raise ApiError("App Store Connect sent a malformed upload operation (no url or length)") from None
        # Belt and braces: whatever the operation says, no credentials go to the upload host.
        op_headers = {k: v for k, v in op_headers.items() if k.lower() not in ("authorization", "cookie")}
        shown = redact_url(raw_url)
        if _expired(raw_url):
            raise UploadExpiredError(
                f"{method} {shown}: the upload URL has expired; reserve the image again to get fresh upload operations",
                status=403, method=method, url=shown,
            )
        if offset < 0 or length < 0 or offset + length > len(content):
            raise ApiError(
                f"{method} {shown}: the upload operation covers bytes {offset}..{offset + length} but the "
                f"file has {len(content)}; reserve the image again", method=method, url=shown,
            )
        chunk = memoryview(content)[offset:offset + length]
        url = URL(raw_url, encoded=True)
        if not any(k.lower() == "content-length" for k in op_headers):
            op_headers["Content-Length"] = str(length)  # sent as it is, not chunked

        async def attempt() -> int:
            assert self._session is not None and self._upload_limiter is not None
            async with held(self._upload_limiter):
                status, content_type, _, raw = await self._exchange(
                    method, url, "upload", shown, data=_pieces(chunk), headers=op_headers
                )
            if 200 <= status < 300:
                self._stats.bytes_uploaded += length
                self._stats.upload_parts += 1
                return length
            if status == 403:
                raise UploadExpiredError(
                    f"{method} {shown} answered 403: the upload URL expired or was revoked; reserve the image "
                    "again to get fresh upload operations",
                    status=403, method=method, url=shown,
                )
            err = build_api_error(status, method, shown, raw, content_type)
            if status == 429:
                # Upload hosts are not the API: back off this part only (the retry wait), no shared pause.
                raise ServerError(str(err), status=status, errors=err.errors, method=method, url=shown)
            raise err

        def on_retry(e: BaseException, attempt_no: int) -> None:
            self._stats.retries += 1
            log.warning("retrying upload part %s after attempt %d: %s", shown, attempt_no, redact_text(str(e)))

        return await self._patiently(lambda policy: call_with_retry(attempt, policy, on_retry=on_retry),
                                     is_transient)

    # -- downloads -------------------------------------------------------------------------------------------
    async def download(self, raw_url: str, *, max_bytes: int = 32 * 1024 * 1024) -> bytes:
        """GET a rendition of an image (an `imageAsset.templateUrl` filled in); returns its bytes.

        Like uploads, never sends the Authorization header (the image host is not the API). https only, except
        a loopback simulator. Retried on transient failure.
        """
        assert self._session is not None, "use AscClient as an async context manager"
        url = URL(raw_url, encoded=True)
        shown = redact_url(raw_url)
        if url.scheme != "https" and not (url.scheme == "http" and _is_loopback(url.host or "")):
            raise ApiError(f"refusing to download {shown}: image URLs must be https (http only on loopback)")

        async def attempt() -> bytes:
            status, content_type, _, raw = await self._exchange("GET", url, "download", shown, headers={})
            if 200 <= status < 300:
                if len(raw) > max_bytes:
                    raise ApiError(f"GET {shown}: {len(raw)} bytes, more than an icon can be; not kept")
                return raw
            raise build_api_error(status, "GET", shown, raw, content_type)

        def on_retry(e: BaseException, attempt_no: int) -> None:
            self._stats.retries += 1
            log.warning("retrying download %s after attempt %d: %s", shown, attempt_no, redact_text(str(e)))

        return await self._patiently(lambda policy: call_with_retry(attempt, policy, on_retry=on_retry),
                                     is_transient)


_SEND_PIECE = 256 * 1024  # bytes of an upload part handed to the socket at a time (see _pieces)


async def _pieces(chunk: memoryview) -> AsyncIterator[memoryview]:
    """An upload part in pieces, no copy made: aiohttp waits for the socket to take each (a part handed over
    whole has its unsent rest copied into the transport's buffer, a megabyte per part in flight). 256 KB, not
    64: each send wakes the receiver, and on the 2-vCPU VM the bench runs on the wake-ups, not the bytes,
    were the cost (a 1,000-icon push spent ≈1 s of its CPU in 8,100 sends; a loopback socket takes 285 MB in
    0.1 s when the reader is kept busy). At most one piece's rest is copied into the transport's buffer."""
    for start in range(0, len(chunk), _SEND_PIECE):
        yield chunk[start:start + _SEND_PIECE]


def _chain(e: BaseException) -> list[BaseException]:
    """`e` and the exceptions it was raised from (aiohttp wraps ssl and socket errors)."""
    seen: list[BaseException] = []
    current: BaseException | None = e
    while current is not None and current not in seen:
        seen.append(current)
        current = current.__cause__ or current.__context__
        if isinstance(e, aiohttp.ClientConnectorError) and len(seen) == 1:
            current = e.os_error
    return seen


def describe_transport_failure(e: BaseException, where: str, host: str | None,
                               request_timeout: float) -> tuple[str, str]:
    """(what happened, what to check) for a request that got no HTTP answer; names host:port."""
    chain = _chain(e)
    if isinstance(e, aiohttp.ClientConnectorDNSError) or any(isinstance(x, socket.gaierror) for x in chain):
        return (f"name not resolved: {host or where} could not be looked up",
                "check the host name in --base-url / BULKGC_BASE_URL, this machine's DNS and any proxy")
    if isinstance(e, aiohttp.ClientConnectorCertificateError) or any(
            isinstance(x, ssl.SSLCertVerificationError) for x in chain):
        return (f"TLS handshake with {where} failed: its certificate is not trusted",
                "check the system's CA certificates and any TLS-intercepting proxy")
    if isinstance(e, aiohttp.ClientSSLError) or any(isinstance(x, ssl.SSLError) for x in chain):
        return (f"TLS handshake with {where} failed",
                "check that --base-url is https to a TLS port (https to a plain-http port fails like this) "
                "and any proxy")
    if any(isinstance(x, ConnectionRefusedError) for x in chain):
        return (f"connection refused by {where}",
                "check the host and port in --base-url / BULKGC_BASE_URL and that the service (or proxy) "
                "is up")
    if isinstance(e, aiohttp.ConnectionTimeoutError):
        return (f"connecting to {where} timed out",
                "check this machine's network, firewall and proxy, and the host in --base-url")
    if isinstance(e, asyncio.TimeoutError | aiohttp.ServerTimeoutError):
        return (f"timed out: no answer from {where} within --request-timeout {request_timeout:g}s",
                "check the network or proxy; a slow service is retried, a longer --request-timeout may help")
    if isinstance(e, aiohttp.ClientConnectorError):
        reason = f"{type(e.os_error).__name__}: {e.os_error.strerror or e.os_error}"
        return (f"cannot connect to {where} ({reason})",
                "check --base-url, this machine's network and any proxy")
    return (f"the connection to {where} failed without an answer ({type(e).__name__})",
            "check the network or proxy")


def _surely_not_applied(e: BaseException) -> bool:
    """True when the server surely did not act on the request, so even a POST may be resent."""
    if isinstance(e, ConnectFailedError | RateLimitedError):
        return True
    return isinstance(e, ServerError) and e.status == 503


def _shown(url: URL, params: Mapping[str, Any] | None = None) -> str:
    """Method-line form of an API URL: path and query (API queries hold no secrets)."""
    text = url.raw_path_qs if url.raw_query_string or not params else url.raw_path
    if params:
        text += ("&" if "?" in text else "?") + "&".join(f"{k}={v}" for k, v in params.items())
    return text


def _expired(url: str) -> bool:
    """True when a pre-signed URL's `Expires` (Unix seconds) lies in the past."""
    try:
        values = parse_qs(urlsplit(url).query).get("Expires") or parse_qs(urlsplit(url).query).get("expires")
        return bool(values) and int(values[0]) < time.time()
    except ValueError:
        return False
