"""Session-wide OpenAPI check: every simulator exchange in every test is validated against Apple's spec.

An autouse fixture registers an observer in ``bulkgc.sim.observers`` (called by the simulator once per
finished exchange), runs ``openapi_check.check_exchange`` on each record and fails the test at teardown
listing every violation. Tests that inject deliberately malformed answers opt out with
``@pytest.mark.no_openapi_check``. Until the simulator exposes ``observers`` the fixture does nothing.
Tests marked ``openapi_selftest`` feed the checker broken exchanges on purpose; what they provoke is counted
apart from real violations in the session summary.
"""

from __future__ import annotations

import importlib
import signal
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from openapi_check import STATS, check_exchange, describe_exchange

pytest_plugins = ["pytester"]  # tests/test_openapi_check.py runs this fixture in an inner session

OPT_OUT_MARKER = "no_openapi_check"
SELFTEST_MARKER = "openapi_selftest"


def pytest_configure(config: pytest.Config) -> None:
    """Register the opt-out marker (the suite runs with --strict-markers)."""
    config.addinivalue_line(
        "markers", f"{OPT_OUT_MARKER}: do not validate this test's simulator exchanges against Apple's spec"
    )
    config.addinivalue_line(
        "markers", f"{SELFTEST_MARKER}: this test provokes spec violations on purpose (counted apart)"
    )


@pytest.fixture(autouse=True)
def openapi_selftest_accounting(request: pytest.FixtureRequest) -> Iterator[None]:
    """While a self-test of the checker runs, the violations it provokes are counted as deliberate."""
    before = STATS.selftest
    STATS.selftest = before or request.node.get_closest_marker(SELFTEST_MARKER) is not None
    try:
        yield
    finally:
        STATS.selftest = before


def _sim_observers() -> list[Callable[[Any], None]] | None:
    """``bulkgc.sim.observers`` if the simulator provides it (it is landing in parallel)."""
    try:
        sim = importlib.import_module("bulkgc.sim")
    except ImportError:
        return None
    observers = getattr(sim, "observers", None)
    return observers if isinstance(observers, list) else None


@pytest.fixture(autouse=True)
def openapi_conformance(request: pytest.FixtureRequest) -> Iterator[list[str]]:
    """Collect spec violations of this test's simulator exchanges; fail the test if there are any."""
    violations: list[str] = []
    observers = _sim_observers()
    if observers is None or request.node.get_closest_marker(OPT_OUT_MARKER):
        yield violations
        return

    def observe(record: Any) -> None:
        # Runs inside the simulator's handler: it must never raise into the server.
        try:
            problems = check_exchange(record)
        except Exception as exc:  # noqa: BLE001 - reported as a violation, e.g. the spec is missing
            problems = [f"conformance check crashed: {type(exc).__name__}: {exc}"]
        violations.extend(f"{describe_exchange(record)}: {problem}" for problem in problems)

    observers.append(observe)
    try:
        yield violations
    finally:
        observers.remove(observe)
    if violations:
        listing = "\n  ".join(violations)
        count = len(violations)
        pytest.fail(f"{count} simulator exchange(s) do not conform to Apple's OpenAPI spec:\n  {listing}",
                    pytrace=False)


@pytest.fixture(autouse=True)
def restore_stop_signal_handlers() -> Iterator[None]:
    """`bulkgc push` run in-process ignores SIGINT/SIGTERM once it ends (until its process exits); give the
    test process its own handlers back, so Ctrl-C still stops pytest."""
    saved = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}
    yield
    for signum, handler in saved.items():
        if handler is not None:
            signal.signal(signum, handler)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Show how many exchanges were validated, so the CI log proves the check ran."""
    terminalreporter.write_line(STATS.summary())
