"""The ledger replica: the one place frames become judged packets (DESIGN.md section 4).

Theory of operation (docs/LEDGER.md has worked examples):

    frame ─▶ envelope ─▶ fork gate / dedup / window ─▶ verify ─▶ body
          ─▶ held (predecessor missing, a fork witness, or no room)  ─┐
          ─▶ logged (prev matches the logged predecessor) ◀───────────┘
          ─▶ judged when predecessor and dependencies are judged: Applied / Refused(reason)

A driver feeds it ``receive(frame, now)`` (or ``open_batch`` / ``finish_batch`` to check
signatures elsewhere, ``receive_checked(frames, now)`` for frames it checked before), calls
``handle_timer(now)`` at ``next_timer()``, and drains ``take_events()``: packets judged, fork
versions kept or dropped, revisions, pulls.  Every structure a flood can grow is bounded and
freed with what it refers to (``footprint()``).
Sans-IO: no clock, socket or randomness; the judge is injected.
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Iterable, Sequence
from typing import Final

from node.core.dedup import SeenIndex
from node.core.events import (
    FORK_DROPPED,
    FORK_KEPT,
    JUDGED,
    REVISED,
    WANTED,
    Event,
    Ingested,
    Revision,
)
from node.core.forks import Dependents, Fork, keep_two
from node.core.holdback import WaitRoom
from node.core.ledger import (
    FROZEN,
    ZERO_HASH,
    Dep,
    Effects,
    Judge,
    Judgment,
    LedgerState,
    TableEngine,
    apply,
    judge,
    move_money,
    unmove_money,
)
from node.core.log import Chain, Entry, SuffixRank
from node.core.pulls import Pulls, Want
from node.core.tables.engine import TablesEngine
from node.core.verdicts import Outcome, Reason
from node.core.waits import Waits
from protocol.acyclic import untracked as _untracked_imported
from protocol.constants import HASH_LEN, HOLDBACK_TOTAL, HOLDBACK_WINDOW
from protocol.errors import Malformed, Rejected
from protocol.frame import Envelope, FrameCodec, Packet, bad_signature, decode_body
from protocol.frame import signatures_valid as _signatures_valid
from protocol.genesis import Genesis
from protocol.hashing import sha256
from protocol.kinds import Body, ExtRef

__all__ = [
    "SERVE_LIMIT",
    "UNJUDGED_TOTAL",
    "WITNESS_TIMEOUT",
    "OpenBatch",
    "Replica",
    "Verdicts",
    "verify_batch",
]

_untracked: Final = _untracked_imported
"""A module constant: compiled, called without a lookup in the module's globals."""

UNJUDGED_TOTAL: Final = 20_000
"""Most logged-but-unjudged packets across all senders (per sender, the window W bounds it)."""
SERVE_LIMIT: Final = 64
"""Most frames :meth:`Replica.serve` answers one want with."""
WITNESS_TIMEOUT: Final = 30.0
"""Seconds a fork witness waits for the version its ``prev`` names before it is evicted."""

_JUDGED_KEY: Final = Outcome.JUDGED.value
_OUTCOME_JUDGED: Final = Outcome.JUDGED  # an enum member is a class lookup each time
_EQUIVOCATED: Final = Judgment(Reason.EQUIVOCATED)

Key = tuple[bytes, int, bytes]
Verdicts = list[Rejected | None]
"""Per envelope, in order: None when the signature verifies, else the error it raised."""


def verify_batch(envelopes: Sequence[Envelope]) -> Verdicts:
    """Check every envelope's signature; None (good) or the error, in order."""
    out: Verdicts = []
    append = out.append
    for env, good in zip(envelopes, _signatures_valid(envelopes), strict=True):
        append(None if good else bad_signature(env))
    return out


class OpenBatch:
    """Frames opened and screened by :meth:`Replica.open_batch`: the results of frames already
    decided (rejected at open), and the rest in order.  ``envelopes`` are those whose
    signatures the driver must check; ``queue`` holds ``(slot, envelope, sent to be
    checked)``."""

    __slots__ = ("envelopes", "queue", "results")

    def __init__(self) -> None:
        self.results: list[Ingested | None] = []
        self.queue: list[tuple[int, Envelope, bool]] = []
        self.envelopes: list[Envelope] = []


class Replica:
    """A node's log and ledger replica."""

    def __init__(
        self,
        genesis: Genesis,
        *,
        engine: TableEngine | None = None,
        judge: Judge = judge,
        codec: FrameCodec | None = None,
        window: int = HOLDBACK_WINDOW,
        held_cap: int = HOLDBACK_TOTAL,
        unjudged_cap: int = UNJUDGED_TOTAL,
        audit: bool = False,
    ) -> None:
        """``audit`` checks the supply after every judged packet (tests, not a running node);
        ``judge`` is the judge step (:func:`node.core.ledger.judge`); ``codec`` a frame codec
        of this network to share (its memo of checked sender keys; a simulator running many
        replicas in one process shares one).  ``engine`` is the table engine, TABLES.md's
        (:class:`~node.core.tables.TablesEngine`) unless told: every replica of a mesh must
        judge table packets alike, so another engine (``NoTables``: the ledger alone) is for
        tests and benchmarks of the ledger."""
        self.genesis = genesis
        self._codec = codec if codec is not None else FrameCodec(genesis.network_id)
        self._engine: TableEngine = engine if engine is not None else TablesEngine()
        self._judge = judge
        self.window = window
        self.unjudged_cap = unjudged_cap
        self.reserve = max(1, unjudged_cap // 8)
        """Room beyond the cap for packets that logged packets wait for (eviction must not
        undo progress), so the unjudged log holds at most ``unjudged_cap + reserve``."""
        self.audit = audit
        self.state = LedgerState(genesis, self._engine.empty())
        """The replicated state (read it; only the replica changes it)."""
        self._chains: dict[bytes, Chain] = {}
        self._forks: dict[bytes, Fork] = {}
        self._seen = SeenIndex()
        self._held: WaitRoom[Entry] = WaitRoom(held_cap, self._rank)
        self._waits: Waits[Entry] = Waits()
        self._pulls = Pulls()
        self._dependents = Dependents()
        self._suffixes = SuffixRank(self._suffix_rank)
        self._unjudged = 0
        self._unresolved = 0
        """Restored entries whose dependencies through game state are unknown (resolved as
        judged, against the state then): a late fork judges everything again while any is."""
        self._seq = 0
        self._revisions: list[Revision] = []
        self._counters: dict[str, int] = {}
        self._events: list[Event] = []
        self._ready: deque[Entry] = deque()
        self._judged_now: list[Entry] = []
        self._capped: dict[Key, None] = {}
        """Held only because the unjudged log was full, oldest first: placed again when room
        appears, or when what blocked them is judged (``_capped_on``)."""
        self._capped_on: Waits[Key] = Waits()
        self._witnesses: list[tuple[float, Key]] = []
        """Fork witnesses by expiry (a heap; one that left the held room is skipped)."""
        self._now = 0.0

    # ------------------------------------------------------------------ reading the state

    @property
    def engine(self) -> TableEngine:
        """The table engine this replica judges table packets with."""
        return self._engine

    def digest(self) -> bytes:
        return self.state.digest()

    @property
    def supply(self) -> int:
        return self.state.supply

    def spendable(self, key: bytes) -> int:
        return self.state.spendable(key)

    @property
    def next_seq(self) -> int:
        """The judged-order position (``Entry.seq``) the next judged packet takes: every packet
        judged so far has a smaller one."""
        return self._seq

    def hwm(self, sender: bytes) -> int:
        s = self.state.senders.get(sender)
        return s.hwm if s is not None else 0

    def logged_top(self, sender: bytes) -> tuple[int, bytes]:
        """The highest nonce logged for ``sender`` (judged or not) and its 8-byte h (zeros at 0)."""
        chain = self._chains.get(sender)
        if chain is None or not chain.entries:
            return 0, bytes(HASH_LEN)
        return chain.top, chain.entries[-1].h

    def fork_point(self, sender: bytes) -> int:
        """The nonce of ``sender``'s accepted fork proof (0 if none)."""
        fork = self._forks.get(sender)
        return fork.nonce if fork is not None and fork.accepted else 0

    def judged(self, sender: bytes, nonce: int) -> Entry | None:
        """The judged packet ``(sender, nonce)``, if this replica has judged it."""
        chain = self._chains.get(sender)
        if chain is None or not 1 <= nonce <= self.hwm(sender):
            return None
        return chain.entries[nonce - 1]

    def ref(self, sender: bytes, nonce: int) -> ExtRef:
        """An ext ref to a judged packet; an honest node names nothing else."""
        entry = self.judged(sender, nonce)
        if entry is None:
            raise LookupError(f"({sender.hex()[:8]}, {nonce}) is not judged here; cannot name it")
        return ExtRef(sender, nonce, entry.h)

    def chain_hash(self, sender: bytes, nonce: int) -> bytes | None:
        """``C(sender, nonce)`` over judged packets (for bisection), or None beyond the HWM."""
        chain = self._chains.get(sender)
        if chain is None or not 1 <= nonce <= len(chain.cumulative):
            return None
        return chain.cumulative[nonce - 1]

    def summary(self) -> list[tuple[bytes, int, bytes, bytes]]:
        """Anti-entropy entries: ``(sender, HWM, C[:16], b"")``, or for a forked sender
        ``(sender, fork nonce, min(h1, h2), max(h1, h2))`` with 16-byte hashes."""
        out = []
        for sender, s in sorted(self.state.senders.items()):
            fork = self._forks.get(sender)
            if fork is not None and fork.accepted:
                hashes = sorted(v.full_hash[:16] for v in fork.versions)
                out.append((sender, fork.nonce, hashes[0], hashes[-1]))
            elif s.hwm:
                out.append((sender, s.hwm, s.cumulative[:16], b""))
        return out

    def frame_of(self, sender: bytes, nonce: int, h: bytes | None = None) -> bytes | None:
        """The frame to serve for ``(sender, nonce)`` (the first version named by ``h`` if
        given): judged packets and fork-proof versions only.  :meth:`serve` answers a want."""
        frames = self._frames_at(sender, nonce, h)
        return frames[0] if frames else None

    def serve(self, want: Want, limit: int = SERVE_LIMIT) -> list[bytes]:
        """The frames that answer ``want``: judged packets and accepted fork versions in
        ``want.lo..want.hi`` (every version whose h is ``want.h`` when it names one), in nonce
        order, at most ``limit``.  A range far beyond what this replica holds costs nothing."""
        fork = self._forks.get(want.sender)
        top = self.hwm(want.sender)
        if fork is not None and fork.accepted:
            top = max(top, fork.nonce)
        out: list[bytes] = []
        for nonce in range(max(1, want.lo), min(want.hi, top) + 1):
            out.extend(self._frames_at(want.sender, nonce, want.h))
            if len(out) >= limit:
                return out[:limit]
        return out

    def _frames_at(self, sender: bytes, nonce: int, h: bytes | None) -> list[bytes]:
        fork = self._forks.get(sender)
        if fork is not None and nonce >= fork.nonce:
            if nonce != fork.nonce or not fork.accepted:
                return []
            return [v.frame for v in fork.versions if h is None or v.h == h]
        entry = self.judged(sender, nonce)
        if entry is None or (h is not None and entry.h != h):
            return []
        return [entry.frame]

    def fork_frames(self, sender: bytes) -> list[bytes]:
        fork = self._forks.get(sender)
        return [v.frame for v in fork.versions] if fork is not None and fork.accepted else []

    def held_packets(self) -> list[Key]:
        """``(sender, nonce, full hash)`` of every packet in the held room."""
        return [key for key, _ in self._held.items()]

    def forked(self) -> list[bytes]:
        """Senders with a fork proof, accepted or still local."""
        return list(self._forks)

    def verdicts(self) -> dict[Key, Reason]:
        """Every judged packet's verdict by ``(sender, nonce, full hash)``, the versions of
        accepted fork proofs included (Refused(equivocated))."""
        out: dict[Key, Reason] = {}
        for sender, chain in self._chains.items():
            for entry in chain.entries[: self.hwm(sender)]:
                assert entry.judgment is not None
                out[entry.key] = entry.judgment.reason
        for fork in self._forks.values():
            if fork.accepted:
                for version in fork.versions:
                    out[version.key] = Reason.EQUIVOCATED
        return out

    def judged_in_order(self) -> list[Entry]:
        """Every judged packet still in its chain, in the order it was judged."""
        entries = [e for s, c in self._chains.items() for e in c.entries[: self.hwm(s)]]
        entries.sort(key=lambda e: e.seq)
        return entries

    @property
    def revisions(self) -> tuple[Revision, ...]:
        """Every verdict a late fork proof changed here, oldest first."""
        return tuple(self._revisions)

    def counters(self) -> dict[str, int]:
        """How many frames ended each way (``why`` values and outcomes), evictions, forks and
        re-judged packets: a copy."""
        return dict(self._counters)

    def footprint(self) -> dict[str, int]:
        """The size of every structure a flood can grow, each bounded by a cap: ``held``
        (held_cap), ``unjudged`` (unjudged_cap + reserve), ``waiting`` and ``capped`` (at
        most what is unjudged and held), ``pull_marks`` and ``pull_senders`` (senders that
        held or waiting packets need), ``local_forks`` and ``fork_versions`` (two per forked
        sender; a local proof only while its sender has unjudged packets), ``seen`` (held
        versions), ``witnesses`` (held fork witnesses with a deadline)."""
        return {
            "held": len(self._held),
            "unjudged": self._unjudged,
            "waiting": len(self._waits),
            "capped": len(self._capped),
            "capped_waiting": len(self._capped_on),
            "pull_marks": len(self._pulls),
            "pull_senders": self._pulls.referenced(),
            "local_forks": sum(1 for f in self._forks.values() if not f.accepted),
            "fork_versions": sum(len(f.versions) for f in self._forks.values()),
            "seen": len(self._seen),
            "witnesses": len(self._witnesses),
            "chains_unjudged": sum(1 for s, c in self._chains.items() if c.top > self.hwm(s)),
        }

    # ------------------------------------------------------------------ what happened

    def take_events(self) -> list[Event]:
        """What happened since the last call, in order: ``JUDGED`` and ``FORK_KEPT`` packets
        (accepted once made durable: store, then forward), ``FORK_DROPPED`` versions,
        ``REVISED`` verdicts, and ``WANTED`` pulls to send.  Replaying the frames of JUDGED
        and FORK_KEPT rebuilds the same replica."""
        events, self._events = self._events, []
        return events

    def check(self, sender: bytes, body: Body) -> Judgment:
        """The verdict ``sender``'s next packet with ``body`` would get now, judged as any
        packet is (the player-level check a node runs before it signs)."""
        nonce, prev = self.logged_top(sender)
        if nonce > self.hwm(sender):
            raise LookupError(f"{sender.hex()[:8]}'s packet {self.hwm(sender) + 1} is not judged")
        # the packet's h is unknown before it is signed: a create's game id reads as zeros
        judgment = self._judge(
            self.state,
            Packet(sender, nonce + 1, prev, body),
            sender,
            nonce + 1,
            bytes(HASH_LEN),
            self._engine,
        )
        if judgment.table is not None:  # asked only: the state stays as it was
            self._engine.discard(self.state, judgment.table)
        return judgment

    # ------------------------------------------------------------------ time

    def next_timer(self) -> float | None:
        """When :meth:`handle_timer` next has work: a pull to ask again, or a fork witness to
        give up on (None: nothing pending)."""
        due = self._pulls.next_due()
        witnesses = self._witnesses
        while witnesses and witnesses[0][1] not in self._held:
            heapq.heappop(witnesses)
        if witnesses:
            expiry = witnesses[0][0]
            due = expiry if due is None else min(due, expiry)
        return due

    def handle_timer(self, now: float) -> None:
        """Ask again what is still missing (each ask backs off), and evict fork witnesses
        whose named version never came."""
        self._now = max(self._now, now)
        for sender, nonce, h in self._pulls.due(now):
            if h is None:
                top, _ = self.logged_top(sender)
                hi = min(nonce, self.hwm(sender) + self.window)
                if hi > top:
                    self._events.append(Event(WANTED, Want(sender, top + 1, hi)))
            else:
                self._events.append(Event(WANTED, Want(sender, nonce, nonce, h)))
        witnesses = self._witnesses
        while witnesses and witnesses[0][0] <= now:
            _, key = heapq.heappop(witnesses)
            entry = self._held.discard(key)
            if entry is not None:
                self._unhold(entry)
                self._count_event("evicted_witness")

    # ------------------------------------------------------------------ restore

    def restore(
        self,
        records: Iterable[tuple[bytes, Reason]],
        state: LedgerState,
        fork_frames: Iterable[bytes] = (),
    ) -> None:
        """Rebuild this (fresh) replica from a persisted snapshot without judging again.

        ``records`` are the accepted frames up to the snapshot, in acceptance order, each with
        its verdict as of the snapshot; ``state`` is the ledger state then; ``fork_frames`` the
        frames of kept fork versions stored beside the log (those the state names are taken
        here, the rest must be received afterwards).  Entries restored this way carry no
        recorded effects (``FROZEN``): a late fork whose cone reaches one judges everything
        again from genesis, once.  Raises ValueError when the records do not match the state
        (the caller then replays the whole log instead).
        """
        if self._chains or self._forks:
            raise ValueError("restore needs a fresh replica")
        by_sender: dict[bytes, list[Entry]] = {}
        forks: dict[bytes, Fork] = {}
        order: list[Entry] = []
        extra = dict.fromkeys(fork_frames)
        for frame, reason in [*((f, Reason.EQUIVOCATED) for f in extra), *records]:
            try:
                env = self._codec.open(frame)
            except Rejected as exc:
                raise ValueError(f"a stored frame does not open: {exc}") from None
            entry = self._entry(env)
            entry.judgment = Judgment(reason, FROZEN)
            entry.packet = None  # judged: a re-judge decodes the frame again
            s = state.senders.get(entry.sender)
            if frame in extra and not (
                s is not None and s.fork == entry.nonce and entry.full_hash in s.fork_hashes
            ):
                continue  # a proof the snapshot does not hold: received afterwards
            if s is not None and s.fork and entry.nonce >= s.fork:
                if entry.nonce == s.fork and entry.full_hash in s.fork_hashes:
                    fork = forks.setdefault(entry.sender, Fork(s.fork, [], accepted=True))
                    if all(v.full_hash != entry.full_hash for v in fork.versions):
                        entry.judgment = _EQUIVOCATED
                        entry.removed = True
                        fork.versions.append(entry)
                continue
            by_sender.setdefault(entry.sender, []).append(entry)
            order.append(entry)
        chains: dict[bytes, Chain] = {}
        for sender, s in state.senders.items():
            entries = by_sender.pop(sender, [])
            if [e.nonce for e in entries] != list(range(1, s.hwm + 1)):
                raise ValueError(f"stored chain of {sender.hex()[:8]} does not match the state")
            chain = Chain(entries)
            c = ZERO_HASH
            for e in entries:
                c = sha256(c, e.full_hash)
                chain.cumulative.append(c)
            if entries and (entries[-1].full_hash != s.head or c != s.cumulative):
                raise ValueError(f"stored chain of {sender.hex()[:8]} does not match its head")
            if entries:
                chains[sender] = chain
            if s.fork and len(forks.get(sender, Fork(0, [])).versions) != len(s.fork_hashes):
                raise ValueError(f"fork evidence of {sender.hex()[:8]} is missing")
        if by_sender:
            raise ValueError("stored packets of senders the state does not know")
        for fork in forks.values():
            fork.versions.sort(key=lambda v: v.full_hash)
        for entry in order:
            entry.seq = self._seq
            self._seq += 1
            self._dependents.add(entry)
            if entry.resolves:  # what it named through game state is not known here
                self._unresolved += 1
        self._chains = chains
        self._forks = forks
        self.state = state

    # ------------------------------------------------------------------ receiving

    def receive(self, frame: bytes, now: float) -> Ingested:
        """Take one frame from the network (or from this node itself); signatures checked."""
        self._now = max(self._now, now)
        try:
            env = self._codec.open(frame)
        except Rejected as exc:
            return self._rejected(exc)
        return self._take(env, False)

    def receive_batch(self, frames: Sequence[bytes], now: float) -> list[Ingested]:
        """Take a batch on this thread in three passes: open and screen every frame, check every
        signature, then place them.  Results, counters and state are exactly those of
        :meth:`receive` frame by frame; the signature checks run in one tight loop, which keeps
        both them and the replica's data in the CPU caches."""
        batch = self.open_batch(frames)
        return self.finish_batch(batch, verify_batch(batch.envelopes), now)

    def open_batch(self, frames: Sequence[bytes]) -> OpenBatch:
        """Open and screen ``frames`` (push-style batch ingest, step 1 of 2): returns the batch,
        whose ``envelopes`` need their signatures checked (by :func:`verify_batch`, anywhere)
        before :meth:`finish_batch`.  Duplicates and packets above a fork are not sent to be
        checked."""
        codec = self._codec
        forks = self._forks
        out = OpenBatch()
        results, queue, envelopes = out.results, out.queue, out.envelopes
        for frame in frames:
            try:
                env = codec.open(frame)
            except Rejected as exc:
                results.append(self._rejected(exc))
                continue
            fork = forks.get(env.sender)
            spare = (fork is not None and env.nonce > fork.nonce) or self.known(
                env.sender, env.nonce, env.full_hash
            )
            queue.append((len(results), env, not spare))
            results.append(None)
            if not spare:
                envelopes.append(env)
        return out

    def finish_batch(
        self, batch: OpenBatch, verdicts: Sequence[Rejected | None] | None, now: float
    ) -> list[Ingested]:
        """Step 2 of 2: place the batch, given each envelope's signature verdict in order
        (None for all: frames this node verified before, e.g. read back from its own store).
        Every drop is decided now against the state now, as :meth:`receive` would; a frame
        spared checking that is no longer dropped (an eviction forgot it meanwhile) is checked
        here."""
        self._now = max(self._now, now)
        checked = iter(verdicts) if verdicts is not None else None
        results = batch.results
        for slot, env, sent in batch.queue:
            early = None if sent else self._screen(env)
            if early is not None:
                results[slot] = early
                continue
            error = None
            if checked is not None:
                error = next(checked) if sent else verify_batch([env])[0]
            if error is None:
                results[slot] = self._take(env, True)
            else:
                results[slot] = self._screen(env) or self._rejected(error)
        return [r for r in results if r is not None]

    def receive_checked(self, frames: Iterable[bytes], now: float) -> list[Ingested]:
        """Take frames whose signatures this node checked before (read back from its own
        store, or signed here), one at a time: what ``finish_batch(open_batch(frames), None,
        now)`` gives, but each frame is opened, placed and its envelope freed before the next
        is opened, so the envelope is still in the CPU caches when it is placed (a batch
        opened first leaves them all to be read back from memory)."""
        self._now = max(self._now, now)
        codec = self._codec
        results: list[Ingested] = []
        for frame in frames:
            try:
                env = codec.open(frame)
            except Rejected as exc:
                results.append(self._rejected(exc))
                continue
            results.append(self._take(env, True))
        return results

    def take_verified(self, envelopes: Sequence[Envelope], now: float) -> list[Ingested]:
        """Place opened envelopes whose signatures were checked, in order: what
        :meth:`finish_batch` does with a batch of them all checked and good (a node core
        screens and checks frames itself, as they arrive)."""
        self._now = max(self._now, now)
        return [self._take(env, True) for env in envelopes]

    def _rejected(self, error: Rejected) -> Ingested:
        return self._count(Ingested(Outcome.REJECTED, error=error, why=type(error).__name__))

    def known(self, sender: bytes, nonce: int, full_hash: bytes) -> bool:
        """True when exactly this packet was already taken: logged in its sender's chain, or
        held (``_seen``).  Fork versions are screened by the fork itself (:meth:`_screen`)."""
        chain = self._chains.get(sender)
        if (
            chain is not None
            and nonce <= len(chain.entries)
            and chain.entries[nonce - 1].full_hash == full_hash
        ):
            return True
        return self._seen.contains(sender, nonce, full_hash)

    def _screen(self, env: Envelope) -> Ingested | None:
        """The cheap checks before verification: above a proven fork, duplicate, beyond the
        window.  Returns the (counted) DROPPED result, or None when the frame must be verified."""
        sender, nonce = env.sender, env.nonce
        fork = self._forks.get(sender)
        if fork is not None and nonce >= fork.nonce:
            if nonce > fork.nonce or any(v.full_hash == env.full_hash for v in fork.versions):
                return self._count(Ingested(Outcome.DROPPED, why="above_fork"))
            if env.full_hash > max(v.full_hash for v in fork.versions):
                return self._count(Ingested(Outcome.DROPPED, why="fork_version_not_kept"))
        elif self.known(sender, nonce, env.full_hash):
            return self._count(Ingested(Outcome.DROPPED, why="duplicate"))
        if nonce > self.hwm(sender) + self.window:
            return self._count(Ingested(Outcome.DROPPED, why="beyond_window"))
        return None

    def _take(self, env: Envelope, verified: bool) -> Ingested:
        """Place an opened frame (its signature already checked when ``verified``)."""
        sender, nonce = env.sender, env.nonce
        # the common case: the next packet of a sender with no fork and no logged packet
        # waiting, while nothing is held anywhere (so it cannot be a duplicate)
        chain = self._chains.get(sender)
        s = self.state.senders.get(sender)
        if s is None:
            nextone = nonce == 1 and chain is None
        else:
            nextone = (
                nonce == s.hwm + 1
                and chain is not None
                and len(chain.entries) == s.hwm
                and (nonce == 1 or env.prev == s.head[:HASH_LEN])
            )
        if nextone:
            nextone = not self._held and not self._capped and sender not in self._forks
        if not nextone:
            early = self._screen(env)
            if early is not None:
                return early
        if not verified:
            try:
                self._codec.verify(env)
            except Rejected as exc:
                return self._rejected(exc)
        entry = self._entry(env)
        if nextone:
            resolved = self._unblocked(entry)
            if resolved is not None:
                return self._judge_next(entry, chain, resolved)
        self._judged_now = []
        result = self._place(entry)
        self._drain()
        result.judged = self._judged_now
        self._judged_now = []
        judgment = entry.judgment
        if judgment is not None and result.outcome is Outcome.LOGGED and not entry.removed:
            result.outcome = Outcome.JUDGED  # logged and judged during this call
            result.reason = judgment.reason
        return self._count(result)

    def _judge_next(self, entry: Entry, chain: Chain | None, resolved: tuple[Dep, ...]) -> Ingested:
        """Log and judge at once a packet whose predecessor and dependencies are judged and
        that nothing held can follow: ``_place`` + ``_log`` + ``_drain`` for that case, in
        one pass (this is the path nearly every packet takes).  ``resolved``: what the engine
        resolved it to name, on the state it is judged on."""
        sender = entry.sender
        nonce = entry.nonce
        if chain is None:
            chain = self._chains[sender] = Chain()
        chain.entries.append(entry)  # known from now on (``_known`` reads the chain)
        if self._pulls:
            self._pulls.logged(sender, nonce, entry.h)
        judgment = self._judgment(entry)
        self._events.append(Event(JUDGED, entry))
        self._apply(entry, judgment, resolved)
        judged = [entry]
        if self._waits or self._capped_on:
            # packets that waited for this one: judge them now, as ``_judge`` would
            self._unjudged += 1
            self._judged_now = judged
            self._judge_after(entry)
            self._drain()
            self._judged_now = []
        counters = self._counters
        counters[_JUDGED_KEY] = counters.get(_JUDGED_KEY, 0) + 1
        return Ingested(_OUTCOME_JUDGED, judgment.reason, None, "", judged)

    def _count(self, result: Ingested) -> Ingested:
        self._count_event(result.why or result.outcome.value)
        return result

    def _count_event(self, key: str) -> None:
        self._counters[key] = self._counters.get(key, 0) + 1

    def _entry(self, env: Envelope) -> Entry:
        """A verified envelope as an entry, with the dependencies its body names directly (its
        ext refs); what it names through game state the engine resolves once its predecessor
        is judged (:meth:`_blocker`)."""
        packet: Packet | None
        try:
            packet = decode_body(env)
            malformed = None
        except Malformed as exc:
            packet, malformed = None, f"{type(exc).__name__}: {exc}"
        deps: tuple[Dep, ...] = ()
        bad = resolves = False
        if packet is not None:
            body = packet.body
            resolves = body.names_by_state()  # the engine resolves those (``_blocker``)
            refs = body.references()
            if refs:
                sender, nonce = env.sender, env.nonce
                codec = self._codec
                found: list[Dep] = []
                for ref in refs:
                    h: bytes | None = ref.h if type(ref) is ExtRef else None
                    # each field read once: a body field is a generic attribute lookup here
                    ref_sender = ref.sender
                    ref_nonce = ref.nonce
                    if ref_sender == sender:
                        if ref_nonce >= nonce:
                            bad = True
                        else:  # its own earlier packet: a wrong h there is a fork witness
                            found.append((ref_sender, ref_nonce, h))
                    elif codec.acceptable(ref_sender):
                        found.append((ref_sender, ref_nonce, h))
                    else:
                        bad = True
                deps = tuple(found)
        entry = Entry(
            env.sender,
            env.nonce,
            env.prev,
            env.full_hash,
            env.frame(0),
            packet,
            malformed,
            deps,
            bad,
        )
        if resolves and not bad:
            # with a bad ref it is BAD_REFERENCE whatever the state names (and what the
            # engine would resolve may name the same unacceptable key, which never comes)
            entry.resolves = True
        return entry

    # ------------------------------------------------------------------ placing

    def _place(self, entry: Entry) -> Ingested:
        sender, nonce = entry.sender, entry.nonce
        chain = self._chains.get(sender)
        top = chain.top if chain is not None else 0
        fork = self._forks.get(sender)
        if fork is not None and nonce >= fork.nonce:
            if nonce > fork.nonce:
                return Ingested(Outcome.DROPPED, why="above_fork")
            if nonce > top + 1:  # its predecessor is not logged (an evicted suffix)
                return self._hold(entry)
            if nonce > 1 and (chain is None or entry.prev != chain.entries[nonce - 2].h):
                return self._hold(entry, witness=True)
            return self._add_version(sender, entry)
        if nonce <= top:
            assert chain is not None
            if nonce == 1 or entry.prev == chain.entries[nonce - 2].h:
                if chain.entries[nonce - 1].full_hash == entry.full_hash:
                    return Ingested(Outcome.DROPPED, why="duplicate")
                self._fork(sender, nonce, entry)
                return Ingested(Outcome.LOGGED, reason=Reason.EQUIVOCATED, why="fork_proof")
            return self._hold(entry, witness=True)
        if nonce == top + 1:
            if nonce == 1 or (chain is not None and entry.prev == chain.entries[-1].h):
                if self._unjudged >= self.unjudged_cap:
                    blocker = self._blocker(entry, False)
                    if blocker is not None and not self._room_for(entry):
                        return self._hold(entry, capped=blocker)
                self._log(entry)
                return Ingested(Outcome.LOGGED)
            return self._hold(entry, witness=True)
        return self._hold(entry)

    def _room_for(self, entry: Entry) -> bool:
        """The unjudged log is full and ``entry`` would wait there: may it in?  Yes if it
        completes a fork proof with a version held for want of room (the proof frees room),
        or if a logged packet waits for this sender at or beyond it (within the reserve:
        eviction must not undo progress), or if a suffix nobody waits for ranks below it."""
        sender, nonce = entry.sender, entry.nonce
        for key in self._held.versions(sender, nonce):
            other = self._held.get(key)
            if other is not None and other.prev == entry.prev:
                return True
        if self._waits.top(sender) >= nonce and self._unjudged < self.unjudged_cap + self.reserve:
            return True
        return self._make_room(entry)

    def _hold(
        self, entry: Entry, *, witness: bool = False, capped: tuple[bytes, int] | None = None
    ) -> Ingested:
        """Keep a verified packet in the held room, asking for what it lacks: its gap, the
        version its ``prev`` names (a fork witness), or what blocks it (``capped``: only the
        unjudged log's room was missing)."""
        sender, nonce = entry.sender, entry.nonce
        key = entry.key
        self._seen.add(sender, nonce, entry.full_hash)
        for _, victim in self._held.add(key, entry):
            self._unhold(victim)
            self._count_event("evicted_held")
        if key not in self._held:
            return Ingested(Outcome.DROPPED, why="evicted_on_arrival")
        if capped is not None:
            entry.capped = True
            entry.blocker = capped
            self._capped[key] = None
            self._capped_on.add(capped[0], capped[1], key)
            self._need(entry, capped[0])
            self._blocker(entry, True)  # ask for what blocks it
            return Ingested(Outcome.HELD, why="no_room")
        self._need(entry, sender)
        if witness:
            want = self._pulls.ask_version(sender, nonce - 1, entry.prev, self._now)
            if want is not None:
                self._events.append(Event(WANTED, want))
            heapq.heappush(self._witnesses, (self._now + WITNESS_TIMEOUT, key))
            return Ingested(Outcome.HELD, why="fork_witness")
        chain = self._chains.get(sender)
        hi = nonce - 1
        while hi > 0 and self._held.versions(sender, hi):  # within the window: at most W steps
            hi -= 1
        self._ask(sender, (chain.top if chain is not None else 0) + 1, hi)
        return Ingested(Outcome.HELD)

    def _unhold(self, entry: Entry) -> None:
        """``entry`` left the held room (taken, discarded or evicted): forget its marks."""
        self._seen.forget_version(entry.sender, entry.nonce, entry.full_hash)
        if entry.capped:
            key = entry.key
            self._capped.pop(key, None)
            blocker = entry.blocker
            if blocker is not None:
                self._capped_on.remove(blocker[0], blocker[1], key)
            entry.capped = False
            entry.blocker = None
        self._drop_need(entry)

    def _need(self, entry: Entry, sender: bytes) -> None:
        """``entry`` needs ``sender``'s packets (its pull marks live while it does)."""
        if entry.need is not None:
            self._pulls.unref(entry.need)
        self._pulls.ref(sender)
        entry.need = sender

    def _drop_need(self, entry: Entry) -> None:
        need = entry.need
        if need is not None:
            entry.need = None
            self._pulls.unref(need)

    def _ask(self, sender: bytes, lo: int, hi: int) -> None:
        """Pull ``lo..hi`` of ``sender``, clipped to what its window lets this replica hold."""
        want = self._pulls.ask(sender, lo, min(hi, self.hwm(sender) + self.window), self._now)
        if want is not None:
            self._events.append(Event(WANTED, want))

    def _rank(self, sender: bytes, nonce: int) -> tuple[int, bool]:
        hwm = self.hwm(sender)
        return nonce - hwm, hwm > 0

    def _suffix_rank(self, sender: bytes) -> tuple[int, bool]:
        """A sender's unjudged suffix: (length, no judged history)."""
        chain = self._chains.get(sender)
        hwm = self.hwm(sender)
        return (chain.top - hwm if chain is not None else 0), hwm == 0

    def _make_room(self, entry: Entry) -> bool:
        """Evict the logged-but-unjudged suffix that is furthest ahead (senders with no judged
        history first) if nobody else waits for it and it ranks below ``entry``; True if room
        was made.  Evicted packets are forgotten (they can arrive again) and never pulled."""
        hwm = self.hwm(entry.sender)
        mine = (entry.nonce - hwm, hwm == 0)

        def acceptable(sender: bytes) -> bool:
            return sender != entry.sender and self._waits.top(sender) <= self.hwm(sender)

        victim = self._suffixes.victim(acceptable, mine)
        if victim is None:
            return False
        self._evict_suffix(victim)
        self._count_event("evicted_unjudged")
        return True

    def _evict_suffix(self, sender: bytes) -> None:
        """Drop ``sender``'s logged-but-unjudged packets (and its local fork proof, which
        needs them)."""
        chain = self._chains[sender]
        hwm = self.hwm(sender)
        for dropped in chain.entries[hwm:]:
            dropped.removed = True
            self._leave_log(dropped)
        del chain.entries[hwm:]
        if not chain.entries:
            del self._chains[sender]
        fork = self._forks.get(sender)
        if fork is not None and not fork.accepted:
            del self._forks[sender]

    def _leave_log(self, entry: Entry) -> None:
        """An unjudged logged packet leaves the log (evicted, or removed by a fork)."""
        blocker = entry.blocker
        if blocker is not None:
            self._waits.remove(blocker[0], blocker[1], entry)
            entry.blocker = None
        self._drop_need(entry)
        self._unjudged -= 1

    # ------------------------------------------------------------------ logging

    def _log(self, entry: Entry) -> None:
        sender, nonce = entry.sender, entry.nonce
        chain = self._chains.get(sender)
        if chain is None:
            chain = self._chains[sender] = Chain()
        chain.entries.append(entry)
        if self._pulls:
            self._pulls.logged(sender, nonce, entry.h)
        self._unjudged += 1
        self._check(entry)
        self._suffixes.touch(sender)
        if len(self._held):
            # other versions of this slot: a fork proof now, or witnesses held again
            for _, other in self._held.take(sender, nonce):
                self._unhold(other)
                self._place(other)
            for _, held in self._held.take(sender, nonce + 1):
                self._unhold(held)
                self._place(held)

    def _check(self, entry: Entry) -> None:
        """Queue ``entry`` for judging, or register it with its first blocker."""
        blocker = self._blocker(entry, True)
        if blocker is None:
            self._ready.append(entry)
            return
        entry.blocker = blocker
        sender, nonce = blocker
        if sender != entry.sender or nonce != entry.nonce - 1:
            # a dependency (its predecessor wakes it directly: see _judge_after)
            self._waits.add(sender, nonce, entry)
            self._need(entry, sender)

    def _blocker(self, entry: Entry, ask: bool) -> tuple[bytes, int] | None:
        """The first unjudged packet ``entry`` needs: its predecessor, then its dependencies
        (those it names directly, then those the engine resolves through game state)."""
        if entry.nonce > 1:
            own = self.state.senders.get(entry.sender)
            if own is None or own.hwm < entry.nonce - 1:
                return entry.sender, entry.nonce - 1
        if entry.deps:
            blocker = self._deps_blocker(entry.deps, ask)
            if blocker is not None:
                return blocker
        if entry.resolves and entry.packet is not None:
            resolved = self._engine.dependencies(self.state, entry.sender, entry.packet)
            if resolved:
                return self._deps_blocker(resolved, ask)
        return None

    def _unblocked(self, entry: Entry) -> tuple[Dep, ...] | None:
        """:meth:`_blocker` without asking, for a packet whose predecessor is judged: None
        when something blocks it, else what the engine resolved it to name (for ``_apply``,
        judged on this same state)."""
        if entry.deps and self._deps_blocker(entry.deps, False) is not None:
            return None
        if not entry.resolves or entry.packet is None:
            return ()
        resolved = self._engine.dependencies(self.state, entry.sender, entry.packet)
        if resolved and self._deps_blocker(resolved, False) is not None:
            return None
        return resolved

    def _deps_blocker(self, deps: tuple[Dep, ...], ask: bool) -> tuple[bytes, int] | None:
        """The first of ``deps`` not yet judged (or judged as another version), asking for what
        is missing when ``ask``.  A dependency beyond the window blocks on the window's top: it
        costs what any packet costs, whatever nonce it names."""
        senders = self.state.senders
        for sender, nonce, h in deps:
            s = senders.get(sender)
            hwm = s.hwm if s is not None else 0
            needed = nonce
            fork = self._forks.get(sender)
            if fork is not None and nonce >= fork.nonce:
                # satisfied by the proof, once the forker is judged up to the fork
                needed = fork.nonce - 1
                if hwm >= needed:
                    continue
            if hwm < needed:
                target = min(needed, hwm + self.window)
                if ask:
                    chain = self._chains.get(sender)
                    self._ask(sender, (chain.top if chain is not None else 0) + 1, target)
                return sender, target
            if h is not None and self._chains[sender].entries[nonce - 1].h != h:
                if ask:
                    want = self._pulls.ask_version(sender, nonce, h, self._now)
                    if want is not None:
                        self._events.append(Event(WANTED, want))
                return sender, nonce
        return None

    def _drain(self) -> None:
        ready = self._ready
        while True:
            while ready:
                entry = ready.popleft()
                if entry.removed or entry.judgment is not None:
                    continue
                self._judge_entry(entry)
            if not self._capped or self._unjudged >= self.unjudged_cap:
                return
            self._retry_capped(next(iter(self._capped)))

    def _retry_capped(self, key: Key) -> None:
        """Place again a packet held for want of room (its slot may have filled meanwhile:
        then ``_place`` takes the fork path or holds it as a witness)."""
        entry = self._held.discard(key)
        if entry is None:
            self._capped.pop(key, None)
            return
        self._unhold(entry)
        self._place(entry)

    def _judge_entry(self, entry: Entry) -> None:
        resolved: tuple[Dep, ...] = ()
        if entry.resolves and entry.packet is not None:
            resolved = self._engine.dependencies(self.state, entry.sender, entry.packet)
        judgment = self._judgment(entry)
        self._events.append(Event(JUDGED, entry))
        self._drop_need(entry)
        entry.blocker = None
        self._apply(entry, judgment, resolved)
        self._judged_now.append(entry)
        self._judge_after(entry)

    def _judge_after(self, entry: Entry) -> None:
        """``entry`` was just judged: wake what waited for it."""
        self._unjudged -= 1
        sender, nonce = entry.sender, entry.nonce
        if self._capped_on:
            for key in self._capped_on.take(sender, nonce):
                if key in self._capped:
                    self._retry_capped(key)
        chain = self._chains[sender]
        if chain.top > nonce:
            self._suffixes.touch(sender)
            successor = chain.entries[nonce]
            if successor.judgment is None and successor.blocker == (sender, nonce):
                successor.blocker = None
                self._check(successor)
        if self._waits:
            for waiter in self._waits.take(sender, nonce):
                waiter.blocker = None
                self._drop_need(waiter)
                if not waiter.removed and waiter.judgment is None:
                    self._check(waiter)

    def _judgment(self, entry: Entry) -> Judgment:
        packet = entry.packet
        if packet is None and entry.malformed is None:  # judged before: decode it again
            packet = decode_body(self._codec.open(entry.frame))
        judgment = self._judge(self.state, packet, entry.sender, entry.nonce, entry.h, self._engine)
        if entry.bad_ref and judgment.reason is not Reason.MALFORMED:
            if judgment.table is not None:
                self._engine.discard(self.state, judgment.table)
            judgment = Judgment(Reason.BAD_REFERENCE, Effects(mint=judgment.effects.mint))
        return judgment

    def _apply(self, entry: Entry, judgment: Judgment, resolved: tuple[Dep, ...]) -> None:
        """Make ``entry``'s judgment real.  ``resolved``: what the engine resolved it to name
        on the state it was judged on (asked before the judge, whose table effects the state
        holds until the engine applies them)."""
        if entry.resolves:  # what it named through game state, as resolved when judged
            if resolved:
                entry.deps = (*entry.deps, *resolved) if entry.deps else resolved
            entry.resolves = False
        entry.judgment = judgment
        entry.packet = None
        sender = entry.sender
        state = self.state
        s, entry.undo = apply(state, sender, entry.nonce, entry.full_hash, judgment)
        if judgment.table is not None:
            self._engine.apply(state, judgment.table)
        self._chains[sender].cumulative.append(s.cumulative)
        if self._forks:
            fork = self._forks.get(sender)
            if fork is not None and fork.nonce == entry.nonce + 1:
                self._accept_fork(sender)
        entry.seq = self._seq
        self._seq += 1
        if entry.deps:
            self._dependents.add(entry)
        # the log keeps it: its fields hold plain values and values that never reference an
        # entry, so it leaves the collector's view with its dependencies and undo
        # (protocol.acyclic)
        _untracked(entry)
        if self.audit:
            state.audit()

    # ------------------------------------------------------------------ forks

    def _add_version(self, sender: bytes, entry: Entry) -> Ingested:
        """A further version at a proven fork point: keep the two smallest full hashes."""
        fork = self._forks[sender]
        kept, displaced = keep_two(fork.versions, entry)
        if entry in displaced:
            return Ingested(Outcome.DROPPED, why="fork_version_not_kept")
        fork.versions = kept
        entry.judgment = _EQUIVOCATED
        entry.removed = True
        if fork.accepted:
            self._events.extend(Event(FORK_DROPPED, v) for v in displaced)
            self._events.append(Event(FORK_KEPT, entry))
            self.state.sender(sender).fork_hashes = tuple(v.full_hash for v in kept)
        return Ingested(Outcome.LOGGED, reason=Reason.EQUIVOCATED, why="fork_version")

    def _fork(self, sender: bytes, nonce: int, entry: Entry) -> None:
        """``entry`` and the logged packet at ``nonce`` are two versions: a fork proof."""
        chain = self._chains[sender]
        existing = chain.entries[nonce - 1]
        earlier = self._forks.get(sender)
        if earlier is not None and earlier.accepted:
            self._events.extend(Event(FORK_DROPPED, v) for v in earlier.versions)
        versions = sorted([existing, entry], key=lambda e: e.full_hash)
        self._forks[sender] = Fork(nonce, versions)
        removed = chain.entries[nonce - 1 :]
        del chain.entries[nonce - 1 :]
        del chain.cumulative[nonce - 1 :]
        taken_back: list[tuple[Entry, Judgment]] = []
        for e in removed:
            e.removed = True
            if e.judgment is None:
                self._leave_log(e)
            else:
                taken_back.append((e, e.judgment))
                if e.judgment.reason is not Reason.EQUIVOCATED:
                    self._revise(Revision(e.sender, e.nonce, e.judgment.reason, Reason.EQUIVOCATED))
        for v in versions:
            v.judgment = _EQUIVOCATED
            v.removed = True
        for held in self._held.discard_from(sender, nonce):
            self._unhold(held)
        if taken_back:
            self._rejudge(sender, nonce, taken_back)
        elif self.hwm(sender) >= nonce - 1:
            self._accept_fork(sender)
        if self.audit:
            self.state.audit()
        for key in self._capped_on.take_from(sender, nonce):
            if key in self._capped:
                self._retry_capped(key)
        for waiter in self._waits.take_from(sender, nonce):
            waiter.blocker = None
            self._drop_need(waiter)
            if not waiter.removed and waiter.judgment is None:
                self._check(waiter)
        self._suffixes.touch(sender)
        self._count_event("forks")

    def _revise(self, revision: Revision) -> None:
        self._revisions.append(revision)
        self._events.append(Event(REVISED, revision))

    def _accept_fork(self, sender: bytes) -> None:
        """The forker is judged up to the nonce before the fork: the proof enters the state
        (both versions judged Refused(equivocated)) and becomes durable and servable."""
        fork = self._forks[sender]
        s = self.state.sender(sender)
        s.fork = fork.nonce
        s.fork_hashes = tuple(v.full_hash for v in fork.versions)
        if not fork.accepted:
            fork.accepted = True
            self._events.extend(Event(FORK_KEPT, v) for v in fork.versions)

    def _rejudge(self, sender: bytes, nonce: int, taken_back: list[tuple[Entry, Judgment]]) -> None:
        """A fork proof at ``(sender, nonce)`` takes back judged packets: undo their money and
        that of their forward cone (every judged packet that depends on them, through its own
        chain or what it names), newest first, then judge the cone again in its judged order.
        Cost: proportional to the cone, not to the history."""
        cone = self._dependents.cone(self._chains, self.hwm, sender, nonce)
        chain = self._chains.get(sender)
        if chain is not None and not chain.entries:
            del self._chains[sender]
        if (
            self._unresolved
            or any(j.effects is FROZEN for _, j in taken_back)
            or any(e.judgment is not None and e.judgment.effects is FROZEN for e in cone)
        ):
            self._rejudge_all()
            return
        undo = [(e.seq, e, j) for e, j in taken_back]
        undo += [(e.seq, e, e.judgment) for e in cone if e.judgment is not None]
        undo.sort(key=lambda item: item[0], reverse=True)
        state = self.state
        engine = self._engine
        for _, e, judgment in undo:
            if judgment.table is not None:
                engine.unapply(state, judgment.table)
            unmove_money(state, e.sender, e.nonce, judgment, e.undo)
            e.undo = None
        s = state.sender(sender)
        s.hwm = nonce - 1
        s.head = chain.entries[-1].full_hash if chain is not None and chain.entries else ZERO_HASH
        s.cumulative = chain.cumulative[-1] if chain is not None and chain.cumulative else ZERO_HASH
        self._accept_fork(sender)
        cone.sort(key=lambda e: e.seq)
        for e in cone:
            old = e.judgment
            assert old is not None
            fresh = self._judgment(e)
            e.packet = None
            if fresh != old:
                self._revise(Revision(e.sender, e.nonce, old.reason, fresh.reason))
                self._judged_now.append(e)
            e.judgment = fresh
            e.undo = move_money(state, e.sender, e.nonce, fresh)
            if fresh.table is not None:
                engine.apply(state, fresh.table)
        # the forward cone: what was taken back and what was judged again
        self._counters["rejudged"] = self._counters.get("rejudged", 0) + len(undo)

    def _rejudge_all(self) -> None:
        """Judge every judged packet again from genesis, in its judged order: what a late fork
        does when its cone reaches packets restored from a persisted snapshot, whose effects
        were not recorded.  Afterwards none is left unrecorded."""
        entries = self.judged_in_order()
        state = self.state = LedgerState(self.genesis, self._engine.empty())
        dependents = self._dependents = Dependents()
        forks = self._forks
        for forked, fork in forks.items():
            if fork.nonce == 1:
                self._accept_fork(forked)
        for e in entries:
            old = e.judgment
            assert old is not None
            if e.resolves:  # restored: resolve against the state it is judged on again
                packet = e.packet or decode_body(self._codec.open(e.frame))
                e.packet = packet
                e.deps = (*e.deps, *self._engine.dependencies(state, e.sender, packet))
                e.resolves = False
            if e.deps:
                dependents.add(e)
            fresh = self._judgment(e)
            e.packet = None
            _, e.undo = apply(state, e.sender, e.nonce, e.full_hash, fresh)
            if fresh.table is not None:
                self._engine.apply(state, fresh.table)
            if fresh.reason != old.reason:
                self._revise(Revision(e.sender, e.nonce, old.reason, fresh.reason))
                self._judged_now.append(e)
            e.judgment = fresh
            proof = forks.get(e.sender) if forks else None
            if proof is not None and proof.nonce == e.nonce + 1:
                self._accept_fork(e.sender)  # as when it was judged: later packets read it
        self._unresolved = 0
        self._counters["rejudged"] = self._counters.get("rejudged", 0) + len(entries)
