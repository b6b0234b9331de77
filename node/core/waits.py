"""Logged packets waiting for a verdict, each under the one unjudged packet it needs next.

The replica registers a logged-but-unjudged packet under its first blocker ``(sender, nonce)``
(its predecessor or a dependency) and takes it back when that packet is judged, when a fork
proof satisfies it, or when the packet leaves the log (evicted, or removed by a fork).  The
room is bounded by the replica's unjudged cap.  Sans-IO.
"""

from __future__ import annotations

from typing import Generic, TypeVar

__all__ = ["Waits"]

T = TypeVar("T")


class Waits(Generic[T]):
    """Items keyed by the ``(sender, nonce)`` they wait for."""

    __slots__ = ("_count", "_on")

    def __init__(self) -> None:
        self._on: dict[bytes, dict[int, list[T]]] = {}
        self._count = 0

    def __len__(self) -> int:
        return self._count

    def __bool__(self) -> bool:
        return self._count > 0

    def add(self, sender: bytes, nonce: int, item: T) -> None:
        self._on.setdefault(sender, {}).setdefault(nonce, []).append(item)
        self._count += 1

    def remove(self, sender: bytes, nonce: int, item: T) -> None:
        """Forget ``item``, registered under ``(sender, nonce)``."""
        on = self._on.get(sender)
        items = on.get(nonce) if on is not None else None
        if on is None or items is None:
            return
        for i, other in enumerate(items):
            if other is item:
                del items[i]
                self._count -= 1
                break
        if not items:
            del on[nonce]
            if not on:
                del self._on[sender]

    def take(self, sender: bytes, nonce: int) -> list[T]:
        """Remove and return what waits for exactly ``(sender, nonce)``."""
        on = self._on.get(sender)
        if on is None:
            return []
        items = on.pop(nonce, None)
        if not on:
            del self._on[sender]
        if items is None:
            return []
        self._count -= len(items)
        return items

    def take_from(self, sender: bytes, nonce: int) -> list[T]:
        """Remove and return what waits for ``sender`` at ``nonce`` or above."""
        on = self._on.get(sender)
        if on is None:
            return []
        out: list[T] = []
        for m in sorted(m for m in on if m >= nonce):
            out.extend(on.pop(m))
        if not on:
            del self._on[sender]
        self._count -= len(out)
        return out

    def top(self, sender: bytes) -> int:
        """The highest nonce of ``sender`` something waits for (0 if nothing does)."""
        on = self._on.get(sender)
        return max(on) if on else 0

    def senders(self) -> int:
        """How many senders something waits for."""
        return len(self._on)
