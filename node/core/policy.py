"""Where the table engine's wallet and host policies plug into the node core (TABLES.md §8).

A policy reads what the replica accepted and decides what this node signs by itself: as a
player, a reveal for every roll that lists a seat of ours; as a host, seat answers, inclusions,
roll opens on command or on the table's cadence, voids after a reveal timeout.  The core calls
it after every commit and at its timer, signs the bodies it returns in order (each through the
same checks as any own packet), and tells it what became of each.  Sans-IO like the core: it is
given ``now`` and never reads a clock.  :class:`NoTables` does nothing; the table agent
(``node.core.tables.agent.TableAgent``) is the one the daemon runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from node.core.log import Entry
from node.core.replica import Replica
from protocol.kinds import Body

__all__ = ["NoTables", "TablePolicy"]


class TablePolicy(Protocol):
    """What the node core asks of the table engine's policies."""

    def accepted(self, entries: Sequence[Entry], replica: Replica, now: float) -> None:
        """Packets just accepted (judged and committed), in judge order, own ones included.
        An entry keeps its frame and verdict, not its body: ``decode_body(codec.open(
        entry.frame))`` reads it again without checking the signature twice."""
        ...

    def command(self, command: object, replica: Replica, now: float) -> Sequence[Body]:
        """A table command from the user (open a roll, join, bet, …): the bodies to sign now.
        Raise ``PlayerError`` with one readable line to refuse it."""
        ...

    def due(self, replica: Replica, now: float) -> Sequence[Body]:
        """Bodies to sign now (reveals owed, host answers, a roll on cadence, a void)."""
        ...

    def signed(self, body: Body, frame: bytes | None, error: str | None, now: float) -> None:
        """What became of a body it returned: its frame, or why the node did not sign it."""
        ...

    def next_timer(self) -> float | None:
        """When :meth:`due` next has work by the clock alone (None: only on new packets)."""
        ...


class NoTables:
    """The policy of a node that plays no table: it signs nothing by itself."""

    def accepted(self, entries: Sequence[Entry], replica: Replica, now: float) -> None:
        return None

    def command(self, command: object, replica: Replica, now: float) -> Sequence[Body]:
        raise ValueError(f"no table engine to handle {type(command).__name__}")

    def due(self, replica: Replica, now: float) -> Sequence[Body]:
        return ()

    def signed(self, body: Body, frame: bytes | None, error: str | None, now: float) -> None:
        return None

    def next_timer(self) -> float | None:
        return None
