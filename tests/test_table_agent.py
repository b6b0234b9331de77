"""The table agent's decisions (node/core/tables/agent.py): what the wallet and the honest host
sign by themselves and on command, over one shared replica (a :class:`Desk`: what any party
signs is judged at once and every agent sees it; the supply audited after every packet).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence

import nacl.signing
import pytest

from node.core.craps.dice import WalletChain, create_role, join_role
from node.core.events import JUDGED
from node.core.log import Entry
from node.core.replica import Replica
from node.core.signer import sign_next
from node.core.tables.agent import AgentConfig, TableAgent
from node.core.tables.commands import (
    CancelBets,
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
from node.core.tables.policy import HostIntent
from node.core.tables.state import Table
from node.core.verdicts import PlayerError, Reason
from protocol.bets import BetType
from protocol.constants import CRAP
from protocol.frame import FrameCodec, decode_body
from protocol.genesis import LOCAL
from protocol.kinds import (
    Bank,
    BetEntry,
    Body,
    Cancel,
    Create,
    GameEnd,
    Join,
    JoinCopy,
    Leave,
    Reveal,
    RollOpen,
    Seat,
    Transfer,
    Void,
    replace,
)
from tests.ledger_factory import public_key, signing_key

TIMEOUT = 10.0
PARAMS = replace(default_params(4), chain_n=256)


class Party:
    def __init__(self, name: str, key: nacl.signing.SigningKey, agent: TableAgent) -> None:
        self.name = name
        self.key = key
        self.agent = agent
        self.pub = bytes(key.verify_key)
        self.muted = False
        """A muted party's agent signs nothing by itself (a withholder)."""


class Desk:
    """Parties whose agents share one replica and one clock."""

    def __init__(self, config: AgentConfig | None = None) -> None:
        self.replica = Replica(LOCAL, audit=True)
        self.codec = FrameCodec(LOCAL.network_id)
        self.config = config or AgentConfig(reveal_timeout=TIMEOUT)
        self.now = 0.0
        self.parties: dict[str, Party] = {}
        self.signed: list[tuple[str, Body]] = []
        """Everything signed, in order: (party, body)."""

    def add(self, name: str) -> Party:
        key = signing_key(f"desk/{name}")
        party = self.parties[name] = Party(name, key, TableAgent(key, config=self.config))
        return party

    def restart(self, name: str, settings: bytes | None = None) -> Party:
        """A fresh agent for ``name`` (its key kept, nothing else): as after kill -9."""
        old = self.parties[name]
        fresh = TableAgent(old.key, config=self.config, settings=settings)
        party = self.parties[name] = Party(name, old.key, fresh)
        return party

    # ------------------------------------------------------------------ signing

    def sign(self, party: Party, body: Body) -> bytes:
        """Sign ``body`` as the core does (sign_next's checks) and judge it."""
        committed = self.replica.logged_top(party.pub)[0]
        _, frame = sign_next(self.replica, party.key, self.codec, body, committed)
        self.replica.receive(frame, self.now)
        self.signed.append((party.name, body))
        return frame

    def command(self, name: str, command: object) -> list[Body]:
        """A command to ``name``'s agent: the bodies it signed (``PlayerError`` if refused)."""
        party = self.parties[name]
        bodies = party.agent.command(command, self.replica, self.now)
        self._sign_all(party, bodies, raise_errors=True)
        self.settle()
        return list(bodies)

    def _sign_all(self, party: Party, bodies: Sequence[Body], raise_errors: bool) -> None:
        for body in bodies:
            try:
                frame = self.sign(party, body)
            except PlayerError as exc:
                party.agent.signed(body, None, str(exc), self.now)
                if raise_errors:
                    raise
            else:
                party.agent.signed(body, frame, None, self.now)

    def settle(self) -> None:
        """Every agent sees what was accepted and signs what it owes, until nothing moves."""
        for _ in range(200):
            entries: list[Entry] = [
                e.item  # type: ignore[misc]
                for e in self.replica.take_events()
                if e.what == JUDGED
            ]
            for party in self.parties.values():
                if entries:
                    party.agent.accepted(entries, self.replica, self.now)
            moved = False
            for party in self.parties.values():
                if entries or self._timer_due(party):
                    bodies = party.agent.due(self.replica, self.now)
                    if party.muted:
                        for body in bodies:
                            party.agent.signed(body, None, "muted", self.now)
                        continue
                    self._sign_all(party, bodies, raise_errors=False)
                    moved = moved or bool(bodies)
            if not entries and not moved:
                return
        raise AssertionError("the agents never settle")

    def _timer_due(self, party: Party) -> bool:
        timer = party.agent.next_timer()
        return timer is not None and timer <= self.now

    def advance(self, seconds: float, step: float = 1.0) -> None:
        """Let ``seconds`` pass, firing the agents' timers on the way."""
        end = self.now + seconds
        while self.now < end:
            self.now = min(end, self.now + step)
            self.settle()

    # ------------------------------------------------------------------ reading

    def table(self, host: str, game: bytes) -> Table:
        table: Table = tables_of(self.replica.state).map("tables")[(self.parties[host].pub, game)]
        return table

    def bodies(self, name: str, kind: type[Body]) -> list[Body]:
        return [b for n, b in self.signed if n == name and isinstance(b, kind)]


def game_of(desk: Desk, host: str) -> bytes:
    """G of ``host``'s latest create."""
    pub = desk.parties[host].pub
    for nonce in range(desk.replica.hwm(pub), 0, -1):
        entry = desk.replica.judged(pub, nonce)
        assert entry is not None
        if isinstance(decode_body(desk.codec.open(entry.frame)).body, Create):
            return entry.h
    raise AssertionError("no create")


def bet(code: BetType, crap: int) -> BetEntry:
    return BetEntry(code, crap * CRAP)


def table_with(*players: str, roll_every: float | None = None) -> tuple[Desk, bytes]:
    """A desk where ``h`` hosts a table and ``players`` are seated (the host answered)."""
    desk = Desk()
    desk.add("h")
    for name in players:
        desk.add(name)
    desk.command("h", CreateTable(PARAMS, roll_every=roll_every))
    game = game_of(desk, "h")
    for name in players:
        desk.command(name, JoinTable(desk.parties["h"].pub, game, chain_n=128))
    return desk, game


def play(desk: Desk, game: bytes, *players: str, rolls: int) -> None:
    """Each player bets on the Field, the host rolls; ``rolls`` times."""
    host = desk.parties["h"].pub
    for _ in range(rolls):
        for name in players:
            desk.command(name, PlaceBets(host, game, (bet(BetType.Field, 5),)))
        desk.command("h", OpenRoll(game))


# --------------------------------------------------------------------------- chains


def test_chains_come_from_the_key_as_tables_md_says_and_nothing_is_stored() -> None:
    desk, game = table_with("p")
    h, p = desk.parties["h"], desk.parties["p"]
    create = desk.bodies("h", Create)[0]
    assert isinstance(create, Create)
    assert create.chain_head == (
        WalletChain.for_role(bytes(h.key), LOCAL.network_id, create_role(1), PARAMS.chain_n).head
    )
    join = desk.bodies("p", Join)[0]
    assert isinstance(join, Join)
    nonce = desk.replica.hwm(p.pub)  # the join is p's only packet so far
    assert join.chain_head == (
        WalletChain.for_role(
            bytes(p.key), LOCAL.network_id, join_role(h.pub, game, nonce), 128
        ).head
    )


def test_a_restarted_agent_finds_its_table_and_seat_in_the_replica_and_plays_on() -> None:
    desk, game = table_with("p", "q")
    play(desk, game, "p", "q", rolls=2)
    k = desk.table("h", game).k
    for name in ("h", "p", "q"):
        desk.restart(name)  # kill -9: only the key and the replica are left
    play(desk, game, "p", "q", rolls=2)
    table = desk.table("h", game)
    assert table.k == k + 2
    assert not table.open or not desk.parties["h"].agent.describe(desk.replica)[0]["waiting_for"]
    assert len(desk.bodies("p", Reveal)) == table.k  # p revealed every roll, before and after


# --------------------------------------------------------------------------- the host


def test_the_host_answers_joins_by_itself_and_rolls_only_when_asked() -> None:
    desk, game = table_with("p", "q")
    seats = desk.bodies("h", Seat)
    assert len(seats) >= 1 and sum(len(s.joins) for s in seats) == 2  # type: ignore[attr-defined]
    assert sorted(desk.table("h", game).seats) == [1, 2]
    host = desk.parties["h"].pub
    desk.command("p", PlaceBets(host, game, (bet(BetType.Pass, 10),)))
    desk.advance(60)
    assert not desk.bodies("h", RollOpen)  # no cadence: no roll by itself
    (roll,) = desk.command("h", OpenRoll(game))
    assert isinstance(roll, RollOpen) and len(roll.included) == 1
    assert not desk.table("h", game).open or desk.table("h", game).k == 1
    assert len(desk.bodies("p", Reveal)) == len(desk.bodies("q", Reveal)) == 1


def test_open_roll_waits_for_reveals_with_one_readable_line() -> None:
    desk, game = table_with("p")
    desk.parties["p"].muted = True
    host = desk.parties["h"].pub
    desk.command("p", PlaceBets(host, game, (bet(BetType.Field, 5),)))
    desk.command("h", OpenRoll(game))
    with pytest.raises(PlayerError, match=r"roll 1 waits for the reveals of seats \[1\]"):
        desk.command("h", OpenRoll(game))


def test_a_withholder_is_voided_after_the_reveal_timeout_and_not_before() -> None:
    desk, game = table_with("p", "q")
    desk.parties["q"].muted = True
    host = desk.parties["h"].pub
    for name in ("p", "q"):
        desk.command(name, PlaceBets(host, game, (bet(BetType.Field, 5),)))
    desk.command("h", OpenRoll(game))
    desk.advance(TIMEOUT - 1)
    assert not desk.bodies("h", Void)
    desk.advance(2)
    (void,) = desk.bodies("h", Void)
    assert isinstance(void, Void)
    q_seat = 2
    assert void.withheld == (q_seat,) and [r.seat for r in void.present] == [1]
    table = desk.table("h", game)
    assert not table.open and sorted(table.seats) == [1]


def test_a_restarted_host_voids_a_withholder_with_no_packet_arriving() -> None:
    """After a restart the agent looks at its replica at once (its timer is due), so a roll
    waiting for a withholder is voided a reveal timeout later even if nothing else happens."""
    desk, game = table_with("p", "q")
    desk.parties["q"].muted = True
    host = desk.parties["h"].pub
    for name in ("p", "q"):
        desk.command(name, PlaceBets(host, game, (bet(BetType.Field, 5),)))
    desk.command("h", OpenRoll(game))
    desk.advance(TIMEOUT / 2)
    fresh = desk.restart("h")
    assert fresh.agent.next_timer() == -math.inf
    desk.advance(TIMEOUT - 1)
    assert not desk.bodies("h", Void)  # the wait starts again at the restart
    desk.advance(2)
    assert len(desk.bodies("h", Void)) == 1


def test_a_cadence_opens_rolls_by_itself_at_most_every_roll_every() -> None:
    desk, game = table_with("p", roll_every=5.0)
    host = desk.parties["h"].pub
    desk.command("p", PlaceBets(host, game, (bet(BetType.Pass, 10),)))
    desk.advance(20)
    rolls = desk.bodies("h", RollOpen)
    assert 2 <= len(rolls) <= 5  # about one every 5 s while the Pass bet is live, or none
    desk.command("h", SetCadence(game, None))
    before = len(desk.bodies("h", RollOpen))
    desk.advance(20)
    assert len(desk.bodies("h", RollOpen)) == before


def test_end_game_ends_at_once_when_idle_and_wind_down_waits_for_live_bets() -> None:
    desk, game = table_with("p")
    (end,) = desk.command("h", EndGame(game))
    assert isinstance(end, GameEnd) and desk.table("h", game).ended
    assert desk.parties["h"].agent.describe(desk.replica) == []  # it hosts nothing now
    with pytest.raises(PlayerError, match="hosts no running table"):
        desk.command("h", OpenRoll(game))

    desk, game = table_with("p")
    host = desk.parties["h"].pub
    desk.command("p", PlaceBets(host, game, (bet(BetType.Pass, 10),)))
    desk.command("h", OpenRoll(game))
    assert desk.command("h", EndGame(game, wind_down=True)) == []
    for _ in range(200):
        if desk.table("h", game).ended:
            break
        desk.command("h", OpenRoll(game))
    table = desk.table("h", game)
    assert table.ended and not table.early  # it rolled until the Pass bet settled


def test_settings_keep_the_cadence_and_an_end_asked_for_across_a_restart() -> None:
    desk, game = table_with("p", roll_every=7.5)
    host = desk.parties["h"].pub
    desk.command("p", PlaceBets(host, game, (bet(BetType.Pass, 10),)))
    desk.command("h", OpenRoll(game))
    agent = desk.parties["h"].agent
    version = agent.settings_version
    desk.command("h", EndGame(game, wind_down=True))
    assert agent.settings_version > version
    saved = agent.settings()
    assert json.loads(saved) == {game.hex(): {"roll_every": 7.5, "intent": "wind_down"}}
    fresh = desk.restart("h", settings=saved)
    desk.settle()  # its timer is due at once: it looks at its replica
    assert json.loads(fresh.agent.settings()) == json.loads(saved)
    (row,) = fresh.agent.describe(desk.replica)
    assert row["roll_every"] == 7.5 and row["intent"] == HostIntent.WIND_DOWN.value


def test_a_create_the_ledger_would_refuse_is_a_readable_error() -> None:
    desk = Desk()
    desk.add("h")
    with pytest.raises(PlayerError, match="not a well-formed table"):
        desk.command("h", CreateTable(replace(PARAMS, host_bond=1)))
    with pytest.raises(PlayerError, match="refused"):
        desk.command("h", CreateTable(PARAMS, bankroll=10**6 * CRAP))  # beyond the mint


# --------------------------------------------------------------------------- the wallet


def test_a_wallet_joins_an_own_funded_table_and_another_only_with_trust() -> None:
    desk = Desk()
    h = desk.add("h")
    desk.add("p")
    friend = desk.add("friend")
    # h gives its mint away and is paid back by a friend: spendable, not its own budget
    desk.sign(h, Transfer(public_key("elsewhere"), 99_000 * CRAP, ()))
    desk.sign(friend, Transfer(h.pub, 50_000 * CRAP, ()))
    desk.sign(h, Transfer(public_key("elsewhere"), 1, (desk.replica.ref(friend.pub, 1),)))
    desk.command("h", CreateTable(PARAMS))
    game = game_of(desk, "h")
    with pytest.raises(PlayerError, match="not own-funded"):
        desk.command("p", JoinTable(h.pub, game))
    (join,) = desk.command("p", JoinTable(h.pub, game, trust=True))
    assert isinstance(join, Join)
    with pytest.raises(PlayerError, match=r"already seated|still waits"):
        desk.command("p", JoinTable(h.pub, game, trust=True))


def test_a_wallet_never_signs_a_bet_its_replica_would_refuse() -> None:
    desk, game = table_with("p")
    host = desk.parties["h"].pub
    with pytest.raises(PlayerError, match="Replay is unavailable"):
        desk.command("p", PlaceBets(host, game, (bet(BetType.Replay, 1),)))
    with pytest.raises(PlayerError, match="would be refused"):
        desk.command("p", PlaceBets(host, game, (bet(BetType.Pass, 99_500),)))
    desk.add("stranger")
    with pytest.raises(PlayerError, match="has not joined"):
        desk.command("stranger", PlaceBets(host, game, (bet(BetType.Pass, 1),)))
    hwm = desk.replica.hwm(desk.parties["p"].pub)
    assert desk.replica.hwm(desk.parties["p"].pub) == hwm  # no nonce burnt


def test_a_leave_is_listed_by_the_host_and_the_seat_goes_once_its_bets_settle() -> None:
    desk, game = table_with("p", "q")
    play(desk, game, "p", "q", rolls=1)
    (leave,) = desk.command("q", LeaveTable(desk.parties["h"].pub, game))
    assert isinstance(leave, Leave)
    play(desk, game, "p", rolls=2)
    table = desk.table("h", game)
    assert desk.parties["q"].pub not in {s.key for s in table.seats.values()}
    assert any(2 in b.leaves for b in desk.bodies("h", RollOpen))  # type: ignore[attr-defined]


def test_after_game_end_the_wallet_reclaims_pending_bets_by_itself() -> None:
    desk, game = table_with("p")
    host = desk.parties["h"].pub
    p = desk.parties["p"]
    desk.command("p", PlaceBets(host, game, (bet(BetType.Pass, 10),)))
    before = desk.replica.spendable(p.pub)
    (end,) = desk.command("h", EndGame(game))  # idle: the pending bet was never included
    assert isinstance(end, GameEnd) and desk.table("h", game).ended
    (reclaim,) = desk.bodies("p", Cancel)
    assert isinstance(reclaim, Cancel) and reclaim.table == desk.replica.hwm(host)
    assert desk.replica.spendable(p.pub) == before + 10 * CRAP + PARAMS.bond  # stake and bond
    assert p.agent.describe(desk.replica) == []  # nothing left there: the wallet let go
    with pytest.raises(PlayerError, match="has not joined"):
        desk.command("p", PlaceBets(host, game, (bet(BetType.Pass, 10),)))


def test_an_explicit_cancel_takes_back_pending_bets_when_the_host_sees_it() -> None:
    desk, game = table_with("p")
    host = desk.parties["h"].pub
    p = desk.parties["p"]
    desk.command("p", PlaceBets(host, game, (bet(BetType.Pass, 10),)))
    (cancel,) = desk.command("p", CancelBets(host, game))
    assert isinstance(cancel, Cancel) and cancel.upto == desk.replica.hwm(p.pub) - 1
    with pytest.raises(PlayerError, match="nothing at stake"):
        desk.command("h", OpenRoll(game))  # the host includes no cancelled bet


def test_t28_a_seat_under_an_invented_head_gets_no_reveal_and_the_wallet_reclaims() -> None:
    """The host (a cheat, signing by hand) seats p's real join under a head it made up: p's
    wallet sees its copy differ from its own join, reveals nothing there, bets nothing, and
    reclaims by itself."""
    desk = Desk()
    h, p = desk.add("h"), desk.add("p")
    host_chain = WalletChain(b"\x01" * 32, PARAMS.chain_n)
    desk.sign(h, Create(PARAMS, 10_000 * CRAP, host_chain.head, Bank.OWN))
    game = game_of(desk, "h")
    h.muted = True  # the cheat's own agent stays out of it
    desk.command("p", JoinTable(h.pub, game, chain_n=128))
    invented = WalletChain(b"\x02" * 32, 128)
    entry = desk.replica.judged(p.pub, 1)
    assert entry is not None
    copy = JoinCopy(p.pub, 1, entry.h, invented.head, 128)
    desk.sign(h, Seat(game, (), (), (copy,), ()))
    desk.settle()
    with pytest.raises(PlayerError, match="T28"):
        desk.command("p", PlaceBets(h.pub, game, (bet(BetType.Pass, 10),)))
    desk.sign(h, RollOpen(game, 1, host_chain.reveal(), (), (), (), (), (), (), (1,)))
    desk.settle()
    assert not desk.bodies("p", Reveal)
    for _ in range(40):  # the host goes on alone; p's bond is reclaimable past its window
        desk.sign(h, Transfer(public_key("elsewhere"), 1, ()))
    desk.settle()
    cancels = desk.bodies("p", Cancel)
    assert cancels, "the wallet reclaimed nothing"
    last = desk.replica.judged(p.pub, desk.replica.hwm(p.pub))
    assert last is not None and last.reason is Reason.APPLIED
    assert desk.replica.spendable(p.pub) == 100_000 * CRAP  # the bond is back
