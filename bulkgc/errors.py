"""The one exception tree of bulkgc.

    BulkgcError                    every error bulkgc raises on purpose; `str()` says what to do next
    ├── ConfigError                bad flags, environment, credentials (exit 3 for credentials, 2 for usage)
    │   ├── UsageError             the command line cannot work: something needed was not given (exit 2)
    │   │   └── OutputPathError    an output path (--report, --junit, --report-html...) cannot be written (exit 2)
    ├── ManifestError              the manifest cannot be read or is invalid (exit 2); carries `problems`
    ├── InvalidImageError          an icon fails the local checks (exit 2); carries `problems`
    ├── FileChangedError           an icon changed during the push: that item is redone or fails, not the run
    ├── JournalError               the resume journal is locked, corrupt or from a newer bulkgc
    ├── InterruptedRun             the run stopped early (signal, deadline) and can be resumed (exit 4)
    │   └── OutageError            App Store Connect did not answer beyond --outage-patience
    └── ApiError                   App Store Connect answered with an ErrorResponse or failed to answer
        ├── AuthError              401/403: key, key id, issuer or token rejected (exit 3)
        ├── NotFoundError          404
        ├── ConflictError          409 (e.g. a localization for that locale already exists)
        ├── RateLimitedError       429 RATE_LIMIT_EXCEEDED
        ├── ServerError            5xx
        └── TransportError         connection refused/reset/dropped, timeout: no HTTP answer at all

No aiohttp or jwt exception leaks out of `bulkgc.asc`; they are wrapped in these.
Messages never contain key material or tokens.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


class BulkgcError(Exception):
    """Base of every error bulkgc raises on purpose."""


class ConfigError(BulkgcError):
    """Configuration or credentials are missing or malformed."""


class UsageError(ConfigError):
    """The command line is incomplete (e.g. no manifest given): exit 2 with the command's usage line."""


class OutputPathError(UsageError):
    """An output path (`--report`, `--junit`, `--report-html`, ...) could not be written at the end of the run;
    found before any request (exit 2, without the usage line: the command line is complete, the path is not)."""


@dataclass(frozen=True)
class Problem:
    """One problem found in an input file: where it is, what is wrong, what to do."""

    location: str  # e.g. "manifests/game.toml: achievements[3].locales.fr-FR.name" or "assets/x.png"
    message: str  # what is wrong and how to fix it

    def __str__(self) -> str:
        return f"{self.location}: {self.message}"


class _ProblemsError(BulkgcError):
    """An error that lists every problem found at once."""

    headline = "problems found"

    def __init__(self, problems: list[Problem] | Problem | str, *, source: str | None = None) -> None:
        if isinstance(problems, str):
            problems = [Problem(source or "input", problems)]
        elif isinstance(problems, Problem):
            problems = [problems]
        self.problems: list[Problem] = list(problems)
        self.source = source
        lines = [f"{len(self.problems)} {self.headline}" + (f" in {source}" if source else "") + ":"]
        lines += [f"  - {p}" for p in self.problems]
        super().__init__("\n".join(lines))


class ManifestError(_ProblemsError):
    """The manifest is unreadable or invalid; `problems` lists every issue with its location."""

    headline = "manifest problem(s)"
    warnings: tuple[str, ...] = ()  # what a reader noticed besides the problems (unknown keys of a gamekit)


class InvalidImageError(_ProblemsError):
    """One or more icons fail the local checks; `problems` lists each file and the fix."""

    headline = "image problem(s)"
    reads_sent = False  # True when found while App Store Connect was being read (nothing was written)


class FileChangedError(BulkgcError):
    """An icon's file changed after it was checked; `retry` says whether uploading it again may succeed."""

    def __init__(self, message: str, *, retry: bool) -> None:
        super().__init__(message)
        self.retry = retry


class JournalError(BulkgcError):
    """The resume journal is locked by another run, corrupt, or of an unknown schema version."""


class InterruptedRun(BulkgcError):
    """The run stopped before finishing (signal or deadline); running the same command resumes it."""


class OutageError(InterruptedRun):
    """App Store Connect stopped answering for longer than the outage patience (or never answered): exit 4."""


@dataclass
class ErrorDetail:
    """One entry of Apple's ErrorResponse `errors[]`."""

    status: str = ""
    code: str = ""
    title: str = ""
    detail: str = ""
    id: str | None = None
    source: dict[str, Any] | None = None
    meta: dict[str, Any] | None = None

    @property
    def where(self) -> str | None:
        """The JSON pointer or query parameter the error points at, if any."""
        if not self.source:
            return None
        return self.source.get("pointer") or self.source.get("parameter")


class ApiError(BulkgcError):
    """App Store Connect refused a request or could not be reached.

    `status` is the HTTP status (0 when no answer came), `errors` Apple's parsed error entries.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int = 0,
        errors: list[ErrorDetail] | None = None,
        method: str | None = None,
        url: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.errors: list[ErrorDetail] = errors or []
        self.method = method
        self.url = url

    @property
    def code(self) -> str:
        """The first error's code (e.g. `ENTITY_ERROR.ATTRIBUTE.INVALID.DUPLICATE`), or ''."""
        return self.errors[0].code if self.errors else ""

    @property
    def title(self) -> str:
        return self.errors[0].title if self.errors else ""

    @property
    def detail(self) -> str:
        return self.errors[0].detail if self.errors else ""

    @property
    def source(self) -> dict[str, Any] | None:
        return self.errors[0].source if self.errors else None

    def has_code(self, prefix: str) -> bool:
        """True when any error code equals `prefix` or starts with `prefix.` (Apple's codes are hierarchical)."""
        return any(e.code == prefix or e.code.startswith(prefix + ".") for e in self.errors)


class AuthError(ApiError):
    """401/403: the token or key was rejected. Check key id, issuer id, the .p8 file and the key's role."""


class NotFoundError(ApiError):
    """404: the resource does not exist (or is not visible to this key)."""


class ConflictError(ApiError):
    """409: the request conflicts with the current state (duplicate locale, wrong state, ...)."""


class RateLimitedError(ApiError):
    """429 RATE_LIMIT_EXCEEDED: the hourly budget or the burst limit was exceeded."""


class ServerError(ApiError):
    """5xx from App Store Connect."""


class TransportError(ApiError):
    """No HTTP answer: connection refused, reset or dropped, or a timeout."""


#: errors that doom the whole run (they cancel it) rather than one item
#: (an outage beyond --outage-patience ends the run resumable, exit 4)
FATAL: tuple[type[BulkgcError], ...] = (AuthError, JournalError, OutageError)

#: the report's error code of an icon that failed its checks during a push (its item is not pushed; exit 2)
INVALID_IMAGE = "INVALID_IMAGE"


def meaningful_error(
    group: BaseExceptionGroup[Any], precedence: tuple[type[BaseException], ...] = (BulkgcError,)
) -> BaseException:
    """The leaf of an exception group (anyio task groups wrap errors in them) that explains it best.

    The first leaf of the first class in `precedence` that has one; else the first leaf, so that a bug stays
    visible as itself.
    """
    leaves: list[BaseException] = []

    def walk(exc: BaseException) -> None:
        if isinstance(exc, BaseExceptionGroup):
            for sub in exc.exceptions:
                walk(sub)
        else:
            leaves.append(exc)

    walk(group)
    for cls in precedence:
        for exc in leaves:
            if isinstance(exc, cls):
                return exc
    return leaves[0] if leaves else group


@dataclass
class ImageFailure:
    """An image that App Store Connect processed and rejected (`assetDeliveryState.state == FAILED`)."""

    codes: list[str] = field(default_factory=list)
    descriptions: list[str] = field(default_factory=list)


# Exit codes (documented in README "Exit codes").
EXIT_OK = 0
EXIT_ITEMS_FAILED = 1
EXIT_INVALID_INPUT = 2
EXIT_AUTH_OR_CONFIG = 3
EXIT_INTERRUPTED = 4
