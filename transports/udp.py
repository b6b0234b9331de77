"""The UDP transport: one non-blocking socket under Trio, datagrams of at most 1,200 bytes.

Owns the socket's life (bind, batched receive, best-effort send, close) and name resolution of
static peers.  A dead or unreachable peer costs a counted drop, never an exception out of
``send`` or ``receive_batch``; the transport never interprets the bytes it carries.
"""

from __future__ import annotations

import errno
import socket
from dataclasses import dataclass
from typing import Any, Final, NoReturn

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

__all__ = [
    "DEFAULT_BATCH",
    "DEFAULT_PORT",
    "DEFAULT_RECEIVE_BUFFER",
    "ICMP_ERRNOS",
    "UdpConfig",
    "UdpTransport",
]

DEFAULT_PORT: Final = 47187
"""The node's UDP port when none is configured (``--peer HOST`` without a port means this)."""
DEFAULT_BATCH: Final = 256
"""Most datagrams one ``receive_batch`` reads (the socket is drained without blocking).  What the
node does once per batch (a scheduler pass, a verify job, a commit) is spread over up to this
many packets; a batch of 256 costs the node's loop a few milliseconds."""
DEFAULT_RECEIVE_BUFFER: Final = 1 << 20
"""SO_RCVBUF asked for, in bytes (the kernel may cap it: Linux ``net.core.rmem_max``)."""

ICMP_ERRNOS: Final = frozenset(
    {
        errno.ECONNREFUSED,
        errno.ECONNRESET,
        errno.EHOSTUNREACH,
        errno.ENETUNREACH,
        errno.EHOSTDOWN,
        errno.ENETDOWN,
        errno.EPROTO,
    }
)
"""Errors a UDP socket reports for an earlier datagram (ICMP) rather than for the call itself."""
_MAX_TARGETS: Final = 4096
_MSG_ERRQUEUE: Final[int | None] = getattr(socket, "MSG_ERRQUEUE", None)
_MAX_ERROR_REPORTS: Final = 64


@dataclass(frozen=True, slots=True)
class UdpConfig:
    """Where and how to bind.  ``port=0`` binds a free port (tests); ``host`` "::" is dual-stack."""

    host: str = "0.0.0.0"
    port: int = DEFAULT_PORT
    batch_limit: int = DEFAULT_BATCH
    receive_buffer: int = DEFAULT_RECEIVE_BUFFER

    def __post_init__(self) -> None:
        if not 0 <= self.port <= 65_535:
            raise TransportError(f"port must be in 0..65535, got {self.port}")
        if self.batch_limit < 1:
            raise TransportError(f"batch_limit must be >= 1, got {self.batch_limit}")
        if self.receive_buffer < 0:
            raise TransportError(f"receive_buffer must be >= 0 bytes, got {self.receive_buffer}")


class UdpTransport:
    """One UDP socket; a :class:`~transports.base.Transport`.

    Start it in a nursery: ``udp = await nursery.start(UdpTransport(config).run)``; the task
    binds, reports the transport, and keeps it open until :meth:`aclose` or cancellation.
    """

    def __init__(self, config: UdpConfig | None = None) -> None:
        self.config = config if config is not None else UdpConfig()
        self._sock: socket.socket | None = None
        self._family = socket.AF_INET
        self._address: Address | None = None
        self._targets: dict[Address, tuple[str, int]] = {}
        self._stats = TransportStats()
        self._receiving = False
        self._started = False
        self._closed = trio.Event()

    @classmethod
    def adopt(cls, sock: socket.socket, config: UdpConfig | None = None) -> UdpTransport:
        """A transport over an already bound UDP socket (inherited, or bound by a privileged
        parent); ``run`` then skips binding.  The transport owns the socket from now on."""
        if sock.type != socket.SOCK_DGRAM or sock.family not in (socket.AF_INET, socket.AF_INET6):
            raise TransportError(f"not a UDP/IP socket: {sock!r}")
        transport = cls(config)
        transport._take(sock)
        return transport

    # ------------------------------------------------------------------ life

    async def run(
        self, *, task_status: trio.TaskStatus[UdpTransport] = trio.TASK_STATUS_IGNORED
    ) -> None:
        """Bind (unless adopted), report ``self`` to ``nursery.start``, stay open until closed."""
        if self._started or self._closed.is_set():
            raise TransportError("a UdpTransport runs once, and not after aclose")
        self._started = True
        try:
            if self._sock is None:
                self._take(await self._bind())
            task_status.started(self)
            await self._closed.wait()
        finally:
            self._close_now()

    async def _bind(self) -> socket.socket:
        config = self.config
        try:
            infos = await trio.socket.getaddrinfo(
                config.host, config.port, type=socket.SOCK_DGRAM, flags=socket.AI_PASSIVE
            )
        except OSError as exc:
            raise TransportError(f"cannot resolve bind host {config.host!r}: {exc}") from exc
        family, kind, proto, _, sockaddr = infos[0]
        sock = socket.socket(family, kind, proto)
        try:
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
            if config.receive_buffer:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, config.receive_buffer)
            sock.bind(sockaddr)
        except OSError as exc:
            sock.close()
            raise TransportError(f"cannot bind UDP {config.host}:{config.port}: {exc}") from exc
        return sock

    def _take(self, sock: socket.socket) -> None:
        sock.setblocking(False)
        self._sock = sock
        self._family = socket.AddressFamily(sock.family)
        self._address = self._source(sock.getsockname())

    async def aclose(self) -> None:
        """Close the socket and wake any receiver; idempotent."""
        self._close_now()
        await trio.lowlevel.checkpoint()

    def _close_now(self) -> None:
        self._closed.set()
        sock, self._sock = self._sock, None
        if sock is not None:
            trio.lowlevel.notify_closing(sock)
            sock.close()

    def _not_open(self) -> NoReturn:
        if self._closed.is_set():
            raise trio.ClosedResourceError("UDP transport is closed")
        raise TransportError("not bound yet: start it with nursery.start(transport.run)")

    # ------------------------------------------------------------------ the interface

    @property
    def local_address(self) -> Address:
        if self._address is None:
            raise TransportError("not bound yet: start it with nursery.start(transport.run)")
        return self._address

    @property
    def max_datagram(self) -> int:
        return MAX_FRAME

    @property
    def stats(self) -> TransportStats:
        return self._stats

    @property
    def closed(self) -> bool:
        return self._closed.is_set()

    def send(self, address: Address, data: bytes) -> bool:
        """Send one datagram to a numeric address; drop and count on a full buffer or an error
        the network reported.  Raises :class:`AddressError` for a host name (resolve it first
        with :meth:`resolve`) and :class:`DatagramTooLarge` over 1,200 bytes."""
        sock = self._sock if self._sock is not None else self._not_open()
        size = check_size(data, MAX_FRAME)
        target = self._targets.get(address)
        if target is None:
            target = self._target(address)
        stats = self._stats
        for _attempt in range(2):
            try:
                sock.sendto(data, target)
            except BlockingIOError:
                stats.dropped[DropReason.WOULD_BLOCK] += 1
                return False
            except OSError as exc:
                if exc.errno == errno.ENOBUFS:
                    stats.dropped[DropReason.NO_BUFFERS] += 1
                    return False
                if exc.errno in (errno.ECONNREFUSED, errno.ECONNRESET):
                    # reported for an earlier datagram (to a peer that is gone); this one was
                    # not sent: count the old one and try once more
                    stats.dropped[DropReason.REFUSED] += 1
                    _clear_error_queue(sock)
                    continue
                stats.dropped[DropReason.UNREACHABLE] += 1
                return False
            stats.sent += 1
            stats.bytes_sent += size
            return True
        stats.dropped[DropReason.REFUSED] += 1
        return False

    async def receive_batch(self) -> list[Datagram]:
        """Wait until the socket is readable, then read what is queued without blocking, up to
        ``config.batch_limit`` datagrams.  ICMP errors and oversize datagrams are counted and
        skipped."""
        await trio.lowlevel.checkpoint_if_cancelled()
        if self._receiving:
            raise trio.BusyResourceError("another task is already receiving on this transport")
        self._receiving = True
        try:
            woke = False
            while True:
                sock = self._sock if self._sock is not None else self._not_open()
                batch = self._drain(sock)
                if batch:
                    await trio.lowlevel.cancel_shielded_checkpoint()
                    return batch
                if woke:
                    # readable with nothing to read: a queued ICMP report (IP_RECVERR) keeps the
                    # socket readable until it is read from the error queue
                    _clear_error_queue(sock)
                await trio.lowlevel.wait_readable(sock)
                woke = True
        finally:
            self._receiving = False

    def _drain(self, sock: socket.socket) -> list[Datagram]:
        batch: list[Datagram] = []
        append = batch.append
        recvfrom = sock.recvfrom
        bufsize = MAX_FRAME + 1  # one byte more than allowed shows an oversize datagram
        plain = self._family == socket.AF_INET
        size = 0
        for _ in range(self.config.batch_limit):
            try:
                data, source = recvfrom(bufsize)
            except BlockingIOError:
                break
            except OSError as exc:
                self._receive_error(sock, exc)
                continue
            length = len(data)
            if length > MAX_FRAME:
                self._stats.dropped[DropReason.OVERSIZE] += 1
                continue
            size += length
            append((source, data) if plain else (self._source(source), data))
        if batch:
            stats = self._stats
            stats.received += len(batch)
            stats.bytes_received += size
            stats.batches += 1
        return batch

    def _receive_error(self, sock: socket.socket, exc: OSError) -> None:
        """Count an ICMP report for an earlier datagram; anything else is not ours to hide."""
        if exc.errno not in ICMP_ERRNOS:
            raise exc
        _clear_error_queue(sock)
        refused = exc.errno == errno.ECONNREFUSED
        self._stats.dropped[DropReason.REFUSED if refused else DropReason.UNREACHABLE] += 1

    # ------------------------------------------------------------------ addresses

    async def resolve(self, address: Address) -> Address:
        """Resolve a host name to a numeric address this transport can send to (the first one
        the resolver returns for the socket's family; IPv4 first on a dual-stack socket)."""
        host, port = address
        families = (
            [socket.AF_INET]
            if self._family == socket.AF_INET
            else [socket.AF_INET, socket.AF_INET6]
        )
        for family in families:
            try:
                infos = await trio.socket.getaddrinfo(host, port, family, socket.SOCK_DGRAM)
            except OSError:
                continue
            if infos:
                return self._source(infos[0][4])
        raise AddressError(f"cannot resolve {host!r} to an address for this UDP socket")

    def _target(self, address: Address) -> tuple[str, int]:
        """``address`` as this socket's sendto takes it; checked once, then cached."""
        try:
            host, port = address
        except (TypeError, ValueError):
            raise AddressError(f"{address!r} is not a (host, port) pair") from None
        if not isinstance(port, int) or not 1 <= port <= 65_535:
            raise AddressError(f"{address!r}: port must be in 1..65535")
        target: tuple[str, int]
        if _is_ipv4(host):
            target = (f"::ffff:{host}", port) if self._family == socket.AF_INET6 else (host, port)
        elif self._family == socket.AF_INET6 and _is_ipv6(host):
            target = (host, port)
        else:
            raise AddressError(
                f"{address!r}: not a numeric IPv{6 if self._family == socket.AF_INET6 else 4} "
                "address; resolve host names first (UdpTransport.resolve)"
            )
        if len(self._targets) >= _MAX_TARGETS:
            self._targets.clear()
        self._targets[address] = target
        return target

    def _source(self, sockaddr: tuple[Any, ...]) -> Address:
        host: str = sockaddr[0]
        port: int = sockaddr[1]
        if host.startswith("::ffff:") and _is_ipv4(host[7:]):
            host = host[7:]
        return (host, port)


def _is_ipv4(host: str) -> bool:
    try:
        socket.inet_pton(socket.AF_INET, host)
    except (OSError, TypeError):
        return False
    return True


def _is_ipv6(host: str) -> bool:
    try:
        socket.inet_pton(socket.AF_INET6, host.partition("%")[0])
    except (OSError, TypeError):
        return False
    return True


def _clear_error_queue(sock: socket.socket) -> None:
    """Read and discard the socket's queued ICMP reports (Linux, only with IP_RECVERR set)."""
    if _MSG_ERRQUEUE is None:
        return
    for _ in range(_MAX_ERROR_REPORTS):
        try:
            sock.recvmsg(1, 1024, _MSG_ERRQUEUE)
        except OSError:
            return
