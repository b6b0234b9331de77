"""Host table packets on table state: the sequence and order of operations of TABLES.md §4.

Each step is a function named after the text (:func:`host_faults`, :func:`settle_previous`,
:func:`vacate`, :func:`answer`, :func:`release`, :func:`include`, :func:`open_roll`, …).  They
read and change only table state (a working copy of the :class:`Table` and the staged state
maps) and the packet's own body: never a verdict, never a record of a player packet.  What money
must do follows as :data:`Event` values, in order, for :mod:`.money`; the keys the packet
named through its seat refs are its dependencies.

A failure is a host fault: :class:`HostFault` carries the refusal reason, and the packet has
no effect.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final, TypeAlias

from node.core.craps import (
    BetRequest,
    Limits,
    LiveBet,
    LiveIndex,
    Release,
    Settlement,
    place,
    return_all,
    return_bets,
    return_owner,
    roll_dice,
    seats_changed,
    settle_roll,
)
from node.core.craps.bettypes import COME_POINT_BETS
from node.core.craps.dice import preimage_valid
from node.core.craps.outcome import Outcome
from node.core.verdicts import Reason
from protocol.bets import COME_POINTS, BetType
from protocol.kinds import (
    Decline,
    GameEnd,
    Included,
    JoinCopy,
    Released,
    RevealCopy,
    RollOpen,
    Seat,
    Void,
)
from protocol.kinds import Record as Value  # plain classes with Final fields, equal by value

from .journal import Staged
from .params import INCLUDE_LEFT, MIN_PLAYER_CHAIN
from .state import ANSWERED, HEADS, NAMED, RELEASED, ROLLS, VOIDED, VOIDS, ItemKey, Table, TableKey
from .state import Seat as SeatState

__all__ = [
    "Accepted",
    "Declined",
    "Ended",
    "Event",
    "HostFault",
    "HostRun",
    "IncludedBet",
    "ReleasedBet",
    "SeenRequests",
    "Settled",
    "ToPending",
    "Vacated",
    "VoidFee",
    "run_game_end",
    "run_host",
    "run_roll_open",
    "run_seat",
    "run_void",
]

BetKey: TypeAlias = ItemKey
"""A bet's id at a table, and its item: ``(key, nonce, index)``."""


# --------------------------------------------------------------------------- events for money


class Settled(Value):
    """A live bet ended: won, lost, pushed, or returned at stake."""

    def __init__(self, settlement: Settlement) -> None:
        self.settlement: Final = settlement


class Vacated(Value):
    """A seat was vacated: its bond returns, or is forfeited (a void's S)."""

    def __init__(self, seat: int, key: bytes, forfeit: bool) -> None:
        self.seat: Final = seat
        self.key: Final = key
        self.forfeit: Final = forfeit


class SeenRequests(Value):
    """Step 3: the requests this packet sees are acted on here (money only)."""

    def __init__(
        self,
        leaving_before: frozenset[int],
        leaves: frozenset[int],
        seats: tuple[tuple[bytes, int], ...],
    ) -> None:
        self.leaving_before: Final = leaving_before
        """Seats already leaving when the packet began."""
        self.leaves: Final = leaves
        """Seats the packet lists in ``leaves``."""
        self.seats: Final = seats
        """The occupied seats at step 3, as ``(key, seat)``."""


class Declined(Value):
    def __init__(self, key: bytes, nonce: int) -> None:
        self.key: Final = key
        self.nonce: Final = nonce


class Accepted(Value):
    def __init__(self, seat: int, copy: JoinCopy) -> None:
        self.seat: Final = seat
        self.copy: Final = copy


class ReleasedBet(Value):
    """A ``released`` entry that took effect (its seat occupied, not yet named)."""

    def __init__(self, seat: int, item: BetKey) -> None:
        self.seat: Final = seat
        self.item: Final = item


class IncludedBet(Value):
    """An ``included`` entry that took effect: live, or released with its reason."""

    def __init__(self, seat: int, item: BetKey, copy: Included, live: bool) -> None:
        self.seat: Final = seat
        self.item: Final = item
        """The bet's id, and its escrowed item: ``(key, nonce, index)``."""
        self.copy: Final = copy
        self.live: Final = live


class ToPending(Value):
    """A bet first included in a voided roll, back to pending."""

    def __init__(self, bet: LiveBet) -> None:
        self.bet: Final = bet


class VoidFee(Value):
    def __init__(self, amount: int) -> None:
        self.amount: Final = amount


class Ended(Value):
    """game_end: ``early`` when live bets were returned at stake."""

    def __init__(self, early: bool) -> None:
        self.early: Final = early


Event: TypeAlias = (
    Settled
    | Vacated
    | SeenRequests
    | Declined
    | Accepted
    | ReleasedBet
    | IncludedBet
    | ToPending
    | VoidFee
    | Ended
)


class HostFault(Exception):
    """A host packet that breaks the sequence or a step's check: Refused, with no effect."""

    def __init__(self, reason: Reason, why: str) -> None:
        super().__init__(why)
        self.reason = reason


class HostRun:
    """One host packet run over a working copy of its table."""

    def __init__(self, table: Table, staged: Staged, nonce: int, network_id: bytes) -> None:
        self.table = table
        self.staged = staged
        self.nonce = nonce
        self.network_id = network_id
        self.key: Final[TableKey] = table.key
        self.events: list[Event] = []
        self.named: dict[bytes, int] = {}
        """The highest nonce the packet's refs name of each key, in first-named order: its
        dependencies (a chain is judged in order, so its highest named packet is enough)."""
        self.first: set[BetKey] = set()
        self.fault: HostFault | None = None
        self.masks: dict[tuple[Any, ...], int] = {}
        """The ``named`` masks of its table this run changed, by bet ``(key, nonce)``, until
        :meth:`write_named` (the state's masks are read and written through it: one write per
        bet, not per entry)."""

    def name(self, key: bytes, nonce: int, index: int) -> bool:
        """Name the bet entry ``(key, nonce, index)`` (index < 8) here; False if it was named
        already (and not returned to pending since)."""
        bet: tuple[Any, ...] = (key, nonce)  # one tuple object (docs/BUILD.md)
        named = self._named_mask(bet)
        bit = 1 << index
        if named & bit:
            return False
        self.masks[bet] = named | bit
        return True

    def unname(self, item: BetKey) -> None:
        """The bet entry ``item`` goes back to pending: it may be named again."""
        bet: tuple[Any, ...] = (item[0], item[1])
        self.masks[bet] = self._named_mask(bet) & ~(1 << item[2])

    def _named_mask(self, bet: tuple[Any, ...]) -> int:
        mask = self.masks.get(bet)
        if mask is None:
            found: int = self.staged.get(NAMED, (self.key, bet[0], bet[1]), 0)
            return found
        return mask

    def write_named(self) -> None:
        """Write the run's named masks into the state (the ``named`` map, by table and bet),
        once per bet."""
        staged = self.staged
        table = self.key
        for (key, nonce), mask in self.masks.items():
            if mask:
                staged.put(NAMED, (table, key, nonce), mask)
            else:
                staged.delete(NAMED, (table, key, nonce))

    def resolve(self, seat: int, nonce: int) -> bytes | None:
        """The key at ``seat`` now, recorded as named at ``nonce`` (None: an empty seat).  The
        seat was checked to be a player seat (``check_refs``, ``check_lists``) before."""
        occupant = self.table.seats.get(seat)
        if occupant is None:
            return None
        self.ref(occupant.key, nonce)
        return occupant.key

    def ref(self, key: bytes, nonce: int) -> None:
        """The packet names ``key``'s packet ``nonce``."""
        if nonce > self.named.get(key, 0):
            self.named[key] = nonce


# --------------------------------------------------------------------------- checks


def _ascending(seats: Sequence[int], max_players: int) -> bool:
    """Strictly ascending player seats 1 … max_players − 1."""
    previous = 0
    for seat in seats:
        if seat <= previous or seat >= max_players:
            return False
        previous = seat
    return True


def check_lists(table: Table, *lists: Sequence[int]) -> None:
    """Seat lists strictly ascending, naming player seats only (TABLES.md §1, T32)."""
    for seats in lists:
        if not _ascending(seats, table.params.max_players):
            raise HostFault(Reason.BAD_LIST, "a seat list out of order or naming a non-player seat")


def check_refs(table: Table, entries: Sequence[Released | Included]) -> None:
    """Every seat ref names a player seat 1 … max_players − 1 (TABLES.md §1, Lists): an entry
    naming seat 0 or a seat beyond the table is a host fault, not an empty seat."""
    for entry in entries:
        if not 1 <= entry.seat < table.params.max_players:
            raise HostFault(Reason.BAD_LIST, f"an entry names seat {entry.seat}")


def check_reveals(run: HostRun, reveals: Sequence[RevealCopy], seats: Sequence[int]) -> None:
    """``reveals`` are exactly ``seats`` (ascending), each preimage valid for its seat's value."""
    if [r.seat for r in reveals] != list(seats):
        raise HostFault(Reason.BAD_REVEALS, "reveals do not match the listed seats")
    for r in reveals:
        occupant = run.table.seats.get(r.seat)
        if occupant is None or not preimage_valid(r.preimage, occupant.current):
            raise HostFault(Reason.BAD_REVEALS, f"seat {r.seat}'s preimage is not valid")
        run.resolve(r.seat, r.nonce)


_BET_TYPES: Final[dict[int, BetType]] = {int(bet): bet for bet in BetType}
"""Wire code → bet type (a lookup, cheaper than calling the enum)."""


def malformed_copy(copy: Included) -> bool:
    """Fields that fit the schema but contradict each other (TABLES.md §1, Copies)."""
    if copy.index >= 8:
        return True
    code = _BET_TYPES.get(copy.code)
    if code is None:
        return True
    if code in COME_POINT_BETS:
        return copy.point not in COME_POINTS
    return copy.point is not None


# --------------------------------------------------------------------------- the steps


def host_faults(run: HostRun, body: RollOpen) -> None:
    """Step 0 of roll_open(k)."""
    t = run.table
    if body.k != t.k + 1:
        raise HostFault(Reason.OUT_OF_TURN, f"roll_open({body.k}) after roll {t.k}")
    if t.host_left == 0:
        raise HostFault(Reason.HOST_CHAIN, "the host's chain is exhausted")
    if not preimage_valid(body.preimage, t.host_current):
        raise HostFault(Reason.HOST_CHAIN, "the host preimage is not valid")
    check_lists(t, body.leaves, body.listed)
    check_refs(t, body.released)
    check_refs(t, body.included)
    if t.open:
        check_reveals(run, body.reveals, t.listed)
    elif body.reveals:
        raise HostFault(Reason.BAD_REVEALS, "reveals while no roll is open")
    if len(body.included) + len(body.released) > t.params.max_entries:
        raise HostFault(Reason.TOO_MANY, "included + released above max_entries")
    if len(body.joins) + len(body.declines) > 1:
        raise HostFault(Reason.TOO_MANY, "more than one join answer in a roll_open")


def settle_previous(run: HostRun, reveals: Sequence[RevealCopy]) -> None:
    """Step 1: settle the open roll with the copied reveals, then move the chain values."""
    t = run.table
    if not t.open:
        return
    roll = roll_dice(
        run.network_id,
        t.host,
        t.game,
        t.k,
        t.host_current,
        {r.seat: r.preimage for r in reveals},
    )
    result = settle_roll(t.craps, roll, t.occupied())
    for settlement in result.settlements:
        if settlement.outcome is Outcome.WIN:
            t.cover -= settlement.profit
        run.events.append(Settled(settlement))
    move_values(t, reveals)
    t.open = False


def move_values(t: Table, reveals: Sequence[RevealCopy]) -> None:
    for r in reveals:
        t.seats[r.seat].current = r.preimage


def vacate_seat(run: HostRun, seat: int, forfeit: bool) -> None:
    """The seat's party leaves: its live bets return at stake, its bond returns (or is
    forfeited)."""
    t = run.table
    for settlement in return_owner(t.craps, seat):
        run.events.append(Settled(settlement))
    occupant = t.seats.pop(seat)
    run.events.append(Vacated(seat, occupant.key, forfeit))


def vacate(run: HostRun) -> None:
    """Step 2: vacate leaving seats with no live bet, and seats with no reveal left."""
    t = run.table
    for seat in t.occupied():
        occupant = t.seats[seat]
        if (occupant.leaving and not t.live_at(seat)) or occupant.left == 0:
            vacate_seat(run, seat, forfeit=False)
    seats_changed(t.craps, t.occupied())


def seen_requests(run: HostRun, leaving_before: frozenset[int], leaves: Sequence[int]) -> None:
    """Step 3: money only; the event marks where it acts."""
    t = run.table
    occupied = tuple((t.seats[s].key, s) for s in t.occupied())
    run.events.append(SeenRequests(leaving_before, frozenset(leaves), occupied))


def answer(
    run: HostRun, leaves: Sequence[int], declines: Sequence[Decline], joins: Sequence[JoinCopy]
) -> None:
    """Step 4: the answers, in listed order: leaves, declines, joins."""
    t = run.table
    for seat in leaves:
        occupant = t.seats.get(seat)
        if occupant is None:
            continue
        if t.live_at(seat):
            occupant.leaving = True
        else:
            vacate_seat(run, seat, forfeit=False)
    for decline in declines:
        key, nonce = decline.key, decline.nonce
        run.ref(key, nonce)
        answered: tuple[Any, ...] = (run.key, key, nonce)
        if run.staged.has(ANSWERED, answered):
            continue  # declining an answered join again is ignored
        run.staged.put(ANSWERED, answered, False)
        run.events.append(Declined(key, nonce))
    for copy in joins:
        seat_join(run, copy)
    seats_changed(t.craps, t.occupied())


def seat_join(run: HostRun, copy: JoinCopy) -> None:
    """One join answer: a host fault, or the lowest free seat with the copied chain."""
    t = run.table
    run.ref(copy.key, copy.nonce)
    if copy.key == t.host or t.seat_of(copy.key) is not None:
        raise HostFault(Reason.BAD_JOIN, "the joining key is the host or already seated")
    if run.staged.has(ANSWERED, (run.key, copy.key, copy.nonce)):
        raise HostFault(Reason.BAD_JOIN, "the join was answered already")
    if run.staged.has(HEADS, (run.key, copy.head)):
        raise HostFault(Reason.BAD_JOIN, "the chain head was accepted at this table before")
    if copy.chain_n < MIN_PLAYER_CHAIN:
        raise HostFault(Reason.BAD_JOIN, "the copied chain is shorter than 64")
    free = [s for s in range(1, t.params.max_players) if s not in t.seats]
    if not free:
        raise HostFault(Reason.BAD_JOIN, "no seat is free")
    seat = free[0]
    t.seats[seat] = SeatState(
        copy.key, copy.nonce, copy.h, copy.head, copy.chain_n, copy.head, copy.chain_n
    )
    run.staged.put(ANSWERED, (run.key, copy.key, copy.nonce), True)
    run.staged.put(HEADS, (run.key, copy.head), True)
    run.events.append(Accepted(seat, copy))


HOST_RELEASE: Final = "released"
"""The ``released`` map's value for a bet the host listed in ``released``; a failed inclusion
records its check's label (``seated``, ``phase``, ``limits``, …, ``cover``)."""


def release(run: HostRun, released: Sequence[Released]) -> None:
    """Step 5: ``released``, in listed order (a live bet is named, so never released)."""
    for entry in released:
        seat, nonce, index = entry.seat, entry.nonce, entry.index
        key = run.resolve(seat, nonce)
        if key is None or index >= 8:
            continue
        if not run.name(key, nonce, index):
            continue
        run.staged.put(RELEASED, (run.key, key, nonce, index), HOST_RELEASE)
        run.events.append(ReleasedBet(seat, (key, nonce, index)))


def include(run: HostRun, included: Sequence[Included]) -> int:
    """Step 6: ``included``, in listed order: seated → phase → limits → duplicate → odds cap
    → risk cap → cover; a pass goes live, first included in this roll; a failure is released
    with its reason.  Returns the table's risk after it."""
    t = run.table
    limits = Limits(t.params.min_bet, t.params.max_bet)
    index = LiveIndex.of(t.craps)
    for copy in included:
        key = run.resolve(copy.seat, copy.nonce)
        if key is None or malformed_copy(copy):
            continue
        if not run.name(key, copy.nonce, copy.index):
            continue
        occupant = t.seats[copy.seat]
        bet_id: BetKey = (key, copy.nonce, copy.index)
        if occupant.leaving or occupant.left < INCLUDE_LEFT:
            outcome: LiveBet | Release = Release.SEATED
        else:
            request = BetRequest(_BET_TYPES[copy.code], copy.amount, copy.point)
            outcome = place(
                t.craps,
                bet_id,
                copy.seat,
                request,
                limits,
                bond=t.params.bond,
                cover=t.cover,
                index=index,
            )
        if isinstance(outcome, Release):
            run.staged.put(RELEASED, (run.key, *bet_id), outcome.label)
            run.events.append(IncludedBet(copy.seat, bet_id, copy, live=False))
        else:
            run.first.add(bet_id)
            run.events.append(IncludedBet(copy.seat, bet_id, copy, live=True))
    return index.totals.risk


def open_roll(run: HostRun, body: RollOpen, at_risk: int) -> None:
    """Step 7: ``listed`` must be the occupied player seats, and the remaining host bond must
    pay a void of every listed seat plus the roll's risk (``at_risk``); then roll k opens."""
    t = run.table
    if list(body.listed) != t.occupied():
        raise HostFault(Reason.BAD_LISTED, "listed is not the set of occupied player seats")
    if t.host_bond_left < t.params.bond * len(body.listed) + at_risk:
        raise HostFault(Reason.HOST_BOND_SHORT, "the host bond left cannot pay a void")
    t.k = body.k
    t.open = True
    t.listed = tuple(body.listed)
    t.risk_at_open = at_risk
    t.first = frozenset(run.first)
    t.host_current = body.preimage
    t.host_left -= 1
    for seat in body.listed:
        t.seats[seat].left -= 1


def _note_named(run: HostRun) -> None:
    """The highest nonce named per key, for the requests later packets see."""
    upto = run.table.named_upto
    for key, nonce in run.named.items():
        if nonce > upto.get(key, 0):
            upto[key] = nonce


# --------------------------------------------------------------------------- the packets


def run_roll_open(run: HostRun, body: RollOpen) -> None:
    t = run.table
    leaving_before = frozenset(s for s, seat in t.seats.items() if seat.leaving)
    host_faults(run, body)
    settle_previous(run, body.reveals)
    vacate(run)
    seen_requests(run, leaving_before, body.leaves)
    answer(run, body.leaves, body.declines, body.joins)
    release(run, body.released)
    at_risk = include(run, body.included)
    open_roll(run, body, at_risk)
    run.staged.put(ROLLS, (run.key, body.k), run.nonce)
    _note_named(run)
    t.last = run.nonce


def run_seat(run: HostRun, body: Seat) -> None:
    """seat (idle): steps 2–5."""
    t = run.table
    if t.open:
        raise HostFault(Reason.OUT_OF_TURN, "seat while a roll is open")
    check_lists(t, body.leaves)
    check_refs(t, body.released)
    leaving_before = frozenset(s for s, seat in t.seats.items() if seat.leaving)
    vacate(run)
    seen_requests(run, leaving_before, body.leaves)
    answer(run, body.leaves, body.declines, body.joins)
    release(run, body.released)
    _note_named(run)
    t.last = run.nonce


def run_void(run: HostRun, body: Void) -> None:
    """void(k, S): S's seats are vacated, forfeiting their bonds; the others' bets first
    included in k go back to pending; the remaining host bond pays the void fee."""
    t = run.table
    if not t.open or body.k != t.k:
        raise HostFault(Reason.OUT_OF_TURN, f"void({body.k}) while roll {t.k} is not open")
    check_lists(t, body.withheld)
    withheld = set(body.withheld)
    if not withheld or not withheld <= set(t.listed):
        raise HostFault(Reason.BAD_VOID, "S is empty or not within the listed seats")
    check_reveals(run, body.present, [s for s in t.listed if s not in withheld])
    move_values(t, body.present)
    staged = run.staged
    for seat in body.withheld:
        occupant = t.seats[seat]
        staged.put(VOIDED, (run.key, t.k, occupant.key), occupant.current)
        _count_void(staged, (1, occupant.key))
        vacate_seat(run, seat, forfeit=True)
    _count_void(staged, (0, t.host))
    # in id order; one returned with its seat, or with the bet it backs, is not live any more
    for settlement in return_bets(t.craps, sorted(t.first)):
        back = settlement.bet
        run.unname(back.id)
        run.events.append(ToPending(back))
    fee = t.params.bond * len(withheld) + t.risk_at_open
    t.host_bond_left -= fee
    run.events.append(VoidFee(fee))
    t.open = False
    t.first = frozenset()
    seats_changed(t.craps, t.occupied())
    # a void sees no request (only a seat or roll_open does, TABLES.md §1): what it names
    # must not hide a request from the first seat/roll_open that names its sender above it
    t.last = run.nonce


def run_game_end(run: HostRun, body: GameEnd) -> None:
    """game_end(k): settle the open roll, return every live bet at stake (an early end when
    any was), vacate every seat with its bond; nothing may follow."""
    t = run.table
    if t.open:
        if body.k != t.k:
            raise HostFault(Reason.OUT_OF_TURN, f"game_end({body.k}) while roll {t.k} is open")
        check_reveals(run, body.reveals, t.listed)
        settle_previous(run, body.reveals)
    elif body.k != 0 or body.reveals:
        raise HostFault(Reason.OUT_OF_TURN, "game_end of a roll while none is open")
    returned = return_all(t.craps)
    for settlement in returned:
        run.events.append(Settled(settlement))
    for seat in t.occupied():
        vacate_seat(run, seat, forfeit=False)
    seats_changed(t.craps, t.occupied())
    run.events.append(Ended(early=bool(returned)))
    t.ended = run.nonce
    t.early = bool(returned)
    t.first = frozenset()
    _note_named(run)
    t.last = run.nonce


def run_host(run: HostRun, body: Seat | RollOpen | Void | GameEnd) -> None:
    """Run one host table packet's steps over ``run``; a host fault is kept in ``run.fault``
    (the working table is then left as the failing step found it)."""
    try:
        if isinstance(body, RollOpen):
            run_roll_open(run, body)
        elif isinstance(body, Seat):
            run_seat(run, body)
        elif isinstance(body, Void):
            run_void(run, body)
        else:
            run_game_end(run, body)
    except HostFault as fault:
        run.fault = fault
        return
    run.write_named()


def _count_void(staged: Staged, key: tuple[int, bytes]) -> None:
    staged.incr(VOIDS, key)
