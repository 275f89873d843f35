"""Run settings: one frozen, validated object per run, filled from flag > environment variable > default.

Each setting is declared once (name, type, default, environment variable, help) and the CLI builds its
options from that declaration, so `--help`, the environment variables and the README table cannot drift.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bulkgc.errors import ConfigError, ManifestError, Problem, UsageError
from bulkgc.fixicons import parse_color

DEFAULT_BASE_URL = "https://api.appstoreconnect.apple.com"

# fastlane's names for the same credentials (its app_store_connect_api_key action), read when the ASC_* one is
# unset
FASTLANE = "APP_STORE_CONNECT_API_KEY_"

NO_MANIFEST = ("no manifest given: name the manifest file (TOML or JSON, see docs/MANIFEST.md) on the "
               "command line or in BULKGC_MANIFEST; `bulkgc demo` pushes the bundled example to a local "
               "simulator")

_DURATION = re.compile(r"^\s*(?:(\d+(?:\.\d+)?)h)?\s*(?:(\d+(?:\.\d+)?)m)?\s*(?:(\d+(?:\.\d+)?)s?)?\s*$")


def parse_duration(text: str) -> float:
    """'6h', '90m', '1h30m', '45s' or '45' -> seconds."""
    m = _DURATION.match(str(text))
    if not m or not any(m.groups()) or not str(text).strip():
        raise ValueError(f"{text!r} is not a duration; use e.g. 45s, 15m, 6h or 1h30m")
    h, mnt, s = (float(g) if g else 0.0 for g in m.groups())
    return h * 3600 + mnt * 60 + s


def parse_bool(text: str) -> bool:
    v = str(text).strip().lower()
    if v in {"1", "true", "yes", "on"}:
        return True
    if v in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError(f"{text!r} is not a boolean; use true or false")


def setting(
    default: Any,
    help: str,
    *,
    env: str | None = None,
    parse: Callable[[str], Any] | None = None,
    choices: tuple[str, ...] | None = None,
    flag: str | None = None,
    metavar: str | None = None,
    cli: bool = True,
    secret: bool = False,
    env_aliases: tuple[str, ...] = (),
) -> Any:
    """Declare one setting: its default, help text, environment variable (and lower-priority alternative
    names, e.g. fastlane's) and parser."""
    meta = {"help": help, "env": env, "parse": parse, "choices": choices, "flag": flag,
            "metavar": metavar, "cli": cli, "env_aliases": env_aliases}
    return field(default=default, metadata=meta, repr=not secret)


def _positive_int(text: str) -> int:
    n = int(text)
    if n < 1:
        raise ValueError(f"{text} must be at least 1")
    return n


def _app_id(text: str) -> str:
    if not re.fullmatch(r"[0-9]+", str(text).strip()):
        raise ValueError(f"{text!r} is not an App Store Connect app id (digits, e.g. 1234567890)")
    return str(text).strip()


def _fraction(text: str) -> float:
    x = float(text)
    if not 0.0 <= x < 1.0:
        raise ValueError(f"{text} must be between 0 and 1 (e.g. 0.05 keeps 5% of the hourly budget free)")
    return x


@dataclass(frozen=True, kw_only=True)
class RunSettings:
    """Everything a push (or plan/status) run needs besides the manifest."""

    # No default: pushing the bundled example to a real account by accident must be impossible (only `demo`
    # falls back to manifests/example.toml).
    manifest: Path | None = setting(None, "the manifest (TOML or JSON, or an Xcode "
                                    "GameCenterResources.gamekit) describing the app's Game Center items",
                                    env="BULKGC_MANIFEST", parse=Path, flag="manifest", metavar="MANIFEST")
    assets: Path | None = setting(None, "directory holding the icons (default: as the manifest says)",
                                  env="BULKGC_ASSETS", parse=Path, metavar="DIR")
    app_id: str | None = setting(None, "App Store Connect app id, for a manifest without one (an Xcode "
                                 "GameCenterResources.gamekit carries none)", env="BULKGC_APP_ID",
                                 parse=_app_id, metavar="ID")
    bundle_id: str | None = setting(None, "the app's bundle id, looked up in App Store Connect when no app id "
                                    "is given (GET /v1/apps?filter[bundleId]=...)", env="BULKGC_BUNDLE_ID",
                                    metavar="BUNDLE_ID")
    fix_icons: bool = setting(False, "convert refused icons (opaque alpha channel, palette, grayscale, "
                              "16-bit, wrong square size) into fixed copies beside the journal; your files are "
                              "never changed", env="BULKGC_FIX_ICONS", parse=parse_bool)
    icon_background: tuple[int, int, int] | None = setting(
        None, "with --fix-icons: flatten semi-transparent icons onto this colour ('#RRGGBB')",
        env="BULKGC_ICON_BACKGROUND", parse=parse_color, metavar="'#RRGGBB'")
    api: str = setting("v2", "App Store Connect API generation to use: v2 (current) or v1 (deprecated endpoints)",
                       env="BULKGC_API", choices=("v2", "v1"))
    base_url: str = setting(DEFAULT_BASE_URL, "App Store Connect base URL (https; http only for a loopback simulator)",
                            env="BULKGC_BASE_URL", metavar="URL")
    key_id: str | None = setting(None, "API key id (the 10-character id shown in App Store Connect)",
                                 env="ASC_KEY_ID", metavar="ID", env_aliases=(FASTLANE + "KEY_ID",))
    issuer_id: str | None = setting(None, "issuer id (UUID); omit for an individual key",
                                    env="ASC_ISSUER_ID", metavar="UUID",
                                    env_aliases=(FASTLANE + "ISSUER_ID",))
    private_key_path: Path | None = setting(None, "path of the .p8 private key file",
                                            env="ASC_PRIVATE_KEY_PATH", parse=Path, metavar="FILE",
                                            env_aliases=(FASTLANE + "KEY_FILEPATH",))
    private_key: str | None = setting(None, "the .p8 key text itself (environment only, for CI secret stores)",
                                      env="ASC_PRIVATE_KEY", cli=False, secret=True,
                                      env_aliases=(FASTLANE + "KEY",))
    api_key_json: Path | None = setting(None, "fastlane-style API key JSON file (key_id, issuer_id, key)",
                                        env="ASC_API_KEY_JSON", parse=Path, metavar="FILE")
    journal: Path | None = setting(None, "resume journal (default: .bulkgc/journal.sqlite next to the manifest)",
                                   env="BULKGC_JOURNAL", parse=Path, metavar="FILE")
    images_in_flight: int = setting(16, "images being reserved/uploaded/committed at once",
                                    env="BULKGC_IMAGES_IN_FLIGHT", parse=_positive_int, metavar="N")
    api_concurrency: int = setting(10, "API requests in flight at most; the server's burst limit is learned "
                                   "from its 429s and remembered beside the journal",
                                   env="BULKGC_API_CONCURRENCY", parse=_positive_int, metavar="N")
    upload_concurrency: int = setting(16, "upload-part requests in flight at once",
                                      env="BULKGC_UPLOAD_CONCURRENCY", parse=_positive_int, metavar="N")
    poll_interval: float = setting(2.0, "seconds between polls of a version's images while processing",
                                   env="BULKGC_POLL_INTERVAL", parse=parse_duration, metavar="DURATION")
    processing_timeout: float = setting(300.0, "an image still processing after this long is deleted and re-uploaded",
                                        env="BULKGC_PROCESSING_TIMEOUT", parse=parse_duration, metavar="DURATION")
    image_attempts: int = setting(3, "times one image is uploaded before it is reported failed",
                                  env="BULKGC_IMAGE_ATTEMPTS", parse=_positive_int, metavar="N")
    on_live: str = setting("new-version",
                           "when an item's latest version is LIVE and differs: create a new version, or skip it",
                           env="BULKGC_ON_LIVE", choices=("new-version", "skip"))
    deadline: float | None = setting(None, "stop starting new work after this long and exit resumable (e.g. 6h)",
                                     env="BULKGC_DEADLINE", parse=parse_duration, metavar="DURATION")
    rate_margin: float = setting(0.02, "fraction of the hourly request budget left for other tools sharing the key",
                                 env="BULKGC_RATE_MARGIN", parse=_fraction, metavar="FRACTION")
    rate_window: float = setting(3600.0, "length of the key's rolling request window (App Store Connect: one "
                                 "hour; shorter only against a simulator with a compressed hour)",
                                 env="BULKGC_RATE_WINDOW", parse=parse_duration, metavar="DURATION")
    token_lifetime: float = setting(1200.0, "JWT lifetime (App Store Connect accepts at most 20 minutes)",
                                    env="BULKGC_TOKEN_LIFETIME", parse=parse_duration, metavar="DURATION")
    request_timeout: float = setting(60.0, "seconds before one HTTP request is abandoned and retried",
                                     env="BULKGC_REQUEST_TIMEOUT", parse=parse_duration, metavar="DURATION")
    outage_patience: float = setting(900.0, "when App Store Connect stops answering beyond one request's "
                                     "retries, start no new work and keep trying this long before stopping "
                                     "resumable (exit 4)",
                                     env="BULKGC_OUTAGE_PATIENCE", parse=parse_duration, metavar="DURATION")
    report: Path | None = setting(None, "write a JSON report here", env="BULKGC_REPORT", parse=Path, metavar="FILE")
    junit: Path | None = setting(None, "write a JUnit XML report here", env="BULKGC_JUNIT", parse=Path, metavar="FILE")
    report_html: Path | None = setting(None, "write an HTML report here: a card per localization with "
                                       "its icon, state and Apple's codes (self-contained; open it in any "
                                       "browser)",
                                       env="BULKGC_REPORT_HTML", parse=Path, metavar="FILE")
    log_format: str = setting("auto", "auto: progress bars on a terminal (one per stage with work), plain lines "
                              "otherwise; json: one event per line on stderr, the summary as one JSON line on stdout",
                              env="BULKGC_LOG_FORMAT", choices=("auto", "plain", "json"))
    quiet: bool = setting(False, "print only failures and the final summary", env="BULKGC_QUIET", parse=parse_bool)
    platform: str = setting("IOS", "platform of a review submission bulkgc creates (submit, push --submit)",
                            env="BULKGC_PLATFORM", choices=("IOS", "MAC_OS", "TV_OS", "VISION_OS"))
    send: bool = setting(False, "submit: send the review submission to App Review (submitted: true); "
                         "without it the submission is left ready for a person to send",
                         env="BULKGC_SEND", parse=parse_bool)
    submit: bool = setting(False, "push: once everything is pushed and every image is COMPLETE, add the "
                           "edited versions to a review submission (as bulkgc submit does)",
                           env="BULKGC_SUBMIT", parse=parse_bool)

    def __post_init__(self) -> None:
        if self.rate_window <= 0:
            raise ConfigError("the rate-limit window must be a positive number of seconds")
        if self.token_lifetime > 1200 or self.token_lifetime < 10:
            raise ConfigError("token lifetime must be between 10 seconds and 20 minutes (App Store Connect's limit)")

    @property
    def manifest_file(self) -> Path:
        """The manifest; UsageError when none was given (by argument or BULKGC_MANIFEST)."""
        if self.manifest is None:
            raise UsageError(NO_MANIFEST)
        return self.manifest

    @property
    def journal_path(self) -> Path:
        """Where the resume journal lives."""
        if self.journal is not None:
            return self.journal
        return self.manifest_file.resolve().parent / ".bulkgc" / "journal.sqlite"

    def origin(self, name: str) -> str:
        """Where setting `name` got its value: 'flag --x', 'environment variable NAME', 'default', ..."""
        return origin_of(self, name)

    def replace(self, **changes: Any) -> RunSettings:
        return dataclasses.replace(self, **changes)


def _flag_name(f: dataclasses.Field[Any]) -> str:
    return f.metadata.get("flag") or "--" + f.name.replace("_", "-")


def add_arguments(parser: argparse.ArgumentParser, cls: type = RunSettings, *, only: set[str] | None = None) -> None:
    """Add one option per declared setting to `parser` (defaults stay None so env/defaults apply later)."""
    for f in dataclasses.fields(cls):
        meta = f.metadata
        if not meta.get("cli", True) or (only is not None and f.name not in only):
            continue
        env = meta.get("env")
        default_text = "" if f.default is None else f" (default: {f.default})"
        help_text = meta["help"] + default_text + (f" [env {env}]" if env else "")
        name = _flag_name(f)
        if not name.startswith("--"):  # positional
            parser.add_argument(name, nargs="?", default=None, help=help_text, metavar=meta.get("metavar"))
        elif f.type in ("bool", bool) or isinstance(f.default, bool):
            parser.add_argument(name, dest=f.name, action="store_const", const="true", default=None, help=help_text)
        else:
            parser.add_argument(name, dest=f.name, default=None, help=help_text, choices=meta.get("choices"),
                                metavar=meta.get("metavar") if not meta.get("choices") else None)


def from_sources(
    cls: type = RunSettings,
    args: argparse.Namespace | None = None,
    env: Mapping[str, str] | None = None,
    **overrides: Any,
) -> Any:
    """Build settings: explicit overrides > command-line flag > environment variable > default."""
    env = os.environ if env is None else env
    values: dict[str, Any] = {}
    origins: dict[str, str] = {}
    problems: list[str] = []
    for f in dataclasses.fields(cls):
        meta = f.metadata
        raw: Any = None
        origin = ""
        if f.name in overrides:
            values[f.name] = overrides[f.name]
            origins[f.name] = "set by the caller"
            continue
        if args is not None and getattr(args, f.name, None) is not None:
            name = _flag_name(f)
            raw = getattr(args, f.name)
            origin = f"flag {name}" if name.startswith("--") else f"argument {meta['metavar']}"
        else:
            for var in (meta["env"], *meta.get("env_aliases", ())) if meta.get("env") else ():
                if env.get(var, "") != "":
                    raw, origin = env[var], f"environment variable {var}"
                    break
        if raw is None:
            continue
        origins[f.name] = origin
        try:
            if meta.get("choices") and raw not in meta["choices"]:
                raise ValueError(f"{raw!r} is not one of {', '.join(meta['choices'])}")
            values[f.name] = meta["parse"](raw) if meta.get("parse") and isinstance(raw, str) else raw
        except ValueError as exc:
            problems.append(f"{origin}: {exc}")
    if problems:
        raise ConfigError("invalid settings:\n  - " + "\n  - ".join(problems))
    settings = cls(**values)
    # Kept beside the frozen fields (not one of them) so an error about a setting can say where it came from.
    object.__setattr__(settings, "_origins", origins)
    return settings


def origin_of(settings: Any, name: str) -> str:
    """Where `settings.name` came from: 'flag --assets', 'environment variable BULKGC_ASSETS', 'default'..."""
    return str(getattr(settings, "_origins", {}).get(name, "default"))


def resolve(args: argparse.Namespace | None, *, env: Mapping[str, str] | None = None,
            check: tuple[str, ...] = ("manifest", "assets"), **overrides: Any) -> RunSettings:
    """The one settings path of validate, plan, push and status: flag > environment variable > default, then
    the files and URL each command uses are checked before any work, each error naming where its value came
    from. `check` lists what to check: manifest, assets, credentials, base_url."""
    settings: RunSettings = from_sources(RunSettings, args, env, **overrides)
    check_settings(settings, check)
    return settings


def check_settings(settings: RunSettings, check: tuple[str, ...]) -> None:
    """Check the settings named in `check` (see `resolve`); every error names the value's origin."""
    if "manifest" in check:
        if settings.manifest is None:
            raise UsageError(NO_MANIFEST)
        from bulkgc.gamekit import is_gamekit  # here: bulkgc.kinds imports bulkgc.asc, which imports this

        if not (is_gamekit(Path(settings.manifest)) and Path(settings.manifest).is_dir()):  # Xcode's bundle
            _require(settings, "manifest", is_dir=False)
    if "assets" in check and settings.assets is not None:
        _require(settings, "assets", is_dir=True)
    if "credentials" in check:
        if settings.private_key_path is not None and settings.private_key:
            file_from, text_from = settings.origin("private_key_path"), settings.origin("private_key")
            raise ConfigError(f"the key is given twice: as a file ({file_from}) and as text ({text_from}); "
                              "keep only one of them")
        for name, what in (("private_key_path", "key file"), ("api_key_json", "API key JSON")):
            path = getattr(settings, name)
            if path is not None and not Path(path).expanduser().is_file():
                raise ConfigError(f"{what} {path} (from {settings.origin(name)}) does not exist or is not a "
                                  "file; check the path")
    if "base_url" in check:
        from bulkgc.asc.client import ClientConfig  # here: bulkgc.asc imports this module

        try:
            ClientConfig(base_url=settings.base_url)
        except ConfigError as exc:
            raise ConfigError(f"{exc} (from {settings.origin('base_url')})") from None


def _require(settings: RunSettings, name: str, *, is_dir: bool) -> None:
    """ManifestError (exit 2, nothing sent) when the file or directory setting `name` is missing."""
    path = Path(getattr(settings, name))
    where = settings.origin(name)
    if is_dir and not path.is_dir():
        why = "is a file, not a directory" if path.exists() else "does not exist"
        raise ManifestError(Problem(str(path), f"icons directory {why} (from {where}); fix the path or unset "
                                               "it"))
    if not is_dir and not path.is_file():
        why = "is a directory, not a manifest file" if path.is_dir() else "file not found"
        raise ManifestError(Problem(str(path), f"{why} (from {where}); check the path"))


def settings_table(cls: type = RunSettings) -> list[tuple[str, str, str, str]]:
    """(flag, environment variable, default, help) rows for documentation."""
    rows = []
    for f in dataclasses.fields(cls):
        meta = f.metadata
        rows.append((_flag_name(f) if meta.get("cli", True) else "", meta.get("env") or "",
                     "" if f.default is None else str(f.default), meta["help"]))
    return rows
