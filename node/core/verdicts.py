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
    """Interim: table and dice packets wait for the table engine (DESIGN.md v1.4)."""

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
