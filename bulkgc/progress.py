"""Progress events emitted by the core, and the sinks the CLI picks from (tqdm, plain log, JSON lines)."""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, TextIO

from bulkgc.redact import redact_text

# Redaction: the brief asked for a local `_redact` until `bulkgc/redact.py` existed; it does now, so this is a
# thin wrapper around it with a fast path (sinks run it thousands of times, and most details are empty).
_SUSPECT_MARKERS = ("eyJ", "-----BEGIN", "earer", "EARER", "://")


def _redact(text: str) -> str:
    """Remove URL query strings, JWT-looking strings, bearer tokens and PEM blocks from `text`."""
    if not text or not any(marker in text for marker in _SUSPECT_MARKERS):
        return text
    return redact_text(text)


# ---------------------------------------------------------------------------------------------------------
# Events and the sink interface
# ---------------------------------------------------------------------------------------------------------

#: Outcomes of a step that the quiet sinks report.
FAILURE_OUTCOMES = frozenset({"failed", "error"})
#: Outcomes of a whole item that count as success.
SUCCESS_ITEM_OUTCOMES = frozenset({"done", "unchanged", "ok", "complete"})


@dataclass(frozen=True)
class Event:
    """One step of one item finished (or was retried): e.g. `image:achievement:com.x.a:fr-FR` `commit` `ok`."""

    time: float  # epoch seconds
    item: str  # journal item key, e.g. "image:leaderboard:com.x.best:fr-FR"
    step: str  # e.g. "reserve", "upload", "commit", "poll", "create", "update"
    outcome: str  # "ok", "retry", "failed", "error", "skipped", ...
    attempt: int = 1
    latency: float | None = None  # seconds the step took
    bytes: int = 0  # bytes sent by this step
    detail: str = ""  # free text; always redacted before it is printed


#: The stages a push goes through, in order; `on_plan(stages=...)` names the item keys each has work for.
STAGES = ("texts", "uploads", "processing")


class ProgressSink(Protocol):
    """Receives progress from the core; called thousands of times, so implementations must be cheap.

    `on_plan` comes once, when the work is known: `stages` maps each of STAGES to the item keys it has work
    for (`texts`: achievements and localizations to write; `uploads`: images to upload; `processing`: images
    App Store Connect has to process), so a sink can show progress per stage without guessing.
    """

    def on_plan(self, *, images: int, bytes_total: int, items: int,
                stages: Mapping[str, Collection[str]] | None = None) -> None: ...

    def on_event(self, e: Event) -> None: ...

    def on_bytes(self, n: int) -> None: ...

    def on_item_done(self, item: str, outcome: str) -> None: ...

    def close(self) -> None: ...


def describe_item(item: str) -> str:
    """Human form of an item key: `image:leaderboard:com.x.a:fr-FR` -> `leaderboard image com.x.a/fr-FR`,
    `achievement:com.x.a` -> `achievement com.x.a`; other strings unchanged."""
    parts = item.split(":")
    if len(parts) == 4:
        return f"{parts[1]} {parts[0]} {parts[2]}/{parts[3]}"
    if len(parts) == 2:
        return f"{parts[0]} {parts[1]}"
    return item


class _UtcClock:
    """Formats epoch seconds as ISO-8601 UTC, caching the last second (sinks format thousands of times)."""

    __slots__ = ("_second", "_text")

    def __init__(self) -> None:
        self._second = -1
        self._text = ""

    def seconds(self, t: float) -> str:
        second = int(t)
        if second != self._second:
            self._second = second
            self._text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
        return self._text + "Z"

    def millis(self, t: float) -> str:
        base = self.seconds(t)[:-1]
        return f"{base}.{int((t - int(t)) * 1000):03d}Z"


def format_bytes(n: float) -> str:
    """`2048` -> `2.0 KiB`."""
    for unit in ("B", "KiB", "MiB"):
        if abs(n) < 1024:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GiB"


class NullSink:
    """Discards everything (library use, tests)."""

    def on_plan(self, *, images: int, bytes_total: int, items: int,
                stages: Mapping[str, Collection[str]] | None = None) -> None:
        pass

    def on_event(self, e: Event) -> None:
        pass

    def on_bytes(self, n: int) -> None:
        pass

    def on_item_done(self, item: str, outcome: str) -> None:
        pass

    def close(self) -> None:
        pass


class LogSink:
    """Plain timestamped lines, one per step outcome, for logs and non-terminals.

    `2026-11-23T14:05:01Z image com.x.a/fr-FR commit ok 0.08s`. The detail is shown for outcomes other than
    `ok` (always when `verbose`); `verbose` also logs byte counts and every finished item.
    """

    def __init__(
        self, stream: TextIO, verbose: bool = False, *, clock: Callable[[], float] = time.time
    ) -> None:
        self._stream = stream
        self._verbose = verbose
        self._clock = clock
        self._utc = _UtcClock()

    def _write(self, line: str) -> None:
        # Flushed per line: an overnight run killed by the farm must leave its last lines in the log.
        self._stream.write(line + "\n")
        self._stream.flush()

    _shows_plan = True

    def _wants_event(self, e: Event) -> bool:
        return True

    def _wants_item(self, outcome: str) -> bool:
        return self._verbose or outcome not in SUCCESS_ITEM_OUTCOMES

    def format_event(self, e: Event) -> str:
        """The log line for one event (without newline)."""
        line = f"{self._utc.seconds(e.time)} {describe_item(e.item)} {e.step} {e.outcome}"
        if e.latency is not None:
            line += f" {e.latency:.2f}s"
        if e.attempt > 1:
            line += f" attempt {e.attempt}"
        if self._verbose and e.bytes:
            line += f" {e.bytes}B"
        if e.detail and (self._verbose or e.outcome != "ok"):
            line += f": {_redact(e.detail)}"
        return line

    def on_plan(self, *, images: int, bytes_total: int, items: int,
                stages: Mapping[str, Collection[str]] | None = None) -> None:
        if self._shows_plan:
            self._write(
                f"{self._utc.seconds(self._clock())} plan {items} items, {images} images, "
                f"{format_bytes(bytes_total)} to upload"
            )

    def on_event(self, e: Event) -> None:
        if self._wants_event(e):
            self._write(self.format_event(e))

    def on_bytes(self, n: int) -> None:
        pass  # per-part events already carry the bytes; a line per chunk would drown the log

    def on_item_done(self, item: str, outcome: str) -> None:
        if self._wants_item(outcome):
            self._write(f"{self._utc.seconds(self._clock())} {describe_item(item)} done {outcome}")

    def close(self) -> None:
        self._stream.flush()


class QuietSink(LogSink):
    """Only failures, in the plain log format (`--quiet`)."""

    def __init__(self, stream: TextIO, *, clock: Callable[[], float] = time.time) -> None:
        super().__init__(stream, verbose=False, clock=clock)

    _shows_plan = False

    def _wants_event(self, e: Event) -> bool:
        return e.outcome in FAILURE_OUTCOMES

    def _wants_item(self, outcome: str) -> bool:
        return outcome in FAILURE_OUTCOMES


class JsonLinesSink:
    """One JSON object per line (`--log-format json`).

    Step lines: `{"event": "step", "time": "2026-11-23T14:05:01.123Z", "item", "step", "attempt", "outcome",
    "latency", "bytes", "detail"}`; also `{"event": "plan", ...}` and `{"event": "item_done", "item",
    "outcome"}`. With `failures_only`, only failed steps and items are written.
    """

    def __init__(
        self, stream: TextIO, *, failures_only: bool = False, clock: Callable[[], float] = time.time
    ) -> None:
        self._stream = stream
        self._failures_only = failures_only
        self._clock = clock
        self._utc = _UtcClock()

    def _write(self, obj: dict[str, Any]) -> None:
        self._stream.write(json.dumps(obj, separators=(",", ":")) + "\n")
        self._stream.flush()

    def on_plan(self, *, images: int, bytes_total: int, items: int,
                stages: Mapping[str, Collection[str]] | None = None) -> None:
        if not self._failures_only:
            self._write(
                {
                    "event": "plan",
                    "time": self._utc.millis(self._clock()),
                    "items": items,
                    "images": images,
                    "bytes_total": bytes_total,
                    "stages": {name: len(keys) for name, keys in (stages or {}).items()},
                }
            )

    def on_event(self, e: Event) -> None:
        if self._failures_only and e.outcome not in FAILURE_OUTCOMES:
            return
        self._write(
            {
                "event": "step",
                "time": self._utc.millis(e.time),
                "item": e.item,
                "step": e.step,
                "attempt": e.attempt,
                "outcome": e.outcome,
                "latency": None if e.latency is None else round(e.latency, 6),
                "bytes": e.bytes,
                "detail": _redact(e.detail),
            }
        )

    def on_bytes(self, n: int) -> None:
        pass

    def on_item_done(self, item: str, outcome: str) -> None:
        if self._failures_only and outcome not in FAILURE_OUTCOMES:
            return
        self._write(
            {"event": "item_done", "time": self._utc.millis(self._clock()), "item": item, "outcome": outcome}
        )

    def close(self) -> None:
        self._stream.flush()


class _StageBar:
    """A tqdm bar over a fixed set of item keys: each counts once, interrupted ones never: it cannot overflow."""

    def __init__(self, bar: Any, keys: Collection[str]) -> None:
        self.bar = bar
        self.keys = frozenset(keys)
        self.counted: set[str] = set()
        self.failed = 0
        self.interrupted = 0

    def count(self, key: str) -> None:
        if key in self.keys and key not in self.counted:
            self.counted.add(key)
            self.bar.update(1)


class TqdmSink:
    """On a terminal: one bar per stage that has work (texts, uploads, processing), counted in items.

    Each bar counts the items the plan gave its stage, each once, so it never runs past its total (a resumed
    run's unchanged or already-done items are not part of any stage); an interrupted item is never counted,
    so a stopped run's bars stay short of 100%. Retries and failures go above the bars via `tqdm.write`.
    `ncols` fixes the width (tests; otherwise the terminal's, followed as it is resized).
    """

    def __init__(self, stream: TextIO, *, ncols: int | None = None) -> None:
        from tqdm import tqdm  # imported here: only terminals pay for it

        self._tqdm = tqdm
        self._stream = stream
        self._ncols = ncols
        self._log = LogSink(stream)
        self._bars: dict[str, _StageBar] = {}
        self._sent = 0

    def on_plan(self, *, images: int, bytes_total: int, items: int,
                stages: Mapping[str, Collection[str]] | None = None) -> None:
        width = max(len(name) for name in STAGES)
        for name in STAGES:
            keys = (stages or {}).get(name) or ()
            if not keys:
                continue  # no bar sitting at 0% for a stage without work
            bar = self._tqdm(
                total=len(keys), desc=name.ljust(width), unit="item", file=self._stream,
                ncols=self._ncols, dynamic_ncols=self._ncols is None, position=len(self._bars), leave=True,
                # the ETA follows recent speed: the first seconds of a stage are not typical of the rest
                smoothing=0.1, mininterval=0.2,
            )
            self._bars[name] = _StageBar(bar, keys)

    def _postfix(self, stage: _StageBar, name: str) -> None:
        parts = []
        if name == "uploads" and self._sent:
            parts.append(f"{format_bytes(self._sent)} sent")
        if stage.failed:
            parts.append(f"{stage.failed} failed")
        if stage.interrupted:
            parts.append(f"{stage.interrupted} interrupted")
        stage.bar.set_postfix_str(", ".join(parts), refresh=False)

    def on_event(self, e: Event) -> None:
        if e.outcome != "ok":
            self._tqdm.write(self._log.format_event(e), file=self._stream)
        elif e.step == "commit" and "uploads" in self._bars:
            self._bars["uploads"].count(e.item)  # uploaded: its parts are sent and committed

    def on_bytes(self, n: int) -> None:
        self._sent += n
        if "uploads" in self._bars:
            self._postfix(self._bars["uploads"], "uploads")

    def on_item_done(self, item: str, outcome: str) -> None:
        if outcome in FAILURE_OUTCOMES:
            self._tqdm.write(f"{describe_item(item)} {outcome}", file=self._stream)
        for name, stage in self._bars.items():
            if item not in stage.keys or item in stage.counted:
                continue
            if outcome == "interrupted":
                stage.interrupted += 1
            else:
                stage.failed += 1 if outcome in FAILURE_OUTCOMES else 0
                stage.count(item)
            self._postfix(stage, name)  # shown at the next redraw (tqdm redraws at most every mininterval)

    def close(self) -> None:
        # top bar first: a closing bar is drawn where the cursor is (the top line) and the others move up one
        for stage in self._bars.values():
            stage.bar.close()


class MultiSink:
    """Forwards every call to each of `sinks` (e.g. tqdm on the terminal plus JSON lines to a file)."""

    def __init__(self, *sinks: ProgressSink) -> None:
        self._sinks = sinks

    def on_plan(self, *, images: int, bytes_total: int, items: int,
                stages: Mapping[str, Collection[str]] | None = None) -> None:
        for sink in self._sinks:
            sink.on_plan(images=images, bytes_total=bytes_total, items=items, stages=stages)

    def on_event(self, e: Event) -> None:
        for sink in self._sinks:
            sink.on_event(e)

    def on_bytes(self, n: int) -> None:
        for sink in self._sinks:
            sink.on_bytes(n)

    def on_item_done(self, item: str, outcome: str) -> None:
        for sink in self._sinks:
            sink.on_item_done(item, outcome)

    def close(self) -> None:
        for sink in self._sinks:
            sink.close()


class JsonLogHandler(logging.Handler):
    """Library log records (e.g. the client's retry warnings) as JSON lines, so a JSON log stays pure JSON.

    `{"event": "log", "time", "level", "logger", "message"}`, message redacted.
    """

    def __init__(self, stream: TextIO, level: int = logging.WARNING) -> None:
        super().__init__(level)
        self._stream = stream
        self._utc = _UtcClock()

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = json.dumps({"event": "log", "time": self._utc.millis(record.created), "level": record.levelname,
                               "logger": record.name, "message": _redact(record.getMessage())},
                              separators=(",", ":"))
            self._stream.write(line + "\n")
            self._stream.flush()
        except Exception:  # noqa: BLE001 - logging must never break the run
            self.handleError(record)


def install_log_handler(
    *, stream: TextIO | None = None, log_format: str = "auto", quiet: bool = False
) -> logging.Handler:
    """Route the `bulkgc` loggers to `stream` in the run's log format (warnings; errors only when quiet)."""
    stream = sys.stderr if stream is None else stream
    level = logging.ERROR if quiet else logging.WARNING
    handler: logging.Handler
    if log_format == "json":
        handler = JsonLogHandler(stream, level)
    else:
        handler = logging.StreamHandler(stream)
        handler.setLevel(level)
        # UTC with its zone, like every other timestamp bulkgc prints
        formatter = logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%Y-%m-%dT%H:%M:%SZ")
        formatter.converter = time.gmtime
        handler.setFormatter(formatter)
    logger = logging.getLogger("bulkgc")
    for old in [h for h in logger.handlers if getattr(h, "_bulkgc_cli", False)]:
        logger.removeHandler(old)
    handler._bulkgc_cli = True  # type: ignore[attr-defined]
    logger.addHandler(handler)
    logger.propagate = False  # one line per record: not again through the root logger's last resort
    if logger.level == logging.NOTSET or logger.level > level:
        logger.setLevel(level)
    return handler


def choose_sink(
    *, stream: TextIO | None = None, log_format: str = "auto", quiet: bool = False
) -> ProgressSink:
    """The sink for the CLI: `auto` is tqdm on a terminal, plain lines otherwise; `quiet` keeps failures."""
    stream = sys.stderr if stream is None else stream
    if log_format not in ("auto", "plain", "json"):
        raise ValueError(f"log_format must be 'auto', 'plain' or 'json', not {log_format!r}")
    if log_format == "json":
        return JsonLinesSink(stream, failures_only=quiet)
    if quiet:
        return QuietSink(stream)
    if log_format == "auto" and _isatty(stream):
        return TqdmSink(stream)
    return LogSink(stream)


def _isatty(stream: TextIO) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False
