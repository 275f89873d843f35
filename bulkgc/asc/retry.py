"""The retry policy (tenacity): what is retried, how long to back off, when to give up; sleep injectable."""

from __future__ import annotations

import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import anyio
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
)
from tenacity.stop import stop_base

from bulkgc.errors import ApiError, RateLimitedError, ServerError, TransportError

T = TypeVar("T")
Sleep = Callable[[float], Awaitable[Any]]


@dataclass(frozen=True, kw_only=True)
class RetryPolicy:
    """How often and how long one logical request is retried."""

    max_attempts: int = 6  # sends of one request, the first included
    deadline: float = 300.0  # seconds after the first send after which no new attempt starts
    backoff_base: float = 0.5  # first back-off (seconds); doubles per attempt, with jitter
    backoff_max: float = 30.0  # longest single back-off (seconds)
    sleep: Sleep = anyio.sleep  # tests pass an instant sleep


def is_transient(exc: BaseException) -> bool:
    """Errors worth repeating as they are: no answer, 5xx, 429. Other 4xx never are."""
    return isinstance(exc, TransportError | ServerError | RateLimitedError)


def _wait(policy: RetryPolicy) -> Callable[[RetryCallState], float]:
    def wait(state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        # A 429 already paused every request through the shared gate in RateBudget; waiting again here
        # would only double the pause.
        if isinstance(exc, RateLimitedError):
            return 0.0
        # Exponential with full jitter on top, so many tasks failing together do not retry in lockstep.
        backoff = policy.backoff_base * 2 ** (state.attempt_number - 1)
        return min(policy.backoff_max, backoff + random.uniform(0, policy.backoff_base))

    return wait


class _StopBeforeDeadline(stop_base):
    """tenacity's stop_before_delay (the coming back-off counts), timed from the first send: that one is made
    before the retry loop starts."""

    def __init__(self, started: float, deadline: float) -> None:
        self.started = started
        self.deadline = deadline

    def __call__(self, state: RetryCallState) -> bool:
        return time.monotonic() - self.started + state.upcoming_sleep >= self.deadline


async def call_with_retry(
    attempt: Callable[[], Awaitable[T]],
    policy: RetryPolicy,
    *,
    retry_if: Callable[[BaseException], bool] = is_transient,
    on_retry: Callable[[BaseException, int], None] | None = None,
) -> T:
    """Run `attempt` until it returns, raises a non-retryable error, or attempts/deadline run out.

    The last error is re-raised as it is (never tenacity's RetryError), so callers see the ApiError tree.
    """
    started = time.monotonic()

    def retryable(exc: BaseException) -> bool:
        return isinstance(exc, ApiError) and retry_if(exc)

    # the first send goes without the retry machinery (nearly every request is answered at once: building
    # tenacity's state for each one cost a fifth of the client's own CPU per request); only a failure worth
    # repeating enters the loop below, which takes that failure as its first attempt
    try:
        return await attempt()
    except ApiError as exc:
        if not retryable(exc):
            raise
        first: list[BaseException] = [exc]

    async def replay_then_attempt() -> T:
        if first:
            raise first.pop()
        return await attempt()

    def before_sleep(state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        if on_retry is not None and exc is not None:
            on_retry(exc, state.attempt_number)

    retrying = AsyncRetrying(
        sleep=policy.sleep,
        # no attempt starts after the deadline
        stop=stop_after_attempt(max(1, policy.max_attempts)) | _StopBeforeDeadline(started, policy.deadline),
        wait=_wait(policy),
        retry=retry_if_exception(retryable),
        before_sleep=before_sleep,
        reraise=True,
    )
    async for try_ in retrying:
        with try_:
            return await replay_then_attempt()
    raise AssertionError("unreachable: tenacity either returns or re-raises")  # pragma: no cover
