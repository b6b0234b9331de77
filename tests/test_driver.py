"""node/drivers/driver.py: node cores run by the Trio driver over the memory network, on
Trio's MockClock (exact and instant), with and without a store."""

from __future__ import annotations

import random
from pathlib import Path

import trio
import trio.testing

from node.core.node import Connect, Issue, NodeCore
from node.core.replica import Replica
from node.drivers.driver import NodeDriver, StoreJournal
from node.drivers.durable import DurableReplica
from node.drivers.store import Store
from protocol.genesis import LOCAL
from tests.ledger_factory import signing_key, transfer
from transports.conditions import LinkConditions
from transports.memory import MemoryNetwork

TIMEOUT = 300.0  # virtual seconds


def memory_node(net: MemoryNetwork, name: str) -> NodeDriver:
    key = signing_key(f"driver-{name}")
    core = NodeCore(Replica(LOCAL), key, random.Random(name), trio.current_time())
    return NodeDriver(core, net.endpoint())


async def until(predicate: object, step: float = 0.5, limit: float = 120.0) -> None:
    assert callable(predicate)
    with trio.fail_after(limit):
        while not predicate():
            await trio.sleep(step)


async def test_three_drivers_over_a_lossy_memory_network_agree(
    autojump_clock: trio.testing.MockClock,
) -> None:
    net = MemoryNetwork(
        seed=3, default=LinkConditions(latency=0.02, jitter=0.02, loss=0.1, duplicate=0.1)
    )
    with trio.fail_after(TIMEOUT):
        async with trio.open_nursery() as nursery:
            a, b, c = [memory_node(net, n) for n in "abc"]
            for d in (a, b, c):
                await nursery.start(d.run)
            await a.request(Connect(b.transport.local_address))
            await c.request(Connect(b.transport.local_address))
            await until(lambda: b.core.links.count_up() == 2)
            for i in range(10):
                for payer, payee in ((a, c), (c, a)):
                    reply = await payer.request(Issue(transfer(payee.core.identity, 1 + i)))
                    assert reply.error is None
                await trio.sleep(0.2)
            digests = lambda: {d.core.replica.digest() for d in (a, b, c)}  # noqa: E731
            await until(lambda: len(digests()) == 1)
            assert a.core.replica.hwm(c.core.identity) == 10
            nursery.cancel_scope.cancel()


async def test_a_driver_commits_before_it_forwards_and_a_restart_resends_nothing_lost(
    autojump_clock: trio.testing.MockClock, tmp_path: Path
) -> None:
    net = MemoryNetwork(seed=4, default=LinkConditions(latency=0.01))
    key = signing_key("driver-durable")
    committed: list[int] = []

    class Watching(StoreJournal):
        def persist(self, persist):  # type: ignore[no-untyped-def]
            super().persist(persist)
            committed.append(self.durable.store.log_size())

    def durable_node(address: tuple[str, int] | None = None) -> tuple[NodeDriver, Store]:
        store = Store(tmp_path / "store.sqlite3", LOCAL.network_id)
        durable = DurableReplica(LOCAL, store, key, clock=trio.current_time)
        core = NodeCore(
            durable.replica,
            key,
            random.Random(1),
            trio.current_time(),
            outbox_nonce=store.own_nonce(),
            unsent=durable.resend,
        )
        endpoint = net.endpoint(address)
        return NodeDriver(core, endpoint, journal=Watching(durable)), store

    with trio.fail_after(TIMEOUT):
        async with trio.open_nursery() as nursery:
            node, store = durable_node()
            peer = memory_node(net, "peer")
            await nursery.start(node.run)
            await nursery.start(peer.run)
            await node.request(Connect(peer.transport.local_address))
            await until(lambda: peer.core.links.count_up() == 1)
            for i in range(5):
                reply = await node.request(Issue(transfer(peer.core.identity, 1 + i)))
                assert reply.error is None
            await until(lambda: peer.core.replica.hwm(key.verify_key.encode()) == 5)
            assert store.own_nonce() == 5 and store.unsent() == []
            assert committed and committed[-1] >= 5
            address = node.transport.local_address
            await node.transport.aclose()
            store.close()
            # the same node from its store: its chain continues where it stopped
            again, store2 = durable_node(address)
            await nursery.start(again.run)
            assert again.core.replica.hwm(key.verify_key.encode()) == 5
            await again.request(Connect(peer.transport.local_address))
            reply = await again.request(Issue(transfer(peer.core.identity, 99)))
            assert reply.error is None
            await until(lambda: peer.core.replica.hwm(key.verify_key.encode()) == 6)
            assert peer.core.replica.digest() == again.core.replica.digest()
            store2.close()
            nursery.cancel_scope.cancel()


async def test_the_timer_loop_keeps_links_alive_without_traffic(
    autojump_clock: trio.testing.MockClock,
) -> None:
    net = MemoryNetwork(seed=1, default=LinkConditions(latency=0.01))
    with trio.fail_after(TIMEOUT):
        async with trio.open_nursery() as nursery:
            a, b = memory_node(net, "x"), memory_node(net, "y")
            await nursery.start(a.run)
            await nursery.start(b.run)
            await a.request(Connect(b.transport.local_address))
            await until(lambda: a.core.links.count_up() == 1)
            await trio.sleep(200)  # anti-entropy rounds keep the link alive
            assert a.core.links.count_up() == 1 and b.core.links.count_up() == 1
            assert a.core.counters.get("links_down", 0) == 0
            nursery.cancel_scope.cancel()
