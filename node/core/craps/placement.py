"""Placement: the inclusion checks of one bet in BET_RULES' order, and a passing bet made live.

Order (TABLES.md §4 step 6): seated (the table layer's) → phase (a missing bet to back
included) → limits (the odds minimum included) → duplicate → odds cap → risk cap → cover; the
first failure is the :class:`Release` reason.  The balance is the ledger's check, not this one.
"""

from __future__ import annotations

import builtins
import enum
from dataclasses import dataclass
from typing import Final

from protocol.bets import COME_POINTS, BetType

from .bettypes import COME_POINT_BETS, ODDS_MIN, Family, by_code, placeable, spec_of
from .exposure import Totals, exposure
from .numbers import fresh_repeater
from .odds import backed_bet, cap, odds_number
from .series import fresh_tracker
from .table import BetId, LiveBet, TableState

__all__ = ["BetRequest", "Limits", "LiveIndex", "Release", "check", "place"]


class Release(enum.IntEnum):
    """Why an included bet was released; the first failing check in this order wins.

    The value orders the checks; ``label`` is the stable name players, JSON and the state digest
    see.  SEATED is never returned here: the table layer checks it before calling :func:`place`.
    """

    SEATED = 0
    PHASE = 1
    LIMITS = 2
    DUPLICATE = 3
    ODDS_CAP = 4
    RISK_CAP = 5
    COVER = 6

    @property
    def label(self) -> str:
        """``"seated"``, ``"phase"``, ``"limits"``, ``"duplicate"``, ``"odds_cap"``, …"""
        return self.name.lower()


_NEEDS_COME_POINT: Final = by_code(dict.fromkeys(COME_POINT_BETS, True), False)
"""Whether a bet's entry names a come point (:data:`COME_POINT_BETS`), by wire code."""


class BetRequest:
    """One bet as a player asks for it: type, stake and, for OddsCome/OddsDontCome, the come
    point it backs (the wire entry ``[code, amount(, come point)]``).  A value (``Final``
    fields; a plain class rather than a frozen dataclass, which costs several times as much to
    build: docs/BUILD.md)."""

    __slots__ = ("amount", "come_point", "type")

    def __init__(self, type: BetType, amount: int, come_point: int | None = None) -> None:
        if builtins.type(amount) is not int or amount <= 0:  # a bool is no stake
            raise ValueError(f"a stake is a positive number of base units, not {amount!r}")
        code: int = type  # a plain int indexes the tuple directly when compiled
        if _NEEDS_COME_POINT[code]:
            if come_point not in COME_POINTS:
                raise ValueError(f"{type.name} needs a come point, not {come_point!r}")
        elif come_point is not None:
            raise ValueError(f"{type.name} takes no come point")
        self.type: Final = type
        self.amount: Final = amount
        self.come_point: Final = come_point

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, BetRequest)
            and self.type is other.type
            and self.amount == other.amount
            and self.come_point == other.come_point
        )

    def __hash__(self) -> int:
        return hash((self.type, self.amount, self.come_point))

    def __repr__(self) -> str:
        return (
            f"BetRequest(type={self.type!r}, amount={self.amount!r}, "
            f"come_point={self.come_point!r})"
        )


@dataclass(frozen=True, slots=True)
class Limits:
    """The table's game parameters the checks read (base units): ``min_bet`` ≤ stake ≤
    ``max_bet`` for every bet but odds."""

    min_bet: int
    max_bet: int

    def __post_init__(self) -> None:
        if not 0 < self.min_bet <= self.max_bet:
            raise ValueError(f"need 0 < min_bet ≤ max_bet, got {self.min_bet}, {self.max_bet}")


class LiveIndex:
    """A table's live bets as the checks of several inclusions in a row read them: their ids,
    each owner's bets (in placement order), and their risk and exposure sums.  Made once from
    the state (:meth:`of`); :func:`place` adds each bet it makes live, so that an inclusion
    costs O(its owner's bets) instead of O(live bets).  Valid while the state's bets change
    only through ``place`` with this index.  (A plain class: made per host packet, and a
    compiled dataclass keeps its interpreted ``__init__``, docs/BUILD.md.)"""

    __slots__ = ("ids", "owned", "totals")

    def __init__(self, ids: set[BetId], owned: dict[int, list[LiveBet]], totals: Totals) -> None:
        self.ids = ids
        self.owned = owned
        self.totals = totals

    @classmethod
    def of(cls, state: TableState) -> LiveIndex:
        owned: dict[int, list[LiveBet]] = {}
        ids: set[BetId] = set()
        for bet in state.bets:
            ids.add(bet.id)
            _own(owned, bet)
        return cls(ids, owned, Totals.of(state))

    def add(self, bet: LiveBet, bet_exposure: int) -> None:
        """``bet`` went live; ``bet_exposure`` is its exposure."""
        self.ids.add(bet.id)
        _own(self.owned, bet)
        self.totals.add(bet, bet_exposure)


def _own(owned: dict[int, list[LiveBet]], bet: LiveBet) -> None:
    """Append ``bet`` to its owner's list (``setdefault`` would build an empty list each call)."""
    bets = owned.get(bet.owner)
    if bets is None:
        owned[bet.owner] = [bet]
    else:
        bets.append(bet)


_NONE: Final[list[LiveBet]] = []
"""The live bets of an owner with none (read only)."""

_KEYED: Final = by_code(
    dict.fromkeys((BetType.Come, BetType.DontCome, BetType.OddsCome, BetType.OddsDontCome), True),
    False,
)
"""Whether bets of a type are counted per number for duplicates, by wire code."""


def _duplicate(bets: list[LiveBet], owner: int, bet_type: BetType, number: int | None) -> bool:
    """One open bet per (owner, type, number): the come point for Come/DontCome (None while
    travelling), the backed come point for OddsCome/OddsDontCome; one per type otherwise.
    ``bets``: the live bets, or at least the owner's."""
    code: int = bet_type  # a plain int indexes the tuple directly when compiled
    keyed = _KEYED[code]
    for bet in bets:
        if bet.owner == owner and bet.type is bet_type and (not keyed or bet.number == number):
            return True
    return False


def _candidate(
    state: TableState,
    bet_id: BetId,
    owner: int,
    request: BetRequest,
    limits: Limits,
    owned: list[LiveBet],
) -> LiveBet | Release:
    """The bet as it would go live, or the first of phase → limits → duplicate → odds cap that
    fails.  ``owned``: the live bets, or at least the owner's, in placement order."""
    bet_type, amount = request.type, request.amount
    family = spec_of(bet_type).family
    odds = family is Family.ODDS
    if not placeable(bet_type, state.point):
        return Release.PHASE
    backed = backed_bet(state, owner, bet_type, request.come_point, owned) if odds else None
    if odds and backed is None:
        return Release.PHASE
    if odds:
        if amount < ODDS_MIN:
            return Release.LIMITS
    elif not limits.min_bet <= amount <= limits.max_bet:
        return Release.LIMITS
    if _duplicate(owned, owner, bet_type, request.come_point):
        return Release.DUPLICATE
    number: int | None = None
    tracker: tuple[int, ...] = ()
    if backed is not None:
        number = odds_number(state, backed)
        if amount > cap(number, backed.stake):
            return Release.ODDS_CAP
    if family is Family.REPEATER:
        tracker = fresh_repeater()
    elif family is Family.SERIES:
        tracker = fresh_tracker(bet_type)
    backs = None if backed is None else backed.id
    return LiveBet(bet_id, owner, bet_type, amount, state.next_seq, number, backs, tracker)


def check(state: TableState, owner: int, request: BetRequest, limits: Limits) -> Release | None:
    """The first of phase → limits → duplicate → odds cap that ``request`` fails, else None."""
    found = _candidate(state, (), owner, request, limits, state.bets)
    return found if isinstance(found, Release) else None


def place(
    state: TableState,
    bet_id: BetId,
    owner: int,
    request: BetRequest,
    limits: Limits,
    *,
    bond: int | None = None,
    cover: int | None = None,
    index: LiveIndex | None = None,
) -> LiveBet | Release:
    """Include one bet: run every check in order and, when all pass, make it live.

    ``bond`` caps the table-wide risk (None: no risk cap); ``cover`` is the bank's K (None: no
    cover check).  ``index``, when given, is the state's :class:`LiveIndex`, read instead of
    the live bets and kept up to date.  Returns the live bet (also appended to ``state``) or
    the release reason.
    """
    if index is None:
        live, owned = state.find(bet_id) is not None, state.bets
    else:
        live, owned = bet_id in index.ids, index.owned.get(owner, _NONE)
    if live:
        raise ValueError(f"bet {bet_id!r} is already live at this table")
    found = _candidate(state, bet_id, owner, request, limits, owned)
    if isinstance(found, Release):
        return found
    added = exposure(found)
    if bond is not None or cover is not None:
        totals = index.totals if index is not None else Totals.of(state)
        if bond is not None and totals.risk + found.stake + added > bond:
            return Release.RISK_CAP
        if cover is not None and totals.exposure + added > cover:
            return Release.COVER
    state.bets.append(found)
    state.next_seq += 1
    if index is not None:
        index.add(found, added)
    return found
