"""LAN discovery by multicast beacons: announce an opaque payload, report the beacons of others.

Owns the beacon format (magic, version, an instance tag that filters our own looped-back
beacons, the payload), the beacon schedule, and the bounds on what is accepted (size, rate per
source and in total, backlog).  The payload is the driver's: this module never interprets it and
never sends anything but beacons.
"""

from __future__ import annotations

import math
import random
import secrets
import socket
import struct
from collections import OrderedDict
from dataclasses import dataclass
from typing import Final, NamedTuple

import trio

from transports.base import Address, DatagramTooLarge, DropReason, TransportError, TransportStats
from transports.udp import ICMP_ERRNOS

__all__ = [
    "BEACON_HEADER_LEN",
    "BEACON_INTERVAL",
    "BEACON_MAGIC",
    "BEACON_VERSION",
    "DISCOVERY_GROUP",
    "DISCOVERY_PORT",
    "MAX_BEACON_PAYLOAD",
    "TAG_LEN",
    "Beacon",
    "BeaconError",
    "BeaconGate",
    "Discovery",
    "DiscoveryConfig",
    "decode_beacon",
    "encode_beacon",
]

DISCOVERY_GROUP: Final = "239.255.188.1"
"""IPv4 multicast group of the beacons (organisation-local scope 239.255/16; 188 = 0xBC)."""
DISCOVERY_PORT: Final = 47188
"""UDP port of the beacons (the node's own default UDP port is 47187)."""
BEACON_INTERVAL: Final = 5.0
"""Seconds between two beacons of one node (each wait is drawn from 0.8x..1.2x of it)."""
MAX_BEACON_PAYLOAD: Final = 256
"""Longest payload a beacon carries, in bytes."""
BEACON_MAGIC: Final = b"BCMD"
BEACON_VERSION: Final = 1
TAG_LEN: Final = 8
"""Bytes of the random instance tag that lets a node drop its own beacons."""
BEACON_HEADER_LEN: Final = len(BEACON_MAGIC) + 1 + TAG_LEN

_JITTER: Final = 0.2


class BeaconError(TransportError):
    """Bytes on the discovery port that are not a beacon of this version."""


class Beacon(NamedTuple):
    """A beacon of another node: where it came from and what its driver put in it."""

    source: Address
    payload: bytes


def encode_beacon(tag: bytes, payload: bytes) -> bytes:
    """``magic ‖ version u8 ‖ tag (8 B) ‖ payload``."""
    if len(tag) != TAG_LEN:
        raise ValueError(f"tag must be {TAG_LEN} bytes, got {len(tag)}")
    if len(payload) > MAX_BEACON_PAYLOAD:
        raise DatagramTooLarge(len(payload), MAX_BEACON_PAYLOAD, "beacon payload")
    return BEACON_MAGIC + bytes((BEACON_VERSION,)) + tag + payload


def decode_beacon(data: bytes) -> tuple[bytes, bytes]:
    """``(tag, payload)`` of a beacon; raise :class:`BeaconError` for anything else."""
    if len(data) < BEACON_HEADER_LEN:
        raise BeaconError(f"{len(data)} bytes is shorter than a beacon header")
    if data[: len(BEACON_MAGIC)] != BEACON_MAGIC:
        raise BeaconError("not a BitCraps beacon (magic)")
    version = data[len(BEACON_MAGIC)]
    if version != BEACON_VERSION:
        raise BeaconError(f"beacon version {version}, expected {BEACON_VERSION}")
    if len(data) - BEACON_HEADER_LEN > MAX_BEACON_PAYLOAD:
        raise BeaconError(
            f"beacon payload of {len(data) - BEACON_HEADER_LEN} bytes exceeds {MAX_BEACON_PAYLOAD}"
        )
    return data[len(BEACON_MAGIC) + 1 : BEACON_HEADER_LEN], data[BEACON_HEADER_LEN:]


class BeaconGate:
    """Which received beacons to pass on: at most one per source per ``min_gap`` seconds, and at
    most ``rate`` per second overall (a token bucket of ``burst``).  Sans-IO: the caller gives
    ``now``.  Remembers at most ``max_sources`` sources, forgetting the least recent first."""

    def __init__(self, min_gap: float, rate: float, burst: int, max_sources: int) -> None:
        if min_gap < 0 or rate <= 0 or burst < 1 or max_sources < 1:
            raise ValueError(
                f"need min_gap >= 0, rate > 0, burst >= 1, max_sources >= 1; got {min_gap}, "
                f"{rate}, {burst}, {max_sources}"
            )
        self.min_gap = min_gap
        self.rate = rate
        self.burst = burst
        self.max_sources = max_sources
        self._last: OrderedDict[Address, float] = OrderedDict()
        self._tokens = float(burst)
        self._refilled = -math.inf

    def admit(self, source: Address, now: float) -> bool:
        """True if a beacon from ``source`` at ``now`` passes; it is then charged."""
        last = self._last.get(source)
        if last is not None and now - last < self.min_gap:
            return False
        self._tokens = min(float(self.burst), self._tokens + (now - self._refilled) * self.rate)
        self._refilled = now
        if self._tokens < 1.0:
            return False
        self._tokens -= 1.0
        self._last[source] = now
        self._last.move_to_end(source)
        if len(self._last) > self.max_sources:
            self._last.popitem(last=False)
        return True


@dataclass(frozen=True, slots=True)
class DiscoveryConfig:
    """Where beacons go and how often.  ``port=0`` (tests) binds a free port and beacons to it;
    ``interface`` is the IPv4 address of the interface to use ("127.0.0.1" on loopback)."""

    enabled: bool = True
    """False: no sockets, no beacons; ``receive`` waits until closed (``--no-discovery``)."""
    group: str = DISCOVERY_GROUP
    port: int = DISCOVERY_PORT
    interface: str = "0.0.0.0"
    interval: float = BEACON_INTERVAL
    ttl: int = 1
    """Multicast hops: 1 keeps beacons on the local link."""
    loopback: bool = True
    """Deliver our beacons to other nodes on this host too (our own are dropped by tag)."""
    min_gap: float | None = None
    """Shortest accepted spacing of one source's beacons; None: half of ``interval``."""
    rate: float = 20.0
    """Beacons per second accepted from all sources together."""
    burst: int = 20
    max_sources: int = 256
    backlog: int = 64
    """Beacons waiting for the driver before new ones are dropped."""

    def __post_init__(self) -> None:
        if not 0 <= self.port <= 65_535:
            raise TransportError(f"port must be in 0..65535, got {self.port}")
        if not (self.interval > 0 and math.isfinite(self.interval)):
            raise TransportError(f"interval must be > 0 seconds, got {self.interval}")
        if not 1 <= self.ttl <= 255:
            raise TransportError(f"ttl must be in 1..255, got {self.ttl}")
        if self.backlog < 1:
            raise TransportError(f"backlog must be >= 1, got {self.backlog}")
        try:
            group = socket.inet_aton(self.group)
            socket.inet_aton(self.interface)
        except OSError:
            raise TransportError(
                f"group {self.group!r} and interface {self.interface!r} must be IPv4 addresses"
            ) from None
        if not 224 <= group[0] <= 239:
            raise TransportError(f"{self.group} is not an IPv4 multicast group (224-239.x.x.x)")


class Discovery:
    """Sends our beacon every ``interval`` seconds and reports the beacons of others.

    Start it in a nursery: ``discovery = await nursery.start(Discovery(payload, config).run)``;
    then ``await discovery.receive()`` returns each accepted :class:`Beacon`.  ``rng`` draws the
    spacing of beacons (give a seeded one for repeatable runs).
    """

    def __init__(
        self,
        payload: bytes,
        config: DiscoveryConfig | None = None,
        *,
        rng: random.Random | None = None,
    ) -> None:
        self.config = config if config is not None else DiscoveryConfig()
        self._rng = rng if rng is not None else random.Random()
        self._tag = secrets.token_bytes(TAG_LEN)
        self._beacon = encode_beacon(self._tag, payload)
        interval = self.config.interval
        min_gap = self.config.min_gap if self.config.min_gap is not None else interval / 2
        self._gate = BeaconGate(
            min_gap, self.config.rate, self.config.burst, self.config.max_sources
        )
        self._send_beacons, self._beacons = trio.open_memory_channel[Beacon](self.config.backlog)
        self._stats = TransportStats()
        self._closed = trio.Event()
        self._started = False
        self._address: Address | None = None
        self._destination: Address | None = None

    # ------------------------------------------------------------------ the interface

    @property
    def stats(self) -> TransportStats:
        """``sent``: beacons sent; ``received``: beacons passed on; drops by reason."""
        return self._stats

    @property
    def local_address(self) -> Address:
        """The ``(group, port)`` this node listens on (the bound port when port 0 was asked)."""
        if self._destination is None:
            raise TransportError("discovery is not running (or is disabled)")
        return self._destination

    @property
    def source_address(self) -> Address:
        """The address our beacons come from (what other nodes see as the source)."""
        if self._address is None:
            raise TransportError("discovery is not running (or is disabled)")
        return self._address

    def set_payload(self, payload: bytes) -> None:
        """What the following beacons carry (at most :data:`MAX_BEACON_PAYLOAD` bytes)."""
        self._beacon = encode_beacon(self._tag, payload)

    async def receive(self) -> Beacon:
        """The next accepted beacon of another node; raises ClosedResourceError once closed."""
        try:
            return await self._beacons.receive()
        except trio.EndOfChannel:
            raise trio.ClosedResourceError("discovery is closed") from None

    async def aclose(self) -> None:
        """Stop beaconing and listening; idempotent.  Wakes a task blocked in :meth:`receive`."""
        self._closed.set()
        self._beacons.close()
        await trio.lowlevel.checkpoint()

    # ------------------------------------------------------------------ the service

    async def run(
        self, *, task_status: trio.TaskStatus[Discovery] = trio.TASK_STATUS_IGNORED
    ) -> None:
        """Open the sockets, report ``self`` to ``nursery.start``, beacon and listen until
        closed.  Raises :class:`TransportError` if multicast is unavailable on the interface."""
        if self._started or self._closed.is_set():
            raise TransportError("a Discovery runs once, and not after aclose")
        self._started = True
        try:
            if not self.config.enabled:
                task_status.started(self)
                await self._closed.wait()
                return
            listener, sender = await self._open_sockets()
            with listener, sender:
                async with trio.open_nursery() as nursery:
                    nursery.start_soon(self._listen, listener)
                    nursery.start_soon(self._announce, sender)
                    task_status.started(self)
                    await self._closed.wait()
                    nursery.cancel_scope.cancel()
        finally:
            self._closed.set()
            self._send_beacons.close()

    async def _open_sockets(self) -> tuple[trio.socket.SocketType, trio.socket.SocketType]:
        config = self.config
        group = socket.inet_aton(config.group)
        interface = socket.inet_aton(config.interface)
        listener = trio.socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sender = trio.socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if hasattr(socket, "SO_REUSEPORT"):
                listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            # bound to the group, the listener takes only datagrams sent to the group
            await listener.bind((config.group, config.port))
            listener.setsockopt(
                socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, struct.pack("4s4s", group, interface)
            )
            sender.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, interface)
            sender.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, config.ttl)
            sender.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, int(config.loopback))
            await sender.bind((config.interface, 0))
        except OSError as exc:
            listener.close()
            sender.close()
            raise TransportError(
                f"multicast discovery unavailable on {config.interface} "
                f"({config.group}:{config.port}): {exc}"
            ) from exc
        port: int = listener.getsockname()[1]
        self._destination = (config.group, port)
        host, source_port = sender.getsockname()[:2]
        self._address = (host, source_port)
        return listener, sender

    async def _announce(self, sender: trio.socket.SocketType) -> None:
        assert self._destination is not None
        while True:
            try:
                await sender.sendto(self._beacon, self._destination)
            except OSError:
                self._stats.dropped[DropReason.UNREACHABLE] += 1
            else:
                self._stats.sent += 1
                self._stats.bytes_sent += len(self._beacon)
            await trio.sleep(self.config.interval * self._rng.uniform(1 - _JITTER, 1 + _JITTER))

    async def _listen(self, listener: trio.socket.SocketType) -> None:
        stats = self._stats
        while True:
            try:
                data, sockaddr = await listener.recvfrom(BEACON_HEADER_LEN + MAX_BEACON_PAYLOAD + 1)
            except OSError as exc:
                if exc.errno not in ICMP_ERRNOS:
                    raise
                stats.dropped[DropReason.UNREACHABLE] += 1
                continue
            source: Address = (sockaddr[0], sockaddr[1])
            try:
                tag, payload = decode_beacon(data)
            except BeaconError:
                too_long = len(data) > BEACON_HEADER_LEN + MAX_BEACON_PAYLOAD
                stats.dropped[DropReason.OVERSIZE if too_long else DropReason.MALFORMED] += 1
                continue
            if tag == self._tag:
                stats.dropped[DropReason.OWN] += 1
                continue
            if not self._gate.admit(source, trio.current_time()):
                stats.dropped[DropReason.RATE_LIMITED] += 1
                continue
            try:
                self._send_beacons.send_nowait(Beacon(source, payload))
            except trio.WouldBlock:
                stats.dropped[DropReason.BACKLOG] += 1
                continue
            except trio.BrokenResourceError:  # closed: nobody takes beacons any more
                return
            stats.received += 1
            stats.bytes_received += len(data)
            stats.batches += 1
