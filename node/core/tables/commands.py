"""The table commands a user gives its node: what the control API calls, one frozen dataclass
each, checked when made (a malformed command raises ``ValueError`` naming the field).

Host commands name a table of this node by its game id ``game`` (G); player commands name a
table by ``(host, game)``.  They travel to the table agent (:mod:`.agent`) inside the core's
``TableCommand``; the agent refuses what it will not sign with one readable line
(``PlayerError``).  Nothing here reads a replica.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from protocol.constants import HASH_LEN, MAX_BETS_PER_PACKET, MAX_CHAIN_N, PUBLIC_KEY_LEN
from protocol.kinds import Bank, BetEntry, TableParams

from .params import DEFAULT_BANKROLL, DEFAULT_CHAIN_N, MIN_PLAYER_CHAIN, default_params

__all__ = [
    "CancelBets",
    "CreateTable",
    "EndGame",
    "JoinTable",
    "LeaveTable",
    "OpenRoll",
    "PlaceBets",
    "SetCadence",
    "TableCommandPayload",
]


def _check_game(game: bytes) -> None:
    if type(game) is not bytes or len(game) != HASH_LEN:
        raise ValueError(f"a game id is {HASH_LEN} bytes, not {game!r}")


def _check_host(host: bytes) -> None:
    if type(host) is not bytes or len(host) != PUBLIC_KEY_LEN:
        raise ValueError(f"a host key is {PUBLIC_KEY_LEN} bytes, not {len(host)}")


def _check_cadence(roll_every: float | None) -> None:
    if roll_every is not None and not (math.isfinite(roll_every) and roll_every > 0):
        raise ValueError(f"roll_every is a positive number of seconds, not {roll_every!r}")


# --------------------------------------------------------------------------- as a host


@dataclass(frozen=True, slots=True)
class CreateTable:
    """Create a table hosted by this node (TABLES.md §2, ``create``).

    ``roll_every``: the table's cadence — open the next roll this many seconds after the last
    one, whenever bets are live or includable (None: only on :class:`OpenRoll`).  Joins are
    answered, and withholders voided, whatever the cadence."""

    params: TableParams = field(default_factory=default_params)
    bankroll: int = DEFAULT_BANKROLL
    bank: Bank = Bank.OWN
    roll_every: float | None = None

    def __post_init__(self) -> None:
        if type(self.bankroll) is not int or self.bankroll < 0:
            raise ValueError(f"bankroll is a number of base units, not {self.bankroll!r}")
        _check_cadence(self.roll_every)


@dataclass(frozen=True, slots=True)
class OpenRoll:
    """Open the next roll of this node's table ``game`` now: settle the open roll (every listed
    seat has revealed) and open roll k + 1 with the bets the honest host includes.  Pending
    joins are answered first (a ``seat``), and the roll follows by itself."""

    game: bytes

    def __post_init__(self) -> None:
        _check_game(self.game)


@dataclass(frozen=True, slots=True)
class SetCadence:
    """Change the cadence of this node's table ``game`` (None: roll only on command)."""

    game: bytes
    roll_every: float | None

    def __post_init__(self) -> None:
        _check_game(self.game)
        _check_cadence(self.roll_every)


@dataclass(frozen=True, slots=True)
class EndGame:
    """End this node's table ``game``: at the next packet that may (``game_end``; live bets
    then return at stake and the host bond is forfeited, an early end), or with ``wind_down``
    include nothing new, seat nobody, roll on (on command or cadence) until no bet is live,
    then end."""

    game: bytes
    wind_down: bool = False

    def __post_init__(self) -> None:
        _check_game(self.game)


# --------------------------------------------------------------------------- as a player


@dataclass(frozen=True, slots=True)
class JoinTable:
    """Join ``host``'s table ``game`` with a chain of ``chain_n`` reveals (a seat's longest
    stay).  A wallet joins only tables whose create is own-funded, unless ``trust``
    (TABLES.md §8)."""

    host: bytes
    game: bytes
    chain_n: int = DEFAULT_CHAIN_N
    trust: bool = False

    def __post_init__(self) -> None:
        _check_host(self.host)
        _check_game(self.game)
        if type(self.chain_n) is not int or not MIN_PLAYER_CHAIN <= self.chain_n <= MAX_CHAIN_N:
            raise ValueError(f"chain_n is {MIN_PLAYER_CHAIN} … {MAX_CHAIN_N}, not {self.chain_n!r}")


@dataclass(frozen=True, slots=True)
class PlaceBets:
    """Bet at ``host``'s table ``game``: one ``bet`` packet of 1 … 8 entries."""

    host: bytes
    game: bytes
    bets: tuple[BetEntry, ...]

    def __post_init__(self) -> None:
        _check_host(self.host)
        _check_game(self.game)
        if not 1 <= len(self.bets) <= MAX_BETS_PER_PACKET:
            raise ValueError(
                f"a bet packet holds 1 … {MAX_BETS_PER_PACKET} bets, not {len(self.bets)}"
            )


@dataclass(frozen=True, slots=True)
class LeaveTable:
    """Ask to leave ``host``'s table ``game`` (advisory: the seat goes once its bets settle,
    TABLES.md §6); pending bets are released when the host sees it."""

    host: bytes
    game: bytes

    def __post_init__(self) -> None:
        _check_host(self.host)
        _check_game(self.game)


@dataclass(frozen=True, slots=True)
class CancelBets:
    """Cancel this key's pending bets at ``host``'s table ``game`` with nonce ≤ ``upto``
    (None: every bet so far) — released when the host sees it — and reclaim whatever is
    reclaimable now (items past their window, everything after ``game_end``)."""

    host: bytes
    game: bytes
    upto: int | None = None

    def __post_init__(self) -> None:
        _check_host(self.host)
        _check_game(self.game)
        if self.upto is not None and (type(self.upto) is not int or self.upto < 1):
            raise ValueError(f"upto is a nonce ≥ 1, not {self.upto!r}")


TableCommandPayload = (
    CreateTable | OpenRoll | SetCadence | EndGame | JoinTable | PlaceBets | LeaveTable | CancelBets
)
"""Every table command (the payload of the core's ``TableCommand``)."""
