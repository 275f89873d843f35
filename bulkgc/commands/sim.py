"""`bulkgc sim`: run the local App Store Connect simulator until SIGINT/SIGTERM (then save its state)."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
import types
import typing
from dataclasses import MISSING
from pathlib import Path
from typing import Any

from bulkgc.sim import FaultRule, SimConfig, Simulator
from bulkgc.sim.config import config_fields, field_docs

# Fields the CLI sets differently from a plain option.
_SPECIAL = {"faults", "private_key_pem", "state_file"}


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "sim",
        help="run a local App Store Connect simulator (Game Center) for trying bulkgc safely",
        description="Serve a local App Store Connect simulator on 127.0.0.1 until Ctrl-C. It prints the base URL, "
        "app id and key ids, and how to point bulkgc at it.",
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
        help_text = f"{docs.get(f.name, '')} (default: {default})"
        if base is bool:
            p.add_argument(flag, dest=f.name, action=argparse.BooleanOptionalAction, default=default, help=help_text)
        else:
            p.add_argument(flag, dest=f.name, type=base, default=default, metavar=f.name.upper(), help=help_text)
    p.add_argument("--state-file", dest="state_file", type=Path, default=None, help=docs.get("state_file", ""))
    p.add_argument(
        "--fault", dest="faults", action="append", default=[], metavar="RULE",
        help="add a fault rule (repeatable) as comma-separated key=value items, e.g. "
        "'kind=status,status=503,route=/v2/*,probability=0.2,count=5' or 'stuck,method=PATCH,count=1'. "
        "Keys: kind (a bare kind name also sets it); method (* or GET, POST, PATCH, DELETE, PUT); "
        "route_glob (alias route: fnmatch on the path or route template, e.g. /v2/gameCenterAchievementImages/* or /upload/*); "
        "path_regex (aliases regex, path: re.search on the path); probability (0..1, seeded); "
        "count (apply at most N times; none = unlimited); skip (let the first N matching requests through); "
        "status (HTTP status of kind status, default 503); delay (extra seconds of kind latency); "
        "after_apply (true/false: status or signal after the request is applied); "
        "code (processing error code of kind fail_processing, default IMAGE_INVALID); "
        "pid and signum (process and signal number of kind signal, default 9). "
        "Kinds: status (answer an error status), drop (close the connection, not applied), "
        "drop_after_apply (apply, then close: a lost response), latency (add delay), "
        "expire_upload (upload URLs already expired), stuck (commit stays UPLOAD_COMPLETE), "
        "fail_processing (processing ends FAILED with code), signal (test bed only: signal process pid)",
    )
    p.add_argument("--private-key-file", type=Path, default=None, help="use this .p8 (P-256) as the seeded key instead of generating one")
    p.add_argument("--key-dir", type=Path, default=None, help="write the seeded key as AuthKey_<KEYID>.p8 (mode 0600) into DIR")
    p.add_argument("--ready-file", type=Path, default=None, help="write base URL, app id and key info as JSON to PATH once listening")
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
        kept = f"state is saved to {config.state_file}" if config.state_file else "state is kept only in memory"
        print(f"Stop with Ctrl-C ({kept}).", flush=True)
        if ready_file is not None:
            tmp = ready_file.with_name(ready_file.name + ".tmp")
            tmp.write_text(json.dumps(info, indent=1), encoding="utf-8")
            os.replace(tmp, ready_file)
        await stop.wait()
    print("simulator stopped", flush=True)
    return 0
