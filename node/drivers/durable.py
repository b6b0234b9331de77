"""A replica bound to its store and this node's identity: what "accepted" means in practice.

Frames are ingested in batches and everything judged is committed in one transaction (group
commit) before anything is forwarded.  This node's own packets are committed to the outbox —
frame and nonce counter in one transaction — before any transport sees them, re-sent byte for
byte after a restart until marked sent, and never signed twice.  Nothing is signed while the
replica rebuilds from the store.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from typing import Final

import nacl.signing

from node.core.events import WANTED, Event, Ingested, Revision
from node.core.ledger import Judge, LedgerState, TableEngine, judge
from node.core.pulls import Want
from node.core.recovery import RECOVERY_PEERS, Recovery
from node.core.replica import Replica
from node.core.signer import sign_next
from node.core.tables import TablesEngine
from node.core.verdicts import PlayerError
from node.drivers.store import NO_FAULTS, Faults, Store
from protocol.constants import MAX_NONCE
from protocol.frame import FrameCodec
from protocol.genesis import Genesis
from protocol.kinds import Body

__all__ = [
    "RECOVERY_FLAG",
    "RECOVERY_PEERS",
    "SNAPSHOT_ROWS",
    "Batch",
    "DurableReplica",
    "PlayerError",
    "Recovery",
]

log = logging.getLogger("bitcraps.store")

REPLAY_BATCH: Final = 1024
"""Stored frames fed to the replica at once while it rebuilds."""
SNAPSHOT_ROWS: Final = 4096
"""Accepted log rows between persisted snapshots of the ledger state."""
SNAPSHOT_SIZE_FACTOR: Final = 4
"""Persisted snapshots are at least this many times the state's size apart, so serializing
costs at most a quarter of an element per accepted packet."""


RECOVERY_FLAG: Final = "own_recovery"
"""The store flag that keeps a node in recovery across restarts until recovery completes."""


class Batch:
    """The outcome of one received batch: per-frame results, the frames now accepted (to
    forward), and the pulls the replica asks for (to send)."""

    __slots__ = ("accepted", "results", "wants")

    def __init__(self) -> None:
        self.results: list[Ingested] = []
        self.accepted: list[bytes] = []
        self.wants: list[Want] = []


class DurableReplica:
    """Replica + store + (optionally) this node's signing key.

    ``clock`` gives the time the replica's timers run on (``time.monotonic`` by default);
    ``faults`` are the crash-injection points (none by default); ``judge`` is the judge step and
    ``engine`` the table engine (TABLES.md's unless told: every replica of a mesh must judge
    table packets alike); ``codec`` a frame codec to share.
    """

    def __init__(
        self,
        genesis: Genesis,
        store: Store,
        key: nacl.signing.SigningKey | None = None,
        *,
        audit: bool = False,
        snapshot_rows: int = SNAPSHOT_ROWS,
        snapshot_factor: int = SNAPSHOT_SIZE_FACTOR,
        lost_data: bool = False,
        clock: Callable[[], float] = time.monotonic,
        faults: Faults = NO_FAULTS,
        judge: Judge = judge,
        engine: TableEngine | None = None,
        codec: FrameCodec | None = None,
    ) -> None:
        """``lost_data``: this node kept its key but not its store (a new device, a wiped or
        restored data directory).  It then signs nothing until :data:`RECOVERY_PEERS` peers
        have shown it its own history (:meth:`report_own`); the flag is kept in the store, so
        a restart before that still waits.  The daemon sets it whenever the key is older than
        the store it opens."""
        self.genesis = genesis
        self.store = store
        self.key = key
        self.identity = bytes(key.verify_key) if key is not None else None
        self.audit = audit
        self.snapshot_rows = snapshot_rows
        self.snapshot_factor = snapshot_factor
        """Persisted snapshots are at least this many times the state's size apart (0: only
        ``snapshot_rows``, as the tests use to snapshot small states often)."""
        self.clock = clock
        self.faults = faults
        self.codec = codec if codec is not None else FrameCodec(genesis.network_id)
        self._judge = judge
        self._engine: TableEngine = engine if engine is not None else TablesEngine()
        self.replica = self._new_replica()
        self.rebuilding = True
        self.resend: list[bytes] = []
        self.restored_from: int = 0
        """The log row of the persisted snapshot the rebuild started from (0: none)."""
        self._snapshot_seq = 0
        self.recovery: Recovery | None = None
        if key is not None:
            if lost_data and store.flag(RECOVERY_FLAG) is None:
                store.set_flag(RECOVERY_FLAG, b"1")
            if store.flag(RECOVERY_FLAG) is not None:
                self.recovery = Recovery()
                log.warning(
                    "key %s runs without its own history (lost or restored data): a restored "
                    "backup can fork this key, so it signs nothing until %d peers have shown "
                    "it its own packets",
                    self.identity.hex()[:16] if self.identity else "?",
                    RECOVERY_PEERS,
                )
        self._rebuild()

    def _rebuild(self) -> None:
        store = self.store
        start = 0
        fork_frames = store.fork_frames()
        for log_seq, blob, digest, revision in store.snapshots_newest_first():
            replica = self._new_replica()
            try:
                replica.restore(
                    store.records(log_seq, revision),
                    LedgerState.from_bytes(self.genesis, blob, self._engine),
                    fork_frames,
                )
            except ValueError as exc:
                log.warning(
                    "snapshot at log row %d unusable (%s); trying an older one", log_seq, exc
                )
                continue
            if replica.digest() != digest:
                log.warning("snapshot at log row %d restores another digest; skipped", log_seq)
                continue
            self.replica, start = replica, log_seq
            break
        replica = self.replica
        now = self.clock()
        # The store holds only frames this node verified: they are placed without checking
        # their signatures again.  Fork versions first (a proof in place before the chain it
        # cuts costs no re-judge), and again after the log for those beyond the window of a
        # chain not yet replayed.
        replica.receive_checked(fork_frames, now)
        chunk: list[bytes] = []
        replayed = 0
        for frame in store.replay_after(start) if start else store.replay_frames():
            replayed += 1
            chunk.append(frame)
            if len(chunk) == REPLAY_BATCH:
                replica.receive_checked(chunk, now)
                chunk = []
        replica.receive_checked([*chunk, *fork_frames], now)
        replica.take_events()  # the store's own content: nothing to stage or pull
        self.restored_from = self._snapshot_seq = start
        unsent = store.unsent()
        if unsent:
            self.receive(frame for _, frame in unsent)
            self.resend = [frame for _, frame in unsent]
        self.rebuilding = False
        if start or replayed or unsent:
            log.info(
                "ledger rebuilt from the store: %s, %d logged frames replayed, %d own packets "
                "to send again; state digest %s",
                f"snapshot at log row {start}" if start else "no snapshot",
                replayed,
                len(unsent),
                replica.digest().hex()[:16],
            )

    def _new_replica(self) -> Replica:
        return Replica(
            self.genesis, engine=self._engine, judge=self._judge, codec=self.codec, audit=self.audit
        )

    def _maybe_snapshot(self) -> None:
        """Persist the state every ``snapshot_rows`` log rows, or every four times the state's
        size if that is more, so that serializing stays O(1) per accepted packet."""
        store = self.store
        since = store.committed_seq - self._snapshot_seq
        if since < self.snapshot_rows:  # before walking the state for its size
            return
        state = self.replica.state
        if since < self.snapshot_factor * state.size():
            return
        store.save_snapshot(store.committed_seq, state.to_bytes(), state.digest())
        self._snapshot_seq = store.committed_seq

    def revisions(self) -> list[Revision]:
        """Every verdict a late fork proof changed, oldest first (kept in the store)."""
        return [Revision(*row) for row in self.store.revisions()]

    # ------------------------------------------------------------------ receiving

    def receive(self, frames: Iterable[bytes]) -> Batch:
        """Receive a batch, commit what was judged, return what may now be forwarded and
        the pulls to send."""
        batch = Batch()
        replica = self.replica
        batch.results = replica.receive_batch(list(frames), self.clock())
        self.faults.reached("after_judge")
        self._commit(batch)
        return batch

    def tick(self) -> Batch:
        """Run the replica's timers (pulls asked again, fork witnesses given up): a batch with
        no results, and what those changed."""
        batch = Batch()
        self.replica.handle_timer(self.clock())
        self._commit(batch)
        return batch

    def _commit(self, batch: Batch) -> None:
        events = self.replica.take_events()
        batch.wants = [e.item for e in events if e.what == WANTED]  # type: ignore[misc]
        batch.accepted = self.commit_events(events)
        if self.recovery is not None and batch.accepted:
            self._check_recovered()

    def commit_events(self, events: list[Event]) -> list[bytes]:
        """Stage and commit, in one transaction, events taken from this replica (by
        :meth:`receive`, or by a node core that owns the replica and hands them over in a
        Persist); snapshot if due.  Returns the frames now accepted."""
        store = self.store
        accepted = store.stage_events(events)
        store.commit()
        if not self.rebuilding:
            self._maybe_snapshot()
        self.faults.reached("after_commit")
        return accepted

    def recovered(self) -> None:
        """Recovery completed elsewhere (a node core's rule): clear the durable flag."""
        self.store.set_flag(RECOVERY_FLAG, None)
        self.recovery = None

    # ------------------------------------------------------------------ recovering own history

    @property
    def recovering(self) -> bool:
        """True while this node (which lost its data) still waits for peers (see Recovery)."""
        return self.recovery is not None

    def report_own(self, peer: bytes, hwm: int, prefix: bytes) -> bool:
        """A peer's view of this node's own chain after a full anti-entropy round: the HWM and
        cumulative-hash prefix of this key's entry in that peer's summary (HWM 0 and ``b""``
        when it knows no packet of this key).  A peer's newer report replaces its older one.
        The packets themselves arrive as frames through :meth:`receive`, as any others.
        Returns True when recovery completes (now or before); raises ValueError, changing
        nothing, for a malformed report.
        """
        if type(peer) is not bytes or len(peer) != 32:
            raise ValueError("peer must be a 32-byte public key")
        if type(hwm) is not int or not 0 <= hwm <= MAX_NONCE:
            raise ValueError(f"hwm must be an int in 0..{MAX_NONCE}")
        if type(prefix) is not bytes or len(prefix) > 32 or (hwm > 0) != (len(prefix) >= 8):
            raise ValueError("prefix must be 8-32 bytes of the cumulative hash (empty for HWM 0)")
        recovery = self.recovery
        if recovery is None:
            return True
        if peer == self.identity:
            raise ValueError("a node cannot vouch for its own history")
        recovery.reports[peer] = (hwm, prefix)
        return self._check_recovered()

    def _check_recovered(self) -> bool:
        recovery, me = self.recovery, self.identity
        if recovery is None or me is None:
            return True
        replica = self.replica
        if not recovery.done(replica, me):
            return False
        self.store.set_flag(RECOVERY_FLAG, None)
        self.recovery = None
        log.info(
            "own history recovered: HWM %d confirmed by %d peers; signing resumes",
            replica.hwm(me),
            len(recovery.reports),
        )
        return True

    # ------------------------------------------------------------------ signing

    def issue(self, body: Body) -> bytes:
        """Sign, commit to the outbox, ingest and commit one own packet; return its frame.

        Raises :class:`PlayerError` (and signs nothing) when the replica would refuse the
        packet at player level, when it names a packet not judged here, when an earlier own
        packet still waits for its dependencies, or while rebuilding.
        """
        if self.key is None or self.identity is None:
            raise PlayerError("this node has no signing key")
        if self.rebuilding:
            raise PlayerError("the node is rebuilding from its store; it signs nothing until done")
        me = self.identity
        replica = self.replica
        recovery = self.recovery
        if recovery is not None and not self._check_recovered():
            raise PlayerError(recovery.waiting(replica, me))
        nonce, frame = sign_next(replica, self.key, self.codec, body, self.store.own_nonce())
        self.faults.reached("after_sign")
        self.store.outbox_put(nonce, frame)
        self.receive([frame])
        return frame

    def mark_sent(self, frames: Iterable[bytes]) -> None:
        """Record that own frames reached a transport (they are then not re-sent on restart)."""
        me = self.identity
        if me is None:
            return
        nonces = []
        for frame in frames:
            env = self.codec.open(frame)
            if env.sender == me:
                nonces.append(env.nonce)
        if nonces:
            self.store.mark_sent(nonces)
