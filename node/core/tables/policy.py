"""What an honest host and a wallet sign at a table by default (TABLES.md §6, §8, §9).

It owns three things: the **own budget** (which debits are own-funded, §8), the honest host's
choices (:func:`next_host_body` builds its next seat / roll_open / void / game_end), and the
wallet's (reveals, bets, joins, reclaims, :func:`table_view`).  It reads a replica and never
changes it; no clock, socket or randomness: the daemon measures waits and signs what it returns.

Inputs.  The budget reads a key's own chain as :class:`OwnPacket` values (nonce, h, body,
verdict: :func:`own_chain` decodes them from the replica's judged frames), the table state
(``Tables``: each table's K, remaining host bond, early end) and genesis — nothing another key
signs, so no other key's fork can lower it.  The host and wallet functions take the
:class:`~node.core.replica.Replica` itself: its table state, judged packets and ``check``.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, NamedTuple, TypeAlias

from node.core.craps import least_risk, risk
from node.core.craps.dice import WalletChain, preimage_valid
from node.core.replica import Replica
from node.core.verdicts import Reason
from protocol.bets import BetType
from protocol.budget import frame_size
from protocol.constants import MAX_FRAME
from protocol.errors import PacketError
from protocol.frame import FrameCodec, decode_body
from protocol.genesis import Genesis
from protocol.kinds import (
    Bank,
    Bet,
    BetEntry,
    Body,
    Cancel,
    Create,
    Decline,
    GameEnd,
    Included,
    Join,
    JoinCopy,
    Released,
    Reveal,
    RevealCopy,
    RollOpen,
    Seat,
    TableParams,
    Transfer,
    Void,
)

from .engine import tables_of
from .journal import Staged
from .params import INCLUDE_LEFT
from .state import (
    JOIN_INDEX,
    BetMoney,
    BetRecord,
    Escrowed,
    ItemStatus,
    JoinRecord,
    RequestKind,
    RevealRecord,
    SeatMoney,
    Table,
    TableKey,
    TableMoney,
    Tables,
)
from .steps import HostRun, IncludedBet, run_host, settle_previous

__all__ = [
    "HOST_WIND_DOWN",
    "HostBody",
    "HostIntent",
    "HostMove",
    "OwnBudget",
    "OwnJoin",
    "OwnPacket",
    "SeatView",
    "TableView",
    "WalletMove",
    "at_tables",
    "budget_of",
    "create_own_funded",
    "debit_of",
    "held_reveals",
    "may_join",
    "next_host_body",
    "own_budget",
    "own_chain",
    "own_funded",
    "own_join_of",
    "pending_bets",
    "seat_is_own",
    "table_view",
    "treasury_budget",
    "unavailable_bets",
    "wallet_bet",
    "wallet_reclaim",
    "wallet_reveal",
    "withholders",
]

HostBody: TypeAlias = Seat | RollOpen | Void | GameEnd

HOST_WIND_DOWN: Final = INCLUDE_LEFT
"""With this many host reveals left or fewer, an honest host includes nothing new and seats
nobody: it rolls on until no bet is live, then ends (an exhausted chain forces an early end)."""

_BALANCE: Final = frozenset({Reason.INSUFFICIENT, Reason.UNFUNDED})
"""Verdicts that refuse a packet for balance."""


# --------------------------------------------------------------------------- own chains


class OwnPacket(NamedTuple):
    """One judged packet of a key's own chain, as the budget reads it."""

    nonce: int
    h: bytes
    body: Body | None
    """None: a malformed body (it debits nothing)."""
    reason: Reason


def own_chain(replica: Replica, key: bytes, upto: int | None = None) -> list[OwnPacket]:
    """``key``'s judged packets 1 … min(HWM, ``upto``) in nonce order, bodies decoded from
    their frames (a judged entry keeps only its frame)."""
    codec = FrameCodec(replica.genesis.network_id)
    top = replica.hwm(key) if upto is None else min(upto, replica.hwm(key))
    chain = []
    for nonce in range(1, top + 1):
        entry = replica.judged(key, nonce)
        assert entry is not None and entry.judgment is not None
        body = _body(replica, entry.frame, codec)
        chain.append(OwnPacket(nonce, entry.h, body, entry.judgment.reason))
    return chain


def _body(replica: Replica, frame: bytes, codec: FrameCodec | None = None) -> Body | None:
    """The body of a judged frame (None: malformed)."""
    codec = codec or FrameCodec(replica.genesis.network_id)
    try:
        return decode_body(codec.open(frame)).body
    except PacketError:
        return None


# --------------------------------------------------------------------------- own budget


def debit_of(body: Body | None, tables: Tables) -> int:
    """What a packet with ``body`` debits its sender's own balance if Applied (a bank-1
    create's bankroll is the treasury's; a join's is its table's ``bond``, when a create of
    that G exists at host nonce ≤ T — otherwise it is Refused(no_game) for ever)."""
    if isinstance(body, Create):
        p = body.params
        return p.host_bond if body.bank is Bank.TREASURY else body.bankroll + p.host_bond
    if isinstance(body, Join):
        table: Table | None = tables.map("tables").get((body.host, body.game))
        if table is None or table.create_nonce > body.table:
            return 0
        return table.params.bond
    if isinstance(body, Bet):
        return sum(entry.amount for entry in body.bets)
    if isinstance(body, Transfer):
        return body.amount
    return 0


def _returns(table: Table | None, nonce: int) -> tuple[int, int]:
    """What an Applied game_end at ``nonce`` returns, as state values: (K, host bond)."""
    if table is None or table.ended != nonce:
        return 0, 0
    return table.cover, 0 if table.early else table.host_bond_left


class OwnBudget:
    """A key's own budget along its own chain (TABLES.md §8, "Own-funded").

    Before its packet n the budget is its genesis grants and faucet mint, plus, at each of its
    Applied ``game_end`` s below n of a table whose create was own-funded, that table's K and
    the host bond the ``game_end`` returned (0 at an early end), minus the debits of every
    packet below n **whatever its verdict**.  A bank-1 table's K goes back to the treasury,
    not to the house.  Transfers received and winnings never count.

    For the house key it also walks the **treasury budget**: the reserve, plus K at each
    earlier own-funded bank-1 ``game_end``, minus every earlier bank-1 bankroll (transfers to
    the treasury never count).  A bank-1 create is own-funded when the house's budget covers
    its host bond and the treasury budget its bankroll.

    It is at most the key's spendable balance at every packet, and reads nothing another key
    signs: only the key's own fork can lower it.
    """

    def __init__(
        self, genesis: Genesis, tables: Tables, key: bytes, chain: Sequence[OwnPacket]
    ) -> None:
        self.key = key
        house = key == genesis.house_key
        own = sum(amount for grantee, amount in genesis.grants if grantee == key)
        if genesis.play_money and (not chain or chain[0].reason is not Reason.EQUIVOCATED):
            own += genesis.faucet_amount  # the mint comes with nonce 1, judged either way
        treasury = genesis.treasury_reserve if house else 0
        self._own: list[int] = []
        """The own budget before packet n, at index n − 1 (after the whole chain at the end)."""
        self._treasury: list[int] = []
        self._funded: dict[int, bool] = {}
        funded_tables: set[TableKey] = set()
        for p in chain:
            self._own.append(own)
            self._treasury.append(treasury)
            body = p.body
            amount = debit_of(body, tables)
            funded = not amount or amount <= own
            if isinstance(body, Create) and body.bank is Bank.TREASURY:
                funded = funded and house and body.bankroll <= treasury
                if house:
                    treasury -= body.bankroll
            own -= amount
            self._funded[p.nonce] = funded
            if isinstance(body, Create) and funded:
                funded_tables.add((key, p.h))
            elif isinstance(body, GameEnd) and p.reason is Reason.APPLIED:
                table_key = (key, body.game)
                if table_key in funded_tables:
                    table: Table | None = tables.map("tables").get(table_key)
                    cover, bond = _returns(table, p.nonce)
                    own += bond
                    if table is not None and table.bank is Bank.TREASURY:
                        treasury += cover
                    else:
                        own += cover
        self._own.append(own)
        self._treasury.append(treasury)

    @property
    def top(self) -> int:
        """The last nonce walked."""
        return len(self._own) - 1

    def before(self, nonce: int) -> int:
        """The own budget packet ``nonce`` may debit (``top + 1``: the next packet)."""
        return self._own[self._index(nonce)]

    def treasury_before(self, nonce: int) -> int:
        """The treasury budget a bank-1 create at ``nonce`` may use (0 off the house key)."""
        return self._treasury[self._index(nonce)]

    def funded(self, nonce: int) -> bool:
        """Whether packet ``nonce``'s debit is own-funded (a packet that debits nothing is)."""
        return self._funded[nonce]

    def covers(self, amount: int) -> bool:
        """Whether the next packet's debit of ``amount`` would be own-funded."""
        return amount <= self._own[-1]

    def _index(self, nonce: int) -> int:
        if not 1 <= nonce <= self.top + 1:
            raise ValueError(f"nonce {nonce} is outside 1 … {self.top + 1} of the walked chain")
        return nonce - 1


def own_budget(
    genesis: Genesis, tables: Tables, key: bytes, chain: Sequence[OwnPacket], nonce: int
) -> int:
    """``key``'s own budget before its packet ``nonce`` (:class:`OwnBudget`)."""
    return OwnBudget(genesis, tables, key, chain).before(nonce)


def own_funded(
    genesis: Genesis, tables: Tables, key: bytes, chain: Sequence[OwnPacket], nonce: int
) -> bool:
    """Whether ``key``'s packet ``nonce`` is own-funded: its debit within its own budget
    (for a bank-1 create, its bankroll also within the treasury budget)."""
    return OwnBudget(genesis, tables, key, chain).funded(nonce)


def treasury_budget(
    genesis: Genesis, tables: Tables, chain: Sequence[OwnPacket], nonce: int
) -> int:
    """The treasury budget before the house key's packet ``nonce`` (``chain`` is the house
    key's own chain)."""
    house = genesis.house_key
    if house is None:
        return 0
    return OwnBudget(genesis, tables, house, chain).treasury_before(nonce)


def budget_of(replica: Replica, key: bytes) -> OwnBudget:
    """``key``'s own budget over its judged chain on ``replica``."""
    return OwnBudget(replica.genesis, tables_of(replica.state), key, own_chain(replica, key))


def create_own_funded(replica: Replica, table: Table) -> bool:
    """Whether the table's create is own-funded (wallets show it; default joins need it)."""
    budget = budget_of(replica, table.host)
    return table.create_nonce <= budget.top and budget.funded(table.create_nonce)


class _Budgets:
    """Own budgets walked once per key for one decision."""

    def __init__(self, replica: Replica) -> None:
        self.replica = replica
        self._walked: dict[bytes, OwnBudget] = {}

    def funded(self, key: bytes, nonce: int) -> bool:
        budget = self._walked.get(key)
        if budget is None or budget.top < nonce:
            budget = self._walked[key] = budget_of(self.replica, key)
        return nonce <= budget.top and budget.funded(nonce)


# --------------------------------------------------------------------------- reading a table


def _table(replica: Replica, host: bytes, game: bytes) -> Table | None:
    found: Table | None = tables_of(replica.state).map("tables").get((host, game))
    return found


def _seat_money(tables: Tables, table: Table, seat: int) -> SeatMoney | None:
    found: SeatMoney | None = tables.map("bonds").get((table.key, seat))
    return found


def _valid_copy(table: Table, seat: int, copy: RevealCopy | None) -> bool:
    """``copy`` is a valid reveal of ``seat`` for its current value."""
    occupant = table.seats.get(seat)
    return (
        copy is not None
        and copy.seat == seat
        and occupant is not None
        and preimage_valid(copy.preimage, occupant.current)
    )


def held_reveals(replica: Replica, table: Table) -> dict[int, RevealCopy]:
    """The open roll's valid reveals the replica holds, by listed seat: each seat's Applied
    reveal of roll k, bound to this table, whose preimage is valid for the seat's value."""
    out: dict[int, RevealCopy] = {}
    if not table.open:
        return out
    records = tables_of(replica.state).map("records")
    for seat in table.listed:
        occupant = table.seats[seat]
        for nonce in range(replica.hwm(occupant.key), occupant.join_nonce, -1):
            record = records.get((occupant.key, nonce))
            if (
                isinstance(record, RevealRecord)
                and record.reason is Reason.APPLIED
                and (record.game, record.host, record.k) == (table.game, table.host, table.k)
                and preimage_valid(record.preimage, occupant.current)
            ):
                out[seat] = RevealCopy(seat, nonce, record.preimage)
                break
    return out


def withholders(table: Table, reveals: Mapping[int, RevealCopy]) -> tuple[int, ...]:
    """The open roll's listed seats without a valid reveal in ``reveals``: whom the host
    waits for, and S once the daemon's wait runs out."""
    if not table.open:
        return ()
    return tuple(s for s in table.listed if not _valid_copy(table, s, reveals.get(s)))


def _simulate(replica: Replica, table: Table, nonce: int, body: HostBody) -> HostRun:
    """The packet's steps over a working copy of the table, as the engine would run them
    (what they write in the replica's state taken back)."""
    run = HostRun(table.copy(), Staged(tables_of(replica.state)), nonce, replica.genesis.network_id)
    try:
        run_host(run, body)
    finally:
        run.staged.undo()
    return run


def _preview(replica: Replica, table: Table, nonce: int, reveals: Sequence[RevealCopy]) -> HostRun:
    """The table after step 1 (the open roll settled with ``reveals``), on a working copy
    (what the step writes in the replica's state taken back)."""
    run = HostRun(table.copy(), Staged(tables_of(replica.state)), nonce, replica.genesis.network_id)
    try:
        settle_previous(run, reveals)
    finally:
        run.staged.undo()
    return run


# --------------------------------------------------------------------------- honest host


class HostIntent(enum.Enum):
    """What the daemon wants of a table."""

    PLAY = "play"
    """Answer, include and roll as the policy says."""
    WIND_DOWN = "wind_down"
    """Include nothing new and seat nobody; end as soon as no bet is live (no early end)."""
    END = "end"
    """End at the next packet that may (live bets then return at stake: an early end)."""


class HostMove(NamedTuple):
    """The host's next table packet (None: nothing to sign now), and why."""

    body: HostBody | None
    why: str


class _Answer(NamedTuple):
    """One join answer: accept (with the honest copy) or decline."""

    copy: JoinCopy
    accept: bool


@dataclass
class _Plan:
    """What the next host packet would carry beside its dice."""

    leaves: list[int]
    answers: list[_Answer]
    included: list[tuple[int, Included]]
    """Candidates, each with the last host nonce of its window."""
    released: list[Released]


def _requests(tables: Tables, table: Table, key: bytes) -> tuple[tuple[int, int, int], ...]:
    found: tuple[tuple[int, int, int], ...] = tables.map("requests").get((table.key, key), ())
    return found


def _leaves(tables: Tables, table: Table) -> list[int]:
    """Seats whose key asked to leave since its join, not yet leaving: an honest host lists
    them, so a seen leave never frees a bond at its expense (§6)."""
    out = []
    for seat in table.occupied():
        occupant = table.seats[seat]
        if occupant.leaving:
            continue
        for request_nonce, kind, _ in _requests(tables, table, occupant.key):
            if kind == RequestKind.LEAVE and request_nonce > occupant.join_nonce:
                out.append(seat)
                break
    return out


def _answers(
    replica: Replica,
    table: Table,
    nonce: int,
    free: int,
    budgets: _Budgets,
    seat_nobody: bool,
) -> list[_Answer]:
    """Every join pending at this table within its window, oldest window first: accepted when
    its bond is own-funded, its key not seated, its head new here and a seat is free (up to
    ``free``); declined otherwise, which releases the bond at once."""
    tables = tables_of(replica.state)
    escrow: dict[tuple[bytes, int], Escrowed] = tables.map("escrow")
    records = tables.map("records")
    heads = tables.map("heads")
    answered = tables.map("answered")
    pending = []
    for (key, join_nonce), escrowed in escrow.items():
        e = escrowed.item(JOIN_INDEX)
        if escrowed.table != table.key or e is None:
            continue
        if e.status is ItemStatus.PENDING and nonce <= e.window_end:
            pending.append((e.window_end, key, join_nonce))
    out: list[_Answer] = []
    seated = {occupant.key for occupant in table.seats.values()}
    taken: set[bytes] = set()
    for _, key, join_nonce in sorted(pending):
        record = records.get((key, join_nonce))
        entry = replica.judged(key, join_nonce)
        if not isinstance(record, JoinRecord) or entry is None:
            continue
        if (table.key, key, join_nonce) in answered:
            continue
        copy = JoinCopy(key, join_nonce, entry.h, record.head, record.chain_n)
        accept = (
            not seat_nobody
            and len([a for a in out if a.accept]) < free
            and record.reason is Reason.APPLIED
            and key != table.host
            and key not in seated
            and record.head not in taken
            and (table.key, record.head) not in heads
            and budgets.funded(key, join_nonce)
        )
        if accept:
            seated.add(key)
            taken.add(record.head)
        out.append(_Answer(copy, accept))
    return out


def _tainted(replica: Replica, key: bytes, since: int) -> bool:
    """A packet of ``key`` after its join Refused for balance."""
    for nonce in range(since + 1, replica.hwm(key) + 1):
        entry = replica.judged(key, nonce)
        if entry is not None and entry.reason in _BALANCE:
            return True
    return False


def _used_unfunded(
    replica: Replica, table: Table, key: bytes, since: int, budgets: _Budgets
) -> int:
    """The stakes of ``key``'s bets after its join that were included here (named, not
    released) and are not own-funded, whatever their verdicts now."""
    tables = tables_of(replica.state)
    records, released = tables.map("records"), tables.map("released")
    used = 0
    for nonce in range(since + 1, replica.hwm(key) + 1):
        record = records.get((key, nonce))
        if not isinstance(record, BetRecord) or (record.host, record.game) != table.key:
            continue
        if budgets.funded(key, nonce):
            continue
        for index, bet in enumerate(record.entries):
            if (
                tables.is_named(table.key, (key, nonce, index))
                and (table.key, key, nonce, index) not in released
            ):
                used += bet.amount
    return used


def _cancelled(requests: Iterable[tuple[int, int, int]], nonce: int) -> bool:
    """A bet at ``nonce`` its sender asked to take back: a later cancel with upto ≥ it, or a
    later leave (either releases it when seen, so an inclusion would hold nothing)."""
    for request_nonce, kind, upto in requests:
        if request_nonce > nonce and (kind == RequestKind.LEAVE or upto >= nonce):
            return True
    return False


def pending_bets(tables: Tables, table: Table, key: bytes) -> list[tuple[int, int, int, BetEntry]]:
    """``key``'s bets at ``table`` that a host may still include: in escrow, not named by a
    host packet, not taken back by a later cancel or leave.  Each as ``(window_end, nonce,
    index, entry)``, ``window_end`` the last host nonce that may include it; by nonce."""
    records = tables.map("records")
    requests = _requests(tables, table, key)
    found: list[tuple[int, int, int, BetEntry]] = []
    for item, e in tables.escrowed(table.key, key):
        bet_nonce, index = item[1], item[2]
        if index == JOIN_INDEX or tables.is_named(table.key, item):
            continue
        if _cancelled(requests, bet_nonce):
            continue
        record = records.get((key, bet_nonce))
        if not isinstance(record, BetRecord) or index >= len(record.entries):
            continue
        found.append((e.window_end, bet_nonce, index, record.entries[index]))
    return found


def _bets(
    replica: Replica, table: Table, nonce: int, budgets: _Budgets, include: bool
) -> tuple[list[tuple[int, Included]], list[Released]]:
    """Candidate inclusions and policy releases, oldest window first.

    A seat's pending bets are candidates when its key is trusted — its held bond whole (never
    charged) and no packet of it Refused for balance since its join — and, for bets that are
    not own-funded, while their total included at that seat stays within its held bond left.
    Bets of an untrusted key, beyond that total, or (``include`` false: winding down) all
    pending bets are released: their stakes go back."""
    tables = tables_of(replica.state)
    bond = table.params.bond
    candidates: list[tuple[int, Included]] = []
    released: list[tuple[int, Released]] = []
    for seat in table.occupied():
        occupant = table.seats[seat]
        key = occupant.key
        money = _seat_money(tables, table, seat)
        trusted = (
            money is not None
            and money.own
            and money.bond >= bond
            and not _tainted(replica, key, occupant.join_nonce)
        )
        allowance = (money.bond if money is not None else 0) - _used_unfunded(
            replica, table, key, occupant.join_nonce, budgets
        )
        for window_end, bet_nonce, index, bet in pending_bets(tables, table, key):
            if nonce > window_end:
                continue
            if not (trusted and include):
                released.append((window_end, Released(seat, bet_nonce, index)))
                continue
            if not budgets.funded(key, bet_nonce):
                if bet.amount > allowance:
                    released.append((window_end, Released(seat, bet_nonce, index)))
                    continue
                allowance -= bet.amount
            copy = Included(seat, bet_nonce, index, int(bet.code), bet.amount, bet.come_point)
            candidates.append((window_end, copy))
    candidates.sort(key=lambda c: (c[0], c[1].seat, c[1].nonce, c[1].index))
    released.sort(key=lambda r: (r[0], r[1].seat, r[1].nonce, r[1].index))
    return candidates, [r for _, r in released]


def _plan(
    replica: Replica,
    table: Table,
    nonce: int,
    after: Table,
    intent: HostIntent,
    budgets: _Budgets,
) -> _Plan:
    """Leaves, join answers, candidate inclusions and releases for the next packet; ``after``
    is the table after step 1 (seats vacated at step 2 and by ``leaves`` do not count)."""
    tables = tables_of(replica.state)
    winding = intent is not HostIntent.PLAY or table.host_left <= HOST_WIND_DOWN
    leaves = _leaves(tables, after)
    staying = [
        seat
        for seat, occupant in after.seats.items()
        if not ((occupant.leaving or seat in leaves) and not after.live_at(seat))
        and occupant.left > 0
    ]
    free = after.params.max_players - 1 - len(staying)
    answers = _answers(replica, table, nonce, free, budgets, seat_nobody=winding)
    included, released = _bets(replica, table, nonce, budgets, include=not winding)
    return _Plan(leaves, answers, included, released)


def _went_live(run: HostRun) -> set[tuple[int, int, int]]:
    return {
        (e.copy.seat, e.copy.nonce, e.copy.index)
        for e in run.events
        if isinstance(e, IncludedBet) and e.live
    }


def _ident(copy: Included) -> tuple[int, int, int]:
    return (copy.seat, copy.nonce, copy.index)


def _roll_open(
    replica: Replica,
    table: Table,
    nonce: int,
    preimage: bytes,
    reveals: tuple[RevealCopy, ...],
    plan: _Plan,
) -> RollOpen | Reason:
    """The roll_open the plan allows: one join answer (an accept first), the candidates the
    inclusion checks pass, releases in the room left, the listed seats the steps leave; fewer
    inclusions (then no join) while the host bond cannot pay a void of it.  A reason: no
    roll_open is possible (``host_bond_short``: not even an empty one)."""
    limit = table.params.max_entries
    answer = next((a for a in plan.answers if a.accept), plan.answers[0] if plan.answers else None)
    candidates = [c for _, c in plan.included][:limit]
    deadline = {_ident(c): end for end, c in plan.included}

    def body(
        included: Sequence[Included],
        listed: Sequence[int],
        released: Sequence[Released],
        join: _Answer | None,
    ) -> RollOpen:
        return RollOpen(
            table.game,
            table.k + 1,
            preimage,
            reveals,
            tuple(plan.leaves),
            () if join is None or join.accept else (Decline(join.copy.key, join.copy.nonce),),
            (join.copy,) if join is not None and join.accept else (),
            tuple(released),
            tuple(included),
            tuple(listed),
        )

    while True:
        run = _simulate(replica, table, nonce, body(candidates, (), (), answer))
        if run.fault is not None and run.fault.reason not in (
            Reason.BAD_LISTED,
            Reason.HOST_BOND_SHORT,
        ):
            return run.fault.reason
        listed = tuple(run.table.occupied())
        live = _went_live(run)
        included = [c for c in candidates if _ident(c) in live]
        last_chance = [
            Released(c.seat, c.nonce, c.index)
            for c in candidates
            if _ident(c) not in live and deadline[_ident(c)] == nonce
        ]
        released = (last_chance + plan.released)[: limit - len(included)]
        final = body(included, listed, released, answer)
        run = _simulate(replica, table, nonce, final)
        if run.fault is None and _went_live(run) == {_ident(c) for c in included}:
            return final
        if run.fault is not None and run.fault.reason is not Reason.HOST_BOND_SHORT:
            return run.fault.reason
        if included:
            candidates = included[:-1]
        elif answer is not None and answer.accept:
            answer = None
        else:
            return Reason.HOST_BOND_SHORT


def _seat_body(table: Table, plan: _Plan) -> Seat | None:
    """A seat packet with every answer, leave and release that fits one frame."""
    joins: list[JoinCopy] = []
    declines: list[Decline] = []
    released = plan.released[: table.params.max_entries]

    def body() -> Seat:
        leaves = tuple(plan.leaves)
        return Seat(table.game, leaves, tuple(declines), tuple(joins), tuple(released))

    for answer in plan.answers:
        if answer.accept:
            joins.append(answer.copy)
        else:
            declines.append(Decline(answer.copy.key, answer.copy.nonce))
        if frame_size(body()) > MAX_FRAME:
            (joins if answer.accept else declines).pop()
            break
    if not (joins or declines or plan.leaves or released):
        return None
    return body()


def next_host_body(
    replica: Replica,
    host: bytes,
    game: bytes,
    chain: WalletChain,
    *,
    reveals: Mapping[int, RevealCopy] | None = None,
    waited: bool = False,
    intent: HostIntent = HostIntent.PLAY,
) -> HostMove:
    """The honest host's next table packet at ``(host, game)``, built from the replica's
    state and the reveals it holds (``reveals`` by seat; default: :func:`held_reveals`).

    - A roll is open: with every listed seat's valid reveal in hand it rolls on (or ends);
      otherwise it waits, and once the daemon's wait ran out (``waited``) it voids the seats
      whose reveal it lacks (S) with the others' reveals present.
    - Idle: a ``seat`` answers pending joins (own-funded bonds seated, the rest declined),
      lists seats that asked to leave and releases bets it will not include; a ``roll_open``
      follows when bets are live or includable.
    - It ends (``game_end``) when its chain is exhausted, when no roll_open is possible (host
      bond short), when ending was asked (``intent``), or once winding down leaves no live bet.

    ``chain`` is the host's dice chain (read, not advanced: the preimage comes from the
    table's current host value).  The body is checked with ``Replica.check`` before it is
    returned: an honest host never signs what its own replica would refuse.
    """
    table = _table(replica, host, game)
    if table is None:
        return HostMove(None, "no such table")
    if table.ended:
        return HostMove(None, "the table has ended")
    if replica.fork_point(host):
        return HostMove(None, "the host's chain is forked: its tables are closed")
    nonce = replica.hwm(host) + 1
    if replica.logged_top(host)[0] >= nonce:
        return HostMove(None, f"the host's packet {nonce} is not judged yet")
    held = dict(reveals) if reveals is not None else held_reveals(replica, table)
    copies: tuple[RevealCopy, ...] = ()
    if table.open:
        missing = withholders(table, held)
        if missing and not waited:
            return HostMove(None, f"waiting for the reveals of seats {list(missing)}")
        if missing:
            present = tuple(held[s] for s in table.listed if s not in missing)
            why = f"void of roll {table.k}: seats {list(missing)} did not reveal"
            return _checked(replica, host, Void(game, table.k, missing, present), why)
        copies = tuple(held[s] for s in table.listed)
    end_k = table.k if table.open else 0
    after = _preview(replica, table, nonce, copies).table
    if intent is HostIntent.END:
        return _checked(replica, host, GameEnd(game, end_k, copies), "ending, as asked")
    if table.host_left == 0:
        return _checked(replica, host, GameEnd(game, end_k, copies), "the host chain is spent")
    winding = intent is HostIntent.WIND_DOWN or table.host_left <= HOST_WIND_DOWN
    if winding and not after.craps.bets:
        return _checked(replica, host, GameEnd(game, end_k, copies), "wound down: no live bet")
    plan = _plan(replica, table, nonce, after, intent, _Budgets(replica))
    if not table.open:
        seat = _seat_body(table, plan)
        if plan.answers and seat is not None:
            return _checked(replica, host, seat, "answering joins")
        if not (table.craps.bets or plan.included):
            if seat is not None:
                return _checked(replica, host, seat, "leaves and releases")
            return HostMove(None, "nothing at stake: no live or includable bet")
    elif not (after.craps.bets or plan.included or plan.answers or plan.leaves or plan.released):
        return HostMove(None, "nothing at stake: no live or includable bet")
    preimage = chain.preimage_of(table.host_current)
    if preimage is None:
        return HostMove(None, "the host's dice chain does not match the table")
    body = _roll_open(replica, table, nonce, preimage, copies, plan)
    if body is Reason.HOST_BOND_SHORT:
        why = "no roll_open is possible: the host bond cannot pay its void"
        return _checked(replica, host, GameEnd(game, end_k, copies), why)
    if isinstance(body, Reason):
        return HostMove(None, f"no roll_open: it would be {body.label}")
    return _checked(replica, host, body, f"roll {body.k}")


def _checked(replica: Replica, host: bytes, body: HostBody, why: str) -> HostMove:
    verdict = replica.check(host, body).reason
    if verdict is not Reason.APPLIED:
        return HostMove(None, f"not signed: it would be {verdict.label} ({why})")
    return HostMove(body, why)


# --------------------------------------------------------------------------- wallet


class OwnJoin(NamedTuple):
    """A wallet's own join: its nonce, h and body (what a seat's copy must equal, T28)."""

    nonce: int
    h: bytes
    join: Join


def own_join_of(replica: Replica, key: bytes, nonce: int) -> OwnJoin:
    """``key``'s judged join at ``nonce``."""
    entry = replica.judged(key, nonce)
    body = None if entry is None else _body(replica, entry.frame)
    if entry is None or not isinstance(body, Join):
        raise ValueError(f"{key.hex()[:8]}'s packet {nonce} is not a judged join")
    return OwnJoin(nonce, entry.h, body)


class WalletMove(NamedTuple):
    """What a wallet signs next at a table (None: nothing), and why."""

    body: Reveal | Cancel | None
    why: str


def seat_is_own(table: Table, key: bytes, own: OwnJoin) -> bool | None:
    """Whether ``key``'s seat copies its own join — h, head, chain_N, G and host (T28);
    None when ``key`` is not seated there."""
    seat = table.seat_of(key)
    if seat is None:
        return None
    occupant = table.seats[seat]
    join = own.join
    return (occupant.join_nonce, occupant.join_h, occupant.head, occupant.chain_n) == (
        own.nonce,
        own.h,
        join.chain_head,
        join.chain_n,
    ) and (table.game, table.host) == (join.game, join.host)


_FOREIGN: Final = (
    "the host seated this key under a copy that is not its join (T28): "
    "stop betting there and reclaim by cancel"
)


def wallet_reveal(replica: Replica, key: bytes, own: OwnJoin, chain: WalletChain) -> WalletMove:
    """The reveal a wallet owes: for an Applied ``roll_open`` that lists its seat, when the
    seat copies its own join, not yet revealed.  ``chain`` is its dice chain for that join
    (read, not advanced).  A foreign copy gets no reveal: the wallet reclaims instead."""
    table = _table(replica, own.join.host, own.join.game)
    if table is None or table.ended:
        return WalletMove(None, "no table running")
    mine = seat_is_own(table, key, own)
    if mine is None:
        return WalletMove(None, "not seated")
    if not mine:
        return WalletMove(None, _FOREIGN)
    seat = table.seat_of(key)
    if not table.open or seat not in table.listed:
        return WalletMove(None, "no open roll lists this seat")
    tables = tables_of(replica.state)
    t = tables.map("rolls").get((table.key, table.k))
    if t is None:
        return WalletMove(None, f"roll {table.k} is not an Applied roll_open")
    if (table.key, key, table.k) in tables.map("reveals"):
        return WalletMove(None, f"roll {table.k} already revealed")
    assert seat is not None
    preimage = chain.preimage_of(table.seats[seat].current)
    if preimage is None:
        return WalletMove(None, "the dice chain does not match the seat's value")
    return WalletMove(Reveal(table.game, table.k, t, preimage), f"reveal for roll {table.k}")


def wallet_bet(replica: Replica, key: bytes, body: Bet, own: OwnJoin | None = None) -> str | None:
    """Why a wallet will not sign this bet (one readable line), or None: never a bet its own
    replica would refuse, nor one at a seat that does not copy its own join."""
    if own is not None:
        table = _table(replica, own.join.host, own.join.game)
        if table is not None and seat_is_own(table, key, own) is False:
            return _FOREIGN
    verdict = replica.check(key, body).reason
    if verdict is not Reason.APPLIED:
        return f"the bet would be {verdict.label}"
    return None


def _reclaimable(tables: Tables, table: Table, key: bytes, t: int, fork: int) -> int:
    """What a cancel of ``key`` with reference ``t`` would reclaim at ``table`` (§6)."""
    over = bool(table.ended and t >= table.ended) or bool(fork and t >= fork)
    total = 0
    for _, e in tables.escrowed(table.key, key):
        if over or t > e.window_end:
            total += e.amount
    if fork and t >= fork:
        stakes: dict[tuple[Any, ...], BetMoney] = tables.map("stakes")
        for bet in table.craps.bets:
            live = stakes.get(bet.id) if bet.id[0] == key else None
            if live is not None:
                total += live.stake
        for seat, occupant in table.seats.items():
            money = _seat_money(tables, table, seat)
            if occupant.key == key and money is not None:
                total += money.bond
    return total


def wallet_reclaim(replica: Replica, key: bytes, own: OwnJoin) -> WalletMove:
    """A cancel that reclaims: with T the host's latest judged nonce, when it would return
    something (items past their window and not held, or everything after the host's
    ``game_end`` or fork).  ``upto`` is the wallet's latest nonce."""
    table = _table(replica, own.join.host, own.join.game)
    if table is None:
        return WalletMove(None, "no such table")
    t = replica.hwm(table.host)
    amount = _reclaimable(tables_of(replica.state), table, key, t, replica.fork_point(table.host))
    if not amount:
        return WalletMove(None, "nothing to reclaim yet")
    body = Cancel(table.game, t, replica.hwm(key))
    return WalletMove(body, f"reclaim {amount} base units")


def may_join(replica: Replica, key: bytes, host: bytes, game: bytes) -> str | None:
    """Why a wallet does not join this table by default (None: it may): wallets join only
    running tables whose create is own-funded, with a seat free."""
    table = _table(replica, host, game)
    if table is None:
        return "no such table"
    if table.ended:
        return "the table has ended"
    if replica.fork_point(host):
        return "the host's chain is forked: the table is closed"
    if not create_own_funded(replica, table):
        return "the table's create is not own-funded: its bank could be undone by a fork"
    if table.seat_of(key) is not None:
        return "already seated"
    if len(table.seats) >= table.params.max_players - 1:
        return "no seat is free"
    return None


# --------------------------------------------------------------------------- what the CLI shows


def unavailable_bets(params: TableParams) -> tuple[BetType, ...]:
    """The bet types whose risk at ``min_bet`` exceeds ``bond``: never included there (§9)."""
    return tuple(bet for bet in BetType if least_risk(bet, params.min_bet) > params.bond)


@dataclass(frozen=True, slots=True)
class SeatView:
    seat: int
    key: bytes
    left: int
    """Reveals left on the seat's copied chain."""
    leaving: bool
    bond: int
    """Its held bond left (0 for a seat whose bond is not held)."""
    own: bool
    """The copy is its sender's own join (else a phantom seat: it moves no money)."""
    live: int
    """Live bets."""


@dataclass(frozen=True, slots=True)
class TableView:
    """What the CLI shows about a table."""

    host: bytes
    game: bytes
    bank: Bank
    own_funded: bool
    """The create is own-funded: no other key's fork can unback its bank (§8)."""
    backed: bool
    """The create is Applied now (its bankroll and host bond are held)."""
    params: TableParams
    bankroll: int
    cover: int
    """K."""
    host_bond_left: int
    host_left: int
    k: int
    open: bool
    ended: bool
    early: bool
    closed: bool
    """The host's chain is forked: the table is frozen at its last packet below the fork."""
    seats: tuple[SeatView, ...]
    risk: int
    bank_money: int
    """The bank's real money now (K is the state value cover reads)."""
    unavailable: tuple[BetType, ...]


def at_tables(replica: Replica, key: bytes) -> dict[str, int]:
    """What ``key``'s money the tables hold (its account was debited for it; it comes back as
    a credit when released, returned or won): ``bets`` (escrowed stakes and join bonds, pending
    or live), ``bonds`` (the held bonds of the seats it occupies), ``bank`` (the bank's real
    money and the host bond of the tables it hosts)."""
    tables = tables_of(replica.state)
    escrow: dict[tuple[bytes, int], Escrowed] = tables.map("escrow")
    bets = sum(escrowed.amount() for (owner, _), escrowed in escrow.items() if owner == key)
    bonds = 0
    for (table_key, seat), money in tables.map("bonds").items():
        table: Table | None = tables.map("tables").get(table_key)
        occupant = table.seats.get(seat) if table is not None else None
        if occupant is not None and occupant.key == key:
            bonds += money.bond
    funds: dict[TableKey, TableMoney] = tables.map("funds")
    bank = sum(m.bank_real + m.host_bond_money for (host, _), m in funds.items() if host == key)
    return {"bets": bets, "bonds": bonds, "bank": bank}


def table_view(replica: Replica, host: bytes, game: bytes) -> TableView | None:
    """What the CLI shows about ``(host, game)``: own-funded or not, seats, K, host bond left,
    the bets unavailable there (risk at ``min_bet`` above ``bond``); None: no such table."""
    table = _table(replica, host, game)
    if table is None:
        return None
    tables = tables_of(replica.state)
    funds: TableMoney = tables.map("funds")[table.key]
    seats = []
    for number in table.occupied():
        occupant = table.seats[number]
        money = _seat_money(tables, table, number)
        seats.append(
            SeatView(
                number,
                occupant.key,
                occupant.left,
                occupant.leaving,
                money.bond if money is not None else 0,
                money.own if money is not None else False,
                len(table.craps.owned(number)),
            )
        )
    return TableView(
        host=host,
        game=game,
        bank=table.bank,
        own_funded=create_own_funded(replica, table),
        backed=funds.backed,
        params=table.params,
        bankroll=table.bankroll,
        cover=table.cover,
        host_bond_left=table.host_bond_left,
        host_left=table.host_left,
        k=table.k,
        open=table.open,
        ended=bool(table.ended),
        early=table.early,
        closed=bool(replica.fork_point(host)),
        seats=tuple(seats),
        risk=risk(table.craps),
        bank_money=funds.bank_real,
        unavailable=unavailable_bets(table.params),
    )
