"""Tests for transports/udp.py over loopback, port 0 everywhere."""

from __future__ import annotations

import socket
import sys
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
import trio
import trio.testing

from transports.base import AddressError, DatagramTooLarge, DropReason, Transport, TransportError
from transports.udp import UdpConfig, UdpTransport

TIMEOUT = 10.0
LOOPBACK = "127.0.0.1"
IP_RECVERR = 11  # Linux <netinet/in.h>; not exported by the socket module before Python 3.12

Opener = Callable[..., Awaitable[UdpTransport]]


@pytest.fixture
async def open_udp() -> AsyncIterator[Opener]:
    """Start UDP transports in a nursery that is cancelled (closing them) after the test."""
    async with trio.open_nursery() as nursery:

        async def opener(host: str = LOOPBACK, **options: int) -> UdpTransport:
            transport: UdpTransport = await nursery.start(
                UdpTransport(UdpConfig(host=host, port=0, **options)).run
            )
            return transport

        yield opener
        nursery.cancel_scope.cancel()


def dead_port() -> tuple[str, int]:
    """A loopback port nobody listens on (bound, then closed)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((LOOPBACK, 0))
        address: tuple[str, int] = sock.getsockname()
    return address


async def receive_n(transport: UdpTransport, count: int) -> list[tuple[tuple[str, int], bytes]]:
    got: list[tuple[tuple[str, int], bytes]] = []
    while len(got) < count:
        got.extend(await transport.receive_batch())
    return got


def test_udp_transport_is_a_transport() -> None:
    transport: Transport = UdpTransport()  # checked by mypy
    assert transport.max_datagram == 1200


async def test_two_endpoints_exchange_datagrams(open_udp: Opener) -> None:
    with trio.fail_after(TIMEOUT):
        a, b = await open_udp(), await open_udp()
        assert a.local_address[0] == LOOPBACK and a.local_address[1] != 0
        assert a.local_address != b.local_address
        assert a.send(b.local_address, b"ping")
        [(source, data)] = await b.receive_batch()
        assert (source, data) == (a.local_address, b"ping")
        assert b.send(source, b"pong")
        assert await a.receive_batch() == [(b.local_address, b"pong")]
        assert a.stats.snapshot() == {
            "sent": 1, "received": 1, "bytes_sent": 4, "bytes_received": 4, "batches": 1,
        }  # fmt: skip


async def test_queued_datagrams_come_back_in_batches_up_to_the_limit(open_udp: Opener) -> None:
    with trio.fail_after(TIMEOUT):
        a, b = await open_udp(), await open_udp(batch_limit=16)
        for i in range(40):
            assert a.send(b.local_address, i.to_bytes(2, "big"))
        sizes = []
        got: list[bytes] = []
        while len(got) < 40:
            batch = await b.receive_batch()
            sizes.append(len(batch))
            got.extend(data for _, data in batch)
        assert got == [i.to_bytes(2, "big") for i in range(40)]  # loopback keeps order
        assert max(sizes) == 16
        assert len(sizes) < 40
        assert b.stats.batches == len(sizes) and b.stats.received == 40


async def test_largest_datagram_passes_and_one_byte_more_is_refused(open_udp: Opener) -> None:
    with trio.fail_after(TIMEOUT):
        a, b = await open_udp(), await open_udp()
        with pytest.raises(DatagramTooLarge, match="1201 bytes exceeds the limit of 1200"):
            a.send(b.local_address, bytes(1_201))
        assert a.send(b.local_address, bytes(1_200))
        [(_, data)] = await b.receive_batch()
        assert len(data) == 1_200
        assert a.stats.sent == 1


async def test_oversize_datagram_from_elsewhere_is_dropped_and_counted(open_udp: Opener) -> None:
    with trio.fail_after(TIMEOUT):
        b = await open_udp()
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as raw:
            raw.sendto(bytes(1_300), b.local_address)
            raw.sendto(b"after", b.local_address)
        [(_, data)] = await receive_n(b, 1)
        assert data == b"after"
        assert b.stats.dropped == {DropReason.OVERSIZE: 1}


async def test_sending_to_a_closed_port_does_not_break_the_receiver(open_udp: Opener) -> None:
    with trio.fail_after(TIMEOUT):
        a, b = await open_udp(), await open_udp()
        dead = dead_port()
        for _ in range(20):
            a.send(dead, b"anyone?")
            assert a.send(b.local_address, b"alive")
        got = await receive_n(b, 20)
        assert {data for _, data in got} == {b"alive"}
        assert b.send(a.local_address, b"and back")
        assert await a.receive_batch() == [(b.local_address, b"and back")]


@pytest.mark.skipif(sys.platform != "linux", reason="IP_RECVERR is Linux-only")
async def test_icmp_port_unreachable_is_counted_and_skipped(open_udp: Opener) -> None:
    """With IP_RECVERR, Linux reports port-unreachable on the next call (send or receive); both
    paths count it and carry on."""
    with trio.fail_after(TIMEOUT):
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.setsockopt(socket.IPPROTO_IP, IP_RECVERR, 1)
        sock.bind((LOOPBACK, 0))
        a = UdpTransport.adopt(sock)
        b = await open_udp()
        async with trio.open_nursery() as nursery:
            await nursery.start(a.run)
            dead = dead_port()
            a.send(dead, b"x")  # the ICMP error is now pending on a
            await trio.sleep(0.05)  # the kernel's ICMP has no event to wait on
            assert a.send(b.local_address, b"first")  # refused once, retried, sent
            assert a.stats.dropped[DropReason.REFUSED] == 1
            a.send(dead, b"x")
            await trio.sleep(0.05)
            b.send(a.local_address, b"reply")
            got = await receive_n(a, 1)
            assert got == [(b.local_address, b"reply")]
            assert a.stats.dropped[DropReason.REFUSED] == 2
            assert [d for _, d in await receive_n(b, 1)] == [b"first"]
            # the socket must not stay readable with nothing to read (no busy loop)
            with trio.move_on_after(0.2):
                await a.receive_batch()
                pytest.fail("nothing was sent")
            await a.aclose()


async def test_aclose_is_idempotent_and_unblocks_the_receiver(open_udp: Opener) -> None:
    with trio.fail_after(TIMEOUT):
        a = await open_udp()
        woke: list[str] = []

        async def receiver() -> None:
            with pytest.raises(trio.ClosedResourceError):
                await a.receive_batch()
            woke.append("closed")

        async with trio.open_nursery() as nursery:
            nursery.start_soon(receiver)
            await trio.testing.wait_all_tasks_blocked()
            await a.aclose()
            await a.aclose()
        assert woke == ["closed"]
        assert a.closed
        with pytest.raises(trio.ClosedResourceError):
            a.send(a.local_address, b"x")
        with pytest.raises(trio.ClosedResourceError):
            await a.receive_batch()


async def test_cancelling_the_nursery_closes_the_transport() -> None:
    with trio.fail_after(TIMEOUT):
        async with trio.open_nursery() as nursery:
            a: UdpTransport = await nursery.start(UdpTransport(UdpConfig(LOOPBACK, 0)).run)
            nursery.cancel_scope.cancel()
        assert a.closed
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.bind(a.local_address)  # the port is free again


async def test_two_receivers_at_once_is_an_error(open_udp: Opener) -> None:
    with trio.fail_after(TIMEOUT):
        a = await open_udp()
        async with trio.open_nursery() as nursery:
            nursery.start_soon(a.receive_batch)
            await trio.testing.wait_all_tasks_blocked()
            with pytest.raises(trio.BusyResourceError):
                await a.receive_batch()
            nursery.cancel_scope.cancel()


async def test_host_names_must_be_resolved_before_sending(open_udp: Opener) -> None:
    with trio.fail_after(TIMEOUT):
        a, b = await open_udp(), await open_udp()
        with pytest.raises(AddressError, match="resolve host names first"):
            a.send(("localhost", b.local_address[1]), b"x")
        with pytest.raises(AddressError, match=r"port must be in 1\.\.65535"):
            a.send((LOOPBACK, 0), b"x")
        with pytest.raises(AddressError, match="not a numeric IPv4"):
            a.send(("::1", 5), b"x")  # an IPv4 socket cannot reach IPv6
        resolved = await a.resolve(("localhost", b.local_address[1]))
        assert resolved == b.local_address
        assert a.send(resolved, b"x")
        with pytest.raises(AddressError, match="cannot resolve"):
            await a.resolve(("no-such-host.invalid", 1))


async def test_binding_a_port_in_use_is_a_clear_error() -> None:
    with trio.fail_after(TIMEOUT), socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as taken:
        taken.bind((LOOPBACK, 0))
        port = taken.getsockname()[1]
        async with trio.open_nursery() as nursery:
            with pytest.raises(TransportError, match=f"cannot bind UDP 127.0.0.1:{port}"):
                await nursery.start(UdpTransport(UdpConfig(LOOPBACK, port)).run)


async def test_local_address_before_start_is_an_error() -> None:
    with pytest.raises(TransportError, match="not bound yet"):
        _ = UdpTransport().local_address
    with pytest.raises(TransportError, match="not bound yet"):
        UdpTransport().send((LOOPBACK, 9), b"x")
    with pytest.raises(TransportError, match="not bound yet"):
        await UdpTransport().receive_batch()
    with pytest.raises(TransportError, match="batch_limit"):
        UdpConfig(batch_limit=0)


def _ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as sock:
            sock.bind(("::1", 0))
    except OSError:
        return False
    return True


needs_ipv6 = pytest.mark.skipif(not _ipv6_loopback(), reason="no IPv6 loopback (::1) here")


@needs_ipv6
async def test_ipv6_endpoints_exchange_datagrams(open_udp: Opener) -> None:
    with trio.fail_after(TIMEOUT):
        a, b = await open_udp("::1"), await open_udp("::1")
        assert a.local_address[0] == "::1"
        a.send(b.local_address, b"six")
        assert await b.receive_batch() == [(a.local_address, b"six")]


@needs_ipv6
async def test_dual_stack_socket_reports_ipv4_peers_as_plain_ipv4(open_udp: Opener) -> None:
    with trio.fail_after(TIMEOUT):
        dual, v4 = await open_udp("::"), await open_udp()
        target = (LOOPBACK, dual.local_address[1])
        v4.send(target, b"hello")
        [(source, data)] = await dual.receive_batch()
        assert (source, data) == (v4.local_address, b"hello")
        assert dual.send(source, b"hi")
        assert await v4.receive_batch() == [(target, b"hi")]


def test_adopt_refuses_a_socket_that_is_not_udp() -> None:
    with (
        socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp,
        pytest.raises(TransportError, match="not a UDP/IP socket"),
    ):
        UdpTransport.adopt(tcp)
