"""What a network does to one datagram: the sans-IO decision behind the memory network.

Owns link conditions (latency, jitter, loss, duplication, reordering, bandwidth with a bounded
queue, MTU), the per-link queue state, and partitions.  Pure: the caller passes ``now`` and a
``random.Random``; it never reads a clock, sleeps or imports Trio, so the Trio memory network and
the virtual-time simulator make the same decisions from the same seed.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from transports.base import Address, DropReason

__all__ = ["DEFAULT_QUEUE_BYTES", "PERFECT", "Fate", "Link", "LinkConditions", "Partitions"]

DEFAULT_QUEUE_BYTES: Final = 64 * 1024
"""Bytes a bandwidth-limited link queues before it drops (a small router's buffer)."""


@dataclass(frozen=True, slots=True)
class LinkConditions:
    """The knobs of one direction of a link; the defaults are a perfect, instant link.

    A datagram sent at ``now`` waits for the link (``bandwidth``: the datagrams ahead of it
    transmit first, ``size / bandwidth`` seconds each; tail-dropped when more than ``queue_bytes``
    are waiting), then travels ``latency`` plus a uniform draw from ``[0, jitter)`` seconds; with
    probability ``reorder`` it is held a further uniform ``[0, reorder_delay)``.  It is lost with
    probability ``loss`` (after using its share of the bandwidth), and with probability
    ``duplicate`` a second copy arrives, with its own jitter and reorder draws.
    """

    latency: float = 0.0
    """Seconds every datagram takes, at least."""
    jitter: float = 0.0
    """Upper bound of a uniform extra delay (jitter alone reorders datagrams sent close by)."""
    loss: float = 0.0
    """Probability a datagram is lost."""
    duplicate: float = 0.0
    """Probability a delivered datagram arrives twice."""
    reorder: float = 0.0
    """Probability a datagram is held back by an extra ``[0, reorder_delay)`` seconds."""
    reorder_delay: float = 0.0
    bandwidth: float | None = None
    """Bytes per second; None is unlimited (no queueing)."""
    queue_bytes: int = DEFAULT_QUEUE_BYTES
    """Most bytes a bandwidth-limited link holds unsent, the arriving datagram included; an idle
    link always takes one datagram."""
    mtu: int | None = None
    """Longest datagram the link carries; longer ones are dropped.  None: no limit."""

    def __post_init__(self) -> None:
        for name in ("loss", "duplicate", "reorder"):
            value: float = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be a probability in [0, 1], got {value}")
        for name in ("latency", "jitter", "reorder_delay"):
            value = getattr(self, name)
            if not (value >= 0.0 and math.isfinite(value)):
                raise ValueError(f"{name} must be a finite number of seconds >= 0, got {value}")
        if self.bandwidth is not None and not (
            self.bandwidth > 0 and math.isfinite(self.bandwidth)
        ):
            raise ValueError(f"bandwidth must be > 0 bytes/s or None, got {self.bandwidth}")
        if self.queue_bytes < 0:
            raise ValueError(f"queue_bytes must be >= 0, got {self.queue_bytes}")
        if self.mtu is not None and self.mtu < 1:
            raise ValueError(f"mtu must be >= 1 byte or None, got {self.mtu}")


PERFECT: Final = LinkConditions()
"""No delay, no loss, no limit."""


@dataclass(frozen=True, slots=True)
class Fate:
    """What happens to one datagram: the times its copies arrive, or why it was dropped."""

    arrivals: tuple[float, ...]
    """Absolute arrival time of each copy, in the order they were decided (not sorted)."""
    dropped: DropReason | None = None

    @property
    def delivered(self) -> bool:
        return bool(self.arrivals)


class Link:
    """One direction between two addresses: its conditions and the state of its queue.

    ``transmit`` is the whole decision; it consumes random draws only for the knobs that are on,
    so a perfect link never touches the generator.
    """

    __slots__ = ("busy_until", "conditions")

    def __init__(self, conditions: LinkConditions = PERFECT) -> None:
        self.conditions = conditions
        self.busy_until = -math.inf
        """When the last queued datagram finishes transmitting (bandwidth-limited links)."""

    def queued_bytes(self, now: float) -> float:
        """Bytes still waiting to be transmitted at ``now``."""
        bandwidth = self.conditions.bandwidth
        if bandwidth is None or self.busy_until <= now:
            return 0.0
        return (self.busy_until - now) * bandwidth

    def transmit(self, size: int, now: float, rng: random.Random) -> Fate:
        """Decide the fate of a ``size``-byte datagram sent at ``now``."""
        c = self.conditions
        if c.mtu is not None and size > c.mtu:
            return Fate((), DropReason.MTU)
        departs = now
        if c.bandwidth is not None:
            start = max(now, self.busy_until)
            queued = (start - now) * c.bandwidth
            if queued > 0.0 and queued + size > c.queue_bytes:
                return Fate((), DropReason.QUEUE)
            departs = start + size / c.bandwidth
            self.busy_until = departs
        if c.loss and rng.random() < c.loss:
            return Fate((), DropReason.LOSS)
        first = departs + c.latency + self._extra(rng)
        if c.duplicate and rng.random() < c.duplicate:
            return Fate((first, departs + c.latency + self._extra(rng)))
        return Fate((first,))

    def _extra(self, rng: random.Random) -> float:
        c = self.conditions
        extra = rng.uniform(0.0, c.jitter) if c.jitter else 0.0
        if c.reorder and rng.random() < c.reorder:
            extra += rng.uniform(0.0, c.reorder_delay)
        return extra


class Partitions:
    """Which addresses can reach each other.

    After ``split(g1, g2, …)`` an address in a listed group reaches only its own group; every
    address in no group is in one implicit group with the others in none.  ``heal()`` rejoins
    everything.
    """

    __slots__ = ("_group",)

    def __init__(self) -> None:
        self._group: dict[Address, int] = {}

    def split(self, *groups: Iterable[Address]) -> None:
        """Replace the current partition with ``groups``; an address may be in one group only."""
        group: dict[Address, int] = {}
        for number, members in enumerate(groups, start=1):
            for address in members:
                if group.setdefault(address, number) != number:
                    raise ValueError(f"{address} is in more than one group")
        self._group = group

    def heal(self) -> None:
        """Everything reaches everything again."""
        self._group = {}

    @property
    def active(self) -> bool:
        return bool(self._group)

    def reachable(self, source: Address, destination: Address) -> bool:
        group = self._group
        return group.get(source, 0) == group.get(destination, 0)
