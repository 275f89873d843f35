"""`bulkgc submit`: add the manifest's edited versions to a review submission (and, with --send, send it)."""

from __future__ import annotations

import argparse
import json
import shlex
import sys

from bulkgc.commands import HELP_LAYOUT, help_epilog
from bulkgc.commands.push import announce_target, run_stoppable
from bulkgc.config import RunSettings, add_arguments, resolve
from bulkgc.errors import EXIT_INTERRUPTED
from bulkgc.report import (
    RunReport,
    check_output_path,
    format_summary,
    summary_to_dict,
    write_json_report,
    write_junit,
)
from bulkgc.submit import refuse_v1, submit

OPTIONS = {
    "manifest",
    "assets",
    "api",
    "base_url",
    "key_id",
    "issuer_id",
    "private_key_path",
    "api_key_json",
    "journal",
    "api_concurrency",
    "poll_interval",
    "processing_timeout",
    "deadline",
    "rate_margin",
    "rate_window",
    "token_lifetime",
    "request_timeout",
    "report",
    "junit",
    "log_format",
    "quiet",
    "platform",
    "send",
}

DESCRIPTION = """\
Add the Game Center versions this manifest describes to a review submission of the app, so App Review can
take them (App Store Connect API 4.2+: achievements and leaderboards today; a kind whose declaration names its
review item relationship is submitted the same way).

Only when App Store Connect holds what the manifest says and every image of the manifest is COMPLETE: images
still processing are waited for (--processing-timeout); a FAILED image, or an item a push has yet to change,
blocks the run (exit 1) and is named. Each version in an editable state (PREPARE_FOR_SUBMISSION,
DEVELOPER_REJECTED, REJECTED) that no open submission holds yet is added to the app's open review submission
(READY_FOR_REVIEW) of --platform, or to a new one; more than 200 go into several submissions (stated).
Without --send the submission is left READY_FOR_REVIEW for a person to send in App Store Connect; with --send
it is sent (submitted: true). A first version of an item (never live) goes to App Review only with an app
version: --send leaves such a submission open and says so. --api v1 has no versions and is refused.

Idempotent and resumable: a re-run adds nothing twice (it reads the open submissions first), a lost answer is
looked up before anything is sent again, and the journal records each item added. `bulkgc plan` shows what
submit would add; `bulkgc push --submit [--send]` pushes, waits for the images, then submits.
"""

EPILOG = help_epilog(
    [
        "bulkgc submit manifests/mygame.toml          # add the versions; a person sends the submission",
        "bulkgc submit manifests/mygame.toml --send   # add them and send the submission to App Review",
        "bulkgc submit manifests/mygame.toml --platform MAC_OS --report submit.json",
    ],
    {
        0: "every version is in a submission (and sent, with --send), or there was nothing to submit",
        1: "something blocks it (an item not pushed yet, a FAILED or unfinished image, a first-time item "
        "with --send) or an item could not be added; the summary and --report name each",
        2: "invalid input or usage (manifest, icons, flags, no manifest given, --api v1): nothing was sent",
        3: "authentication or configuration (key, key id, issuer id, journal in use)",
        4: "interrupted (signal or --deadline): run the same command again to resume",
    },
)


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "submit",
        help="add the pushed versions to a review submission (--send: send it)",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=HELP_LAYOUT["formatter_class"],
    )
    add_arguments(p, only=OPTIONS)
    p.set_defaults(run=run)


def resume_command(settings: RunSettings) -> str:
    cmd = "bulkgc submit " + shlex.quote(str(settings.manifest))
    if settings.platform != "IOS":
        cmd += f" --platform {settings.platform}"
    if settings.send:
        cmd += " --send"
    if settings.journal is not None:
        cmd += " --journal " + shlex.quote(str(settings.journal))
    return cmd


def print_outcome(
    settings: RunSettings, report: RunReport, lines: list[str], *, json_summary: RunReport | None = None
) -> None:
    """Each item added (unless --quiet), what happened to each submission, then the summary.

    With `--log-format json` the summary is one JSON line, the only thing on stdout; the rest is on stderr."""
    as_json = settings.log_format == "json"
    out = sys.stderr if as_json else sys.stdout
    if not settings.quiet:
        for r in report.items:
            if r.kind == "review" and r.outcome == "done":
                print(f"added {r.gc_kind} {r.vendor_identifier}: {r.message}", file=out)
    for line in lines:
        print(line, file=out)
    if as_json:
        print(json.dumps(summary_to_dict(json_summary or report), separators=(",", ":")), flush=True)
    else:
        print(format_summary(report))


def finish(settings: RunSettings, result: tuple[RunReport, list[str]] | None) -> int:
    if result is None:
        print(
            f"bulkgc: stopped before the run could finish cleanly; nothing is lost. Resume with: "
            f"{resume_command(settings)}",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED
    report, lines = result
    if report.interrupted:
        report.resume_hint = resume_command(settings)
    if settings.report:
        write_json_report(report, settings.report)
    if settings.junit:
        write_junit(report, settings.junit)
    print_outcome(settings, report, lines)
    return report.exit_code


def run(args: argparse.Namespace) -> int:
    settings = resolve(args, check=("manifest", "assets", "credentials", "base_url"))
    refuse_v1(settings)
    # an output that cannot be written is refused now, not after the work (exit 2, nothing sent)
    for path, flag in ((settings.report, "--report"), (settings.junit, "--junit")):
        if path is not None:
            check_output_path(path, flag)
    result = run_stoppable(
        lambda stop: submit(
            settings,
            stop=stop,
            on_target=lambda app_id, key_id: announce_target(settings, "Submitting to", app_id, key_id),
        )
    )
    return finish(settings, result)
