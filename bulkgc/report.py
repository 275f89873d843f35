"""What a run did: the human summary, the JSON report (schema bulkgc-report/1) and JUnit XML for CI."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import re
import socket
import tempfile
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bulkgc.progress import format_bytes
from bulkgc.redact import redact_text

REPORT_SCHEMA = "bulkgc-report/1"
#: outcomes of an item, in the order summaries list them
# "blocked": App Store Connect cannot take the change now (e.g. the version is in review); counts as not done.
OUTCOMES = ("done", "unchanged", "failed", "blocked", "skipped", "interrupted")

# What to do about Apple's error codes, most specific prefix first (codes are hierarchical, dot-separated).
_ADVICE: tuple[tuple[str, str], ...] = (
    (
        "VERSION_NOT_EDITABLE",
        "the item's latest version is in review or waiting for release; run again once it is LIVE "
        "(bulkgc then creates a new version) or rejected",
    ),
    (
        "ATTRIBUTE_NOT_EDITABLE_AFTER_RELEASE",
        "that setting cannot change once the item is live; put the live value back in the manifest, or create a "
        "new item with a new vendor_identifier",
    ),
    (
        "PROCESSING_TIMEOUT",
        "App Store Connect did not finish processing in time; run the same command again later",
    ),
    (
        "ENTITY_ERROR.ATTRIBUTE.INVALID.DUPLICATE",
        "the value already exists remotely; make it unique in the manifest",
    ),
    ("ENTITY_ERROR.ATTRIBUTE", "fix the named attribute in the manifest, then run again"),
    ("ENTITY_ERROR.RELATIONSHIP", "the parent resource is missing or wrong; run again (it is re-read first)"),
    ("ENTITY_ERROR", "App Store Connect rejected the values; fix them in the manifest and run again"),
    ("STATE_ERROR", "the resource is in a state that forbids this change (e.g. live); change it in App Store "
                    "Connect or leave it out of the manifest"),
    ("RATE_LIMIT_EXCEEDED", "the hourly API budget ran out; run again later (finished items are skipped)"),
    ("NOT_AUTHORIZED", "the API key was rejected; check key id, issuer id and the .p8 file"),
    ("FORBIDDEN_ERROR", "the API key's role cannot do this; use an App Manager or Admin key"),
    ("NOT_FOUND", "the resource is gone remotely; run again to re-create it"),
    ("PARAMETER_ERROR", "bulkgc sent a bad parameter; please report this with the JSON report"),
    ("IMAGE_", "fix the icon file (size, format, dimensions) and run again"),
)
_GENERIC_ADVICE = "run the same command again to retry; finished items are skipped"
# XML 1.0 cannot carry most control characters; Apple's texts and file names have been seen with them.
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


@dataclass
class ItemResult:
    """The outcome of one item (achievement, leaderboard, ...), localization or image in a run."""

    kind: str  # the level: the item's own kind ("achievement", "leaderboard", ...) | "localization" | "image"
    vendor_identifier: str
    locale: str | None = None  # None for the item itself
    action: str = "none"  # "create" | "update" | "upload" | "replace" | "delete" | "none"
    outcome: str = "done"  # one of OUTCOMES
    image_id: str | None = None
    final_state: str | None = None  # e.g. Apple's assetDeliveryState COMPLETE / FAILED
    error_codes: list[str] = field(default_factory=list)  # Apple's codes
    message: str = ""  # what went wrong and what to do (redacted when written)
    attempts: int = 0
    started: float | None = None  # epoch seconds
    finished: float | None = None
    timings: dict[str, float] = field(default_factory=dict)  # seconds per step, e.g. {"upload": 1.2}
    item_kind: str = "achievement"  # the Game Center kind this row belongs to (vendor ids are unique per kind)

    @property
    def name(self) -> str:
        """`vendor[locale]`, or `vendor` for the item itself."""
        return f"{self.vendor_identifier}[{self.locale}]" if self.locale else self.vendor_identifier

    @property
    def label(self) -> str:
        """What the row is: `achievement`, or `leaderboard image` for one of a leaderboard's images."""
        return self.kind if self.kind == self.item_kind else f"{self.item_kind} {self.kind}"

    @property
    def duration(self) -> float:
        """Seconds from start to finish, 0 when unknown."""
        if self.started is None or self.finished is None:
            return 0.0
        return max(0.0, self.finished - self.started)


@dataclass
class RunReport:
    """Everything a run did, for the summary, the JSON report and JUnit."""

    command: str
    started: float
    finished: float
    items: list[ItemResult] = field(default_factory=list)
    # requests_by_method, requests_by_purpose, rate_limited (429s), retries, token_renewals, bytes_uploaded
    totals: dict[str, Any] = field(default_factory=dict)
    exit_code: int = 0
    interrupted: bool = False
    resume_hint: str = ""  # e.g. "bulkgc push manifests/game.toml"

    @property
    def duration(self) -> float:
        """Seconds the run took."""
        return max(0.0, self.finished - self.started)

    def counts_by_outcome(self) -> dict[str, int]:
        """Items per outcome: every known outcome (0 when none), then any other outcome seen."""
        counts = dict.fromkeys(OUTCOMES, 0)
        for item in self.items:
            counts[item.outcome] = counts.get(item.outcome, 0) + 1
        return counts

    def failures(self) -> list[ItemResult]:
        """The items that failed or could not be applied (blocked)."""
        return [item for item in self.items if item.outcome in ("failed", "blocked")]


def advice_for(codes: list[str]) -> str:
    """What to do about an item that failed with Apple's `codes`."""
    for code in codes:
        for prefix, advice in _ADVICE:
            if code == prefix or code.startswith(prefix if prefix.endswith("_") else prefix + "."):
                return advice
    return _GENERIC_ADVICE


def _format_duration(seconds: float) -> str:
    seconds = round(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes:02d}m {secs:02d}s"
    if minutes:
        return f"{minutes}m {secs:02d}s"
    return f"{secs}s"


def format_summary(report: RunReport) -> str:
    """The human summary printed at the end of a run."""
    counts = report.counts_by_outcome()
    shown = ", ".join(f"{n} {outcome}" for outcome, n in counts.items() if n) or "nothing to do"
    took = _format_duration(report.duration)
    lines = [f"bulkgc {report.command}: {len(report.items)} items in {took}: {shown}"]

    totals = report.totals
    by_method: dict[str, int] = totals.get("requests_by_method") or {}
    requests = f"{sum(by_method.values())} requests"
    if by_method:
        requests += " (" + ", ".join(f"{m} {n}" for m, n in sorted(by_method.items())) + ")"
    requests += (
        f"; 429 rate limited: {totals.get('rate_limited', 0)}; retries: {totals.get('retries', 0)}"
        f"; token renewals: {totals.get('token_renewals', 0)}"
    )
    if totals.get("bytes_uploaded"):
        requests += f"; uploaded {format_bytes(totals['bytes_uploaded'])}"
    lines.append(requests)
    fixed = totals.get("icons_fixed") or []
    if fixed:
        lines.append(f"{len(fixed)} icon(s) uploaded as --fix-icons copies (your files are unchanged):")
        lines += [f"  - {f['file']}: {', '.join(f['fixes'])}" for f in fixed[:20]]
        if len(fixed) > 20:
            lines.append(f"  ... and {len(fixed) - 20} more (the JSON report lists all)")

    failures = report.failures()
    if failures:
        lines.append(f"{len(failures)} failed:")
        for item in failures:
            codes = ", ".join(item.error_codes) or "no error code"
            head = f"  - {item.label} {item.name}: {codes}"
            if item.final_state:
                head += f" (state {item.final_state})"
            lines.append(head)
            if item.message:
                lines.append(f"      {redact_text(item.message)}")
            lines.append(f"      what to do: {advice_for(item.error_codes)}")
    if report.interrupted:
        hint = report.resume_hint or f"bulkgc {report.command}"
        if hint.startswith("bulkgc "):  # a command line, rather than a sentence
            hint = f"run `{hint}` again to resume; finished items and uploaded parts are kept"
        lines.append(f"Interrupted: {hint}.")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------------------
# Files
# ---------------------------------------------------------------------------------------------------------


def _write_atomic(path: str | os.PathLike[str], data: bytes) -> None:
    """Write `data` to `path` 0600: a temp file in the same folder, fsync, then os.replace."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")  # 0600
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    with contextlib.suppress(OSError):  # make the rename itself durable
        dir_fd = os.open(target.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def _iso(t: float | None) -> str | None:
    if t is None:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + f".{int((t % 1) * 1000):03d}Z"


def report_to_dict(report: RunReport) -> dict[str, Any]:
    """The JSON report's shape (schema `bulkgc-report/1`).

    ```
    {"schema": "bulkgc-report/1", "command": str, "started": epoch, "finished": epoch,
     "started_iso": str, "finished_iso": str, "duration": seconds, "exit_code": int, "interrupted": bool,
     "resume_hint": str, "counts": {outcome: n}, "totals": {...},
     "items": [{"kind", "vendor_identifier", "locale", "action", "outcome", "image_id", "final_state",
                "error_codes", "message", "attempts", "started", "finished", "timings", "item_kind"}]}
    ```
    Fields are only ever added within schema version 1; a rename or removal bumps it.
    """
    items = []
    for item in report.items:
        entry = dataclasses.asdict(item)
        entry["message"] = redact_text(item.message)
        items.append(entry)
    return {
        "schema": REPORT_SCHEMA,
        "command": report.command,
        "started": report.started,
        "finished": report.finished,
        "started_iso": _iso(report.started),
        "finished_iso": _iso(report.finished),
        "duration": round(report.duration, 3),
        "exit_code": report.exit_code,
        "interrupted": report.interrupted,
        "resume_hint": report.resume_hint,
        "counts": report.counts_by_outcome(),
        "totals": report.totals,
        "items": items,
    }


def write_json_report(report: RunReport, path: str | os.PathLike[str]) -> None:
    """Write the JSON report (see `report_to_dict`) atomically, mode 0600."""
    text = json.dumps(report_to_dict(report), indent=2, sort_keys=False, default=str) + "\n"
    _write_atomic(path, text.encode())


def read_json_report(path: str | os.PathLike[str]) -> RunReport:
    """Read a report written by `write_json_report`; ValueError for another schema."""
    data = json.loads(Path(path).read_text())
    if data.get("schema") != REPORT_SCHEMA:
        raise ValueError(f"{path} is not a {REPORT_SCHEMA} report (schema {data.get('schema')!r})")
    item_fields = {f.name for f in dataclasses.fields(ItemResult)}
    return RunReport(
        command=data["command"],
        started=data["started"],
        finished=data["finished"],
        items=[ItemResult(**{k: v for k, v in item.items() if k in item_fields}) for item in data["items"]],
        totals=data["totals"],
        exit_code=data["exit_code"],
        interrupted=data["interrupted"],
        resume_hint=data["resume_hint"],
    )


def _xml_text(text: str) -> str:
    return _XML_ILLEGAL.sub("?", redact_text(text))


def write_junit(report: RunReport, path: str | os.PathLike[str]) -> None:
    """Write JUnit XML (one `<testsuite>` in `<testsuites>`, one `<testcase>` per item) atomically, mode 0600.

    Failed items are `<failure>` carrying Apple's codes; skipped and interrupted items are `<skipped/>`;
    done and unchanged items pass. `errors` is always 0: every item problem is reported as a failure.
    """
    counts = report.counts_by_outcome()
    skipped = counts.get("skipped", 0) + counts.get("interrupted", 0)
    suite_attrs = {
        "name": f"bulkgc {report.command}",
        "tests": str(len(report.items)),
        "failures": str(counts.get("failed", 0) + counts.get("blocked", 0)),
        "errors": "0",
        "skipped": str(skipped),
        "time": f"{report.duration:.3f}",
    }
    root = ET.Element("testsuites", dict(suite_attrs))
    suite = ET.SubElement(
        root,
        "testsuite",
        {
            **suite_attrs,
            "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(report.started)),
            "hostname": socket.gethostname(),
        },
    )
    for item in report.items:
        case = ET.SubElement(
            suite,
            "testcase",
            {
                "classname": "bulkgc." + item.label.replace(" ", "."),
                "name": _xml_text(item.name),
                "time": f"{item.duration:.3f}",
            },
        )
        if item.outcome in ("failed", "blocked"):
            codes = ", ".join(item.error_codes) or "no error code"
            failure = ET.SubElement(
                case,
                "failure",
                {"message": _xml_text(f"{codes}: {item.message}" if item.message else codes), "type": codes},
            )
            details = [
                f"codes: {codes}",
                f"action: {item.action}",
                f"attempts: {item.attempts}",
                f"final state: {item.final_state or '-'}",
                f"image id: {item.image_id or '-'}",
                f"message: {item.message}",
                f"what to do: {advice_for(item.error_codes)}",
            ]
            failure.text = _xml_text("\n".join(details))
        elif item.outcome in ("skipped", "interrupted"):
            reason = "interrupted; run again to resume" if item.outcome == "interrupted" else item.message
            ET.SubElement(case, "skipped", {"message": _xml_text(reason or "skipped")})
        elif item.outcome == "unchanged":
            ET.SubElement(case, "system-out").text = "unchanged: already up to date"
    ET.indent(root)
    data = ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"
    _write_atomic(path, data)
