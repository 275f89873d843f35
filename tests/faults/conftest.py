"""Fixtures for the fault matrix: the e2e workload helpers, quick back-off, targeted faults."""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "e2e"))

import bulkgc.pipeline  # noqa: E402
from bulkgc.asc.client import ClientConfig  # noqa: E402


@pytest.fixture(autouse=True)
def quick_backoff(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Back-off and 429 pauses of milliseconds (RunSettings has no knob for them; the policy is unchanged)."""
    real = bulkgc.pipeline.client_config

    def client_config(settings: bulkgc.pipeline.RunSettings) -> ClientConfig:
        return dataclasses.replace(real(settings), backoff_base=0.01, backoff_max=0.05)

    monkeypatch.setattr(bulkgc.pipeline, "client_config", client_config)
    yield
