"""Durable state: every change a backend makes, as a log of domain events in SQLite, replayed at start-up.

The in-memory :class:`~mock_amojo.domain.Backend` stays the one state engine; a
:class:`SqliteStore` attached to it appends each :class:`~mock_amojo.domain._changes.Change` (a named
domain event of :mod:`mock_amojo.domain._events`, and the ids and times it drew) and commits *inside
the state lock, before the call returns* — so no HTTP answer is sent for a change that is not
on disk. Opening the store on an existing file replays the log into a fresh backend, with the
recorded ids and times, which rebuilds exactly the acknowledged state.

``meta.schema_version`` is the file's format. A file of an older format is upgraded in place
(:mod:`mock_amojo.domain._upgrades`) in one transaction, after a copy of it is kept next to it as
``<file>.v<old>.bak``; a file of a newer format is refused.

Durability: WAL with ``synchronous=NORMAL`` (the default here) makes each commit a write
into the WAL file in the OS page cache. That survives ``kill -9`` and any crash of this
process; only a crash of the machine itself (power loss) can drop the last commits.
``synchronous=FULL`` also fsyncs each commit (survives power loss) at the price of one
fsync per change.

>>> import tempfile, pathlib
>>> from mock_amojo.domain import Backend
>>> path = pathlib.Path(tempfile.mkdtemp()) / "state.sqlite"
>>> with SqliteStore(path) as store:
...     backend = store.attach(Backend())
...     _ = backend.register_account(amojo_id="acc-1", name="Shop")
>>> with SqliteStore(path) as store:
...     store.attach(Backend()).account("acc-1").name
'Shop'
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from pathlib import Path
from types import TracebackType
from typing import Literal

import orjson

from ..errors import StateNotSaved
from ._backend import Backend
from ._changes import Change
from ._events import FORMAT_VERSION
from ._upgrades import UnknownRecord, upgrade_record

__all__ = ["SYNCHRONOUS_MODES", "SqliteStore"]

_log = logging.getLogger("mock_amojo.domain._store")

Synchronous = Literal["normal", "full"]
SYNCHRONOUS_MODES: tuple[Synchronous, ...] = ("normal", "full")
#: Records upgraded per statement batch: a large log is never held in memory whole.
_UPGRADE_BATCH = 1000


class SqliteStore:
    """An append-only log of a backend's changes in one SQLite file (stdlib ``sqlite3``, WAL)."""

    def __init__(self, path: str | Path, *, synchronous: Synchronous = "normal") -> None:
        if synchronous not in SYNCHRONOUS_MODES:
            raise ValueError(f"synchronous must be one of {SYNCHRONOUS_MODES}, got {synchronous!r}")
        self.path = Path(path)
        # One connection shared by every thread; writes happen under the backend's lock, reads only at start-up.
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=0)
        self._lock = threading.Lock()
        try:
            self._db.execute("PRAGMA journal_mode=WAL")
            # One server per file: two logs interleaved in one file would replay as neither server's state.
            self._db.execute("PRAGMA locking_mode=EXCLUSIVE")
            self._db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        except sqlite3.OperationalError as err:
            self._db.close()
            if "locked" in str(err):
                raise ValueError(f"{self.path} is in use by another mock-amojo (one server per state file)") from None
            raise
        self._db.execute(f"PRAGMA synchronous={synchronous.upper()}")
        self._db.execute("CREATE TABLE IF NOT EXISTS changes (seq INTEGER PRIMARY KEY AUTOINCREMENT, change BLOB NOT NULL)")
        self._db.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (str(FORMAT_VERSION),))
        try:
            self._open_format()
        except BaseException:
            self._db.close()
            raise
        #: How many recorded changes ended differently on replay (0 unless the code changed under an old file).
        self.diverged = 0
        self.replayed = 0

    def _open_format(self) -> None:
        """Read the file's format; upgrade an older one, refuse a newer one."""
        stored = self._db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0]
        version = int(stored) if str(stored).isdigit() else 0
        if version > FORMAT_VERSION:
            raise ValueError(
                f"state file format {version} is newer than this mock-amojo reads (format {FORMAT_VERSION}); "
                "run the mock-amojo that wrote it, or start with another --db file"
            )
        if version < 1:
            raise ValueError(f"state file format {stored!r} is not a mock-amojo state file format")
        if version < FORMAT_VERSION:
            self._upgrade(version)

    def _upgrade(self, version: int) -> None:
        """Rewrite every record of format ``version`` in the current one, in one transaction, after a backup."""
        backup = self.path.with_name(f"{self.path.name}.v{version}.bak")
        try:
            backup.unlink(missing_ok=True)
            target = sqlite3.connect(backup)
            try:
                self._db.backup(target)
            finally:
                target.close()
        except (OSError, sqlite3.Error) as err:
            raise ValueError(
                f"it is in format {version}; upgrading it needs a copy at {backup}, which could not be written: {err}"
            ) from None
        self._db.execute("BEGIN IMMEDIATE")
        try:
            seq = 0
            while True:
                rows = self._db.execute(
                    "SELECT seq, change FROM changes WHERE seq > ? ORDER BY seq LIMIT ?", (seq, _UPGRADE_BATCH)
                ).fetchall()
                if not rows:
                    break
                for seq, raw in rows:
                    try:
                        record = upgrade_record(orjson.loads(raw), version)
                    except (orjson.JSONDecodeError, UnknownRecord, KeyError, TypeError, AttributeError) as err:
                        raise ValueError(f"change {seq} cannot be upgraded from format {version}: {err}") from None
                    if record is None:
                        self._db.execute("DELETE FROM changes WHERE seq = ?", (seq,))
                    else:
                        self._db.execute("UPDATE changes SET change = ? WHERE seq = ?", (orjson.dumps(record), seq))
            self._db.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(FORMAT_VERSION),))
            self._db.execute("COMMIT")
        except BaseException as err:
            self._db.execute("ROLLBACK")
            if isinstance(err, ValueError):
                raise ValueError(f"{err}; the file is unchanged (a copy is at {backup})") from None
            raise
        _log.warning("%s: upgraded from state file format %d to %d; the old file is kept as %s", self.path, version, FORMAT_VERSION, backup)

    def __len__(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM changes").fetchone()[0])

    def attach(self, backend: Backend) -> Backend:
        """Replay the log into ``backend`` (fresh), then record every change it makes from now on."""
        records = (Change.decode(raw) for (raw,) in self._db.execute("SELECT change FROM changes ORDER BY seq"))
        self.replayed, self.diverged = backend.restore(records, self.append)
        if self.diverged:
            _log.warning("%s: %d of %d changes replayed differently than recorded", self.path, self.diverged, self.replayed)
        return backend

    def append(self, change: Change) -> None:
        """Write and commit ``change``; raises :class:`StateNotSaved` (503) if the disk refuses."""
        try:
            with self._lock:
                self._db.execute("INSERT INTO changes (change) VALUES (?)", (change.encode(),))
        except sqlite3.Error as err:
            raise StateNotSaved(
                f"The state file {str(self.path)!r} could not be written: {err}.",
                hint="The change was not made durable, so it is not acknowledged; check free disk space and file permissions.",
            ) from None

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> SqliteStore:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None) -> None:
        self.close()
