"""Tests for transports/discovery.py: the beacon format, the gate, and beacons over loopback.

Multicast runs on the loopback interface (IP_MULTICAST_IF 127.0.0.1, IP_MULTICAST_LOOP on),
each test on a free port of its own; a machine without loopback multicast skips those tests.
"""

from __future__ import annotations

import random
import socket
import struct
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
import trio
import trio.testing
from hypothesis import given
from hypothesis import strategies as st

from transports.base import DatagramTooLarge, DropReason, TransportError
from transports.discovery import (
    BEACON_HEADER_LEN,
    DISCOVERY_GROUP,
    MAX_BEACON_PAYLOAD,
    Beacon,
    BeaconError,
    BeaconGate,
    Discovery,
    DiscoveryConfig,
    decode_beacon,
    encode_beacon,
)

TIMEOUT = 10.0
LOOPBACK = "127.0.0.1"

Opener = Callable[..., Awaitable[Discovery]]


def _loopback_multicast() -> str | None:
    """None if a multicast datagram sent on loopback comes back here; else why not."""
    try:
        with (
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as rx,
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as tx,
        ):
            rx.bind((DISCOVERY_GROUP, 0))
            mreq = struct.pack(
                "4s4s", socket.inet_aton(DISCOVERY_GROUP), socket.inet_aton(LOOPBACK)
            )
            rx.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, mreq)
            rx.settimeout(2.0)
            tx.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(LOOPBACK))
            tx.sendto(b"probe", (DISCOVERY_GROUP, rx.getsockname()[1]))
            rx.recvfrom(16)
    except OSError as exc:
        return f"multicast on the loopback interface does not work here: {exc}"
    return None


_NO_MULTICAST = _loopback_multicast()
needs_multicast = pytest.mark.skipif(_NO_MULTICAST is not None, reason=_NO_MULTICAST or "")


@pytest.fixture
async def open_discovery() -> AsyncIterator[Opener]:
    """Start Discovery services on loopback in a nursery cancelled after the test."""
    async with trio.open_nursery() as nursery:

        async def opener(payload: bytes, port: int = 0, **options: float) -> Discovery:
            config = DiscoveryConfig(interface=LOOPBACK, port=port, **options)  # type: ignore[arg-type]
            discovery: Discovery = await nursery.start(
                Discovery(payload, config, rng=random.Random(1)).run
            )
            return discovery

        yield opener
        nursery.cancel_scope.cancel()


# ---------------------------------------------------------------------------- format


def test_beacon_round_trip() -> None:
    tag = bytes(range(8))
    data = encode_beacon(tag, b"prefix+port+key")
    assert data[:4] == b"BCMD" and data[4] == 1
    assert len(data) == BEACON_HEADER_LEN + 15
    assert decode_beacon(data) == (tag, b"prefix+port+key")
    assert decode_beacon(encode_beacon(tag, b"")) == (tag, b"")


def test_payload_over_the_limit_is_refused_with_size_and_limit() -> None:
    encode_beacon(bytes(8), bytes(MAX_BEACON_PAYLOAD))
    with pytest.raises(DatagramTooLarge, match="beacon payload of 257 bytes exceeds the limit"):
        encode_beacon(bytes(8), bytes(MAX_BEACON_PAYLOAD + 1))
    discovery = Discovery(b"ok")
    with pytest.raises(DatagramTooLarge):
        discovery.set_payload(bytes(300))
    with pytest.raises(DatagramTooLarge):
        Discovery(bytes(300))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"BCMD\x01", "shorter than a beacon header"),
        (b"XXXX\x01" + bytes(8), "magic"),
        (b"BCMD\x02" + bytes(8), "version 2"),
        (b"BCMD\x01" + bytes(8 + MAX_BEACON_PAYLOAD + 1), "257 bytes exceeds"),
    ],
)
def test_bytes_that_are_not_a_beacon_are_refused(data: bytes, message: str) -> None:
    with pytest.raises(BeaconError, match=message):
        decode_beacon(data)


@given(st.binary(max_size=300))
def test_decode_beacon_takes_any_bytes(data: bytes) -> None:
    try:
        tag, payload = decode_beacon(data)
    except BeaconError:
        return
    assert encode_beacon(tag, payload) == data


def test_config_refuses_what_cannot_work() -> None:
    with pytest.raises(TransportError, match="not an IPv4 multicast group"):
        DiscoveryConfig(group="10.0.0.1")
    with pytest.raises(TransportError, match="must be IPv4 addresses"):
        DiscoveryConfig(interface="lo")
    with pytest.raises(TransportError, match="interval"):
        DiscoveryConfig(interval=0)


# ---------------------------------------------------------------------------- gate

A = ("192.0.2.1", 5000)
B = ("192.0.2.2", 5000)


def test_gate_passes_one_beacon_per_source_per_gap() -> None:
    gate = BeaconGate(min_gap=2.0, rate=100.0, burst=10, max_sources=8)
    assert gate.admit(A, 0.0)
    assert not gate.admit(A, 1.9)
    assert gate.admit(B, 1.9)
    assert gate.admit(A, 2.0)


def test_gate_bounds_the_total_rate() -> None:
    gate = BeaconGate(min_gap=0.0, rate=2.0, burst=3, max_sources=100)
    sources = [("192.0.2.9", port) for port in range(10)]
    assert [gate.admit(s, 0.0) for s in sources[:5]] == [True, True, True, False, False]
    assert gate.admit(sources[5], 0.5)  # one token back after half a second at 2/s
    assert not gate.admit(sources[6], 0.5)


def test_gate_forgets_the_least_recent_source_beyond_its_bound() -> None:
    gate = BeaconGate(min_gap=10.0, rate=100.0, burst=100, max_sources=2)
    assert gate.admit(A, 0.0) and gate.admit(B, 0.1)
    assert gate.admit(("192.0.2.3", 1), 0.2)  # A forgotten
    assert gate.admit(A, 0.3)
    assert not gate.admit(("192.0.2.3", 1), 0.4)


# ---------------------------------------------------------------------------- on loopback


@needs_multicast
async def test_two_nodes_find_each_other(open_discovery: Opener) -> None:
    with trio.fail_after(TIMEOUT):
        first = await open_discovery(b"node one", interval=0.05)
        port = first.local_address[1]
        assert first.local_address == (DISCOVERY_GROUP, port) and port != 0
        second = await open_discovery(b"node two", port=port, interval=0.05)
        assert await first.receive() == Beacon(second.source_address, b"node two")
        assert await second.receive() == Beacon(first.source_address, b"node one")
        assert second.source_address[0] == LOOPBACK
        second.set_payload(b"node two, new port")
        while (beacon := await first.receive()).payload != b"node two, new port":
            assert beacon.source == second.source_address
        assert first.stats.sent >= 1 and first.stats.received >= 2
        assert first.stats.dropped[DropReason.OWN] >= 1  # its own beacons looped back
        await second.aclose()
        await second.aclose()
        with pytest.raises(trio.ClosedResourceError):
            await second.receive()


@needs_multicast
async def test_junk_and_floods_on_the_discovery_port_are_counted_not_reported(
    open_discovery: Opener,
) -> None:
    with trio.fail_after(TIMEOUT):
        node = await open_discovery(b"me", interval=60.0, min_gap=30.0)
        group, port = node.local_address
        with (
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as raw,
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as other,
        ):
            for sock in (raw, other):
                sock.setsockopt(
                    socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(LOOPBACK)
                )
                sock.bind((LOOPBACK, 0))
            raw.sendto(b"not a beacon", (group, port))
            raw.sendto(encode_beacon(bytes(8), b"") + bytes(MAX_BEACON_PAYLOAD + 1), (group, port))
            for i in range(5):
                raw.sendto(encode_beacon(bytes(8), b"flood %d" % i), (group, port))
            other.sendto(encode_beacon(bytes(8), b"last"), (group, port))
            assert await node.receive() == Beacon(raw.getsockname(), b"flood 0")
            # one socket queue, read in order: when "last" is out, everything before it is judged
            assert await node.receive() == Beacon(other.getsockname(), b"last")
        assert node.stats.dropped[DropReason.MALFORMED] == 1
        assert node.stats.dropped[DropReason.OVERSIZE] == 1
        assert node.stats.dropped[DropReason.RATE_LIMITED] == 4
        assert node.stats.received == 2


async def test_disabled_discovery_opens_nothing_and_waits_until_closed() -> None:
    with trio.fail_after(TIMEOUT):
        async with trio.open_nursery() as nursery:
            off = await nursery.start(Discovery(b"x", DiscoveryConfig(enabled=False)).run)
            with pytest.raises(TransportError, match="not running"):
                _ = off.local_address

            async def receiver() -> None:
                with pytest.raises(trio.ClosedResourceError):
                    await off.receive()

            nursery.start_soon(receiver)
            await trio.testing.wait_all_tasks_blocked()
            await off.aclose()
        assert off.stats.sent == 0


async def test_multicast_on_a_missing_interface_is_a_clear_error() -> None:
    with trio.fail_after(TIMEOUT):
        config = DiscoveryConfig(interface="192.0.2.123", port=0)  # TEST-NET-1: not ours
        async with trio.open_nursery() as nursery:
            with pytest.raises(TransportError, match="multicast discovery unavailable on 192"):
                await nursery.start(Discovery(b"x", config).run)
