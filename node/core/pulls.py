"""What the replica has asked its neighbours for: bounded, and freed with what needs it.

A want is a range of a sender's nonces, or one version named by its 8-byte h; it is never
enumerated.  Per sender the replica remembers one number (the top of the range already asked,
everything above the logged top up to it) and at most :data:`VERSION_ASKS` hashes.  A sender's
marks live only while some held or waiting packet needs that sender (a count of references),
so a flood of far-ahead or unresolvable packets leaves nothing behind once they are evicted.
Sans-IO: the router decides where and when to send (and re-send) what is asked here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

__all__ = ["VERSION_ASKS", "Pulls", "Want"]

VERSION_ASKS: Final = 8
"""Versions asked by hash per sender at once (fork witnesses and dependencies naming another
version); more are asked as these arrive or are given up."""


@dataclass(frozen=True, slots=True)
class Want:
    """Packets to pull: ``sender``'s nonces ``lo..hi``, or the version named by ``h``."""

    sender: bytes
    lo: int
    hi: int
    h: bytes | None = None


class Pulls:
    """Pull marks per sender, each kept while something refers to the sender."""

    __slots__ = ("_hashes", "_refs", "_upto")

    def __init__(self) -> None:
        self._upto: dict[bytes, int] = {}
        self._hashes: dict[bytes, set[tuple[int, bytes]]] = {}
        self._refs: dict[bytes, int] = {}

    def __len__(self) -> int:
        """Marks held: one per sender with a range asked, plus each version asked by hash."""
        return len(self._upto) + sum(len(h) for h in self._hashes.values())

    def __bool__(self) -> bool:
        """True while anything is asked (cheap: the ingest path asks on every packet)."""
        return bool(self._upto) or bool(self._hashes)

    def referenced(self) -> int:
        """Senders something refers to."""
        return len(self._refs)

    def ref(self, sender: bytes) -> None:
        """Something held or waiting needs ``sender``'s packets."""
        self._refs[sender] = self._refs.get(sender, 0) + 1

    def unref(self, sender: bytes) -> None:
        """One thing that needed ``sender`` no longer does; the last one frees its marks."""
        count = self._refs.get(sender, 0) - 1
        if count > 0:
            self._refs[sender] = count
            return
        self._refs.pop(sender, None)
        self._upto.pop(sender, None)
        self._hashes.pop(sender, None)

    def ask(self, sender: bytes, lo: int, hi: int) -> Want | None:
        """Ask for ``lo..hi`` of ``sender``; return the part not asked before, if any."""
        upto = self._upto.get(sender, 0)
        if hi <= upto or hi < lo:
            return None
        self._upto[sender] = hi
        return Want(sender, max(lo, upto + 1), hi)

    def ask_version(self, sender: bytes, nonce: int, h: bytes) -> Want | None:
        """Ask for the version of ``(sender, nonce)`` named by ``h``, once."""
        asked = self._hashes.get(sender)
        if asked is None:
            asked = self._hashes[sender] = set()
        if (nonce, h) in asked or len(asked) >= VERSION_ASKS:
            return None
        asked.add((nonce, h))
        return Want(sender, nonce, nonce, h)

    def logged(self, sender: bytes, nonce: int, h: bytes) -> None:
        """``(sender, nonce)`` was logged: it needs asking no more."""
        upto = self._upto.get(sender)
        if upto is not None and nonce >= upto:
            del self._upto[sender]
        asked = self._hashes.get(sender)
        if asked is not None:
            asked.discard((nonce, h))
            if not asked:
                del self._hashes[sender]

    def forget_range(self, sender: bytes) -> None:
        """Forget the range asked of ``sender`` (its logged top fell: ask again if needed)."""
        self._upto.pop(sender, None)
