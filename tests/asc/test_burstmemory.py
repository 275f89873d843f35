"""The burst-limit file: per base URL and key id; stale or corrupt entries ignored with a note; atomic."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from bulkgc.asc.burstmemory import MAX_AGE, BurstMemory

URL = "https://api.appstoreconnect.apple.com"


class Clock:
    def __init__(self) -> None:
        self.now = 1_790_000_000.0

    def __call__(self) -> float:
        return self.now


def test_remembered_per_base_url_and_key(tmp_path: Path) -> None:
    """A limit stored for (URL, key) comes back for exactly that pair; other pairs know nothing."""
    clock = Clock()
    mem = BurstMemory(tmp_path / "sub" / "burst-limits.json", clock=clock)
    assert mem.recall(URL, "KEY1") is None
    mem.remember(URL, "KEY1", 6)
    mem.remember("http://127.0.0.1:4000", "KEY1", 3)
    assert mem.recall(URL + "/", "KEY1") == 6
    assert mem.recall("http://127.0.0.1:4000", "KEY1") == 3
    assert mem.recall(URL, "KEY2") is None
    doc = json.loads(mem.path.read_text())
    assert doc["format"] == 1 and doc["limits"][f"{URL} KEY1"]["learned_at"].endswith("Z")
    assert not list(mem.path.parent.glob("*.tmp*"))


def test_stale_entry_ignored_with_a_note(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """An entry older than 7 days is not used (a note says so) and is dropped at the next write."""
    clock = Clock()
    mem = BurstMemory(tmp_path / "burst-limits.json", clock=clock)
    mem.remember(URL, "KEY1", 6)
    clock.now += MAX_AGE + 3600
    with caplog.at_level(logging.WARNING, logger="bulkgc"):
        assert mem.recall(URL, "KEY1") is None
    assert "days ago; ignored" in caplog.text and str(mem.path) in caplog.text
    mem.remember(URL, "KEY2", 4)
    assert list(json.loads(mem.path.read_text())["limits"]) == [f"{URL} KEY2"]


@pytest.mark.parametrize("content", ["{not json", "[]", '{"format": 99, "limits": {}}', "\udcff"])
def test_corrupt_file_ignored_with_a_note(
    tmp_path: Path, content: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A file that is not this JSON (or not UTF-8): recall gives None with one note; remember replaces it."""
    path = tmp_path / "burst-limits.json"
    path.write_bytes(content.encode("utf-8", "surrogateescape"))
    mem = BurstMemory(path)
    with caplog.at_level(logging.WARNING, logger="bulkgc"):
        assert mem.recall(URL, "KEY1") is None
    assert str(path) in caplog.text and "ignored" in caplog.text
    mem.remember(URL, "KEY1", 5)
    assert mem.recall(URL, "KEY1") == 5


@pytest.mark.parametrize("entry", [{"burst_limit": 0, "learned_at": "2026-01-01T00:00:00Z"},
                                   {"burst_limit": "6", "learned_at": "2026-01-01T00:00:00Z"},
                                   {"burst_limit": 6, "learned_at": "yesterday"}, "six"])
def test_malformed_entry_ignored(tmp_path: Path, entry: object, caplog: pytest.LogCaptureFixture) -> None:
    """A non-positive, non-integer or undated limit is ignored with a note naming the key."""
    path = tmp_path / "burst-limits.json"
    path.write_text(json.dumps({"format": 1, "limits": {f"{URL} KEY1": entry}}))
    with caplog.at_level(logging.WARNING, logger="bulkgc"):
        assert BurstMemory(path).recall(URL, "KEY1") is None
    assert "KEY1 is malformed" in caplog.text


def test_unwritable_location_is_a_note_not_an_error(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """A directory in the file's place: remembering fails with a note, nothing raises."""
    path = tmp_path / "burst-limits.json"
    path.mkdir()
    with caplog.at_level(logging.WARNING, logger="bulkgc"):
        BurstMemory(path).remember(URL, "KEY1", 6)
    assert "cannot write the learned burst limit" in caplog.text
