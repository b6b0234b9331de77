"""Duplicate suppression by ``(sender, nonce, full hash)``, before any signature check.

A packet is a duplicate when the same sender's same nonce was already taken with the same full
SHA-256 of its signed message; a different hash at the same ``(sender, nonce)`` is not a
duplicate (it may be a fork version, the ledger decides).  Sans-IO and allocation-light: this runs
on every received frame.  The replica records here only the versions that are not in a sender's
chain (held packets, fork versions); a logged packet is found in its chain
(``Replica.known``), so judged history costs this index nothing.
"""

from __future__ import annotations

__all__ = ["SeenIndex"]


class SeenIndex:
    """The full hashes taken for each ``(sender, nonce)``.

    One dict of nonces per sender, so recording a packet allocates nothing the collector
    tracks (a ``(sender, nonce)`` key tuple would be one more long-lived object per packet).
    """

    __slots__ = ("_count", "_seen")

    def __init__(self) -> None:
        self._seen: dict[bytes, dict[int, bytes | tuple[bytes, ...]]] = {}
        self._count = 0

    def __len__(self) -> int:
        """The ``(sender, nonce)`` pairs recorded."""
        return self._count

    def contains(self, sender: bytes, nonce: int, full_hash: bytes) -> bool:
        """True when exactly this packet was already taken."""
        nonces = self._seen.get(sender)
        if nonces is None:
            return False
        held = nonces.get(nonce)
        if held is None:
            return False
        if type(held) is bytes:
            return held == full_hash
        return full_hash in held

    def add(self, sender: bytes, nonce: int, full_hash: bytes) -> bool:
        """Record a packet; return False when it was already recorded."""
        nonces = self._seen.get(sender)
        if nonces is None:
            nonces = self._seen[sender] = {}
        held = nonces.get(nonce)
        if held is None:
            nonces[nonce] = full_hash
            self._count += 1
            return True
        versions = (held,) if type(held) is bytes else held
        if full_hash in versions:
            return False
        nonces[nonce] = (*versions, full_hash)
        return True

    def versions(self, sender: bytes, nonce: int) -> tuple[bytes, ...]:
        """Every full hash recorded at ``(sender, nonce)``, in the order they were added."""
        nonces = self._seen.get(sender)
        held = nonces.get(nonce) if nonces is not None else None
        if held is None:
            return ()
        if isinstance(held, bytes):
            return (held,)
        return held

    def forget_version(self, sender: bytes, nonce: int, full_hash: bytes) -> None:
        """Drop one recorded version at ``(sender, nonce)``."""
        versions = tuple(v for v in self.versions(sender, nonce) if v != full_hash)
        if not versions:
            self.forget(sender, nonce)
        else:
            self._seen[sender][nonce] = versions[0] if len(versions) == 1 else versions

    def forget(self, sender: bytes, nonce: int) -> None:
        """Drop what is recorded at ``(sender, nonce)`` (e.g. an evicted held packet)."""
        nonces = self._seen.get(sender)
        if nonces is None or nonces.pop(nonce, None) is None:
            return
        self._count -= 1
        if not nonces:
            del self._seen[sender]
