"""`bulkgc push`: make App Store Connect match the manifest; resumable, unattended-safe."""

from __future__ import annotations

import argparse
import shlex
import signal
import sys
import textwrap
from typing import Any

import anyio

from bulkgc.config import RunSettings, add_arguments, from_sources
from bulkgc.errors import EXIT_INTERRUPTED
from bulkgc.pipeline import push
from bulkgc.progress import ProgressSink, choose_sink, install_log_handler
from bulkgc.report import RunReport, format_summary, write_json_report, write_junit

EXAMPLES = """examples:
  bulkgc push manifests/mygame.toml                  # the manifest's app, icons as the manifest says
  bulkgc push MyGame/GameCenterResources.gamekit --bundle-id com.example.mygame --fix-icons
                                                     # Xcode's file; RGBA icons uploaded as fixed RGB copies
  bulkgc push pulled/manifest.toml                   # right after `bulkgc pull`: nothing to do
"""

# After the first SIGINT/SIGTERM in-flight requests get this long to finish before they are cancelled.
STOP_GRACE_SECONDS = 8.0


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "push",
        help="push achievements, leaderboards, localizations and icons (resumable)",
        description=textwrap.fill(
            "Read App Store Connect, compare with the manifest and do only what differs: create/update "
            "achievements, leaderboards and localizations, upload icons, wait until App Store Connect has "
            "processed them. Run it again to resume.",
            100,
        ),
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_arguments(p)
    p.set_defaults(run=run)


async def _watch_signals(stop: anyio.Event, scope: anyio.CancelScope, out: Any) -> None:
    with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async for signum in signals:
            if not stop.is_set():
                stop.set()
                print(f"\nbulkgc: {signal.Signals(signum).name}: no new work starts; in-flight requests get "
                      f"{STOP_GRACE_SECONDS:.0f}s to finish (signal again to stop now)", file=out, flush=True)
                scope.deadline = anyio.current_time() + STOP_GRACE_SECONDS
            else:
                scope.cancel()


async def push_with_signals(settings: RunSettings, sink: ProgressSink) -> RunReport | None:
    """Run `push` so that SIGINT/SIGTERM stop it gracefully; None when it had to be cancelled outright."""
    stop = anyio.Event()
    report: RunReport | None = None
    with anyio.CancelScope() as work_scope:
        async with anyio.create_task_group() as tg:
            tg.start_soon(_watch_signals, stop, work_scope, sys.stderr)
            report = await push(settings, sink=sink, stop=stop)
            tg.cancel_scope.cancel()
    return report


def resume_command(settings: RunSettings) -> str:
    """The command that resumes this run (same manifest, API and journal: the journal knows the parts sent)."""
    cmd = "bulkgc push " + shlex.quote(str(settings.manifest))
    if settings.api != "v2":
        cmd += f" --api {settings.api}"
    if settings.journal is not None:
        cmd += " --journal " + shlex.quote(str(settings.journal))
    return cmd


def finish(settings: RunSettings, report: RunReport | None) -> int:
    """Print the summary, write the reports, return the exit code."""
    if report is None:
        print(f"bulkgc: stopped before the run could finish cleanly; nothing is lost. Resume with: "
              f"{resume_command(settings)}", file=sys.stderr)
        return EXIT_INTERRUPTED
    if report.interrupted:
        report.resume_hint = resume_command(settings)
    if settings.report:
        write_json_report(report, settings.report)
    if settings.junit:
        write_junit(report, settings.junit)
    print(format_summary(report))
    return report.exit_code


def run(args: argparse.Namespace) -> int:
    settings = from_sources(args=args)
    sink = choose_sink(stream=sys.stderr, log_format=settings.log_format, quiet=settings.quiet)
    install_log_handler(stream=sys.stderr, log_format=settings.log_format, quiet=settings.quiet)
    report = anyio.run(push_with_signals, settings, sink)
    return finish(settings, report)
