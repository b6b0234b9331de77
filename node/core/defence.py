"""What a node uses to defend itself against its neighbours: token buckets, decaying scores, a
bounded least-recently-used map, and the ban list (DESIGN.md §5).

A neighbour's score counts only what it did wrong — frames Rejected (bad envelope, bad
signature, wrong network), malformed link messages and rate breaches — never a well-signed
packet the ledger Refused.  The penalty decays with a half-life; past the threshold the
neighbour is dropped and banned for a while.  Sans-IO: every method takes ``now``.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable
from typing import Generic, TypeVar

__all__ = ["Bans", "Bounded", "Score", "TokenBucket"]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class TokenBucket:
    """``rate`` tokens a second, at most ``burst`` saved; starts full."""

    __slots__ = ("burst", "last", "rate", "tokens")

    def __init__(self, rate: float, burst: float, now: float) -> None:
        self.rate = rate
        self.burst = burst
        self.tokens = burst
        self.last = now

    def take(self, now: float, n: float = 1.0) -> bool:
        """Spend ``n`` tokens if there are that many (refilled up to ``now``)."""
        if now > self.last:
            self.tokens = min(self.burst, self.tokens + (now - self.last) * self.rate)
            self.last = now
        if self.tokens >= n:
            self.tokens -= n
            return True
        return False

    def available(self, now: float) -> float:
        """Tokens there are at ``now``."""
        if now > self.last:
            self.tokens = min(self.burst, self.tokens + (now - self.last) * self.rate)
            self.last = now
        return self.tokens

    def spend(self, now: float, n: float) -> None:
        """Spend ``n`` tokens whatever there are (a debt delays what comes next)."""
        self.available(now)
        self.tokens -= n


class Score:
    """A penalty that halves every ``half_life`` seconds."""

    __slots__ = ("half_life", "last", "penalty")

    def __init__(self, half_life: float) -> None:
        self.half_life = half_life
        self.penalty = 0.0
        self.last = 0.0

    def value(self, now: float) -> float:
        if now > self.last and self.penalty:
            self.penalty *= 0.5 ** ((now - self.last) / self.half_life)
            if self.penalty < 1e-6:
                self.penalty = 0.0
        self.last = max(self.last, now)
        return self.penalty

    def add(self, amount: float, now: float) -> float:
        """Add ``amount``; return the penalty now."""
        self.penalty = self.value(now) + amount
        return self.penalty


class Bounded(Generic[K, V]):
    """A map of at most ``cap`` items that forgets the least recently used first."""

    __slots__ = ("_items", "cap")

    def __init__(self, cap: int) -> None:
        if cap < 1:
            raise ValueError(f"cap must be >= 1, got {cap}")
        self.cap = cap
        self._items: OrderedDict[K, V] = OrderedDict()

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, key: object) -> bool:
        return key in self._items

    def get(self, key: K) -> V | None:
        value = self._items.get(key)
        if value is not None:
            self._items.move_to_end(key)
        return value

    def peek(self, key: K) -> V | None:
        """The value, without counting as a use."""
        return self._items.get(key)

    def put(self, key: K, value: V) -> None:
        items = self._items
        items[key] = value
        items.move_to_end(key)
        if len(items) > self.cap:
            items.popitem(last=False)

    def put_all(self, pairs: Iterable[tuple[K, V]]) -> None:
        """:meth:`put` each pair in order (what is forgotten is the same)."""
        items = self._items
        move_to_end = items.move_to_end
        for key, value in pairs:
            items[key] = value
            move_to_end(key)
        while len(items) > self.cap:
            items.popitem(last=False)

    def setdefault(self, key: K, make: Callable[[], V]) -> V:
        value = self.get(key)
        if value is None:
            value = make()
            self.put(key, value)
        return value

    def pop(self, key: K) -> V | None:
        return self._items.pop(key, None)

    def items(self) -> list[tuple[K, V]]:
        return list(self._items.items())

    def clear(self) -> None:
        self._items.clear()


class Bans:
    """Banned addresses and keys with their expiry; at most ``cap`` of each (the oldest ban is
    forgotten first)."""

    __slots__ = ("_addresses", "_keys")

    def __init__(self, cap: int) -> None:
        self._addresses: Bounded[object, float] = Bounded(cap)
        self._keys: Bounded[bytes, float] = Bounded(cap)

    def ban(self, address: object, key: bytes | None, until: float) -> None:
        self._addresses.put(address, until)
        if key is not None:
            self._keys.put(key, until)

    def address(self, address: object, now: float) -> bool:
        """True while ``address`` is banned."""
        until = self._addresses.peek(address)
        if until is None:
            return False
        if until <= now:
            self._addresses.pop(address)
            return False
        return True

    def key(self, key: bytes, now: float) -> bool:
        """True while ``key`` is banned."""
        until = self._keys.peek(key)
        if until is None:
            return False
        if until <= now:
            self._keys.pop(key)
            return False
        return True

    def __len__(self) -> int:
        return len(self._addresses) + len(self._keys)
