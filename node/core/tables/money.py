"""Table money: what moves when table state moves, clipped to what is backed (TABLES.md §7).

Given the events a host packet's state run produced (:mod:`.steps`), :func:`host_money` decides
which stakes and bonds are **held** — reading the records and verdicts of the player packets the
packet names, all in its dependency closure — and returns the credits the packet pays.  Nothing
here changes table state: a phantom entry counts in state and moves no money.

Credits come from the host packet (``creditor`` = host, ``nonce`` = its nonce); forfeits and
void fees go to the sink; a bank-1 table's real money goes back to the treasury.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from node.core.craps.outcome import Outcome
from node.core.verdicts import Reason
from protocol.constants import SINK_KEY, TREASURY_KEY
from protocol.kinds import Bank, BetEntry, Included

from .journal import Staged
from .params import WINDOW
from .state import (
    BONDS,
    ESCROW,
    FUNDS,
    JOIN_INDEX,
    OWNED,
    RECORDS,
    REQUESTS,
    STAKES,
    BetMoney,
    BetRecord,
    Escrow,
    Escrowed,
    ItemKey,
    ItemStatus,
    JoinRecord,
    RequestKind,
    SeatMoney,
    Table,
    TableKey,
    TableMoney,
)
from .steps import (
    Accepted,
    Declined,
    Ended,
    Event,
    IncludedBet,
    ReleasedBet,
    SeenRequests,
    Settled,
    ToPending,
    Vacated,
    VoidFee,
)

__all__ = [
    "Purse",
    "add_escrow",
    "copy_matches",
    "escrowed_items",
    "host_money",
    "own_join",
    "put_escrow",
    "write_escrow",
]

# Verdicts as module constants: ``node.core.verdicts`` is interpreted, so a compiled read of
# ``Reason.APPLIED`` goes through the enum class's attribute hook each time (docs/BUILD.md).
_APPLIED: Final = Reason.APPLIED
_INSUFFICIENT: Final = Reason.INSUFFICIENT
_RETURNED: Final = ItemStatus.RETURNED


_UNCHANGED: Final = object()
"""Not in the purse's escrow changes: read the state."""


class Purse:
    """The money side of one host packet: the table's funds (a working copy), its escrow
    changes, and the credits paid, summed per account in first-credit order.  It keeps the
    seats' money it read or wrote (a packet reads each seat's once per entry), and each bet's
    or join's escrow it changed until :meth:`write_escrow` (a host packet takes a bet's items
    one entry at a time: one write per bet, so the packet's change keeps no escrow between)."""

    def __init__(self, staged: Staged, table: TableKey, funds: TableMoney) -> None:
        self.staged = staged
        self.table = table
        self.funds = funds
        self.credits: dict[bytes, int] = {}
        self._seats: dict[int, SeatMoney | None] = {}
        self._escrow: dict[ItemKey, Escrowed | None] = {}

    def pay(self, account: bytes, amount: int) -> None:
        if amount:
            self.credits[account] = self.credits.get(account, 0) + amount

    def escrowed(self, item: ItemKey) -> Escrowed | None:
        """The escrow of the item's packet (read once, then passed to the writes below)."""
        packet: ItemKey = (item[0], item[1])
        return self.escrow_of(packet)

    def escrow_of(self, packet: ItemKey) -> Escrowed | None:
        """The escrow of a bet or join packet ``(key, nonce)``, with this packet's changes."""
        changed = self._escrow.get(packet, _UNCHANGED)
        if changed is _UNCHANGED:
            found: Escrowed | None = self.staged.get(ESCROW, packet)
            return found
        assert changed is None or isinstance(changed, Escrowed)
        return changed

    def change_item(self, item: ItemKey, escrowed: Escrowed | None, escrow: Escrow | None) -> None:
        """Change an item in escrow (None: it leaves escrow), ``escrowed`` being its packet's
        escrow now (None: none of its items is in escrow)."""
        if escrowed is None:
            escrowed = Escrowed.of(self.table, False, ())
        packet: ItemKey = (item[0], item[1])
        self._escrow[packet] = escrowed.replaced(item[2], escrow)

    def write_escrow(self) -> None:
        """Write the escrow this packet changed into the state, once per bet or join."""
        staged = self.staged
        for packet, escrowed in self._escrow.items():
            write_escrow(staged, packet, escrowed)
        self._escrow.clear()

    def take(self, item: ItemKey, escrowed: Escrowed | None = None) -> int:
        """The item leaves escrow (credited back, live, or forfeited): its amount.
        ``escrowed``: its packet's escrow, if read already."""
        if escrowed is None:
            escrowed = self.escrowed(item)
            assert escrowed is not None
        escrow = escrowed.item(item[2])
        assert escrow is not None
        self.change_item(item, escrowed, None)
        return escrow.amount

    def seat(self, seat: int) -> SeatMoney | None:
        seats = self._seats
        found = seats.get(seat)
        if found is None and seat not in seats:
            read: SeatMoney | None = self.staged.get(BONDS, (self.table, seat))
            found = seats[seat] = read
        return found

    def put_seat(self, seat: int, money: SeatMoney | None) -> None:
        self._seats[seat] = money
        if money is None:
            self.staged.delete(BONDS, (self.table, seat))
        else:
            self.staged.put(BONDS, (self.table, seat), money)

    def release(self, item: ItemKey, escrowed: Escrowed | None = None) -> None:
        """A release: the item's amount back to its owner."""
        self.pay(item[0], self.take(item, escrowed))


def add_escrow(staged: Staged, key: bytes, nonce: int, escrowed: Escrowed) -> None:
    """An Applied debit escrows its items (a bet's stakes, a join's bond)."""
    staged.put(ESCROW, (key, nonce), escrowed)
    staged.add(OWNED, (escrowed.table, key), nonce)


def write_escrow(staged: Staged, packet: ItemKey, escrowed: Escrowed | None) -> None:
    """Set the escrow of a bet or join packet ``(key, nonce)`` (None: none of its items is left
    in escrow), keeping the escrow index ``owned``."""
    if escrowed is None:
        before: Escrowed | None = staged.get(ESCROW, packet)
        if before is not None:
            staged.delete(ESCROW, packet)
            staged.discard(OWNED, (before.table, packet[0]), packet[1])
    elif staged.has(ESCROW, packet):
        staged.put(ESCROW, packet, escrowed)
    else:
        add_escrow(staged, packet[0], packet[1], escrowed)


def put_escrow(staged: Staged, item: ItemKey, escrow: Escrow | None) -> None:
    """Change an item in escrow; None: it leaves escrow."""
    packet: ItemKey = (item[0], item[1])
    escrowed: Escrowed = staged.get(ESCROW, packet)
    write_escrow(staged, packet, escrowed.replaced(item[2], escrow))


def escrowed_items(staged: Staged, table: TableKey, key: bytes) -> list[tuple[ItemKey, Escrow]]:
    """``key``'s items in escrow at ``table`` (staged), by item."""
    found: list[tuple[ItemKey, Escrow]] = []
    for nonce in sorted(staged.members(OWNED, (table, key))):
        escrowed: Escrowed = staged.get(ESCROW, (key, nonce))
        for index, escrow in escrowed.held():
            found.append(((key, nonce, index), escrow))
    return found


# --------------------------------------------------------------------------- held or phantom


def own_join(record: object, table: Table, h: bytes, head: bytes, chain_n: int) -> bool:
    """Whether a seat's copied join is its sender's own: a join of this G naming this host,
    with the copied h, head and chain_N (any verdict)."""
    return (
        isinstance(record, JoinRecord)
        and record.game == table.game
        and record.host == table.host
        and record.h == h
        and record.head == head
        and record.chain_n == chain_n
    )


def copy_matches(entry: BetEntry, copy: Included) -> bool:
    # a bet type is an int: compared as one, without ``int()`` (compiled, a call into the
    # interpreter for an enum)
    return (
        entry.code == copy.code and entry.amount == copy.amount and entry.come_point == copy.point
    )


def _bound_here(record: object, table: Table) -> bool:
    return isinstance(record, BetRecord) and record.game == table.game and record.host == table.host


def _holdable(
    purse: Purse, table: Table, nonce: int, seat: int, item: ItemKey, copy: Included | None
) -> Escrowed | None:
    """The escrow of the packet of a bet a host entry can hold or release: an Applied bet
    bound here, whose ``index``-th bet matches the copy, escrowed and not live, named within
    its window, at a seat whose copied join is its sender's own.  None: the entry moves no
    money."""
    seat_money = purse.seat(seat)
    if seat_money is None or not seat_money.own:
        return None
    index: int = item[2]
    packet: ItemKey = (item[0], item[1])  # one tuple object for both maps (docs/BUILD.md)
    staged = purse.staged
    record = staged.get(RECORDS, packet)
    if not isinstance(record, BetRecord) or not _bound_here(record, table):
        return None
    if record.reason is not _APPLIED or index >= len(record.entries):
        return None
    if copy is not None and not copy_matches(record.entries[index], copy):
        return None
    escrowed = purse.escrow_of(packet)
    escrow = None if escrowed is None else escrowed.item(index)
    if escrow is None or nonce > escrow.window_end:
        return None
    return escrowed


def _collateral(purse: Purse, table: Table, item: ItemKey, copy: Included) -> bool:
    """A copied bet that is logged, bound here and matches, but Refused for balance."""
    record = purse.staged.get(RECORDS, (item[0], item[1]))
    return (
        _bound_here(record, table)
        and record.reason is _INSUFFICIENT
        and item[2] < len(record.entries)
        and copy_matches(record.entries[item[2]], copy)
    )


# --------------------------------------------------------------------------- the events


def _settled(purse: Purse, event: Settled) -> None:
    settlement = event.settlement
    bet = settlement.bet
    staged = purse.staged
    item: ItemKey = bet.id
    money: BetMoney | None = staged.get(STAKES, item)
    if money is None:
        return
    staged.delete(STAKES, item)
    outcome = settlement.outcome
    funds = purse.funds
    if money.stake:
        if outcome is Outcome.WIN:
            paid = min(settlement.profit, funds.bank_real)
            funds.bank_real -= paid
            purse.pay(item[0], money.stake + paid)
        elif outcome is Outcome.LOSE:
            funds.bank_real += money.stake
        else:
            purse.pay(item[0], money.stake)
    elif money.collateral and outcome is Outcome.LOSE:
        seat = purse.seat(bet.owner)
        if seat is not None:
            charge = min(bet.stake, seat.bond)
            purse.put_seat(bet.owner, SeatMoney(seat.bond - charge, seat.own, seat.freed))
            funds.bank_real += charge


def _vacated(purse: Purse, event: Vacated) -> None:
    seat = purse.seat(event.seat)
    purse.put_seat(event.seat, None)
    if seat is None or not seat.bond:
        return
    if event.forfeit and not seat.freed:
        purse.pay(SINK_KEY, seat.bond)
    else:
        purse.pay(event.key, seat.bond)


def _pending_bets(purse: Purse, key: bytes, nonce: int, upto: int) -> list[ItemKey]:
    """The key's escrowed bets at this table that are not live, with nonce ≤ ``upto``, whose
    window includes host nonce ``nonce``."""
    found = []
    purse.write_escrow()  # the escrow index (``owned``) is read from the state
    for item, escrow in escrowed_items(purse.staged, purse.table, key):
        if item[2] == JOIN_INDEX or item[1] > upto:
            continue
        if nonce <= escrow.window_end:
            found.append(item)
    return found


def _seen(
    purse: Purse, table: Table, nonce: int, named: dict[bytes, int], event: SeenRequests
) -> None:
    """Step 3: the Applied requests this packet sees — each at nonce c of a key it names at
    some m ≥ c, above what earlier packets named — release the sender's pending bets placed
    before c (cancel: those with nonce ≤ upto) within their window; a leave of an occupied seat
    the packet neither lists nor finds leaving frees its bond."""
    seats = dict(event.seats)
    for key in sorted(named):
        upto_named = named[key]
        before = table.named_upto.get(key, 0)
        if upto_named <= before:
            continue
        requests = purse.staged.get(REQUESTS, (purse.table, key), ())
        for request_nonce, kind, upto in requests:
            if not before < request_nonce <= upto_named:
                continue
            # a request concerns its sender's earlier bets only: later ones are outside the
            # seeing packet's closure (and were placed after the request)
            limit = (
                min(upto, request_nonce - 1) if kind == RequestKind.CANCEL else request_nonce - 1
            )
            for item in _pending_bets(purse, key, nonce, limit):
                purse.release(item)
            if kind == RequestKind.LEAVE:
                seat = seats.get(key)
                if (
                    seat is not None
                    and seat not in event.leaves
                    and seat not in event.leaving_before
                ):
                    money = purse.seat(seat)
                    if money is not None:
                        purse.put_seat(seat, SeatMoney(money.bond, money.own, freed=True))


def _declined(purse: Purse, table: Table, nonce: int, event: Declined) -> None:
    record = purse.staged.get(RECORDS, (event.key, event.nonce))
    item: ItemKey = (event.key, event.nonce, JOIN_INDEX)
    escrowed = purse.escrowed(item)
    escrow = None if escrowed is None else escrowed.item(JOIN_INDEX)
    if (
        isinstance(record, JoinRecord)
        and record.game == table.game
        and record.host == table.host
        and escrow is not None
        and nonce <= escrow.window_end
    ):
        purse.release(item, escrowed)


def _accepted(purse: Purse, table: Table, nonce: int, event: Accepted) -> None:
    """The seat's money: its held bond, if the copied join is the sender's own, Applied,
    escrowed and accepted within its window (else 0, and its return or forfeit moves
    nothing)."""
    copy = event.copy
    record = purse.staged.get(RECORDS, (copy.key, copy.nonce))
    own = own_join(record, table, copy.h, copy.head, copy.chain_n)
    bond = 0
    if own and record.reason is _APPLIED:
        item: ItemKey = (copy.key, copy.nonce, JOIN_INDEX)
        escrowed = purse.escrowed(item)
        escrow = None if escrowed is None else escrowed.item(JOIN_INDEX)
        if escrow is not None and nonce <= escrow.window_end:
            bond = purse.take(item, escrowed)
    purse.put_seat(event.seat, SeatMoney(bond, own))


def _released(purse: Purse, table: Table, nonce: int, event: ReleasedBet) -> None:
    escrowed = _holdable(purse, table, nonce, event.seat, event.item, None)
    if escrowed is not None:
        purse.release(event.item, escrowed)


def _included(purse: Purse, table: Table, nonce: int, event: IncludedBet) -> None:
    """A held stake that goes live leaves escrow for ``stakes``; one held but released goes
    back to its owner."""
    copy, item = event.copy, event.item
    escrowed = _holdable(purse, table, nonce, event.seat, item, copy)
    if escrowed is not None:
        if event.live:
            purse.staged.put(STAKES, item, BetMoney(purse.take(item, escrowed)))
        else:
            purse.release(item, escrowed)
    elif event.live and _collateral(purse, table, item, copy):
        purse.staged.put(STAKES, item, BetMoney(0, collateral=True))


def _to_pending(purse: Purse, nonce: int, event: ToPending) -> None:
    """A held stake back to pending comes back into escrow, held until re-included."""
    staged = purse.staged
    item: ItemKey = event.bet.id
    money: BetMoney | None = staged.get(STAKES, item)
    if money is None:
        return
    staged.delete(STAKES, item)
    if money.stake:
        # back alone if every item of its packet had left escrow
        returned = Escrow(money.stake, nonce + WINDOW, _RETURNED)
        purse.change_item(item, purse.escrowed(item), returned)


def _void_fee(purse: Purse, event: VoidFee) -> None:
    funds = purse.funds
    paid = min(event.amount, funds.host_bond_money)
    funds.host_bond_money -= paid
    purse.pay(SINK_KEY, paid)


def _ended(purse: Purse, table: Table, event: Ended) -> None:
    funds = purse.funds
    if event.early:
        purse.pay(SINK_KEY, funds.host_bond_money)
    else:
        purse.pay(table.host, funds.host_bond_money)
    funds.host_bond_money = 0
    purse.pay(TREASURY_KEY if table.bank is Bank.TREASURY else table.host, funds.bank_real)
    funds.bank_real = 0


def host_money(
    staged: Staged,
    before: Table,
    nonce: int,
    events: Sequence[Event],
    named: dict[bytes, int],
) -> dict[bytes, int]:
    """The money of one Applied host packet (``named``: the highest nonce it names of each
    key): stage the table's funds and escrow changes and return the credits it pays, by
    account."""
    funds: TableMoney = staged.get(FUNDS, before.key)
    purse = Purse(staged, before.key, funds.copy())
    for event in events:
        if isinstance(event, Settled):
            _settled(purse, event)
        elif isinstance(event, Vacated):
            _vacated(purse, event)
        elif isinstance(event, SeenRequests):
            _seen(purse, before, nonce, named, event)
        elif isinstance(event, Declined):
            _declined(purse, before, nonce, event)
        elif isinstance(event, Accepted):
            _accepted(purse, before, nonce, event)
        elif isinstance(event, ReleasedBet):
            _released(purse, before, nonce, event)
        elif isinstance(event, IncludedBet):
            _included(purse, before, nonce, event)
        elif isinstance(event, ToPending):
            _to_pending(purse, nonce, event)
        elif isinstance(event, VoidFee):
            _void_fee(purse, event)
        else:
            _ended(purse, before, event)
    purse.write_escrow()
    staged.put(FUNDS, before.key, purse.funds)
    return purse.credits
