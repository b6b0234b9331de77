"""The transport interface the Trio driver uses: addresses, datagrams, counters, typed errors.

A transport moves datagrams of at most ``max_datagram`` bytes between :data:`Address` es and
knows nothing of ledgers.  This module owns the :class:`Transport` protocol every transport (UDP,
in-memory, BLE later) implements; it never opens a socket or reads a clock.

Why ``send`` is synchronous: the network under a transport is best effort, and the node above it
(gossip, pulls, anti-entropy) already recovers from loss.  A ``send`` that waited for buffer space
would let one slow or dead neighbour stall the driver's loop that serves every other neighbour, so
``send`` hands the datagram to the OS (or a bounded queue) at once, or drops it and counts why.
Receiving is asynchronous and batched: one wake-up and one scheduler pass per batch, not per
datagram.  Only one task may receive from a transport at a time (:class:`trio.BusyResourceError`);
using a closed transport raises :class:`trio.ClosedResourceError`.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

__all__ = [
    "Address",
    "AddressError",
    "Datagram",
    "DatagramTooLarge",
    "DropReason",
    "Transport",
    "TransportError",
    "TransportStats",
    "check_size",
]

Address = tuple[str, int]
"""Where a datagram comes from or goes to: ``(host, port)``.

UDP: a numeric IPv4 or IPv6 host (IPv4-mapped IPv6 sources are reported as plain IPv4) and a
port.  Memory network: any name and number.  BLE (later): a device address and a link number."""

Datagram = tuple[Address, bytes]
"""One received datagram and where it came from."""


class TransportError(Exception):
    """Base class of the errors a transport raises for misuse or a failed start."""


class DatagramTooLarge(TransportError, ValueError):
    """A datagram (or beacon payload) longer than the transport accepts: a caller's bug."""

    def __init__(self, size: int, limit: int, what: str = "datagram") -> None:
        super().__init__(f"{what} of {size} bytes exceeds the limit of {limit} bytes")
        self.size = size
        self.limit = limit


class AddressError(TransportError, ValueError):
    """An address that cannot be parsed, or that a transport cannot send to as given."""


class DropReason(StrEnum):
    """Why a datagram was dropped; the key of :attr:`TransportStats.dropped` (a metrics label)."""

    # UDP, on send
    WOULD_BLOCK = "would_block"
    """The socket's send buffer was full."""
    NO_BUFFERS = "no_buffers"
    """The kernel had no buffer space (ENOBUFS)."""
    REFUSED = "refused"
    """An ICMP port-unreachable came back for an earlier datagram (a peer that is gone)."""
    UNREACHABLE = "unreachable"
    """The OS refused the send or reported an ICMP error: no route, host down, network down."""
    # UDP and discovery, on receive
    OVERSIZE = "oversize"
    """A received datagram longer than the limit."""
    # memory network (the sender's counters see what its links did)
    LOSS = "loss"
    PARTITION = "partition"
    MTU = "mtu"
    """Longer than the link's MTU."""
    QUEUE = "queue"
    """The link's bandwidth queue was full (tail drop)."""
    NO_ENDPOINT = "no_endpoint"
    """Nobody is at the destination address."""
    INBOX_FULL = "inbox_full"
    """The receiving endpoint had too many datagrams pending."""
    # discovery
    MALFORMED = "malformed"
    """Not a beacon of this protocol version."""
    OWN = "own"
    """Our own beacon, looped back."""
    RATE_LIMITED = "rate_limited"
    """A source beaconing too often, or too many beacons overall."""
    BACKLOG = "backlog"
    """The driver was not taking beacons fast enough."""


@dataclass(slots=True)
class TransportStats:
    """Counters of one transport, updated in place; the driver reads them for metrics."""

    sent: int = 0
    """Datagrams handed to the OS (or the network) for sending."""
    received: int = 0
    """Datagrams returned by ``receive_batch``."""
    bytes_sent: int = 0
    bytes_received: int = 0
    batches: int = 0
    """Batches returned by ``receive_batch``; ``received / batches`` is the mean batch size."""
    dropped: Counter[DropReason] = field(default_factory=Counter)
    """Datagrams dropped, by reason."""

    def snapshot(self) -> dict[str, int]:
        """A flat copy: the totals, then ``dropped_<reason>`` for every reason seen."""
        flat = {
            "sent": self.sent,
            "received": self.received,
            "bytes_sent": self.bytes_sent,
            "bytes_received": self.bytes_received,
            "batches": self.batches,
        }
        for reason, count in sorted(self.dropped.items()):
            flat[f"dropped_{reason.value}"] = count
        return flat


def check_size(data: bytes, limit: int) -> int:
    """Return ``len(data)``; raise :class:`DatagramTooLarge` if it is over ``limit``."""
    size = len(data)
    if size > limit:
        raise DatagramTooLarge(size, limit)
    return size


class Transport(Protocol):
    """What the Trio driver needs of a transport (UDP, memory, BLE).

    Each transport is constructed without I/O and started with ``await nursery.start(t.run)``
    (UDP, discovery) or made ready by its factory (memory network); it stays open until
    :meth:`aclose` or until the nursery that runs it is cancelled.
    """

    @property
    def local_address(self) -> Address:
        """The address peers reach this transport at (the bound port when port 0 was asked)."""
        ...

    @property
    def max_datagram(self) -> int:
        """The longest datagram :meth:`send` takes, in bytes."""
        ...

    @property
    def stats(self) -> TransportStats:
        """Live counters."""
        ...

    def send(self, address: Address, data: bytes) -> bool:
        """Send one datagram, best effort, without blocking.

        Returns True when it was handed on, False when it was dropped (counted in
        :attr:`stats`).  Raises :class:`DatagramTooLarge` over :attr:`max_datagram`,
        :class:`AddressError` for an address this transport cannot send to, and
        :class:`trio.ClosedResourceError` once closed.
        """
        ...

    async def receive_batch(self) -> list[Datagram]:
        """Wait until at least one datagram has arrived; return those that have, up to a limit.

        Raises :class:`trio.ClosedResourceError` when the transport is closed, also in a task
        blocked here when another task closes it.
        """
        ...

    async def aclose(self) -> None:
        """Close; idempotent.  Wakes any task blocked in :meth:`receive_batch`."""
        ...
