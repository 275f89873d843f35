"""`bulkgc plan`: show what a push would do; reads App Store Connect, changes nothing."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import anyio

from bulkgc.commands import HELP_LAYOUT, help_epilog
from bulkgc.commands.push import announce_target
from bulkgc.config import RunSettings, add_arguments, resolve
from bulkgc.pipeline import credentials_from
from bulkgc.plan import Plan
from bulkgc.report import RunReport
from bulkgc.report_html import check_writable, write_html_report
from bulkgc.submit import plan_with_submission
from bulkgc.thumbnails import cache_for


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("plan", help="show what push would do (reads only)",
                       description="Read App Store Connect, compare with the manifest and print what a push\n"
                                   "would change, field by field (old -> new), like terraform plan: + creates,\n"
                                   "~ changes, ! blocked; achievements that already match are only counted.\n"
                                   "Then (v2) the versions `bulkgc submit` would add to a review submission.\n"
                                   "Changes nothing and writes no journal.",
                       epilog=help_epilog(
                           ["bulkgc plan manifests/mygame.toml",
                            "bulkgc plan manifests/mygame.toml --json > plan.json"],
                           {0: "the plan was printed",
                            1: "App Store Connect answered with an error (the message has Apple's code)",
                            2: "invalid input or usage (manifest, icons, flags, no manifest given)",
                            3: "authentication or configuration (key, key id, issuer id)"}),
                       **HELP_LAYOUT)
    add_arguments(p, only={"manifest", "assets", "app_id", "bundle_id", "fix_icons", "icon_background", "api",
                           "base_url", "key_id", "issuer_id", "private_key_path",
                           "api_key_json", "on_live", "api_concurrency", "request_timeout", "token_lifetime",
                           "journal", "platform"})
    p.add_argument("--json", action="store_true",
                   help="print the plan as JSON for machines (schema bulkgc-plan/2: snake_case keys; each change "
                        "as {field, attribute, old, new})")
    p.add_argument("--html", type=Path, metavar="FILE",
                   help="also write the plan as an HTML page: a card per localization with its icon (old "
                        "and new side by side when it would be replaced) and its text changes old -> new, "
                        "for review")
    p.set_defaults(run=run)


def plan_report(plan: Plan, settings: RunSettings, *, started: float, key_id: str) -> RunReport:
    """The plan as a report (command "plan"), for the HTML page."""
    return RunReport(
        command="plan", started=started, finished=time.time(), items=plan.report_items(),
        totals={"expected_requests": plan.expected_requests(), "plan_reads": plan.reads},
        target={"base_url": settings.base_url, "app_id": plan.app_id, "api": plan.api, "key_id": key_id},
    )


def run(args: argparse.Namespace) -> int:
    settings = resolve(args, check=("manifest", "assets", "credentials", "base_url"))
    if args.html:
        check_writable(args.html, "--html")
    started = time.time()
    plan, submission = anyio.run(lambda: plan_with_submission(
        settings, on_target=lambda app_id, key_id: announce_target(settings, "Reading", app_id, key_id)))
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
    if args.html:
        report = plan_report(plan, settings, started=started, key_id=credentials_from(settings).key_id)
        write_html_report(report, args.html, cache_for(settings.journal_path),
                          title="bulkgc plan: what a push would change")
        print(f"HTML plan: {args.html}", file=sys.stderr)
    return 0
