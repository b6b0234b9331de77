"""An in-process datagram network for Trio tests: endpoints, per-link conditions, partitions.

Owns :class:`MemoryNetwork` and its :class:`MemoryEndpoint` transports.  What happens to each
datagram is decided by :mod:`transports.conditions` under a per-link ``random.Random`` derived
from the network's seed, and timed by Trio's clock, so ``MockClock(autojump_threshold=0)`` runs are
exact, fast and repeatable.  No sockets, no background tasks, no wall clock.
"""

from __future__ import annotations

import heapq
import math
import random
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

import trio

from protocol.constants import MAX_FRAME
from transports.base import (
    Address,
    AddressError,
    Datagram,
    DropReason,
    TransportError,
    TransportStats,
    check_size,
)
from transports.conditions import PERFECT, Link, LinkConditions, Partitions

__all__ = [
    "DEFAULT_BATCH",
    "DEFAULT_INBOX",
    "MemoryEndpoint",
    "MemoryNetwork",
]

DEFAULT_BATCH: Final = 64
"""Most datagrams one ``receive_batch`` returns."""
DEFAULT_INBOX: Final = 4096
"""Datagrams addressed to an endpoint (in flight or unread) beyond which arrivals are dropped."""
_HOST: Final = "mem"


@dataclass(slots=True)
class _Route:
    link: Link
    rng: random.Random
    explicit: bool


class MemoryNetwork:
    """Endpoints that exchange datagrams in memory, through conditioned directional links.

    Every ordered pair of addresses has a :class:`~transports.conditions.Link` (the default
    conditions unless :meth:`set_link` gave it its own) and its own generator, seeded from
    ``seed`` and the pair, so what one link does does not depend on traffic elsewhere.  A
    datagram's fate is decided when it is sent; a partition or heal applies to datagrams sent
    after it, not to those already in flight.
    """

    def __init__(self, seed: int = 0, default: LinkConditions = PERFECT) -> None:
        self.seed = seed
        self._default = default
        self._routes: dict[tuple[Address, Address], _Route] = {}
        self._endpoints: dict[Address, MemoryEndpoint] = {}
        self._partitions = Partitions()
        self._next_port = 1
        self._sequence = 0
        self.stats = TransportStats()
        """Network-wide counters: every send, every datagram received, every drop by reason."""
        self.duplicated = 0
        """Extra copies the links made."""

    # ------------------------------------------------------------------ endpoints

    def endpoint(
        self,
        address: Address | None = None,
        *,
        max_datagram: int = MAX_FRAME,
        batch_limit: int = DEFAULT_BATCH,
        inbox_limit: int = DEFAULT_INBOX,
    ) -> MemoryEndpoint:
        """A new open endpoint at ``address`` (``("mem", n)`` with a fresh ``n`` by default)."""
        if address is None:
            while (_HOST, self._next_port) in self._endpoints:
                self._next_port += 1
            address = (_HOST, self._next_port)
            self._next_port += 1
        elif address in self._endpoints:
            raise AddressError(f"{address} is already in use on this memory network")
        endpoint = MemoryEndpoint(self, address, max_datagram, batch_limit, inbox_limit)
        self._endpoints[address] = endpoint
        return endpoint

    @property
    def addresses(self) -> list[Address]:
        """Addresses of the open endpoints."""
        return list(self._endpoints)

    # ------------------------------------------------------------------ conditions

    def set_link(
        self,
        source: Address,
        destination: Address,
        conditions: LinkConditions,
        *,
        both_ways: bool = False,
    ) -> None:
        """Give the link ``source → destination`` (and back, with ``both_ways``) ``conditions``.

        The link's queue state is kept: datagrams already queued still finish at their times.
        """
        pairs = [(source, destination)]
        if both_ways:
            pairs.append((destination, source))
        for pair in pairs:
            route = self._route(*pair)
            route.link.conditions = conditions
            route.explicit = True

    def set_default(self, conditions: LinkConditions) -> None:
        """Conditions of every link :meth:`set_link` did not set, now and later."""
        self._default = conditions
        for route in self._routes.values():
            if not route.explicit:
                route.link.conditions = conditions

    def link(self, source: Address, destination: Address) -> Link:
        """The link ``source → destination`` (its conditions and queue)."""
        return self._route(source, destination).link

    def partition(self, *groups: Iterable[Address]) -> None:
        """Split the network: an address in a listed group reaches only its group; addresses in
        no group reach each other.  Replaces any earlier partition."""
        self._partitions.split(*groups)

    def heal(self) -> None:
        """End every partition."""
        self._partitions.heal()

    # ------------------------------------------------------------------ internals

    def _route(self, source: Address, destination: Address) -> _Route:
        route = self._routes.get((source, destination))
        if route is None:
            name = f"{self.seed}/{source[0]}:{source[1]}/{destination[0]}:{destination[1]}"
            route = _Route(Link(self._default), random.Random(name), explicit=False)
            self._routes[source, destination] = route
        return route

    def _send(self, sender: MemoryEndpoint, destination: Address, data: bytes) -> None:
        stats = self.stats
        stats.sent += 1
        stats.bytes_sent += len(data)
        source = sender.local_address
        if self._partitions.active and not self._partitions.reachable(source, destination):
            self._drop(sender, DropReason.PARTITION)
            return
        receiver = self._endpoints.get(destination)
        if receiver is None:
            self._drop(sender, DropReason.NO_ENDPOINT)
            return
        route = self._route(source, destination)
        fate = route.link.transmit(len(data), trio.current_time(), route.rng)
        if fate.dropped is not None:
            self._drop(sender, fate.dropped)
            return
        self.duplicated += len(fate.arrivals) - 1
        for at in fate.arrivals:
            if len(receiver._inbox) >= receiver._inbox_limit:
                self._drop(receiver, DropReason.INBOX_FULL)
                continue
            self._sequence += 1
            heapq.heappush(receiver._inbox, (at, self._sequence, source, data))
        receiver._wake.unpark_all()

    def _drop(self, endpoint: MemoryEndpoint, reason: DropReason) -> None:
        endpoint.stats.dropped[reason] += 1
        self.stats.dropped[reason] += 1

    def _forget(self, endpoint: MemoryEndpoint) -> None:
        if self._endpoints.get(endpoint.local_address) is endpoint:
            del self._endpoints[endpoint.local_address]


class MemoryEndpoint:
    """One address on a :class:`MemoryNetwork`; a :class:`~transports.base.Transport`.

    Made by :meth:`MemoryNetwork.endpoint`, open at once.  Its counters also see what the links
    did to the datagrams it sent (lost, partitioned, …), which no real transport can know.
    """

    def __init__(
        self,
        network: MemoryNetwork,
        address: Address,
        max_datagram: int,
        batch_limit: int,
        inbox_limit: int,
    ) -> None:
        if not 1 <= max_datagram <= MAX_FRAME:
            raise TransportError(f"max_datagram must be in 1..{MAX_FRAME}, got {max_datagram}")
        if batch_limit < 1 or inbox_limit < 1:
            raise TransportError(
                f"batch_limit ({batch_limit}) and inbox_limit ({inbox_limit}) must be >= 1"
            )
        self.network = network
        self._address = address
        self._max_datagram = max_datagram
        self._batch_limit = batch_limit
        self._inbox_limit = inbox_limit
        self._inbox: list[tuple[float, int, Address, bytes]] = []
        self._wake = trio.lowlevel.ParkingLot()
        self._receiving = False
        self._closed = False
        self._stats = TransportStats()

    @property
    def local_address(self) -> Address:
        return self._address

    @property
    def max_datagram(self) -> int:
        return self._max_datagram

    @property
    def stats(self) -> TransportStats:
        return self._stats

    @property
    def closed(self) -> bool:
        return self._closed

    def send(self, address: Address, data: bytes) -> bool:
        """Hand ``data`` to the network for ``address``; always True (the sender cannot know
        whether the link loses it; the counters can)."""
        if self._closed:
            raise trio.ClosedResourceError("memory endpoint is closed")
        size = check_size(data, self._max_datagram)
        self._stats.sent += 1
        self._stats.bytes_sent += size
        self.network._send(self, address, bytes(data))
        return True

    async def receive_batch(self) -> list[Datagram]:
        """Wait for the first datagram to arrive; return every one that has, up to the limit."""
        await trio.lowlevel.checkpoint_if_cancelled()
        if self._receiving:
            raise trio.BusyResourceError("another task is already receiving on this endpoint")
        self._receiving = True
        try:
            inbox = self._inbox
            while True:
                if self._closed:
                    raise trio.ClosedResourceError("memory endpoint is closed")
                now = trio.current_time()
                if inbox and inbox[0][0] <= now:
                    batch: list[Datagram] = []
                    size = 0
                    while inbox and inbox[0][0] <= now and len(batch) < self._batch_limit:
                        _, _, source, data = heapq.heappop(inbox)
                        batch.append((source, data))
                        size += len(data)
                    self._count(batch, size)
                    await trio.lowlevel.cancel_shielded_checkpoint()
                    return batch
                with trio.move_on_at(inbox[0][0] if inbox else math.inf):
                    await self._wake.park()
        finally:
            self._receiving = False

    def _count(self, batch: list[Datagram], size: int) -> None:
        stats = self._stats
        stats.received += len(batch)
        stats.bytes_received += size
        stats.batches += 1
        self.network.stats.received += len(batch)
        self.network.stats.bytes_received += size
        self.network.stats.batches += 1

    async def aclose(self) -> None:
        """Leave the network (the address becomes free) and wake any receiver; idempotent."""
        if not self._closed:
            self._closed = True
            self._inbox.clear()
            self.network._forget(self)
            self._wake.unpark_all()
        await trio.lowlevel.checkpoint()
