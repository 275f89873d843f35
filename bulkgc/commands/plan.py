"""`bulkgc plan`: show what a push would do; reads App Store Connect, changes nothing."""

from __future__ import annotations

import argparse
import json

import anyio

from bulkgc.config import add_arguments, from_sources
from bulkgc.pipeline import plan_only


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("plan", help="show what push would do (reads only)",
                       description="Read App Store Connect, compare with the manifest and print the actions a "
                                   "push would take. Changes nothing.")
    add_arguments(p, only={"manifest", "assets", "app_id", "bundle_id", "fix_icons", "icon_background", "api",
                           "base_url", "key_id", "issuer_id", "private_key_path", "api_key_json", "on_live",
                           "api_concurrency", "request_timeout", "token_lifetime"})
    p.add_argument("--json", action="store_true", help="print the plan as JSON for machines")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    settings = from_sources(args=args)
    plan = anyio.run(lambda: plan_only(settings))
    if args.json:
        print(json.dumps(plan.to_dict(), indent=2))
    else:
        print(plan.format_table())
    return 0
