"""A table's parameters: when a create is well-formed, and the defaults (TABLES.md §2, §5, §9).

Windows, chain floors and the inclusion threshold are protocol numbers every replica agrees on;
the amounts are defaults a host may change within the genesis bounds.
"""

from __future__ import annotations

from typing import Final

from protocol.constants import CRAP, DEFAULT_MAX_PLAYERS, MAX_CHAIN_N, MAX_U64
from protocol.genesis import Genesis
from protocol.kinds import Bank, Create, TableParams

__all__ = [
    "DEFAULT_BANKROLL",
    "DEFAULT_BOND",
    "DEFAULT_CHAIN_N",
    "DEFAULT_HOST_BOND",
    "DEFAULT_MAX_BET",
    "DEFAULT_MAX_PLAYERS",
    "DEFAULT_MIN_BET",
    "INCLUDE_LEFT",
    "MAX_CHAIN_N",
    "MAX_ENTRIES",
    "MIN_HOST_CHAIN",
    "MIN_PLAYER_CHAIN",
    "WINDOW",
    "default_params",
    "malformed_create",
]

WINDOW: Final = 32
"""An item with table reference T is held only when named at host nonces T … T + 32."""
INCLUDE_LEFT: Final = 16
"""An included bet needs its seat to have at least this many reveals left (step 6, seated)."""
MIN_PLAYER_CHAIN: Final = 64
"""A join's chain_N floor."""
MIN_HOST_CHAIN: Final = 256
"""A create's chain_N floor."""

MAX_ENTRIES: Final[dict[int, int]] = {
    2: 46, 3: 44, 4: 42, 5: 40, 6: 37, 7: 35, 8: 33, 9: 31,
    10: 28, 11: 26, 12: 24, 13: 22, 14: 19, 15: 17, 16: 15,
}  # fmt: skip
"""``MAX_ENTRIES(P)`` of TABLES.md §5 (``protocol.budget.max_entries_for``; a test pins the
two to each other)."""

DEFAULT_MIN_BET: Final = 1 * CRAP
DEFAULT_MAX_BET: Final = 100 * CRAP
DEFAULT_BOND: Final = 1_000 * CRAP
DEFAULT_HOST_BOND: Final = 3 * DEFAULT_BOND * DEFAULT_MAX_PLAYERS
DEFAULT_CHAIN_N: Final = 1_024
DEFAULT_BANKROLL: Final = 10_000 * CRAP
"""What the CLI suggests; a create needs at least ``bond``."""


def default_params(max_players: int = DEFAULT_MAX_PLAYERS) -> TableParams:
    """TABLES.md §9's table: bets 1 / 100 CRAP, bond 1,000, host bond 3 × bond × players."""
    return TableParams(
        DEFAULT_MIN_BET,
        DEFAULT_MAX_BET,
        DEFAULT_BOND,
        3 * DEFAULT_BOND * max_players,
        max_players,
        MAX_ENTRIES[max_players],
        DEFAULT_CHAIN_N,
    )


def malformed_create(body: Create, sender: bytes, genesis: Genesis) -> str | None:
    """Why ``body`` is not a well-formed create (TABLES.md §2), or None when it is.

    Exact integers throughout: a create that is not well-formed is no table."""
    p = body.params
    bounds = genesis.bounds
    if not bounds.min_bet_lo <= p.min_bet <= p.max_bet <= bounds.max_bet_hi:
        return "bets outside min_bet_lo ≤ min_bet ≤ max_bet ≤ max_bet_hi"
    if p.bond < bounds.bond_lo:
        return "bond below the genesis bond_lo"
    if p.bond * p.max_players > p.host_bond:
        return "host_bond below bond × max_players"
    if body.bankroll + p.host_bond > MAX_U64:
        return "bankroll + host_bond exceeds one u64"
    if not 2 <= p.max_players <= bounds.max_players:
        return "max_players outside 2 … the genesis max_players"
    if not 1 <= p.max_entries <= MAX_ENTRIES.get(p.max_players, 0):
        return "max_entries outside 1 … MAX_ENTRIES(max_players)"
    if not MIN_HOST_CHAIN <= p.chain_n <= MAX_CHAIN_N:
        return "chain_N outside 256 … 65,535"
    if body.bank is Bank.TREASURY and sender != genesis.house_key:
        return "bank 1 from a key other than the house key"
    return None
