"""The ledger state and the judge step: balances, credits, watermarks, supply, the digest.

``judge`` is the one function that takes a packet whose predecessor and dependencies are judged
and returns its verdict and effects; ``apply`` makes the effects real.  Neither reads a clock,
arrival order, or anything but the state it is given, so every replica that judges the same
packets reaches the same state (DESIGN.md section 4).  Money effects are kept apart from table
effects; the table engine plugs in through :class:`TableEngine`.
"""

from __future__ import annotations

import bisect
import hashlib
from typing import Final, Protocol, TypeAlias

import msgpack

from node.core.verdicts import Reason, SupplyError
from protocol.acyclic import untracked as _untracked_imported
from protocol.constants import FULL_HASH_LEN, TREASURY_KEY
from protocol.frame import Packet
from protocol.genesis import Genesis
from protocol.hashing import sha256
from protocol.kinds import Ack, ExtRef, Transfer
from protocol.kinds import Record as Value  # plain classes with Final fields, equal by value
from protocol.wire import pack

__all__ = [
    "FROZEN",
    "Account",
    "Credit",
    "CreditLine",
    "Dep",
    "Effects",
    "Judge",
    "Judgment",
    "LedgerState",
    "NoTables",
    "NoTablesState",
    "SenderState",
    "SupplyError",
    "TableEffects",
    "TableEngine",
    "TablesState",
    "Undo",
    "apply",
    "gain",
    "judge",
    "move_money",
    "unmove_money",
]

_untracked: Final = _untracked_imported
"""A module constant: compiled, called without a lookup in the module's globals."""

ZERO_HASH: Final = bytes(FULL_HASH_LEN)
_SNAPSHOT_TAG: Final = b"BCM/state-snapshot/v4"


class CreditLine:
    """Credits to one account from one creditor, and that account's watermark for it.

    ``pending`` holds ``(creditor nonce, amount)`` above the watermark, in creditor-nonce order;
    ``acked_sum`` is what has become spendable.  Acknowledged entries are folded into the sum,
    so a line (and a snapshot of it) stays as small as what is still pending; the packet whose
    acknowledgement moved them keeps them (``raise_to`` returns them), so a late fork proof can
    put them back (``lower``).

    The state classes here are plain slotted classes, not dataclasses: compiled by mypyc
    (docs/BUILD.md) a dataclass still runs the interpreted generated ``__init__``.
    """

    __slots__ = ("_pending", "acked_sum", "watermark")

    def __init__(
        self, watermark: int = 0, pending: list[tuple[int, int]] | None = None, acked_sum: int = 0
    ) -> None:
        self.watermark = watermark
        # None while nothing is pending (most lines, once acknowledged): no empty list per line
        self._pending: list[tuple[int, int]] | None = pending if pending else None
        self.acked_sum = acked_sum

    @property
    def pending(self) -> list[tuple[int, int]]:
        """The pending credits (read-only: a new empty list when there are none)."""
        pending = self._pending
        return pending if pending is not None else []

    def __eq__(self, other: object) -> bool:
        return isinstance(other, CreditLine) and (
            self.watermark == other.watermark
            and self.pending == other.pending
            and self.acked_sum == other.acked_sum
        )

    __hash__ = None  # type: ignore[assignment]  # mutable

    def __repr__(self) -> str:
        return f"CreditLine({self.watermark}, {self.pending!r}, {self.acked_sum})"

    @property
    def empty(self) -> bool:
        """True for a line no packet touches (what a replica that never saw one would hold)."""
        return not (self.watermark or self._pending or self.acked_sum)

    def copy(self) -> CreditLine:
        pending = self._pending
        return CreditLine(
            self.watermark, list(pending) if pending is not None else None, self.acked_sum
        )

    def gain_to(self, mark: int) -> int:
        """The credits that raising the watermark to ``mark`` would make spendable."""
        pending = self._pending
        if pending is None:
            return 0
        total = 0
        for nonce, amount in pending:
            if nonce > mark:
                break
            total += amount
        return total

    def raise_to(self, mark: int) -> tuple[tuple[int, int], ...]:
        """Raise the watermark to ``mark`` (above it); return the credits that became
        spendable (their amounts are now in ``acked_sum``).  A tuple of plain values: the
        packet's undo keeps it for as long as the log lives, and the collector stops
        scanning a tuple of plain values (never a list)."""
        self.watermark = mark
        pending = self._pending
        if pending is None:
            return ()
        i = 0
        total = 0
        while i < len(pending) and pending[i][0] <= mark:
            total += pending[i][1]
            i += 1
        if not i:
            return ()
        moved = tuple(pending[:i])
        if i == len(pending):
            self._pending = None
        else:
            del pending[:i]
        self.acked_sum += total
        return moved

    def lower(self, before: int, moved: tuple[tuple[int, int], ...]) -> int:
        """Undo :meth:`raise_to` (the latest rise): the watermark goes back to ``before`` and
        the ``moved`` credits are pending again; return their sum."""
        self.watermark = before
        if not moved:
            return 0
        total = sum(amount for _, amount in moved)
        self._pending = [*moved, *self.pending]
        self.acked_sum -= total
        return total

    def credit(self, nonce: int, amount: int) -> int:
        """Record a credit; return the amount if it is already under the watermark, else 0."""
        if nonce <= self.watermark:
            self.acked_sum += amount
            return amount
        pending = self._pending
        if pending is None:
            self._pending = [(nonce, amount)]
        elif pending[-1][0] <= nonce:
            pending.append((nonce, amount))
        else:  # a credit judged again after a late fork: back in its place
            bisect.insort(pending, (nonce, amount))
        return 0

    def uncredit(self, nonce: int, amount: int) -> int:
        """Take back a credit; return the amount if it was under the watermark, else 0."""
        if nonce <= self.watermark:
            self.acked_sum -= amount
            return amount
        pending = self._pending
        if pending is not None:
            for i in range(len(pending) - 1, -1, -1):
                if pending[i] == (nonce, amount):
                    del pending[i]
                    if not pending:
                        self._pending = None
                    return 0
        raise SupplyError(f"no pending credit ({nonce}, {amount}) to take back")

    def pending_sum(self) -> int:
        pending = self._pending
        return sum(amount for _, amount in pending) if pending is not None else 0


Undo = tuple[tuple[bytes, bytes, int, tuple[tuple[int, int], ...]], ...]
"""What :func:`move_money` cannot recompute when undoing a packet: for each credit line whose
watermark it raised, ``(account, creditor, watermark before, credits that became spendable)``."""


class Account:
    """One key's money. ``spendable`` = base + acknowledged + own credits − debits.

    ``base``: genesis grant plus faucet mint.  ``acked``: credits from others at or below this
    account's watermarks.  ``own``: credits from this account's own packets (table returns),
    spendable from its next packet.  ``debits``: debits of this account's Applied packets
    (stakes, bonds and bankrolls escrowed at tables included: the tables count what they hold,
    ``Tables.money``).  ``lines``: credit lines by creditor.
    """

    __slots__ = ("acked", "base", "debits", "lines", "own")

    def __init__(
        self,
        base: int = 0,
        acked: int = 0,
        own: int = 0,
        debits: int = 0,
        lines: dict[bytes, CreditLine] | None = None,
    ) -> None:
        self.base = base
        self.acked = acked
        self.own = own
        self.debits = debits
        self.lines: dict[bytes, CreditLine] = lines if lines is not None else {}

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Account) and (
            (self.base, self.acked, self.own, self.debits, self.lines)
            == (other.base, other.acked, other.own, other.debits, other.lines)
        )

    __hash__ = None  # type: ignore[assignment]  # mutable

    def __repr__(self) -> str:
        return (
            f"Account(base={self.base}, acked={self.acked}, own={self.own}, "
            f"debits={self.debits}, lines={self.lines!r})"
        )

    @property
    def spendable(self) -> int:
        return self.base + self.acked + self.own - self.debits

    def pending(self) -> int:
        """Credits received but not yet acknowledged (not spendable)."""
        return sum(line.pending_sum() for line in self.lines.values())

    @property
    def empty(self) -> bool:
        """True for an account no packet has touched (a fresh replica would not hold it)."""
        return not (self.base or self.acked or self.own or self.debits or self.lines)

    def copy(self) -> Account:
        return Account(
            self.base,
            self.acked,
            self.own,
            self.debits,
            {creditor: line.copy() for creditor, line in self.lines.items()},
        )


class SenderState:
    """A sender's judged chain: HWM, head, cumulative hash, and its fork point if proven."""

    __slots__ = ("cumulative", "fork", "fork_hashes", "head", "hwm", "minted")

    def __init__(
        self,
        hwm: int = 0,
        head: bytes = ZERO_HASH,
        cumulative: bytes = ZERO_HASH,
        fork: int = 0,
        fork_hashes: tuple[bytes, ...] = (),
        minted: bool = False,
    ) -> None:
        self.hwm = hwm
        self.head = head
        self.cumulative = cumulative
        self.fork = fork
        self.fork_hashes = fork_hashes
        self.minted = minted

    def _fields(self) -> tuple[int, bytes, bytes, int, tuple[bytes, ...], bool]:
        return (self.hwm, self.head, self.cumulative, self.fork, self.fork_hashes, self.minted)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SenderState) and self._fields() == other._fields()

    __hash__ = None  # type: ignore[assignment]  # mutable

    def __repr__(self) -> str:
        return (
            "SenderState(hwm={}, head={!r}, cumulative={!r}, fork={}, fork_hashes={!r}, "
            "minted={})".format(*self._fields())
        )

    def copy(self) -> SenderState:
        return SenderState(
            self.hwm, self.head, self.cumulative, self.fork, self.fork_hashes, self.minted
        )


Credit: TypeAlias = tuple[bytes, bytes, int, int]
"""``(account, creditor, nonce, amount)``: ``amount`` to ``account`` from the judged packet
``(creditor, nonce)``.  A plain tuple: the log keeps every packet's credits, and the collector
stops tracking a tuple of bytes and ints (it never stops tracking a class instance)."""


class Effects(Value):
    """What judging one packet does. Money effects only; table effects come with the engine.

    Immutable values, kept by the log for as long as a late fork may undo them: compiled
    classes with ``Final`` fields, built in one native call (a named tuple is a tuple subclass,
    built through an interpreted ``__new__`` and never untracked by the collector)."""

    def __init__(
        self,
        mint: int = 0,
        debit: int = 0,
        credits: tuple[Credit, ...] = (),
        acks: tuple[tuple[bytes, int], ...] = (),
        treasury: int = 0,
    ) -> None:
        self.mint: Final = mint
        self.debit: Final = debit
        self.credits: Final = credits
        self.acks: Final = acks
        self.treasury: Final = treasury
        """Debited from the treasury (a bank-1 create's bankroll)."""
        _untracked(self)  # plain values only: never in a cycle (protocol.acyclic)


NO_EFFECTS: Final = Effects()
FROZEN: Final = Effects()
"""The effects of a packet restored from a persisted snapshot: not recorded (compared by
identity); a re-judge judges such a packet again instead of re-applying its effects."""


class TableEffects(Protocol):
    """What judging a table packet does to table state: engine-defined, applied and undone by
    the engine (:meth:`TableEngine.apply`, :meth:`TableEngine.unapply`)."""


class Judgment:
    """A verdict, its money effects, and (for a table packet) its table effects.  Equal by
    value (a re-judge compares the fresh judgment with the kept one).  Not a ``Record``: its
    default is not a literal, so a compiled build gives its ``__init__`` no signature to read
    the fields from."""

    def __init__(
        self, reason: Reason, effects: Effects = NO_EFFECTS, table: TableEffects | None = None
    ) -> None:
        self.reason: Final = reason
        self.effects: Final = effects
        self.table: Final = table
        # its effects and change hold plain and state values, never a judgment (protocol.acyclic)
        _untracked(self)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Judgment) and (
            self.reason is other.reason
            and self.effects == other.effects
            and self.table == other.table
        )

    def __hash__(self) -> int:
        return hash((self.reason, self.effects, self.table))

    def __repr__(self) -> str:
        return f"Judgment({self.reason!r}, {self.effects!r}, {self.table!r})"


Dep = tuple[bytes, int, bytes | None]
"""A dependency: ``(sender, nonce, h)`` a packet names (h None when it names no version)."""


class TablesState(Protocol):
    """The table engine's part of the replicated state: copied with the ledger state, encoded
    canonically into the digest and into persisted snapshots, and summed by the supply audit
    (``money``: what the tables hold that no account holds)."""

    def copy(self) -> TablesState: ...

    def encode(self) -> list[object]: ...

    def money(self) -> int: ...


class TableEngine(Protocol):
    """The table and dice rules, plugged into the judge step.

    ``dependencies`` resolves what a table packet names through game state (a game id, a host
    nonce, a seat) into ``(sender, nonce, h)`` dependencies; it is asked once the packet's
    predecessor is judged, since seat refs resolve against the state then.  ``judge`` gives a
    table packet's verdict, money effects and table effects, given its ``h`` and its sender's
    spendable balance before the acknowledgements it makes (:func:`gain` adds them; None: the
    ledger refused it already, an unfunded first packet, and the engine only records it).
    An engine may make a judgment's table effects in the state as it judges (reading its own
    writes as it goes): after ``judge``, and before the state is read or the engine called for
    anything else, the caller either keeps the judgment's table effects (``apply``) or drops
    them (``discard``: a verdict only asked for, or replaced).  ``unapply`` takes applied
    effects back (a late fork).
    ``empty`` and ``decode`` make the engine's state (:class:`TablesState`) at genesis and from
    a snapshot."""

    def dependencies(
        self, state: LedgerState, sender: bytes, packet: Packet
    ) -> tuple[Dep, ...]: ...

    def judge(
        self, state: LedgerState, packet: Packet, h: bytes, spendable: int | None
    ) -> Judgment: ...

    def apply(self, state: LedgerState, effects: TableEffects) -> None: ...

    def discard(self, state: LedgerState, effects: TableEffects) -> None: ...

    def unapply(self, state: LedgerState, effects: TableEffects) -> None: ...

    def empty(self) -> TablesState: ...

    def decode(self, encoded: list[object]) -> TablesState: ...


class NoTablesState:
    """The state of :class:`NoTables`: nothing."""

    def copy(self) -> NoTablesState:
        return self

    def encode(self) -> list[object]:
        return []

    def money(self) -> int:
        return 0


NO_TABLES_STATE: Final = NoTablesState()


class NoTables:
    """A ledger without tables: every table and dice packet is Refused(tables_unavailable)."""

    def dependencies(self, state: LedgerState, sender: bytes, packet: Packet) -> tuple[Dep, ...]:
        return ()

    def judge(
        self, state: LedgerState, packet: Packet, h: bytes, spendable: int | None
    ) -> Judgment:
        return Judgment(Reason.TABLES_UNAVAILABLE)

    def apply(self, state: LedgerState, effects: TableEffects) -> None:
        raise ValueError("no table engine: nothing has table effects")

    def discard(self, state: LedgerState, effects: TableEffects) -> None:
        raise ValueError("no table engine: nothing has table effects")

    def unapply(self, state: LedgerState, effects: TableEffects) -> None:
        raise ValueError("no table engine: nothing has table effects")

    def empty(self) -> TablesState:
        return NO_TABLES_STATE

    def decode(self, encoded: list[object]) -> TablesState:
        if encoded:
            raise ValueError("table state in a snapshot, and no table engine to read it")
        return NO_TABLES_STATE


class Judge(Protocol):
    """The judge step's signature (:func:`judge`); a replica is given one."""

    def __call__(
        self,
        state: LedgerState,
        packet: Packet | None,
        sender: bytes,
        nonce: int,
        h: bytes,
        engine: TableEngine,
    ) -> Judgment: ...


class LedgerState:
    """Everything the digest covers: accounts, senders' judged chains, mints, supply."""

    __slots__ = ("accounts", "genesis", "mints", "senders", "tables")

    def __init__(
        self, genesis: Genesis, tables: TablesState = NO_TABLES_STATE, *, empty: bool = False
    ) -> None:
        """The state at genesis (grants and the treasury reserve), with the table engine's
        state ``tables``; ``empty`` leaves out the grants too, for :meth:`copy` and
        :meth:`from_bytes` to fill in."""
        self.genesis = genesis
        self.accounts: dict[bytes, Account] = {}
        self.senders: dict[bytes, SenderState] = {}
        self.mints = 0
        self.tables = tables
        if empty:
            return
        for key, amount in genesis.grants:
            self.accounts[key] = Account(base=amount)
        if genesis.treasury_reserve:
            self.accounts[TREASURY_KEY] = Account(base=genesis.treasury_reserve)

    def copy(self) -> LedgerState:
        other = LedgerState(self.genesis, self.tables.copy(), empty=True)
        other.accounts = {key: acc.copy() for key, acc in self.accounts.items()}
        other.senders = {key: s.copy() for key, s in self.senders.items()}
        other.mints = self.mints
        return other

    def to_bytes(self) -> bytes:
        """A complete, canonical serialization (amounts as unbounded integers)."""
        accounts = [
            [
                key,
                _big(a.base),
                _big(a.acked),
                _big(a.own),
                _big(a.debits),
                [
                    [
                        c,
                        line.watermark,
                        _big(line.acked_sum),
                        [[n, _big(v)] for n, v in line.pending],
                    ]
                    for c, line in sorted(a.lines.items())
                ],
            ]
            for key, a in sorted(self.accounts.items())
        ]
        senders = [
            [key, s.hwm, s.head, s.cumulative, s.fork, list(s.fork_hashes), s.minted]
            for key, s in sorted(self.senders.items())
        ]
        snapshot = [_SNAPSHOT_TAG, self.genesis.network_id, accounts, senders, self.mints]
        tables = self.tables.encode()
        if tables:  # without tables, the format of a ledger that has none
            snapshot.append(tables)
        return pack(snapshot)

    @classmethod
    def from_bytes(cls, genesis: Genesis, data: bytes, engine: TableEngine) -> LedgerState:
        """Inverse of :meth:`to_bytes` (``engine`` reads its part); raise ValueError for bytes
        it did not write."""
        try:
            tag, network_id, accounts, senders, mints, *rest = msgpack.unpackb(data)
            if tag != _SNAPSHOT_TAG or network_id != genesis.network_id or len(rest) > 1:
                raise ValueError("not a state snapshot of this network")
            state = cls(genesis, engine.decode(rest[0] if rest else []), empty=True)
            state.mints = int(mints)
            for key, base, acked, own, debits, lines in accounts:
                acc = Account(_int(base), _int(acked), _int(own), _int(debits))
                for creditor, mark, acked_sum, pending in lines:
                    acc.lines[creditor] = CreditLine(
                        mark, [(n, _int(v)) for n, v in pending], _int(acked_sum)
                    )
                state.accounts[key] = acc
            state.senders = {
                key: SenderState(hwm, head, cumulative, fork, tuple(hashes), minted)
                for key, hwm, head, cumulative, fork, hashes, minted in senders
            }
        except (ValueError, TypeError, KeyError, msgpack.UnpackException) as exc:
            raise ValueError(f"unreadable state snapshot: {exc}") from None
        return state

    def size(self) -> int:
        """Senders, accounts, credit lines and their pending credits: what a copy or a
        serialization walks."""
        size = len(self.senders)
        for acc in self.accounts.values():
            size += 1 + len(acc.lines)
            for line in acc.lines.values():
                pending = line._pending
                if pending is not None:
                    size += len(pending)
        return size

    def account(self, key: bytes) -> Account:
        acc = self.accounts.get(key)
        if acc is None:
            acc = self.accounts[key] = Account()
        return acc

    def sender(self, key: bytes) -> SenderState:
        s = self.senders.get(key)
        if s is None:
            s = self.senders[key] = SenderState()
        return s

    def spendable(self, key: bytes) -> int:
        acc = self.accounts.get(key)
        return acc.spendable if acc is not None else 0

    # -- supply ---------------------------------------------------------------------------

    @property
    def supply(self) -> int:
        """Grants (the treasury reserve included) plus faucet mints."""
        return self.genesis.total_grants + self.mints * self.genesis.faucet_amount

    def audit(self) -> None:
        """Raise :class:`SupplyError` unless an independent sum over everything equals supply."""
        total = 0
        for key, acc in self.accounts.items():
            acked = sum(line.acked_sum for line in acc.lines.values())
            if acked != acc.acked:
                raise SupplyError(
                    f"{key.hex()[:8]}: acknowledged credits {acc.acked} != recount {acked}"
                )
            total += acc.base + acked + acc.pending() + acc.own - acc.debits
        total += self.tables.money()
        if total != self.supply:
            raise SupplyError(f"accounts sum to {total}, supply is {self.supply}")

    # -- digest ---------------------------------------------------------------------------

    def digest(self) -> bytes:
        """SHA-256 over the canonical encoding of the replicated state (docs/LEDGER.md)."""
        accounts = [
            [
                key,
                _big(acc.spendable),
                _big(acc.pending()),
                [[creditor, line.watermark] for creditor, line in sorted(acc.lines.items())],
            ]
            for key, acc in sorted(self.accounts.items())
        ]
        senders = [
            [key, s.hwm, s.head, s.cumulative, s.fork, list(s.fork_hashes)]
            for key, s in sorted(self.senders.items())
            if s.hwm or s.fork
        ]
        encoded = pack(
            [b"BCM/state/v4", accounts, senders, self.tables.encode(), _big(self.supply)]
        )
        return hashlib.sha256(encoded).digest()


def _int(data: bytes) -> int:
    return int.from_bytes(data, "big", signed=True)


def _big(value: int) -> bytes:
    """An unbounded integer as minimal two's-complement big-endian bytes."""
    return value.to_bytes((value + (value < 0)).bit_length() // 8 + 1, "big", signed=True)


# --------------------------------------------------------------------------- judge


_APPLIED: Final = Reason.APPLIED


def _judgment(reason: Reason, mint: int) -> Judgment:
    """``Judgment(reason, Effects(mint=mint))``: a refusal, which moves no money but the mint."""
    if not mint:
        return _BARE[reason]
    return Judgment(reason, Effects(mint, 0, (), (), 0))


_BARE: Final = {reason: Judgment(reason) for reason in Reason}
"""The judgment of each reason with no effects, shared (judgments are immutable)."""


def judge(
    state: LedgerState,
    packet: Packet | None,
    sender: bytes,
    nonce: int,
    h: bytes,
    engine: TableEngine,
) -> Judgment:
    """The verdict and effects of ``(sender, nonce)`` (whose wire reference is ``h``);
    ``packet`` is None for a malformed body.

    Preconditions (the replica guarantees them): the predecessor and every dependency are
    judged, and the sender has no fork at or below ``nonce``.  It reads nothing but ``state``
    as those packets left it, so every replica reaches the same verdict.
    """
    genesis = state.genesis
    mint = genesis.faucet_amount if nonce == 1 and genesis.play_money else 0
    if packet is None:
        return _judgment(Reason.MALFORMED, mint)
    acc = state.accounts.get(sender)
    spendable = (acc.spendable if acc is not None else 0) + mint
    body = packet.body
    acks: tuple[tuple[bytes, int], ...] = ()
    if type(body) is Transfer or type(body) is Ack:
        acks = _acks(body.acks, sender)
        if acks and acc is not None:
            lines = acc.lines
            for creditor, mark in acks:
                line = lines.get(creditor)
                if line is not None and mark > line.watermark:
                    spendable += line.gain_to(mark)
    if nonce == 1 and not genesis.play_money and spendable < genesis.min_account:
        if type(body) is Transfer or type(body) is Ack:
            return _BARE[Reason.UNFUNDED]
        return engine.judge(state, packet, h, None)  # recorded: a join binds by its body
    if type(body) is Transfer:
        if body.to == sender:
            return _judgment(Reason.SELF_TRANSFER, mint)
        if body.amount > spendable:
            return _judgment(Reason.INSUFFICIENT, mint)
        return Judgment(_APPLIED, _transfer_effects(body, sender, nonce, mint, acks))
    if type(body) is Ack:
        if not mint and not acks:
            return _BARE[_APPLIED]
        return Judgment(_APPLIED, Effects(mint, 0, (), acks, 0))
    verdict = engine.judge(state, packet, h, spendable)
    if verdict.effects.mint != mint:
        verdict = Judgment(verdict.reason, _with_mint(verdict.effects, mint), verdict.table)
    return verdict


def _transfer_effects(
    body: Transfer, sender: bytes, nonce: int, mint: int, acks: tuple[tuple[bytes, int], ...]
) -> Effects:
    """What an Applied transfer moves: one debit, one credit, its acknowledgements."""
    amount = body.amount
    return Effects(mint, amount, ((body.to, sender, nonce, amount),), acks, 0)


def _with_mint(effects: Effects, mint: int) -> Effects:
    e = effects
    return Effects(mint, e.debit, e.credits, e.acks, e.treasury)


def gain(state: LedgerState, key: bytes, acks: tuple[tuple[bytes, int], ...]) -> int:
    """What raising ``key``'s watermarks to ``acks`` would make spendable (for a table
    packet: every ``(X, m)`` it names acknowledges X's credits up to m)."""
    acc = state.accounts.get(key)
    if acc is None or not acks:
        return 0
    total = 0
    for creditor, mark in acks:
        line = acc.lines.get(creditor)
        if line is not None and mark > line.watermark:
            total += line.gain_to(mark)
    return total


def _acks(refs: tuple[ExtRef, ...], sender: bytes) -> tuple[tuple[bytes, int], ...]:
    """The ``(creditor, nonce)`` watermarks ack refs name (own packets excluded)."""
    if not refs:
        return ()
    if len(refs) == 1:
        ref = refs[0]
        creditor = ref.sender  # a body field read is a generic attribute lookup: once each
        return () if creditor == sender else ((creditor, ref.nonce),)
    best: dict[bytes, int] = {}
    for ref in refs:
        creditor = ref.sender
        if creditor != sender:
            mark = ref.nonce
            if mark > best.get(creditor, 0):
                best[creditor] = mark
    return tuple(best.items())


def apply(
    state: LedgerState,
    sender: bytes,
    nonce: int,
    full_hash: bytes,
    judgment: Judgment,
) -> tuple[SenderState, Undo | None]:
    """Make a judgment real: advance the sender's chain and move the money; return the
    sender's chain state and what undoing the money needs (:func:`move_money`)."""
    s = state.senders.get(sender)
    if s is None:
        s = state.senders[sender] = SenderState()
    s.hwm = nonce
    s.head = full_hash
    s.cumulative = sha256(s.cumulative, full_hash)
    return s, move_money(state, sender, nonce, judgment)


def _raise_marks(
    key: bytes, account: Account, acks: tuple[tuple[bytes, int], ...], undo: Undo | None
) -> Undo | None:
    """Raise ``account``'s watermarks to ``acks``; ``undo`` with what each rise moved added."""
    for creditor, mark in acks:
        line = account.lines.get(creditor)
        if line is None:
            line = account.lines[creditor] = CreditLine()
        before = line.watermark
        if mark > before:
            moved = line.raise_to(mark)
            if moved:
                account.acked += sum(amount for _, amount in moved)
            rise = ((key, creditor, before, moved),)
            undo = rise if undo is None else (*undo, *rise)
    return undo


def move_money(state: LedgerState, sender: bytes, nonce: int, judgment: Judgment) -> Undo | None:
    """The money part of :func:`apply`: mint, debit, hold, acknowledge, credit.  Returns
    what :func:`unmove_money` needs beyond the judgment (None when it needs nothing).

    A credit from the account's own packet (a host's bank back, a reclaim) is spendable from
    its next packet (``own``); so is a credit to the treasury from the house key's packet.
    The house key's acknowledgements also raise the treasury's watermarks: the treasury's
    credits become spendable only under the house's watermarks (DESIGN.md §9)."""
    reason, effects = judgment.reason, judgment.effects
    mint, debit, treasury = effects.mint, effects.debit, effects.treasury
    credits, acks = effects.credits, effects.acks
    if reason is not _APPLIED:
        if not mint:
            return None
        debit = treasury = 0
        credits = acks = ()
    elif not (mint or debit or acks or credits or treasury):
        return None
    # an account exists once money or a watermark touches it, never for a packet that
    # moved nothing (so the digest does not depend on which refusal it was)
    accounts = state.accounts
    acc = accounts.get(sender)
    if acc is None:
        acc = accounts[sender] = Account()
    if mint:
        acc.base += mint
        state.mints += 1
        state.senders[sender].minted = True
    if debit:
        acc.debits += debit
    house = state.genesis.house_key
    if treasury:
        state.account(TREASURY_KEY).debits += treasury
    undo: Undo | None = None
    if acks:
        undo = _raise_marks(sender, acc, acks, undo)
        if sender == house:
            undo = _raise_marks(TREASURY_KEY, state.account(TREASURY_KEY), acks, undo)
    for account_key, creditor, credit_nonce, amount in credits:
        target = accounts.get(account_key)
        if target is None:
            target = accounts[account_key] = Account()
        if creditor == account_key or (account_key == TREASURY_KEY and creditor == house):
            target.own += amount
            continue
        line = target.lines.get(creditor)
        if line is None:
            line = target.lines[creditor] = CreditLine()
        target.acked += line.credit(credit_nonce, amount)
    return undo


def unmove_money(
    state: LedgerState, sender: bytes, nonce: int, judgment: Judgment, undo: Undo | None
) -> None:
    """Exactly undo :func:`move_money` (given what it returned) for a packet whose later
    packets and dependents are already undone: the state is then what it would be had the
    packet never been judged.  Lines and accounts nothing touches any more are removed, as a
    replica that never saw the packet would not hold them."""
    reason, effects = judgment.reason, judgment.effects
    mint, debit, treasury = effects.mint, effects.debit, effects.treasury
    credits = effects.credits
    if reason is not _APPLIED:
        if not mint:
            return
        debit = treasury = 0
        credits = ()
    accounts = state.accounts
    house = state.genesis.house_key
    for account_key, creditor, credit_nonce, amount in credits:
        target = accounts[account_key]
        if creditor == account_key or (account_key == TREASURY_KEY and creditor == house):
            target.own -= amount
            if target.empty:
                del accounts[account_key]
            continue
        line = target.lines[creditor]
        target.acked -= line.uncredit(credit_nonce, amount)
        _prune(accounts, account_key, target, creditor, line)
    if undo is not None:
        for key, creditor, before, moved in reversed(undo):
            account = accounts[key]
            line = account.lines[creditor]
            account.acked -= line.lower(before, moved)
            _prune(accounts, key, account, creditor, line)
    if treasury:
        account = accounts[TREASURY_KEY]
        account.debits -= treasury
        if account.empty:
            del accounts[TREASURY_KEY]
    acc = accounts.get(sender)
    if acc is None:
        return
    if debit:
        acc.debits -= debit
    if mint:
        acc.base -= mint
        state.mints -= 1
        state.senders[sender].minted = False
    if acc.empty:
        accounts.pop(sender, None)


def _prune(
    accounts: dict[bytes, Account], key: bytes, acc: Account, creditor: bytes, line: CreditLine
) -> None:
    if line.empty:
        del acc.lines[creditor]
        if acc.empty:
            del accounts[key]
