"""`bulkgc validate`: check manifests and icons locally; never touches the network."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import textwrap
from functools import partial
from pathlib import Path

import anyio

from bulkgc.config import parse_bool
from bulkgc.errors import EXIT_INVALID_INPUT, ManifestError, Problem
from bulkgc.fixicons import check_icons, fixed_icons, parse_color
from bulkgc.gamekit import is_gamekit
from bulkgc.manifest import load_manifest
from bulkgc.scan import scan_directory

EXAMPLES = """examples:
  bulkgc validate manifests/mygame.toml                          # manifest + every icon
  bulkgc validate MyGame/GameCenterResources.gamekit             # Xcode's file: RGBA icons say --fix-icons
  bulkgc validate MyGame/GameCenterResources.gamekit --fix-icons # list what --fix-icons would convert
  bulkgc validate assets/                                        # every icon in a folder
"""


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "validate",
        help="check manifests and icons locally (no network); lists every problem",
        description=textwrap.fill(
            "Check manifests (TOML/JSON, or an Xcode GameCenterResources.gamekit) and icon "
            "directories without any network access. "
            "Every problem is listed at once with the file and what to do.",
            100,
        ),
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "paths",
        nargs="*",
        type=Path,
        default=None,
        metavar="PATH",
        help="manifest files and/or directories of icons (default: manifests/example.toml)",
    )
    p.add_argument(
        "--assets",
        type=Path,
        default=None,
        metavar="DIR",
        help="icons directory for manifests (default: as each manifest says)",
    )
    p.add_argument(
        "--fix-icons",
        action="store_const",
        const="true",
        default=None,
        help="show what push --fix-icons would convert (opaque alpha, palette, grayscale, "
        "16-bit, wrong square size) instead of refusing it; nothing is written "
        "[env BULKGC_FIX_ICONS]",
    )
    p.add_argument(
        "--icon-background",
        default=None,
        metavar="'#RRGGBB'",
        help="with --fix-icons: flatten semi-transparent icons onto this colour [env BULKGC_ICON_BACKGROUND]",
    )
    p.set_defaults(run=run)


async def validate_paths(
    paths: list[Path],
    assets: Path | None,
    *,
    fix: bool = False,
    background: tuple[int, int, int] | None = None,
) -> tuple[int, list[Problem], list[tuple[str, tuple[str, ...]]], list[str]]:
    """(images checked, problems, icons --fix-icons would convert with their fixes, warnings)."""
    problems: list[Problem] = []
    images: set[Path] = set()
    warnings: list[str] = []
    checked = 0
    for path in paths:
        if path.is_dir() and not is_gamekit(path):
            found, dir_problems = await scan_directory(path)
            checked += len(found) + len(dir_problems)
            problems.extend(dir_problems)
            continue
        try:
            manifest = await anyio.to_thread.run_sync(
                partial(load_manifest, path, assets_dir=assets, app_id_optional=True)
            )
        except ManifestError as exc:
            problems.extend(exc.problems)
            warnings.extend(exc.warnings)
            continue
        warnings.extend(manifest.warnings)
        images.update(Path(p) for p in manifest.images())
    # fixed copies go to a throw-away folder: validate writes nothing the user keeps
    with tempfile.TemporaryDirectory(prefix="bulkgc-validate-") as scratch:
        infos, scan_problems = await check_icons(
            sorted(images), fix=fix, background=background, fix_dir=Path(scratch)
        )
    problems.extend(scan_problems)
    return checked + len(images), problems, fixed_icons(infos.values()), warnings


def run(args: argparse.Namespace) -> int:
    paths = args.paths or [Path("manifests/example.toml")]
    try:
        fix = parse_bool(args.fix_icons or os.environ.get("BULKGC_FIX_ICONS", "") or "false")
        raw = args.icon_background or os.environ.get("BULKGC_ICON_BACKGROUND") or None
        background = parse_color(raw) if raw else None
    except ValueError as exc:
        print(f"bulkgc: invalid settings: {exc}", file=sys.stderr)
        return EXIT_INVALID_INPUT
    checked, problems, fixed, warnings = anyio.run(
        lambda: validate_paths(paths, args.assets, fix=fix, background=background)
    )
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if fixed:
        print(f"--fix-icons would upload fixed copies of {len(fixed)} icon(s); your files stay unchanged:")
        for name, fixes in fixed:
            print(f"  - {name}: {', '.join(fixes)}")
    if problems:
        print(
            f"{len(problems)} problem(s) found ({checked} image(s) checked); nothing was sent:",
            file=sys.stderr,
        )
        for p in problems:
            print(f"  - {p}", file=sys.stderr)
        return EXIT_INVALID_INPUT
    print(f"OK: {checked} image(s) checked in {', '.join(map(str, paths))}; no problems.")
    return 0
