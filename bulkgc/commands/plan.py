"""`bulkgc plan`: show what a push would do; reads App Store Connect, changes nothing."""

from __future__ import annotations

import argparse
import json

import anyio

from bulkgc.config import add_arguments, from_sources
from bulkgc.submit import plan_with_submission


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("plan", help="show what push would do (reads only)",
                       description="Read App Store Connect, compare with the manifest and print the actions "
                                   "a push would take, then (v2) the versions `bulkgc submit` would add to a "
                                   "review submission. Changes nothing.")
    add_arguments(p, only={"manifest", "assets", "api", "base_url", "key_id", "issuer_id", "private_key_path",
                           "api_key_json", "on_live", "api_concurrency", "request_timeout", "token_lifetime",
                           "platform"})
    p.add_argument("--json", action="store_true", help="print the plan as JSON for machines")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    settings = from_sources(args=args)
    plan, submission = anyio.run(lambda: plan_with_submission(settings))
    if args.json:
        doc = plan.to_dict()
        if submission is not None:
            doc["submit"] = submission.to_dict()
        print(json.dumps(doc, indent=2))
    else:
        print(plan.format_table())
        if submission is not None:
            print()
            print("\n".join(submission.format_lines()))
    return 0
