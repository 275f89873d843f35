"""Fixtures of the resume tests: a simulator process with persistent state per test."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from crashbed import SimProc  # noqa: E402


@pytest.fixture
def sim_proc(tmp_path: Path) -> Iterator[SimProc]:
    sim = SimProc(tmp_path, "6446000001").start()
    try:
        yield sim
    finally:
        sim.stop()
