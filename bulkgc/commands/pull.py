"""`bulkgc pull`: App Store Connect's content as a manifest (TOML, JSON) or Xcode gamekit; reads only."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import anyio

from bulkgc.commands import HELP_LAYOUT, help_epilog
from bulkgc.config import add_arguments, from_sources
from bulkgc.progress import choose_sink, install_log_handler
from bulkgc.pull import FORMATS, pull

EXAMPLES = [
    "bulkgc pull --app-id 1234567890 --out pulled/                    # pulled/manifest.toml + pulled/assets/",
    "bulkgc pull --app-id 1234567890 --out pulled/ --format json      # pulled/manifest.json + pulled/assets/",
    "bulkgc pull --bundle-id com.example.game --out MyGame --format gamekit  # MyGame/GameCenterResources.gamekit",
    "bulkgc pull --app-id 1234567890 --out pulled/   # again: downloads only images whose file changed",
]
EXIT_CODES = {
    0: "written (the summary counts each kind, localizations, references and images)",
    1: "App Store Connect answered with an error (the message has Apple's code)",
    2: "invalid usage (flags)",
    3: "authentication or configuration (key, key id, issuer id; no app for --app-id or --bundle-id)",
    4: "interrupted, or App Store Connect unreachable: run the same command again (it resumes cheaply)",
}
DESCRIPTION = """\
Read every kind bulkgc pushes from App Store Connect and write what push accepts: achievements,
leaderboards, leaderboard sets (members in order), activities (the version's fallback URL and default
image) and challenges (their leaderboard and default image), each as its latest version holds it, every
locale, with the images downloaded from each COMPLETE image's imageAsset. Changes nothing in App Store
Connect. bulkgc-pulled.json beside the manifest records which remote image each file stands for: keep it
there, and `bulkgc push pulled/manifest.toml` (or `bulkgc push MyGame/GameCenterResources.gamekit
--bundle-id com.example.game`) right after a pull writes nothing."""


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "pull",
        help="write the app's Game Center content as a manifest or Xcode gamekit (reads only)",
        description=DESCRIPTION,
        epilog=help_epilog(EXAMPLES, EXIT_CODES),
        **HELP_LAYOUT,
    )
    add_arguments(
        p,
        only={
            "app_id",
            "bundle_id",
            "api",
            "base_url",
            "key_id",
            "issuer_id",
            "private_key_path",
            "api_key_json",
            "api_concurrency",
            "images_in_flight",
            "request_timeout",
            "token_lifetime",
            "log_format",
            "quiet",
        },
    )
    p.add_argument(
        "--out",
        type=Path,
        required=True,
        metavar="DIR",
        help="folder to write into (created); for gamekit, the .gamekit bundle or its parent folder",
    )
    p.add_argument(
        "--format",
        dest="pull_format",
        choices=FORMATS,
        default="toml",
        help="toml (default) or json: bulkgc's manifest + assets/; gamekit: Xcode's "
        "GameCenterResources.gamekit (an existing one keeps the keys bulkgc does not know)",
    )
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    settings = from_sources(args=args)
    sink = choose_sink(stream=sys.stderr, log_format=settings.log_format, quiet=settings.quiet)
    install_log_handler(stream=sys.stderr, log_format=settings.log_format, quiet=settings.quiet)
    try:
        result = anyio.run(lambda: pull(settings, args.out, args.pull_format, sink=sink))
    finally:
        sink.close()
    print(result.summary())
    return 0
