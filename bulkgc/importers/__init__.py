"""Importers: another store's achievement data (IGDB, Google Play Games, Steam) -> a bulkgc manifest file."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from bulkgc.importers import igdb, play, steam
from bulkgc.importers.common import (
    Collector,
    ImportedSource,
    ImportOptions,
    ImportProblemsError,
)
from bulkgc.importers.writer import ImportResult, build_and_write

SOURCES = ("igdb", "play", "steam")

__all__ = ["SOURCES", "ImportOptions", "ImportProblemsError", "ImportResult", "run_import"]


def run_import(
    kind: str, source: Path, options: ImportOptions, *, localization: Path | None = None
) -> ImportResult:
    """Read `source` (a `kind` export), map it by the rules of docs/IMPORT.md and write `options.out`.

    Raises ImportProblemsError listing every problem (file:line, what, the fix); then nothing is written.
    """
    collector = Collector()
    if options.icons is not None and not options.icons.is_dir():
        collector.problem(str(options.icons), "--icons must be an existing folder of icon files")
        options = replace(options, icons=None)
    imported: ImportedSource
    if kind == "igdb":
        imported = igdb.read(source, options, collector)
    elif kind == "play":
        imported = play.read(source, options, collector)
    elif kind == "steam":
        imported = steam.read(source, localization, options, collector)
    else:
        raise ValueError(f"unknown import source {kind!r}")
    return build_and_write(imported, options, collector)
