"""A table played end to end by three node cores with the table agent, over lossy, duplicating,
reordering in-memory links on a fake clock (simulations/mesh.py): hosted on A, joined and bet
on from B and C (C talks to A only through B), rolls settled by commit–reveal, a leave, a
restart of B mid-play; every replica ends on the same digest with the supply conserved.
"""

from __future__ import annotations

from collections.abc import Callable

import nacl.signing

from node.core.node import TableCommand
from node.core.policy import TablePolicy
from node.core.tables.agent import AgentConfig, TableAgent
from node.core.tables.commands import (
    CreateTable,
    EndGame,
    JoinTable,
    LeaveTable,
    OpenRoll,
    PlaceBets,
    SetCadence,
)
from node.core.tables.engine import tables_of
from node.core.tables.params import default_params
from node.core.tables.state import Table
from node.core.verdicts import Reason
from protocol.bets import BetType
from protocol.constants import CRAP
from protocol.frame import FrameCodec, decode_body
from protocol.genesis import LOCAL
from protocol.kinds import BetEntry, replace
from simulations.mesh import Mesh, SimNode
from transports.conditions import LinkConditions

LOSSY = LinkConditions(
    latency=0.02, jitter=0.03, loss=0.2, duplicate=0.2, reorder=0.2, reorder_delay=0.2
)
PARAMS = replace(default_params(4), chain_n=256)


def agent(key: nacl.signing.SigningKey) -> TablePolicy:
    return TableAgent(key, config=AgentConfig(reveal_timeout=120.0))


def until(mesh: Mesh, condition: Callable[[], bool], limit: float = 120.0, what: str = "") -> None:
    end = mesh.now + limit
    while not condition():
        if mesh.now >= end:
            raise AssertionError(f"not after {limit} s: {what}; {mesh.describe()}")
        mesh.run(0.1)


def ask(mesh: Mesh, node: SimNode, payload: object) -> object:
    """A table command at ``node``: its reply value (it must not be an error)."""
    command_id = mesh.command(node, TableCommand(payload))
    reply = node.replies[command_id]
    assert reply.error is None, f"{node.name}: {reply.error}"
    return reply.value


def table_at(node: SimNode, host: bytes, game: bytes) -> Table | None:
    found: Table | None = tables_of(node.replica.state).map("tables").get((host, game))
    return found


def waiting_for(node: SimNode) -> list[int]:
    """The seats the open roll of the table ``node`` hosts still waits for."""
    policy = node.core.policy
    assert isinstance(policy, TableAgent)
    (row,) = policy.describe(node.replica)
    waiting: list[int] = row["waiting_for"]  # type: ignore[assignment]
    return waiting


def kinds(node: SimNode, sender: SimNode) -> list[str]:
    """The kinds of ``sender``'s packets as ``node`` judged them (Applied ones only)."""
    codec = FrameCodec(LOCAL.network_id)
    out = []
    for nonce in range(1, node.replica.hwm(sender.identity) + 1):
        entry = node.replica.judged(sender.identity, nonce)
        assert entry is not None and entry.reason is Reason.APPLIED, (sender.name, nonce)
        out.append(type(decode_body(codec.open(entry.frame)).body).__name__)
    return out


def test_three_cores_play_a_table_to_one_digest_over_lossy_links() -> None:
    mesh = Mesh(seed=23, default=LOSSY, audit=True)
    a, b, c = (mesh.add(name, policy=agent) for name in ("a", "b", "c"))
    mesh.line(a, b, c)
    mesh.run(2)
    host = a.identity

    frames = ask(mesh, a, CreateTable(PARAMS))
    assert isinstance(frames, list) and len(frames) == 1
    game = FrameCodec(LOCAL.network_id).open(frames[0]).full_hash[:8]
    until(mesh, lambda: all(table_at(n, host, game) for n in (b, c)), what="the table known")
    for player in (b, c):
        ask(mesh, player, JoinTable(host, game, chain_n=128))
    until(
        mesh,
        lambda: all(len(t.seats) == 2 for n in (a, b, c) if (t := table_at(n, host, game))),
        what="both seated everywhere",
    )

    rolls = 6
    for k in range(1, rolls + 1):
        players = (b, c) if k <= 3 else (b,)
        for player in players:
            ask(mesh, player, PlaceBets(host, game, (BetEntry(BetType.Field, 5 * CRAP),)))
        if k == 3:
            ask(mesh, c, LeaveTable(host, game))
        until(
            mesh,
            lambda players=players: all(  # type: ignore[misc]
                a.replica.hwm(p.identity) == p.replica.hwm(p.identity) for p in players
            ),
            what="the bets at the host",
        )
        ask(mesh, a, OpenRoll(game))
        if k == 2:
            b = mesh.restart(b)  # kill -9 of a player: it reveals on from its key and replica
        until(mesh, lambda: not waiting_for(a), what=f"the reveals of roll {k}")

    mesh.settle()
    assert {n.digest() for n in (a, b, c)} == {a.digest()}
    table = table_at(a, host, game)
    assert table is not None and table.k == rolls and table.open
    assert [s.key for s in table.seats.values()] == [b.identity]  # C left once its bet settled
    for node in (a, b, c):
        node.replica.state.audit()
        assert node.replica.supply == 3 * LOCAL.faucet_amount  # three mints, nothing else
    host_kinds = kinds(a, a)
    assert host_kinds[0] == "Create" and host_kinds.count("RollOpen") == rolls
    assert set(host_kinds[1:]) == {"Seat", "RollOpen"}  # joins answered by itself; no void
    assert kinds(a, b).count("Reveal") == rolls  # every roll, before and after its restart
    assert kinds(a, c) == ["Join", "Bet", "Reveal", "Bet", "Reveal", "Bet", "Leave"]


def test_a_table_command_the_node_will_not_sign_is_one_readable_line_and_burns_no_nonce() -> None:
    mesh = Mesh(seed=24)
    a = mesh.add("a", policy=agent)
    command_id = mesh.command(a, TableCommand(CreateTable(PARAMS, bankroll=10**6 * CRAP)))
    reply = a.replies[command_id]
    assert reply.value is None
    assert reply.error is not None and "the ledger would refuse this packet" in reply.error
    assert a.replica.hwm(a.identity) == 0
    command_id = mesh.command(a, TableCommand(OpenRoll(bytes(8))))
    assert a.replies[command_id].error == f"this node hosts no running table {bytes(8).hex()}"


def test_a_table_command_that_signs_nothing_is_answered_at_once() -> None:
    mesh = Mesh(seed=25)
    a = mesh.add("a", policy=agent)
    (frame,) = ask(mesh, a, CreateTable(PARAMS))  # type: ignore[misc]
    game = FrameCodec(LOCAL.network_id).open(frame).full_hash[:8]
    assert ask(mesh, a, SetCadence(game, 3.0)) == []  # no commit to wait for
    assert ask(mesh, a, EndGame(game, wind_down=True)) == []
