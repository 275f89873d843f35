"""The HTML report in headless Chromium: a real CLI push against the simulator that completes, fails (Apple's
processing code, injected by the simulator's faults), replaces an icon and is blocked by a version in review;
`plan --html` before it and `status --html` after it, with the simulator gone."""

from __future__ import annotations

import base64
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from anyio.from_thread import start_blocking_portal
from browser import CardNode, dump_dom, parse_cards, screenshot
from openapi_check import check_exchange, describe_exchange
from PIL import Image
from workload import Workload, localization_id, make_icon, make_workload

from bulkgc.cli import main
from bulkgc.report import last_report_path
from bulkgc.sim import FaultRule, RequestRecord, SimConfig, Simulator, observers
from bulkgc.thumbnails import thumbnail_bytes

LOCALES = ("en-US", "fr-FR")
FAILED_CODE = "IMAGE_ASSET_CORRUPT"
IMAGES = "/v2/gameCenterAchievementImages"
RENAMED = "Renamed <b>& co</b>"  # markup in a text must show as text, never as markup


def fast_sim_config(**overrides: Any) -> SimConfig:
    """A quick simulator (small parts, 50 ms processing). Not imported from tests/e2e/conftest.py: other
    folders' conftest modules shadow that name when several folders run together."""
    return SimConfig(**{"part_size": 16 * 1024, "processing_delay": 0.05, "seed": 7, **overrides})


@dataclass
class Scenario:
    """What the module's runs produced, and what the simulator held after the second push."""

    wl: Workload
    journal: Path
    plan_html: Path
    push_html: Path
    first_html: Path
    status_html: Path
    exit_codes: dict[str, int]
    old_icon: bytes  # the replaced icon's bytes before it changed
    failed_image: dict[str, Any]  # the simulator's record of the image whose processing failed
    replaced_image_bytes: bytes  # what the simulator holds for the replaced localization now
    review_name: str  # the blocked localization's name in the simulator after the push


def _thumb_b64(data: bytes) -> str:
    return base64.b64encode(thumbnail_bytes(data)).decode("ascii")


def _cli(*argv: str) -> int:
    return main(list(argv))


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scenario]:
    """First push -> change two icons and two texts, put a version in review -> `plan --html` -> second push
    (one icon's processing fails) with --report-html -> `status --html` with the simulator gone."""
    tmp = tmp_path_factory.mktemp("html")
    wl = make_workload(tmp / "wl", 3, LOCALES)
    ach0, ach1, ach2 = wl.vendors
    journal = tmp / "journal.sqlite"
    out = {name: tmp / f"{name}.html" for name in ("first", "plan", "push", "status")}
    violations: list[str] = []

    def conformance(record: RequestRecord) -> None:  # the module's exchanges are checked like every test's
        violations.extend(f"{describe_exchange(record)}: {p}" for p in check_exchange(record))

    with pytest.MonkeyPatch.context() as mp, start_blocking_portal() as portal:
        for name in list(os.environ):
            if name.startswith(("ASC_", "BULKGC_")):
                mp.delenv(name)
        with portal.wrap_async_context_manager(Simulator(fast_sim_config(app_id=wl.app_id))) as sim:
            observers.append(conformance)
            try:
                key = str(sim.key.write_p8(tmp / "keys"))
                common = ("--base-url", sim.base_url, "--key-id", sim.key.key_id, "--issuer-id",
                          sim.key.issuer_id, "--private-key-path", key, "--journal", str(journal))
                push = ("push", str(wl.manifest), *common, "--poll-interval", "0.05", "--image-attempts", "1")
                mp.setenv("BULKGC_REPORT_HTML", str(out["first"]))  # the variable works as the flag does
                codes = {"first": _cli(*push)}
                mp.delenv("BULKGC_REPORT_HTML")
                assert out["first"].exists()

                old_icon = wl.icon(ach0, "en-US").read_bytes()
                make_icon(wl.icon(ach0, "en-US"), 100, variant=1)  # replaced, completes
                make_icon(wl.icon(ach1, "fr-FR"), 101, variant=1)  # replaced, processing fails
                wl.set_text(ach1, "en-US", "name", RENAMED)
                wl.set_text(ach2, "fr-FR", "name", "Pendant la revue")
                review = sim.state.latest_version(_achievement_id(sim, ach2))
                assert review is not None
                portal.call(_set_state, sim, review["id"], "WAITING_FOR_REVIEW")

                codes["plan"] = _cli("plan", str(wl.manifest), *common, "--html", str(out["plan"]))

                # fail the processing of exactly ach1/fr-FR's new image: its reservation names its id
                def fail_that_commit(record: RequestRecord) -> None:
                    body = record.request_body or {}
                    name = ((body.get("data") or {}).get("attributes") or {}).get("fileName", "")
                    if record.method == "POST" and record.route == IMAGES and record.status == 201 \
                            and name.startswith("com_example_e2e_ach001.fr-FR."):
                        image_id = record.response_body["data"]["id"]
                        sim.add_fault(FaultRule(kind="fail_processing", method="PATCH", count=1,
                                                code=FAILED_CODE,
                                                path_regex=f"^{IMAGES}/{re.escape(image_id)}$"))

                observers.append(fail_that_commit)
                try:
                    codes["push"] = _cli(*push, "--report-html", str(out["push"]))
                finally:
                    observers.remove(fail_that_commit)
                failed = [i for i in sim.state.images() if (i.get("result") or {}).get("state") == "FAILED"]
                assert len(failed) == 1, failed
                replaced = sim.state.image_of(localization_id(sim, ach0, "en-US"))
                assert replaced is not None
                replaced_bytes = sim.state.image_bytes(replaced["id"])
                review_locs = sim.state.localizations_of(review["id"])
                review_name = next(loc["name"] for loc in review_locs if loc["locale"] == "fr-FR")
            finally:
                observers.remove(conformance)
        mp.setenv("BULKGC_BASE_URL", "http://127.0.0.1:9")  # nothing listens: status must not need it
        codes["status"] = _cli("status", str(wl.manifest), "--journal", str(journal),
                               "--html", str(out["status"]))
    assert violations == [], "exchanges not conforming to Apple's spec:\n" + "\n".join(violations)
    yield Scenario(wl, journal, out["plan"], out["push"], out["first"], out["status"], codes, old_icon,
                   failed[0], replaced_bytes, review_name)


def _achievement_id(sim: Simulator, vendor: str) -> str:
    found = (a["id"] for a in sim.state.achievements() if a["attributes"]["vendorIdentifier"] == vendor)
    return str(next(found))


async def _set_state(sim: Simulator, version_id: str, state: str) -> None:
    sim.state.set_version_state(version_id, state)


def _by_name(cards: list[CardNode]) -> dict[tuple[str, str], CardNode]:
    return {(c["vendor"], c["locale"]): c for c in cards}


def _src_b64(img: dict[str, str]) -> str:
    assert img["src"].startswith("data:image/"), img["src"][:40]
    return img["src"].split(",", 1)[1]


def assert_self_contained(page: Path) -> None:
    """Nothing in the page makes the browser fetch anything: every src is a data: URI, no href leaves the
    page, no CSS url(), no @import; the Content-Security-Policy forbids the rest."""
    text = page.read_text(encoding="utf-8")
    attribute = r"""(?<![\w-])(?:src|href|srcset|action|poster|data)\s*=\s*["']?([^"'\s>]*)"""
    refs = re.findall(attribute, text, re.I)
    assert refs, "the page has no images at all"
    assert [r for r in refs if not r.startswith(("data:", "#"))] == []
    assert not re.search(r"""url\(\s*["']?\s*(?!data:)""", text, re.I)
    assert "@import" not in text and "<link" not in text.lower() and "<iframe" not in text.lower()
    assert not re.search(r"""["'(]\s*(?:https?:)?//""", text.replace(">http://127.0.0.1:", ">"))
    assert "default-src 'none'" in text


def test_push_report_shows_one_card_per_localization_with_state_code_and_thumbnails(
    scenario: Scenario, tmp_path: Path,
) -> None:
    """Push report in Chromium: a card per localization, right states and codes, failures first, old/new."""
    assert scenario.exit_codes == {"first": 0, "plan": 0, "push": 1, "status": 0}
    wl = scenario.wl
    ach0, ach1, ach2 = wl.vendors
    cards, tags = parse_cards(dump_dom(scenario.push_html))
    expected = sorted((v, loc) for v in wl.vendors for loc in LOCALES)
    assert sorted((c["vendor"], c["locale"]) for c in cards) == expected
    by = _by_name(cards)
    states = {k: c["state"] for k, c in by.items()}
    assert states == {(ach0, "en-US"): "complete", (ach0, "fr-FR"): "unchanged", (ach1, "en-US"): "complete",
                      (ach1, "fr-FR"): "failed", (ach2, "en-US"): "unchanged", (ach2, "fr-FR"): "blocked"}
    assert [c["state"] for c in cards][:2] == ["failed", "blocked"]  # failures first
    assert all(not c.hidden for c in cards)

    failed = by[(ach1, "fr-FR")]
    assert failed["codes"] == FAILED_CODE and FAILED_CODE in failed.text and "FAILED" in failed.text
    assert scenario.failed_image["result"]["errors"][0]["code"] == FAILED_CODE  # what the simulator holds
    assert "What to do:" in failed.text and "fix the icon file" in failed.text

    blocked = by[(ach2, "fr-FR")]
    assert "BLOCKED" in blocked.text and "WAITING_FOR_REVIEW" in blocked.text
    assert blocked["codes"] == "VERSION_NOT_EDITABLE"
    assert scenario.review_name != "Pendant la revue"  # really not sent
    assert "Pendant la revue" in blocked.text  # the change it could not make, shown old -> new

    replaced = by[(ach0, "en-US")]
    assert replaced["image-action"] == "replace" and "COMPLETE" in replaced.text
    before, after = replaced.images
    assert _src_b64(before) == _thumb_b64(scenario.old_icon)
    assert _src_b64(after) == _thumb_b64(scenario.replaced_image_bytes)  # the bytes App Store Connect holds
    assert scenario.replaced_image_bytes == wl.icon(ach0, "en-US").read_bytes()
    assert before["alt"].startswith("previous icon of") and after["alt"].startswith("new icon of")

    renamed = by[(ach1, "en-US")]
    assert f"Name 1 en-US \u2192 {RENAMED}" in renamed.text and "texts updated" in renamed.text
    assert "b" not in renamed.tags  # the text's markup stayed text

    for card in cards:  # every card: a thumbnail with a text alternative, the state in words
        assert card.images and all(img.get("alt") for img in card.images), card.attrs
        assert card["state"].upper() in card.text
    srcs = [a.get("src", "")[:11] for t, a in tags if t == "img"]
    assert srcs == ["data:image/"] * sum(len(c.images) for c in cards)
    assert_self_contained(scenario.push_html)


def test_report_filters_by_state_and_locale_in_the_browser(scenario: Scenario) -> None:
    """The page's JavaScript filters: #state=failed leaves one card, #locale=en-US the en-US ones."""
    cards, _ = parse_cards(dump_dom(scenario.push_html, "state=failed"))
    assert [(c["state"], c.hidden) for c in cards if not c.hidden] == [("failed", False)]
    assert sum(c.hidden for c in cards) == len(cards) - 1
    dom = dump_dom(scenario.push_html, "locale=en-US")
    cards, _ = parse_cards(dom)
    assert {c["locale"] for c in cards if not c.hidden} == {"en-US"} and sum(not c.hidden for c in cards) == 3
    assert "3 of 6 localizations shown" in dom


def test_report_screenshot_is_not_blank(scenario: Scenario, tmp_path: Path) -> None:
    """Chromium paints the push report: the screenshot has many distinct colours, none covering the page."""
    png = screenshot(scenario.push_html, tmp_path / "report.png")
    with Image.open(png) as im:
        rgb = im.convert("RGB")
        colours = rgb.getcolors(maxcolors=1 << 20) or []
        assert rgb.size[0] >= 1000
        assert len(colours) > 200, len(colours)
        # no single colour covers almost everything (a blank or error page would)
        assert max(n for n, _ in colours) < 0.95 * rgb.size[0] * rgb.size[1]


def test_plan_html_shows_what_would_change_before_the_push(scenario: Scenario) -> None:
    """`plan --html`: icons to replace (old and new), text old -> new, the in-review one blocked."""
    wl = scenario.wl
    ach0, ach1, ach2 = wl.vendors
    cards, _ = parse_cards(dump_dom(scenario.plan_html))
    by = _by_name(cards)
    assert len(cards) == len(wl.vendors) * len(LOCALES)
    assert {k: c["state"] for k, c in by.items()} == {
        (ach0, "en-US"): "planned", (ach0, "fr-FR"): "unchanged", (ach1, "en-US"): "planned",
        (ach1, "fr-FR"): "planned", (ach2, "en-US"): "unchanged", (ach2, "fr-FR"): "blocked"}
    assert [c["state"] for c in cards][0] == "blocked"
    replace = by[(ach0, "en-US")]
    assert replace["image-action"] == "replace" and "icon to replace" in replace.text
    before, after = replace.images
    assert _src_b64(before) == _thumb_b64(scenario.old_icon)
    assert _src_b64(after) == _thumb_b64(wl.icon(ach0, "en-US").read_bytes())
    assert f"Name 1 en-US \u2192 {RENAMED}" in by[(ach1, "en-US")].text
    assert "WAITING_FOR_REVIEW" in by[(ach2, "fr-FR")].text
    assert_self_contained(scenario.plan_html)


def test_status_html_renders_the_last_push_without_the_network(scenario: Scenario) -> None:
    """`status --html` (simulator gone, no credentials) shows the same cards as the push's own report."""
    status, _ = parse_cards(dump_dom(scenario.status_html))
    push, _ = parse_cards(dump_dom(scenario.push_html))
    assert [(c["vendor"], c["locale"], c["state"], c["codes"]) for c in status] == [
        (c["vendor"], c["locale"], c["state"], c["codes"]) for c in push]
    assert [[i["src"] for i in c.images] for c in status] == [[i["src"] for i in c.images] for c in push]
    assert "bulkgc status" in scenario.status_html.read_text(encoding="utf-8")
    assert_self_contained(scenario.status_html)


def test_status_html_without_the_kept_report_rebuilds_cards_from_the_journal(
    scenario: Scenario, tmp_path: Path,
) -> None:
    """With no kept report (push killed), `status --html` builds cards from the journal: states, codes."""
    kept = last_report_path(scenario.journal)
    saved = kept.read_bytes()
    kept.unlink()
    try:
        page = tmp_path / "status.html"
        argv = ("status", str(scenario.wl.manifest), "--journal", str(scenario.journal), "--html", str(page))
        assert _cli(*argv) == 0
    finally:
        kept.write_bytes(saved)
    cards, _ = parse_cards(dump_dom(page))
    by = _by_name(cards)
    ach1 = scenario.wl.vendors[1]
    assert len(cards) == len(scenario.wl.vendors) * len(LOCALES)
    assert by[(ach1, "fr-FR")]["state"] == "failed" and by[(ach1, "fr-FR")]["codes"] == FAILED_CODE
    assert {c["state"] for k, c in by.items() if k != (ach1, "fr-FR")} == {"complete"}
    assert all(c.images for c in cards)
    assert "rebuilt from the journal" in page.read_text(encoding="utf-8")


@pytest.fixture
def quiet_sim(monkeypatch: pytest.MonkeyPatch) -> Iterator[Simulator]:
    """A simulator in its own thread (the CLI runs `anyio.run` in this one) and no ASC_/BULKGC_ variables."""
    for name in list(os.environ):
        if name.startswith(("ASC_", "BULKGC_")):
            monkeypatch.delenv(name)
    with start_blocking_portal() as portal:
        with portal.wrap_async_context_manager(Simulator(fast_sim_config())) as sim:
            yield sim


def _key_args(sim: Simulator, tmp: Path) -> tuple[str, ...]:
    return ("--base-url", sim.base_url, "--key-id", sim.key.key_id, "--issuer-id", sim.key.issuer_id,
            "--private-key-path", str(sim.key.write_p8(tmp)))


@pytest.mark.parametrize("command", ["push", "plan"])
def test_unwritable_html_path_is_refused_before_anything_is_sent(
    quiet_sim: Simulator, tmp_path: Path, command: str, capsys: pytest.CaptureFixture[str],
) -> None:
    """An HTML report path that is a directory: exit 2 naming the flag and the fix; no request, no journal."""
    wl = make_workload(tmp_path / "wl", 1, ("en-US",), app_id=quiet_sim.app_id)
    flag = "--report-html" if command == "push" else "--html"
    journal = tmp_path / "journal.sqlite"
    argv = [command, str(wl.manifest), *_key_args(quiet_sim, tmp_path), "--journal", str(journal),
            flag, str(tmp_path)]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert f"{flag} {tmp_path}: is a directory, not a file: pass {flag} a file path in a writable folder" in err
    assert "Traceback" not in err
    assert [r for r in quiet_sim.requests if r.kind != "control"] == []
    assert not journal.exists()


def test_status_html_without_a_journal_says_so_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`status --html` where no push ever ran: exit 1, a message saying there is nothing to show, no file."""
    monkeypatch.delenv("BULKGC_JOURNAL", raising=False)
    wl = make_workload(tmp_path / "wl", 1, ("en-US",))
    page = tmp_path / "status.html"
    argv = ["status", str(wl.manifest), "--journal", str(tmp_path / "none.sqlite"), "--html", str(page)]
    assert main(argv) == 1
    out = capsys.readouterr()
    assert "No journal at" in out.out and f"no HTML report written to {page}" in out.err
    assert not page.exists()


def test_html_report_that_cannot_be_written_at_the_end_loses_no_work(
    quiet_sim: Simulator, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    """The report's folder becomes a file mid-push: exit 3 and the fix; push done, status renders it."""
    wl = make_workload(tmp_path / "wl", 1, LOCALES, app_id=quiet_sim.app_id)
    folder = tmp_path / "out"
    folder.mkdir()
    journal = tmp_path / "journal.sqlite"

    def break_folder(record: RequestRecord) -> None:
        if folder.is_dir():
            folder.rmdir()
            folder.write_text("now a file")

    argv = ["push", str(wl.manifest), *_key_args(quiet_sim, tmp_path), "--journal", str(journal),
            "--poll-interval", "0.05", "--report-html", str(folder / "report.html")]
    observers.append(break_folder)
    try:
        assert main(argv) == 3
    finally:
        observers.remove(break_folder)
    err = capsys.readouterr().err
    assert f"could not write the HTML report {folder / 'report.html'}" in err and "status --html" in err
    assert "Traceback" not in err
    images = quiet_sim.state.images()
    assert [(i.get("result") or {}).get("state") for i in images] == ["COMPLETE"] * len(LOCALES)
    page = tmp_path / "again.html"
    assert main(["status", str(wl.manifest), "--journal", str(journal), "--html", str(page)]) == 0
    cards, _ = parse_cards(page.read_text(encoding="utf-8"))
    assert sorted((c["locale"], c["state"]) for c in cards) == [("en-US", "complete"), ("fr-FR", "complete")]


def test_interrupted_push_report_says_to_run_again(quiet_sim: Simulator, tmp_path: Path) -> None:
    """A push stopped by --deadline (exit 4): its report shows interrupted cards and how to resume."""
    wl = make_workload(tmp_path / "wl", 4, LOCALES, app_id=quiet_sim.app_id)
    quiet_sim.add_fault(FaultRule(kind="latency", delay=0.3, route_glob="/v2/gameCenterAchievementImages*"))
    page = tmp_path / "report.html"
    argv = ["push", str(wl.manifest), *_key_args(quiet_sim, tmp_path), "--journal", str(tmp_path / "j"),
            "--poll-interval", "0.05", "--images-in-flight", "1", "--deadline", "1s",
            "--report-html", str(page)]
    assert main(argv) == 4
    cards, _ = parse_cards(dump_dom(page))
    assert len(cards) == len(wl.vendors) * len(LOCALES)
    stopped = [c for c in cards if c["state"] == "interrupted"]
    assert stopped and {c["state"] for c in cards} <= {"interrupted", "complete"}
    assert [c["state"] for c in cards][: len(stopped)] == ["interrupted"] * len(stopped)  # before the done
    assert all("INTERRUPTED" in c.text and "run the same command again to resume" in c.text for c in stopped)
    assert "exit code 4 (interrupted" in page.read_text(encoding="utf-8")
