"""A multi-identity history generator and an in-memory gossip harness for the ledger replicas.

:class:`HistoryBuilder` (and the :func:`histories` strategy) signs histories of 3-6 identities —
transfers, acks, refusals of every money kind, forged signatures, far-ahead nonces, early, late,
three-way and hidden forks — one ``act_*`` method per action, so table actions can be added.
:class:`Mesh` feeds replicas shuffled, duplicated frames, restarts them from their real stores
(node/drivers/store.py, in a temporary directory), answers their pulls and runs anti-entropy until
nothing changes.  Test support only: no assertions about verdicts here beyond the harness's own
invariants (forged frames change nothing, a restart from the store keeps the digest).
"""

from __future__ import annotations

import hashlib
import itertools
import os
import tempfile
from collections import Counter, deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from random import Random
from typing import Any, ClassVar

import nacl.signing
from hypothesis import strategies as st

from node.core.antientropy import Entry16, first_difference, offer
from node.core.ledger import CreditLine, Judge, Judgment, LedgerState, TableEngine, judge
from node.core.pulls import Want
from node.core.replica import Replica
from node.core.verdicts import Outcome, Reason
from node.drivers.durable import DurableReplica
from node.drivers.store import Store
from protocol.constants import CRAP, HASH_LEN, MAX_NONCE, MAX_U64, SIGNATURE_LEN, ZERO_PREV
from protocol.frame import FrameCodec, Packet
from protocol.genesis import LOCAL, Genesis
from protocol.kinds import MAX_ACKS_PER_ACK, MAX_ACKS_PER_TRANSFER, Ack, Body, ExtRef, Transfer
from tests.ledger_factory import take_wants

__all__ = [
    "ACTIONS",
    "KEYS",
    "History",
    "HistoryBuilder",
    "Mesh",
    "Pool",
    "VerdictKey",
    "deliver",
    "histories",
    "open_durable",
    "restart",
    "verdicts",
]

KEYS: tuple[nacl.signing.SigningKey, ...] = tuple(
    nacl.signing.SigningKey(hashlib.sha256(f"bcm-convergence/{i}".encode()).digest())
    for i in range(6)
)
"""Identity keys from fixed seeds (the same in every run)."""

KEYS_PK: tuple[bytes, ...] = tuple(bytes(k.verify_key) for k in KEYS)

VerdictKey = tuple[bytes, int, bytes]
"""``(sender, nonce, full hash)``: one packet version."""

Draw = Callable[[st.SearchStrategy[Any]], Any]

STORE_ROOT: str | None = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None
"""Where the mesh's temporary stores go: memory-backed when available (2-3x faster than disk)."""


# --------------------------------------------------------------------------- the history


class Pool:
    """Every version of every ``(sender, nonce)`` ever signed: what gossip can answer pulls from."""

    def __init__(self, codec: FrameCodec) -> None:
        self.codec = codec
        self.versions: dict[tuple[bytes, int], list[tuple[bytes, bytes]]] = {}

    def add(self, frame: bytes) -> None:
        env = self.codec.open(frame)
        slot = self.versions.setdefault((env.sender, env.nonce), [])
        if all(f != frame for f, _ in slot):
            slot.append((frame, env.h))

    def answer(self, want: Want) -> list[bytes]:
        """Every version at ``want.lo..want.hi`` (only the one named by ``want.h`` if given)."""
        out = []
        for n in range(want.lo, want.hi + 1):
            for frame, h in self.versions.get((want.sender, n), ()):
                if want.h is None or h == want.h:
                    out.append(frame)
        return out


def name_of(key: bytes) -> str:
    """``id0``..``id5`` for the fixed identities, else a hex prefix."""
    return f"id{KEYS_PK.index(key)}" if key in KEYS_PK else key.hex()[:8]


def describe(codec: FrameCodec, frame: bytes) -> str:
    """One readable line for a frame: ``id1#3 h=ab12.. prev=.. transfer 5 -> id2 acks [...]``."""
    env = codec.open(frame)
    head = f"{name_of(env.sender)}#{env.nonce} h={env.h.hex()[:6]} prev={env.prev.hex()[:6]}"
    try:
        body = codec.decode(frame).body
    except Exception as exc:  # forged or malformed: say so
        return f"{head} <{type(exc).__name__}>"
    if isinstance(body, Transfer | Ack):
        acks = [f"{name_of(r.sender)}#{r.nonce}/{r.h.hex()[:6]}" for r in body.acks]
        what = (
            f"transfer {body.amount} -> {name_of(body.to)}" if isinstance(body, Transfer) else "ack"
        )
        return f"{head} {what} acks={acks}"
    return f"{head} {type(body).__name__}"


@dataclass(repr=False)
class History:
    """Signed frames and what the generator meant by them."""

    genesis: Genesis
    frames: list[bytes]
    """Delivered to every replica (forged and far-ahead frames included)."""
    sides: list[tuple[list[bytes], list[bytes]]]
    """Hidden forks: frames delivered only to the even-indexed / the odd-indexed replicas."""
    pool: Pool
    forged: frozenset[bytes]
    reference: Replica
    """A replica that ingested every valid frame in signing order (the authors' common view)."""
    signed: list[bytes] = field(default_factory=list)
    """Every validly signed frame the reference ingested, in signing order."""
    claims: Counter[str] = field(default_factory=Counter)
    """How many of each action the generator built (``early_fork``, ``mutant_bait``, ...)."""
    actions: list[str] = field(default_factory=list)

    def everything(self) -> list[bytes]:
        return [*self.frames, *(f for a, b in self.sides for f in (*a, *b))]

    def __repr__(self) -> str:
        codec = self.pool.codec
        g = self.genesis
        money = (
            "play money"
            if g.play_money
            else (f"grants {[(name_of(k), a) for k, a in g.grants]} min_account {g.min_account}")
        )
        lines = [f"History({g.name}: {money}; actions {self.actions}"]
        hidden = {f for a, b in self.sides for f in (*a, *b)}
        for frame in self.signed:
            mark = " [hidden side]" if frame in hidden else ""
            lines.append(f"  {describe(codec, frame)}{mark}")
        for frame in self.frames:
            if frame in self.forged:
                lines.append(f"  FORGED {describe(codec, frame)}")
            elif frame not in self.pool_frames():
                lines.append(f"  FAR AHEAD {describe(codec, frame)}")
        return "\n".join(lines) + ")"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        """Hypothesis prints a failing history with this: one readable line per frame."""
        printer.text(repr(self))

    def pool_frames(self) -> set[bytes]:
        return {f for versions in self.pool.versions.values() for f, _ in versions}


@dataclass
class Identity:
    """One signer and its live branch: full hashes of nonces 1..n as first signed."""

    key: nacl.signing.SigningKey
    pk: bytes
    hashes: list[bytes] = field(default_factory=list)
    forked: bool = False
    """After a fork this identity signs nothing more (its chain is ambiguous)."""

    @property
    def nonce(self) -> int:
        return len(self.hashes)

    @property
    def head(self) -> bytes:
        return self.hashes[-1][:HASH_LEN] if self.hashes else ZERO_PREV

    def prev_of(self, nonce: int) -> bytes:
        return self.hashes[nonce - 2][:HASH_LEN] if nonce > 1 else ZERO_PREV


ACTIONS: tuple[str, ...] = (
    "transfer",
    "overspend",
    "self_transfer",
    "ack",
    "ack_refused",
    "transfer_with_acks",
    "spend_unacked",
    "forge",
    "far_ahead",
    "burst",
    "bad_ref",
    "early_fork",
    "late_fork",
    "three_versions",
    "hidden_fork",
)
"""Every action kind; :class:`HistoryBuilder` has an ``act_<name>`` method for each."""

FORKS: frozenset[str] = frozenset(
    {"early_fork", "late_fork", "three_versions", "hidden_fork", "fork_over_waiting"}
)


class HistoryBuilder:
    """Signs a history action by action, steering by a reference replica that ingests each frame
    as it is signed (so amounts, credits and the refs it names follow the real ledger rules).

    To add an action kind (tables, later): write ``act_<name>(self) -> None`` and add the name to
    :data:`ACTIONS` or pass it in ``actions``.
    """

    MIN_LIVE: ClassVar[int] = 2
    """Forks need this many unforked identities left (the rest still trade)."""

    def __init__(self, draw: Draw, genesis: Genesis, identities: int) -> None:
        self.draw = draw
        self.genesis = genesis
        self.codec = FrameCodec(genesis.network_id)
        self.ids = [Identity(k, bytes(k.verify_key)) for k in KEYS[:identities]]
        self.reference = Replica(genesis)
        self.frames: list[bytes] = []
        self.sides: list[tuple[list[bytes], list[bytes]]] = []
        self.pool = Pool(self.codec)
        self.forged: set[bytes] = set()
        self.signed: list[bytes] = []
        self.claims: Counter[str] = Counter()
        self.actions: list[str] = []

    # -- the loop ---------------------------------------------------------------------------

    def build(
        self, actions: Sequence[str] = ACTIONS, count: int = 10, first: Sequence[str] = ()
    ) -> History:
        for name in first:
            self.run(name)
        for _ in range(count):
            self.run(self.draw(st.sampled_from(actions)))
        return History(
            self.genesis,
            self.frames,
            self.sides,
            self.pool,
            frozenset(self.forged),
            self.reference,
            self.signed,
            self.claims,
            self.actions,
        )

    def run(self, name: str) -> None:
        if name in FORKS and len(self.live()) <= self.MIN_LIVE:
            name = "transfer"
        self.actions.append(name)
        getattr(self, f"act_{name}")()

    # -- helpers ----------------------------------------------------------------------------

    def live(self) -> list[Identity]:
        return [i for i in self.ids if not i.forked]

    def pick(
        self, among: Sequence[Identity] | None = None, *, but: Identity | None = None
    ) -> Identity:
        choices = [i for i in (self.live() if among is None else among) if i is not but]
        return self.draw(st.sampled_from(choices))  # type: ignore[no-any-return]

    def avail(self, who: Identity) -> int:
        """What ``who``'s next packet could spend without naming new credits."""
        mint = self.genesis.faucet_amount if who.nonce == 0 and self.genesis.play_money else 0
        return self.reference.spendable(who.pk) + mint

    def pending(self, who: Identity) -> list[ExtRef]:
        """Refs to judged credits of ``who`` above its watermarks (one per creditor, newest)."""
        acc = self.reference.state.accounts.get(who.pk)
        if acc is None:
            return []
        refs = []
        for creditor, line in sorted(acc.lines.items()):
            if line.pending:
                nonce = line.pending[-1][0]
                if self.reference.judged(creditor, nonce) is not None:
                    refs.append(self.reference.ref(creditor, nonce))
        return refs

    def gain(self, who: Identity, acks: Iterable[ExtRef]) -> int:
        acc = self.reference.state.accounts.get(who.pk)
        if acc is None:
            return 0
        best: dict[bytes, int] = {}
        for ref in acks:
            if ref.sender != who.pk:
                best[ref.sender] = max(best.get(ref.sender, 0), ref.nonce)
        total = 0
        for creditor, mark in best.items():
            line = acc.lines.get(creditor, CreditLine())
            if mark > line.watermark:
                total += line.gain_to(mark)
        return total

    def judged_refs(self, but: Identity, *, refused: bool | None = None) -> list[ExtRef]:
        out = []
        for entry in self.reference.judged_in_order():
            if entry.sender == but.pk:
                continue
            if refused is not None and (entry.reason is not Reason.APPLIED) != refused:
                continue
            out.append(ExtRef(entry.sender, entry.nonce, entry.h))
        return out

    @staticmethod
    def above(amount: int) -> int:
        """``amount`` as a valid transfer amount (a replica under test may report any balance)."""
        return min(max(amount, 1), MAX_U64)

    def share(self, total: int) -> int:
        """A drawn amount of at least 1 and at most ``max(total, 1)``."""
        percent = self.draw(st.integers(1, 100))
        return self.above(total * percent // 100)

    def sign(self, who: Identity, body: Body, *, nonce: int | None = None) -> bytes:
        """Sign ``body`` at ``nonce`` (default: the next one) on ``who``'s live branch."""
        n = who.nonce + 1 if nonce is None else nonce
        return self.codec.seal(who.key, n, who.prev_of(n), body)

    def emit(self, who: Identity, body: Body) -> bytes:
        """Sign the next packet of ``who``, publish it to everyone and to the reference."""
        frame = self.sign(who, body)
        who.hashes.append(self.codec.open(frame).full_hash)
        self.publish(frame)
        return frame

    def publish(self, frame: bytes, *, everyone: bool = True) -> None:
        if everyone:
            self.frames.append(frame)
        self.pool.add(frame)
        self.signed.append(frame)
        self.reference.receive(frame, 0.0)

    def fork_at(self, who: Identity, nonce: int, to: bytes, amount: int) -> bytes:
        """Sign another version of ``who``'s ``nonce`` (prev = its live predecessor): a transfer
        of ``amount`` (or the next amount that makes a version not signed yet)."""
        taken = {f for f, _ in self.pool.versions.get((who.pk, nonce), ())}
        while True:
            frame = self.sign(who, Transfer(to, amount, ()), nonce=nonce)
            if frame not in taken:
                break
            amount += 1
        self.publish(frame)
        who.forked = True
        return frame

    def filler(self, who: Identity) -> Body:
        """A small body for ``who``: a 1-unit transfer or an ack of something judged."""
        refs = self.judged_refs(who)
        if refs and self.draw(st.booleans()):
            return Ack((self.draw(st.sampled_from(refs)),))
        return Transfer(self.pick(but=who).pk, 1, ())

    # -- actions ----------------------------------------------------------------------------

    def act_transfer(self) -> None:
        who = self.pick()
        self.emit(who, Transfer(self.pick(but=who).pk, self.share(self.avail(who)), ()))
        self.claims["transfer"] += 1

    def act_overspend(self) -> None:
        """More than the balance: Refused(insufficient)."""
        who = self.pick()
        amount = self.above(self.avail(who) + self.draw(st.integers(1, 10 * CRAP)))
        self.emit(who, Transfer(self.pick(but=who).pk, amount, ()))
        self.claims["insufficient"] += 1

    def act_self_transfer(self) -> None:
        """A transfer to the sender itself: Refused(self_transfer)."""
        who = self.pick()
        self.emit(who, Transfer(who.pk, self.share(self.avail(who)), ()))
        self.claims["self_transfer"] += 1

    def act_ack(self) -> None:
        """Acknowledge other identities' judged packets, credits to the acker first."""
        who = self.pick()
        refs = self.pending(who)
        others = self.judged_refs(who)
        if others:
            refs += self.draw(st.lists(st.sampled_from(others), max_size=3))
        if not refs:
            self.act_transfer()
            return
        self.emit(who, Ack(tuple(refs[:MAX_ACKS_PER_ACK])))
        self.claims["ack"] += 1

    def act_ack_refused(self) -> None:
        """Name packets known to be Refused (a refused transfer, or a fork version)."""
        who = self.pick()
        refs = self.judged_refs(who, refused=True)
        for sender in self.reference.forked():
            if sender != who.pk:
                for frame in self.reference.fork_frames(sender):
                    env = self.codec.open(frame)
                    refs.append(ExtRef(sender, env.nonce, env.h))
        if not refs:
            self.act_overspend()
            return
        chosen = self.draw(st.lists(st.sampled_from(refs), min_size=1, max_size=3))
        self.emit(who, Ack(tuple(chosen)))
        self.claims["ack_refused"] += 1

    def act_transfer_with_acks(self) -> None:
        """Spend credits named in the same transfer (they become spendable by that packet)."""
        who = self.pick()
        refs = self.pending(who)[:MAX_ACKS_PER_TRANSFER]
        if not refs:
            self.act_spend_unacked()
            return
        total = self.avail(who) + self.gain(who, refs)
        self.emit(who, Transfer(self.pick(but=who).pk, self.share(total), tuple(refs)))
        self.claims["transfer_with_acks"] += 1

    def act_spend_unacked(self) -> None:
        """A credit received but not acknowledged, then a transfer of the receiver that only a
        balance counting that credit would allow: Refused(insufficient), whatever the arrival
        order — the situation that exposes a balance check reading arrival order."""
        funded = [i for i in self.live() if self.avail(i) > 1]
        if not funded:
            self.act_overspend()
            return
        payer = self.pick(funded)
        receiver = self.pick(but=payer)
        amount = self.share(self.avail(payer))
        self.emit(payer, Transfer(receiver.pk, amount, ()))
        if receiver.forked:
            return
        acc = self.reference.state.accounts.get(receiver.pk)
        waiting = acc.pending() if acc is not None else 0
        if waiting == 0:  # the payer's transfer was refused after all
            return
        over = self.above(self.avail(receiver) + self.draw(st.integers(1, waiting)))
        self.emit(receiver, Transfer(self.pick(but=receiver).pk, over, ()))
        self.claims["mutant_bait"] += 1

    def act_forge(self) -> None:
        """A frame with one corrupted signature byte: Rejected (or dropped as a duplicate when
        its signed message equals a taken packet's); it must change nothing."""
        genuine = [f for f in self.frames if f not in self.forged]
        # never re-forge a forged frame: a second flip of the same bit would restore it
        if genuine and self.draw(st.booleans()):
            frame = bytearray(self.draw(st.sampled_from(genuine)))
        else:
            who = self.pick()
            frame = bytearray(self.sign(who, Transfer(self.pick(but=who).pk, 1, ())))
        at = len(frame) - SIGNATURE_LEN + self.draw(st.integers(0, SIGNATURE_LEN - 1))
        frame[at] ^= 1 << self.draw(st.integers(0, 7))
        self.frames.append(bytes(frame))
        self.forged.add(bytes(frame))
        self.claims["forged"] += 1

    def act_far_ahead(self) -> None:
        """A valid packet at HWM + 100 on a prev that names nothing: dropped beyond the window."""
        who = self.pick()
        prev = self.draw(st.binary(min_size=HASH_LEN, max_size=HASH_LEN).filter(any))
        body = Transfer(self.pick(but=who).pk, 1, ())
        self.frames.append(self.codec.seal(who.key, who.nonce + 100, prev, body))
        self.claims["far_ahead"] += 1

    def act_burst(self) -> None:
        """2-10 packets of one identity in a row (out of order, they are held until the gap
        fills)."""
        who = self.pick()
        for _ in range(self.draw(st.integers(2, 10))):
            self.emit(who, self.filler(who))
        self.claims["burst"] += 1

    def act_bad_ref(self) -> None:
        """An ack naming the sender's own future: Refused(bad_reference)."""
        who = self.pick()
        self.emit(who, Ack((ExtRef(who.pk, who.nonce + 1, bytes(HASH_LEN)),)))
        self.claims["bad_reference"] += 1

    def act_early_fork(self) -> None:
        """Two versions of nonce 1 (the faucet mint is taken back)."""
        who = self.pick()
        if who.nonce == 0:
            self.emit(who, Transfer(self.pick(but=who).pk, self.share(self.avail(who)), ()))
        self.fork_at(who, 1, self.pick(but=who).pk, self.draw(st.integers(1, 3)))
        self.claims["early_fork"] += 1
        self.above_fork(who)

    def act_late_fork(self) -> None:
        """A fork at nonce k after later packets of the forker and a dependent transfer of
        another identity exist.  The dependent names a packet at or above the fork and spends a
        credit of the forker either at the fork nonce (voided: the dependent is re-judged) or
        below it, in a packet that itself depends on a third identity (still valid: replicas
        must wait for it to be judged before judging the dependent)."""
        who = self.pick()
        payee = self.pick(but=who)
        if who.nonce == 0 or self.draw(st.booleans()):
            self.emit(who, self.filler(who))
        amount = self.share(self.avail(who))
        if self.draw(st.booleans()):
            refs = self.judged_refs(who)[-1:]
            self.emit(who, Transfer(payee.pk, amount, tuple(refs)))
            self.emit(who, self.filler(who))
            self.claims["credit_below_fork"] += 1
        else:
            self.emit(who, Transfer(payee.pk, amount, ()))
        k = who.nonce
        for _ in range(self.draw(st.integers(0, 2))):
            self.emit(who, self.filler(who))
        named = self.draw(st.integers(k, who.nonce))
        if not payee.forked and self.reference.judged(who.pk, named) is not None:
            refs = [self.reference.ref(who.pk, named)]
            over = self.above(self.avail(payee) + self.share(self.gain(payee, refs)))
            self.emit(payee, Transfer(self.pick(but=payee).pk, over, tuple(refs)))
        self.fork_at(who, k, payee.pk, amount + 1)
        self.claims["late_fork"] += 1
        self.above_fork(who)

    def act_three_versions(self) -> None:
        """Three versions of one nonce: every replica keeps the two smallest full hashes."""
        who = self.pick()
        if who.nonce == 0:
            self.emit(who, self.filler(who))
        k = self.draw(st.integers(1, who.nonce))
        to = self.pick(but=who).pk
        for amount in (2, 3):
            self.fork_at(who, k, to, amount)
        self.claims["three_versions"] += 1

    def act_fork_over_waiting(self) -> None:
        """Three versions of a nonce whose predecessor names another identity's packet: a
        replica that gets that packet late holds a fork proof above packets still waiting
        (the case the unjudged cap must evict without losing the proof's meaning)."""
        who = self.pick()
        refs = self.judged_refs(who)
        if not refs:
            self.emit(self.pick(but=who), self.filler(self.pick(but=who)))
            refs = self.judged_refs(who)
        self.emit(who, Ack((refs[-1],)) if refs else self.filler(who))
        k = who.nonce + 1
        to = self.pick(but=who).pk
        for amount in (1, 2, 3):
            self.fork_at(who, k, to, amount)
        self.claims["fork_over_waiting"] += 1

    def act_hidden_fork(self) -> None:
        """Two versions of (S, n) across a partition, v1 with a suffix on one half only.

        A real hidden fork would give both versions the same 8-byte h and one common suffix
        (ATTACKS.md 13), found on the wire only by comparing cumulative hashes.  No 8-byte SHA-256
        prefix collision can be computed, so this emulates the partition instead: v1 and its
        suffix go to the even replicas only, v2 (with a suffix of equal length, or none) to the
        odd ones, and anti-entropy has to find the fork — by HWM, by bisecting equal-HWM
        cumulative hashes, or by the fork witness.  node/core/replica.py compares full hashes where
        equal h would matter (dedup, fork proofs, cumulative hashes), never the 8-byte h.
        """
        who = self.pick()
        n = who.nonce + 1
        to = self.pick(but=who).pk
        v1 = self.sign(who, Transfer(to, 5, ()), nonce=n)
        v2 = self.sign(who, Transfer(to, 6, ()), nonce=n)
        long = self.draw(st.integers(0, 3))
        short = self.draw(st.sampled_from([0, long]))
        sides: tuple[list[bytes], list[bytes]] = ([v1], [v2])
        for side, version, length in ((0, v1, long), (1, v2, short)):
            prev = self.codec.open(version).h
            for m in range(n + 1, n + 1 + length):
                frame = self.codec.seal(who.key, m, prev, Transfer(to, 1, ()))
                sides[side].append(frame)
                prev = self.codec.open(frame).h
        for frame in (*sides[0], *sides[1]):
            self.publish(frame, everyone=False)
        self.sides.append(sides)
        who.forked = True
        self.claims["hidden_fork"] += 1

    def above_fork(self, who: Identity) -> None:
        """Maybe keep signing on the first branch: dropped above the fork everywhere."""
        if self.draw(st.booleans()):
            frame = self.codec.seal(who.key, who.nonce + 1, who.head, Transfer(KEYS_PK[0], 1, ()))
            self.publish(frame)
            self.claims["above_fork"] += 1


@st.composite
def genesis_variants(draw: Draw, identities: int) -> Genesis:
    """LOCAL play money, or a network off play money where only some identities hold grants
    (so Refused(unfunded) happens) and a min_account applies."""
    if draw(st.booleans()):
        return LOCAL
    funded = draw(
        st.lists(
            st.sampled_from(KEYS_PK[:identities]), min_size=1, max_size=identities - 1, unique=True
        )
    )
    min_account = draw(st.sampled_from([1, 10 * CRAP]))
    grants = tuple(sorted((key, draw(st.integers(10, 1000)) * CRAP) for key in funded))
    return Genesis(
        name="convergence",
        play_money=False,
        faucet_amount=0,
        min_account=min_account,
        treasury_reserve=draw(st.sampled_from([0, 1_000 * CRAP])),
        house_key=None,
        grants=grants,
        bounds=LOCAL.bounds,
    )


@st.composite
def histories(
    draw: Draw,
    actions: Sequence[str] = ACTIONS,
    min_actions: int = 4,
    max_actions: int = 16,
    first: Sequence[str] = (),
) -> History:
    """A signed multi-identity history (see :class:`HistoryBuilder`)."""
    identities = draw(st.integers(3, 6))
    genesis = draw(genesis_variants(identities))
    builder = HistoryBuilder(draw, genesis, identities)
    return builder.build(actions, draw(st.integers(min_actions, max_actions)), first)


# --------------------------------------------------------------------------- the mesh


def verdicts(replica: Replica) -> dict[VerdictKey, Reason]:
    """Every judged packet's verdict, fork-proof versions included (Refused(equivocated))."""
    return replica.verdicts()


SNAPSHOT_ROWS_IN_TESTS = 5
"""Accepted rows between persisted snapshots for store-backed replicas in the harness."""


def judge_counting_pending(
    state: LedgerState,
    packet: Packet | None,
    sender: bytes,
    nonce: int,
    h: bytes,
    engine: TableEngine,
) -> Judgment:
    """A deliberately wrong judge for the mutation check: it lets a packet spend credits that
    are not acknowledged yet, so its verdict reads whatever happened to arrive first."""
    acc = state.accounts.get(sender)
    if acc is None or not acc.pending():
        return judge(state, packet, sender, nonce, h, engine)
    shadow = state.copy()
    account = shadow.accounts[sender]
    for line in account.lines.values():
        account.acked += sum(amount for _, amount in line.raise_to(MAX_NONCE))
    return judge(shadow, packet, sender, nonce, h, engine)


def open_durable(
    genesis: Genesis,
    path: Path,
    *,
    audit: bool = False,
    judge_step: Judge = judge,
    engine: TableEngine | None = None,
) -> DurableReplica:
    """A :class:`DurableReplica` on the store at ``path`` (rebuilt from its log if it exists).
    The store skips fsync: a restart here closes it cleanly; crash safety is tested elsewhere.
    """
    # persist a state snapshot every few accepted rows, so restarts exercise both rebuild
    # paths: restore a snapshot and replay the tail, and (before the first one) replay it all
    return DurableReplica(
        genesis,
        Store(path, genesis.network_id, synchronous="OFF"),
        audit=audit,
        snapshot_rows=SNAPSHOT_ROWS_IN_TESTS,
        snapshot_factor=0,  # small states: snapshot by row count alone, so restores happen
        judge=judge_step,
        engine=engine,
    )


def restart(durable: DurableReplica) -> DurableReplica:
    """Close ``durable``'s store and open a new DurableReplica on the same path: the replica is
    rebuilt by replaying the store's log, as a node restarting from its data directory is.

    Only judged packets and accepted fork proofs are in the log; held and logged-but-unjudged
    packets, and fork proofs whose forker is not judged up to the fork, live in memory only and
    are lost.  None of those affects the digest, so the rebuilt digest must equal the old one.
    """
    old = durable.replica
    before = old.digest()
    if durable.store.dirty:
        raise AssertionError("the store has staged writes nobody committed")
    durable.store.close()
    fresh = open_durable(old.genesis, durable.store.path, audit=old.audit, engine=old.engine)
    if fresh.replica.digest() != before:
        raise AssertionError(
            f"a replica rebuilt from its store has another digest: "
            f"{fresh.replica.digest().hex()[:16]} != {before.hex()[:16]}"
        )
    return fresh


def lost_on_restart(old: Replica, fresh: Replica) -> Counter[str]:
    """What ``old`` held in memory only and ``fresh`` (rebuilt from the store) does not have:
    held packets (fork witnesses included), logged-but-unjudged packets, and fork versions not
    persisted (a proof whose forker was not judged up to the fork)."""
    before, after = old.footprint(), fresh.footprint()
    lost: Counter[str] = Counter()
    lost["lost_held"] = before["held"]
    lost["lost_unjudged"] = before["unjudged"]
    lost["lost_proofs"] = before["fork_versions"] - after["fork_versions"]
    lost["lost"] = sum(lost.values())
    return +lost


def _c16(replica: Replica, sender: bytes) -> Callable[[int], bytes | None]:
    """The 16-byte cumulative hashes anti-entropy carries, for bisection."""

    def at(nonce: int) -> bytes | None:
        c = replica.chain_hash(sender, nonce)
        return None if c is None else c[:16]

    return at


class Mesh:
    """Gossip between replicas: pulls answered from the pool, anti-entropy by pair.

    A replica that :meth:`deliver` will restart is backed by a real store: the mesh keeps its
    :class:`DurableReplica` (in a temporary directory that lives for one :meth:`deliver`), feeds
    it through ``receive`` (the frames of one delivery step in one batch, so commits are
    grouped) and reads it through its ``.replica``.  Replicas never restarted stay in memory.
    """

    MAX_ROUNDS: ClassVar[int] = 64

    def __init__(
        self, pool: Pool, forged: Iterable[bytes] = (), stats: Counter[str] | None = None
    ) -> None:
        self.pool = pool
        self.forged = frozenset(forged)
        self.stats: Counter[str] = Counter() if stats is None else stats
        self.durable: dict[int, DurableReplica] = {}
        """Store-backed slots, by ``id`` of their current ``.replica``."""
        self.wants: dict[int, list[Want]] = {}
        """Pulls a store-backed replica asked for (its driver took them from its events)."""

    # -- stores -----------------------------------------------------------------------------

    def back(self, replica: Replica, path: Path) -> Replica:
        """Replace a replica that has ingested nothing by one backed by a new store at ``path``
        (same genesis and audit); return its ``.replica``."""
        if replica.verdicts() or any(replica.footprint().values()):
            raise ValueError("only a replica that has ingested nothing can be given a store")
        durable = open_durable(replica.genesis, path, audit=replica.audit, engine=replica.engine)
        self.durable[id(durable.replica)] = durable
        return durable.replica

    def close(self) -> None:
        """Close every store (their replicas stay readable in memory)."""
        for durable in self.durable.values():
            durable.store.close()
        self.durable.clear()

    # -- one frame --------------------------------------------------------------------------

    def feed(self, replica: Replica, frame: bytes | None) -> bool:
        """Ingest ``frame``; True if it changed anything (held, logged or judged)."""
        return self.feed_batch(replica, [frame])

    def feed_batch(self, replica: Replica, frames: Iterable[bytes | None]) -> bool:
        """Ingest ``frames`` (``None`` skipped) in one batch — one ``receive`` and one commit
        for a store-backed replica; True if any changed anything (held, logged or judged)."""
        batch = [f for f in frames if f is not None]
        if not batch:
            return False
        if any(f in self.forged for f in batch):  # one at a time, each checked
            changed = False
            for frame in batch:
                changed |= self._feed_one(replica, frame)
            return changed
        durable = self.durable.get(id(replica))
        if durable is None:
            results = [replica.receive(f, 0.0) for f in batch]
        else:
            received = durable.receive(batch)
            results = received.results
            self.wants.setdefault(id(replica), []).extend(received.wants)
        return any(r.outcome in (Outcome.HELD, Outcome.LOGGED, Outcome.JUDGED) for r in results)

    def _feed_one(self, replica: Replica, frame: bytes) -> bool:
        """Feed one frame; a forged one must be rejected or dropped and change nothing."""
        if frame not in self.forged:
            return self.feed_batch(replica, [frame])
        before = replica.digest()
        durable = self.durable.get(id(replica))
        if durable is None:
            result = replica.receive(frame, 0.0)
        else:
            result = durable.receive([frame]).results[0]
        if result.outcome not in (Outcome.REJECTED, Outcome.DROPPED) or result.judged:
            raise AssertionError(f"a forged frame was taken: {result}")
        if replica.digest() != before:
            raise AssertionError("a forged frame changed the state digest")
        self.stats["forged_" + result.outcome.value] += 1
        return False

    def restart(self, replica: Replica) -> Replica:
        """Restart a store-backed replica (:func:`restart`: close the store, rebuild from its
        log, same digest); return the rebuilt ``.replica``.  Counts what the restart lost
        (:func:`lost_on_restart`: ``lost`` and its parts ``lost_held``, ``lost_unjudged``,
        ``lost_proofs``)."""
        durable = self.durable.pop(id(replica), None)
        if durable is None:
            raise ValueError("only a store-backed replica (see Mesh.back) can be restarted")
        self.stats.update(replica.counters())
        self.stats["restarts"] += 1
        fresh = restart(durable)
        if fresh.restored_from:
            self.stats["restored_from_snapshot"] += 1
        self.durable[id(fresh.replica)] = fresh
        self.stats.update(lost_on_restart(replica, fresh.replica))
        return fresh.replica

    # -- gossip -----------------------------------------------------------------------------

    def pulls(self, replica: Replica) -> bool:
        """Answer every pending pull of ``replica`` from the pool, in one batch."""
        answers: list[bytes | None] = []
        wants = (
            self.wants.pop(id(replica), []) if id(replica) in self.durable else take_wants(replica)
        )
        for want in wants:
            self.stats["wants"] += 1
            answers += self.pool.answer(want)
        return self.feed_batch(replica, answers)

    def exchange(self, a: Replica, b: Replica) -> bool:
        """One anti-entropy round between ``a`` and ``b`` (both directions)."""
        sa = {e[0]: e for e in a.summary()}
        sb = {e[0]: e for e in b.summary()}
        changed = False
        for sender in sorted(sa.keys() | sb.keys()):
            ea, eb = sa.get(sender), sb.get(sender)
            if ea == eb:
                continue
            changed |= self._push(a, b, sender, ea, eb)
            changed |= self._push(b, a, sender, eb, ea)
        return changed

    def _push(
        self,
        src: Replica,
        dst: Replica,
        sender: bytes,
        mine: Entry16 | None,
        theirs: Entry16 | None,
    ) -> bool:
        """Send ``dst`` what ``src``'s entry for ``sender`` shows it lacks (node.core.antientropy
        decides; bisection probes the other replica's cumulative hashes directly)."""
        if mine is None:
            return False
        decided = offer(src, sender, theirs)
        if mine[3]:
            self.stats["ae_fork_frames"] += 1
        changed = False
        if decided.bisect:  # equal HWMs, different cumulative hashes: exchange both versions
            d = first_difference(mine[1], _c16(src, sender), _c16(dst, sender))
            self.stats["ae_bisect"] += 1
            changed |= self.feed(dst, src.frame_of(sender, d))
            changed |= self.feed(src, dst.frame_of(sender, d))
        changed |= self.feed_batch(dst, decided.frames)
        return changed

    def step(self, replicas: Sequence[Replica], rng: Random) -> bool:
        """One random gossip event: a replica's pulls answered, or a pair's anti-entropy."""
        if len(replicas) < 2 or rng.random() < 0.5:
            return self.pulls(rng.choice(replicas))
        a, b = rng.sample(list(replicas), 2)
        return self.exchange(a, b)

    def settle(self, replicas: Sequence[Replica]) -> int:
        """Answer pulls and run anti-entropy until no replica changes; return the rounds."""
        for rounds in range(1, self.MAX_ROUNDS + 1):
            changed = False
            for replica in replicas:
                changed |= self.pulls(replica)
            for a, b in itertools.combinations(replicas, 2):
                changed |= self.exchange(a, b)
            if not changed:
                self.stats["settle_rounds"] += rounds
                return rounds
        raise AssertionError(f"the mesh did not quiesce in {self.MAX_ROUNDS} rounds")

    # -- a whole run ------------------------------------------------------------------------

    def deliver(
        self,
        replicas: list[Replica],
        frames: Sequence[bytes],
        rng: Random,
        *,
        sides: Sequence[tuple[Sequence[bytes], Sequence[bytes]]] = (),
        restarts: int = 0,
        gossip: float = 0.05,
    ) -> None:
        """Feed each replica a random permutation of ``frames`` (each 1-3 times), its half of
        each hidden fork first; interleave replicas, random gossip steps (probability
        ``gossip`` after each frame) and up to ``restarts`` restarts per replica; then settle.
        A replica drawn to restart must not have ingested anything yet: it is replaced by one
        backed by a store in a temporary directory, removed when this returns.  ``replicas`` is
        updated in place (a restart replaces its replica)."""
        with tempfile.TemporaryDirectory(prefix="bcm-mesh-", dir=STORE_ROOT) as tmp:
            try:
                self._deliver(replicas, frames, rng, sides, restarts, gossip, Path(tmp))
            finally:
                self.close()

    def _deliver(
        self,
        replicas: list[Replica],
        frames: Sequence[bytes],
        rng: Random,
        sides: Sequence[tuple[Sequence[bytes], Sequence[bytes]]],
        restarts: int,
        gossip: float,
        tmp: Path,
    ) -> None:
        queues: list[deque[bytes]] = []
        restart_at: list[set[int]] = []
        for i in range(len(replicas)):
            first = [f for pair in sides for f in pair[i % 2]]
            multiset = [f for f in frames for _ in range(rng.randint(1, 3))]
            rng.shuffle(multiset)
            queue = deque(first + multiset)
            queues.append(queue)
            restart_at.append(
                set(rng.sample(range(len(queue)), min(len(queue), rng.randint(0, restarts))))
            )
        for i, at in enumerate(restart_at):
            if at:
                replicas[i] = self.back(replicas[i], tmp / f"replica{i}.db")
        fed = [0] * len(replicas)
        live = [i for i, q in enumerate(queues) if q]
        while live:
            i = rng.choice(live)
            if fed[i] in restart_at[i]:
                replicas[i] = self.restart(replicas[i])
            self.feed(replicas[i], queues[i].popleft())
            fed[i] += 1
            if not queues[i]:
                live.remove(i)
            if rng.random() < gossip:
                self.step(replicas, rng)
        self.settle(replicas)
        for replica in replicas:
            self.stats.update(replica.counters())


def deliver(
    replicas: list[Replica],
    frames: Sequence[bytes],
    rng: Random,
    *,
    pool: Pool | None = None,
    sides: Sequence[tuple[Sequence[bytes], Sequence[bytes]]] = (),
    forged: Iterable[bytes] = (),
    restarts: int = 0,
    stats: Counter[str] | None = None,
) -> Counter[str]:
    """Deliver ``frames`` to ``replicas`` as :meth:`Mesh.deliver` does and settle; return the
    counters seen (replica counters, restarts, anti-entropy events)."""
    if pool is None:
        if not replicas:
            return Counter()
        pool = Pool(FrameCodec(replicas[0].genesis.network_id))
        forged_set = frozenset(forged)
        for frame in (*frames, *(f for a, b in sides for f in (*a, *b))):
            if frame not in forged_set:
                pool.add(frame)
    mesh = Mesh(pool, forged, stats)
    mesh.deliver(replicas, frames, rng, sides=sides, restarts=restarts)
    return mesh.stats
