"""Tests of the SQLite resume journal: durability, the run lock, corruption, schema versions, secrets."""

from __future__ import annotations

import os
import signal
import sqlite3
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import anyio
import pytest

from bulkgc import journal as journal_mod
from bulkgc.errors import JournalError
from bulkgc.journal import AsyncJournal, Journal, item_key, lock_path_for

KEY = "image:achievement:com.x.first_win:fr-FR"


@pytest.fixture
def jpath(tmp_path: Path) -> Path:
    return tmp_path / "game" / ".bulkgc" / "journal.sqlite"


def _child(code: str) -> subprocess.Popen[str]:
    """Start a Python child running `code` with bulkgc importable; stdout is a pipe."""
    src = str(Path(journal_mod.__file__).resolve().parent.parent)
    env = {**os.environ, "PYTHONPATH": src + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )


def test_put_creates_and_updates_only_given_fields(jpath: Path) -> None:
    """put() upserts: kind/vendor/locale come from a new key; later puts change only what they name."""
    with Journal.open(jpath) as j:
        first = j.put(KEY, state="planned", sha256="ab" * 32, file_size=10)
        assert (first.kind, first.vendor_id, first.locale) == ("image", "com.x.first_win", "fr-FR")
        ops = [{"method": "PUT", "url": "https://up.example/a?X-Signature=s", "offset": 0, "length": 10}]
        j.put(KEY, state="reserved", remote_id="img-1", upload_operations=ops, attempts=1)
        got = j.get(KEY)
        assert got is not None
        assert got.state == "reserved" and got.sha256 == "ab" * 32 and got.file_size == 10
        assert got.upload_operations == ops and got.remote_id == "img-1" and got.attempts == 1
        assert got.updated_at >= first.updated_at
        assert j.get("image:achievement:missing:de-DE") is None


def test_put_rejects_unknown_fields_and_kinds(jpath: Path) -> None:
    """An unknown field is a TypeError, an unknown kind a ValueError; nothing is written."""
    with Journal.open(jpath) as j:
        with pytest.raises(TypeError, match="colour"):
            j.put(KEY, colour="red")
        with pytest.raises(ValueError, match="kind"):
            j.put("image:x", state="planned")
        assert j.items() == []


def test_items_counts_and_parts(jpath: Path) -> None:
    """items() filters by kind and state, counts() groups by state, parts are recorded once each."""
    with Journal.open(jpath) as j:
        j.put(item_key("item", "achievement", "com.x.a"), state="complete")
        j.put(item_key("localization", "achievement", "com.x.a", "fr-FR"), state="complete", parent_id="ach-1")
        j.put(KEY, state="uploading", error_codes=["IMAGE_TOO_SMALL"])
        assert [r.item_key for r in j.items(kind="image")] == [KEY]
        assert [r.kind for r in j.items(state="complete")] == ["item", "localization"]
        assert j.items(kind="image")[0].error_codes == ["IMAGE_TOO_SMALL"]
        assert j.counts() == {"complete": 2, "uploading": 1}
        for index in (0, 2, 2, 1):
            j.mark_part_done(KEY, index)
        assert j.parts_done(KEY) == {0, 1, 2}
        j.clear_parts(KEY)
        assert j.parts_done(KEY) == set()


def test_runs_are_recorded(jpath: Path) -> None:
    """start_run/finish_run round-trip through last_run()."""
    with Journal.open(jpath, run_command="push") as j:
        assert j.last_run() is None
        run_id = j.start_run("manifests/game.toml", {"concurrency": 4})
        assert j.last_run() is not None and j.last_run().finished is None  # type: ignore[union-attr]
        j.finish_run(run_id, "interrupted", {"bytes_uploaded": 123})
        run = j.last_run()
        assert run is not None
        assert (run.run_id, run.command, run.outcome) == (run_id, "push", "interrupted")
        assert run.settings == {"concurrency": 4} and run.totals == {"bytes_uploaded": 123}
        assert run.pid == os.getpid() and run.finished is not None
        with pytest.raises(JournalError):
            j.finish_run(run_id + 99, "ok", {})


def test_secrets_are_rejected(jpath: Path) -> None:
    """Values shaped like a JWT or a PEM block are refused (without echoing them); presigned URLs are kept."""
    jwt = "eyJhbGciOiJFUzI1NiJ9.eyJpc3MiOiJ4In0.c2lnbmF0dXJl"
    with Journal.open(jpath) as j:
        with pytest.raises(JournalError, match="detail") as info:
            j.put(KEY, detail=f"Authorization: Bearer {jwt}")
        assert jwt not in str(info.value)
        with pytest.raises(JournalError, match=r"upload_operations\[0\]\.requestHeaders"):
            j.put(KEY, upload_operations=[{"requestHeaders": [{"value": jwt}]}])
        with pytest.raises(JournalError):
            j.put(KEY, detail="-----BEGIN PRIVATE KEY-----\nMIG...")
        with pytest.raises(JournalError):
            j.start_run("m.toml", {"key": "-----BEGIN PRIVATE KEY-----"})
        assert j.get(KEY) is None
        url = "https://store.example/upload/x?X-Amz-Signature=abc&X-Amz-Credential=def"
        assert j.put(KEY, upload_operations=[{"url": url}]).upload_operations == [{"url": url}]


def test_files_are_private(jpath: Path) -> None:
    """The folder is created; the journal, its -wal/-shm and the lock file are 0600."""
    with Journal.open(jpath) as j:
        j.put(KEY, state="planned")
        paths = [jpath, Path(f"{jpath}-wal"), Path(f"{jpath}-shm"), lock_path_for(jpath)]
        assert all(p.exists() for p in paths)
        for p in paths:
            assert stat.S_IMODE(p.stat().st_mode) == 0o600, p
    assert lock_path_for(jpath).name == "journal.lock"


def test_wal_and_full_sync(jpath: Path) -> None:
    """The connection uses WAL and synchronous=FULL (2)."""
    with Journal.open(jpath) as j:
        assert j._conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert j._conn.execute("PRAGMA synchronous").fetchone()[0] == 2


def test_put_survives_sigkill(jpath: Path) -> None:
    """A put that returned is on disk even when the process is SIGKILLed right after it."""
    child = _child(
        f"""
        import os, signal
        from bulkgc.journal import Journal
        j = Journal.open({str(jpath)!r})
        for i in range(20):
            j.put("image:achievement:com.x.a:fr-FR", state=f"s{{i}}", attempts=i)
        j.mark_part_done("image:achievement:com.x.a:fr-FR", 3)
        os.kill(os.getpid(), signal.SIGKILL)
        """
    )
    child.communicate(timeout=30)
    assert child.returncode == -signal.SIGKILL
    with Journal.open(jpath) as j:  # also proves the dead process's lock was released
        rec = j.get("image:achievement:com.x.a:fr-FR")
        assert rec is not None and (rec.state, rec.attempts) == ("s19", 19)
        assert j.parts_done("image:achievement:com.x.a:fr-FR") == {3}


def test_lock_held_by_another_process_then_taken_over(jpath: Path) -> None:
    """A live holder makes open() fail naming its pid and host; once it is killed the lock is taken over."""
    child = _child(
        f"""
        import sys
        from bulkgc.journal import Journal
        j = Journal.open({str(jpath)!r})
        print("ready", flush=True)
        sys.stdin.read()
        """
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "ready"
        with pytest.raises(JournalError) as info:
            Journal.open(jpath)
        message = str(info.value)
        assert f"bulkgc pid {child.pid} on host " in message
        assert str(jpath) in message and "wait for it or stop it" in message
    finally:
        child.kill()
        child.wait(timeout=30)
    with Journal.open(jpath) as j:
        assert str(os.getpid()) in lock_path_for(jpath).read_text()
        j.put(KEY, state="planned")


def test_second_open_in_same_process_is_refused(jpath: Path) -> None:
    """Two Journal objects on one file are refused even within one process; close() frees the lock."""
    j = Journal.open(jpath)
    with pytest.raises(JournalError, match="in use"):
        Journal.open(jpath)
    j.close()
    Journal.open(jpath).close()


def test_corrupt_file_is_reported(jpath: Path) -> None:
    """A file that is not SQLite gives a JournalError naming the file and saying to move it aside."""
    jpath.parent.mkdir(parents=True)
    jpath.write_bytes(b"this is not a database, just garbage " * 200)
    with pytest.raises(JournalError) as info:
        Journal.open(jpath)
    assert str(jpath) in str(info.value) and "move it aside" in str(info.value)
    Journal.open(jpath.with_name("other.sqlite")).close()  # the failed open released its lock
    jpath.unlink()
    Journal.open(jpath).close()


def test_newer_schema_is_refused(jpath: Path) -> None:
    """A journal from a newer schema gives a JournalError naming the bulkgc version that wrote it."""
    with Journal.open(jpath) as j:
        j._conn.execute("UPDATE meta SET value = '9.9.0' WHERE key = 'bulkgc_version'")
        j._conn.execute(f"PRAGMA user_version = {journal_mod.SCHEMA_VERSION + 1}")
    with pytest.raises(JournalError, match=r"bulkgc 9\.9\.0 or newer"):
        Journal.open(jpath)


def test_older_schema_is_migrated(jpath: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Opening a journal of an older schema runs the missing migrations and keeps the data."""
    with Journal.open(jpath) as j:
        j.put(KEY, state="complete")
    v = journal_mod.SCHEMA_VERSION
    monkeypatch.setattr(journal_mod, "SCHEMA_VERSION", v + 1)
    monkeypatch.setitem(journal_mod.MIGRATIONS, v, ["CREATE TABLE extra (x INTEGER)"])
    with Journal.open(jpath) as j:
        assert j._conn.execute("PRAGMA user_version").fetchone()[0] == v + 1
        assert j._conn.execute("SELECT COUNT(*) FROM extra").fetchone()[0] == 0
        rec = j.get(KEY)
        assert rec is not None and rec.state == "complete" and rec.kind == "image"


def test_fresh_file_gets_current_schema(jpath: Path) -> None:
    """A new journal is at SCHEMA_VERSION and records the bulkgc version that wrote it."""
    Journal.open(jpath).close()
    conn = sqlite3.connect(jpath)
    try:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == journal_mod.SCHEMA_VERSION
        assert conn.execute("SELECT value FROM meta WHERE key='bulkgc_version'").fetchone()[0]
    finally:
        conn.close()


async def test_async_journal_with_50_tasks(jpath: Path) -> None:
    """50 concurrent tasks writing through AsyncJournal all land, with their parts."""
    aj = AsyncJournal(Journal.open(jpath))

    async def work(i: int) -> None:
        key = item_key("image", "achievement", f"com.x.a{i}", "fr-FR")
        for state in ("planned", "reserved", "uploading", "complete"):
            await aj.put(key, state=state, attempts=1)
        for part in range(3):
            await aj.mark_part_done(key, part)

    async with anyio.create_task_group() as tg:
        for i in range(50):
            tg.start_soon(work, i)
    assert await aj.counts() == {"complete": 50}
    assert len(await aj.items(kind="image")) == 50
    assert await aj.parts_done(item_key("image", "achievement", "com.x.a7", "fr-FR")) == {0, 1, 2}
    run_id = await aj.start_run("m.toml", {})
    await aj.finish_run(run_id, "ok", {})
    assert (await aj.last_run()).outcome == "ok"  # type: ignore[union-attr]
    await aj.close()


async def test_group_commit_batches_writes_and_isolates_a_failing_one(jpath: Path) -> None:
    """Concurrent writes share transactions (fewer fsyncs than writes); each is on disk when its call
    returns, and a write that fails (a secret in a field) fails alone, its batch-mates still land."""
    aj = AsyncJournal(Journal.open(jpath))
    seen_by_reader: list[str | None] = []

    async def work(i: int) -> None:
        key = item_key("image", "achievement", f"com.x.g{i}", "en-US")
        for state in ("reserving", "reserved", "committed"):
            await aj.put(key, state=state)
            # durable when the call returns: a separate connection (another process would be the same) sees it
            reader = sqlite3.connect(jpath)
            try:
                row = reader.execute("SELECT state FROM items WHERE item_key = ?", (key,)).fetchone()
            finally:
                reader.close()
            seen_by_reader.append(row[0] if row else None)
        await aj.mark_part_done(key, 0)

    async def bad() -> None:
        with pytest.raises(JournalError):
            await aj.put(item_key("image", "achievement", "com.x.bad", "en-US"), detail="Bearer eyJhbGciOiJFUzI1NiJ9.eyJpc3MiOiJ4In0.c2ln")

    async with anyio.create_task_group() as tg:
        for i in range(40):
            tg.start_soon(work, i)
        tg.start_soon(bad)
    writes = 40 * 4
    assert await aj.counts() == {"committed": 40}
    assert await aj.get(item_key("image", "achievement", "com.x.bad", "en-US")) is None
    assert None not in seen_by_reader and len(seen_by_reader) == 40 * 3
    assert await aj.parts_done(item_key("image", "achievement", "com.x.g3", "en-US")) == {0}
    assert 1 <= aj.transactions < writes / 2, aj.transactions  # grouped: far fewer commits than writes
    await aj.close()


def _on_disk(path: Path, key: str) -> str | None:
    """The state another process would read for `key` now (a separate connection)."""
    reader = sqlite3.connect(path)
    try:
        row = reader.execute("SELECT state FROM items WHERE item_key = ?", (key,)).fetchone()
    finally:
        reader.close()
    return row[0] if row else None


async def test_put_soon_rides_on_the_next_transaction_in_order(jpath: Path) -> None:
    """A `put_soon` is not waited for: on disk with the next write's transaction (one fsync for both), before
    a read of the journal sees anything, and with `flush`; a later `put` of the same key wins."""
    aj = AsyncJournal(Journal.open(jpath))
    loc = item_key("localization", "achievement", "com.x.s", "en-US")
    img = item_key("image", "achievement", "com.x.s", "en-US")
    aj.put_soon(loc, kind="localization", vendor_id="com.x.s", locale="en-US", state="saved", remote_id="L1")
    assert _on_disk(jpath, loc) is None  # queued, not written
    before = aj.transactions
    await aj.put(img, kind="image", vendor_id="com.x.s", locale="en-US", state="reserved", remote_id="I1")
    assert (_on_disk(jpath, loc), _on_disk(jpath, img)) == ("saved", "reserved")
    assert aj.transactions == before + 1  # both in one transaction

    aj.put_soon(img, state="committed")
    assert (await aj.get(img)).state == "committed"  # type: ignore[union-attr]  # a read flushes first
    assert _on_disk(jpath, img) == "committed"

    aj.put_soon(img, state="complete")
    await aj.flush()
    assert _on_disk(jpath, img) == "complete"
    await aj.flush()  # nothing queued: no transaction
    assert aj.writes == 4
    await aj.close()


async def test_a_failed_put_soon_is_raised_by_the_next_flush(jpath: Path) -> None:
    """Nobody waits for a `put_soon`, so its failure (a secret in a field) is kept and raised by `flush`; the
    writes around it still land."""
    aj = AsyncJournal(Journal.open(jpath))
    good = item_key("image", "achievement", "com.x.ok", "en-US")
    aj.put_soon(item_key("image", "achievement", "com.x.bad", "en-US"),
                detail="Bearer eyJhbGciOiJFUzI1NiJ9.eyJpc3MiOiJ4In0.c2ln")
    await aj.put(good, state="reserved")  # its own write is fine
    assert _on_disk(jpath, good) == "reserved"
    with pytest.raises(JournalError):
        await aj.flush()
    await aj.flush()  # raised once
    await aj.close()


def write_schema_1_journal(path: Path, rows: list[tuple[str, str, str, str | None]], parts: dict[str, list[int]]) -> None:
    """A journal as bulkgc wrote it before kinds (schema 1): keys `achievement:<v>`, `localization:<v>:<l>`,
    `image:<v>:<l>`, the item column naming the level with "achievement" for the parent."""
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path)
    try:
        for statement in journal_mod.MIGRATIONS[0]:
            conn.execute(statement)
        for key, kind, vendor, locale in rows:
            conn.execute("INSERT INTO items (item_key, kind, vendor_id, locale, state, remote_id, updated_at) "
                         "VALUES (?, ?, ?, ?, 'reserved', 'r-' || ?, 0)", (key, kind, vendor, locale, key))
        for key, indexes in parts.items():
            conn.executemany("INSERT INTO parts (item_key, part_index, done_at) VALUES (?, ?, 0)",
                             [(key, i) for i in indexes])
        conn.execute("INSERT INTO meta (key, value) VALUES ('bulkgc_version', '0.1.0')")
        conn.execute("PRAGMA user_version = 1")
        conn.commit()
    finally:
        conn.close()


def test_schema_1_keys_are_migrated_to_keys_that_carry_the_kind(jpath: Path) -> None:
    """A journal written before kinds opens with every key naming the achievement kind; parts follow their image."""
    write_schema_1_journal(jpath, [
        ("achievement:com.x.a", "achievement", "com.x.a", None),
        ("localization:com.x.a:fr-FR", "localization", "com.x.a", "fr-FR"),
        ("image:com.x.a:fr-FR", "image", "com.x.a", "fr-FR"),
    ], {"image:com.x.a:fr-FR": [0, 2]})
    with Journal.open(jpath) as j:
        assert j._conn.execute("PRAGMA user_version").fetchone()[0] == journal_mod.SCHEMA_VERSION
        assert [(r.item_key, r.kind, r.vendor_id, r.locale) for r in j.items()] == [
            ("achievement:com.x.a", "item", "com.x.a", None),
            ("image:achievement:com.x.a:fr-FR", "image", "com.x.a", "fr-FR"),
            ("localization:achievement:com.x.a:fr-FR", "localization", "com.x.a", "fr-FR"),
        ]
        key = item_key("image", "achievement", "com.x.a", "fr-FR")
        assert j.parts_done(key) == {0, 2}
        rec = j.get(key)
        assert rec is not None and rec.remote_id == "r-image:com.x.a:fr-FR"
        assert j._conn.execute("SELECT COUNT(*) FROM parts WHERE item_key LIKE 'image:com.x.a:%'").fetchone()[0] == 0


def test_keys_of_two_kinds_with_one_vendor_id_do_not_collide(jpath: Path) -> None:
    """An achievement and a leaderboard sharing a vendor id have separate records and separate parts."""
    with Journal.open(jpath) as j:
        ach = item_key("image", "achievement", "com.x.shared", "en-US")
        board = item_key("image", "leaderboard", "com.x.shared", "en-US")
        j.put(ach, state="reserved", remote_id="img-a")
        j.put(board, state="committed", remote_id="img-b")
        j.mark_part_done(ach, 1)
        assert {r.item_key: r.remote_id for r in j.items(kind="image")} == {ach: "img-a", board: "img-b"}
        assert j.parts_done(ach) == {1} and j.parts_done(board) == set()
        assert journal_mod.split_key(board) == ("image", "leaderboard", "com.x.shared", "en-US")
        assert journal_mod.split_key(item_key("item", "leaderboard", "com.x.shared")) == (
            "item", "leaderboard", "com.x.shared", None)
