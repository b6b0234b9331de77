"""The seam the table engine plugs into, exercised by a small engine written for this test.

``Body.references()`` gives a packet's dependencies; what it names through game state the engine
resolves (``TableEngine.dependencies``); the engine's state lives in ``LedgerState.tables``
(copied, in the digest, in snapshots, in the audit); ``Judgment.table`` carries table effects
beside money effects, applied by the engine and undone by it when a late fork takes the packet
back.  The engine here records the creates it judged Applied; a leave depends on the host packet
its game id and T name (the engine resolves the host) and is refused when no such game exists.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from node.core.events import FORK_KEPT, JUDGED
from node.core.ledger import (
    Dep,
    Effects,
    Judgment,
    LedgerState,
    TableEffects,
    TablesState,
)
from node.core.replica import Replica
from node.core.verdicts import Reason
from protocol.frame import Packet
from protocol.genesis import LOCAL
from protocol.kinds import Bank, Create, Leave, TableParams
from tests.ledger_factory import Chain

PARAMS = TableParams(10, 1000, 100, 800, 8, 33, 256)


def game_id(sender: bytes, nonce: int) -> bytes:
    return hashlib.sha256(sender + nonce.to_bytes(4, "big")).digest()[:8]


class Tally:
    """Per game id: the host and the create's nonce."""

    def __init__(self, games: dict[bytes, tuple[bytes, int]] | None = None) -> None:
        self.games = dict(games or {})

    def copy(self) -> Tally:
        return Tally(self.games)

    def encode(self) -> list[object]:
        return [[g, host, nonce] for g, (host, nonce) in sorted(self.games.items())]

    def money(self) -> int:
        return 0


@dataclass(frozen=True)
class Opened:
    game: bytes
    host: bytes
    nonce: int


class TallyEngine:
    def dependencies(self, state: LedgerState, sender: bytes, packet: Packet) -> tuple[Dep, ...]:
        body = packet.body
        assert isinstance(body, Leave)
        games = _tally(state).games
        if body.game in games:
            host, _ = games[body.game]
            return ((host, body.table, None),)
        return ()

    def judge(
        self, state: LedgerState, packet: Packet, h: bytes, spendable: int | None
    ) -> Judgment:
        body = packet.body
        if isinstance(body, Create):
            effect = Opened(game_id(packet.sender, packet.nonce), packet.sender, packet.nonce)
            return Judgment(Reason.APPLIED, Effects(), effect)
        if isinstance(body, Leave) and body.game in _tally(state).games:
            return Judgment(Reason.APPLIED)
        return Judgment(Reason.TABLES_UNAVAILABLE)

    def apply(self, state: LedgerState, effects: TableEffects) -> None:
        assert isinstance(effects, Opened)
        _tally(state).games[effects.game] = (effects.host, effects.nonce)

    def discard(self, state: LedgerState, effects: TableEffects) -> None:
        pass  # its judge writes nothing: a judgment it drops left nothing to take back

    def unapply(self, state: LedgerState, effects: TableEffects) -> None:
        assert isinstance(effects, Opened)
        del _tally(state).games[effects.game]

    def empty(self) -> TablesState:
        return Tally()

    def decode(self, encoded: list[object]) -> TablesState:
        games: dict[bytes, tuple[bytes, int]] = {}
        for item in encoded:
            assert isinstance(item, list)
            g, host, nonce = item
            games[g] = (host, nonce)
        return Tally(games)


def _tally(state: LedgerState) -> Tally:
    assert isinstance(state.tables, Tally)
    return state.tables


def create(chain: Chain) -> bytes:
    return chain.sign(Create(PARAMS, 5_000, bytes(32), Bank.OWN))


def join(chain: Chain, host: Chain, nonce: int) -> bytes:
    """A leave naming the game ``host`` created at ``nonce``, at table reference ``nonce``."""
    return chain.sign(Leave(game_id(host.pub, nonce), nonce))


def replica() -> Replica:
    return Replica(LOCAL, engine=TallyEngine(), audit=True)


def test_a_join_waits_for_the_create_the_engine_resolves_it_to() -> None:
    host, player = Chain("seam-host"), Chain("seam-player")
    c1 = create(host)
    j1 = join(player, host, 1)
    r = replica()
    # the engine knows no such game yet: the join is judged (and refused) at once
    assert r.receive(j1, 0.0).reason is Reason.TABLES_UNAVAILABLE
    r2 = replica()
    r2.receive(c1, 0.0)
    assert r2.receive(j1, 0.0).reason is Reason.APPLIED
    assert _tally(r2.state).games == {game_id(host.pub, 1): (host.pub, 1)}


def test_a_resolved_dependency_blocks_until_judged_and_joins_the_forward_cone() -> None:
    host, player, other = Chain("seam-host2"), Chain("seam-player2"), Chain("seam-other2")
    fork = host.branch(0)
    c1 = create(host)
    c1x = fork.sign(Create(PARAMS, 6_000, bytes(32), Bank.OWN))  # a second version of nonce 1
    c2 = create(host)
    j = join(player, host, 2)
    late = replica()
    for frame in (c1, c2, j):
        late.receive(frame, 0.0)
    assert late.judged(player.pub, 1).reason is Reason.APPLIED  # type: ignore[union-attr]
    before = late.digest()
    late.take_events()
    late.receive(c1x, 0.0)  # a late fork of the host's nonce 1 takes back its creates
    assert late.fork_point(host.pub) == 1
    assert _tally(late.state).games == {}  # both table effects undone
    # the join named the create at (host, 2) through game state: it is in the cone
    assert late.judged(player.pub, 1).reason is Reason.TABLES_UNAVAILABLE  # type: ignore[union-attr]
    assert late.digest() != before
    events = late.take_events()
    assert {e.what for e in events} >= {FORK_KEPT}
    early = replica()
    for frame in (c1x, c1, c2, j, other.transfer(player.pub, 1)):
        early.receive(frame, 0.0)
    late.receive(other.frame(1), 0.0)
    assert early.digest() == late.digest()
    assert JUDGED in {e.what for e in early.take_events()}


def test_table_state_is_copied_digested_and_restored_from_a_snapshot() -> None:
    host = Chain("seam-host3")
    r = replica()
    r.receive(create(host), 0.0)
    state = r.state
    assert state.copy().tables.encode() == state.tables.encode() != []
    again = LedgerState.from_bytes(LOCAL, state.to_bytes(), TallyEngine())
    assert again.digest() == state.digest()
    assert again.tables.encode() == state.tables.encode()
    empty = replica()
    assert empty.digest() != r.digest()
    (_, _) = (r.hwm(host.pub), r.supply)
