"""`bulkgc validate`: check manifests and icons locally; never touches the network."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import anyio

from bulkgc.commands import HELP_LAYOUT, help_epilog
from bulkgc.config import add_arguments, resolve
from bulkgc.errors import EXIT_INVALID_INPUT, ManifestError, Problem
from bulkgc.manifest import load_manifest
from bulkgc.scan import scan_directory, scan_images


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("validate", help="check manifests and icons locally (no network); lists every problem",
                       description="Check manifests (TOML/JSON) and icon directories without any\n"
                                   "network access, resolving the manifest and icons directory exactly as\n"
                                   "push does. Every problem is listed at once with the file, the line and\n"
                                   "what to do.",
                       epilog=help_epilog(
                           ["bulkgc validate manifests/mygame.toml",
                            "bulkgc validate manifests/mygame.toml --assets build/icons",
                            "BULKGC_MANIFEST=manifests/mygame.toml bulkgc validate",
                            "bulkgc validate build/icons/      # a directory: every icon in it"],
                           {0: "no problems",
                            2: "problems found (each listed), or no manifest given"}),
                       **HELP_LAYOUT)
    p.add_argument("paths", nargs="*", type=Path, default=None, metavar="PATH",
                   help="manifest files and/or directories of icons (default: the manifest named by "
                        "BULKGC_MANIFEST)")
    # the same declaration (flag and environment variable) as push, so validate checks what push will send
    add_arguments(p, only={"assets"})
    p.set_defaults(run=run)


async def validate_paths(paths: list[Path], assets: Path | None) -> tuple[int, list[Problem]]:
    """(images checked, problems) for manifests and directories."""
    problems: list[Problem] = []
    images: set[Path] = set()
    checked = 0
    for path in paths:
        if path.is_dir():
            found, dir_problems = await scan_directory(path)
            checked += len(found) + len(dir_problems)
            problems.extend(dir_problems)
            continue
        try:
            manifest = await anyio.to_thread.run_sync(lambda: load_manifest(path, assets_dir=assets))
        except ManifestError as exc:
            problems.extend(exc.problems)
            continue
        images.update(Path(p) for p in manifest.images())
    _, scan_problems = await scan_images(sorted(images))
    problems.extend(scan_problems)
    return checked + len(images), problems


def run(args: argparse.Namespace) -> int:
    # push's settings path: without PATH arguments the manifest comes from BULKGC_MANIFEST, and the icons
    # directory from --assets or BULKGC_ASSETS, exactly as push resolves them
    settings = resolve(args, check=("assets",) if args.paths else ("manifest", "assets"))
    paths = args.paths or [settings.manifest_file]
    checked, problems = anyio.run(validate_paths, paths, settings.assets)
    if problems:
        print(f"{len(problems)} problem(s) found ({checked} image(s) checked); nothing was sent:", file=sys.stderr)
        for p in problems:
            print(f"  - {p}", file=sys.stderr)
        return EXIT_INVALID_INPUT
    print(f"OK: {checked} image(s) checked in {', '.join(map(str, paths))}; no problems.")
    return 0
