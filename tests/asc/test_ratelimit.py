"""X-Rate-Limit parsing, the budget/pacing decisions and adaptive concurrency (pure, with a fake clock)."""

from __future__ import annotations

import pytest

from bulkgc.asc.ratelimit import AdaptiveConcurrency, RateBudget, RateLimit, parse_rate_limit


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("user-hour-lim:3500;user-hour-rem:500;", (3500, 500)),
        ("user-hour-lim:3500;user-hour-rem:500", (3500, 500)),  # no trailing semicolon
        ("  user-hour-rem : 12 ;  USER-HOUR-LIM: 40 ; ", (40, 12)),  # order, case, whitespace
        ("user-hour-lim:3600;user-hour-rem:3599;user-minute-lim:100;junk;;", (3600, 3599)),  # extra keys
        ("user-hour-lim=10;user-hour-rem=0", (10, 0)),
        ("user-hour-lim:10;user-hour-rem:99", (10, 10)),  # remaining never above the limit
    ],
)
def test_parse_rate_limit_variants(header: str, expected: tuple[int, int]) -> None:
    """Well-formed and sloppy variants parse to (limit, remaining)."""
    rl = parse_rate_limit(header)
    assert rl is not None and (rl.limit, rl.remaining) == expected


def test_parse_rate_limit_keeps_extra_keys() -> None:
    """Unknown keys are kept for inspection."""
    rl = parse_rate_limit("user-hour-lim:1;user-hour-rem:1;user-minute-rem:9")
    assert rl is not None and dict(rl.extra) == {"user-minute-rem": "9"}


@pytest.mark.parametrize(
    "header", [None, "", "garbage", "user-hour-lim:3500;", "user-hour-lim:abc;user-hour-rem:1", "user-hour-lim:0;user-hour-rem:0",
               "user-hour-lim:5;user-hour-rem:-1"]
)
def test_parse_rate_limit_rejects(header: str | None) -> None:
    """Missing, partial or malformed headers give None, never an exception."""
    assert parse_rate_limit(header) is None


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _admit(b: RateBudget, clock: Clock, rl: RateLimit | None = None) -> None:
    """Admit and complete one request synchronously (what acquire/release do, minus the waiting)."""
    assert b.admission_delay() == 0
    b._inflight += 1
    if b._pending:
        b._pending -= 1
    from bulkgc.asc.ratelimit import BudgetTicket

    b.release(BudgetTicket(clock.now), rl)


def test_full_speed_until_limit_known_and_when_work_fits() -> None:
    """No header yet, or remaining work that fits in the headroom: no waiting at all."""
    clock = Clock()
    b = RateBudget(window_seconds=10, margin_fraction=0.0, clock=clock)
    assert b.admission_delay() == 0
    b.update(RateLimit(100, 100))
    b.expect(50)
    for _ in range(50):
        _admit(b, clock)
    assert b.paced_requests == 0


def test_hard_cap_waits_for_oldest_to_leave_window() -> None:
    """With the window full, the next request waits until our oldest request leaves the window."""
    clock = Clock()
    b = RateBudget(window_seconds=10, margin_fraction=0.0, margin_requests=2, clock=clock)
    b.update(RateLimit(10, 10))
    b.expect(8)
    for i in range(8):
        clock.now = 100 + i * 0.1
        _admit(b, clock)
    assert b.capacity() == 8
    delay = b.admission_delay()
    assert delay == pytest.approx(100 + 10 - clock.now)  # the first one (t=100) expires at 110
    clock.now = 110.01
    assert b.admission_delay() == 0


def test_other_tools_usage_shrinks_capacity() -> None:
    """Requests counted by the server but not ours are attributed to other tools and kept free."""
    clock = Clock()
    b = RateBudget(window_seconds=10, margin_fraction=0.1, clock=clock)
    _admit(b, clock, RateLimit(100, 60))  # 40 used, 1 of them ours
    assert b.others() == 39 and b.margin == 10 and b.capacity() == 100 - 10 - 39
    clock.now += 10  # after a whole window others' requests must have expired too
    assert b.others() == 0


def test_headroom_at_full_speed_then_one_request_per_freed_slot() -> None:
    """Work beyond the budget: the headroom goes at once, then each request waits for exactly one freed slot."""
    clock = Clock()
    b = RateBudget(window_seconds=10, margin_fraction=0.0, clock=clock)
    b.update(RateLimit(20, 20))
    b.expect(100)
    assert b.budget_bound
    sent = 0
    while b.admission_delay() == 0:
        _admit(b, clock)
        clock.now += 0.1  # the first window's own pace: one request every 0.1 s
        sent += 1
    assert sent == 20  # no spreading while there is room: spreading would only delay the wall
    # the window is full: the next slot is the first request's (t=100), free at 110
    assert b.admission_delay() == pytest.approx(110 - clock.now)
    clock.now = 110.0
    _admit(b, clock)
    # the second freed slot comes 0.1 s later, as the second request did: the first window's pace, no burst
    assert b.admission_delay() == pytest.approx(0.1)


def test_minimum_time_is_whole_windows_not_an_even_spread() -> None:
    """55 requests, 20 per 10 s window, instant answers: the last goes at 20 s = floor(54/20) windows, not 27.5 s."""
    clock = Clock()
    b = RateBudget(window_seconds=10, margin_fraction=0.0, clock=clock)
    b.update(RateLimit(20, 20))
    b.expect(55)
    times = []
    for _ in range(55):
        clock.now += b.admission_delay()
        times.append(clock.now)
        _admit(b, clock)
    assert times[-1] - times[0] == pytest.approx(20.0)
    assert max(sum(1 for t in times if s <= t < s + 10) for s in times) == 20  # never more than the cap


def test_burst_429_vs_hour_exhausted_pause() -> None:
    """A 429 with budget left is a burst (short back-off); with none left the pause lasts until a slot frees."""
    clock = Clock()
    b = RateBudget(window_seconds=10, margin_fraction=0.0, clock=clock)
    _admit(b, clock, RateLimit(50, 40))
    assert b.is_burst_429(RateLimit(50, 30))
    pause = b.on_429(RateLimit(50, 30), base=0.2, maximum=5)
    assert 0.1 <= pause <= 0.2 and b.admission_delay() == pytest.approx(pause)
    assert b.on_429(RateLimit(50, 30), base=0.2, maximum=5) == pytest.approx(pause)  # same burst: no escalation
    clock.now += pause
    pause2 = b.on_429(RateLimit(50, 30), base=0.2, maximum=5)
    assert 0.2 <= pause2 <= 0.4  # a 429 right after the pause: back off twice as long
    clock.now = 101.0
    assert not b.is_burst_429(RateLimit(50, 0))
    assert b.on_429(RateLimit(50, 0), base=0.2, maximum=30) == pytest.approx(9.0)  # ours leaves at t=110


def test_adaptive_concurrency_halves_once_per_burst_and_recovers() -> None:
    """429s from one burst halve the cap once; successes grow it back one at a time."""
    ac = AdaptiveConcurrency(8, recover_after=3)
    gen = ac.generation
    assert ac.on_burst_429(gen) is True and ac.current == 4
    assert ac.on_burst_429(gen) is False and ac.current == 4  # same burst
    assert ac.on_burst_429(ac.generation) and ac.current == 2
    assert ac.on_burst_429(ac.generation) and ac.current == 1
    assert not ac.on_burst_429(ac.generation) and ac.current == 1  # never below 1
    for _ in range(6):
        ac.on_success()
    assert ac.current == 3 and ac.limiter.total_tokens == 3


def test_burst_429_with_in_flight_count_sets_the_ceiling() -> None:
    """A 429 sent with 7 in flight proves the limit is <= 6: the cap drops to 6 and never grows past it."""
    ac = AdaptiveConcurrency(10, recover_after=2, slow_start=4)
    assert ac.current == 4 and ac.ceiling is None
    for in_flight in (1, 2, 3):  # the cap was not what held these back: no growth
        ac.on_success(in_flight)
    assert ac.current == 4
    for _ in range(4):  # slow start: one more per success sent at the cap
        ac.on_success(ac.current)
    assert ac.current == 8
    assert ac.on_burst_429(ac.generation, in_flight=7) is True
    assert ac.ceiling == 6 and ac.current == 6 and ac.learned_this_run
    assert ac.on_burst_429(ac.generation, in_flight=8) is False and ac.ceiling == 6  # a later, looser bound
    for _ in range(10):
        ac.on_success(ac.current)
    assert ac.current == 6 and ac.limiter.total_tokens == 6


def test_remembered_ceiling_starts_there_and_unknown_limit_starts_small() -> None:
    """A remembered limit is the starting cap (below the maximum); without one the cap slow-starts."""
    assert AdaptiveConcurrency(10, learned=6, slow_start=4).current == 6
    assert AdaptiveConcurrency(5, learned=6, slow_start=4).current == 5
    fresh = AdaptiveConcurrency(10, slow_start=4)
    assert fresh.current == 4 and not fresh.learned_this_run
    lone = AdaptiveConcurrency(10, learned=6)
    assert lone.on_burst_429(lone.generation, in_flight=1) is True and lone.current == 3  # no evidence: halve
    assert lone.ceiling == 6 and not lone.learned_this_run
