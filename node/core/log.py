"""The log: verified packets as entries, and each sender's chain of logged ones.

An :class:`Entry` is one verified packet on its way through the replica: held, logged, then
judged.  A :class:`Chain` is a sender's logged entries in nonce order (judged ones first) with
the cumulative hashes of the judged ones.  Plain records; the replica owns every rule.
"""

from __future__ import annotations

from typing import Final

from node.core.ledger import Judgment, Undo
from node.core.verdicts import Reason
from protocol.constants import HASH_LEN
from protocol.frame import Packet

__all__ = ["Chain", "Dep", "Entry"]

Dep = tuple[bytes, int, bytes | None]
"""A dependency: ``(sender, nonce, h)`` it names (h None when it names no version)."""

NO_DEPS: Final[tuple[Dep, ...]] = ()


class Entry:
    """A verified packet: held, logged, then judged.

    ``packet`` is the decoded body until the packet is judged; then None (the log keeps only
    the frame, and a re-judge decodes it again); always None for a malformed body, whose fault
    is ``malformed``.  ``deps`` are the ``(sender, nonce, h)`` it names; ``seq`` its place in
    the judged order.  Bookkeeping of the replica: ``blocker`` is the ``(sender, nonce)`` it
    waits for while logged and unjudged, ``need`` the sender whose packets it made the replica
    ask for, ``capped`` whether it is held only for want of room in the unjudged log.
    A plain slotted class, not a dataclass: compiled (docs/BUILD.md), a dataclass runs the
    interpreted generated ``__init__``.
    """

    __slots__ = (
        "bad_ref",
        "blocker",
        "capped",
        "deps",
        "frame",
        "full_hash",
        "judgment",
        "malformed",
        "need",
        "nonce",
        "packet",
        "prev",
        "removed",
        "sender",
        "seq",
        "undo",
    )

    def __init__(
        self,
        sender: bytes,
        nonce: int,
        prev: bytes,
        full_hash: bytes,
        frame: bytes,
        packet: Packet | None,
        malformed: str | None,
        deps: tuple[Dep, ...],
        bad_ref: bool,
    ) -> None:
        self.sender = sender
        self.nonce = nonce
        self.prev = prev
        self.full_hash = full_hash
        self.frame = frame
        self.packet = packet
        self.malformed = malformed
        self.deps = deps
        self.bad_ref = bad_ref
        self.judgment: Judgment | None = None
        self.seq = -1
        self.removed = False
        self.blocker: tuple[bytes, int] | None = None
        self.need: bytes | None = None
        self.capped = False
        self.undo: Undo | None = None

    def __repr__(self) -> str:
        return (
            f"Entry({self.sender.hex()[:8]}, {self.nonce}, judgment={self.judgment!r}, "
            f"seq={self.seq}, removed={self.removed})"
        )

    @property
    def h(self) -> bytes:
        return self.full_hash[:HASH_LEN]

    @property
    def key(self) -> tuple[bytes, int, bytes]:
        """``(sender, nonce, full hash)``: this version's identity."""
        return (self.sender, self.nonce, self.full_hash)

    @property
    def reason(self) -> Reason | None:
        return None if self.judgment is None else self.judgment.reason


class Chain:
    """A sender's logged packets (index nonce − 1) and cumulative hashes of the judged ones."""

    __slots__ = ("cumulative", "entries")

    def __init__(self, entries: list[Entry] | None = None) -> None:
        self.entries: list[Entry] = entries if entries is not None else []
        self.cumulative: list[bytes] = []

    @property
    def top(self) -> int:
        """The highest logged nonce (0 when nothing is logged)."""
        return len(self.entries)
