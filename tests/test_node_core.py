"""node/core/node.py: node cores driven over in-memory links on a fake clock (simulations/mesh.py).

The three-core scenarios run money packets (transfers and acks) and forks; the table scenarios
join them when the table engine's policies plug in (node/core/policy.py)."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from node.core.log import Entry
from node.core.node import Issue, MeshPing, NodeConfig, Persist, Transmit
from node.core.replica import Replica
from protocol.frame import FrameCodec
from protocol.genesis import LOCAL
from protocol.kinds import Ack, Body, ExtRef, Transfer
from simulations.mesh import Mesh, SimNode, judged_frames
from tests.ledger_factory import Chain, ack, signing_key, transfer
from transports.conditions import LinkConditions

LOSSY = LinkConditions(
    latency=0.02, jitter=0.03, loss=0.2, duplicate=0.2, reorder=0.2, reorder_delay=0.2
)


def chain_frames(node: SimNode, sender: bytes) -> list[bytes]:
    out = []
    for n in range(1, node.replica.hwm(sender) + 1):
        frame = node.replica.frame_of(sender, n)
        assert frame is not None
        out.append(frame)
    return out


def play_money(mesh: Mesh, rounds: int, *nodes: SimNode) -> list[bytes]:
    """Each node pays the next one and acknowledges what it was paid; returns own frames."""
    issued: list[bytes] = []
    for i in range(rounds):
        for payer, payee in zip(nodes, [*nodes[1:], nodes[0]], strict=True):
            acks = []
            for creditor in nodes:
                if creditor is payer:
                    continue
                n = payer.replica.hwm(creditor.identity)
                entry = payer.replica.judged(creditor.identity, n) if n else None
                if entry is not None:
                    acks.append(ExtRef(creditor.identity, n, entry.h))
            reply = mesh.issue(payer, transfer(payee.identity, 1_000_000 + i, *acks[:4]))
            if reply.error is None:
                assert isinstance(reply.value, bytes)
                issued.append(reply.value)
        mesh.run(0.4)
    return issued


def test_three_cores_over_lossy_reordering_links_agree_on_every_packet() -> None:
    mesh = Mesh(seed=11, default=LOSSY)
    a, b, c = mesh.add("a"), mesh.add("b"), mesh.add("c")
    mesh.line(a, b, c)
    mesh.run(2)
    issued = play_money(mesh, 25, a, b, c)
    assert len(issued) >= 60
    mesh.settle()
    for node in (a, b, c):
        for sender in (a, b, c):
            assert chain_frames(node, sender.identity) == chain_frames(a, sender.identity)
    assert {n.digest() for n in (a, b, c)} == {a.digest()}
    held = {frame for n in (a, b, c) for frame in chain_frames(n, n.identity)}
    assert set(issued) <= held
    assert a.replica.hwm(a.identity) > 20


def test_nothing_is_forwarded_before_its_persist_is_acknowledged() -> None:
    mesh = Mesh(seed=2)
    a, b = mesh.add("a"), mesh.add("b")
    mesh.connect(a, b)
    mesh.run(1)
    core = a.core
    core.handle_command(99, Issue(transfer(b.identity, 5)), mesh.now)
    actions = core.take_actions()
    assert isinstance(actions[-1], Persist)
    persist = actions[-1]
    assert persist.outbox and persist.outbox[0][0] == 1
    frame = persist.outbox[0][1]
    assert not any(isinstance(x, Transmit) and x.data == frame for x in actions)
    with pytest.raises(RuntimeError, match="must be committed"):
        core.handle_timer(mesh.now)
    core.persisted(persist, mesh.now)
    after = core.take_actions()
    assert any(isinstance(x, Transmit) and x.data == frame for x in after)


def test_a_fork_published_at_both_ends_surfaces_on_all_three() -> None:
    mesh = Mesh(seed=4, default=LinkConditions(latency=0.01))
    a, b, c = mesh.add("a"), mesh.add("b"), mesh.add("c")
    mesh.line(a, b, c)
    rogue_key = signing_key("rogue")
    left, right = mesh.add("rogue-1", rogue_key), mesh.add("rogue-2", rogue_key)
    mesh.connect(left, a)
    mesh.connect(right, c)
    mesh.run(2)
    assert mesh.issue(left, transfer(a.identity, 7)).error is None
    assert mesh.issue(right, transfer(c.identity, 9)).error is None
    mesh.run(1)
    mesh.settle(limit=60)
    rogue = bytes(rogue_key.verify_key)
    for node in (a, b, c):
        assert node.replica.fork_point(rogue) == 1, node.name
    assert {n.digest() for n in (a, b, c, left, right)} == {a.digest()}


def test_a_fork_hidden_below_equal_hwms_is_found_by_bisection() -> None:
    mesh = Mesh(seed=6, default=LinkConditions(latency=0.01))
    a, c = mesh.add("a"), mesh.add("c")
    sink = signing_key("sink").verify_key.encode()
    x = Chain("hidden")
    y = x.branch(0)
    for chain, first in ((x, 1), (y, 11)):
        chain.transfer(sink, first)
        for amount in range(2, 40):
            chain.transfer(sink, amount)
    for node, chain in ((a, x), (c, y)):
        for frame in chain.frames:
            node.replica.receive(frame, 0.0)
        node.replica.take_events()
    assert a.replica.hwm(x.pub) == c.replica.hwm(x.pub) == 39
    mesh.connect(a, c)
    mesh.settle(limit=60)
    assert a.replica.fork_point(x.pub) == c.replica.fork_point(x.pub) == 1
    assert a.core.counters.get("bisects_found", 0) + c.core.counters.get("bisects_found", 0) >= 1


def test_a_partition_heals_by_anti_entropy_alone() -> None:
    mesh = Mesh(seed=8, default=LinkConditions(latency=0.01))
    a, b, c = mesh.add("a"), mesh.add("b"), mesh.add("c")
    mesh.line(a, b, c)
    mesh.run(2)
    mesh.partition([a], [b], [c])
    for i in range(20):
        assert mesh.issue(a, transfer(c.identity, 100 + i)).error is None
        assert mesh.issue(c, transfer(a.identity, 200 + i)).error is None
        mesh.run(1)
    assert b.replica.hwm(a.identity) == 0
    mesh.run(40)  # links time out while apart
    mesh.heal()
    mesh.settle(limit=120)  # no packet is issued any more: only anti-entropy moves them
    assert b.replica.hwm(a.identity) == 20 and b.replica.hwm(c.identity) == 20
    assert c.replica.hwm(a.identity) == 20
    assert sum(n.core.counters.get("ae_pushed", 0) for n in (a, b, c)) > 0


def test_a_restarted_node_catches_up_and_its_unsent_own_frames_go_out() -> None:
    mesh = Mesh(seed=9, default=LinkConditions(latency=0.01))
    a, b, c = mesh.add("a"), mesh.add("b"), mesh.add("c")
    mesh.line(a, b, c)
    mesh.run(2)
    play_money(mesh, 5, a, b, c)
    mesh.settle()
    mesh.stop(b)
    for i in range(10):
        mesh.issue(a, transfer(c.identity, 10 + i))
        mesh.issue(c, transfer(a.identity, 10 + i))
        mesh.run(1)
    b2 = mesh.restart(b)
    mesh.settle(limit=120)
    assert b2.replica.hwm(a.identity) == a.replica.hwm(a.identity) == 15
    assert c.replica.hwm(a.identity) == 15


def test_a_junk_neighbour_is_dropped_and_honest_packets_still_arrive() -> None:
    mesh = Mesh(seed=12, default=LinkConditions(latency=0.005))
    a, b, junk = mesh.add("a"), mesh.add("b"), mesh.add("junk")
    mesh.connect(b, a)
    mesh.connect(junk, a)
    mesh.run(2)
    assert len(a.core.status()["links"]) == 2  # type: ignore[arg-type]
    honest = Chain("honest-origin")
    sink = signing_key("sink").verify_key.encode()
    honest.transfer(sink, 1)
    a.replica.receive(honest.frames[0], mesh.now)  # a known sender
    a.replica.take_events()
    start = mesh.now
    for i in range(200):
        frame = bytearray(honest.branch(1).transfer(sink, 2 + i))
        frame[-1] ^= 1  # a well-formed frame of a known sender, fresh nonce, bad signature
        mesh.inject(junk, a, bytes(frame))
        mesh.run(0.01)
        if a.core.counters.get("banned"):
            break
    assert a.core.counters.get("banned") == 1
    assert mesh.now - start < 5
    assert [lk["address"] for lk in a.core.status()["links"]] == ["sim:2"]  # type: ignore[union-attr]
    assert mesh.issue(b, transfer(a.identity, 3)).error is None
    mesh.run(1)
    assert a.replica.hwm(b.identity) == 1


def test_a_malformed_link_message_costs_a_penalty_never_an_exception() -> None:
    mesh = Mesh(seed=13)
    a, b = mesh.add("a"), mesh.add("b")
    mesh.connect(a, b)
    mesh.run(1)
    for raw in (b"\x8f", b"\x84\x00", b"\x87\x00", b"\x02hello", bytes([0x88]) + bytes(70)):
        mesh.inject(b, a, raw)
    mesh.run(0.1)
    counters = a.core.counters
    assert counters["link_malformed"] == 4 and counters["dropped_unknown_datagram"] == 1
    assert a.core.links.by_key(b.identity) is not None  # five faults are not a ban


def test_a_stranger_is_greeted_and_its_frames_are_not_taken() -> None:
    mesh = Mesh(seed=14)
    a, b = mesh.add("a"), mesh.add("b")
    chain = Chain("stranger-origin")
    chain.transfer(a.identity, 1)
    mesh.inject(b, a, chain.frames[0])
    mesh.run(0.5)
    assert a.replica.hwm(chain.pub) == 0
    assert a.core.counters["dropped_not_linked"] == 1
    mesh.run(2)
    assert a.core.links.by_key(b.identity) is not None  # the hello became a link


def test_a_node_that_lost_its_data_signs_only_after_three_peers_show_it_its_history() -> None:
    mesh = Mesh(seed=15, default=LinkConditions(latency=0.01))
    key = signing_key("forgetful")
    x = mesh.add("x", key)
    peers = [mesh.add(f"p{i}") for i in range(3)]
    for p in peers:
        mesh.connect(x, p)
    mesh.run(2)
    for i in range(5):
        assert mesh.issue(x, transfer(peers[0].identity, 1 + i)).error is None
        mesh.run(0.5)
    mesh.settle()
    mesh.stop(x)
    fresh = mesh.add("x-again", key, recovering=True)
    refused = mesh.issue(fresh, transfer(peers[1].identity, 9))
    assert refused.error is not None and "0 of 3 confirmed" in refused.error
    for p in peers[:2]:
        mesh.connect(fresh, p)
    mesh.run(30)
    refused = mesh.issue(fresh, transfer(peers[1].identity, 9))
    assert refused.error is not None and "2 of 3 confirmed" in refused.error
    mesh.connect(fresh, peers[2])
    mesh.run(30)
    assert not fresh.core.recovering
    reply = mesh.issue(fresh, transfer(peers[1].identity, 9))
    assert reply.error is None
    assert any(p.recovered for p in fresh.committed)
    mesh.settle()
    assert fresh.replica.hwm(fresh.identity) == 6
    assert all(p.replica.fork_point(fresh.identity) == 0 for p in peers)


def test_plumtree_prunes_a_full_mesh_towards_a_tree() -> None:
    mesh = Mesh(seed=16, default=LinkConditions(latency=0.01, jitter=0.01))
    nodes = [mesh.add(f"n{i}") for i in range(5)]
    for i, p in enumerate(nodes):
        for q in nodes[i + 1 :]:
            mesh.connect(p, q)
    mesh.run(2)
    dup_before = sum(n.core.counters.get("duplicate", 0) for n in nodes)
    for i in range(10):
        mesh.issue(nodes[0], transfer(nodes[1].identity, 1 + i))
        mesh.run(0.5)
    first = sum(n.core.counters.get("duplicate", 0) for n in nodes) - dup_before
    for i in range(10):
        mesh.issue(nodes[0], transfer(nodes[1].identity, 100 + i))
        mesh.run(0.5)
    second = sum(n.core.counters.get("duplicate", 0) for n in nodes) - dup_before - first
    mesh.settle()
    lazy = sum(not lk["eager"] for n in nodes for lk in n.core.status()["links"])  # type: ignore[union-attr]
    assert lazy > 0
    assert second < first
    assert all(n.replica.hwm(nodes[0].identity) == 20 for n in nodes)


def test_a_link_is_pruned_after_prune_after_useless_pushes_in_a_row() -> None:
    """One duplicate push does not prune a link (two senders' packets crossing make one); the
    fifth in a row does, and a new packet from the link between them starts the count again."""
    mesh = Mesh(seed=17, default=LinkConditions(latency=0.01))
    a, b, c = (mesh.add(name) for name in "abc")
    mesh.line(a, b, c)
    mesh.run(2)
    frames = []
    for i in range(3):
        assert mesh.issue(c, transfer(a.identity, 1 + i)).error is None
        mesh.run(1)
        frames.append(judged_frames(c)[-1])
    link = a.core.links.get(b.address)
    assert link is not None and link.eager

    def push_again(frame: bytes, times: int) -> None:
        for _ in range(times):
            mesh.inject(b, a, frame)
            mesh.run(0.1)

    push_again(frames[0], 4)
    assert link.eager and a.core.counters.get("prunes_sent", 0) == 0
    assert mesh.issue(c, transfer(a.identity, 9)).error is None  # a new packet, through b
    mesh.run(1)
    push_again(frames[1], 4)
    assert link.eager  # the count started again
    push_again(frames[2], 1)
    assert not link.eager and a.core.counters["prunes_sent"] == 1


def test_flooding_forwards_every_packet_to_every_other_neighbour() -> None:
    """The baseline of DESIGN.md §8: with ``flood`` no link is pruned, and in a full mesh of
    5 each packet of n0 is sent 4 times by n0 and 3 times by each other node (12 copies that
    bring nothing new), every time."""
    config = NodeConfig(flood=True)
    mesh = Mesh(seed=16, default=LinkConditions(latency=0.01, jitter=0.01), config=config)
    nodes = [mesh.add(f"n{i}") for i in range(5)]
    for i, p in enumerate(nodes):
        for q in nodes[i + 1 :]:
            mesh.connect(p, q)
    mesh.run(2)

    def duplicates() -> int:
        return sum(n.core.counters.get("duplicate", 0) for n in nodes)

    before = duplicates()
    for i in range(20):
        mesh.issue(nodes[0], transfer(nodes[1].identity, 1 + i))
        mesh.run(0.5)
    assert duplicates() - before == 20 * 12
    assert all(lk["eager"] for n in nodes for lk in n.core.status()["links"])  # type: ignore[union-attr]
    assert sum(n.core.counters.get("prunes_sent", 0) for n in nodes) == 0
    assert all(n.replica.hwm(nodes[0].identity) == 20 for n in nodes)


class AutoAck:
    """A stand-in wallet policy: acknowledge every transfer paid to this node."""

    def __init__(self, me: bytes) -> None:
        self.me = me
        self.owed: list[ExtRef] = []
        self.results: list[tuple[Body, str | None]] = []

    def accepted(self, entries: Sequence[Entry], replica: Replica, now: float) -> None:
        for entry in entries:
            if entry.sender == self.me:
                continue
            packet = FrameCodec(LOCAL.network_id).decode(entry.frame)
            body = packet.body
            if isinstance(body, Transfer) and body.to == self.me:
                self.owed.append(ExtRef(entry.sender, entry.nonce, entry.h))

    def command(self, command: object, replica: Replica, now: float) -> Sequence[Body]:
        return [ack(ExtRef(*command))]  # type: ignore[misc]

    def due(self, replica: Replica, now: float) -> Sequence[Body]:
        owed, self.owed = self.owed[:16], self.owed[16:]
        return [Ack(tuple(owed))] if owed else []

    def signed(self, body: Body, frame: bytes | None, error: str | None, now: float) -> None:
        self.results.append((body, error))

    def next_timer(self) -> float | None:
        return None


def test_a_table_policy_signs_what_it_returns_and_the_mesh_carries_it() -> None:
    mesh = Mesh(seed=17, default=LinkConditions(latency=0.01))
    a, b, c = mesh.add("a"), mesh.add("b"), mesh.add("c")
    policy = AutoAck(b.identity)
    b.core.policy = policy
    mesh.line(a, b, c)
    mesh.run(2)
    assert mesh.issue(a, transfer(b.identity, 5)).error is None
    mesh.run(2)
    assert [e for _, e in policy.results] == [None]
    assert c.replica.hwm(b.identity) == 1  # b's ack, signed by its policy, reached c
    assert a.replica.spendable(b.identity) == b.replica.spendable(b.identity)


def test_a_mesh_ping_is_answered_by_every_node_within_its_ttl() -> None:
    mesh = Mesh(seed=18, default=LinkConditions(latency=0.01))
    nodes = [mesh.add(f"n{i}") for i in range(4)]
    mesh.line(*nodes)
    mesh.run(2)
    command = mesh.command(nodes[0], MeshPing(ttl=2))
    mesh.run(3)
    answers = nodes[0].replies[command].value
    assert isinstance(answers, list)
    assert sorted((key, hops) for key, hops, _ in answers) == sorted(
        [(nodes[1].identity.hex(), 1), (nodes[2].identity.hex(), 2)]
    )
    seconds = {hops: s for _, hops, s in answers}
    assert seconds[1] == pytest.approx(0.02) and seconds[2] == pytest.approx(0.04)  # 0.01 s links


def test_holders_counts_the_neighbours_known_to_hold_a_packet() -> None:
    mesh = Mesh(seed=23, default=LinkConditions(latency=0.01))
    a, b, c = mesh.add("a"), mesh.add("b"), mesh.add("c")
    mesh.line(a, b, c)
    mesh.run(2)
    assert mesh.issue(a, transfer(c.identity, 5)).error is None
    assert b.core.holders(a.identity, 1) == 0  # not judged at b yet
    mesh.run(1)
    assert b.core.holders(a.identity, 1) == 1  # its sender is b's neighbour
    assert c.core.holders(a.identity, 1) == 0  # c has not heard from b since
    mesh.run(25)  # anti-entropy rounds on every link (every 10 s): the digests match
    assert c.core.holders(a.identity, 1) == 1  # b holds it
    assert b.core.holders(a.identity, 1) == 2
    assert a.core.holders(a.identity, 1) == 1  # b's digest reported a's chain at 1
    assert a.core.holders(a.identity, 2) == 0


def test_a_silent_link_is_dropped_and_a_configured_peer_is_dialled_again() -> None:
    mesh = Mesh(seed=19, default=LinkConditions(latency=0.01), config=NodeConfig())
    a, b = mesh.add("a"), mesh.add("b")
    mesh.connect(a, b)
    mesh.run(2)
    mesh.stop(b)
    mesh.run(40)
    assert a.core.links.by_key(b.identity) is None
    assert a.core.counters["links_down"] == 1
    mesh.start(b)
    mesh.run(40)
    assert a.core.links.by_key(b.identity) is not None
