"""Verdict reasons: the numeric codes every replica records for a judged packet.

``APPLIED`` is 0; every other code is a refusal reason.  Codes are part of the state every
replica agrees on (they follow from the log), so they are never renumbered.  Ingest outcomes that
are not verdicts (dropped, rejected, held, logged) are :class:`Outcome` values.
"""

from __future__ import annotations

from enum import Enum, IntEnum

__all__ = ["Outcome", "PlayerError", "Reason", "SupplyError"]


class Reason(IntEnum):
    """The verdict of a judged packet: Applied, or Refused(reason)."""

    APPLIED = 0
    MALFORMED = 1
    """A body fault under a valid signature (wire-level; see protocol.errors.Malformed)."""
    EQUIVOCATED = 2
    """The sender signed two versions of this nonce or of an earlier one (fork proof)."""
    INSUFFICIENT = 3
    """The packet debits more than the sender's spendable balance."""
    UNFUNDED = 4
    """Off play money: a first packet whose grants and acknowledged credits < min_account."""
    SELF_TRANSFER = 5
    """A transfer to the sender's own account."""
    BAD_REFERENCE = 6
    """A dependency that can never be judged: the sender's own future, the treasury, a bad key."""
    TABLES_UNAVAILABLE = 7
    """No table engine is plugged in (a ledger without tables refuses table packets)."""
    # player-level (TABLES.md §1-2)
    BAD_TABLE = 8
    """A create that is not well-formed (bounds, host bond, sizes, bank 1 off the house key)."""
    DUPLICATE_GAME = 9
    """A create repeating an earlier game id G of its own host."""
    NOT_JOINED = 10
    """A leave, cancel, bet or reveal for a G the sender has no earlier join for."""
    NO_GAME = 11
    """No well-formed create of G by the host at a nonce ≤ T."""
    GAME_ENDED = 12
    """The host's Applied game_end has nonce ≤ T (a host packet: after game_end)."""
    CLOSED = 13
    """T is at or above the host's fork nonce."""
    NO_ROLL = 14
    """A reveal whose T is not an Applied roll_open of its k."""
    UNBACKED = 15
    """A join or bet at a table whose create is not Applied."""
    SHORT_CHAIN = 16
    """A join whose chain_N is below 64."""
    # host faults (TABLES.md §4)
    OUT_OF_TURN = 17
    """A host packet the table's sequence does not allow now (or the wrong k)."""
    HOST_CHAIN = 18
    """roll_open with the host's chain exhausted or an invalid host preimage."""
    BAD_REVEALS = 19
    """Copied reveals (or void's present) not exactly the expected seats with valid preimages."""
    TOO_MANY = 20
    """included + released above max_entries, or more than one join answer in a roll_open."""
    BAD_LIST = 21
    """A seat list out of ascending order, duplicated, or naming seat 0 or ≥ max_players."""
    BAD_JOIN = 22
    """A join answer seating the host, a seated key, a reused head, a short chain, an answered
    join, or with no seat free."""
    BAD_LISTED = 23
    """roll_open's listed is not the set of occupied player seats."""
    HOST_BOND_SHORT = 24
    """roll_open with remaining host bond < bond × listed seats + the roll's risk."""
    BAD_VOID = 25
    """void with S empty or not within the listed seats."""

    @property
    def applied(self) -> bool:
        return self is Reason.APPLIED

    @property
    def label(self) -> str:
        return "applied" if self is Reason.APPLIED else f"refused({self.name.lower()})"


class Outcome(Enum):
    """What ingesting one frame did, before or instead of a verdict."""

    DROPPED = "dropped"
    """A duplicate, a packet beyond the hold-back window, or above a proven fork."""
    REJECTED = "rejected"
    """Cannot be attributed to its sender: nothing logged, the neighbour is penalised."""
    HELD = "held"
    """Verified, waiting in memory for its predecessor (or a fork witness waiting for a version)."""
    LOGGED = "logged"
    """Logged, waiting for its predecessor's or a dependency's verdict."""
    JUDGED = "judged"
    """Logged and judged (Applied or Refused) during this ingest."""


class SupplyError(AssertionError):
    """The independent sum of every account, held amount and the treasury is not the supply
    (raised by ``LedgerState.audit``; defined here because the ledger module may be compiled,
    and compiled classes cannot derive from built-in exceptions other than Exception)."""


class PlayerError(ValueError):
    """A packet this node will not sign: its own replica would refuse it, or it cannot yet
    (raised by ``DurableReplica.issue``, and exported there; defined here for the same reason
    as SupplyError)."""
