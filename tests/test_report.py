"""Tests of the run reports: human summary, JSON report round trip, JUnit XML, file permissions."""

from __future__ import annotations

import json
import stat
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from bulkgc.report import (
    OUTCOMES,
    REPORT_SCHEMA,
    ItemResult,
    RunReport,
    advice_for,
    format_summary,
    read_json_report,
    write_json_report,
    write_junit,
)

T0 = 1795443900.0


def _report(interrupted: bool = False) -> RunReport:
    """A run with one item of each outcome; the failure carries Apple's codes and a presigned URL."""
    items = [
        ItemResult(
            "achievement", "com.x.first_win", None, "create", "done", attempts=1, started=T0, finished=T0 + 1
        ),
        ItemResult("localization", "com.x.first_win", "fr-FR", "none", "unchanged"),
        ItemResult(
            "image",
            "com.x.first_win",
            "de-DE",
            "upload",
            "failed",
            image_id="img-42",
            final_state="FAILED",
            error_codes=["IMAGE_TOO_SMALL", "ENTITY_ERROR.ATTRIBUTE.INVALID"],
            message="Apple rejected the icon <512x512> after https://up.example/x.png?Signature=SECRET",
            attempts=2,
            started=T0 + 1,
            finished=T0 + 3.5,
            timings={"reserve": 0.1, "upload": 1.5, "poll": 0.9},
        ),
        ItemResult("image", "com.x.second", "en-US", "upload", "skipped", message="parent failed"),
        ItemResult("localization", "com.x.fourth", "ja", "update", "blocked", error_codes=["VERSION_NOT_EDITABLE"],
                   message="v1 is IN_REVIEW and cannot change until review ends"),
        ItemResult("image", "com.x.third", "en-US", "upload", "interrupted"),
    ]
    return RunReport(
        command="push",
        started=T0,
        finished=T0 + 192,
        items=items,
        totals={
            "requests_by_method": {"GET": 20, "POST": 6, "PATCH": 2, "PUT": 4},
            "requests_by_purpose": {"read": 18, "poll": 2, "write": 8, "upload": 4},
            "rate_limited": 3,
            "retries": 5,
            "token_renewals": 1,
            "bytes_uploaded": 3 * 1024 * 1024,
        },
        exit_code=4 if interrupted else 1,
        interrupted=interrupted,
        resume_hint="bulkgc push manifests/game.toml" if interrupted else "",
    )


def test_counts_failures_duration() -> None:
    """counts_by_outcome, failures() and duration add up."""
    report = _report()
    assert report.counts_by_outcome() == dict.fromkeys(OUTCOMES, 1)
    assert [f.vendor_identifier for f in report.failures()] == ["com.x.first_win", "com.x.fourth"]
    assert report.duration == 192


def test_summary_mentions_failures_codes_and_totals() -> None:
    """The summary gives counts, each failure with codes and advice, requests by method, 429s, retries."""
    text = format_summary(_report())
    assert "6 items in 3m 12s: 1 done, 1 unchanged, 1 failed, 1 blocked, 1 skipped, 1 interrupted" in text
    codes = "IMAGE_TOO_SMALL, ENTITY_ERROR.ATTRIBUTE.INVALID"
    assert f"image com.x.first_win[de-DE]: {codes} (state FAILED)" in text
    assert "what to do: fix the icon file" in text
    assert "32 requests (GET 20, PATCH 2, POST 6, PUT 4)" in text
    assert "429 rate limited: 3; retries: 5; token renewals: 1; uploaded 3.0 MiB" in text
    assert "SECRET" not in text and "Interrupted" not in text


def test_summary_says_how_to_resume() -> None:
    """An interrupted run's summary tells the user the command that resumes it."""
    text = format_summary(_report(interrupted=True))
    assert "run `bulkgc push manifests/game.toml` again to resume" in text


def test_advice_for_codes() -> None:
    """Advice matches the most specific hierarchical prefix and falls back to a generic hint."""
    assert "another run or person created it" in advice_for(["ENTITY_ERROR.ATTRIBUTE.INVALID.DUPLICATE"])
    assert "attribute" in advice_for(["ENTITY_ERROR.ATTRIBUTE.INVALID.TOO_LONG"])
    assert "later" in advice_for(["RATE_LIMIT_EXCEEDED"])
    assert "run the same command again" in advice_for(["SOMETHING_NEW"])
    assert "run the same command again" in advice_for([])


def test_json_report_round_trip_and_perms(tmp_path: Path) -> None:
    """write_json_report writes bulkgc-report/2, 0600, redacted, ISO times; read_json_report reads it back."""
    path = tmp_path / "out" / "report.json"
    report = _report(interrupted=True)
    write_json_report(report, path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    data = json.loads(path.read_text())
    assert data["schema"] == REPORT_SCHEMA and data["counts"]["failed"] == 1
    assert data["started"] == "2026-11-23T14:25:00.000Z" and data["exit_code"] == 4
    assert data["items"][0]["finished"] == "2026-11-23T14:25:01.000Z"
    assert "SECRET" not in path.read_text()
    back = read_json_report(path)
    assert back.totals == report.totals and back.interrupted and back.resume_hint == report.resume_hint
    assert [i.outcome for i in back.items] == [i.outcome for i in report.items]
    assert back.items[2].error_codes == report.items[2].error_codes
    assert back.items[2].timings == report.items[2].timings
    assert back.items[0] == report.items[0]
    assert list(tmp_path.joinpath("out").iterdir()) == [path]  # no temp file left behind


def test_json_report_rejects_other_schema(tmp_path: Path) -> None:
    """read_json_report refuses a file of another schema."""
    path = tmp_path / "r.json"
    path.write_text(json.dumps({"schema": "something/2"}))
    with pytest.raises(ValueError, match="bulkgc-report/2"):
        read_json_report(path)


def test_json_report_replaces_atomically(tmp_path: Path) -> None:
    """Writing over an existing 0644 report replaces it with a 0600 file."""
    path = tmp_path / "report.json"
    path.write_text("old")
    path.chmod(0o644)
    write_json_report(_report(), path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert json.loads(path.read_text())["schema"] == REPORT_SCHEMA


def test_junit_shape(tmp_path: Path) -> None:
    """JUnit parses, one testcase per item, failures carry codes, skipped/interrupted are <skipped/>."""
    path = tmp_path / "junit.xml"
    write_junit(_report(), path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    root = ET.parse(path).getroot()
    assert root.tag == "testsuites"
    (suite,) = root.findall("testsuite")
    assert suite.get("name") == "bulkgc push"
    counts = [suite.get(name) for name in ("tests", "failures", "errors", "skipped")]
    assert counts == ["6", "2", "0", "2"]  # the blocked item counts as a failure
    assert float(suite.get("time", "0")) == 192
    cases = suite.findall("testcase")
    assert [(c.get("classname"), c.get("name")) for c in cases] == [
        ("bulkgc.achievement", "com.x.first_win"),
        ("bulkgc.achievement.localization", "com.x.first_win[fr-FR]"),
        ("bulkgc.achievement.image", "com.x.first_win[de-DE]"),
        ("bulkgc.achievement.image", "com.x.second[en-US]"),
        ("bulkgc.achievement.localization", "com.x.fourth[ja]"),
        ("bulkgc.achievement.image", "com.x.third[en-US]"),
    ]
    failure = cases[2].find("failure")
    assert failure is not None
    assert "IMAGE_TOO_SMALL" in failure.get("message", "") and "IMAGE_TOO_SMALL" in (failure.text or "")
    assert "ENTITY_ERROR.ATTRIBUTE.INVALID" in (failure.text or "")
    assert "SECRET" not in path.read_text()
    assert float(cases[2].get("time", "0")) == 2.5
    assert [c.find("skipped") is not None for c in cases] == [False, False, False, True, False, True]
    assert cases[4].find("failure") is not None  # blocked: not applied, so not green
    assert all(c.find("failure") is None for i, c in enumerate(cases) if i not in (2, 4))


def test_junit_survives_control_characters(tmp_path: Path) -> None:
    """Control characters in Apple's messages do not make the XML unparseable."""
    item = ItemResult("image", "a", "fr-FR", outcome="failed", message="bad\x00\x1b")
    report = RunReport("push", T0, T0 + 1, [item])
    write_junit(report, tmp_path / "j.xml")
    assert ET.parse(tmp_path / "j.xml").getroot().find("testsuite/testcase/failure") is not None
