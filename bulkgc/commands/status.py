"""`bulkgc status`: what the resume journal knows (done, in flight, failed); no network access."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from bulkgc.config import add_arguments, from_sources
from bulkgc.errors import EXIT_ITEMS_FAILED
from bulkgc.journal import Journal, lock_holder
from bulkgc.report import RunReport, last_report_path, read_json_report, report_from_journal
from bulkgc.report_html import check_writable, write_html_report
from bulkgc.thumbnails import cache_for


#: unfinished items listed by name in the text output
SHOW = 20


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("status", help="show what the resume journal knows (no network)")
    add_arguments(p, only={"manifest", "journal"})
    p.add_argument("--json", action="store_true", help="print as JSON")
    p.add_argument("--html", type=Path, metavar="FILE",
                   help="also write the last push as an HTML page (its report kept beside the journal, else "
                        "what the journal knows); no network")
    p.set_defaults(run=run)


def last_push_report(path: Path) -> tuple[RunReport, str]:
    """The last push against the journal at `path`, and where it came from: the report that push kept beside
    the journal when it is that run's, else one rebuilt from the journal (a push killed before its report)."""
    with Journal.open(path, run_command="status", read_only=True) as journal:
        last = journal.last_run()
        records = journal.items()
    try:
        saved: RunReport | None = read_json_report(last_report_path(path))
    except (OSError, ValueError, KeyError, TypeError):
        saved = None
    if saved is not None and last is not None and saved.started <= last.started <= saved.finished:
        return saved, f"the last push's report, kept beside {path}"
    rebuilt = report_from_journal(last, records)
    return rebuilt, f"rebuilt from the journal {path} (the last push left no report)"


def run(args: argparse.Namespace) -> int:
    settings = from_sources(args=args)
    path = settings.journal_path
    if args.html:
        check_writable(args.html, "--html")
    if not path.exists():
        print(f"No journal at {path}: no push has run for this manifest here (or it used --journal).")
        if args.html:
            print(f"bulkgc: no HTML report written to {args.html}: there is no push to show", file=sys.stderr)
            return EXIT_ITEMS_FAILED
        return 0
    if args.html:
        report, source = last_push_report(path)
        write_html_report(report, args.html, cache_for(path), title="bulkgc status: the last push",
                          note=source)
        print(f"HTML report: {args.html} ({source})", file=sys.stderr)
    # read-only and without the lock: status works while a push is running (and never needs the network)
    running = lock_holder(path)
    with Journal.open(path, run_command="status", read_only=True) as journal:
        counts = journal.counts()
        last = journal.last_run()
        images = journal.items(kind="image")
    # three disjoint groups, the same in the text and the JSON: complete, unfinished (resumable), failed
    unfinished = [i for i in images if i.state not in ("complete", "failed")]
    failed = [i for i in images if i.state == "failed"]
    if args.json:
        print(json.dumps({
            "journal": str(path), "running": running, "counts": counts,
            "last_run": None if last is None else {"started": last.started, "finished": last.finished,
                                                   "outcome": last.outcome, "command": last.command},
            "unfinished": [{"item": i.item_key, "state": i.state, "image_id": i.remote_id} for i in unfinished],
            "failed": [{"item": i.item_key, "codes": i.error_codes, "detail": i.detail} for i in failed],
        }, indent=2))
        return 0
    print(f"Journal: {path}")
    if running:
        print(f"A push is running now: {running}")
    if last is not None:
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(last.started))
        print(f"Last run: {last.command} started {when}, outcome: {last.outcome or 'did not finish (resumable)'}")
    print("Items by state: " + (", ".join(f"{k}={v}" for k, v in sorted(counts.items())) or "none"))
    done = sum(1 for i in images if i.state == "complete")
    print(f"Images: {done} complete, {len(unfinished)} in flight or unfinished, {len(failed)} failed")
    in_flight = unfinished
    for i in in_flight[:SHOW]:
        print(f"  unfinished {i.item_key}: {i.state or 'planned'}" + (f" (image {i.remote_id})" if i.remote_id else ""))
    if len(in_flight) > SHOW:
        print(f"  ... and {len(in_flight) - SHOW} more (--json lists all)")
    for i in failed:
        print(f"  failed {i.item_key}: {', '.join(i.error_codes) or '-'} {i.detail}")
    if in_flight or failed:
        print("Run the same push again to resume: finished items are not redone.")
    return 0
