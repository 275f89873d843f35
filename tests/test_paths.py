"""Broken local paths (journal, --report, --junit) are configuration or usage errors naming the path and the
fix, found before any request; never "internal error", never a page of SQLite output."""

from __future__ import annotations

import os
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from anyio.from_thread import start_blocking_portal

from bulkgc import journal as journal_mod
from bulkgc.cli import main
from bulkgc.errors import JournalError
from bulkgc.journal import Journal, item_key
from bulkgc.sim import SimConfig, Simulator

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def live_sim() -> Iterator[Simulator]:
    """A simulator on 127.0.0.1 in its own thread; its request log proves nothing was sent."""
    with start_blocking_portal() as portal:
        with portal.wrap_async_context_manager(Simulator(SimConfig(seed=3))) as sim:
            yield sim


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith(("ASC_", "BULKGC_")):
            monkeypatch.delenv(name)


def push(sim: Simulator, tmp: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, str]:
    """Run `bulkgc push` on a copy of the example against `sim`; (exit code, stderr)."""
    if not (tmp / "manifests").exists():
        shutil.copytree(REPO / "assets", tmp / "assets")
        shutil.copytree(REPO / "manifests", tmp / "manifests")
    key = sim.key.write_p8(tmp / "keys")
    code = main(["push", str(tmp / "manifests" / "example.toml"), "--base-url", sim.base_url,
                 "--key-id", sim.key.key_id, "--issuer-id", sim.key.issuer_id or "",
                 "--private-key-path", str(key), "--log-format", "plain", *extra])
    return code, capsys.readouterr().err


def test_journal_path_that_is_a_directory_exits_3_naming_it(tmp_path: Path, live_sim: Simulator,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    """`--journal` naming a directory: exit 3, the path, what it is and the flag to fix it; nothing sent."""
    journal = tmp_path / "state" / "journal.sqlite"
    journal.mkdir(parents=True)
    before = len(live_sim.requests)
    code, err = push(live_sim, tmp_path, capsys, "--journal", str(journal))
    assert code == 3, err
    assert f"journal {journal} is a directory, not a file: point --journal (or BULKGC_JOURNAL)" in err
    assert "internal error" not in err and "Traceback" not in err
    assert len(live_sim.requests) == before


def test_journal_folder_that_cannot_be_created_exits_3_naming_it(tmp_path: Path, live_sim: Simulator,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    """A journal whose folder cannot be made (a file in the way): exit 3, the folder, the reason, the fix."""
    blocker = tmp_path / "blocker"
    blocker.write_text("a file, not a folder")
    before = len(live_sim.requests)
    code, err = push(live_sim, tmp_path, capsys, "--journal", str(blocker / "journal.sqlite"))
    assert code == 3, err
    assert f"cannot create the journal's folder {blocker} (" in err
    assert "point --journal (or BULKGC_JOURNAL) at a writable location" in err
    assert "internal error" not in err
    assert len(live_sim.requests) == before


def damage(path: Path) -> None:
    """Zero the cell pointers of many b-tree pages: PRAGMA quick_check then reports ~100 problems."""
    data = bytearray(path.read_bytes())
    pages = len(data) // 4096
    for page in range(pages // 2, pages, 2):
        data[page * 4096 + 8: page * 4096 + 200] = bytes(192)
    path.write_bytes(data)


def test_damaged_journal_message_is_at_most_three_lines(tmp_path: Path, live_sim: Simulator,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    """A journal failing quick_check with 100 problems: exit 3 in at most 3 lines, saying move it aside."""
    journal = tmp_path / "j" / "journal.sqlite"
    with Journal.open(journal) as j:
        for i in range(3000):
            j.put(item_key("image", f"com.example.v{i:05d}", "en-US"), kind="image", state="complete",
                  vendor_id=f"com.example.v{i:05d}", locale="en-US", detail="x" * 200)
        j._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    damage(journal)
    conn = sqlite3.connect(journal)
    check = conn.execute("PRAGMA quick_check").fetchone()[0]
    conn.close()
    assert check.count("\n") >= 20, "the damage must make quick_check talk at length"
    code, err = push(live_sim, tmp_path, capsys, "--journal", str(journal))
    assert code == 3, err
    lines = err.strip().splitlines()
    assert 1 <= len(lines) <= 3, err
    assert f"journal {journal} is damaged" in err and "move it aside" in err


def test_disk_full_names_the_journal_and_the_fix(tmp_path: Path) -> None:
    """SQLite's 'database or disk is full' is a JournalError naming the journal, the disk and --journal."""
    journal = tmp_path / "journal.sqlite"
    with pytest.raises(JournalError) as info:
        with journal_mod._translate_errors(journal):
            raise sqlite3.OperationalError("database or disk is full")
    assert str(info.value) == (f"the disk holding the journal {journal} is full: free space there, or point "
                               "--journal (or BULKGC_JOURNAL) at a disk with room; then run the same command "
                               "again to resume")
    with pytest.raises(JournalError, match="the disk is full; free space there, or point --journal"):
        full = OSError(28, "No space left on device")
        raise journal_mod._path_problem(journal, full, "cannot create the journal")


@pytest.mark.parametrize("flag", ["--report", "--junit"])
@pytest.mark.parametrize("case", ["directory", "file-as-folder"])
def test_unwritable_output_path_is_refused_before_any_request(
    tmp_path: Path, live_sim: Simulator, capsys: pytest.CaptureFixture[str], flag: str, case: str,
) -> None:
    """An output path that is a directory, or under a file: exit 2 before any request, no journal created."""
    if case == "directory":
        target = tmp_path / "out"
        target.mkdir()
        words = f"{flag} {target}: is a directory, not a file"
    else:
        (tmp_path / "notes.txt").write_text("x")
        target = tmp_path / "notes.txt" / "report.xml"
        words = f"{flag} {target}: {tmp_path / 'notes.txt'} is not a folder"
    before = len(live_sim.requests)
    journal = tmp_path / "journal.sqlite"
    code, err = push(live_sim, tmp_path, capsys, "--journal", str(journal), flag, str(target))
    assert code == 2, err
    assert words in err and f"pass {flag} a file path in a writable folder" in err
    assert "Nothing was sent" in err
    assert len(live_sim.requests) == before
    assert not journal.exists()
