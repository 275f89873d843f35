"""`bulkgc pull`: App Store Connect's content as a manifest (TOML, JSON) or Xcode gamekit; reads only."""

from __future__ import annotations

import argparse
import sys
import textwrap
from pathlib import Path

import anyio

from bulkgc.config import add_arguments, from_sources
from bulkgc.progress import choose_sink, install_log_handler
from bulkgc.pull import FORMATS, pull

EXAMPLES = """examples:
  bulkgc pull --app-id 1234567890 --out pulled/                    # pulled/manifest.toml + pulled/assets/
  bulkgc pull --bundle-id com.example.game --out MyGame --format gamekit  # MyGame/GameCenterResources.gamekit
  bulkgc push pulled/manifest.toml                                 # right after a pull: nothing to do
"""


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "pull",
        help="write the app's Game Center content as a manifest or Xcode gamekit (reads only)",
        description=textwrap.fill(
            "Read every achievement and leaderboard (latest version, every locale) from App "
            "Store Connect and write what push accepts, with the images downloaded from "
            "each COMPLETE image's imageAsset. Changes nothing in App Store Connect; "
            "bulkgc-pulled.json beside the manifest records which remote image each file "
            "stands for, so push right after pull writes nothing.",
            100,
        ),
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
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
