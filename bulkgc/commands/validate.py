"""`bulkgc validate`: check manifests and icons locally; never touches the network."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import anyio

from bulkgc.errors import EXIT_INVALID_INPUT, ManifestError, Problem
from bulkgc.manifest import load_manifest
from bulkgc.scan import scan_directory, scan_images


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("validate", help="check manifests and icons locally (no network); lists every problem",
                       description="Check manifests (TOML/JSON) and icon directories without any network access. "
                                   "Every problem is listed at once with the file and what to do.")
    p.add_argument("paths", nargs="*", type=Path, default=None, metavar="PATH",
                   help="manifest files and/or directories of icons (default: manifests/example.toml)")
    p.add_argument("--assets", type=Path, default=None, metavar="DIR",
                   help="icons directory for manifests (default: as each manifest says)")
    p.set_defaults(run=run)


async def validate_paths(paths: list[Path], assets: Path | None) -> tuple[int, list[Problem]]:
    """(images checked, problems) for manifests and directories."""
    problems: list[Problem] = []
    images: dict[Path, tuple[tuple[int, int], ...]] = {}
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
        for image, sizes in manifest.image_sizes().items():
            images[image] = tuple(s for s in images[image] if s in sizes) if image in images else sizes
    _, scan_problems = await scan_images(sorted(images), sizes=images)
    problems.extend(scan_problems)
    return checked + len(images), problems


def run(args: argparse.Namespace) -> int:
    paths = args.paths or [Path("manifests/example.toml")]
    checked, problems = anyio.run(validate_paths, paths, args.assets)
    if problems:
        print(f"{len(problems)} problem(s) found ({checked} image(s) checked); nothing was sent:", file=sys.stderr)
        for p in problems:
            print(f"  - {p}", file=sys.stderr)
        return EXIT_INVALID_INPUT
    print(f"OK: {checked} image(s) checked in {', '.join(map(str, paths))}; no problems.")
    return 0
