"""Bounded waiting rooms for verified packets that cannot be logged or judged yet.

:class:`WaitRoom` holds items keyed by ``(sender, nonce, full hash)`` under a total cap, evicting
in the order DESIGN.md section 4 gives: furthest ahead of the sender's HWM first, then senders
with no judged history, then the newest arrival.  The distance is read again at eviction time (it
only shrinks as HWMs advance), so stale heap keys are corrected lazily.  Sans-IO.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

__all__ = ["WaitRoom"]

T = TypeVar("T")
Key = tuple[bytes, int, bytes]


class WaitRoom(Generic[T]):
    """Items waiting per ``(sender, nonce)``, several versions each, under a total cap.

    ``rank(sender, nonce)`` returns ``(distance ahead of the HWM, has logged history)``.
    """

    def __init__(self, cap: int, rank: Callable[[bytes, int], tuple[int, bool]]) -> None:
        if cap < 1:
            raise ValueError("cap must be at least 1")
        self.cap = cap
        self._rank = rank
        self._items: dict[Key, T] = {}
        self._by_slot: dict[tuple[bytes, int], list[bytes]] = {}
        self._heap: list[tuple[int, bool, int, Key]] = []
        self._arrivals = 0
        self.evicted = 0

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, key: Key) -> bool:
        return key in self._items

    def add(self, key: Key, item: T) -> list[tuple[Key, T]]:
        """Hold ``item``; return what was evicted to respect the cap (maybe ``item`` itself)."""
        if key in self._items:
            return []
        sender, nonce, full_hash = key
        self._items[key] = item
        self._by_slot.setdefault((sender, nonce), []).append(full_hash)
        self._arrivals += 1
        distance, history = self._rank(sender, nonce)
        heapq.heappush(self._heap, (-distance, history, -self._arrivals, key))
        evicted: list[tuple[Key, T]] = []
        while len(self._items) > self.cap:
            victim = self._pop_worst()
            evicted.append((victim, self._remove(victim)))
            self.evicted += 1
        return evicted

    def _pop_worst(self) -> Key:
        heap = self._heap
        while True:
            neg_distance, history, neg_arrival, key = heapq.heappop(heap)
            if key not in self._items:
                continue
            distance, now_history = self._rank(key[0], key[1])
            if -neg_distance != distance or history != now_history:
                heapq.heappush(heap, (-distance, now_history, neg_arrival, key))
                continue
            return key

    def _remove(self, key: Key) -> T:
        item = self._items.pop(key)
        slot = (key[0], key[1])
        hashes = self._by_slot[slot]
        hashes.remove(key[2])
        if not hashes:
            del self._by_slot[slot]
        if len(self._heap) > 4 * len(self._items) + 64:
            self._heap = [entry for entry in self._heap if entry[3] in self._items]
            heapq.heapify(self._heap)
        return item

    def take(self, sender: bytes, nonce: int) -> list[tuple[Key, T]]:
        """Remove and return every version held at ``(sender, nonce)``."""
        hashes = self._by_slot.get((sender, nonce))
        if not hashes:
            return []
        keys = [(sender, nonce, h) for h in list(hashes)]
        return [(key, self._remove(key)) for key in keys]

    def versions(self, sender: bytes, nonce: int) -> list[Key]:
        return [(sender, nonce, h) for h in self._by_slot.get((sender, nonce), ())]

    def get(self, key: Key) -> T | None:
        return self._items.get(key)

    def discard(self, key: Key) -> T | None:
        return self._remove(key) if key in self._items else None

    def discard_from(self, sender: bytes, nonce: int) -> list[T]:
        """Drop everything of ``sender`` at or above ``nonce``."""
        slots = [slot for slot in self._by_slot if slot[0] == sender and slot[1] >= nonce]
        out: list[T] = []
        for slot in slots:
            out.extend(item for _, item in self.take(*slot))
        return out

    def items(self) -> Iterator[tuple[Key, T]]:
        return iter(list(self._items.items()))
