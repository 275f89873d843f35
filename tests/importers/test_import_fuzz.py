"""Whatever the bytes, an importer either writes a manifest `validate` loads or raises ImportProblemsError —
never another exception — and it never opens a network connection."""

from __future__ import annotations

import socket
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from importsources import APP_ID, make_igdb, make_play, make_steam

from bulkgc.importers import ImportOptions, ImportProblemsError, run_import
from bulkgc.importers.vdf import VdfSyntaxError, parse_vdf
from bulkgc.manifest import load_manifest

FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
VDF_ALPHABET = st.sampled_from(list('"{}\\/\n\t abcK_[$]é'))


@FUZZ
@given(st.text(VDF_ALPHABET, max_size=200))
def test_vdf_reader_parses_or_names_a_line(text: str) -> None:
    """Any text: the VDF reader returns a block or raises VdfSyntaxError with file:line; nothing else."""
    try:
        parse_vdf(text, "f.vdf")
    except VdfSyntaxError as exc:
        assert exc.problem.location.startswith("f.vdf:")


def _mutate(data: bytes, cuts: list[tuple[int, bytes]]) -> bytes:
    for position, junk in cuts:
        at = position % (len(data) + 1)
        data = data[:at] + junk + data[at + len(junk) :]
    return data


MUTATIONS = st.lists(st.tuples(st.integers(0, 10_000), st.binary(min_size=1, max_size=6)), max_size=4)


def _import_or_problems(kind: str, root: Path, source: Path, **extra: Any) -> None:
    out = root / "out.toml"
    options = ImportOptions(app_id=APP_ID, out=out, **extra)
    try:
        run_import(kind, source, options)
    except ImportProblemsError as exc:
        assert exc.problems and not out.exists()
        return
    assert load_manifest(out).app_id == APP_ID


@FUZZ
@given(MUTATIONS, st.sampled_from(["AchievementsMetadata.csv", "AchievementsLocalizations.csv",
                                   "AchievementsIconsMappings.csv"]))
def test_mutated_play_csvs_never_crash(cuts: list[tuple[int, bytes]], name: str) -> None:
    """Random bytes written into a Play CSV give a manifest or a list of problems, never a crash."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = make_play(Path(tmp))
        target = folder / name
        target.write_bytes(_mutate(target.read_bytes(), cuts))
        _import_or_problems("play", Path(tmp), folder)


@FUZZ
@given(MUTATIONS, st.booleans())
def test_mutated_steam_files_never_crash(cuts: list[tuple[int, bytes]], in_vdf: bool) -> None:
    """Random bytes written into a Steam schema or VDF give a manifest or problems, never a crash."""
    with tempfile.TemporaryDirectory() as tmp:
        schema, vdf, icons = make_steam(Path(tmp) / "src")
        target = vdf if in_vdf else schema
        target.write_bytes(_mutate(target.read_bytes(), cuts))
        out = Path(tmp) / "out.toml"
        try:
            run_import("steam", schema, ImportOptions(app_id=APP_ID, out=out, icons=icons), localization=vdf)
        except ImportProblemsError as exc:
            assert exc.problems and not out.exists()
        else:
            assert load_manifest(out).app_id == APP_ID


@FUZZ
@given(MUTATIONS)
def test_mutated_igdb_exports_never_crash(cuts: list[tuple[int, bytes]]) -> None:
    """Random bytes written into an IGDB export give a manifest or problems, never a crash."""
    with tempfile.TemporaryDirectory() as tmp:
        path, icons = make_igdb(Path(tmp) / "src")
        path.write_bytes(_mutate(path.read_bytes(), cuts))
        _import_or_problems("igdb", Path(tmp), path, icons=icons)


def test_import_opens_no_socket(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Importing each source makes no network connection at all (icons are local files)."""
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"network connection attempted: {args}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    schema, vdf, steam_icons = make_steam(tmp_path / "steam")
    run_import("steam", schema, ImportOptions(app_id=APP_ID, out=tmp_path / "s.toml", icons=steam_icons),
               localization=vdf)
    run_import("play", make_play(tmp_path / "play", as_zip=True), ImportOptions(app_id=APP_ID,
                                                                                 out=tmp_path / "p.json"))
    path, igdb_icons = make_igdb(tmp_path / "igdb")
    run_import("igdb", path, ImportOptions(app_id=APP_ID, out=tmp_path / "i.toml", icons=igdb_icons))
    assert {p.name for p in tmp_path.iterdir()} >= {"s.toml", "p.json", "p.icons", "i.toml"}
