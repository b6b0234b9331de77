"""What the replica tells its driver: one queue of typed events, and the result of one frame.

Every change a driver must act on comes out of ``Replica.take_events()`` in the order it
happened: packets judged, fork versions kept or no longer kept, verdicts revised by a late fork
(make these durable, then forward), and pulls to send.  :class:`Ingested` is what one frame did.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from node.core.log import Entry
from node.core.pulls import Want
from node.core.verdicts import Outcome, Reason

__all__ = [
    "FORK_DROPPED",
    "FORK_KEPT",
    "JUDGED",
    "REVISED",
    "WANTED",
    "Event",
    "Ingested",
    "Revision",
]

JUDGED: Final = "judged"
"""``item`` is the judged :class:`Entry` (its frame is now accepted once committed)."""
FORK_KEPT: Final = "fork_kept"
"""``item`` is a fork version now kept as proof (accepted like a judged packet)."""
FORK_DROPPED: Final = "fork_dropped"
"""``item`` is a fork version no longer kept (a smaller full hash displaced it)."""
REVISED: Final = "revised"
"""``item`` is a :class:`Revision`: a verdict a late fork proof changed."""
WANTED: Final = "wanted"
"""``item`` is a :class:`Want`: packets to pull from the neighbours."""


@dataclass(frozen=True, slots=True)
class Revision:
    """A verdict changed by a late fork proof (the CLI marks revised effects)."""

    sender: bytes
    nonce: int
    before: Reason
    after: Reason


class Event:
    """One thing that happened: ``what`` is one of the constants above, ``item`` its subject."""

    __slots__ = ("item", "what")

    def __init__(self, what: str, item: Entry | Revision | Want) -> None:
        self.what: Final = what
        self.item: Final = item

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Event) and (self.what, self.item) == (other.what, other.item)

    def __hash__(self) -> int:
        return hash((self.what, self.item))

    def __repr__(self) -> str:
        return f"Event({self.what!r}, {self.item!r})"


class Ingested:
    """What taking one frame did, and every packet it got judged (in judge order)."""

    __slots__ = ("error", "judged", "outcome", "reason", "why")

    def __init__(
        self,
        outcome: Outcome,
        reason: Reason | None = None,
        error: Exception | None = None,
        why: str = "",
        judged: list[Entry] | None = None,
    ) -> None:
        self.outcome = outcome
        self.reason = reason
        self.error = error
        self.why = why
        self.judged: list[Entry] = judged if judged is not None else []

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Ingested) and (
            (self.outcome, self.reason, self.why, self.judged, repr(self.error))
            == (other.outcome, other.reason, other.why, other.judged, repr(other.error))
        )

    __hash__ = None  # type: ignore[assignment]  # mutable

    def __repr__(self) -> str:
        return (
            f"Ingested({self.outcome}, reason={self.reason!r}, why={self.why!r}, "
            f"error={self.error!r}, judged={len(self.judged)})"
        )
