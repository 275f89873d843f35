"""`bulkgc status`: what the resume journal knows (done, in flight, failed); no network access."""

from __future__ import annotations

import argparse
import json
import time

from bulkgc.config import add_arguments, from_sources
from bulkgc.journal import Journal, lock_holder


#: unfinished items listed by name in the text output
SHOW = 20


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("status", help="show what the resume journal knows (no network)")
    add_arguments(p, only={"manifest", "journal"})
    p.add_argument("--json", action="store_true", help="print as JSON")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    settings = from_sources(args=args)
    path = settings.journal_path
    if not path.exists():
        print(f"No journal at {path}: no push has run for this manifest here (or it used --journal).")
        return 0
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
            "last_run": None if last is None else {"started": last.started, "finished": last.finished,
                                                   "outcome": last.outcome, "command": last.command},
            "unfinished": [{"item": i.item_key, "state": i.state, "image_id": i.remote_id} for i in unfinished],
            "failed": [{"item": i.item_key, "codes": i.error_codes, "detail": i.detail} for i in failed],
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
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(last.started))
        print(f"Last run: {last.command} started {when}, outcome: {last.outcome or 'did not finish (resumable)'}")
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
    if in_flight or failed:
        print("Run the same push again to resume: finished items are not redone.")
    return 0
