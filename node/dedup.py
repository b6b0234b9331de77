"""Duplicate suppression by ``(sender, nonce, full hash)``, before any signature check.

A packet is a duplicate when the same sender's same nonce was already taken with the same full
SHA-256 of its signed message; a different hash at the same ``(sender, nonce)`` is not a
duplicate (it may be a fork version, the ledger decides).  Sans-IO and allocation-light: this runs
on every received frame.
"""

from __future__ import annotations

__all__ = ["SeenIndex"]


class SeenIndex:
    """The full hashes taken for each ``(sender, nonce)``."""

    __slots__ = ("_seen",)

    def __init__(self) -> None:
        self._seen: dict[tuple[bytes, int], bytes | tuple[bytes, ...]] = {}

    def __len__(self) -> int:
        return len(self._seen)

    def contains(self, sender: bytes, nonce: int, full_hash: bytes) -> bool:
        """True when exactly this packet was already taken."""
        held = self._seen.get((sender, nonce))
        if held is None:
            return False
        if type(held) is bytes:
            return held == full_hash
        return full_hash in held

    def add(self, sender: bytes, nonce: int, full_hash: bytes) -> bool:
        """Record a packet; return False when it was already recorded."""
        key = (sender, nonce)
        held = self._seen.get(key)
        if held is None:
            self._seen[key] = full_hash
            return True
        versions = (held,) if type(held) is bytes else held
        if full_hash in versions:
            return False
        self._seen[key] = (*versions, full_hash)
        return True

    def versions(self, sender: bytes, nonce: int) -> tuple[bytes, ...]:
        """Every full hash recorded at ``(sender, nonce)``, in the order they were added."""
        held = self._seen.get((sender, nonce))
        if held is None:
            return ()
        if isinstance(held, bytes):
            return (held,)
        return held

    def forget_version(self, sender: bytes, nonce: int, full_hash: bytes) -> None:
        """Drop one recorded version at ``(sender, nonce)``."""
        key = (sender, nonce)
        versions = tuple(v for v in self.versions(sender, nonce) if v != full_hash)
        if not versions:
            self._seen.pop(key, None)
        else:
            self._seen[key] = versions[0] if len(versions) == 1 else versions

    def forget(self, sender: bytes, nonce: int) -> None:
        """Drop what is recorded at ``(sender, nonce)`` (e.g. an evicted held packet)."""
        self._seen.pop((sender, nonce), None)
