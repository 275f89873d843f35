"""`bulkgc import igdb|play|steam`: a bulkgc manifest from another store's achievement data (no network)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from bulkgc.errors import EXIT_INVALID_INPUT
from bulkgc.importers import ImportOptions, ImportProblemsError, run_import
from bulkgc.importers.languages import parse_locale_map
from bulkgc.importers.rules import MAX_POINTS, validate_vendor_prefix
from bulkgc.locales import is_asc_locale, suggest_locale
from bulkgc.manifest import APP_ID_RE

EXAMPLES = """examples:
  bulkgc import steam schema.json --localization loc.vdf --icons steam-icons --app-id 1234567890 \\
      --vendor-prefix com.studio.game. --out manifests/game.toml
  bulkgc import play PlayGamesAchievements.zip --app-id 1234567890 --out manifests/game.toml
  bulkgc import igdb achievements.json --icons igdb-icons --app-id 1234567890 --locale-map asia=zh-Hant \\
      --out manifests/game.json

The mapping rules (vendor ids, points, languages) are in docs/IMPORT.md. The manifest is written only when
the whole input is valid; every problem is listed at once with file:line (exit 2, nothing written).
"""

SOURCE_HELP = {
    "igdb": ("IGDB Achievement records (a JSON array export)", "FILE.json"),
    "play": (
        "Google Play Games achievements bulk import: the folder or ZIP of its CSVs and icons",
        "DIR_OR_ZIP",
    ),
    "steam": ("Steam GetSchemaForGame JSON (and its localization VDF with --localization)", "SCHEMA.json"),
}


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg,unused-ignore]
    p = sub.add_parser(
        "import",
        help="write a manifest from IGDB, Google Play Games or Steam data (no network)",
        description="Turn another store's achievement data into a bulkgc manifest, and print a "
        "mapping report of every lossy or guessed step. Reads local files only.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sources = p.add_subparsers(dest="source", required=True, metavar="SOURCE")
    for name, (what, metavar) in SOURCE_HELP.items():
        q = sources.add_parser(
            name,
            help=what,
            description=what + ".",
            epilog=EXAMPLES,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        q.add_argument("input", type=Path, metavar=metavar, help=what)
        if name == "steam":
            q.add_argument(
                "--localization",
                type=Path,
                metavar="FILE.vdf",
                help="Steamworks' localization file (Download Localization Data)",
            )
        q.add_argument(
            "--out",
            type=Path,
            required=True,
            metavar="MANIFEST",
            help="manifest to write: .toml or .json (by extension); never overwritten without --force",
        )
        q.add_argument(
            "--app-id",
            default=os.environ.get("BULKGC_APP_ID"),
            metavar="ID",
            help="App Store Connect app id for the manifest (env BULKGC_APP_ID)",
        )
        q.add_argument(
            "--icons",
            type=Path,
            metavar="DIR",
            help="folder of the icons (needed where the source only links them: IGDB, Steam)",
        )
        q.add_argument(
            "--vendor-prefix",
            default="",
            metavar="PREFIX",
            help="prepended to every vendor identifier, e.g. com.studio.game. (default: none)",
        )
        q.add_argument(
            "--locale-map",
            action="append",
            default=[],
            metavar="LANG=LOCALE",
            help="map a source language to a Game Center locale, or LANG=skip to leave it out; "
            "repeatable or comma-separated",
        )
        q.add_argument(
            "--default-locale",
            default="en-US",
            metavar="LOCALE",
            help="Game Center locale of the source's untagged texts (default: en-US)",
        )
        q.add_argument(
            "--points",
            type=int,
            metavar="N",
            help="give every achievement N points instead of the rescaled source points",
        )
        q.add_argument("--report", type=Path, metavar="FILE", help="also write the mapping report as JSON")
        q.add_argument("--force", action="store_true", help="overwrite an existing --out manifest")
        q.set_defaults(run=run)


def _usage_errors(args: argparse.Namespace) -> tuple[list[str], dict[str, str]]:
    errors: list[str] = []
    if not args.app_id:
        errors.append("--app-id is required (the App Store Connect app id, digits; or set BULKGC_APP_ID)")
    elif not APP_ID_RE.fullmatch(args.app_id):
        errors.append(f"--app-id {args.app_id!r}: an App Store Connect app id is digits only")
    prefix_error = validate_vendor_prefix(args.vendor_prefix)
    if prefix_error:
        errors.append(prefix_error)
    if not is_asc_locale(args.default_locale):
        guess = suggest_locale(args.default_locale)
        errors.append(
            f"--default-locale {args.default_locale!r} is not a Game Center locale"
            + (f"; did you mean {guess!r}?" if guess else "")
        )
    if args.points is not None and not 0 <= args.points <= MAX_POINTS:
        errors.append(f"--points {args.points}: Game Center allows 0..{MAX_POINTS} per achievement")
    locale_map, map_errors = parse_locale_map(args.locale_map)
    return errors + map_errors, locale_map


def run(args: argparse.Namespace) -> int:
    errors, locale_map = _usage_errors(args)
    if errors:
        for error in errors:
            print(f"bulkgc import: {error}", file=sys.stderr)
        return EXIT_INVALID_INPUT
    options = ImportOptions(
        app_id=args.app_id,
        out=args.out,
        icons=args.icons,
        vendor_prefix=args.vendor_prefix,
        locale_map=locale_map,
        points=args.points,
        default_locale=args.default_locale,
        force=args.force,
        report=args.report,
    )
    try:
        result = run_import(
            args.source, args.input, options, localization=getattr(args, "localization", None)
        )
    except ImportProblemsError as exc:
        print(f"{exc}\nNothing was written.", file=sys.stderr)
        return EXIT_INVALID_INPUT
    for line in result.summary_lines():
        print(line)
    if args.report is not None:
        print(f"Mapping report written to {args.report}.")
    print(f"Next: bulkgc validate {result.manifest}")
    return 0
