"""The retry policy (tenacity): what is retried, how long to back off, when to give up; sleep injectable."""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import anyio
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    stop_before_delay,
)

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

    def before_sleep(state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        if on_retry is not None and exc is not None:
            on_retry(exc, state.attempt_number)

    retrying = AsyncRetrying(
        sleep=policy.sleep,
        # stop_before_delay counts the coming back-off: no attempt starts after the deadline
        stop=stop_after_attempt(max(1, policy.max_attempts)) | stop_before_delay(policy.deadline),
        wait=_wait(policy),
        retry=retry_if_exception(lambda e: isinstance(e, ApiError) and retry_if(e)),
        before_sleep=before_sleep,
        reraise=True,
    )
    async for try_ in retrying:
        with try_:
            return await attempt()
    raise AssertionError("unreachable: tenacity either returns or re-raises")  # pragma: no cover
