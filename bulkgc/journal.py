"""SQLite resume journal: per-item state that survives a kill at any point (WAL, synchronous=FULL)."""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import fcntl
import functools
import json
import os
import re
import socket
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, ParamSpec, TypeVar

import anyio
import anyio.to_thread

from bulkgc import __version__
from bulkgc.errors import JournalError

# What is (and is not) stored. The journal holds identifiers, hashes, states and Apple's upload operations,
# including their presigned upload URLs: a resumed run needs them to send the missing parts, and they carry
# no key material (they are scoped to one asset and expire). It never holds the .p8 key, a JWT or any
# Authorization header; `put` refuses values shaped like a JWT or a PEM block as defence in depth. The file
# and its -wal/-shm are created 0600 all the same, since the URLs grant upload access until they expire.

#: Schema version written to `PRAGMA user_version`.
SCHEMA_VERSION = 2
#: levels of item the journal records: an item (achievement, leaderboard, ...), one of its localizations,
#: an image, and an item's version added to a review submission (`bulkgc submit`)
KINDS = ("item", "localization", "image", "review")

# MIGRATIONS[v] brings a schema at version v to v + 1; version 0 is an empty file.
MIGRATIONS: dict[int, list[str]] = {
    0: [
        """CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)""",
        """CREATE TABLE runs (
            run_id INTEGER PRIMARY KEY AUTOINCREMENT,
            command TEXT NOT NULL,
            manifest_path TEXT NOT NULL,
            settings TEXT NOT NULL,
            started REAL NOT NULL,
            finished REAL,
            outcome TEXT,
            totals TEXT,
            pid INTEGER NOT NULL,
            host TEXT NOT NULL,
            bulkgc_version TEXT NOT NULL)""",
        """CREATE TABLE items (
            item_key TEXT PRIMARY KEY,
            kind TEXT NOT NULL,
            vendor_id TEXT NOT NULL DEFAULT '',
            locale TEXT,
            state TEXT NOT NULL DEFAULT '',
            remote_id TEXT,
            parent_id TEXT,
            sha256 TEXT,
            file_name TEXT,
            file_size INTEGER,
            upload_operations TEXT NOT NULL DEFAULT '[]',
            error_codes TEXT NOT NULL DEFAULT '[]',
            attempts INTEGER NOT NULL DEFAULT 0,
            detail TEXT NOT NULL DEFAULT '',
            updated_at REAL NOT NULL)""",
        """CREATE INDEX items_kind_state ON items (kind, state)""",
        """CREATE TABLE parts (
            item_key TEXT NOT NULL,
            part_index INTEGER NOT NULL,
            done_at REAL NOT NULL,
            PRIMARY KEY (item_key, part_index)) WITHOUT ROWID""",
    ],
    # Keys carry the Game Center kind (an achievement and a leaderboard may share a vendor id): schema 1 was
    # written when achievements were the only kind: its `image:<vendor>:<locale>` is an achievement's image.
    1: [
        """UPDATE parts SET item_key = 'image:achievement:' || substr(item_key, 7)
           WHERE item_key LIKE 'image:%'""",
        """UPDATE items SET item_key = 'image:achievement:' || substr(item_key, 7) WHERE kind = 'image'""",
        """UPDATE items SET item_key = 'localization:achievement:' || substr(item_key, 14)
           WHERE kind = 'localization'""",
        """UPDATE items SET kind = 'item' WHERE kind = 'achievement'""",
    ],
}

_FRESH_JOURNAL_HINT = (
    "move it aside (e.g. `mv {path} {path}.broken`) and run again: App Store Connect holds the real state, "
    "so a fresh journal is safe (the next run re-reads what exists and skips it)"
)


@dataclass(frozen=True)
class ItemRecord:
    """The journal's row for one achievement, localization or image."""

    item_key: str  # e.g. "image:achievement:com.x.first_win:fr-FR"; see `item_key()`
    kind: str  # "item" | "localization" | "image" (the level; the Game Center kind is in the key)
    vendor_id: str = ""
    locale: str | None = None
    state: str = ""  # chosen by the pipeline: planned/reserved/uploading/committed/complete/failed, ...
    remote_id: str | None = None
    parent_id: str | None = None
    sha256: str | None = None
    file_name: str | None = None
    file_size: int | None = None
    upload_operations: list[dict[str, Any]] = field(default_factory=list)  # Apple's, presigned URLs included
    error_codes: list[str] = field(default_factory=list)
    attempts: int = 0
    detail: str = ""
    updated_at: float = 0.0


@dataclass(frozen=True)
class RunRecord:
    """One run of bulkgc against this journal."""

    run_id: int
    command: str
    manifest_path: str
    settings: dict[str, Any]
    started: float
    finished: float | None
    outcome: str | None
    totals: dict[str, Any] | None
    pid: int
    host: str
    bulkgc_version: str


# Three base64url segments, the first starting `eyJ` (base64 of '{"'): the shape of every JWT.
_JWT_SHAPE = re.compile(r"eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")


def looks_like_secret(text: str) -> bool:
    """True when `text` holds something shaped like a JWT or a PEM block (key material)."""
    return "-----BEGIN" in text or ("eyJ" in text and _JWT_SHAPE.search(text) is not None)


_ITEM_FIELDS = tuple(f.name for f in dataclasses.fields(ItemRecord))
_WRITABLE_FIELDS = frozenset(_ITEM_FIELDS) - {"item_key", "updated_at"}
_JSON_FIELDS = frozenset({"upload_operations", "error_codes"})
_RUN_FIELDS = tuple(f.name for f in dataclasses.fields(RunRecord))


def item_key(level: str, kind: str, vendor_id: str, locale: str | None = None) -> str:
    """The journal key of an item: `<kind>:<vendor>` (e.g. `leaderboard:com.x.best`), or for one of its
    localizations and their images `localization:<kind>:<vendor>:<locale>`, `image:<kind>:<vendor>:<locale>`.

    Vendor ids are unique per kind only, so the kind is part of every key; neither vendor ids nor locales
    can hold a ':'.
    """
    if level == "review":  # the item's version in a review submission: `review:<kind>:<vendor>`
        return f"review:{kind}:{vendor_id}"
    return f"{kind}:{vendor_id}" if level == "item" else f"{level}:{kind}:{vendor_id}:{locale}"


def split_key(key: str) -> tuple[str, str, str, str | None]:
    """(level, Game Center kind, vendor id, locale) of a key made by `item_key`."""
    parts = key.split(":")
    if parts[0] == "review" and len(parts) == 3:
        return "review", parts[1], parts[2], None
    if parts[0] in KINDS[1:] and len(parts) == 4:
        return parts[0], parts[1], parts[2], parts[3]
    if parts[0] not in KINDS and len(parts) == 2:
        return "item", parts[0], parts[1], None
    raise ValueError(f"cannot tell the kind of item {key!r}: expected <kind>:<vendor> or "
                     "localization|image:<kind>:<vendor>:<locale>")


def _reject_secrets(value: Any, where: str) -> None:
    """Raise JournalError when `value` (or anything nested in it) looks like a JWT or a PEM block."""
    if isinstance(value, str):
        if looks_like_secret(value):
            # never echo the value: it is the secret
            raise JournalError(
                f"refusing to store {where} in the journal: it looks like a JWT or a PEM key block. "
                "The journal must never hold credentials; this is a bug in bulkgc, please report it."
            )
    elif isinstance(value, dict):
        for k, v in value.items():
            _reject_secrets(k, where)
            _reject_secrets(v, f"{where}.{k}")
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            _reject_secrets(v, f"{where}[{i}]")


# ---------------------------------------------------------------------------------------------------------
# The lock: one run per journal
# ---------------------------------------------------------------------------------------------------------


def lock_path_for(path: Path) -> Path:
    """The lock file next to a journal: `journal.sqlite` -> `journal.lock`."""
    return path.with_suffix(".lock")


class _RunLock:
    """An exclusive `flock` on the lock file, which records who holds it; it dies with the process."""

    def __init__(self, journal_path: Path, command: str) -> None:
        self.path = lock_path_for(journal_path)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            holder = _read_holder(fd)
            os.close(fd)
            if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise JournalError(f"cannot lock journal {journal_path} ({self.path}): {exc}") from exc
            raise JournalError(
                f"journal {journal_path} is in use by {holder}; wait for it or stop it"
            ) from None
        # We hold the lock: a previous holder, if any, is gone (its lock died with it), so overwrite its note.
        info = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "since": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "command": command,
        }
        os.ftruncate(fd, 0)
        os.pwrite(fd, (json.dumps(info) + "\n").encode(), 0)
        self._fd: int | None = fd

    def release(self) -> None:
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        # The file is kept (unlinking a lock file races with the next opener); only the note is cleared.
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)
        os.close(fd)  # releases the flock


def _read_holder(fd: int) -> str:
    try:
        info = json.loads(os.pread(fd, 4096, 0).decode() or "{}")
        return f"bulkgc pid {int(info['pid'])} on host {info['host']} since {info['since']}"
    except (OSError, ValueError, KeyError, TypeError):
        return "another bulkgc process (it has not written its pid yet)"


# ---------------------------------------------------------------------------------------------------------
# The journal
# ---------------------------------------------------------------------------------------------------------


def _path_problem(where: Path, exc: OSError, what: str) -> JournalError:
    """A journal path that cannot be used: a configuration problem (exit 3) naming the path and the fix."""
    reason = exc.strerror or str(exc)
    if exc.errno == errno.ENOSPC:
        return JournalError(f"{what} {where}: the disk is full; free space there, or point --journal (or "
                            "BULKGC_JOURNAL) at a disk with room, then run again")
    return JournalError(f"{what} {where} ({reason}): point --journal (or BULKGC_JOURNAL) at a writable "
                        "location, or fix the folder's permissions, then run again")


def _create_private(path: Path) -> None:
    """Create `path` (and its -wal/-shm) 0600 before SQLite opens it; SQLite copies the mode to -wal/-shm."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    os.close(fd)
    for suffix in ("", "-wal", "-shm"):
        with contextlib.suppress(FileNotFoundError):
            os.chmod(f"{path}{suffix}", 0o600)


class Journal:
    """The resume journal of one manifest. Open it with `Journal.open`; it holds the run lock until closed."""

    def __init__(self, path: Path, conn: sqlite3.Connection, lock: _RunLock | None, command: str) -> None:
        self.path = path
        self.command = command
        self._conn = conn
        self._lock = lock
        # Called from worker threads too (AsyncJournal): one connection, one caller at a time.
        self._mutex = threading.RLock()

    # -- opening and closing ------------------------------------------------------------------------------

    @classmethod
    def open(cls, path: str | os.PathLike[str], *, run_command: str = "push", read_only: bool = False) -> Journal:
        """Open (creating, migrating) the journal at `path` and take its run lock; JournalError if not.

        `read_only=True` (for `bulkgc status`) neither creates, migrates nor locks: it reads the journal as it is,
        even while a push holds the lock, and any write raises JournalError.
        """
        path = Path(path)
        if read_only:
            return cls(path, _connect_read_only(path), None, run_command)
        try:
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        except OSError as exc:
            raise _path_problem(path.parent, exc, "cannot create the journal's folder") from None
        if path.is_dir():
            example = path / "journal.sqlite"
            raise JournalError(f"journal {path} is a directory, not a file: point --journal (or "
                               f"BULKGC_JOURNAL) at a file path such as {example}, or move the directory "
                               "away")
        try:
            lock = _RunLock(path, run_command)
        except OSError as exc:
            raise _path_problem(lock_path_for(path), exc, "cannot create the journal's lock file") from None
        try:
            conn = _connect(path)
            return cls(path, conn, lock, run_command)
        except OSError as exc:
            lock.release()
            raise _path_problem(path, exc, "cannot create the journal") from None
        except BaseException:
            lock.release()
            raise

    def close(self) -> None:
        """Close the database and release the run lock."""
        with self._mutex:
            self._conn.close()
            if self._lock is not None:
                self._lock.release()
                self._lock = None

    def __enter__(self) -> Journal:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One durable transaction (committed with an fsync of the WAL, since synchronous=FULL).

        Inside `group()` it is a savepoint of the group's transaction instead: undone alone if it fails,
        durable when the group commits.
        """
        with self._mutex, _translate_errors(self.path):
            grouped = self._conn.in_transaction
            self._conn.execute("SAVEPOINT item" if grouped else "BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK TO item" if grouped else "ROLLBACK")
                if grouped:
                    self._conn.execute("RELEASE item")
                raise
            self._conn.execute("RELEASE item" if grouped else "COMMIT")

    @contextlib.contextmanager
    def group(self) -> Iterator[None]:
        """Several writes in one transaction and one fsync (group commit); each is durable when it ends."""
        self.begin_group()
        try:
            yield
        except BaseException:
            self.end_group(commit=False)
            raise
        self.end_group(commit=True)

    def begin_group(self) -> None:
        """Open a group transaction: the writes until `end_group` are its savepoints (no fsync until then)."""
        with self._mutex, _translate_errors(self.path):
            self._conn.execute("BEGIN IMMEDIATE")

    def end_group(self, *, commit: bool) -> None:
        """COMMIT (durable: the fsync happens here, so call it off the event loop) or ROLLBACK the group."""
        with self._mutex, _translate_errors(self.path):
            self._conn.execute("COMMIT" if commit else "ROLLBACK")

    @contextlib.contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        with self._mutex, _translate_errors(self.path):
            yield self._conn

    # -- runs ----------------------------------------------------------------------------------------------

    def start_run(self, manifest_path: str, settings: dict[str, Any]) -> int:
        """Record the start of a run; returns its id."""
        _reject_secrets(settings, "settings")
        with self._write() as conn:
            cur = conn.execute(
                "INSERT INTO runs (command, manifest_path, settings, started, pid, host, bulkgc_version) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    self.command,
                    str(manifest_path),
                    json.dumps(settings, default=str),
                    time.time(),
                    os.getpid(),
                    socket.gethostname(),
                    __version__,
                ),
            )
            assert cur.lastrowid is not None
            return cur.lastrowid

    def finish_run(self, run_id: int, outcome: str, totals: dict[str, Any]) -> None:
        """Record how run `run_id` ended (e.g. "ok", "failed", "interrupted") and its totals."""
        _reject_secrets(totals, "totals")
        with self._write() as conn:
            cur = conn.execute(
                "UPDATE runs SET finished = ?, outcome = ?, totals = ? WHERE run_id = ?",
                (time.time(), outcome, json.dumps(totals, default=str), run_id),
            )
            if cur.rowcount != 1:
                raise JournalError(f"journal {self.path} has no run {run_id}")

    def last_run(self) -> RunRecord | None:
        """The most recent run, finished or not."""
        with self._read() as conn:
            row = conn.execute(
                f"SELECT {', '.join(_RUN_FIELDS)} FROM runs ORDER BY run_id DESC LIMIT 1"
            ).fetchone()
        if row is None:
            return None
        values = dict(zip(_RUN_FIELDS, row, strict=True))
        values["settings"] = json.loads(values["settings"])
        values["totals"] = None if values["totals"] is None else json.loads(values["totals"])
        return RunRecord(**values)

    # -- items ---------------------------------------------------------------------------------------------

    def get(self, item_key: str) -> ItemRecord | None:
        """The record of `item_key`, or None when the journal has never seen it."""
        with self._read() as conn:
            return self._get(conn, item_key)

    def get_many(self, item_keys: list[str]) -> dict[str, ItemRecord]:
        """The records of those of `item_keys` the journal has seen, by key."""
        found: dict[str, ItemRecord] = {}
        with self._read() as conn:
            for start in range(0, len(item_keys), 500):  # SQLite caps the variables of one statement
                keys = item_keys[start:start + 500]
                marks = ", ".join("?" * len(keys))
                sql = f"SELECT {', '.join(_ITEM_FIELDS)} FROM items WHERE item_key IN ({marks})"
                for row in conn.execute(sql, keys):
                    record = _item_from_row(row)
                    found[record.item_key] = record
        return found

    @staticmethod
    def _get(conn: sqlite3.Connection, key: str) -> ItemRecord | None:
        sql = f"SELECT {', '.join(_ITEM_FIELDS)} FROM items WHERE item_key = ?"
        row = conn.execute(sql, (key,)).fetchone()
        return None if row is None else _item_from_row(row)

    def put(self, item_key: str, *, clear_parts: bool = False, **fields: Any) -> ItemRecord:
        """Create or update `item_key`, changing only the given fields; durable when it returns.

        A new item's kind (level), vendor_id and locale default to what the key says
        (`image:achievement:com.x.a:fr-FR`).
        With `clear_parts`, its uploaded parts are forgotten in the same transaction (a new reservation).
        Raises TypeError for an unknown field and JournalError for a value that looks like a secret.
        """
        self._check_fields(fields)
        with self._write() as conn:
            self._set(conn, item_key, fields, clear_parts)
            record = self._get(conn, item_key)
        assert record is not None
        return record

    def update(self, item_key: str, *, clear_parts: bool = False, **fields: Any) -> None:
        """`put` without reading the record back (the pipeline's writes: nobody looks at the row)."""
        self._check_fields(fields)
        with self._write() as conn:
            self._set(conn, item_key, fields, clear_parts)

    @staticmethod
    def _check_fields(fields: dict[str, Any]) -> None:
        unknown = set(fields) - _WRITABLE_FIELDS
        if unknown:
            raise TypeError(f"ItemRecord has no writable field(s) {', '.join(sorted(unknown))}")
        if "kind" in fields and fields["kind"] not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}, not {fields['kind']!r}")
        for name, value in fields.items():
            _reject_secrets(value, name)

    @staticmethod
    def _set(conn: sqlite3.Connection, item_key: str, fields: dict[str, Any], clear_parts: bool) -> None:
        """UPDATE only the given columns of an existing row (in place: its key's index entry stays, so a
        commit writes fewer pages than a whole-row replace); INSERT a new one with the key's defaults."""
        values = {**fields, "updated_at": time.time()}
        row = [json.dumps(v) if k in _JSON_FIELDS else v for k, v in values.items()]
        names = tuple(values)
        if conn.execute(_update_sql(names), (*row, item_key)).rowcount == 0:
            level, _, vendor, locale = split_key(item_key)
            new = {"item_key": item_key, "kind": level, "vendor_id": vendor, "locale": locale}
            new.update(zip(names, row, strict=True))
            conn.execute(_insert_sql(tuple(new)), tuple(new.values()))
        if clear_parts:
            conn.execute("DELETE FROM parts WHERE item_key = ?", (item_key,))

    def items(self, kind: str | None = None, state: str | None = None) -> list[ItemRecord]:
        """All records, optionally of one kind and/or in one state, ordered by key."""
        where, args = [], []
        if kind is not None:
            where.append("kind = ?")
            args.append(kind)
        if state is not None:
            where.append("state = ?")
            args.append(state)
        sql = f"SELECT {', '.join(_ITEM_FIELDS)} FROM items"
        if where:
            sql += " WHERE " + " AND ".join(where)
        with self._read() as conn:
            return [_item_from_row(row) for row in conn.execute(sql + " ORDER BY item_key", args)]

    def counts(self) -> dict[str, int]:
        """Number of items in each state (for `bulkgc status`)."""
        with self._read() as conn:
            return dict(conn.execute("SELECT state, COUNT(*) FROM items GROUP BY state ORDER BY state"))

    # -- upload parts --------------------------------------------------------------------------------------

    def mark_part_done(self, item_key: str, part_index: int) -> None:
        """Record that upload part `part_index` of `item_key` was accepted; durable when it returns."""
        with self._write() as conn:
            conn.execute(
                "INSERT OR IGNORE INTO parts (item_key, part_index, done_at) VALUES (?, ?, ?)",
                (item_key, part_index, time.time()),
            )

    def parts_done(self, item_key: str) -> set[int]:
        """Indexes of the parts of `item_key` already uploaded."""
        with self._read() as conn:
            rows = conn.execute("SELECT part_index FROM parts WHERE item_key = ?", (item_key,))
            return {index for (index,) in rows}

    def clear_parts(self, item_key: str) -> None:
        """Forget the uploaded parts of `item_key` (a new reservation starts over)."""
        with self._write() as conn:
            conn.execute("DELETE FROM parts WHERE item_key = ?", (item_key,))


@functools.cache
def _update_sql(names: tuple[str, ...]) -> str:
    return f"UPDATE items SET {', '.join(f'{n} = ?' for n in names)} WHERE item_key = ?"


@functools.cache
def _insert_sql(names: tuple[str, ...]) -> str:
    return f"INSERT INTO items ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})"


def _item_from_row(row: tuple[Any, ...]) -> ItemRecord:
    values = dict(zip(_ITEM_FIELDS, row, strict=True))
    for name in _JSON_FIELDS:
        values[name] = json.loads(values[name])
    return ItemRecord(**values)


@contextlib.contextmanager
def _translate_errors(path: Path) -> Iterator[None]:
    """Turn SQLite's exceptions into JournalError that name the file and what to do."""
    try:
        yield
    except sqlite3.DatabaseError as exc:
        # SQLite's own text can run to a hundred lines (quick_check lists every bad page): its first line only
        text = (str(exc).strip().splitlines() or [""])[0][:200]
        if "not a database" in text or "malformed" in text or "corrupt" in text:
            raise JournalError(
                f"journal {path} is damaged ({text}); " + _FRESH_JOURNAL_HINT.format(path=path)
            ) from None
        if "disk is full" in text or getattr(exc, "sqlite_errorcode", None) == 13:  # SQLITE_FULL
            raise JournalError(
                f"the disk holding the journal {path} is full: free space there, or point --journal (or "
                "BULKGC_JOURNAL) at a disk with room; then run the same command again to resume"
            ) from None
        if "readonly" in text or "read-only" in text or "unable to open" in text:
            raise JournalError(
                f"journal {path} cannot be written ({text}): point --journal (or BULKGC_JOURNAL) at a "
                "writable location, or fix the permissions of the file and its folder"
            ) from None
        raise JournalError(f"journal {path}: {text}") from None


def _first_problem(check: str) -> str:
    """The first problem PRAGMA quick_check reports (it may list hundreds, one per line), kept short."""
    lines = [line for line in str(check).strip().splitlines() if not line.startswith("***")] or [""]
    more = f" (and {len(lines) - 1} more)" if len(lines) > 1 else ""
    return lines[0][:120] + more


def _connect(path: Path) -> sqlite3.Connection:
    """Open the database, check it, set WAL + synchronous=FULL, and bring its schema up to date."""
    _create_private(path)
    with _translate_errors(path):
        # isolation_level=None: transactions are explicit (BEGIN IMMEDIATE ... COMMIT in Journal._write).
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=5.0)
        try:
            # The first read of the header; a file that is not SQLite fails here.
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            check = conn.execute("PRAGMA quick_check").fetchone()[0]
            if check != "ok":
                raise sqlite3.DatabaseError(f"database disk image is malformed: {_first_problem(check)}")
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute("PRAGMA foreign_keys=ON")
            _create_private(path)  # -wal/-shm exist now
            _migrate(conn, path, version)
        except BaseException:
            conn.close()
            raise
    return conn


def _connect_read_only(path: Path) -> sqlite3.Connection:
    """Open an existing journal read-only, without the lock (a running push keeps writing; WAL lets us read)."""
    if not path.exists():
        raise JournalError(f"no journal at {path}")
    with _translate_errors(path):
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, check_same_thread=False, timeout=5.0)
        try:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            check = conn.execute("PRAGMA quick_check").fetchone()[0]
            if check != "ok":
                raise sqlite3.DatabaseError(f"database disk image is malformed: {_first_problem(check)}")
            if version != SCHEMA_VERSION:
                raise JournalError(
                    f"journal {path} has schema version {version}; this bulkgc reads version {SCHEMA_VERSION} "
                    "(a push with this bulkgc brings an older journal up to date)"
                )
        except BaseException:
            conn.close()
            raise
    return conn


def lock_holder(path: str | os.PathLike[str]) -> str | None:
    """Who holds the run lock of the journal at `path` right now ("bulkgc pid N on host H since T"), or None."""
    lock = lock_path_for(Path(path))
    try:
        fd = os.open(lock, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                return _read_holder(fd)
            raise
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


def _migrate(conn: sqlite3.Connection, path: Path, version: int) -> None:
    if version > SCHEMA_VERSION:
        written_by = "a newer bulkgc"
        with contextlib.suppress(sqlite3.DatabaseError):
            row = conn.execute("SELECT value FROM meta WHERE key = 'bulkgc_version'").fetchone()
            if row:
                written_by = f"bulkgc {row[0]}"
        raise JournalError(
            f"journal {path} has schema version {version}, written by {written_by}; this is bulkgc "
            f"{__version__}, which reads schema versions up to {SCHEMA_VERSION}. Run {written_by} or newer "
            f"with this journal, or " + _FRESH_JOURNAL_HINT.format(path=path)
        )
    if version == SCHEMA_VERSION:
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        for step in range(version, SCHEMA_VERSION):
            for statement in MIGRATIONS[step]:
                conn.execute(statement)
        conn.execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES ('bulkgc_version', ?)", (__version__,)
        )
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION:d}")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


# ---------------------------------------------------------------------------------------------------------
# Async wrapper
# ---------------------------------------------------------------------------------------------------------

_P = ParamSpec("_P")
_T = TypeVar("_T")


@dataclasses.dataclass
class _PendingWrite:
    apply: Callable[[], Any]
    done: bool = False
    result: Any = None
    error: BaseException | None = None
    deferred: bool = False  # a put_soon: nobody waits for it, its error is kept for `flush`


class AsyncJournal:
    """The journal for async code: one SQLite writer, reads and commits in a worker thread.

    Writes use group commit: the writes that queue up while one transaction is being made durable go
    together in the next one, so many images in flight cost one fsync per batch rather than one per write
    (no write waits for company: a kill loses at most the batch being committed). A batch's statements run
    on the event loop's thread (in SQLite's page cache, microseconds each: no thread switch, no GIL handover
    per write); its COMMIT, the fsync, runs in a worker thread. Every write is durable before its call
    returns, except a `put_soon`: a record of what App Store Connect itself holds (an item created, a
    localization saved, an image committed), which the next run rediscovers by reading App Store Connect if a
    kill loses it. It waits in the queue and becomes durable with the next transaction (the next write, read
    or `flush`), in order. A push's image reservations and parts done are durable before it goes on: they are
    what a resumed run and `bulkgc status` rely on.
    """

    def __init__(self, journal: Journal) -> None:
        self.journal = journal
        self._lock = anyio.Lock()
        self._queue: list[_PendingWrite] = []
        self.transactions = 0  # durable commits made for writes (a batch counts once)
        self.writes = 0  # writes asked for
        self._deferred_error: BaseException | None = None  # a put_soon that failed: raised by `flush`

    async def _call(self, fn: Callable[_P, _T], *args: _P.args, **kwargs: _P.kwargs) -> _T:
        if self._queue:  # a read sees every write queued before it
            await self.flush()
        async with self._lock:
            return await anyio.to_thread.run_sync(lambda: fn(*args, **kwargs))

    async def flush(self) -> None:
        """Make every queued write durable (the `put_soon`s); raises the first of their errors."""
        if self._queue:
            await self._write(lambda: None)
            self.writes -= 1  # not a write of its own
        if self._deferred_error is not None:
            error, self._deferred_error = self._deferred_error, None
            raise error

    def put_soon(self, item_key: str, *, clear_parts: bool = False, **fields: Any) -> None:
        """`put` without waiting: durable with the next transaction (see the class). For records of what App
        Store Connect holds, never for what only the journal knows (parts done, failures)."""
        op = _PendingWrite(lambda: self.journal.update(item_key, clear_parts=clear_parts, **fields),
                           deferred=True)
        self.writes += 1
        self._queue.append(op)

    async def _write(self, fn: Callable[_P, _T], *args: _P.args, **kwargs: _P.kwargs) -> _T:
        op = _PendingWrite(lambda: fn(*args, **kwargs))
        self.writes += 1
        self._queue.append(op)
        if self._lock.locked():
            await self._lock.acquire()
        else:  # free: taken at once, without the lock's trip through the event loop (its checkpoint)
            self._lock.acquire_nowait()
        try:
            if not op.done:  # else an earlier holder of the lock already wrote it in its batch
                batch, self._queue = self._queue, []
                # once begun, a batch is committed (or rolled back) whatever happens to this task
                with anyio.CancelScope(shield=True):
                    if self._apply_batch(batch):
                        await anyio.to_thread.run_sync(self._commit_batch, batch)
        finally:
            self._lock.release()
        if op.error is not None:
            raise op.error
        return op.result  # type: ignore[no-any-return]

    def _apply_batch(self, batch: list[_PendingWrite]) -> bool:
        """Run the batch's statements in one open transaction; False (every write failed) if it cannot open."""
        try:
            self.journal.begin_group()
        except Exception as exc:  # noqa: BLE001 - belongs to every write's caller
            for op in batch:
                op.error, op.done = exc, True
                if op.deferred and self._deferred_error is None:
                    self._deferred_error = exc
            return False
        for op in batch:
            try:
                op.result = op.apply()
            except Exception as exc:  # noqa: BLE001 - belongs to that write's caller (its savepoint is undone)
                op.error = exc
        return True

    def _commit_batch(self, batch: list[_PendingWrite]) -> None:
        try:
            self.journal.end_group(commit=True)
        except BaseException as exc:  # the commit failed: none of the batch is durable
            with contextlib.suppress(Exception):
                self.journal.end_group(commit=False)
            for op in batch:
                op.error = op.error or exc
            if not isinstance(exc, Exception):
                raise
        finally:
            for op in batch:
                op.done = True
                if op.deferred and op.error is not None and self._deferred_error is None:
                    self._deferred_error = op.error
            self.transactions += 1

    async def close(self) -> None:
        await self._call(self.journal.close)

    async def start_run(self, manifest_path: str, settings: dict[str, Any]) -> int:
        return await self._call(self.journal.start_run, manifest_path, settings)

    async def finish_run(self, run_id: int, outcome: str, totals: dict[str, Any]) -> None:
        await self._call(self.journal.finish_run, run_id, outcome, totals)

    async def last_run(self) -> RunRecord | None:
        return await self._call(self.journal.last_run)

    async def get(self, item_key: str) -> ItemRecord | None:
        return await self._call(self.journal.get, item_key)

    async def put(self, item_key: str, *, clear_parts: bool = False, **fields: Any) -> None:
        await self._write(self.journal.update, item_key, clear_parts=clear_parts, **fields)

    async def get_many(self, item_keys: list[str]) -> dict[str, ItemRecord]:
        return await self._call(self.journal.get_many, item_keys)

    async def put_many(self, writes: Sequence[tuple[str, Mapping[str, Any]]]) -> None:
        """Several `put`s as one write: one fsync for all of them (and whatever else is queued)."""

        def apply() -> None:
            for key, fields in writes:
                self.journal.update(key, **fields)

        await self._write(apply)

    async def items(self, kind: str | None = None, state: str | None = None) -> list[ItemRecord]:
        return await self._call(self.journal.items, kind, state)

    async def counts(self) -> dict[str, int]:
        return await self._call(self.journal.counts)

    async def mark_part_done(self, item_key: str, part_index: int) -> None:
        await self._write(self.journal.mark_part_done, item_key, part_index)

    async def parts_done(self, item_key: str) -> set[int]:
        return await self._call(self.journal.parts_done, item_key)

    async def clear_parts(self, item_key: str) -> None:
        await self._write(self.journal.clear_parts, item_key)
