"""Durable storage of what a node has accepted: SQLite in WAL mode.

Tables: ``senders`` (keys interned to integers), ``log`` (every judged packet, in the order it
was judged; append-only, one row per committed batch: packets ``first_seq .. first_seq + count -
1`` packed with msgpack, so a commit costs one insert), ``forks`` (the two versions of each fork
proof kept, with their frames: a displaced version leaves it), ``revisions`` (verdicts changed
by a late fork),
``outbox`` (this node's own signed frames and nonce counter), ``snapshots`` (the ledger state
as of a log row, so a restart restores it and replays only the rows after), ``meta``.
Writes are staged and committed in one transaction (group commit); a packet is *accepted* only
once committed.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Final, Protocol

import msgpack

from node.core.events import FORK_DROPPED, JUDGED, WANTED, Event, Revision
from node.core.log import Entry
from node.core.verdicts import Reason

__all__ = ["NO_FAULTS", "Faults", "Store", "StoreError"]

SCHEMA_VERSION: Final = 3
"""1: one log row per packet.  2: one log row per committed batch.  3: fork versions kept with
their frames in ``forks`` instead of the log (older rows keep theirs in the log).  Migrated on
open."""

MIGRATE_BATCH: Final = 4096
"""Packets per log row when a schema-1 store is repacked."""

_pack: Final = msgpack.Packer(use_bin_type=True).pack


class Faults(Protocol):
    """Where a crash can be injected (the durability tests kill the process there): a store or a
    durable replica calls :meth:`reached` at each named point.  ``in_transaction``: rows
    written, not committed; ``after_judge``: judged, not committed; ``after_commit``:
    committed, not forwarded; ``after_sign``: signed, not yet in the outbox."""

    def reached(self, point: str) -> None: ...


class _NoFaults:
    def reached(self, point: str) -> None:
        return None


NO_FAULTS: Final[Faults] = _NoFaults()
"""What a node runs with: no point does anything."""


class StoreError(Exception):
    """The data directory cannot be used (another network, a newer schema, corruption)."""


_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS senders (id INTEGER PRIMARY KEY, key BLOB NOT NULL UNIQUE);
CREATE TABLE IF NOT EXISTS log (
    first_seq INTEGER PRIMARY KEY,
    count INTEGER NOT NULL,
    rows BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS forks (
    sender INTEGER NOT NULL REFERENCES senders(id),
    nonce INTEGER NOT NULL,
    full_hash BLOB NOT NULL,
    frame BLOB,
    PRIMARY KEY (sender, full_hash)
);
CREATE TABLE IF NOT EXISTS revisions (
    id INTEGER PRIMARY KEY,
    sender INTEGER NOT NULL REFERENCES senders(id),
    nonce INTEGER NOT NULL,
    before INTEGER NOT NULL,
    after INTEGER NOT NULL,
    at_seq INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS snapshots (
    log_seq INTEGER PRIMARY KEY,
    state BLOB NOT NULL,
    digest BLOB NOT NULL,
    revision INTEGER
);
CREATE TABLE IF NOT EXISTS outbox (
    nonce INTEGER PRIMARY KEY, frame BLOB NOT NULL, sent INTEGER NOT NULL DEFAULT 0
);
"""


class Store:
    """One node's SQLite database. Not thread-safe: one owner drives it."""

    def __init__(
        self,
        path: str | Path,
        network_id: bytes,
        *,
        synchronous: str = "NORMAL",
        faults: Faults = NO_FAULTS,
    ) -> None:
        self.path = Path(path)
        self.faults = faults
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.db = sqlite3.connect(self.path, isolation_level=None)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute(f"PRAGMA synchronous={synchronous}")
            self.db.executescript(_SCHEMA)
            (check,) = self.db.execute("PRAGMA quick_check").fetchone()
            if check != "ok":
                raise sqlite3.DatabaseError(f"integrity check failed: {check}")
            self._senders: dict[bytes, int] = {
                bytes(key): ident for ident, key in self.db.execute("SELECT id, key FROM senders")
            }
            self._check_meta(network_id)
            row = self.db.execute(
                "SELECT COALESCE(MAX(first_seq + count - 1), 0) FROM log"
            ).fetchone()
        except (sqlite3.DatabaseError, OSError) as exc:
            raise StoreError(f"cannot open the store at {self.path}: {exc}") from None
        self._log: list[tuple[bytes, int, int, bytes]] = []
        self._forks: list[tuple[bytes, int, bytes, bytes]] = []
        self._unforks: list[tuple[bytes, bytes]] = []
        self._revisions: list[tuple[bytes, int, int, int, int]] = []
        self.committed_seq: int = row[0]

    def _check_meta(self, network_id: bytes) -> None:
        meta = dict(self.db.execute("SELECT key, value FROM meta"))
        if not meta:
            with self._transaction():
                self.db.executemany(
                    "INSERT INTO meta (key, value) VALUES (?, ?)",
                    [("network_id", network_id), ("schema", SCHEMA_VERSION)],
                )
            return
        if meta.get("network_id") != network_id:
            stored = bytes(meta.get("network_id", b"")).hex()[:8]
            raise StoreError(
                f"the store at {self.path} belongs to network {stored}…, "
                f"not {network_id.hex()[:8]}…: use another data directory"
            )
        schema = int(meta.get("schema", 0))
        if schema > SCHEMA_VERSION:
            raise StoreError(f"the store at {self.path} was written by a newer version")
        if schema == 1:
            self._migrate_v1()
        if schema in (1, 2):
            self._migrate_v2()

    def _migrate_v1(self) -> None:
        """Schema 1 kept one log row per packet; repack it into batch rows, in one transaction."""
        db = self.db
        with self._transaction():
            db.execute("ALTER TABLE log RENAME TO log_v1")
            db.execute("DROP INDEX IF EXISTS log_by_sender")
            db.execute(
                "CREATE TABLE log (first_seq INTEGER PRIMARY KEY, count INTEGER NOT NULL,"
                " rows BLOB NOT NULL)"
            )
            batch: list[list[object]] = []
            first = 1
            for seq, sender, nonce, reason, frame in db.execute(
                "SELECT seq, sender, nonce, reason, frame FROM log_v1 ORDER BY seq"
            ).fetchall():
                if not batch:
                    first = seq
                if (
                    not (type(sender) is type(nonce) is type(reason) is int)
                    or type(frame) is not bytes
                ):
                    raise sqlite3.DatabaseError(f"schema-1 log row {seq} is malformed")
                batch.append([sender, nonce, reason, frame])
                if len(batch) == MIGRATE_BATCH:
                    self._insert_rows(first, batch)
                    batch = []
            if batch:
                self._insert_rows(first, batch)
            db.execute("DROP TABLE log_v1")

    def _migrate_v2(self) -> None:
        """Schema 2 kept fork versions in the log: give ``forks`` a frame column (NULL for
        the rows whose frame stays in the log)."""
        db = self.db
        with self._transaction():
            columns = [row[1] for row in db.execute("PRAGMA table_info(forks)")]
            if "frame" not in columns:
                db.execute("ALTER TABLE forks ADD COLUMN frame BLOB")
            columns = [row[1] for row in db.execute("PRAGMA table_info(snapshots)")]
            if "revision" not in columns:
                db.execute("ALTER TABLE snapshots ADD COLUMN revision INTEGER")
            db.execute("UPDATE meta SET value = ? WHERE key = 'schema'", (SCHEMA_VERSION,))

    def _insert_rows(self, first_seq: int, rows: Sequence[Sequence[object]]) -> None:
        self.db.execute(
            "INSERT INTO log (first_seq, count, rows) VALUES (?, ?, ?)",
            (first_seq, len(rows), _pack(rows)),
        )

    def close(self) -> None:
        self.db.close()

    # ------------------------------------------------------------------ staging

    def stage_judged(self, sender: bytes, nonce: int, reason: Reason, frame: bytes) -> None:
        self._log.append((sender, nonce, int(reason), frame))

    def stage_fork(self, sender: bytes, nonce: int, full_hash: bytes, frame: bytes) -> None:
        """Keep a fork proof's version (accepted like a judged packet, outside the log)."""
        self._forks.append((sender, nonce, full_hash, frame))

    def stage_fork_drop(self, sender: bytes, full_hash: bytes) -> None:
        """A version no longer kept (a third with a smaller full hash displaced it)."""
        self._unforks.append((sender, full_hash))

    def stage_revision(self, sender: bytes, nonce: int, before: Reason, after: Reason) -> None:
        at_seq = self.committed_seq + len(self._log)  # the log rows it comes after
        self._revisions.append((sender, nonce, int(before), int(after), at_seq))

    def stage_events(self, events: list[Event]) -> list[bytes]:
        """Stage what a replica's events make durable (``Replica.take_events``), in order;
        return the frames now accepted (judged packets and kept fork versions), to commit and
        then forward.  Pulls (``WANTED``) are not the store's business."""
        accepted: list[bytes] = []
        for event in events:
            what, item = event.what, event.item
            if what == WANTED:
                continue
            if what == JUDGED:
                assert isinstance(item, Entry) and item.judgment is not None
                self.stage_judged(item.sender, item.nonce, item.judgment.reason, item.frame)
                accepted.append(item.frame)
            elif isinstance(item, Revision):
                self.stage_revision(item.sender, item.nonce, item.before, item.after)
            elif what == FORK_DROPPED:
                assert isinstance(item, Entry)
                self.stage_fork_drop(item.sender, item.full_hash)
            else:  # FORK_KEPT: accepted like a judged packet, kept beside the log
                assert isinstance(item, Entry)
                self.stage_fork(item.sender, item.nonce, item.full_hash, item.frame)
                accepted.append(item.frame)
        return accepted

    @property
    def dirty(self) -> bool:
        return bool(self._log or self._forks or self._unforks or self._revisions)

    def commit(self) -> int:
        """Write everything staged in one transaction; return how many log rows it added."""
        if not self.dirty:
            return 0
        db = self.db
        with self._transaction():
            sid = self._intern
            senders = self._senders
            rows: list[tuple[int, int, int, bytes]] = []
            for s, n, r, f in self._log:
                ident = senders.get(s)  # a direct lookup: a bound method call costs more
                rows.append((ident if ident is not None else self._intern(s), n, r, f))
            if rows:
                self._insert_rows(self.committed_seq + 1, rows)
            db.executemany(
                "INSERT OR IGNORE INTO forks (sender, nonce, full_hash, frame) VALUES (?, ?, ?, ?)",
                [(sid(s), n, h, f) for s, n, h, f in self._forks],
            )
            db.executemany(
                "DELETE FROM forks WHERE sender = ? AND full_hash = ?",
                [(sid(s), h) for s, h in self._unforks],
            )
            db.executemany(
                "INSERT INTO revisions (sender, nonce, before, after, at_seq)"
                " VALUES (?, ?, ?, ?, ?)",
                [(sid(s), n, b, a, at) for s, n, b, a, at in self._revisions],
            )
            self.faults.reached("in_transaction")
        added = len(rows)
        self.committed_seq += added
        self._log.clear()
        self._forks.clear()
        self._unforks.clear()
        self._revisions.clear()
        return added

    def discard_staged(self) -> None:
        self._log.clear()
        self._forks.clear()
        self._unforks.clear()
        self._revisions.clear()

    def _intern(self, key: bytes) -> int:
        ident = self._senders.get(key)
        if ident is None:
            cur = self.db.execute("INSERT INTO senders (key) VALUES (?)", (key,))
            ident = cur.lastrowid
            assert ident is not None
            self._senders[key] = ident
        return ident

    def _transaction(self) -> _Transaction:
        return _Transaction(self)

    # ------------------------------------------------------------------ reading

    def replay_frames(self) -> Iterator[bytes]:
        """Every accepted frame, fork versions included, in the order it was accepted: fed
        through the same ingest pipeline they rebuild the same replica."""
        return self.replay_after(0)

    def replay_after(self, seq: int) -> Iterator[bytes]:
        """The accepted frames after log row ``seq``, in order."""
        for _, _, _, frame in self._rows(seq + 1, None):
            yield frame

    def records(self, upto: int, revision: int | None = None) -> list[tuple[bytes, Reason]]:
        """Log rows 1..``upto`` as ``(frame, verdict)``, with the revisions up to id
        ``revision`` applied (a snapshot's, see :meth:`snapshots_newest_first`), or when that
        is None those made before row ``upto`` was written."""
        keys = {ident: key for key, ident in self._senders.items()}
        try:
            revised: dict[tuple[bytes, int], Reason] = {}
            query, bound = (
                ("SELECT sender, nonce, after FROM revisions WHERE at_seq <= ? ORDER BY id", upto)
                if revision is None
                else (
                    "SELECT sender, nonce, after FROM revisions WHERE id <= ? ORDER BY id",
                    revision,
                )
            )
            for sender, nonce, after in self.db.execute(query, (bound,)):
                revised[(keys[sender], int(nonce))] = Reason(after)
            return [
                (frame, revised.get((keys[s], n), Reason(r)))
                for s, n, r, frame in self._rows(1, upto)
            ]
        except (KeyError, ValueError) as exc:
            raise StoreError(f"cannot read the store at {self.path}: {exc}") from None

    def _rows(self, lo: int, hi: int | None) -> Iterator[tuple[int, int, int, bytes]]:
        """Log rows ``lo..hi`` (to the end if ``hi`` is None) as ``(sender id, nonce, reason,
        frame)``."""
        end = hi if hi is not None else self.committed_seq
        try:
            segments = self.db.execute(
                "SELECT first_seq, rows FROM log WHERE first_seq + count > ? AND first_seq <= ?"
                " ORDER BY first_seq",
                (lo, end),
            ).fetchall()
            for first, blob in segments:
                rows = msgpack.unpackb(blob)
                for index in range(max(0, lo - first), min(len(rows), end - first + 1)):
                    sender, nonce, reason, frame = rows[index]
                    yield int(sender), int(nonce), int(reason), bytes(frame)
        except (sqlite3.DatabaseError, ValueError, TypeError, msgpack.UnpackException) as exc:
            raise StoreError(f"cannot read the store at {self.path}: {exc}") from None

    def save_snapshot(self, log_seq: int, state: bytes, digest: bytes) -> None:
        """Persist the ledger state as of log row ``log_seq`` and of every revision committed
        so far (only the newest two snapshots are kept)."""
        with self._transaction():
            self.db.execute(
                "INSERT OR REPLACE INTO snapshots (log_seq, state, digest, revision)"
                " VALUES (?, ?, ?, (SELECT COALESCE(MAX(id), 0) FROM revisions))",
                (log_seq, state, digest),
            )
            self.db.execute(
                "DELETE FROM snapshots WHERE log_seq NOT IN"
                " (SELECT log_seq FROM snapshots ORDER BY log_seq DESC LIMIT 2)"
            )

    def snapshots_newest_first(self) -> list[tuple[int, bytes, bytes, int | None]]:
        """Persisted snapshots ``(log_seq, state, digest, revision)``, newest first:
        ``revision`` is the last revision id the state includes (None from older stores)."""
        try:
            return [
                (int(n), bytes(st), bytes(d), None if r is None else int(r))
                for n, st, d, r in self.db.execute(
                    "SELECT log_seq, state, digest, revision FROM snapshots ORDER BY log_seq DESC"
                )
            ]
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"cannot read the store at {self.path}: {exc}") from None

    def fork_evidence(self) -> list[tuple[bytes, int, bytes]]:
        """The kept fork versions: ``(sender, nonce, full hash)``."""
        keys = {ident: key for key, ident in self._senders.items()}
        return [
            (keys[s], int(n), bytes(h))
            for s, n, h in self.db.execute("SELECT sender, nonce, full_hash FROM forks")
        ]

    def fork_frames(self) -> list[bytes]:
        """The frames of the kept fork versions stored outside the log (schema 3 on)."""
        try:
            return [
                bytes(f)
                for (f,) in self.db.execute(
                    "SELECT frame FROM forks WHERE frame IS NOT NULL ORDER BY sender, nonce"
                )
            ]
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"cannot read the store at {self.path}: {exc}") from None

    def revisions(self) -> list[tuple[bytes, int, Reason, Reason]]:
        """Verdicts changed by late fork proofs, oldest first."""
        keys = {ident: key for key, ident in self._senders.items()}
        return [
            (keys[s], int(n), Reason(b), Reason(a))
            for s, n, b, a in self.db.execute(
                "SELECT sender, nonce, before, after FROM revisions ORDER BY id"
            )
        ]

    def log_size(self) -> int:
        """Packets in the log (counted from the rows, not from this object's memory)."""
        return int(self.db.execute("SELECT COALESCE(SUM(count), 0) FROM log").fetchone()[0])

    # ------------------------------------------------------------------ node flags

    def flag(self, name: str) -> bytes | None:
        """A node-level flag kept in ``meta`` (e.g. ``own_recovery``), or None when unset."""
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", ("flag:" + name,)).fetchone()
        return None if row is None else bytes(row[0])

    def set_flag(self, name: str, value: bytes | None) -> None:
        """Set (or, with None, clear) a node-level flag, committed at once."""
        with self._transaction():
            if value is None:
                self.db.execute("DELETE FROM meta WHERE key = ?", ("flag:" + name,))
            else:
                self.db.execute(
                    "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                    ("flag:" + name, value),
                )

    # ------------------------------------------------------------------ the outbox

    def outbox_put(self, nonce: int, frame: bytes) -> None:
        """Commit one own signed frame and with it the nonce counter, before anyone sees it."""
        with self._transaction():
            self.db.execute("INSERT INTO outbox (nonce, frame) VALUES (?, ?)", (nonce, frame))

    def outbox(self) -> list[tuple[int, bytes]]:
        return [
            (int(n), bytes(f))
            for n, f in self.db.execute("SELECT nonce, frame FROM outbox ORDER BY nonce")
        ]

    def own_nonce(self) -> int:
        """The highest nonce this node has committed to signing (0 before the first)."""
        return int(self.db.execute("SELECT COALESCE(MAX(nonce), 0) FROM outbox").fetchone()[0])

    def unsent(self) -> list[tuple[int, bytes]]:
        """Own frames not yet known to have reached a transport (re-sent after a restart)."""
        return [
            (int(n), bytes(f))
            for n, f in self.db.execute(
                "SELECT nonce, frame FROM outbox WHERE sent = 0 ORDER BY nonce"
            )
        ]

    def mark_sent(self, nonces: Sequence[int]) -> None:
        with self._transaction():
            self.db.executemany(
                "UPDATE outbox SET sent = 1 WHERE nonce = ?", [(n,) for n in nonces]
            )


class _Transaction:
    def __init__(self, store: Store) -> None:
        self.db = store.db

    def __enter__(self) -> None:
        self.db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is None:
            self.db.execute("COMMIT")
        else:
            self.db.execute("ROLLBACK")
