"""Tests for transports/memory.py under Trio's MockClock (autojump): exact times, seeded fates."""

from __future__ import annotations

import pytest
import trio
import trio.testing

from transports.base import Address, DatagramTooLarge, DropReason, Transport
from transports.conditions import LinkConditions
from transports.memory import MemoryEndpoint, MemoryNetwork

TIMEOUT = 60.0  # virtual seconds: a deadlock jumps here at once and fails


async def receive_all(endpoint: MemoryEndpoint, count: int) -> list[tuple[float, Address, bytes]]:
    """Receive until ``count`` datagrams have arrived; each with its arrival time."""
    got: list[tuple[float, Address, bytes]] = []
    while len(got) < count:
        for source, data in await endpoint.receive_batch():
            got.append((trio.current_time(), source, data))
    return got


async def drain(endpoint: MemoryEndpoint, quiet: float = 10.0) -> list[bytes]:
    """Everything that arrives until ``quiet`` virtual seconds pass with nothing new."""
    got: list[bytes] = []
    while True:
        with trio.move_on_after(quiet):
            got.extend(data for _, data in await endpoint.receive_batch())
            continue
        return got


def test_memory_endpoint_is_a_transport() -> None:
    endpoint: Transport = MemoryNetwork().endpoint()  # checked by mypy
    assert endpoint.max_datagram == 1200


async def test_perfect_network_delivers_in_order_at_once(
    autojump_clock: trio.testing.MockClock,
) -> None:
    with trio.fail_after(TIMEOUT):
        net = MemoryNetwork(seed=1)
        a, b = net.endpoint(), net.endpoint()
        assert a.local_address != b.local_address
        start = trio.current_time()
        for i in range(10):
            assert a.send(b.local_address, b"%d" % i)
        got = await receive_all(b, 10)
        assert [data for _, _, data in got] == [b"%d" % i for i in range(10)]
        assert {source for _, source, _ in got} == {a.local_address}
        assert all(at == start for at, _, _ in got)
        assert a.stats.sent == 10 and b.stats.received == 10 and b.stats.batches == 1


async def test_latency_is_exact(autojump_clock: trio.testing.MockClock) -> None:
    with trio.fail_after(TIMEOUT):
        net = MemoryNetwork(seed=1, default=LinkConditions(latency=0.05))
        a, b = net.endpoint(), net.endpoint()
        sent_at = trio.current_time()
        a.send(b.local_address, b"ping")
        [(at, source, data)] = await receive_all(b, 1)
        assert at == pytest.approx(sent_at + 0.05, abs=1e-9)
        assert (source, data) == (a.local_address, b"ping")
        b.send(source, b"pong")
        [(back, _, _)] = await receive_all(a, 1)
        assert back == pytest.approx(sent_at + 0.10, abs=1e-9)


async def test_directional_link_conditions(autojump_clock: trio.testing.MockClock) -> None:
    with trio.fail_after(TIMEOUT):
        net = MemoryNetwork(seed=1)
        a, b = net.endpoint(), net.endpoint()
        net.set_link(a.local_address, b.local_address, LinkConditions(latency=1.0))
        start = trio.current_time()
        b.send(a.local_address, b"fast")
        a.send(b.local_address, b"slow")
        [(fast_at, _, _)] = await receive_all(a, 1)
        [(slow_at, _, _)] = await receive_all(b, 1)
        assert fast_at == start
        assert slow_at == pytest.approx(start + 1.0)


async def test_loss_rate_of_a_seeded_run_is_within_bounds_and_repeatable(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async def run(seed: int) -> int:
        net = MemoryNetwork(seed=seed, default=LinkConditions(latency=0.01, loss=0.25))
        a, b = net.endpoint(), net.endpoint()
        for i in range(2_000):
            a.send(b.local_address, i.to_bytes(2, "big"))
        got = await drain(b)
        assert a.stats.dropped[DropReason.LOSS] + len(got) == 2_000
        assert net.stats.dropped[DropReason.LOSS] == a.stats.dropped[DropReason.LOSS]
        return len(got)

    with trio.fail_after(TIMEOUT):
        delivered = await run(seed=42)
        assert 1_400 < delivered < 1_600  # 0.75 ± 5 standard deviations (19)
        assert await run(seed=42) == delivered


async def test_duplication_delivers_extra_copies(autojump_clock: trio.testing.MockClock) -> None:
    with trio.fail_after(TIMEOUT):
        net = MemoryNetwork(seed=3, default=LinkConditions(duplicate=1.0))
        a, b = net.endpoint(), net.endpoint()
        for i in range(20):
            a.send(b.local_address, bytes([i]))
        got = await drain(b)
        assert sorted(got) == sorted([bytes([i]) for i in range(20)] * 2)
        assert net.duplicated == 20
        assert b.stats.received == 40


async def test_reordering_changes_the_order_not_the_set(
    autojump_clock: trio.testing.MockClock,
) -> None:
    with trio.fail_after(TIMEOUT):
        conditions = LinkConditions(latency=0.01, reorder=0.3, reorder_delay=0.2)
        net = MemoryNetwork(seed=9, default=conditions)
        a, b = net.endpoint(), net.endpoint()
        sent = [i.to_bytes(2, "big") for i in range(200)]
        for data in sent:
            a.send(b.local_address, data)
            await trio.sleep(0.001)  # virtual time: one datagram per millisecond
        got = await drain(b)
        assert got != sent
        assert sorted(got) == sent


async def test_bandwidth_queues_datagrams_back_to_back(
    autojump_clock: trio.testing.MockClock,
) -> None:
    with trio.fail_after(TIMEOUT):
        net = MemoryNetwork(seed=1, default=LinkConditions(latency=0.02, bandwidth=10_000))
        a, b = net.endpoint(), net.endpoint()
        start = trio.current_time()
        for i in range(10):
            a.send(b.local_address, bytes([i]) * 1_000)
        got = await receive_all(b, 10)
        offsets = [at - start for at, _, _ in got]
        assert offsets == pytest.approx([0.02 + 0.1 * (i + 1) for i in range(10)], abs=1e-9)
        assert [data[0] for _, _, data in got] == list(range(10))


async def test_bandwidth_queue_overflow_is_tail_dropped(
    autojump_clock: trio.testing.MockClock,
) -> None:
    with trio.fail_after(TIMEOUT):
        conditions = LinkConditions(bandwidth=1_000, queue_bytes=4_000)
        net = MemoryNetwork(seed=1, default=conditions)
        a, b = net.endpoint(), net.endpoint()
        for _ in range(10):
            a.send(b.local_address, bytes(1_000))
        assert len(await drain(b)) == 4
        assert a.stats.dropped == {DropReason.QUEUE: 6}


async def test_mtu_drops_what_the_link_cannot_carry(autojump_clock: trio.testing.MockClock) -> None:
    with trio.fail_after(TIMEOUT):
        net = MemoryNetwork(seed=1, default=LinkConditions(mtu=182))
        a, b = net.endpoint(), net.endpoint()
        a.send(b.local_address, bytes(183))
        a.send(b.local_address, bytes(182))
        assert [len(d) for d in await drain(b)] == [182]
        assert a.stats.dropped == {DropReason.MTU: 1}


async def test_partition_cuts_groups_apart_and_heal_reconnects(
    autojump_clock: trio.testing.MockClock,
) -> None:
    with trio.fail_after(TIMEOUT):
        net = MemoryNetwork(seed=1)
        a, b, c = net.endpoint(), net.endpoint(), net.endpoint()
        net.partition([a.local_address, b.local_address], [c.local_address])
        a.send(b.local_address, b"same side")
        a.send(c.local_address, b"across")
        c.send(a.local_address, b"across back")
        assert await drain(b) == [b"same side"]
        assert await drain(c) == []
        assert await drain(a) == []
        assert net.stats.dropped == {DropReason.PARTITION: 2}
        net.heal()
        a.send(c.local_address, b"healed")
        assert await drain(c) == [b"healed"]


async def test_partition_does_not_touch_datagrams_already_in_flight(
    autojump_clock: trio.testing.MockClock,
) -> None:
    with trio.fail_after(TIMEOUT):
        net = MemoryNetwork(seed=1, default=LinkConditions(latency=1.0))
        a, b = net.endpoint(), net.endpoint()
        a.send(b.local_address, b"in flight")
        net.partition([a.local_address], [b.local_address])
        assert await drain(b) == [b"in flight"]


async def test_receive_waits_for_a_later_earlier_arrival(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """A receiver parked until a slow datagram's arrival wakes for a faster one sent later."""
    with trio.fail_after(TIMEOUT):
        net = MemoryNetwork(seed=1)
        a, b, c = net.endpoint(), net.endpoint(), net.endpoint()
        net.set_link(a.local_address, c.local_address, LinkConditions(latency=5.0))
        start = trio.current_time()
        a.send(c.local_address, b"slow")
        async with trio.open_nursery() as nursery:

            async def send_fast_later() -> None:
                await trio.sleep(1.0)
                b.send(c.local_address, b"fast")

            nursery.start_soon(send_fast_later)
            got = await receive_all(c, 2)
        assert [(at - start, data) for at, _, data in got] == [(1.0, b"fast"), (5.0, b"slow")]


async def test_batch_limit_and_inbox_limit(autojump_clock: trio.testing.MockClock) -> None:
    with trio.fail_after(TIMEOUT):
        net = MemoryNetwork(seed=1)
        a = net.endpoint()
        b = net.endpoint(batch_limit=4, inbox_limit=10)
        for i in range(12):
            a.send(b.local_address, bytes([i]))
        assert len(await b.receive_batch()) == 4
        assert b.stats.dropped == {DropReason.INBOX_FULL: 2}
        assert len(await drain(b)) == 6


async def test_oversize_send_is_refused_with_size_and_limit(
    autojump_clock: trio.testing.MockClock,
) -> None:
    net = MemoryNetwork()
    a, b = net.endpoint(), net.endpoint(max_datagram=182)
    with pytest.raises(DatagramTooLarge, match="1201 bytes exceeds the limit of 1200") as exc:
        a.send(b.local_address, bytes(1_201))
    assert (exc.value.size, exc.value.limit) == (1_201, 1_200)
    with pytest.raises(DatagramTooLarge, match="183 bytes"):
        b.send(a.local_address, bytes(183))
    assert a.stats.sent == 0


async def test_sending_nowhere_is_counted(autojump_clock: trio.testing.MockClock) -> None:
    net = MemoryNetwork()
    a = net.endpoint()
    assert a.send(("mem", 999), b"hello?")
    assert a.stats.dropped == {DropReason.NO_ENDPOINT: 1}


async def test_aclose_wakes_the_receiver_is_idempotent_and_frees_the_address(
    autojump_clock: trio.testing.MockClock,
) -> None:
    with trio.fail_after(TIMEOUT):
        net = MemoryNetwork()
        a = net.endpoint(("node", 1))
        with pytest.raises(Exception, match="already in use"):
            net.endpoint(("node", 1))
        outcome: list[str] = []

        async def receiver() -> None:
            with pytest.raises(trio.ClosedResourceError):
                await a.receive_batch()
            outcome.append("closed")

        async with trio.open_nursery() as nursery:
            nursery.start_soon(receiver)
            await trio.testing.wait_all_tasks_blocked()
            await a.aclose()
            await a.aclose()
        assert outcome == ["closed"]
        assert a.closed
        with pytest.raises(trio.ClosedResourceError):
            a.send(("node", 2), b"x")
        with pytest.raises(trio.ClosedResourceError):
            await a.receive_batch()
        again = net.endpoint(("node", 1))
        assert again.local_address == ("node", 1)


async def test_two_receivers_at_once_is_an_error(autojump_clock: trio.testing.MockClock) -> None:
    with trio.fail_after(TIMEOUT):
        net = MemoryNetwork()
        a = net.endpoint()
        async with trio.open_nursery() as nursery:
            nursery.start_soon(a.receive_batch)
            await trio.testing.wait_all_tasks_blocked()
            with pytest.raises(trio.BusyResourceError):
                await a.receive_batch()
            nursery.cancel_scope.cancel()


async def test_cancelled_receive_loses_nothing(autojump_clock: trio.testing.MockClock) -> None:
    with trio.fail_after(TIMEOUT):
        net = MemoryNetwork(default=LinkConditions(latency=1.0))
        a, b = net.endpoint(), net.endpoint()
        a.send(b.local_address, b"later")
        with trio.move_on_after(0.5):
            await b.receive_batch()
        assert await drain(b) == [b"later"]


async def test_links_are_independent_of_traffic_elsewhere(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """A link's fates depend on the seed and its own traffic only."""

    async def fates(extra_traffic: bool) -> list[bytes]:
        net = MemoryNetwork(seed=11, default=LinkConditions(loss=0.5))
        a, b, c = net.endpoint(), net.endpoint(), net.endpoint()
        for i in range(100):
            if extra_traffic:
                c.send(b.local_address, b"noise")
            a.send(b.local_address, bytes([i]))
        return [d for d in await drain(b) if d != b"noise"]

    with trio.fail_after(TIMEOUT):
        assert await fates(False) == await fates(True)
