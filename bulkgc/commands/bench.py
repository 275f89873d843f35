"""`bulkgc bench`: the benchmark (speed, request economy, memory) against a simulator in a separate process."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    from bulkgc import bench
    from bulkgc.commands import HELP_LAYOUT, help_epilog

    p = sub.add_parser("bench", help="benchmark a push against a simulator in a separate process",
                       description=bench.__doc__,
                       epilog=help_epilog(
                           ["bulkgc bench                                   # the documented run (~1 min)",
                            "bulkgc bench --achievements 10 --locales 2      # a quick look",
                            "bulkgc bench --phases fresh --json"],
                           {0: "every target passed",
                            1: "a target was missed (the table marks it FAIL)",
                            2: "invalid options"}),
                       **HELP_LAYOUT)  # keeps the formulas' layout
    bench.add_arguments(p)
    p.set_defaults(run=lambda args: bench.main_from_args(args))
