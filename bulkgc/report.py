"""What a run did: the human summary, the JSON report (schema bulkgc-report/2) and JUnit XML for CI."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
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

from bulkgc.errors import OutputPathError
from bulkgc.progress import format_bytes
from bulkgc.redact import redact_text

REPORT_SCHEMA = "bulkgc-report/2"
#: outcomes of an item, in the order summaries list them
# "blocked": App Store Connect cannot take the change now (e.g. the version is in review); counts as not done.
OUTCOMES = ("done", "unchanged", "failed", "blocked", "skipped", "interrupted")

# What to do about Apple's error codes, most specific prefix first (codes are hierarchical, dot-separated).
_ADVICE: tuple[tuple[str, str], ...] = (
    (
        "NOT_PUSHED",
        "App Store Connect does not hold what the manifest says yet; run `bulkgc push` (or "
        "`bulkgc push --submit`), then submit",
    ),
    (
        "IMAGE_NOT_COMPLETE",
        "the image is still processing or was never committed; run `bulkgc push` to finish it, then submit again",
    ),
    (
        "FIRST_TIME_NEEDS_APP_VERSION",
        "App Review takes a Game Center item's first version only together with an app version: add the app "
        "version to the submission in App Store Connect and send it there",
    ),
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
        "INVALID_IMAGE",
        "the icon's pixel data is damaged (it was not uploaded; everything else was pushed): export or copy the "
        "file again, then run the same command again",
    ),
    (
        "PROCESSING_TIMEOUT",
        "App Store Connect did not finish processing in time; run the same command again later",
    ),
    (
        "ENTITY_ERROR.ATTRIBUTE.INVALID.DUPLICATE",
        "another run or person created it in App Store Connect after this run read the state (e.g. a "
        "second bulkgc with its own journal); run the same command again: it re-reads App Store Connect and "
        "converges. "
        "Only if it persists is the value taken by something outside the manifest (an achievement id, once "
        "used, stays taken even after deletion): then choose another",
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
    # What the HTML report shows; generic over Game Center kinds (none of it names an achievement field).
    gc_kind: str = "achievement"  # the Game Center kind the item belongs to (cards are grouped by it)
    file: str | None = None  # images: the local icon file
    digest: str | None = None  # images: sha256 (hex) of the local icon file
    previous_digest: str | None = None  # images replaced: content digest of the remote image it replaced
    changes: dict[str, list[str | None]] = field(default_factory=dict)  # attribute -> [old, new] (texts)
    container_state: str | None = None  # state of the version holding the item, e.g. WAITING_FOR_REVIEW

    @property
    def name(self) -> str:
        """`vendor[locale]`, or `vendor` for the item itself."""
        return f"{self.vendor_identifier}[{self.locale}]" if self.locale else self.vendor_identifier

    @property
    def label(self) -> str:
        """What the row is: `achievement`, or `leaderboard image` for one of a leaderboard's images."""
        return self.kind if self.kind == self.gc_kind else f"{self.gc_kind} {self.kind}"

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
    target: dict[str, str] = field(default_factory=dict)  # where it was sent: base_url, app_id, api, key_id
    stop_reason: str = ""  # why the run stopped early unasked (e.g. an outage beyond --outage-patience)

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
        lines.append(f"{len(fixed)} icon(s) pushed as their --fix-icons copies (your files are unchanged):")
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
    if report.stop_reason:
        lines.append(f"Stopped: {redact_text(report.stop_reason)}")
    if report.interrupted:
        hint = report.resume_hint or f"bulkgc {report.command}"
        if hint.startswith("bulkgc "):  # a command line, rather than a sentence
            hint = f"run `{hint}` again to resume; finished items and uploaded parts are kept"
        lines.append(f"Interrupted: {hint}.")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------------------
# Files
# ---------------------------------------------------------------------------------------------------------


def check_output_path(path: str | os.PathLike[str], flag: str) -> None:
    """Refuse (OutputPathError) an output path that could not be written at the end of the run, before it starts.

    The file itself is not created (a refused run leaves nothing behind); a missing folder is created when the
    report is written, so the nearest existing ancestor must be a writable directory.
    """
    target = Path(path)
    fix = f"pass {flag} a file path in a writable folder"
    if target.is_dir():
        raise OutputPathError(f"{flag} {target}: is a directory, not a file: {fix}, e.g. {target / 'report'}")
    if target.exists() and not os.access(target, os.W_OK):
        raise OutputPathError(f"{flag} {target}: the file exists and cannot be written: fix its permissions or "
                         f"{fix}")
    ancestor = target.absolute().parent
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise OutputPathError(f"{flag} {target}: {ancestor} is not a folder: {fix}")
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise OutputPathError(f"{flag} {target}: the folder {ancestor} cannot be written: {fix}")


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


def iso_time(t: float | None) -> str | None:
    """Epoch seconds as ISO 8601 UTC with milliseconds and zone (`2026-11-23T14:25:01.250Z`); None stays None.

    Every timestamp bulkgc writes for machines (reports, `status --json`, JSON log lines) has this form.
    """
    if t is None:
        return None
    stamp = dt.datetime.fromtimestamp(t, dt.timezone.utc).isoformat(timespec="milliseconds")
    return stamp.replace("+00:00", "Z")


def parse_iso_time(text: str | None) -> float | None:
    """The inverse of `iso_time`."""
    if text is None:
        return None
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def _item_to_dict(item: ItemResult) -> dict[str, Any]:
    entry = {name: getattr(item, name) for name in _ITEM_FIELDS}  # not asdict: no deep copy of every item
    entry["message"] = redact_text(item.message)
    entry["started"], entry["finished"] = iso_time(item.started), iso_time(item.finished)
    return entry


_ITEM_FIELDS = tuple(f.name for f in dataclasses.fields(ItemResult))


def report_to_dict(report: RunReport) -> dict[str, Any]:
    """The JSON report's shape (schema `bulkgc-report/2`).

    ```
    {"schema": "bulkgc-report/2", "command": str, "started": iso, "finished": iso, "duration": seconds,
     "exit_code": int, "interrupted": bool, "resume_hint": str, "stop_reason": str, "target": {"base_url",
     "app_id", "api", "key_id"}, "counts": {outcome: n}, "totals": {...},
     "items": [{"kind", "vendor_identifier", "locale", "action", "outcome", "image_id", "final_state",
                "error_codes", "message", "attempts", "started", "finished", "timings", "gc_kind", "file",
                "digest", "previous_digest", "changes": {attribute: [old, new]}, "container_state"}]}
    ```
    Keys are snake_case, timestamps ISO 8601 UTC (`iso_time`), durations in seconds: the same conventions as
    `plan --json`, `status --json` and the JSON log. Fields are only ever added within a schema version; a
    rename or removal bumps it (2: timestamps became ISO strings, `started_iso`/`finished_iso` went).
    """
    return {
        "schema": REPORT_SCHEMA,
        "command": report.command,
        "started": iso_time(report.started),
        "finished": iso_time(report.finished),
        "duration": round(report.duration, 3),
        "exit_code": report.exit_code,
        "interrupted": report.interrupted,
        "resume_hint": report.resume_hint,
        "target": report.target,
        "stop_reason": redact_text(report.stop_reason),
        "counts": report.counts_by_outcome(),
        "totals": report.totals,
        "items": [_item_to_dict(item) for item in report.items],
    }


def summary_to_dict(report: RunReport) -> dict[str, Any]:
    """The final summary as one JSON object (`--log-format json`): what `format_summary` says, for machines.

    `{"event": "summary", "time", "command", "exit_code", "interrupted", "duration", "counts", "requests",
    "rate_limited", "retries", "token_renewals", "bytes_uploaded", "failures": [{"kind", "vendor_identifier",
    "locale", "error_codes", "final_state", "message", "advice"}], "resume_hint"}`
    """
    totals = report.totals
    by_method: dict[str, int] = totals.get("requests_by_method") or {}
    return {
        "event": "summary",
        "time": iso_time(report.finished),
        "command": report.command,
        "exit_code": report.exit_code,
        "interrupted": report.interrupted,
        "duration": round(report.duration, 3),
        "counts": report.counts_by_outcome(),
        "requests": sum(by_method.values()),
        "rate_limited": totals.get("rate_limited", 0),
        "retries": totals.get("retries", 0),
        "token_renewals": totals.get("token_renewals", 0),
        "bytes_uploaded": totals.get("bytes_uploaded", 0),
        "failures": [
            {"kind": item.kind, "vendor_identifier": item.vendor_identifier, "locale": item.locale,
             "error_codes": item.error_codes, "final_state": item.final_state,
             "message": redact_text(item.message), "advice": advice_for(item.error_codes)}
            for item in report.failures()
        ],
        "resume_hint": report.resume_hint,
    }


def write_json_report(report: RunReport, path: str | os.PathLike[str]) -> None:
    """Write the JSON report (see `report_to_dict`) atomically, mode 0600."""
    text = json.dumps(report_to_dict(report), indent=2, sort_keys=False, default=str) + "\n"
    _write_atomic(path, text.encode())


#: the last push's JSON report, kept beside the resume journal for `bulkgc status --html`
LAST_REPORT_NAME = "last-report.json"


def last_report_path(journal_path: Path) -> Path:
    """Where a push keeps its report beside the journal `journal_path`."""
    return journal_path.parent / LAST_REPORT_NAME


def save_last_report(report: RunReport, journal_path: Path) -> None:
    """Keep `report` beside the journal (best effort: a report that cannot be kept never fails the push)."""
    text = json.dumps(report_to_dict(report), separators=(",", ":"), default=str)  # for bulkgc, not people
    with contextlib.suppress(OSError):
        _write_atomic(last_report_path(journal_path), text.encode())


# journal item state -> report outcome (any other state is work a run left unfinished)
_OUTCOME_OF_JOURNAL_STATE = {"complete": "done", "failed": "failed", "saved": "done", "created": "done",
                             "new-version": "done"}


def report_from_journal(run: Any, records: list[Any]) -> RunReport:
    """A report rebuilt from the resume journal alone (`run`: its last RunRecord; `records`: its ItemRecords),
    for when the last push left no report (killed before it could write one). The journal knows states, codes
    and digests; it does not know texts or what was unchanged, so those cards say less."""
    items = []
    for r in records:
        outcome = _OUTCOME_OF_JOURNAL_STATE.get(r.state, "interrupted")
        image = r.kind == "image"
        items.append(ItemResult(
            kind=r.kind, vendor_identifier=r.vendor_id, locale=r.locale, action="none", outcome=outcome,
            image_id=r.remote_id, error_codes=list(r.error_codes), attempts=r.attempts,
            final_state=(r.state.upper() if image and outcome != "interrupted" else None),
            message=(r.detail if outcome == "failed" else
                     f"{r.state or 'planned'} when the run stopped; run the same push again to resume"
                     if outcome == "interrupted" else ""),
            digest=r.sha256 if image else None, finished=r.updated_at,
        ))
    settings = getattr(run, "settings", None) or {}
    finished = run.finished if run is not None and run.finished is not None else None
    return RunReport(
        command="push", started=run.started if run is not None else 0.0,
        finished=finished if finished is not None else (run.started if run is not None else 0.0),
        items=items, totals=dict(getattr(run, "totals", None) or {}),
        exit_code=0 if getattr(run, "outcome", None) == "ok" else 1,
        interrupted=run is not None and (run.finished is None or run.outcome == "interrupted"),
        target={k: str(settings[k]) for k in ("base_url", "api") if settings.get(k)},
    )


def read_json_report(path: str | os.PathLike[str]) -> RunReport:
    """Read a report written by `write_json_report`; ValueError for another schema."""
    data = json.loads(Path(path).read_text())
    if data.get("schema") != REPORT_SCHEMA:
        raise ValueError(f"{path} is not a {REPORT_SCHEMA} report (schema {data.get('schema')!r})")
    item_fields = {f.name for f in dataclasses.fields(ItemResult)}
    items = []
    for item in data["items"]:
        fields = {k: v for k, v in item.items() if k in item_fields}
        fields["started"] = parse_iso_time(item["started"])
        fields["finished"] = parse_iso_time(item["finished"])
        items.append(ItemResult(**fields))
    return RunReport(
        command=data["command"],
        started=parse_iso_time(data["started"]) or 0.0,
        finished=parse_iso_time(data["finished"]) or 0.0,
        items=items,
        totals=data["totals"],
        exit_code=data["exit_code"],
        interrupted=data["interrupted"],
        resume_hint=data["resume_hint"],
        target=dict(data.get("target") or {}),
        stop_reason=data.get("stop_reason", ""),
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
            # UTC; JUnit's schema allows no zone designator here (xs:dateTime pattern without one)
            "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(report.started)),
            "hostname": socket.gethostname(),
        },
    )
    if report.stop_reason:
        ET.SubElement(suite, "system-err").text = _xml_text(f"stopped: {report.stop_reason}")
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
            if item.outcome == "interrupted" and report.stop_reason:
                reason = f"interrupted ({report.stop_reason}); run again to resume"
            ET.SubElement(case, "skipped", {"message": _xml_text(reason or "skipped")})
        elif item.outcome == "unchanged":
            ET.SubElement(case, "system-out").text = "unchanged: already up to date"
    ET.indent(root)
    data = ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"
    _write_atomic(path, data)
