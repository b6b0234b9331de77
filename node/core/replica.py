"""The log and the ledger replica: the one ingest pipeline every frame goes through.

Theory of operation (DESIGN.md section 4; docs/LEDGER.md has worked examples):

    frame ─▶ envelope ─▶ fork/dedup/window checks ─▶ verify ─▶ body
          ─▶ held (predecessor missing, a fork witness, or no room)  ─┐
          ─▶ logged (prev matches the logged predecessor) ◀───────────┘
          ─▶ judged when predecessor and dependencies are judged: Applied / Refused(reason)

A second logged version of ``(sender, nonce)`` is a fork proof: the sender's packets from that
nonce on are Refused(equivocated), the two smallest full hashes are kept, everything else of that
sender at or above it is dropped, and if the proof arrives after judging, the forward cone is
undone and judged again, at a cost proportional to the cone.  Every structure a flood can grow
is bounded and freed with what it refers to (:meth:`Replica.footprint`).  HWM, head,
cumulative hash, digest and anti-entropy count judged packets only.  Sans-IO: no clock, socket
or randomness.
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Final, NamedTuple

from node.core.dedup import SeenIndex
from node.core.holdback import WaitRoom
from node.core.ledger import (
    FROZEN,
    ZERO_HASH,
    Effects,
    Judgment,
    LedgerState,
    NoTables,
    TableEngine,
    apply,
    judge,
    move_money,
    unmove_money,
)
from node.core.log import Chain, Dep, Entry
from node.core.pulls import Pulls, Want
from node.core.verdicts import Outcome, Reason
from node.core.waits import Waits
from protocol.constants import HASH_LEN, HOLDBACK_TOTAL, HOLDBACK_WINDOW, MAX_NONCE
from protocol.errors import Malformed, Rejected
from protocol.frame import Envelope, FrameCodec, Packet, decode_body
from protocol.genesis import Genesis
from protocol.hashing import sha256
from protocol.kinds import Ack, ExtRef, Transfer

__all__ = [
    "FORK_DROPPED",
    "FORK_KEPT",
    "JUDGED",
    "REVISED",
    "SERVE_LIMIT",
    "UNJUDGED_TOTAL",
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
SERVE_LIMIT: Final = 64
"""Most frames :meth:`Replica.serve` answers one want with."""

_JUDGED_KEY: Final = Outcome.JUDGED.value
_OUTCOME_JUDGED: Final = Outcome.JUDGED  # an enum member is a class lookup each time
_EQUIVOCATED: Final = Judgment(Reason.EQUIVOCATED)

Key = tuple[bytes, int, bytes]


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


class _Suffixes:
    """Senders with logged-but-unjudged packets, ranked for eviction from the unjudged log:
    furthest ahead of the HWM first, then senders with no judged history.  A lazy heap: a
    sender is pushed again whenever its rank may have changed and stale entries are skipped,
    so finding a victim costs a few heap operations, not a scan of every sender."""

    __slots__ = ("_floor", "_heap", "_rank", "_tick")

    def __init__(self, rank: Callable[[bytes], tuple[int, bool]]) -> None:
        self._rank = rank
        self._heap: list[tuple[int, bool, int, bytes]] = []
        self._tick = 0
        self._floor = 0

    def touch(self, sender: bytes) -> None:
        """``sender``'s suffix may have grown or shrunk: rank it again."""
        distance, fresh = self._rank(sender)
        if distance > 0:
            self._tick += 1
            heapq.heappush(self._heap, (-distance, not fresh, -self._tick, sender))
            if len(self._heap) > 2 * self._floor + 1024:
                self._compact()

    def victim(
        self, acceptable: Callable[[bytes], bool], worse_than: tuple[int, bool]
    ) -> bytes | None:
        """The worst-ranked sender ``acceptable`` allows, if it ranks worse than
        ``worse_than`` (distance, no history); None otherwise."""
        heap = self._heap
        skipped: list[tuple[int, bool, int, bytes]] = []
        found = None
        while heap:
            item = heapq.heappop(heap)
            neg_distance, history, _, sender = item
            distance, fresh = self._rank(sender)
            if distance <= 0 or (-neg_distance, not history) != (distance, fresh):
                continue  # stale: its current rank was pushed when it changed
            if (distance, fresh) <= worse_than:
                skipped.append(item)
                break
            skipped.append(item)
            if acceptable(sender):
                found = sender
                break
        for item in skipped:
            heapq.heappush(heap, item)
        return found

    def _compact(self) -> None:
        fresh: dict[bytes, tuple[int, bool, int, bytes]] = {}
        for item in self._heap:
            sender = item[3]
            if sender not in fresh or item[2] < fresh[sender][2]:
                fresh[sender] = item
        self._heap = [item for item in fresh.values() if self._rank(item[3])[0] > 0]
        heapq.heapify(self._heap)
        self._floor = len(self._heap)


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
        verify: bool = True,
        audit: bool = False,
        mutant_count_pending: bool = False,
    ) -> None:
        self.genesis = genesis
        self.codec = FrameCodec(genesis.network_id)
        self.engine: TableEngine = engine if engine is not None else NoTables()
        self.window = window
        self.unjudged_cap = unjudged_cap
        self.reserve = max(1, unjudged_cap // 8)
        """Room beyond the cap for packets that logged packets wait for (eviction must not
        undo progress), so the unjudged log holds at most ``unjudged_cap + reserve``."""
        self.verify = verify
        self.audit = audit
        self._mutant = mutant_count_pending
        self.state = LedgerState(genesis)
        self.chains: dict[bytes, Chain] = {}
        self.forks: dict[bytes, _Fork] = {}
        self.seen = SeenIndex()
        self.held: WaitRoom[Entry] = WaitRoom(held_cap, self._rank)
        self.waits: Waits[Entry] = Waits()
        self.pulls = Pulls()
        self.unjudged = 0
        self.revisions: list[Revision] = []
        self.counters: dict[str, int] = {}
        self._seq = 0
        self._dependents: dict[bytes, list[tuple[int, Entry]]] = {}
        """Judged packets by a sender they name, with the nonce named: the forward cone of a
        late fork proof is found from here."""
        self._suffixes = _Suffixes(self._suffix_rank)
        self._wants: list[Want] = []
        self._ready: deque[Entry] = deque()
        self._judged_now: list[Entry] = []
        self._changes: list[Change] = []
        self._capped: dict[Key, None] = {}
        """Held only because the unjudged log was full, oldest first: placed again when room
        appears, or when what blocked them is judged (``_capped_on``)."""
        self._capped_on: Waits[Key] = Waits()

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
        """The frame to serve for ``(sender, nonce)`` (the first version named by ``h`` if
        given): judged packets and fork-proof versions only.  :meth:`serve` answers a want."""
        frames = self._frames_at(sender, nonce, h)
        return frames[0] if frames else None

    def serve(self, want: Want, limit: int = SERVE_LIMIT) -> list[bytes]:
        """The frames that answer ``want``: judged packets and accepted fork versions in
        ``want.lo..want.hi`` (every version whose h is ``want.h`` when it names one), in nonce
        order, at most ``limit``.  A range far beyond what this replica holds costs nothing."""
        fork = self.forks.get(want.sender)
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
        fork = self.forks.get(sender)
        if fork is not None and nonce >= fork.nonce:
            if nonce != fork.nonce or not fork.accepted:
                return []
            return [v.frame for v in fork.versions if h is None or v.h == h]
        entry = self.judged(sender, nonce)
        if entry is None or (h is not None and entry.h != h):
            return []
        return [entry.frame]

    def fork_frames(self, sender: bytes) -> list[bytes]:
        fork = self.forks.get(sender)
        return [v.frame for v in fork.versions] if fork is not None and fork.accepted else []

    def verdicts(self) -> dict[Key, Reason]:
        """Every judged packet's verdict by ``(sender, nonce, full hash)``, the versions of
        accepted fork proofs included (Refused(equivocated))."""
        out: dict[Key, Reason] = {}
        for sender, chain in self.chains.items():
            for entry in chain.entries[: self.hwm(sender)]:
                assert entry.judgment is not None
                out[entry.key] = entry.judgment.reason
        for fork in self.forks.values():
            if fork.accepted:
                for version in fork.versions:
                    out[version.key] = Reason.EQUIVOCATED
        return out

    def judged_in_order(self) -> list[Entry]:
        """Every judged packet still in its chain, in the order it was judged."""
        entries = [e for s, c in self.chains.items() for e in c.entries[: self.hwm(s)]]
        entries.sort(key=lambda e: e.seq)
        return entries

    def footprint(self) -> dict[str, int]:
        """The size of every structure a flood can grow, each bounded by a cap: ``held``
        (held_cap), ``unjudged`` (unjudged_cap + reserve), ``waiting`` and ``capped`` (at
        most what is unjudged and held), ``pull_marks`` and ``pull_senders`` (senders that
        held or waiting packets need), ``local_forks`` and ``fork_versions`` (two per forked
        sender; a local proof only while its sender has unjudged packets), ``seen`` (held
        versions)."""
        return {
            "held": len(self.held),
            "unjudged": self.unjudged,
            "waiting": len(self.waits),
            "capped": len(self._capped),
            "capped_waiting": len(self._capped_on),
            "pull_marks": len(self.pulls),
            "pull_senders": self.pulls.referenced(),
            "local_forks": sum(1 for f in self.forks.values() if not f.accepted),
            "fork_versions": sum(len(f.versions) for f in self.forks.values()),
            "seen": len(self.seen),
            "chains_unjudged": sum(1 for s, c in self.chains.items() if c.top > self.hwm(s)),
        }

    def take_changes(self) -> list[Change]:
        """What to make durable since the last call, in the order it happened: packets judged
        (``JUDGED``), fork versions accepted (``FORK_KEPT``) or no longer kept
        (``FORK_DROPPED``), and verdict revisions (``REVISED``).  Replaying the frames of
        JUDGED and FORK_KEPT rebuilds the same replica."""
        changes, self._changes = self._changes, []
        return changes

    def take_wants(self) -> list[Want]:
        """Pulls to send: each range or version is asked once while something needs it."""
        wants, self._wants = self._wants, []
        return wants

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
        here, the rest must be ingested afterwards).  Entries restored this way carry no
        recorded effects (``FROZEN``): a late fork whose cone reaches one judges everything
        again from genesis, once.  Raises ValueError when the records do not match the state
        (the caller then replays the whole log instead).
        """
        if self.chains or self.forks:
            raise ValueError("restore needs a fresh replica")
        by_sender: dict[bytes, list[Entry]] = {}
        forks: dict[bytes, _Fork] = {}
        order: list[Entry] = []
        extra = dict.fromkeys(fork_frames)
        for frame, reason in [*((f, Reason.EQUIVOCATED) for f in extra), *records]:
            try:
                env = self.codec.open(frame)
            except Rejected as exc:
                raise ValueError(f"a stored frame does not open: {exc}") from None
            entry = self._entry(env)
            entry.judgment = Judgment(reason, FROZEN)
            entry.packet = None  # judged: a re-judge decodes the frame again
            s = state.senders.get(entry.sender)
            if frame in extra and not (
                s is not None and s.fork == entry.nonce and entry.full_hash in s.fork_hashes
            ):
                continue  # a proof the snapshot does not hold: ingested afterwards
            if s is not None and s.fork and entry.nonce >= s.fork:
                if entry.nonce == s.fork and entry.full_hash in s.fork_hashes:
                    fork = forks.setdefault(entry.sender, _Fork(s.fork, [], accepted=True))
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
            if s.fork and len(forks.get(sender, _Fork(0, [])).versions) != len(s.fork_hashes):
                raise ValueError(f"fork evidence of {sender.hex()[:8]} is missing")
        if by_sender:
            raise ValueError("stored packets of senders the state does not know")
        for fork in forks.values():
            fork.versions.sort(key=lambda v: v.full_hash)
        for entry in order:
            entry.seq = self._seq
            self._seq += 1
            self._index_dependents(entry)
        self.chains = chains
        self.forks = forks
        self.state = state

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
        held (``seen``).  Fork versions are screened by the fork itself (:meth:`screen`)."""
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
        if nextone and (not entry.deps or self._deps_blocker(entry, False) is None):
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

    def _judge_next(self, entry: Entry, chain: Chain | None) -> Ingested:
        """Log and judge at once a packet whose predecessor and dependencies are judged and
        that nothing held can follow: ``_place`` + ``_log`` + ``_drain`` for that case, in
        one pass (this is the path nearly every packet takes)."""
        sender = entry.sender
        nonce = entry.nonce
        if chain is None:
            chain = self.chains[sender] = Chain()
        chain.entries.append(entry)  # known from now on (``known`` reads the chain)
        if self.pulls:
            self.pulls.logged(sender, nonce, entry.h)
        judgment = self._judgment(entry)
        self._changes.append(Change(JUDGED, entry))
        self._apply(entry, judgment)
        judged = [entry]
        if self.waits or self._capped_on:
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
                        ref_nonce = ref.nonce
                        if ref_nonce >= nonce:
                            bad = True
                        else:  # its own earlier packet: a wrong h there is a fork witness
                            found.append((ref_sender, ref_nonce, ref.h))
                    elif codec.acceptable(ref_sender):
                        found.append((ref_sender, ref.nonce, ref.h))
                    else:
                        bad = True
                deps = tuple(found)
        return Entry(
            env.sender, env.nonce, env.prev, env.full_hash, env.frame(0), packet, malformed,
            deps, bad,
        )

    # ------------------------------------------------------------------ placing

    def _place(self, entry: Entry) -> Ingested:
        sender, nonce = entry.sender, entry.nonce
        chain = self.chains.get(sender)
        top = chain.top if chain is not None else 0
        fork = self.forks.get(sender)
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
                if self.unjudged >= self.unjudged_cap:
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
        for key in self.held.versions(sender, nonce):
            other = self.held.get(key)
            if other is not None and other.prev == entry.prev:
                return True
        if (
            self.waits.top(sender) >= nonce
            and self.unjudged < self.unjudged_cap + self.reserve
        ):
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
        self.seen.add(sender, nonce, entry.full_hash)
        for _, victim in self.held.add(key, entry):
            self._unhold(victim)
            self.counters["evicted_held"] = self.counters.get("evicted_held", 0) + 1
        if key not in self.held:
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
            want = self.pulls.ask_version(sender, nonce - 1, entry.prev)
            if want is not None:
                self._wants.append(want)
            return Ingested(Outcome.HELD, why="fork_witness")
        chain = self.chains.get(sender)
        hi = nonce - 1
        while hi > 0 and self.held.versions(sender, hi):  # within the window: at most W steps
            hi -= 1
        self._ask(sender, (chain.top if chain is not None else 0) + 1, hi)
        return Ingested(Outcome.HELD)

    def _unhold(self, entry: Entry) -> None:
        """``entry`` left the held room (taken, discarded or evicted): forget its marks."""
        self.seen.forget_version(entry.sender, entry.nonce, entry.full_hash)
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
            self.pulls.unref(entry.need)
        self.pulls.ref(sender)
        entry.need = sender

    def _drop_need(self, entry: Entry) -> None:
        need = entry.need
        if need is not None:
            entry.need = None
            self.pulls.unref(need)

    def _ask(self, sender: bytes, lo: int, hi: int) -> None:
        """Pull ``lo..hi`` of ``sender``, clipped to what its window lets this replica hold."""
        want = self.pulls.ask(sender, lo, min(hi, self.hwm(sender) + self.window))
        if want is not None:
            self._wants.append(want)

    def _rank(self, sender: bytes, nonce: int) -> tuple[int, bool]:
        hwm = self.hwm(sender)
        return nonce - hwm, hwm > 0

    def _suffix_rank(self, sender: bytes) -> tuple[int, bool]:
        """A sender's unjudged suffix: (length, no judged history)."""
        chain = self.chains.get(sender)
        hwm = self.hwm(sender)
        return (chain.top - hwm if chain is not None else 0), hwm == 0

    def _make_room(self, entry: Entry) -> bool:
        """Evict the logged-but-unjudged suffix that is furthest ahead (senders with no judged
        history first) if nobody else waits for it and it ranks below ``entry``; True if room
        was made.  Evicted packets are forgotten (they can arrive again) and never pulled."""
        hwm = self.hwm(entry.sender)
        mine = (entry.nonce - hwm, hwm == 0)

        def acceptable(sender: bytes) -> bool:
            return sender != entry.sender and self.waits.top(sender) <= self.hwm(sender)

        victim = self._suffixes.victim(acceptable, mine)
        if victim is None:
            return False
        self._evict_suffix(victim)
        self.counters["evicted_unjudged"] = self.counters.get("evicted_unjudged", 0) + 1
        return True

    def _evict_suffix(self, sender: bytes) -> None:
        """Drop ``sender``'s logged-but-unjudged packets (and its local fork proof, which
        needs them)."""
        chain = self.chains[sender]
        hwm = self.hwm(sender)
        for dropped in chain.entries[hwm:]:
            dropped.removed = True
            self._leave_log(dropped)
        del chain.entries[hwm:]
        if not chain.entries:
            del self.chains[sender]
        fork = self.forks.get(sender)
        if fork is not None and not fork.accepted:
            del self.forks[sender]

    def _leave_log(self, entry: Entry) -> None:
        """An unjudged logged packet leaves the log (evicted, or removed by a fork)."""
        blocker = entry.blocker
        if blocker is not None:
            self.waits.remove(blocker[0], blocker[1], entry)
            entry.blocker = None
        self._drop_need(entry)
        self.unjudged -= 1

    # ------------------------------------------------------------------ logging

    def _log(self, entry: Entry) -> None:
        sender, nonce = entry.sender, entry.nonce
        chain = self.chains.get(sender)
        if chain is None:
            chain = self.chains[sender] = Chain()
        chain.entries.append(entry)
        if self.pulls:
            self.pulls.logged(sender, nonce, entry.h)
        self.unjudged += 1
        self._check(entry)
        self._suffixes.touch(sender)
        if len(self.held):
            # other versions of this slot: a fork proof now, or witnesses held again
            for _, other in self.held.take(sender, nonce):
                self._unhold(other)
                self._place(other)
            for _, held in self.held.take(sender, nonce + 1):
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
            self.waits.add(sender, nonce, entry)
            self._need(entry, sender)

    def _blocker(self, entry: Entry, ask: bool) -> tuple[bytes, int] | None:
        """The first unjudged packet ``entry`` needs: its predecessor, then its dependencies."""
        if entry.nonce > 1:
            own = self.state.senders.get(entry.sender)
            if own is None or own.hwm < entry.nonce - 1:
                return entry.sender, entry.nonce - 1
        return self._deps_blocker(entry, ask) if entry.deps else None

    def _deps_blocker(self, entry: Entry, ask: bool) -> tuple[bytes, int] | None:
        """The first of ``entry``'s dependencies not yet judged (or judged as another version),
        asking for what is missing when ``ask``.  A dependency beyond the window blocks on the
        window's top: it costs what any packet costs, whatever nonce it names."""
        senders = self.state.senders
        for sender, nonce, h in entry.deps:
            s = senders.get(sender)
            hwm = s.hwm if s is not None else 0
            needed = nonce
            fork = self.forks.get(sender)
            if fork is not None and nonce >= fork.nonce:
                # satisfied by the proof, once the forker is judged up to the fork
                needed = fork.nonce - 1
                if hwm >= needed:
                    continue
            if hwm < needed:
                target = min(needed, hwm + self.window)
                if ask:
                    chain = self.chains.get(sender)
                    self._ask(sender, (chain.top if chain is not None else 0) + 1, target)
                return sender, target
            if h is not None and self.chains[sender].entries[nonce - 1].h != h:
                if ask:
                    want = self.pulls.ask_version(sender, nonce, h)
                    if want is not None:
                        self._wants.append(want)
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
            self._retry_capped(next(iter(self._capped)))

    def _retry_capped(self, key: Key) -> None:
        """Place again a packet held for want of room (its slot may have filled meanwhile:
        then ``_place`` takes the fork path or holds it as a witness)."""
        entry = self.held.discard(key)
        if entry is None:
            self._capped.pop(key, None)
            return
        self._unhold(entry)
        self._place(entry)

    def _judge(self, entry: Entry) -> None:
        judgment = self._judgment(entry)
        self._changes.append(Change(JUDGED, entry))
        self._drop_need(entry)
        entry.blocker = None
        self._apply(entry, judgment)
        self._judged_now.append(entry)
        self._judge_after(entry)

    def _judge_after(self, entry: Entry) -> None:
        """``entry`` was just judged: wake what waited for it."""
        self.unjudged -= 1
        sender, nonce = entry.sender, entry.nonce
        if self._capped_on:
            for key in self._capped_on.take(sender, nonce):
                if key in self._capped:
                    self._retry_capped(key)
        chain = self.chains[sender]
        if chain.top > nonce:
            self._suffixes.touch(sender)
            successor = chain.entries[nonce]
            if successor.judgment is None and successor.blocker == (sender, nonce):
                successor.blocker = None
                self._check(successor)
        if self.waits:
            for waiter in self.waits.take(sender, nonce):
                waiter.blocker = None
                self._drop_need(waiter)
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
        s, entry.undo = apply(state, sender, entry.nonce, entry.full_hash, judgment)
        self.chains[sender].cumulative.append(s.cumulative)
        if self.forks:
            fork = self.forks.get(sender)
            if fork is not None and fork.nonce == entry.nonce + 1:
                self._accept_fork(sender)
        entry.seq = self._seq
        self._seq += 1
        if entry.deps:
            self._index_dependents(entry)
        if self.audit:
            state.audit()

    def _index_dependents(self, entry: Entry) -> None:
        sender = entry.sender
        dependents = self._dependents
        for named, nonce, _ in entry.deps:
            if named != sender:
                line = dependents.get(named)
                if line is None:
                    dependents[named] = [(nonce, entry)]
                else:
                    line.append((nonce, entry))

    # ------------------------------------------------------------------ forks

    def _add_version(self, sender: bytes, entry: Entry) -> Ingested:
        """A further version at a proven fork point: keep the two smallest full hashes."""
        fork = self.forks[sender]
        ranked = sorted([*fork.versions, entry], key=lambda e: e.full_hash)
        kept, displaced = ranked[:2], ranked[2:]
        if entry in displaced:
            return Ingested(Outcome.DROPPED, why="fork_version_not_kept")
        fork.versions = kept
        entry.judgment = _EQUIVOCATED
        entry.removed = True
        if fork.accepted:
            self._changes.extend(Change(FORK_DROPPED, v) for v in displaced)
            self._changes.append(Change(FORK_KEPT, entry))
            self.state.sender(sender).fork_hashes = tuple(v.full_hash for v in kept)
        return Ingested(Outcome.LOGGED, reason=Reason.EQUIVOCATED, why="fork_version")

    def _fork(self, sender: bytes, nonce: int, entry: Entry) -> None:
        """``entry`` and the logged packet at ``nonce`` are two versions: a fork proof."""
        chain = self.chains[sender]
        existing = chain.entries[nonce - 1]
        earlier = self.forks.get(sender)
        if earlier is not None and earlier.accepted:
            self._changes.extend(Change(FORK_DROPPED, v) for v in earlier.versions)
        versions = sorted([existing, entry], key=lambda e: e.full_hash)
        self.forks[sender] = _Fork(nonce, versions)
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
        for held in self.held.discard_from(sender, nonce):
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
        for waiter in self.waits.take_from(sender, nonce):
            waiter.blocker = None
            self._drop_need(waiter)
            if not waiter.removed and waiter.judgment is None:
                self._check(waiter)
        self._suffixes.touch(sender)
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

    def _rejudge(self, sender: bytes, nonce: int, taken_back: list[tuple[Entry, Judgment]]) -> None:
        """A fork proof at ``(sender, nonce)`` takes back judged packets: undo their money and
        that of their forward cone (every judged packet that depends on them, through its own
        chain or what it names), newest first, then judge the cone again in its judged order.
        Cost: proportional to the cone, not to the history."""
        cone = self._cone(sender, nonce)
        chain = self.chains.get(sender)
        if chain is not None and not chain.entries:
            del self.chains[sender]
        if any(j.effects is FROZEN for _, j in taken_back) or any(
            e.judgment is not None and e.judgment.effects is FROZEN for e in cone
        ):
            self._rejudge_all()
            return
        undo = [(e.seq, e, j) for e, j in taken_back]
        undo += [(e.seq, e, e.judgment) for e in cone if e.judgment is not None]
        undo.sort(key=lambda item: item[0], reverse=True)
        state = self.state
        for _, e, judgment in undo:
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
        # the forward cone: what was taken back and what was judged again
        self.counters["rejudged"] = self.counters.get("rejudged", 0) + len(undo)

    def _rejudge_all(self) -> None:
        """Judge every judged packet again from genesis, in its judged order: what a late fork
        does when its cone reaches packets restored from a persisted snapshot, whose effects
        were not recorded.  Afterwards none is left unrecorded."""
        entries = self.judged_in_order()
        state = self.state = LedgerState(self.genesis)
        for e in entries:
            old = e.judgment
            assert old is not None
            fresh = self._judgment(e)
            e.packet = None
            _, e.undo = apply(state, e.sender, e.nonce, e.full_hash, fresh)
            if fresh.reason != old.reason:
                self._revise(Revision(e.sender, e.nonce, old.reason, fresh.reason))
                self._judged_now.append(e)
            e.judgment = fresh
        for forked, fork in self.forks.items():
            if self.hwm(forked) >= fork.nonce - 1:
                self._accept_fork(forked)
        self.counters["rejudged"] = self.counters.get("rejudged", 0) + len(entries)

    def _cone(self, sender: bytes, nonce: int) -> list[Entry]:
        """The judged packets (not taken back) whose verdicts may read ``sender``'s packets
        from ``nonce`` on: those that name them, their senders' later packets, and so on."""
        low: dict[bytes, int] = {}
        cone: list[Entry] = []
        stack = [(sender, nonce)]
        while stack:
            who, n = stack.pop()
            before = low.get(who)
            if before is not None and before <= n:
                continue
            low[who] = n
            hi = before if before is not None else MAX_NONCE + 1
            chain = self.chains.get(who)
            if chain is not None:  # the forker's chain ends below the fork already
                for e in chain.entries[n - 1 : min(hi - 1, self.hwm(who))]:
                    cone.append(e)
            for named, dependent in self._dependents.get(who, ()):
                if n <= named < hi and not dependent.removed:
                    stack.append((dependent.sender, dependent.nonce))
        return cone


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
