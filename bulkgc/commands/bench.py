"""`bulkgc bench`: the benchmark (speed, request economy, memory) against a simulator in a separate process."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    from bulkgc import bench

    p = sub.add_parser("bench", help="benchmark a push against a simulator in a separate process",
                       description=bench.__doc__)
    bench.add_arguments(p)
    p.set_defaults(run=lambda args: bench.main_from_args(args))
