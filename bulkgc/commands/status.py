"""`bulkgc status`: what the resume journal knows (done, in flight, failed); no network access."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from bulkgc.commands import HELP_LAYOUT, help_epilog
from bulkgc.config import add_arguments, check_settings, from_sources
from bulkgc.errors import EXIT_ITEMS_FAILED
from bulkgc.journal import Journal, lock_holder
from bulkgc.report import RunReport, iso_time, last_report_path, read_json_report, report_from_journal
from bulkgc.report_html import check_writable, write_html_report
from bulkgc.thumbnails import cache_for


#: unfinished items listed by name in the text output
SHOW = 20


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("status", help="show what the resume journal knows (no network)",
                       description="Show what the resume journal of a manifest knows: the last run,\n"
                                   "items done, in flight and failed, and whether a push is running now.\n"
                                   "Reads only the journal (works while a push runs); never the network.",
                       epilog=help_epilog(
                           ["bulkgc status manifests/mygame.toml",
                            "bulkgc status manifests/mygame.toml --json",
                            "bulkgc status --journal /ci/cache/journal.sqlite"],
                           {0: "the status was printed (also when no push has run yet)",
                            1: "--html was asked for but no push has run with this journal",
                            2: "no manifest given, or the manifest does not exist",
                            3: "the journal cannot be read (corrupt, or from a newer bulkgc)"}),
                       **HELP_LAYOUT)
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
    # the manifest locates the journal; with --journal alone none is needed, but one given must exist
    needs_manifest = settings.manifest is not None or settings.journal is None
    check_settings(settings, ("manifest",) if needs_manifest else ())
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
        reviews = journal.items(kind="review")  # versions `bulkgc submit` put in review submissions
    # three disjoint groups, the same in the text and the JSON: complete, unfinished (resumable), failed
    unfinished = [i for i in images if i.state not in ("complete", "failed")]
    failed = [i for i in images if i.state == "failed"]
    if args.json:
        print(json.dumps({
            "journal": str(path), "running": running, "counts": counts,
            # snake_case keys and ISO 8601 UTC times, as in the JSON report and plan --json
            "last_run": None if last is None else {"started": iso_time(last.started),
                                                   "finished": iso_time(last.finished),
                                                   "outcome": last.outcome, "command": last.command},
            "unfinished": [{"item": i.item_key, "state": i.state, "image_id": i.remote_id} for i in unfinished],
            "failed": [{"item": i.item_key, "error_codes": i.error_codes, "detail": i.detail}
                       for i in failed],
            "review": [
                {"item": i.item_key, "state": i.state, "submission": i.parent_id, "review_item": i.remote_id}
                for i in reviews
            ],
        }, indent=2))
        return 0
    print(f"Journal: {path}")
    if running:
        print(f"A push is running now: {running}")
    if last is not None:
        when = iso_time(last.started)
        # the lock says whether an unfinished run is still going or was cut off (only then is it resumable)
        unfinished_run = "still running" if running else "did not finish (resumable)"
        print(f"Last run: {last.command} started {when}, outcome: {last.outcome or unfinished_run}")
    print("Items by state: " + (", ".join(f"{k}={v}" for k, v in sorted(counts.items())) or "none"))
    done = sum(1 for i in images if i.state == "complete")
    print(f"Images: {done} complete, {len(unfinished)} in flight or unfinished, {len(failed)} failed")
    if reviews:
        added = sum(1 for i in reviews if i.state == "added")
        where = sorted({i.parent_id for i in reviews if i.parent_id})
        print(f"Review submission items: {added} added, {len(reviews) - added} not (yet); "
              f"submission(s): {', '.join(where) or '-'}")
    in_flight = unfinished
    for i in in_flight[:SHOW]:
        print(f"  unfinished {i.item_key}: {i.state or 'planned'}" + (f" (image {i.remote_id})" if i.remote_id else ""))
    if len(in_flight) > SHOW:
        print(f"  ... and {len(in_flight) - SHOW} more (--json lists all)")
    for i in failed:
        print(f"  failed {i.item_key}: {', '.join(i.error_codes) or '-'} {i.detail}")
    cut_off = last is not None and not last.outcome and not running
    if running and (in_flight or failed):
        print("The running push is still working on these; run status again to follow it.")
    elif cut_off:
        # the journal holds only what the run started: items it had not reached yet are in no list above
        print("The last run was cut off before it finished. Run the same push again to resume: it also does the "
              "items that run had not started yet, which no list above shows; finished items are not redone.")
    elif in_flight or failed:
        print("Run the same push again to resume: finished items are not redone.")
    return 0
