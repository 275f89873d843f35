"""The command-line shell: parses arguments, runs one command, maps exceptions to documented exit codes.

Exit codes: 0 all done; 1 some items failed; 2 invalid input or usage; 3 authentication or configuration;
4 interrupted (run the same command again to resume).
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import os
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path

from bulkgc import __version__
from bulkgc.errors import (
    EXIT_AUTH_OR_CONFIG,
    EXIT_INTERRUPTED,
    EXIT_INVALID_INPUT,
    EXIT_ITEMS_FAILED,
    ApiError,
    AuthError,
    BulkgcError,
    ConfigError,
    InterruptedRun,
    InvalidImageError,
    JournalError,
    ManifestError,
    OutputPathError,
    ServerError,
    TransportError,
    UsageError,
    meaningful_error,
)
from bulkgc.redact import redact_text

COMMANDS: tuple[str, ...] = ("demo", "push", "submit", "plan", "validate", "status", "pull", "sim", "import_")
COMMANDS += (("bench",) if importlib.util.find_spec("bulkgc.bench") else ())

EPILOG = """exit codes:
  0  everything is done
  1  some items failed or could not be applied (summary and --report name them with Apple's codes);
     also an unexpected internal error (a bug: the message says so)
  2  invalid input or usage (manifest, icons, flags): nothing was sent
  3  authentication or configuration (key, key id, issuer id, journal in use)
  4  interrupted (signal, --deadline, App Store Connect unreachable or down beyond --outage-patience):
     run the same command again to resume
  141 stdout was closed by its reader (e.g. piped into head): stopped quietly

Each command's --help has its own examples and exit codes, e.g. `bulkgc push --help`.
"""


def _command_module(word: str | None) -> str | None:
    """The module of the command named `word` (`import` lives in import_), None if `word` names none."""
    if word is None:
        return None
    name = "import_" if word == "import" else word
    return name if name in COMMANDS and word != "import_" else None


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The whole command line, or with `only` (a module of COMMANDS) the one command about to run: each
    command module imports what its command needs, so `bulkgc sim` or `bulkgc status` does not load the push
    pipeline (most of a second of start-up); `bulkgc --help` and an unknown command see every command."""
    parser = argparse.ArgumentParser(
        prog="bulkgc",
        description="Push Game Center achievements, leaderboards, leaderboard sets, activities and challenges, their "
        "localizations and images to App Store Connect in bulk.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"bulkgc {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS if only is None else (only,):
        importlib.import_module(f"bulkgc.commands.{name}").register(sub)
    for command_parser in sub.choices.values():
        command_parser.set_defaults(command_parser=command_parser)  # for the usage line of a UsageError
    return parser


def _fail(message: str, code: int) -> int:
    print(f"bulkgc: {redact_text(message)}", file=sys.stderr)
    return code


# What a shell reports for a program that SIGPIPE ended (128 + 13), e.g. `git log | head -1`.
EXIT_STDOUT_CLOSED = 141

# When a task group holds several errors, the one that explains the run best decides the exit code.
_PRECEDENCE: tuple[type[BaseException], ...] = (
    KeyboardInterrupt, BrokenPipeError, AuthError, ConfigError, JournalError, ManifestError,
    InvalidImageError, InterruptedRun, BulkgcError,
)


def _stdout_closed() -> int:
    """Whoever read our output went away (`bulkgc status | head -1`): stop quietly, as Unix tools do."""
    # Later writes (and the interpreter's final flush) go to /dev/null instead of raising again.
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # stdout is not a real file (e.g. captured by a test)
        pass
    return EXIT_STDOUT_CLOSED


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `bulkgc` console script."""
    words = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(_command_module(words[0] if words else None))
    try:
        args = parser.parse_args(argv)
    except SystemExit:  # --help, --version or a usage error: already printed, but maybe into a closed pipe
        try:
            sys.stdout.flush()
        except BrokenPipeError:
            return _stdout_closed()
        raise
    try:
        try:
            code = int(args.run(args) or 0)
            sys.stdout.flush()  # a closed pipe shows here, not in the interpreter's exit
            return code
        except BaseExceptionGroup as group:
            raise meaningful_error(group, _PRECEDENCE) from None
    except BrokenPipeError:
        return _stdout_closed()
    except OutputPathError as exc:
        return _fail(f"{exc}\nNothing was sent to App Store Connect.", EXIT_INVALID_INPUT)
    except UsageError as exc:
        getattr(args, "command_parser", parser).print_usage(sys.stderr)
        return _fail(str(exc), EXIT_INVALID_INPUT)
    except (ManifestError, InvalidImageError) as exc:
        if getattr(exc, "reads_sent", False):
            return _fail(f"{exc}\nNothing was written to App Store Connect (it was only read).",
                         EXIT_INVALID_INPUT)
        return _fail(f"{exc}\nNothing was sent to App Store Connect.", EXIT_INVALID_INPUT)
    except AuthError as exc:
        return _fail(str(exc), EXIT_AUTH_OR_CONFIG)
    except (ConfigError, JournalError) as exc:
        return _fail(str(exc), EXIT_AUTH_OR_CONFIG)
    except InterruptedRun as exc:
        return _fail(str(exc), EXIT_INTERRUPTED)
    except (TransportError, ServerError) as exc:
        # no answer (or only 5xx) after every retry: transient by nature, so resumable (CI retries exit 4)
        return _fail(f"App Store Connect could not be reached: {exc}. Nothing is lost: run the same command "
                     "again to resume.", EXIT_INTERRUPTED)
    except ApiError as exc:
        return _fail(f"App Store Connect error: {exc}", EXIT_ITEMS_FAILED)
    except BulkgcError as exc:
        return _fail(str(exc), EXIT_ITEMS_FAILED)
    except KeyboardInterrupt:
        return _fail("interrupted; run the same command again to resume", EXIT_INTERRUPTED)
    except Exception as exc:  # noqa: BLE001 - a bug: one redacted line, never a raw traceback that may hold secrets
        if os.environ.get("BULKGC_DEBUG", "") not in ("", "0"):
            print(redact_text(traceback.format_exc()), file=sys.stderr, end="")
        frame = traceback.extract_tb(exc.__traceback__)[-1] if exc.__traceback__ else None
        where = f" at {Path(frame.filename).name}:{frame.lineno}" if frame else ""
        return _fail(f"internal error ({type(exc).__name__}{where}: {exc}). This is a bug in bulkgc, please report "
                     "it; work already done is kept, so running the same command again resumes. Set BULKGC_DEBUG=1 "
                     "for the full (redacted) traceback.", EXIT_ITEMS_FAILED)
