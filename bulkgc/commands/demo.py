"""`bulkgc demo`: a first run with nothing to set up: the sample icons pushed to an embedded simulator."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import anyio

from bulkgc.progress import QuietSink, choose_sink
from bulkgc.report import format_summary


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("demo", help="push the sample icons to an embedded App Store Connect simulator",
                       description="Starts the local App Store Connect simulator in-process (127.0.0.1, free port, "
                                   "generated key), pushes assets/ as manifests/example.toml says, then pushes again "
                                   "to show that a second run has nothing to do. Nothing leaves this machine.")
    p.add_argument("manifest", nargs="?", type=Path, default=Path("manifests/example.toml"),
                   help="manifest to push (default: manifests/example.toml)")
    p.add_argument("--assets", type=Path, default=None, metavar="DIR", help="icons directory (default: from manifest)")
    p.add_argument("--log-format", choices=("auto", "plain", "json"), default="auto",
                   help="auto: progress bars on a terminal, plain lines otherwise; json: one event per line")
    p.add_argument("--processing-delay", type=float, default=0.8, metavar="SECONDS",
                   help="how long the simulator takes to process an image (default: 0.8)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from bulkgc.demo import run_demo

    if not args.manifest.exists():
        print(f"bulkgc: {args.manifest} not found; run the demo from the bulkgc checkout (it uses manifests/ and "
              f"assets/ there) or pass a manifest path", file=sys.stderr)
        return 2
    print(f"bulkgc demo: pushing {args.manifest} to an embedded App Store Connect simulator on 127.0.0.1 ...",
          file=sys.stderr, flush=True)
    sink = choose_sink(stream=sys.stderr, log_format=args.log_format, quiet=False)
    result = anyio.run(lambda: run_demo(args.manifest, assets=args.assets, sink=sink,
                                        second_sink=QuietSink(sys.stderr), processing_delay=args.processing_delay))
    print("== First push")
    print(format_summary(result.first))
    print()
    print("== Second push (same command again)")
    print(format_summary(result.second))
    print()
    print(f"Simulator holds {result.localizations} localizations and {result.images_complete} COMPLETE images. "
          f"Write requests: first push {result.first_writes}, second push {result.second_writes}.")
    if result.second_writes == 0 and result.first.exit_code == 0:
        print("The second push had nothing to do: App Store Connect already matched the manifest.")
    return max(result.first.exit_code, result.second.exit_code)
