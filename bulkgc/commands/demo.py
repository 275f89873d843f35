"""`bulkgc demo`: a first run with nothing to set up: the sample icons pushed to an embedded simulator."""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path
from typing import TextIO

import anyio

from bulkgc.commands import HELP_LAYOUT, help_epilog
from bulkgc.kinds import KINDS
from bulkgc.progress import FAILURE_OUTCOMES, Event, LogSink, QuietSink, choose_sink
from bulkgc.report import RunReport, format_summary


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("demo", help="push the sample icons to an embedded App Store Connect simulator",
                       description="Starts the local App Store Connect simulator in-process (127.0.0.1,\n"
                                   "free port, generated key), pushes assets/ as manifests/example.toml\n"
                                   "says, then pushes again to show that a second run has nothing to do.\n"
                                   "Nothing leaves this machine.",
                       epilog=help_epilog(
                           ["bulkgc demo                      # from the bulkgc checkout",
                            "bulkgc demo manifests/mygame.toml --processing-delay 0.1"],
                           {0: "both pushes succeeded",
                            1: "an item failed in one of the pushes (the summary names it)",
                            2: "the manifest is missing or invalid, or an icon fails the checks"}),
                       **HELP_LAYOUT)
    p.add_argument("manifest", nargs="?", type=Path, default=Path("manifests/example.toml"),
                   help="manifest to push (default: manifests/example.toml)")
    p.add_argument("--assets", type=Path, default=None, metavar="DIR", help="icons directory (default: from manifest)")
    p.add_argument("--log-format", choices=("auto", "plain", "json"), default="auto",
                   help="auto: progress bars on a terminal, plain lines otherwise; json: one event per line")
    p.add_argument("--processing-delay", type=float, default=0.8, metavar="SECONDS",
                   help="how long the simulator takes to process an image (default: 0.8)")
    p.set_defaults(run=run)


class CondensedSink(LogSink):
    """The demo's output when redirected: the plan line, failures as they happen, and one line per kind of
    item at the end (`achievements: 14 done`), instead of a line per step of every item."""

    def __init__(self, stream: TextIO) -> None:
        super().__init__(stream)
        self._done: dict[str, Counter[str]] = {}

    def _wants_event(self, e: Event) -> bool:
        return e.outcome in FAILURE_OUTCOMES

    def on_item_done(self, item: str, outcome: str) -> None:
        kind = item.split(":", 1)[0] if ":" in item else "item"
        self._done.setdefault(kind, Counter())[outcome] += 1
        if outcome in FAILURE_OUTCOMES:
            super().on_item_done(item, outcome)

    def close(self) -> None:
        # a fixed order (items of each kind, then their localizations, then images), not completion order
        order = [*(k.name for k in KINDS), "localization", "image"]
        for kind, outcomes in sorted(self._done.items(), key=lambda kv: order.index(kv[0]) if kv[0] in order
                                     else len(order)):
            counts = ", ".join(f"{n} {outcome}" for outcome, n in outcomes.most_common())
            self._write(f"  {kind}s: {counts}")
        super().close()


NEXT_STEPS = """What next:
  1. Describe your game's achievements, leaderboards, leaderboard sets, activities and challenges in a
     manifest: see docs/MANIFEST.md (manifests/example.toml is a complete one). Or start from what you have:
       Xcode's file:         bulkgc validate MyGame/GameCenterResources.gamekit --app-id <your app id>
       another store:        bulkgc import igdb|play|steam ...   (docs/IMPORT.md)
       App Store Connect:    bulkgc pull --app-id <your app id> --out mygame/
  2. Check it and its icons locally (no network):  bulkgc validate mygame.toml
     (icons with an opaque alpha channel or the wrong size: add --fix-icons; your files are not touched)
  3. Rehearse against the local simulator: in another terminal run
       bulkgc sim --app-id <your app id> --key-dir sim-keys
     paste the export lines it prints here, then:  bulkgc plan mygame.toml && bulkgc push mygame.toml
  4. For real: unset BULKGC_BASE_URL; set ASC_KEY_ID, ASC_ISSUER_ID and ASC_PRIVATE_KEY_PATH
     (README "Using it"), then:  bulkgc plan mygame.toml && bulkgc push mygame.toml
     and, when it looks right in App Store Connect:  bulkgc submit mygame.toml --send"""


def run(args: argparse.Namespace) -> int:
    from bulkgc.demo import run_demo

    if not args.manifest.exists():
        print(f"bulkgc: {args.manifest} not found; run the demo from the bulkgc checkout (it uses manifests/ and "
              f"assets/ there) or pass a manifest path", file=sys.stderr)
        return 2
    print(f"bulkgc demo: pushing {args.manifest} to an embedded App Store Connect simulator on 127.0.0.1 ...",
          file=sys.stderr, flush=True)
    redirected = args.log_format == "auto" and not sys.stderr.isatty()
    sink = (CondensedSink(sys.stderr) if redirected
            else choose_sink(stream=sys.stderr, log_format=args.log_format))
    headers = {1: "== First push", 2: "== Second push (same command again)"}

    def before_push(n: int) -> None:
        # progress goes to stderr, headers and summaries to stdout: flush both so each header comes first
        sys.stderr.flush()
        print(("\n" if n > 1 else "") + headers[n], flush=True)

    def after_push(n: int, report: RunReport) -> None:
        sys.stderr.flush()
        print(format_summary(report), flush=True)

    result = anyio.run(lambda: run_demo(args.manifest, assets=args.assets, sink=sink,
                                        second_sink=QuietSink(sys.stderr),
                                        processing_delay=args.processing_delay,
                                        before_push=before_push, after_push=after_push))
    print()
    print(f"Simulator holds {result.localizations} localizations and {result.images_complete} COMPLETE images. "
          f"Write requests: first push {result.first_writes}, second push {result.second_writes}.")
    if result.second_writes == 0 and result.first.exit_code == 0:
        print("The second push had nothing to do: App Store Connect already matched the manifest.")
    print()
    print(NEXT_STEPS)
    return max(result.first.exit_code, result.second.exit_code)
