"""The table engine end to end: a table's life on one replica, its money, and its refusals.

Every scene audits the supply after each judged packet (accounts, escrowed items, held bonds,
bank, host bond, treasury and sink sum to grants + mints).
"""

from __future__ import annotations

from dataclasses import replace

import pytest

import node.core.tables.engine as engine_module
import node.core.tables.state as state_module
from node.core.ledger import Judgment, LedgerState
from node.core.tables import TablesEngine
from node.core.tables.engine import tables_of
from node.core.tables.journal import MISSING, Change, Staged, unmake
from node.core.tables.params import MAX_ENTRIES, WINDOW, default_params
from node.core.tables.state import (
    JOIN_INDEX,
    MAP_INDEX,
    MAPS,
    OWNED,
    RELEASED,
    VOIDS,
    Escrow,
    Escrowed,
    ItemStatus,
    Tables,
)
from node.core.tables.steps import HostRun
from node.core.verdicts import Reason
from node.drivers.tableview import _table_change
from protocol.bets import BetType
from protocol.budget import max_entries_for
from protocol.constants import CRAP, SINK_KEY
from protocol.frame import FrameCodec, Packet, decode_body
from protocol.genesis import LOCAL, Genesis
from protocol.kinds import Bank, Included, Released, RollOpen
from tests.ledger_factory import public_key
from tests.table_factory import Scene, entry, small_params

MINT = 100_000 * CRAP
BOND = 1_000 * CRAP
HOST_BOND = 12_000 * CRAP  # 3 × bond × 4 players
BANKROLL = 10_000 * CRAP


def seated(*names: str) -> Scene:
    """A 4-player default table with ``names`` joined and seated."""
    scene = Scene()
    assert scene.create() is Reason.APPLIED
    for name in names:
        assert scene.join(name) is Reason.APPLIED
    assert scene.seat(names) is Reason.APPLIED
    return scene


def test_a_create_escrows_bankroll_and_host_bond() -> None:
    scene = Scene()
    assert scene.create() is Reason.APPLIED
    assert scene.spendable("host") == MINT - BANKROLL - HOST_BOND
    funds = scene.funds()
    assert (funds.backed, funds.bank_real, funds.host_bond_money) == (True, BANKROLL, HOST_BOND)
    table = scene.table()
    assert (table.cover, table.host_bond_left, table.k, table.open) == (
        BANKROLL,
        HOST_BOND,
        0,
        False,
    )


def test_a_create_that_is_not_well_formed_is_no_table() -> None:
    scene = Scene()
    assert scene.create(params=small_params(host_bond=BOND)) is Reason.BAD_TABLE
    assert not scene.tables().map("tables")
    assert scene.spendable("host") == MINT


def test_a_short_create_is_a_table_that_backs_nothing() -> None:
    scene = Scene()
    assert scene.create(bankroll=MINT) is Reason.UNFUNDED
    assert scene.funds().backed is False
    assert scene.join("p") is Reason.UNBACKED
    assert scene.spendable("p") == MINT


def test_a_join_escrows_its_bond_and_a_seat_holds_it() -> None:
    scene = Scene()
    scene.create()
    assert scene.join("p") is Reason.APPLIED
    assert scene.spendable("p") == MINT - BOND
    assert scene.seat(["p"]) is Reason.APPLIED
    assert scene.seat_of("p") == 1
    bonds = scene.tables().map("bonds")
    assert bonds[(scene.table().key, 1)].bond == BOND
    assert bonds[(scene.table().key, 1)].own is True


def test_player_packets_without_a_join_or_a_game_are_refused() -> None:
    scene = Scene()
    scene.create()
    assert scene.bet("stranger", entry(BetType.Pass, CRAP)) is Reason.NOT_JOINED
    assert scene.join("p", t=scene.host.chain.nonce) is Reason.APPLIED  # type: ignore[union-attr]
    assert scene.join("q", chain_n=63) is Reason.SHORT_CHAIN


def test_a_roll_settles_pass_bets_and_pays_from_the_bank() -> None:
    scene = seated("p")
    assert scene.bet("p", entry(BetType.Pass, 10 * CRAP), entry(BetType.Field, 5 * CRAP)) is (
        Reason.APPLIED
    )
    bet_nonce = scene.party("p").chain.nonce
    assert scene.spendable("p") == MINT - BOND - 15 * CRAP
    assert scene.roll_open([scene.included("p", index=0), scene.included("p", index=1)]) is (
        Reason.APPLIED
    )
    table = scene.table()
    assert table.k == 1 and table.open and table.listed == (1,)
    assert len(table.craps.bets) == 2
    assert scene.stakes()[(scene.party("p").pub, bet_nonce, 0)].stake == 10 * CRAP
    assert scene.escrow("p", bet_nonce) is None  # both stakes went live: out of escrow
    # the next roll_open settles roll 1 with p's reveal
    before_bank = scene.funds().bank_real
    assert scene.roll_open() is Reason.APPLIED
    funds = scene.funds()
    table = scene.table()
    # money follows state: what left the bank or entered it matches the settlements
    field_live = any(b.type is BetType.Field for b in table.craps.bets)
    assert not field_live  # a Field bet settles on every roll
    paid_out = before_bank - funds.bank_real
    assert paid_out == BANKROLL - funds.bank_real
    assert table.cover <= BANKROLL


def test_winnings_are_credits_from_the_host_spendable_once_acknowledged() -> None:
    scene = seated("p")
    for _ in range(40):  # until a Field bet wins
        scene.bet("p", entry(BetType.Field, 10 * CRAP))
        scene.roll_open([scene.included("p")])
        spendable = scene.spendable("p")
        scene.roll_open()
        _, pending = scene.balance("p")
        if pending:
            break
    else:
        raise AssertionError("no Field win in 40 rolls")
    # a credit from the host's packet n is spendable once p names (host, ≥ n): its next bet
    scene.bet("p", entry(BetType.Field, CRAP))
    assert scene.balance("p")[1] == 0
    assert scene.spendable("p") > spendable - CRAP


def test_a_bet_not_included_is_reclaimed_by_a_cancel_after_its_window() -> None:
    scene = seated("p")
    scene.bet("p", entry(BetType.Pass, 10 * CRAP))
    bet_nonce = scene.party("p").chain.nonce
    t = scene.host.chain.nonce  # type: ignore[union-attr]
    before = scene.spendable("p")
    assert scene.cancel("p", upto=bet_nonce, t=t) is Reason.APPLIED
    assert scene.spendable("p") == before  # within its window: nothing to reclaim yet
    for _ in range(WINDOW + 1):
        scene.seat()
    assert scene.cancel("p", upto=bet_nonce) is Reason.APPLIED
    assert scene.spendable("p") == before + 10 * CRAP
    # a late inclusion holds nothing: a phantom
    scene.roll_open([Included(1, bet_nonce, 0, int(BetType.Pass), 10 * CRAP)])
    assert scene.table().craps.bets  # in state
    assert not scene.stakes()  # moves no money


def test_a_released_bet_is_credited_back_from_the_releasing_packet() -> None:
    scene = seated("p")
    scene.bet("p", entry(BetType.Pass, 10 * CRAP))
    n = scene.party("p").chain.nonce
    assert scene.roll_open(released=[Released(1, n, 0)]) is Reason.APPLIED
    assert scene.balance("p")[1] == 10 * CRAP  # pending: a credit from the host
    assert scene.escrow("p", n) is None


def test_escrowed_gives_back_each_item_as_kept_and_encodes_the_same() -> None:
    table = (bytes(32), bytes(8))
    items = [Escrow(5, 10, ItemStatus.PENDING), None, Escrow(7, 12, ItemStatus.RETURNED)]
    escrowed = Escrowed.of(table, False, items)
    assert [escrowed.item(i) for i in range(5)] == [*items, None, None]
    assert escrowed.held() == [(0, items[0]), (2, items[2])]
    assert escrowed.amount() == 5 + 7
    assert escrowed.encode() == [list(table), False, [[5, 10, 0], None, [7, 12, 1]]]
    assert Escrowed.decode(escrowed.encode()) == escrowed
    back = Escrow(6, 14, ItemStatus.RETURNED)
    changed = escrowed.replaced(1, back)
    assert changed is not None and changed.item(1) == back and changed.item(2) == items[2]
    # the items end with the last one in escrow: one value whichever order they left in
    first = escrowed.replaced(2, None)
    assert first is not None and first.items == (items[0],) and first.amount() == 5
    assert first == Escrowed.of(table, False, [items[0]])
    assert first.replaced(0, None) is None  # nothing left in escrow
    # an item back in escrow after its packet's others left: the value it would have had
    assert Escrowed.of(table, False, ()).replaced(2, items[2]) == escrowed.replaced(0, None)
    bond = Escrowed.of(table, True, [Escrow(9, 3, ItemStatus.PENDING)])
    assert bond.item(JOIN_INDEX) == Escrow(9, 3, ItemStatus.PENDING) and bond.item(0) is None
    assert bond.held() == [(JOIN_INDEX, Escrow(9, 3, ItemStatus.PENDING))]
    assert bond.replaced(JOIN_INDEX, None) is None  # nothing left in escrow
    pending = [Escrow(amount, 7, ItemStatus.PENDING) for amount in (3, 4)]
    assert Escrowed.pending(table, False, (3, 4), 7) == Escrowed.of(table, False, pending)


def test_staged_writes_in_place_logs_each_change_and_takes_them_back_exactly() -> None:
    tables = Tables()
    released, owned, voids = tables.map("released"), tables.map("owned"), tables.map("voids")
    released[("t", 1)] = "released"
    staged = Staged(tables)
    staged.put(RELEASED, ("t", 2), "cover")
    staged.delete(RELEASED, ("t", 1))
    staged.delete(RELEASED, ("t", 3))  # nothing there: nothing to log
    staged.put(RELEASED, ("t", 2), released[("t", 2)])  # the value it holds: nothing to log
    staged.add(OWNED, "k", 5)
    staged.add(OWNED, "k", 5)  # a member already: nothing to log
    staged.discard(OWNED, "k", 6)  # not a member: nothing to log
    staged.incr(VOIDS, "k", 2)
    # made in place: the steps read their own writes with a plain lookup
    assert released == {("t", 2): "cover"} and owned == {"k": {5}} and voids == {"k": 2}
    assert staged.get(RELEASED, ("t", 2)) == "cover" and not staged.has(RELEASED, ("t", 1))
    assert staged.members(OWNED, "k") == {5} and staged.count(VOIDS, "k") == 2
    change = staged.change()
    assert change.sets_in("released") == [
        (("t", 2), MISSING, "cover"),
        (("t", 1), "released", MISSING),
    ]
    assert change.members == (OWNED, "k", 5, True) and change.counts == (VOIDS, "k", 2)
    staged.undo()
    assert released == {("t", 1): "released"} and owned == {} and voids == {}
    again = staged.redo()
    assert released == {("t", 2): "cover"} and owned == {"k": {5}} and voids == {"k": 2}
    assert again.change() == change
    unmake(tables, change)
    assert released == {("t", 1): "released"} and owned == {} and voids == {}


def test_a_bets_entries_are_named_once_until_returned_to_pending() -> None:
    scene = seated("p")
    table = scene.table()
    run = HostRun(table.copy(), Staged(tables_of(scene.replica.state)), 99, b"n" * 8)
    key = scene.party("p").pub
    assert run.name(key, 5, 0) and run.name(key, 5, 3) and run.name(key, 6, 0)
    assert not run.name(key, 5, 3)  # named already
    run.unname((key, 5, 3))
    assert run.name(key, 5, 3)  # back to pending: may be named again
    run.unname((key, 6, 0))
    named = tables_of(scene.replica.state).map("named")
    assert named == {}  # kept by the run until it is written, once per bet
    run.write_named()
    assert named == {(table.key, key, 5): 0b1001}  # one value per bet: its entries' bits
    assert run.staged.change().sets_in("named") == [((table.key, key, 5), MISSING, 0b1001)]
    run.staged.undo()
    assert named == {}


def test_each_map_constant_is_that_maps_index() -> None:
    # the engine reads its maps by these constants; the digest and snapshots by MAPS's order
    assert {name: getattr(state_module, name.upper()) for name in MAPS} == MAP_INDEX


def test_a_host_packets_change_names_the_table_before_and_after_and_what_it_released() -> None:
    # what the node's table view reads from a judged host packet (node.drivers.tableview)
    scene = seated("p")
    scene.bet("p", entry(BetType.Pass, 10 * CRAP))
    n = scene.party("p").chain.nonce
    before = scene.table()
    assert scene.roll_open(released=[Released(1, n, 0)]) is Reason.APPLIED
    judged = scene.replica.judged(scene.host.pub, scene.host.chain.nonce)
    assert judged is not None and judged.judgment is not None
    change = judged.judgment.table
    assert isinstance(change, Change)
    assert _table_change(change) == (before, scene.table())
    table_key = (scene.host.pub, scene.game)
    assert change.sets_in("released") == [
        ((table_key, scene.party("p").pub, n, 0), MISSING, "released")
    ]


def test_a_void_forfeits_the_withholders_bond_and_charges_the_host_the_fee() -> None:
    scene = seated("p", "q")
    scene.bet("p", entry(BetType.Pass, 10 * CRAP))
    scene.bet("q", entry(BetType.Pass, 20 * CRAP))
    q_bet = scene.party("q").chain.nonce
    scene.roll_open([scene.included("p"), scene.included("q")])
    risk = scene.table().risk_at_open
    assert risk == 60 * CRAP  # two Pass bets: stake + 1:1 exposure each
    sink_before = scene.replica.state.accounts.get(SINK_KEY)
    assert sink_before is None
    # q withholds: the host voids seat 2
    assert scene.void([2]) is Reason.APPLIED
    table = scene.table()
    assert 2 not in table.seats and not table.open
    assert table.host_bond_left == HOST_BOND - BOND - risk
    # p's bet first included in the voided roll is back to pending, still held
    p_item = (scene.party("p").pub, scene.party("p").chain.nonce - 1, 0)
    escrow = scene.tables().escrow_of(p_item)
    assert escrow is not None and escrow.status is ItemStatus.RETURNED
    assert escrow.window_end == scene.host.chain.nonce + WINDOW  # type: ignore[union-attr]
    # q's bet returned at stake, its bond to the sink with the fee
    assert scene.escrow("q", q_bet) is None
    sink = scene.replica.state.accounts[SINK_KEY]
    assert sink.pending() == BOND + BOND + risk
    assert scene.tables().map("voids") == {(0, scene.host.pub): 1, (1, scene.party("q").pub): 1}  # type: ignore[union-attr]


def test_game_end_returns_everything_to_its_source() -> None:
    scene = seated("p")
    scene.bet("p", entry(BetType.Pass, 10 * CRAP))
    scene.roll_open([scene.included("p")])
    assert scene.game_end() is Reason.APPLIED
    table = scene.table()
    assert table.ended and not table.seats and not table.craps.bets
    funds = scene.funds()
    assert (funds.bank_real, funds.host_bond_money) == (0, 0)
    assert scene.replica.state.accounts[scene.host.pub].own > 0  # type: ignore[union-attr]
    # nothing may follow
    assert scene.seat() is Reason.GAME_ENDED
    assert scene.bet("p", entry(BetType.Pass, CRAP)) is Reason.GAME_ENDED


def test_an_early_end_is_kept_in_table_state() -> None:
    scene = seated("p")
    scene.bet("p", entry(BetType.Fire, CRAP))  # no first roll settles a series bet
    scene.roll_open([scene.included("p")])
    assert scene.game_end() is Reason.APPLIED
    table = scene.table()
    assert table.early and table.ended
    assert scene.replica.state.accounts[SINK_KEY].pending() == HOST_BOND  # forfeited
    other = seated("p")
    assert other.game_end() is Reason.APPLIED
    assert not other.table().early


def test_host_faults_are_refused_and_change_nothing() -> None:
    scene = seated("p")
    digest = scene.replica.digest()
    assert scene.roll_open(listed=[]) is Reason.BAD_LISTED
    assert scene.roll_open(listed=[2, 1]) is Reason.BAD_LIST
    assert scene.roll_open(k=5) is Reason.OUT_OF_TURN
    assert scene.roll_open(preimage=bytes(32)) is Reason.HOST_CHAIN
    # each refusal consumed a nonce and nothing else
    assert scene.table().k == 0
    assert digest != scene.replica.digest()  # the host's chain moved
    assert scene.roll_open() is Reason.APPLIED
    assert scene.void([]) is Reason.BAD_VOID
    assert scene.void([2]) is Reason.BAD_VOID
    assert scene.seat() is Reason.OUT_OF_TURN


def test_a_treasury_banked_table_takes_its_bankroll_from_the_treasury() -> None:
    house = public_key("table/house")
    genesis = Genesis(
        name="house-test",
        play_money=True,
        faucet_amount=LOCAL.faucet_amount,
        min_account=0,
        treasury_reserve=50_000 * CRAP,
        house_key=house,
        grants=(),
        bounds=LOCAL.bounds,
    )
    scene = Scene(genesis)
    assert scene.create("house", bank=Bank.TREASURY) is Reason.APPLIED
    assert scene.replica.state.spendable(b"\xff" * 32) == 40_000 * CRAP
    assert scene.spendable("house") == MINT - HOST_BOND
    assert scene.game_end() is Reason.APPLIED
    # the bank's real money back to the treasury, spendable by the house's next create
    assert scene.replica.state.spendable(b"\xff" * 32) == 50_000 * CRAP
    other = Scene(genesis)
    assert other.create("stranger", bank=Bank.TREASURY) is Reason.BAD_TABLE


def test_the_defaults_are_tables_section_9() -> None:
    p = default_params()
    assert (p.min_bet, p.max_bet, p.bond, p.host_bond) == (CRAP, 100 * CRAP, BOND, 24_000 * CRAP)
    assert (p.max_players, p.max_entries, p.chain_n) == (8, 33, 1_024)
    assert default_params(16).max_entries == 15


def test_max_entries_is_the_byte_budgets() -> None:
    assert {p: max_entries_for(p) for p in range(2, 17)} == MAX_ENTRIES


@pytest.mark.parametrize("seat", [0, 4])
def test_an_entry_naming_a_non_player_seat_is_a_host_fault(seat: int) -> None:
    """§1 Lists: a seat ref names a player seat 1 … max_players − 1; a packet that breaks it
    is a host fault."""
    scene = Scene()
    scene.create()  # 4 players: player seats 1 … 3
    scene.join("p")
    scene.seat(["p"])
    scene.bet("p", entry(BetType.Pass, 10 * CRAP))
    n = scene.party("p").chain.nonce
    wrong = Included(seat, n, 0, int(BetType.Pass), 10 * CRAP)
    assert scene.roll_open([wrong]) is Reason.BAD_LIST
    assert scene.roll_open(released=[Released(seat, n, 0)]) is Reason.BAD_LIST


class CountingEngine(TablesEngine):
    """The table engine, noting each host packet's state run (``_run``)."""

    def __init__(self) -> None:
        super().__init__()
        self.runs: list[str] = []

    def _run(
        self,
        state: LedgerState,
        staged: Staged,
        packet: Packet,
        body: engine_module.HostBody,
    ) -> HostRun | Reason:
        self.runs.append(
            f"roll_open({body.k})" if isinstance(body, RollOpen) else type(body).__name__
        )
        return super()._run(state, staged, packet, body)


def test_the_replica_makes_a_host_packets_state_run_once() -> None:
    engine = CountingEngine()
    scene = Scene(engine=engine)
    assert scene.create() is Reason.APPLIED
    assert scene.join("p") is Reason.APPLIED
    assert scene.seat(["p"]) is Reason.APPLIED
    scene.bet("p", entry(BetType.Pass, 10 * CRAP))
    assert scene.roll_open([scene.included("p")]) is Reason.APPLIED
    assert scene.roll_open() is Reason.APPLIED
    runs = engine.runs
    # dependencies, judge and dependencies again (the replica's order) share one run
    assert runs == ["Seat", "roll_open(1)", "roll_open(2)"]


def next_bets_rolled() -> tuple[Scene, Packet, bytes]:
    """A table where p's 11 Next bets are live (one of them wins whatever the dice), and the
    host's roll_open(2) that settles them: signed, decoded, not fed (with its h)."""
    scene = seated("p")
    nexts = [BetType(code) for code in range(BetType.Next2, BetType.Next12 + 1)]
    included = []
    for bets in (nexts[:6], nexts[6:]):
        assert scene.bet("p", *(entry(bet, CRAP) for bet in bets)) is Reason.APPLIED
        included += [scene.included("p", index=i) for i in range(len(bets))]
    assert scene.roll_open(included) is Reason.APPLIED
    assert len(scene.table().craps.bets) == 11
    host = scene.host
    assert host is not None and host.dice is not None
    body = RollOpen(
        scene.game, 2, host.dice.reveal(), scene.reveal_copies(), (), (), (), (), (), (1,)
    )
    envelope = FrameCodec(LOCAL.network_id).open(host.chain.sign(body))
    return scene, decode_body(envelope), envelope.h


def test_the_engine_judges_a_host_packet_alike_however_often_it_is_asked() -> None:
    """The engine keeps a host packet's run between the replica's dependencies and judge
    calls; a judge on the same state again (after the first judgment was discarded) must come
    to the same judgment as the first (the kept run is not written by a judge)."""
    scene, packet, h = next_bets_rolled()
    host = packet.sender
    state = scene.replica.state
    before = state.digest()
    spendable = state.spendable(host)
    engine = TablesEngine()
    named = engine.dependencies(state, host, packet)
    assert state.digest() == before  # asking what it names changes nothing
    first = engine.judge(state, packet, h, spendable)
    assert first.reason is Reason.APPLIED and first.effects.credits  # the winner is paid
    assert first.table is not None and state.digest() != before  # made as it was judged
    engine.discard(state, first.table)
    assert state.digest() == before
    assert engine.dependencies(state, host, packet) == named
    again = engine.judge(state, packet, h, spendable)
    assert again == first
    assert again.table is not None
    engine.discard(state, again.table)
    fresh = TablesEngine()
    kept = fresh.judge(state, packet, h, spendable)
    assert kept == first  # a fresh run
    assert kept.table is not None
    fresh.apply(state, kept.table)  # kept as made
    assert state.digest() != before
    fresh.unapply(state, kept.table)
    assert state.digest() == before


def test_a_judgment_must_be_applied_or_discarded_before_the_engine_is_asked_again() -> None:
    scene, packet, h = next_bets_rolled()
    state = scene.replica.state
    engine = TablesEngine()
    judgment = engine.judge(state, packet, h, state.spendable(packet.sender))
    assert judgment.table is not None
    with pytest.raises(RuntimeError, match="neither applied nor discarded"):
        engine.judge(state, packet, h, state.spendable(packet.sender))
    with pytest.raises(RuntimeError, match="neither applied nor discarded"):
        engine.dependencies(state, packet.sender, packet)
    engine.discard(state, judgment.table)
    assert engine.judge(state, packet, h, state.spendable(packet.sender)) == judgment


def test_a_kept_host_run_is_not_used_on_another_table_or_state() -> None:
    """A host packet's kept run holds for the table object and the state it was made on: when
    a late fork takes its predecessor back, the packet is judged on the table as it is then;
    on another state (a copy whose bank holds nothing), its money is that state's."""
    scene, packet, h = next_bets_rolled()
    state = scene.replica.state
    spendable = state.spendable(packet.sender)
    engine = TablesEngine()

    def judged(on: LedgerState, by: TablesEngine = engine) -> Judgment:
        judgment = by.judge(on, packet, h, spendable)
        if judgment.table is not None:
            by.discard(on, judgment.table)
        return judgment

    first = judged(state)
    assert first.reason is Reason.APPLIED
    previous = scene.replica.judged(packet.sender, packet.nonce - 1)  # roll_open(1)
    assert previous is not None and previous.judgment is not None
    change = previous.judgment.table
    assert change is not None
    engine.unapply(state, change)
    assert judged(state).reason is Reason.OUT_OF_TURN
    engine.apply(state, change)
    assert judged(state) == first
    other = state.copy()
    funds = tables_of(other).map("funds")
    table = (packet.sender, scene.game)
    funds[table] = replace(funds[table], bank_real=0)
    poorer = judged(other)
    assert poorer == judged(other, TablesEngine())
    assert poorer.effects.credits != first.effects.credits  # the winner's profit: none
