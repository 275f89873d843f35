"""`bulkgc sim`: run the local App Store Connect simulator until SIGINT/SIGTERM (then save its state)."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import signal
import sys
import types
import typing
from dataclasses import MISSING
from pathlib import Path
from typing import Any

from bulkgc.commands import HELP_LAYOUT, help_epilog
from bulkgc.sim import FaultRule, SimConfig, Simulator
from bulkgc.sim.config import config_fields, field_docs

# Fields the CLI sets differently from a plain option.
_SPECIAL = {"faults", "private_key_pem", "state_file"}


# --help in a user's words: (help, placeholder) per SimConfig field. A field missing here still gets an
# option, from its docstring with the bits meant for programmers removed (see _user_words).
_HELP: dict[str, tuple[str, str | None]] = {
    "host": ("address to listen on; keep the loopback address unless you know why", "ADDRESS"),
    "port": ("TCP port; 0 picks a free one (printed, and written to --ready-file)", "PORT"),
    "app_id": ("id of the seeded app with Game Center enabled; use your manifest's app_id", "APP_ID"),
    "bundle_id": ("bundle id of the seeded app (what `--bundle-id` of push, plan and pull looks up)", "BUNDLE_ID"),
    "use_group": ("seed a Game Center group that owns the achievements", None),
    "seed": ("seed of every random choice (ids, jitter, fault probabilities): same seed, same run", "N"),
    "key_id": ("key id of the seeded team key (default: derived from --seed)", "KEY_ID"),
    "issuer_id": ("issuer id of the seeded team key (default: a UUID derived from --seed)", "UUID"),
    "max_token_lifetime": ("longest token lifetime accepted (App Store Connect: 20 minutes)", "SECONDS"),
    "token_leeway": ("clock difference tolerated on a token's times", "SECONDS"),
    "default_limit": ("page size of a listing that names no limit (assumed: Apple does not say)", "N"),
    "default_included_limit": ("related resources included per relationship when the request names no limit "
                               "(assumed)", "N"),
    "max_achievements": ("achievements per app (or group); one more is refused with 409", "N"),
    "max_points": ("points of one achievement at most", "N"),
    "max_total_points": ("points of all achievements of an app (or group) together at most", "N"),
    "max_leaderboards": ("leaderboards per app (or group) without leaderboard sets", "N"),
    "max_leaderboards_with_sets": ("leaderboards per app (or group) once it has leaderboard sets", "N"),
    "max_leaderboard_sets": ("leaderboard sets per app (or group)", "N"),
    "max_leaderboards_per_set": ("leaderboards in one leaderboard set", "N"),
    "max_activities": ("activities per app (or group)", "N"),
    "max_challenges": ("challenges per app (or group)", "N"),
    "part_size": ("bytes per upload part handed out at reservation (the last part is shorter)", "BYTES"),
    "upload_url_ttl": ("how long an upload URL stays valid (Apple: about a week)", "SECONDS"),
    "processing_delay": ("how long an image takes to process after its upload is committed", "SECONDS"),
    "processing_jitter": ("random +/- added to --processing-delay", "SECONDS"),
    "stuck_fraction": ("share (0 to 1) of committed images that never finish processing", "FRACTION"),
    "rate_limit": ("requests per key per rate window (App Store Connect: 3600 an hour)", "N"),
    "rate_window": ("length of the rolling rate-limit window; shorter compresses the hour", "SECONDS"),
    "burst_limit": ("API requests in flight at once per key before 429 (default: no limit)", "N"),
    "api_latency": ("delay added to every API request", "SECONDS"),
    "api_jitter": ("random extra delay, up to this much, per API request", "SECONDS"),
    "upload_latency": ("delay added to every part upload", "SECONDS"),
    "upload_bandwidth": ("speed of one part upload (default: unlimited)", "BYTES_PER_S"),
    "max_recorded_requests": ("requests kept in the request log (/sim/requests), oldest dropped first", "N"),
}


def _user_words(doc: str) -> str:
    """A field docstring without programmer asides: [INFER ...] tags, `None ...` defaults, backquotes."""
    doc = re.sub(r"\s*\[INFER[^\]]*\]", "", doc)
    doc = re.sub(r"[;(]?\s*None\b[^;.)]*[;.)]?", "", doc)
    return doc.replace("`", "").strip().rstrip(".")


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "sim",
        help="run a local App Store Connect simulator (Game Center) for trying bulkgc safely",
        description="Serve a local App Store Connect (the Game Center endpoints: achievements, leaderboards\n"
                    "and leaderboard sets, v2 and the deprecated v1, activities and challenges, with uploads,\n"
                    "image processing, rate limits, faults) on 127.0.0.1 until Ctrl-C, with a generated\n"
                    "key. It prints the base URL, app id and key ids, and the export lines that point\n"
                    "bulkgc at it.",
        epilog=help_epilog(
            ["bulkgc sim --app-id 1234567890 --key-dir sim-keys     # then paste the export lines it prints",
             "bulkgc sim --state-file sim.json --processing-delay 2 # keep state across restarts",
             "bulkgc sim --fault 'status,status=503,probability=0.1' --burst-limit 10",
             "bulkgc sim --port 8080 --ready-file ready.json         # scripts read URL and key here"],
            {0: "stopped by Ctrl-C or SIGTERM (state saved, with --state-file)",
             2: "an invalid option or fault rule, or an unreadable --private-key-file"}),
        **HELP_LAYOUT,
    )
    docs = field_docs()
    hints = typing.get_type_hints(SimConfig)
    for f in config_fields():
        if f.name in _SPECIAL:
            continue
        flag = "--" + f.name.replace("_", "-")
        kind = hints[f.name]
        optional = isinstance(kind, types.UnionType) and type(None) in typing.get_args(kind)
        base = next((a for a in typing.get_args(kind) if a is not type(None)), kind) if optional else kind
        default = f.default if f.default is not MISSING else None
        text, metavar = _HELP.get(f.name, (_user_words(docs.get(f.name, "")), f.name.upper()))
        if default is not None and base is not bool:
            text += f" (default: {default})"
        if base is bool:
            p.add_argument(flag, dest=f.name, action=argparse.BooleanOptionalAction, default=default,
                           help=text)
        else:
            p.add_argument(flag, dest=f.name, type=base, default=default, metavar=metavar, help=text)
    p.add_argument("--state-file", dest="state_file", type=Path, default=None, metavar="FILE",
                   help="keep the state in FILE: loaded at start, saved after every change and on stop "
                        "(uploaded bytes go to FILE.parts/); default: memory only")
    p.add_argument(
        "--fault", dest="faults", action="append", default=[], metavar="RULE",
        help="add a fault (repeatable): comma-separated key=value items, e.g. "
        "'kind=status,status=503,route=/v2/*,probability=0.2,count=5' or 'kind=stuck,method=PATCH,count=1' "
        "(a bare kind name also works: 'stuck,count=1'). "
        "Kinds: status (answer an error status), drop (close the connection before doing anything), "
        "drop_after_apply (do it, then close: the answer is lost), latency (add delay seconds), "
        "expire_upload (upload URLs already expired), stuck (a committed image stays UPLOAD_COMPLETE), "
        "fail_processing (processing ends FAILED with code), signal (test bed: send signal signum to "
        "process pid). Keys: kind; method (GET, POST, PATCH, DELETE, PUT or *); route_glob, or route (a "
        "wildcard pattern on the path, e.g. /v2/gameCenterAchievementImages/* or /upload/*); path_regex, or "
        "regex (a regular expression found in the path); probability (0 to 1, repeatable with --seed); "
        "count (at most N times); skip (let the first N matching requests through); status (the HTTP status "
        "of kind status, default 503); delay (seconds, kind latency); code (kind fail_processing, default "
        "IMAGE_INVALID); after_apply (true: the status or signal comes after the request took effect); pid "
        "and signum (kind signal, default signal 9)",
    )
    p.add_argument("--private-key-file", type=Path, default=None, metavar="FILE",
                   help="use this .p8 (P-256) key as the seeded team key instead of generating one")
    p.add_argument("--key-dir", type=Path, default=None, metavar="DIR",
                   help="write the seeded key into DIR as AuthKey_<KEY ID>.p8 (mode 0600), for "
                        "ASC_PRIVATE_KEY_PATH")
    p.add_argument("--ready-file", type=Path, default=None, metavar="FILE",
                   help="once listening, write base_url, app_id, key_id, issuer_id and private_key_path as "
                        "JSON to FILE (for scripts and tests)")
    p.set_defaults(run=run)


def build_config(args: argparse.Namespace) -> SimConfig:
    """SimConfig from parsed arguments (ValueError for bad values)."""
    values: dict[str, Any] = {}
    for f in config_fields():
        if f.name in _SPECIAL:
            continue
        value = getattr(args, f.name, None)
        if value is not None:
            values[f.name] = value
    values["faults"] = tuple(FaultRule.parse(text) for text in getattr(args, "faults", []) or [])
    if getattr(args, "state_file", None):
        values["state_file"] = args.state_file
    if getattr(args, "private_key_file", None):
        values["private_key_pem"] = Path(args.private_key_file).read_text(encoding="ascii")
    return SimConfig(**values)


def run(args: argparse.Namespace) -> int:
    try:
        config = build_config(args)
    except (ValueError, OSError) as exc:
        print(f"bulkgc sim: {exc}", file=sys.stderr)
        return 2
    return asyncio.run(serve(config, key_dir=args.key_dir, ready_file=args.ready_file))


async def serve(config: SimConfig, *, key_dir: Path | None = None, ready_file: Path | None = None,
                stop: asyncio.Event | None = None) -> int:
    """Run the simulator until `stop` is set or SIGINT/SIGTERM arrives; state is saved on the way out."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError, ValueError):  # not the main thread / platform
            pass
    async with Simulator(config) as sim:
        key_path = None
        if key_dir is not None:
            key_dir.mkdir(parents=True, exist_ok=True)
            key_path = sim.key.write_p8(key_dir)
        info = {
            "base_url": sim.base_url,
            "app_id": sim.app_id,
            "detail_id": sim.detail_id,
            "group_id": sim.group_id,
            "key_id": sim.key.key_id,
            "issuer_id": sim.key.issuer_id,
            "private_key_path": str(key_path) if key_path else None,
            "state_file": str(config.state_file) if config.state_file else None,
            "pid": os.getpid(),
        }
        print(f"App Store Connect simulator listening on {sim.base_url}")
        print(f"  app id {sim.app_id}, gameCenterDetail {sim.detail_id}" + (f", group {sim.group_id}" if sim.group_id else ""))
        print(f"  key id {sim.key.key_id}, issuer id {sim.key.issuer_id}")
        print(f"  private key: {key_path if key_path else '(not written; pass --key-dir DIR)'}")
        print("Point bulkgc at it:")
        print(f"  export BULKGC_BASE_URL={sim.base_url}")
        print(f"  export ASC_KEY_ID={sim.key.key_id}")
        print(f"  export ASC_ISSUER_ID={sim.key.issuer_id}")
        # absolute: the export lines are pasted into another terminal, maybe in another directory
        shown_key = key_path.resolve() if key_path else f"<DIR>/AuthKey_{sim.key.key_id}.p8"
        print(f"  export ASC_PRIVATE_KEY_PATH={shown_key}")
        kept = (f"state is saved to {config.state_file}" if config.state_file
                else "state is kept only in memory")
        print(f"Stop with Ctrl-C ({kept}).", flush=True)
        if ready_file is not None:
            tmp = ready_file.with_name(ready_file.name + ".tmp")
            tmp.write_text(json.dumps(info, indent=1), encoding="utf-8")
            os.replace(tmp, ready_file)
        await stop.wait()
    print("simulator stopped", flush=True)
    return 0
