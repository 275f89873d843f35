"""`bulkgc validate`: check manifests and icons locally; never touches the network."""

from __future__ import annotations

import argparse
import sys
import tempfile
from functools import partial
from pathlib import Path

import anyio

from bulkgc.commands import HELP_LAYOUT, help_epilog
from bulkgc.config import add_arguments, resolve
from bulkgc.errors import EXIT_INVALID_INPUT, ManifestError, Problem
from bulkgc.fixicons import check_icons, fixed_icons
from bulkgc.gamekit import is_gamekit
from bulkgc.manifest import load_manifest
from bulkgc.scan import scan_directory


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("validate", help="check manifests and icons locally (no network); lists every problem",
                       description="Check manifests (TOML/JSON, or an Xcode GameCenterResources.gamekit)\n"
                                   "and icon directories without any network access, resolving the\n"
                                   "manifest and icons directory exactly as push does. Every problem is\n"
                                   "listed at once with the file, the line (a gamekit's JSON path) and\n"
                                   "what to do.",
                       epilog=help_epilog(
                           ["bulkgc validate manifests/mygame.toml",
                            "bulkgc validate manifests/mygame.toml --assets build/icons",
                            "BULKGC_MANIFEST=manifests/mygame.toml bulkgc validate",
                            "bulkgc validate build/icons/      # a directory: every icon in it",
                            "bulkgc validate MyGame/GameCenterResources.gamekit   # names --fix-icons",
                            "bulkgc validate MyGame/GameCenterResources.gamekit --fix-icons  # each fix"],
                           {0: "no problems (with --fix-icons: every refused icon can be fixed)",
                            2: "problems found (each listed), or no manifest given"}),
                       **HELP_LAYOUT)
    p.add_argument("paths", nargs="*", type=Path, default=None, metavar="PATH",
                   help="manifest files and/or directories of icons (default: the manifest named by "
                        "BULKGC_MANIFEST)")
    # the same declarations (flags and environment variables) as push, so validate checks what push will send;
    # with --fix-icons it lists the conversions instead of refusing (converting into a throw-away folder)
    add_arguments(p, only={"assets", "fix_icons", "icon_background"})
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
    images: dict[Path, tuple[tuple[int, int], ...]] = {}
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
        for image, sizes in manifest.image_sizes().items():
            images[image] = tuple(s for s in images[image] if s in sizes) if image in images else sizes
    # fixed copies go to a throw-away folder: validate writes nothing the user keeps
    with tempfile.TemporaryDirectory(prefix="bulkgc-validate-") as scratch:
        infos, scan_problems = await check_icons(
            sorted(images), fix=fix, background=background, fix_dir=Path(scratch), sizes=images
        )
    problems.extend(scan_problems)
    return checked + len(images), problems, fixed_icons(infos.values()), warnings


def run(args: argparse.Namespace) -> int:
    # push's settings path: without PATH arguments the manifest comes from BULKGC_MANIFEST, and the icons
    # directory from --assets or BULKGC_ASSETS, exactly as push resolves them
    settings = resolve(args, check=("assets",) if args.paths else ("manifest", "assets"))
    paths = args.paths or [settings.manifest_file]
    checked, problems, fixed, warnings = anyio.run(
        partial(validate_paths, paths, settings.assets, fix=settings.fix_icons,
                background=settings.icon_background)
    )
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if fixed:
        print(f"--fix-icons would upload fixed copies of {len(fixed)} icon(s); your files stay unchanged:")
        for name, fixes in fixed:
            print(f"  - {name}: {', '.join(fixes)}")
    if problems:
        print(f"{len(problems)} problem(s) found ({checked} image(s) checked); nothing was sent:",
              file=sys.stderr)
        for p in problems:
            print(f"  - {p}", file=sys.stderr)
        return EXIT_INVALID_INPUT
    print(f"OK: {checked} image(s) checked in {', '.join(map(str, paths))}; no problems.")
    return 0
