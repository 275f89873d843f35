"""`bulkgc plan`: show what a push would do; reads App Store Connect, changes nothing."""

from __future__ import annotations

import argparse
import json

import anyio

from bulkgc.commands import HELP_LAYOUT, help_epilog
from bulkgc.commands.push import announce_target
from bulkgc.config import add_arguments, resolve
from bulkgc.pipeline import plan_only


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("plan", help="show what push would do (reads only)",
                       description="Read App Store Connect, compare with the manifest and print what a push\n"
                                   "would change, field by field (old -> new), like terraform plan: + creates,\n"
                                   "~ changes, ! blocked; achievements that already match are only counted.\n"
                                   "Changes nothing and writes no journal.",
                       epilog=help_epilog(
                           ["bulkgc plan manifests/mygame.toml",
                            "bulkgc plan manifests/mygame.toml --json > plan.json"],
                           {0: "the plan was printed",
                            1: "App Store Connect answered with an error (the message has Apple's code)",
                            2: "invalid input or usage (manifest, icons, flags, no manifest given)",
                            3: "authentication or configuration (key, key id, issuer id)"}),
                       **HELP_LAYOUT)
    add_arguments(p, only={"manifest", "assets", "api", "base_url", "key_id", "issuer_id", "private_key_path",
                           "api_key_json", "on_live", "api_concurrency", "request_timeout", "token_lifetime"})
    p.add_argument("--json", action="store_true",
                   help="print the plan as JSON for machines (schema bulkgc-plan/2: snake_case keys; each change "
                        "as {field, attribute, old, new})")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    settings = resolve(args, check=("manifest", "assets", "credentials", "base_url"))
    plan = anyio.run(lambda: plan_only(
        settings, on_target=lambda app_id, key_id: announce_target(settings, "Reading", app_id, key_id)))
    if args.json:
        print(json.dumps(plan.to_dict(), indent=2))
    else:
        print(plan.format_table())
    return 0
