"""`bulkgc push`: make App Store Connect match the manifest; resumable, unattended-safe."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import shlex
import signal
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import anyio

from bulkgc.commands import HELP_LAYOUT, help_epilog
from bulkgc.config import RunSettings, add_arguments, resolve
from bulkgc.errors import EXIT_AUTH_OR_CONFIG, EXIT_INTERRUPTED
from bulkgc.pipeline import push
from bulkgc.progress import ProgressSink, choose_sink, install_log_handler
from bulkgc.report import (
    RunReport,
    check_output_path,
    format_summary,
    summary_to_dict,
    write_json_report,
    write_junit,
)
from bulkgc.report_html import write_html_report
from bulkgc.thumbnails import cache_for

T = TypeVar("T")

# After the first SIGINT/SIGTERM in-flight requests get this long to finish before they are cancelled.
STOP_GRACE_SECONDS = 8.0


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("push", help="push achievements, leaderboards, localizations and icons (resumable)",
                       description="Read App Store Connect, compare with the manifest and do only\n"
                                   "what differs: create/update achievements, leaderboards and their\n"
                                   "localizations, upload icons, wait until App Store Connect has\n"
                                   "processed them. Interrupted?\n"
                                   "Run the same command again to resume. Every option can also be set\n"
                                   "by the environment variable shown with it. With --submit, then add\n"
                                   "the edited versions to a review submission as `bulkgc submit` does\n"
                                   "(--send: and send it; --platform: of a new submission).",
                       epilog=help_epilog(
                           ["bulkgc push manifests/mygame.toml",
                            "bulkgc push manifests/mygame.toml --report report.json --junit junit.xml",
                            "BULKGC_DEADLINE=5h30m bulkgc push manifests/mygame.toml   # exit 4 = run again",
                            "bulkgc push manifests/mygame.toml --base-url http://127.0.0.1:PORT",
                            "bulkgc push manifests/mygame.toml --submit         # then submit for review",
                            "bulkgc push manifests/mygame.toml --submit --send  # ... and send it",
                            "bulkgc push MyGame/GameCenterResources.gamekit --bundle-id com.example.mygame --fix-icons",
                            "bulkgc push pulled/manifest.toml   # right after `bulkgc pull`: nothing to do"],
                           {0: "everything is done (or nothing needed doing; with --submit: and submitted)",
                            1: "some items failed or are blocked (e.g. a version in review); the summary "
                               "names them; with --submit also what blocks the submission",
                            2: "invalid input or usage (manifest, icons, flags, no manifest given, "
                               "--submit with --api v1): nothing was sent",
                            3: "authentication or configuration (key, key id, issuer id, journal in use)",
                            4: "interrupted (signal or --deadline): run the same command again to resume"}),
                       **HELP_LAYOUT)
    add_arguments(p)
    p.set_defaults(run=run)


STOP_SIGNALS = {signal.SIGINT, signal.SIGTERM}


def _ignore(signum: int, frame: Any) -> None:
    """A stop signal once the run is already ending: nothing more to do."""


def _hold_stop_signals() -> None:
    """From now on SIGINT/SIGTERM change nothing: the run is winding down. A Python handler, never the default
    disposition and never a blocked mask: blocked in the main thread, a signal goes to a worker thread, and
    under the default disposition a SIGTERM kills the process (exit -15) after the exit-4 message."""
    for signum in STOP_SIGNALS:
        signal.signal(signum, _ignore)


def _absorb_stop_signals() -> None:
    """After the run: further stop signals are ignored until the process exits (the run is already ending).
    SIG_IGN, not a Python handler: the interpreter resets its own handlers to the defaults while it shuts
    down, and a signal then would still end the process with 130/143, not the run's code."""
    for signum in STOP_SIGNALS:
        signal.signal(signum, signal.SIG_IGN)


async def _watch_signals(stop: anyio.Event, scope: anyio.CancelScope, out: Any) -> None:
    """The first SIGINT/SIGTERM stops new work and gives in-flight requests a grace period; the next cancels.

    Python-level handlers (not the event loop's signal handlers): removing those restores the default
    disposition, and a SIGTERM landing in that window would kill the process instead of ending it with 4."""
    loop = asyncio.get_running_loop()
    send, receive = anyio.create_memory_object_stream[int](64)

    def deliver(signum: int) -> None:
        with contextlib.suppress(anyio.WouldBlock, anyio.BrokenResourceError, anyio.ClosedResourceError):
            send.send_nowait(signum)

    def forward(signum: int, frame: Any) -> None:
        with contextlib.suppress(RuntimeError):  # the loop is already closed: the run is over
            loop.call_soon_threadsafe(deliver, signum)

    for signum in STOP_SIGNALS:
        signal.signal(signum, forward)
    try:
        async with receive:
            async for signum in receive:
                if not stop.is_set():
                    stop.set()
                    print(f"\nbulkgc: {signal.Signals(signum).name}: no new work starts; in-flight requests "
                          f"get {STOP_GRACE_SECONDS:.0f}s to finish (signal again to stop now)", file=out,
                          flush=True)
                    scope.deadline = anyio.current_time() + STOP_GRACE_SECONDS
                else:
                    _hold_stop_signals()
                    scope.cancel()
    finally:
        _hold_stop_signals()


async def run_with_signals(work: Callable[[anyio.Event], Awaitable[T]]) -> T | None:
    """Run `work(stop)` so SIGINT/SIGTERM stop it gracefully; None when it had to be cancelled outright."""
    stop = anyio.Event()
    result: T | None = None
    with anyio.CancelScope() as work_scope:
        async with anyio.create_task_group() as tg:
            tg.start_soon(_watch_signals, stop, work_scope, sys.stderr)
            try:
                result = await work(stop)
            finally:
                _hold_stop_signals()  # before the receiver goes away with the watcher
            tg.cancel_scope.cancel()
    return result


async def push_with_signals(settings: RunSettings, sink: ProgressSink,
                            on_target: Callable[[str, str], None] | None = None) -> RunReport | None:
    """Run `push` so that SIGINT/SIGTERM stop it gracefully; None when it had to be cancelled outright."""
    return await run_with_signals(lambda stop: push(settings, sink=sink, stop=stop, on_target=on_target))


def run_stoppable(work: Callable[[anyio.Event], Awaitable[T]]) -> T | None:
    """`anyio.run(run_with_signals, work)`; None when stopped outright (also by a signal before the receiver)."""
    try:
        return anyio.run(run_with_signals, work)
    except KeyboardInterrupt:
        return None  # a signal before the receiver was listening: stopped, resumable
    finally:
        _absorb_stop_signals()


def announce_target(settings: RunSettings, verb: str, app_id: str, key_id: str, *, out: Any = None) -> None:
    """The run's first line: where requests go (base URL and where it was set, app, key id, API version).

    A leftover BULKGC_BASE_URL shows here before anything is sent. Never the key itself. Not with --quiet,
    which promises failures and the summary only."""
    if settings.quiet:
        return
    out = out or sys.stderr
    base_origin = settings.origin("base_url")
    if settings.log_format == "json":
        now = time.time()
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now % 1 * 1000):03d}Z"
        print(json.dumps({"event": "target", "time": stamp,
                          "base_url": settings.base_url, "base_url_from": base_origin, "app_id": app_id,
                          "key_id": key_id, "api": settings.api}), file=out, flush=True)
        return
    origin = "" if base_origin == "default" else f" (from {base_origin})"
    print(f"{verb} {settings.base_url}{origin}: app {app_id}, key id {key_id}, API {settings.api}",
          file=out, flush=True)


def resume_command(settings: RunSettings) -> str:
    """The command that resumes this run (same manifest, API and journal: the journal knows the parts sent)."""
    cmd = "bulkgc push " + shlex.quote(str(settings.manifest))
    if settings.api != "v2":
        cmd += f" --api {settings.api}"
    if settings.journal is not None:
        cmd += " --journal " + shlex.quote(str(settings.journal))
    return cmd


def finish(settings: RunSettings, report: RunReport | None, *, summary: bool = True) -> int:
    """Print the summary, write the reports, return the exit code.

    With `--log-format json` the summary is one JSON line (`summary_to_dict`) and the only thing on stdout.
    `summary` False: a JSON summary is left to the caller (`push --submit` prints one for both steps).
    """
    as_json = settings.log_format == "json"
    if report is None:
        hint = (f"stopped before the run could finish cleanly; nothing is lost. Resume with: "
                f"{resume_command(settings)}")
        if as_json:
            print(json.dumps({"event": "summary", "command": "push", "exit_code": EXIT_INTERRUPTED,
                              "interrupted": True, "resume_hint": resume_command(settings), "message": hint},
                             separators=(",", ":")), flush=True)
        else:
            print(f"bulkgc: {hint}", file=sys.stderr)
        return EXIT_INTERRUPTED
    if report.interrupted:
        report.resume_hint = resume_command(settings)
    if settings.report:
        write_json_report(report, settings.report)
    if settings.junit:
        write_junit(report, settings.junit)
    if as_json:
        if summary:
            print(json.dumps(summary_to_dict(report), separators=(",", ":")), flush=True)
    else:
        print(format_summary(report))
    if settings.report_html:
        try:
            write_html_report(report, settings.report_html, cache_for(settings.journal_path))
        except OSError as exc:
            why = exc.strerror or exc
            print(f"bulkgc: could not write the HTML report {settings.report_html}: {why}; the push itself "
                  "is recorded: `bulkgc status --html FILE` renders it again", file=sys.stderr)
            return report.exit_code or EXIT_AUTH_OR_CONFIG
        print(f"HTML report: {settings.report_html}", file=sys.stderr)
    return report.exit_code


def run(args: argparse.Namespace) -> int:
    settings = resolve(args, check=("manifest", "assets", "credentials", "base_url"))
    if settings.submit:
        from bulkgc.submit import refuse_v1

        refuse_v1(settings)  # before anything is sent
    # an output that cannot be written is refused now, not after a whole push (exit 2, nothing sent)
    for path, flag in ((settings.report, "--report"), (settings.junit, "--junit"),
                       (settings.report_html, "--report-html")):
        if path is not None:
            check_output_path(path, flag)
    sink = choose_sink(stream=sys.stderr, log_format=settings.log_format, quiet=settings.quiet)
    install_log_handler(stream=sys.stderr, log_format=settings.log_format, quiet=settings.quiet)
    try:
        report = anyio.run(push_with_signals, settings, sink,
                           lambda app_id, key_id: announce_target(settings, "Pushing to", app_id, key_id))
    except KeyboardInterrupt:
        report = None  # a signal before the receiver was listening: stopped, resumable
    finally:
        _absorb_stop_signals()
    if not settings.submit:
        return finish(settings, report)
    # one JSON/JUnit report and one JSON summary line for both, written after the submit
    as_json = settings.log_format == "json"
    code = finish(settings.replace(report=None, junit=None), report, summary=not as_json)
    if report is None or code != 0:
        print(f"bulkgc: not submitting for review: the push did not finish cleanly (exit {code}); run the "
              "same command again", file=sys.stderr)
        if report is not None:
            finish_reports(settings, report)
            if as_json:
                print(json.dumps(summary_to_dict(report), separators=(",", ":")), flush=True)
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

    resume = resume_command(settings) + " --submit" + (" --send" if settings.send else "")
    result = run_stoppable(lambda stop: submit(settings, stop=stop))
    if result is None:
        print(f"bulkgc: stopped while submitting; nothing is lost. Resume with: {resume}", file=sys.stderr)
        return EXIT_INTERRUPTED
    report, lines = result
    if report.interrupted:
        report.resume_hint = resume
    combined = RunReport(command="push --submit", started=pushed.started, finished=report.finished,
                         items=pushed.items + report.items, totals=pushed.totals, exit_code=report.exit_code,
                         interrupted=report.interrupted, resume_hint=report.resume_hint)
    print_outcome(settings, report, lines, json_summary=combined)
    finish_reports(settings, combined)
    return report.exit_code
