"""The log and the ledger replica: the one ingest pipeline every frame goes through.

Theory of operation (DESIGN.md section 4; docs/LEDGER.md has worked examples):

    frame ─▶ envelope ─▶ fork/dedup/window checks ─▶ verify ─▶ body
          ─▶ held (predecessor missing, or a fork witness)  ─┐
          ─▶ logged (prev matches the logged predecessor) ◀──┘
          ─▶ judged when predecessor and dependencies are judged: Applied / Refused(reason)

A second logged version of ``(sender, nonce)`` is a fork proof: the sender's packets from that
nonce on are Refused(equivocated), the two smallest full hashes are kept, everything else of that
sender at or above it is dropped, and if the proof arrives after judging, only the forward cone
is re-judged from the newest snapshot before it.  HWM, head, cumulative hash, digest and
anti-entropy count judged packets only.  Sans-IO: no clock, socket or randomness.
"""

from __future__ import annotations

import bisect
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Final, NamedTuple

from node.dedup import SeenIndex
from node.holdback import WaitRoom
from node.ledger import (
    FROZEN,
    Effects,
    Judgment,
    LedgerState,
    NoTables,
    TableEngine,
    apply,
    judge,
)
from node.verdicts import Outcome, Reason
from protocol.constants import HASH_LEN, HOLDBACK_TOTAL, HOLDBACK_WINDOW, MAX_NONCE
from protocol.digest import sha256
from protocol.errors import Malformed, Rejected
from protocol.frame import Envelope, FrameCodec, Packet, decode_body
from protocol.genesis import Genesis
from protocol.kinds import Ack, ExtRef, Transfer
from protocol.slots import settle, tuple_maker

__all__ = [
    "FORK_DROPPED",
    "FORK_KEPT",
    "JUDGED",
    "REVISED",
    "Change",
    "Entry",
    "Ingested",
    "Replica",
    "Revision",
    "Want",
    "first_difference",
]

UNJUDGED_TOTAL: Final = 20_000
"""Most logged-but-unjudged packets across all senders (per sender, the window W bounds it)."""
SNAPSHOT_EVERY: Final = 512
SNAPSHOT_SIZE_FACTOR: Final = 4
"""Snapshots are at least this many times the state's size apart (senders, accounts and credit
lines), so copying costs at most a quarter of an element per judged packet."""
"""Judged packets between snapshots (older ones are thinned to geometric spacing)."""

Dep = tuple[bytes, int, bytes | None]
_JUDGED_KEY: Final = Outcome.JUDGED.value
_OUTCOME_JUDGED: Final = Outcome.JUDGED  # an enum member is a class lookup each time


class Entry:
    """A verified packet: held, logged, then judged.

    ``packet`` is the decoded body until the packet is judged; then None (the log keeps only
    the frame, and a re-judge decodes it again); always None for a malformed body, whose fault
    is ``malformed``.  ``deps`` are the ``(sender, nonce, h)`` it names; ``seq`` its place in
    the judged order.  Entry, Ingested and _Chain are plain slotted classes, not dataclasses:
    compiled (docs/BUILD.md), a dataclass runs the interpreted generated ``__init__``.
    """

    __slots__ = (
        "bad_ref",
        "deps",
        "frame",
        "full_hash",
        "judgment",
        "malformed",
        "nonce",
        "packet",
        "prev",
        "removed",
        "sender",
        "seq",
    )

    def __init__(
        self,
        sender: bytes,
        nonce: int,
        prev: bytes,
        full_hash: bytes,
        frame: bytes,
        packet: Packet | None,
        malformed: str | None,
        deps: tuple[Dep, ...],
        bad_ref: bool,
        judgment: Judgment | None = None,
        seq: int = -1,
        removed: bool = False,
    ) -> None:
        self.sender = sender
        self.nonce = nonce
        self.prev = prev
        self.full_hash = full_hash
        self.frame = frame
        self.packet = packet
        self.malformed = malformed
        self.deps = deps
        self.bad_ref = bad_ref
        self.judgment = judgment
        self.seq = seq
        self.removed = removed

    def __repr__(self) -> str:
        return (
            f"Entry({self.sender.hex()[:8]}, {self.nonce}, judgment={self.judgment!r}, "
            f"seq={self.seq}, removed={self.removed})"
        )

    @property
    def h(self) -> bytes:
        return self.full_hash[:HASH_LEN]

    @property
    def reason(self) -> Reason | None:
        return None if self.judgment is None else self.judgment.reason


@dataclass(frozen=True, slots=True)
class Want:
    """Packets to pull: ``sender``'s nonces ``lo..hi``, or the version named by ``h``."""

    sender: bytes
    lo: int
    hi: int
    h: bytes | None = None


@dataclass(frozen=True, slots=True)
class Revision:
    """A verdict changed by a late fork proof (the CLI marks revised effects)."""

    sender: bytes
    nonce: int
    before: Reason
    after: Reason


JUDGED: Final = "judged"
FORK_KEPT: Final = "fork_kept"
FORK_DROPPED: Final = "fork_dropped"
REVISED: Final = "revised"


class Change(NamedTuple):
    """One durable change: ``what`` is JUDGED, FORK_KEPT, FORK_DROPPED (``item`` an Entry) or
    REVISED (``item`` a Revision)."""

    what: str
    item: Entry | Revision


_change: Final = tuple_maker(Change)
"""``Change(what, item)`` in one C call (see protocol.slots)."""


class Ingested:
    """What ingesting one frame did, and every packet it got judged (in judge order)."""

    __slots__ = ("error", "judged", "outcome", "reason", "why")

    def __init__(
        self,
        outcome: Outcome,
        reason: Reason | None = None,
        error: Exception | None = None,
        why: str = "",
        judged: list[Entry] | None = None,
    ) -> None:
        self.outcome = outcome
        self.reason = reason
        self.error = error
        self.why = why
        self.judged: list[Entry] = judged if judged is not None else []

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Ingested) and (
            (self.outcome, self.reason, self.why, self.judged, repr(self.error))
            == (other.outcome, other.reason, other.why, other.judged, repr(other.error))
        )

    __hash__ = None  # type: ignore[assignment]  # mutable

    def __repr__(self) -> str:
        return (
            f"Ingested({self.outcome}, reason={self.reason!r}, why={self.why!r}, "
            f"error={self.error!r}, judged={len(self.judged)})"
        )


@dataclass(slots=True)
class _Fork:
    """A fork proof. It is *accepted* (judged, in the state, persisted, served) once the
    forker's chain is judged up to the nonce before the fork; until then it is local."""

    nonce: int
    versions: list[Entry]
    accepted: bool = False


class _Chain:
    """A sender's logged packets (index nonce − 1) and cumulative hashes of the judged ones."""

    __slots__ = ("cumulative", "entries")

    def __init__(self, entries: list[Entry] | None = None) -> None:
        self.entries: list[Entry] = entries if entries is not None else []
        self.cumulative: list[bytes] = []


class Replica:
    """A node's log and ledger replica. Feed it frames with :meth:`ingest`."""

    def __init__(
        self,
        genesis: Genesis,
        *,
        engine: TableEngine | None = None,
        window: int = HOLDBACK_WINDOW,
        held_cap: int = HOLDBACK_TOTAL,
        unjudged_cap: int = UNJUDGED_TOTAL,
        snapshot_every: int = SNAPSHOT_EVERY,
        verify: bool = True,
        audit: bool = False,
        mutant_count_pending: bool = False,
    ) -> None:
        self.genesis = genesis
        self.codec = FrameCodec(genesis.network_id)
        self.engine: TableEngine = engine if engine is not None else NoTables()
        self.window = window
        self.unjudged_cap = unjudged_cap
        self.snapshot_every = snapshot_every
        self._snapshot_gap = snapshot_every
        self.verify = verify
        self.audit = audit
        self._mutant = mutant_count_pending
        self.state = LedgerState(genesis)
        self.chains: dict[bytes, _Chain] = {}
        self.forks: dict[bytes, _Fork] = {}
        self.seen = SeenIndex()
        self.held: WaitRoom[Entry] = WaitRoom(held_cap, self._rank)
        self.waiting: dict[bytes, dict[int, list[Entry]]] = {}
        self.unjudged = 0
        self.order: list[Entry] = []
        self.snapshots: list[tuple[int, LedgerState]] = [(0, self.state.copy())]
        self.revisions: list[Revision] = []
        self.counters: dict[str, int] = {}
        self._wants: list[Want] = []
        self._requested: set[tuple[bytes, int, bytes | None]] = set()
        self._ready: deque[Entry] = deque()
        self._judged_now: list[Entry] = []
        self._changes: list[Change] = []
        self._revisions_taken = 0
        self._capped: dict[tuple[bytes, int], None] = {}
        """Held only because the unjudged cap was full, oldest first: placed again when room
        appears, or when what blocked them is judged (``_capped_on``)."""
        self._capped_on: dict[bytes, dict[int, set[tuple[bytes, int]]]] = {}

    # ------------------------------------------------------------------ reading the state

    def digest(self) -> bytes:
        return self.state.digest()

    @property
    def supply(self) -> int:
        return self.state.supply

    def spendable(self, key: bytes) -> int:
        return self.state.spendable(key)

    def hwm(self, sender: bytes) -> int:
        s = self.state.senders.get(sender)
        return s.hwm if s is not None else 0

    def fork_point(self, sender: bytes) -> int:
        """The nonce of ``sender``'s accepted fork proof (0 if none)."""
        fork = self.forks.get(sender)
        return fork.nonce if fork is not None and fork.accepted else 0

    def judged(self, sender: bytes, nonce: int) -> Entry | None:
        """The judged packet ``(sender, nonce)``, if this replica has judged it."""
        chain = self.chains.get(sender)
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
        chain = self.chains.get(sender)
        if chain is None or not 1 <= nonce <= len(chain.cumulative):
            return None
        return chain.cumulative[nonce - 1]

    def summary(self) -> list[tuple[bytes, int, bytes, bytes]]:
        """Anti-entropy entries: ``(sender, HWM, C[:16], b"")``, or for a forked sender
        ``(sender, fork nonce, min(h1, h2), max(h1, h2))`` with 16-byte hashes."""
        out = []
        for sender, s in sorted(self.state.senders.items()):
            fork = self.forks.get(sender)
            if fork is not None and fork.accepted:
                hashes = sorted(v.full_hash[:16] for v in fork.versions)
                out.append((sender, fork.nonce, hashes[0], hashes[-1]))
            elif s.hwm:
                out.append((sender, s.hwm, s.cumulative[:16], b""))
        return out

    def frame_of(self, sender: bytes, nonce: int, h: bytes | None = None) -> bytes | None:
        """The frame to serve for ``(sender, nonce)`` (the version named by ``h`` if given):
        judged packets and fork-proof versions only."""
        fork = self.forks.get(sender)
        if fork is not None and nonce >= fork.nonce:
            if nonce != fork.nonce or not fork.accepted:
                return None
            for version in fork.versions:
                if h is None or version.h == h:
                    return version.frame
            return None
        entry = self.judged(sender, nonce)
        if entry is None or (h is not None and entry.h != h):
            return None
        return entry.frame

    def fork_frames(self, sender: bytes) -> list[bytes]:
        fork = self.forks.get(sender)
        return [v.frame for v in fork.versions] if fork is not None and fork.accepted else []

    def take_changes(self) -> list[Change]:
        """What to make durable since the last call, in the order it happened: packets judged
        (``JUDGED``), fork versions accepted (``FORK_KEPT``) or no longer kept
        (``FORK_DROPPED``), and verdict revisions (``REVISED``).  Replaying the frames of
        JUDGED and FORK_KEPT in this order rebuilds the same replica."""
        changes, self._changes = self._changes, []
        return changes

    def take_wants(self) -> list[Want]:
        """Pulls to send (each asked once until the packet is logged)."""
        wants, self._wants = self._wants, []
        return wants

    # ------------------------------------------------------------------ restore

    def restore(self, records: Iterable[tuple[bytes, Reason]], state: LedgerState) -> None:
        """Rebuild this (fresh) replica from a persisted snapshot without judging again.

        ``records`` are the accepted frames up to the snapshot, in acceptance order, each with
        its verdict as of the snapshot; ``state`` is the ledger state then.  Entries restored
        this way carry no recorded effects: a later re-judge judges them again (the judge is
        deterministic, so it finds the same verdicts).  Raises ValueError when the records do
        not match the state (the caller then replays the whole log instead).
        """
        if self.order or self.chains:
            raise ValueError("restore needs a fresh replica")
        by_sender: dict[bytes, list[Entry]] = {}
        forks: dict[bytes, _Fork] = {}
        order: list[Entry] = []
        for frame, reason in records:
            try:
                env = self.codec.open(frame)
            except Rejected as exc:
                raise ValueError(f"a stored frame does not open: {exc}") from None
            entry = self._entry(env)
            entry.judgment = Judgment(reason, FROZEN)
            entry.packet = None  # judged: a re-judge decodes the frame again
            s = state.senders.get(entry.sender)
            if s is not None and s.fork and entry.nonce >= s.fork:
                if entry.nonce == s.fork and entry.full_hash in s.fork_hashes:
                    fork = forks.setdefault(entry.sender, _Fork(s.fork, [], accepted=True))
                    if all(v.full_hash != entry.full_hash for v in fork.versions):
                        entry.judgment = Judgment(Reason.EQUIVOCATED)
                        entry.removed = True
                        fork.versions.append(entry)
                continue
            by_sender.setdefault(entry.sender, []).append(entry)
            order.append(entry)
        chains: dict[bytes, _Chain] = {}
        for sender, s in state.senders.items():
            entries = by_sender.pop(sender, [])
            if [e.nonce for e in entries] != list(range(1, s.hwm + 1)):
                raise ValueError(f"stored chain of {sender.hex()[:8]} does not match the state")
            chain = _Chain(entries)
            c = bytes(32)
            for e in entries:
                c = sha256(c, e.full_hash)
                chain.cumulative.append(c)
            if entries and (entries[-1].full_hash != s.head or c != s.cumulative):
                raise ValueError(f"stored chain of {sender.hex()[:8]} does not match its head")
            if entries:
                chains[sender] = chain
            if s.fork and len(forks.get(sender, _Fork(0, [])).versions) != len(s.fork_hashes):
                raise ValueError(f"fork evidence of {sender.hex()[:8]} is missing")
        if by_sender:
            raise ValueError("stored packets of senders the state does not know")
        for fork in forks.values():
            fork.versions.sort(key=lambda v: v.full_hash)
        for i, entry in enumerate(order):
            entry.seq = i  # known through its chain
        for fork in forks.values():
            for v in fork.versions:
                self.seen.add(v.sender, v.nonce, v.full_hash)
        self.chains = chains
        self.forks = forks
        self.order = order
        self.state = state
        self.snapshots = [self.snapshots[0], (len(order), state.copy())]
        self._snapshot_gap = self.snapshot_every

    # ------------------------------------------------------------------ ingest

    def ingest(self, frame: bytes) -> Ingested:
        """Take one frame from the network (or from this node itself)."""
        try:
            env = self.codec.open(frame)
        except Rejected as exc:
            return self._count(Ingested(Outcome.REJECTED, error=exc, why=type(exc).__name__))
        return self.ingest_envelope(env)

    def known(self, sender: bytes, nonce: int, full_hash: bytes) -> bool:
        """True when exactly this packet was already taken: logged in its sender's chain, or
        held, or kept as a fork version (``seen``).  A logged packet is found in its chain,
        so the dedup index holds only the versions outside the chains."""
        chain = self.chains.get(sender)
        if (
            chain is not None
            and nonce <= len(chain.entries)
            and chain.entries[nonce - 1].full_hash == full_hash
        ):
            return True
        return self.seen.contains(sender, nonce, full_hash)

    def screen(self, env: Envelope) -> Ingested | None:
        """The cheap checks before verification: above a proven fork, duplicate, beyond the
        window.  Returns the (counted) DROPPED result, or None when the frame must be verified.
        A driver that verifies on another thread screens first, so duplicates cost nothing."""
        sender, nonce = env.sender, env.nonce
        fork = self.forks.get(sender)
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

    def ingest_envelope(self, env: Envelope, *, verified: bool = False) -> Ingested:
        """Ingest an opened frame; ``verified`` when its signature was already checked
        (e.g. by a verifier thread) with :meth:`FrameCodec.verify`."""
        sender, nonce = env.sender, env.nonce
        # the common case: the next packet of a sender with no fork and no logged packet
        # waiting, while nothing is held anywhere (so it cannot be a duplicate)
        chain = self.chains.get(sender)
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
            nextone = not self.held and not self._capped and sender not in self.forks
        if not nextone:
            early = self.screen(env)
            if early is not None:
                return early
        if self.verify and not verified:
            try:
                self.codec.verify(env)
            except Rejected as exc:
                return self._count(Ingested(Outcome.REJECTED, error=exc, why=type(exc).__name__))
        entry = self._entry(env)
        if nextone and (not entry.deps or self._deps_blocker(entry) is None):
            return self._judge_next(entry, chain)
        self._judged_now = []
        result = self._place(entry)
        self._drain()
        result.judged = self._judged_now
        self._judged_now = []
        judgment = entry.judgment
        if judgment is not None and result.outcome is Outcome.LOGGED and not entry.removed:
            result.outcome = Outcome.JUDGED  # logged and judged during this ingest
            result.reason = judgment.reason
        return self._count(result)

    def _judge_next(self, entry: Entry, chain: _Chain | None) -> Ingested:
        """Log and judge at once a packet whose predecessor and dependencies are judged and
        that nothing held can follow: ``_place`` + ``_log`` + ``_drain`` for that case, in
        one pass (this is the path nearly every packet takes)."""
        sender = entry.sender
        nonce = entry.nonce
        if chain is None:
            chain = self.chains[sender] = _Chain()
        chain.entries.append(entry)  # known from now on (``known`` reads the chain)
        if self._requested:
            self._requested.discard((sender, nonce, None))
            self._requested.discard((sender, nonce, entry.h))
        judgment = self._judgment(entry)
        self._changes.append(_change(JUDGED, entry))
        self._apply(entry, judgment)
        judged = [entry]
        if self.waiting or self._capped_on:
            # packets that waited for this one: judge them now, as ``_judge`` would
            self.unjudged += 1
            self._judged_now = judged
            self._judge_after(entry)
            self._drain()
            self._judged_now = []
        counters = self.counters
        counters[_JUDGED_KEY] = counters.get(_JUDGED_KEY, 0) + 1
        return Ingested(_OUTCOME_JUDGED, judgment.reason, None, "", judged)

    def _count(self, result: Ingested) -> Ingested:
        key = result.why or result.outcome.value
        self.counters[key] = self.counters.get(key, 0) + 1
        return result

    def _entry(self, env: Envelope) -> Entry:
        packet: Packet | None
        try:
            packet = decode_body(env)
            malformed = None
        except Malformed as exc:
            packet, malformed = None, f"{type(exc).__name__}: {exc}"
        deps: tuple[Dep, ...] = ()
        bad = False
        if packet is not None:
            body = packet.body
            refs = body.acks if type(body) is Transfer or type(body) is Ack else ()
            if refs:
                sender, nonce = env.sender, env.nonce
                codec = self.codec
                found: list[Dep] = []
                for ref in refs:
                    # each field read once: a body field is a generic attribute lookup here
                    ref_sender = ref.sender
                    if ref_sender == sender:
                        if ref.nonce >= nonce:
                            bad = True
                    elif codec.acceptable(ref_sender):
                        found.append((ref_sender, ref.nonce, ref.h))
                    else:
                        bad = True
                deps = settle(tuple(found))  # kept for re-judging; the collector skips it
        return Entry(
            env.sender,
            env.nonce,
            env.prev,
            env.full_hash,
            env.frame(0),
            packet,
            malformed,
            deps,
            bad,
            None,
            -1,
            False,
        )

    # ------------------------------------------------------------------ placing

    def _place(self, entry: Entry) -> Ingested:
        sender, nonce = entry.sender, entry.nonce
        chain = self.chains.get(sender)
        top = len(chain.entries) if chain is not None else 0
        fork = self.forks.get(sender)
        if fork is not None and nonce == fork.nonce:
            if nonce > 1 and (chain is None or entry.prev != chain.entries[nonce - 2].h):
                return self._hold(entry, witness=True)
            self._add_version(sender, entry)
            return Ingested(Outcome.LOGGED, reason=Reason.EQUIVOCATED, why="fork_version")
        if nonce <= top:
            assert chain is not None
            if nonce == 1 or entry.prev == chain.entries[nonce - 2].h:
                self._fork(sender, nonce, entry)
                return Ingested(Outcome.LOGGED, reason=Reason.EQUIVOCATED, why="fork_proof")
            return self._hold(entry, witness=True)
        if nonce == top + 1:
            if nonce == 1 or (chain is not None and entry.prev == chain.entries[-1].h):
                if self.unjudged >= self.unjudged_cap:
                    blocker = self._blocker(entry)
                    if blocker is not None and not self._make_room(entry):
                        self._capped[(sender, nonce)] = None
                        on = self._capped_on.setdefault(blocker[0], {})
                        on.setdefault(blocker[1], set()).add((sender, nonce))
                        return self._hold(entry, witness=False)
                self._log(entry)
                return Ingested(Outcome.LOGGED)
            return self._hold(entry, witness=True)
        return self._hold(entry, witness=False)

    def _hold(self, entry: Entry, *, witness: bool) -> Ingested:
        sender, nonce = entry.sender, entry.nonce
        key = (sender, nonce, entry.full_hash)
        self.seen.add(sender, nonce, entry.full_hash)
        for (s, n, h), _ in self.held.add(key, entry):
            self.seen.forget_version(s, n, h)
            self._requested.discard((s, n, None))
            self.counters["evicted_held"] = self.counters.get("evicted_held", 0) + 1
        if key not in self.held:
            return Ingested(Outcome.DROPPED, why="evicted_on_arrival")
        if witness:
            self._want(sender, nonce - 1, nonce - 1, entry.prev)
            return Ingested(Outcome.HELD, why="fork_witness")
        chain = self.chains.get(sender)
        top = len(chain.entries) if chain is not None else 0
        self._want(sender, top + 1, nonce - 1)
        return Ingested(Outcome.HELD)

    def _rank(self, sender: bytes, nonce: int) -> tuple[int, bool]:
        hwm = self.hwm(sender)
        return nonce - hwm, hwm > 0

    def _want(self, sender: bytes, lo: int, hi: int, h: bytes | None = None) -> None:
        if h is not None:
            key: tuple[bytes, int, bytes | None] = (sender, lo, h)
            if key not in self._requested:
                self._requested.add(key)
                self._wants.append(Want(sender, lo, hi, h))
            return
        start = None
        for n in range(lo, hi + 1):
            key = (sender, n, None)  # one key type for both branches
            fresh = key not in self._requested and not self.held.versions(sender, n)
            if fresh:
                self._requested.add(key)
                if start is None:
                    start = n
            elif start is not None:
                self._wants.append(Want(sender, start, n - 1))
                start = None
        if start is not None:
            self._wants.append(Want(sender, start, hi))

    def _make_room(self, entry: Entry) -> bool:
        """Under the unjudged cap: evict the logged-but-unjudged suffix that is furthest ahead
        (senders with no judged history first) if it ranks below ``entry``; True if room was
        made.  Evicted packets are forgotten (they can arrive again) and never pulled."""
        best: tuple[int, bool, bytes] | None = None
        for sender, chain in self.chains.items():
            hwm = self.hwm(sender)
            if len(chain.entries) > hwm and sender != entry.sender:
                rank = (len(chain.entries) - hwm, hwm == 0, sender)
                if best is None or rank[:2] > best[:2]:
                    best = rank
        mine_hwm = self.hwm(entry.sender)
        if best is None or best[:2] <= (entry.nonce - mine_hwm, mine_hwm == 0):
            return False
        victim = best[2]
        chain = self.chains[victim]
        hwm = self.hwm(victim)
        for dropped in chain.entries[hwm:]:
            dropped.removed = True
            self.seen.forget_version(dropped.sender, dropped.nonce, dropped.full_hash)
            self._requested.discard((dropped.sender, dropped.nonce, None))
            self.unjudged -= 1
        del chain.entries[hwm:]
        self.counters["evicted_unjudged"] = self.counters.get("evicted_unjudged", 0) + 1
        return True

    # ------------------------------------------------------------------ logging

    def _log(self, entry: Entry) -> None:
        sender, nonce = entry.sender, entry.nonce
        chain = self.chains.get(sender)
        if chain is None:
            chain = self.chains[sender] = _Chain()
        chain.entries.append(entry)
        if len(self.seen):  # held before: the chain knows it now
            self.seen.forget_version(sender, nonce, entry.full_hash)
        requested = self._requested
        if requested:
            requested.discard((sender, nonce, None))
            requested.discard((sender, nonce, entry.h))
        self.unjudged += 1
        self._check(entry)
        if self._capped and (sender, nonce) in self._capped:
            self._retry_capped((sender, nonce))  # another version of the slot: a fork proof
        if len(self.held):
            for _, held in self.held.take(sender, nonce + 1):
                self._place(held)

    def _check(self, entry: Entry) -> None:
        """Queue ``entry`` for judging, or register it with its first blocker."""
        blocker = self._blocker(entry)
        if blocker is None:
            self._ready.append(entry)
        else:
            sender, nonce = blocker
            self.waiting.setdefault(sender, {}).setdefault(nonce, []).append(entry)

    def _blocker(self, entry: Entry) -> tuple[bytes, int] | None:
        """The first unjudged packet ``entry`` needs: its predecessor, then its dependencies."""
        if entry.nonce > 1:
            own = self.state.senders.get(entry.sender)
            if own is None or own.hwm < entry.nonce - 1:
                return entry.sender, entry.nonce - 1
        return self._deps_blocker(entry) if entry.deps else None

    def _deps_blocker(self, entry: Entry) -> tuple[bytes, int] | None:
        """The first of ``entry``'s dependencies not yet judged (or judged as another version),
        asking for what is missing."""
        senders = self.state.senders
        for sender, nonce, h in entry.deps:
            s = senders.get(sender)
            hwm = s.hwm if s is not None else 0
            fork = self.forks.get(sender)
            if fork is not None and nonce >= fork.nonce:
                # satisfied by the proof, once the forker is judged up to the fork
                if hwm < fork.nonce - 1:
                    return sender, fork.nonce - 1
                continue
            if hwm < nonce:
                logged = len(self.chains[sender].entries) if sender in self.chains else 0
                if logged < nonce:
                    self._want(sender, logged + 1, nonce)
                return sender, nonce
            if h is not None and self.chains[sender].entries[nonce - 1].h != h:
                self._want(sender, nonce, nonce, h)
                return sender, nonce
        return None

    def _drain(self) -> None:
        ready = self._ready
        while True:
            while ready:
                entry = ready.popleft()
                if entry.removed or entry.judgment is not None:
                    continue
                self._judge(entry)
            if not self._capped or self.unjudged >= self.unjudged_cap:
                return
            key = next(iter(self._capped))
            self._retry_capped(key)

    def _unblock_capped(self, sender: bytes, lo: int, hi: int) -> None:
        """Retry packets held for want of room that were blocked on ``sender``'s lo..hi."""
        on = self._capped_on.get(sender)
        if not on:
            return
        for m in [m for m in on if lo <= m <= hi]:
            for key in sorted(on.pop(m)):
                if key in self._capped:
                    self._retry_capped(key)
        if not on:
            self._capped_on.pop(sender, None)

    def _retry_capped(self, key: tuple[bytes, int]) -> None:
        """Place again a packet held for want of room (its slot may have filled meanwhile:
        then ``_place`` takes the fork path or holds it as a witness)."""
        self._capped.pop(key, None)
        for _, held in self.held.take(*key):
            self._place(held)

    def _judge(self, entry: Entry) -> None:
        judgment = self._judgment(entry)
        self._changes.append(_change(JUDGED, entry))
        self._apply(entry, judgment)
        self._judged_now.append(entry)
        self._judge_after(entry)

    def _judge_after(self, entry: Entry) -> None:
        """``entry`` was just judged: wake what waited for it."""
        self.unjudged -= 1
        if self._capped_on:
            self._unblock_capped(entry.sender, entry.nonce, entry.nonce)
        if self.waiting:
            waiters = self.waiting.get(entry.sender)
            if waiters is not None:
                woken = waiters.pop(entry.nonce, None)
                if not waiters:
                    del self.waiting[entry.sender]
                if woken:
                    for waiter in woken:
                        if not waiter.removed and waiter.judgment is None:
                            self._check(waiter)

    def _judgment(self, entry: Entry) -> Judgment:
        packet = entry.packet
        if packet is None and entry.malformed is None:  # judged before: decode it again
            packet = decode_body(self.codec.open(entry.frame))
        judgment = judge(
            self.state,
            packet,
            entry.sender,
            entry.nonce,
            self.engine,
            count_pending=self._mutant,
        )
        if entry.bad_ref and judgment.reason is not Reason.MALFORMED:
            judgment = Judgment(Reason.BAD_REFERENCE, Effects(mint=judgment.effects.mint))
        return judgment

    def _apply(self, entry: Entry, judgment: Judgment) -> None:
        entry.judgment = judgment
        entry.packet = None
        sender = entry.sender
        state = self.state
        s = apply(state, sender, entry.nonce, entry.full_hash, judgment)
        self.chains[sender].cumulative.append(s.cumulative)
        if self.forks:
            fork = self.forks.get(sender)
            if fork is not None and fork.nonce == entry.nonce + 1:
                self._accept_fork(sender)
        order = self.order
        entry.seq = len(order)
        order.append(entry)
        if entry.seq + 1 - self.snapshots[-1][0] >= self._snapshot_gap:
            self._snapshot()
        if self.audit:
            state.audit()

    def _snapshot(self) -> None:
        n = len(self.order)
        self.snapshots.append((n, self.state.copy()))
        # space snapshots a few times as far apart as the state is large, so copying stays
        # O(1) per judged packet however big the ledger grows
        self._snapshot_gap = max(self.snapshot_every, SNAPSHOT_SIZE_FACTOR * self.state.size())
        keep: dict[int, tuple[int, LedgerState]] = {}
        for seq, snap in self.snapshots[1:]:
            bucket = (n - seq).bit_length()
            if bucket not in keep or keep[bucket][0] > seq:
                keep[bucket] = (seq, snap)
        self.snapshots = [self.snapshots[0], *sorted(keep.values(), key=lambda s: s[0])]

    # ------------------------------------------------------------------ forks

    def _add_version(self, sender: bytes, entry: Entry) -> None:
        """A further version at a proven fork point: keep the two smallest full hashes."""
        fork = self.forks[sender]
        ranked = sorted([*fork.versions, entry], key=lambda e: e.full_hash)
        versions = ranked[:2]
        fork.versions = versions
        self.seen.add(sender, entry.nonce, entry.full_hash)
        for v in versions:
            v.judgment = Judgment(Reason.EQUIVOCATED)
            v.removed = True
        if fork.accepted:
            self._changes.extend(Change(FORK_DROPPED, v) for v in ranked[2:] if v is not entry)
            if entry in versions:
                self._changes.append(Change(FORK_KEPT, entry))
            self.state.sender(sender).fork_hashes = tuple(v.full_hash for v in versions)

    def _fork(self, sender: bytes, nonce: int, entry: Entry) -> None:
        """``entry`` and the logged packet at ``nonce`` are two versions: a fork proof."""
        chain = self.chains[sender]
        existing = chain.entries[nonce - 1]
        earlier = self.forks.get(sender)
        if earlier is not None and earlier.accepted:
            self._changes.extend(Change(FORK_DROPPED, v) for v in earlier.versions)
        versions = sorted([existing, entry], key=lambda e: e.full_hash)
        self.forks[sender] = _Fork(nonce, versions)
        self.seen.add(sender, nonce, existing.full_hash)  # leaves the chain, stays known
        self.seen.add(sender, nonce, entry.full_hash)
        removed = chain.entries[nonce - 1 :]
        del chain.entries[nonce - 1 :]
        first_seq = min((e.seq for e in removed if e.judgment is not None), default=None)
        for e in removed:
            e.removed = True
            if e.judgment is None:
                self.unjudged -= 1
            elif e.judgment.reason is not Reason.EQUIVOCATED:
                self._revise(Revision(e.sender, e.nonce, e.judgment.reason, Reason.EQUIVOCATED))
        del chain.cumulative[nonce - 1 :]
        for v in versions:
            v.judgment = Judgment(Reason.EQUIVOCATED)
            v.removed = True
        self.held.discard_from(sender, nonce)
        if first_seq is not None:
            self._rejudge(first_seq)
        elif self.hwm(sender) >= nonce - 1:
            self._accept_fork(sender)
        if self.audit:
            self.state.audit()
        self._unblock_capped(sender, nonce, MAX_NONCE)
        waiters = self.waiting.get(sender)
        if waiters:
            for m in [m for m in waiters if m >= nonce]:
                for waiter in waiters.pop(m):
                    if not waiter.removed and waiter.judgment is None:
                        self._check(waiter)
            if not waiters:
                del self.waiting[sender]
        self.counters["forks"] = self.counters.get("forks", 0) + 1

    def _revise(self, revision: Revision) -> None:
        self.revisions.append(revision)
        self._changes.append(Change(REVISED, revision))

    def _accept_fork(self, sender: bytes) -> None:
        """The forker is judged up to the nonce before the fork: the proof enters the state
        (both versions judged Refused(equivocated)) and becomes durable and servable."""
        fork = self.forks[sender]
        s = self.state.sender(sender)
        s.fork = fork.nonce
        s.fork_hashes = tuple(v.full_hash for v in fork.versions)
        if not fork.accepted:
            fork.accepted = True
            self._changes.extend(Change(FORK_KEPT, v) for v in fork.versions)

    def _rejudge(self, first_seq: int) -> None:
        """Restore the newest snapshot at or before ``first_seq`` and replay the judged order,
        re-judging only the forward cone of removed packets; the rest re-applies its effects."""
        seqs = [seq for seq, _ in self.snapshots]
        index = bisect.bisect_right(seqs, first_seq) - 1
        base_seq, snap = self.snapshots[index]
        del self.snapshots[index + 1 :]
        self.state = snap.copy()
        for forked, fork in self.forks.items():
            if self.hwm(forked) >= fork.nonce - 1:
                self._accept_fork(forked)
        tail = self.order[base_seq:]
        del self.order[base_seq:]
        for sender, chain in self.chains.items():
            del chain.cumulative[self.hwm(sender) :]
        cone: dict[bytes, int] = {s: f.nonce for s, f in self.forks.items()}
        for entry in tail:
            if entry.removed:
                continue
            in_cone = cone.get(entry.sender, entry.nonce + 1) <= entry.nonce or any(
                cone.get(s, n + 1) <= n for s, n, _ in entry.deps
            )
            judgment = entry.judgment
            assert judgment is not None
            frozen = judgment.effects is FROZEN  # restored from a persisted snapshot
            if in_cone or frozen:
                if in_cone and cone.get(entry.sender, entry.nonce + 1) > entry.nonce:
                    cone[entry.sender] = entry.nonce
                fresh = self._judgment(entry)
                if fresh.reason != judgment.reason or (not frozen and fresh != judgment):
                    self._revise(Revision(entry.sender, entry.nonce, judgment.reason, fresh.reason))
                    self._judged_now.append(entry)
                judgment = fresh
            self._apply(entry, judgment)
        self.counters["rejudged"] = self.counters.get("rejudged", 0) + len(tail)


def first_difference(
    hwm: int, mine: Callable[[int], bytes | None], theirs: Callable[[int], bytes | None]
) -> int:
    """The first nonce at which two chains of equal ``hwm`` differ, by bisection over
    cumulative hashes (a difference at n persists to every later nonce); 0 if none."""
    if mine(hwm) == theirs(hwm):
        return 0
    lo, hi = 1, hwm
    while lo < hi:
        mid = (lo + hi) // 2
        if mine(mid) == theirs(mid):
            lo = mid + 1
        else:
            hi = mid
    return lo
