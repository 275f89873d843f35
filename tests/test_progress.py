"""Tests of the progress sinks: output formats, redaction, and which sink the CLI gets."""

from __future__ import annotations

import io
import json
import re
from typing import Any

import pytest

from bulkgc.progress import (
    Event,
    JsonLinesSink,
    LogSink,
    MultiSink,
    NullSink,
    QuietSink,
    TqdmSink,
    _redact,
    choose_sink,
    describe_item,
)

T0 = 1795443901.25  # 2026-11-23T14:25:01.250Z
ITEM = "image:achievement:com.x.a:fr-FR"
JWT = "eyJhbGciOiJFUzI1NiIsImtpZCI6IkFCQyJ9.eyJpc3MiOiJpc3N1ZXIifQ.c2lnbmF0dXJlLWJ5dGVz"
PRESIGNED = "https://store-032.blobstore.example.com/itms/abc.png?uploadId=9&Signature=SECRETSIG&Expires=1"


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def _feed(sink: Any) -> None:
    """A small run: plan, two ok steps, a retry, a failure, items done."""
    images = [ITEM, "image:achievement:com.x.b:de-DE"]
    sink.on_plan(images=2, bytes_total=2048, items=3, stages={"uploads": images, "processing": images})
    sink.on_event(Event(T0, ITEM, "reserve", "ok", latency=0.12))
    sink.on_bytes(1024)
    sink.on_event(Event(T0 + 1, ITEM, "commit", "ok", latency=0.08, bytes=1024))
    other = "image:achievement:com.x.b:de-DE"
    sink.on_event(Event(T0 + 2, other, "upload", "retry", attempt=2, detail=f"503 at {PRESIGNED}"))
    sink.on_event(Event(T0 + 3, other, "poll", "failed", detail="IMAGE_TOO_SMALL"))
    sink.on_item_done(ITEM, "done")
    sink.on_item_done(other, "failed")
    sink.close()


def test_redact_removes_url_queries_jwts_and_pem() -> None:
    """Presigned URL signatures, JWTs, bearer tokens and PEM blocks never survive _redact."""
    text = f"PUT {PRESIGNED} failed; Authorization: Bearer {JWT}; key -----BEGIN PRIVATE KEY-----\nMIGH\n"
    out = _redact(text)
    for secret in ("SECRETSIG", "uploadId", JWT[:20], "MIGH", "PRIVATE KEY-----\n"):
        assert secret not in out
    assert "https://store-032.blobstore.example.com/itms/abc.png" in out
    assert _redact("plain text, no secrets") == "plain text, no secrets"
    assert JWT[:20] not in _redact(f"token={JWT}")


def test_log_sink_lines() -> None:
    """LogSink writes one timestamped line per step outcome in the documented shape."""
    out = io.StringIO()
    _feed(LogSink(out, clock=lambda: T0))
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("2026-11-23T14:25:01Z plan 3 items, 2 images")
    assert lines[1] == "2026-11-23T14:25:01Z achievement image com.x.a/fr-FR reserve ok 0.12s"
    assert lines[2] == "2026-11-23T14:25:02Z achievement image com.x.a/fr-FR commit ok 0.08s"
    assert re.fullmatch(
        r"2026-11-23T14:25:03Z achievement image com\.x\.b/de-DE upload retry attempt 2: 503 at "
        r"https://store-032\.blobstore\.example\.com/itms/abc\.png\?<redacted>",
        lines[3],
    )
    assert lines[4] == "2026-11-23T14:25:04Z achievement image com.x.b/de-DE poll failed: IMAGE_TOO_SMALL"
    assert lines[5].endswith("achievement image com.x.b/de-DE done failed")  # successful items only in verbose mode
    assert len(lines) == 6
    assert "SECRETSIG" not in out.getvalue()


def test_log_sink_verbose_adds_items_and_bytes() -> None:
    """verbose=True also logs bytes and every finished item."""
    out = io.StringIO()
    _feed(LogSink(out, verbose=True))
    text = out.getvalue()
    assert "commit ok 0.08s 1024B" in text
    assert "achievement image com.x.a/fr-FR done done" in text


def test_json_lines_sink_fields() -> None:
    """Every JSON line parses; step lines carry time, item, step, attempt, outcome, latency, bytes, detail."""
    out = io.StringIO()
    _feed(JsonLinesSink(out))
    records = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [r["event"] for r in records] == ["plan"] + ["step"] * 4 + ["item_done"] * 2
    steps = [r for r in records if r["event"] == "step"]
    for r in steps:
        assert set(r) == {"event", "time", "item", "step", "attempt", "outcome", "latency", "bytes", "detail"}
    assert steps[0]["time"] == "2026-11-23T14:25:01.250Z"
    commit = steps[1]
    assert (commit["item"], commit["step"]) == (ITEM, "commit")
    assert (commit["latency"], commit["bytes"]) == (0.08, 1024)
    assert steps[2]["attempt"] == 2
    assert "SECRETSIG" not in steps[2]["detail"] and "<redacted>" in steps[2]["detail"]
    assert steps[3]["latency"] is None
    assert records[0] == {**records[0], "items": 3, "images": 2, "bytes_total": 2048,
                          "stages": {"uploads": 2, "processing": 2}}


def test_json_lines_redacts_jwt() -> None:
    """A JWT in a detail does not reach the JSON output."""
    out = io.StringIO()
    JsonLinesSink(out).on_event(Event(T0, ITEM, "reserve", "error", detail=f"sent {JWT}"))
    assert JWT[:20] not in out.getvalue() and json.loads(out.getvalue())["outcome"] == "error"


def test_quiet_sink_only_failures() -> None:
    """QuietSink prints the failed step and the failed item, nothing else."""
    out = io.StringIO()
    _feed(QuietSink(out))
    lines = out.getvalue().splitlines()
    assert len(lines) == 2
    assert "poll failed: IMAGE_TOO_SMALL" in lines[0] and lines[1].endswith("done failed")


def test_tqdm_sink_bars_and_log_lines() -> None:
    """TqdmSink draws a bar per stage with work and writes retries/failures as lines, redacted."""
    out = _Tty()
    _feed(TqdmSink(out))
    text = out.getvalue()
    assert "uploads" in text and "processing" in text
    assert "texts" not in text  # no bar for a stage without work
    assert "2/2" in text and "1 failed" in text  # both image items counted, the failure shown on the bar
    assert "upload retry attempt 2" in text and "poll failed: IMAGE_TOO_SMALL" in text
    assert "SECRETSIG" not in text


def test_multi_sink_fans_out() -> None:
    """MultiSink forwards to every sink."""
    a, b = io.StringIO(), io.StringIO()
    _feed(MultiSink(LogSink(a), JsonLinesSink(b), NullSink()))
    assert len(a.getvalue().splitlines()) == 6 and len(b.getvalue().splitlines()) == 7


def test_choose_sink() -> None:
    """auto picks plain lines off a terminal and tqdm on one; json and quiet are honoured."""
    assert type(choose_sink(stream=io.StringIO(), log_format="auto", quiet=False)) is LogSink
    assert type(choose_sink(stream=io.StringIO(), log_format="plain", quiet=False)) is LogSink
    tty_sink = choose_sink(stream=_Tty(), log_format="auto", quiet=False)
    assert isinstance(tty_sink, TqdmSink)
    tty_sink.close()
    assert type(choose_sink(stream=_Tty(), log_format="plain", quiet=False)) is LogSink
    assert type(choose_sink(stream=io.StringIO(), log_format="auto", quiet=True)) is QuietSink
    out = io.StringIO()
    quiet_json = choose_sink(stream=out, log_format="json", quiet=True)
    _feed(quiet_json)
    assert [json.loads(line)["outcome"] for line in out.getvalue().splitlines()] == ["failed", "failed"]
    with pytest.raises(ValueError, match="log_format"):
        choose_sink(stream=io.StringIO(), log_format="xml", quiet=False)


def test_describe_item() -> None:
    """Item keys render as `kind level vendor/locale`."""
    assert describe_item("image:leaderboard:com.x.a:fr-FR") == "leaderboard image com.x.a/fr-FR"
    assert describe_item("achievement:com.x.a") == "achievement com.x.a"
    assert describe_item("free text") == "free text"
