"""`bulkgc push`: make App Store Connect match the manifest; resumable, unattended-safe."""

from __future__ import annotations

import argparse
import shlex
import signal
import sys
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import anyio

from bulkgc.config import RunSettings, add_arguments, from_sources
from bulkgc.errors import EXIT_INTERRUPTED
from bulkgc.pipeline import push
from bulkgc.progress import ProgressSink, choose_sink, install_log_handler
from bulkgc.report import RunReport, format_summary, write_json_report, write_junit

T = TypeVar("T")

EPILOG = """\
examples:
  bulkgc push manifests/mygame.toml                  # push; run it again to resume
  bulkgc push manifests/mygame.toml --deadline 5h30m --report report.json --junit junit.xml
  bulkgc push manifests/mygame.toml --submit         # then add the edited versions to a review submission
  bulkgc push manifests/mygame.toml --submit --send  # ... and send it to App Review

exit codes:
  0  everything is done (with --submit: and submitted)
  1  some items failed or could not be applied; with --submit, also what blocks the submission (not
     submitted when the push did not finish cleanly)
  2  invalid input or usage (manifest, icons, flags, --submit with --api v1): nothing was sent
  3  authentication or configuration (key, key id, issuer id, journal in use)
  4  interrupted (signal or --deadline): run the same command again to resume
"""

# After the first SIGINT/SIGTERM in-flight requests get this long to finish before they are cancelled.
STOP_GRACE_SECONDS = 8.0


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("push", help="push achievements, leaderboards, localizations and icons (resumable)",
                       description="Read App Store Connect, compare with the manifest and do only what "
                                   "differs: create/update achievements, leaderboards and localizations, upload "
                                   "icons, wait until App Store Connect has processed them. Run it again to resume. "
                                   "With --submit, then add the edited versions to a review submission as "
                                   "`bulkgc submit` does (--send: and send it; --platform: of a new submission).",
                       epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
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


async def run_with_signals(work: Callable[[anyio.Event], Awaitable[T]]) -> T | None:
    """Run `work(stop)` so SIGINT/SIGTERM stop it gracefully; None when it had to be cancelled outright."""
    stop = anyio.Event()
    result: T | None = None
    with anyio.CancelScope() as work_scope:
        async with anyio.create_task_group() as tg:
            tg.start_soon(_watch_signals, stop, work_scope, sys.stderr)
            result = await work(stop)
            tg.cancel_scope.cancel()
    return result


async def push_with_signals(settings: RunSettings, sink: ProgressSink) -> RunReport | None:
    """Run `push` so that SIGINT/SIGTERM stop it gracefully; None when it had to be cancelled outright."""
    return await run_with_signals(lambda stop: push(settings, sink=sink, stop=stop))


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
    if settings.submit:
        from bulkgc.submit import refuse_v1

        refuse_v1(settings)  # before anything is sent
    sink = choose_sink(stream=sys.stderr, log_format=settings.log_format, quiet=settings.quiet)
    install_log_handler(stream=sys.stderr, log_format=settings.log_format, quiet=settings.quiet)
    report = anyio.run(push_with_signals, settings, sink)
    if not settings.submit:
        return finish(settings, report)
    code = finish(settings.replace(report=None, junit=None), report)  # one report for both, written below
    if report is None or code != 0:
        print(f"bulkgc: not submitting for review: the push did not finish cleanly (exit {code}); run the "
              "same command again", file=sys.stderr)
        if report is not None:
            finish_reports(settings, report)
        return code
    return submit_after_push(settings, report)


def finish_reports(settings: RunSettings, report: RunReport) -> None:
    if settings.report:
        write_json_report(report, settings.report)
    if settings.junit:
        write_junit(report, settings.junit)


def submit_after_push(settings: RunSettings, pushed: RunReport) -> int:
    """`push --submit`: submit as `bulkgc submit` does; one report holds the push's items and the submit's."""
    from bulkgc.commands.submit import print_outcome
    from bulkgc.submit import submit

    result = anyio.run(run_with_signals, lambda stop: submit(settings, stop=stop))
    if result is None:
        print("bulkgc: stopped while submitting; nothing is lost. Resume with: " + resume_command(settings)
              + " --submit" + (" --send" if settings.send else ""), file=sys.stderr)
        return EXIT_INTERRUPTED
    report, lines = result
    if report.interrupted:
        report.resume_hint = resume_command(settings) + " --submit" + (" --send" if settings.send else "")
    print_outcome(settings, report, lines)
    combined = RunReport(command="push --submit", started=pushed.started, finished=report.finished,
                         items=pushed.items + report.items, totals=pushed.totals, exit_code=report.exit_code,
                         interrupted=report.interrupted, resume_hint=report.resume_hint)
    finish_reports(settings, combined)
    return report.exit_code
