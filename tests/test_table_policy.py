"""The honest host and wallet policies and the own budget (TABLES.md §6, §8, §9), with real
signed packets through :class:`tests.table_factory.Scene` (the supply audited after every
judged packet).
"""

from __future__ import annotations

from node.core.tables.engine import tables_of
from node.core.tables.params import WINDOW, default_params
from node.core.tables.policy import (
    HostIntent,
    HostMove,
    at_tables,
    budget_of,
    create_own_funded,
    held_reveals,
    may_join,
    next_host_body,
    own_chain,
    own_join_of,
    table_view,
    treasury_budget,
    unavailable_bets,
    wallet_bet,
    wallet_reclaim,
    wallet_reveal,
    withholders,
)
from node.core.verdicts import Reason
from node.drivers.tableview import precheck_bets
from protocol.bets import BetType
from protocol.constants import CRAP, SINK_KEY, TREASURY_KEY
from protocol.genesis import LOCAL, Genesis
from protocol.kinds import Ack, Bank, Bet, Cancel, Decline, JoinCopy, RollOpen, Seat, Transfer, Void
from tests.ledger_factory import public_key
from tests.table_factory import Scene, entry, small_params

MINT = 100_000 * CRAP
BOND = 1_000 * CRAP
HOST_BOND = 12_000 * CRAP  # small_params: 3 × bond × 4 players
BANKROLL = 10_000 * CRAP


def host_move(scene: Scene, **options: object) -> HostMove:
    """The policy's next host body, signed (it must be Applied) when there is one."""
    host = scene.host
    assert host is not None and host.dice is not None
    move = next_host_body(scene.replica, host.pub, scene.game, host.dice, **options)  # type: ignore[arg-type]
    if move.body is not None:
        assert scene.sign(host, move.body) is Reason.APPLIED, move
    return move


def reveal(scene: Scene, *names: str) -> None:
    """Each wallet signs the reveal its policy owes (if any)."""
    for name in names:
        party = scene.party(name)
        assert party.dice is not None
        own = own_join_of(scene.replica, party.pub, party.join_nonce)
        move = wallet_reveal(scene.replica, party.pub, own, party.dice)
        if move.body is not None:
            assert scene.sign(party, move.body) is Reason.APPLIED


def fund_from(scene: Scene, name: str, payer: str, amount: int) -> None:
    """``payer`` transfers ``amount`` to ``name``, who acknowledges it (spendable, never in
    its own budget)."""
    paid = scene.party(payer)
    assert scene.sign(paid, Transfer(scene.party(name).pub, amount, ())) is Reason.APPLIED
    assert scene.sign(scene.party(name), Ack((paid.chain.ref(paid.chain.nonce),))) is (
        Reason.APPLIED
    )


def spend_budget(scene: Scene, name: str, amount: int) -> None:
    """``name`` gives ``amount`` away: its own budget falls by it for good."""
    assert scene.sign(scene.party(name), Transfer(public_key("elsewhere"), amount, ())) is (
        Reason.APPLIED
    )


def escrowed(scene: Scene, name: str) -> int:
    key = scene.party(name).pub
    escrow = tables_of(scene.replica.state).map("escrow")
    return sum(e.amount() for owner, e in escrow.items() if owner[0] == key)


# --------------------------------------------------------------------------- own budget


def test_the_own_budget_is_the_mint_less_every_debit_whatever_its_verdict() -> None:
    scene = Scene()
    x = scene.party("x")
    assert scene.sign(x, Transfer(public_key("y"), 30_000 * CRAP, ())) is Reason.APPLIED
    assert scene.sign(x, Transfer(public_key("y"), 90_000 * CRAP, ())) is Reason.INSUFFICIENT
    fund_from(scene, "x", "z", 50_000 * CRAP)  # a credit: spendable, not in the budget
    budget = budget_of(scene.replica, x.pub)
    assert budget.before(1) == MINT
    assert budget.before(2) == MINT - 30_000 * CRAP
    assert budget.before(3) == MINT - 120_000 * CRAP  # the refused transfer counts too
    assert budget.funded(1) and not budget.funded(2)
    assert budget.funded(3)  # an ack debits nothing: own-funded whatever the budget
    assert budget.before(budget.top + 1) == MINT - 120_000 * CRAP
    assert scene.spendable("x") == 120_000 * CRAP


def test_a_game_end_gives_the_host_back_k_and_the_host_bond_it_returns() -> None:
    scene = Scene()
    scene.create()
    for name in ("p", "q"):
        scene.join(name)
    scene.seat(["p", "q"])
    scene.bet("p", entry(BetType.Field, 50 * CRAP))
    scene.roll_open([scene.included("p")])
    scene.game_end()  # settles roll 1: the Field bet is gone, not an early end
    table = scene.table()
    assert table.ended and not table.early
    host = scene.host
    assert host is not None
    budget = budget_of(scene.replica, host.pub)
    assert budget.before(budget.top + 1) == MINT - BANKROLL - HOST_BOND + table.cover + HOST_BOND
    assert create_own_funded(scene.replica, table)


def test_an_early_end_gives_back_k_but_not_the_forfeited_host_bond() -> None:
    scene = Scene()
    scene.create()
    scene.join("p")
    scene.seat(["p"])
    scene.bet("p", entry(BetType.Fire, CRAP))  # a series bet no first roll settles
    scene.roll_open([scene.included("p")])
    scene.game_end()
    table = scene.table()
    assert table.early
    host = scene.host
    assert host is not None
    budget = budget_of(scene.replica, host.pub)
    assert budget.before(budget.top + 1) == MINT - BANKROLL - HOST_BOND + table.cover


def test_the_treasury_budget_ignores_transfers_to_the_treasury() -> None:
    house = public_key("table/house")
    genesis = Genesis(
        name="house-budget",
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
    first = scene.table()
    gift = scene.party("gift")
    assert scene.sign(gift, Transfer(TREASURY_KEY, 20_000 * CRAP, ())) is Reason.APPLIED
    assert scene.sign(scene.party("house"), Ack((gift.chain.ref(1),))) is Reason.APPLIED
    assert scene.create("house", bankroll=45_000 * CRAP, bank=Bank.TREASURY) is Reason.APPLIED
    second = scene.table()
    assert create_own_funded(scene.replica, first)
    assert not create_own_funded(scene.replica, second)  # Applied on the gift: not its own
    chain = own_chain(scene.replica, house)
    state = tables_of(scene.replica.state)
    assert treasury_budget(genesis, state, chain, second.create_nonce) == 40_000 * CRAP
    assert treasury_budget(genesis, state, chain, len(chain) + 1) == -5_000 * CRAP


# --------------------------------------------------------------------------- honest host


def test_an_honest_host_plays_three_players_to_game_end() -> None:
    """Three players sit, bet and reveal as their wallets say; a fourth join finds the table
    full and is declined; one player leaves and its seat is listed in ``leaves``; the host
    winds down and ends with no bet live: every stake and bond is back."""
    scene = Scene()
    assert scene.create(params=small_params(chain_n=256)) is Reason.APPLIED
    players = ("a", "b", "c")
    for name in players:
        assert scene.join(name) is Reason.APPLIED
    move = host_move(scene)
    assert isinstance(move.body, Seat) and len(move.body.joins) == 3
    assert sorted(scene.table().seats) == [1, 2, 3]
    c_seat = scene.seat_of("c")
    for name in players:
        assert scene.bet(name, entry(BetType.Pass, 10 * CRAP)) is Reason.APPLIED
    bodies = []
    while not scene.table().ended:
        rolls = len(bodies)
        if rolls == 1:
            assert scene.join("d") is Reason.APPLIED
        if rolls == 2:
            assert scene.leave("c") is Reason.APPLIED
        for name in players if rolls < 6 else ():
            if not (name == "c" and rolls >= 2):
                assert scene.bet(name, entry(BetType.Field, 5 * CRAP)) is Reason.APPLIED
        intent = HostIntent.PLAY if rolls < 6 else HostIntent.WIND_DOWN
        move = host_move(scene, intent=intent)
        assert move.body is not None, move
        bodies.append(move.body)
        reveal(scene, *players)
        assert rolls < 200
    rolls_open = [b for b in bodies if isinstance(b, RollOpen)]
    assert len(rolls_open[0].included) == 6  # the Pass and Field bets of all three
    d = scene.party("d")
    assert any(b.declines == (Decline(d.pub, d.join_nonce),) for b in rolls_open)
    assert any(c_seat in b.leaves for b in rolls_open)
    table = scene.table()
    assert not table.early and not table.seats and not table.craps.bets
    for name in (*players, "d"):  # every stake and bond came back: nothing left in escrow
        assert escrowed(scene, name) == 0
        assert sum(scene.balance(name)) > MINT - 100 * CRAP
    funds = scene.funds()
    assert (funds.bank_real, funds.host_bond_money) == (0, 0)
    assert not scene.replica.state.accounts.get(SINK_KEY)  # no void, no forfeit
    scene.replica.state.audit()


def test_a_join_whose_bond_is_not_own_funded_is_declined() -> None:
    scene = Scene()
    scene.create()
    spend_budget(scene, "dust", 99_500 * CRAP)
    fund_from(scene, "dust", "friend", 2_000 * CRAP)
    assert scene.join("dust") is Reason.APPLIED  # spendable: the join is Applied
    assert scene.join("p") is Reason.APPLIED
    move = host_move(scene)
    assert isinstance(move.body, Seat)
    dust = scene.party("dust")
    assert move.body.declines == (Decline(dust.pub, dust.join_nonce),)
    assert [copy.key for copy in move.body.joins] == [scene.party("p").pub]
    assert scene.table().seat_of(dust.pub) is None
    assert escrowed(scene, "dust") == 0  # the decline released the bond
    assert scene.balance("dust")[1] == BOND


def test_bets_on_a_dust_credit_are_included_only_within_the_held_bond() -> None:
    """T33, the host's side: a seated player with an own-funded bond bets on a dust key's
    credit; the host includes those bets only while their total stays within the held bond,
    and when the dust key forks the bank is whole: the losses are charged to the bond."""
    scene = Scene()
    scene.create(params=small_params(chain_n=256))
    assert scene.join("p") is Reason.APPLIED
    host_move(scene)
    spend_budget(scene, "p", MINT - BOND)  # p's own budget is now 0
    fund_from(scene, "p", "dust", 5_000 * CRAP)
    bets = []
    for _ in range(12):
        assert scene.bet("p", entry(BetType.Field, 100 * CRAP)) is Reason.APPLIED
        bets.append(scene.party("p").chain.nonce)
        move = host_move(scene)
        assert isinstance(move.body, RollOpen)
        reveal(scene, "p")
    host_move(scene)  # settles the last roll
    tables = tables_of(scene.replica.state)
    table = scene.table()
    released = tables.map("released")
    p = scene.party("p").pub
    included = [
        n
        for n in bets
        if tables.is_named(table.key, (p, n, 0)) and (table.key, p, n, 0) not in released
    ]
    assert included == bets[:10]  # 10 × 100 CRAP = the held bond
    assert all(released.get((table.key, p, n, 0)) == "released" for n in bets[10:])
    bank_before = scene.funds().bank_real
    # the dust key forks its credit away: p's bets are re-judged Refused(insufficient)
    dust = scene.party("dust")
    other = dust.chain.branch(0)
    scene.replica.receive(other.sign(Transfer(public_key("elsewhere"), CRAP, ())), 0.0)
    assert scene.replica.fork_point(dust.pub) == 1
    verdicts = [scene.replica.judged(p, n).reason for n in bets[:10]]  # type: ignore[union-attr]
    assert set(verdicts) == {Reason.INSUFFICIENT}
    seat_bond = tables_of(scene.replica.state).map("bonds")[(table.key, 1)].bond
    assert scene.funds().bank_real >= bank_before  # losses charged to the bond, wins unpaid
    assert 0 <= seat_bond < BOND  # the bond paid for the losses the fork undid
    scene.replica.state.audit()
    # p is now a key with packets Refused for balance: nothing of it is included any more
    fund_from(scene, "p", "dust2", 5_000 * CRAP)
    assert scene.bet("p", entry(BetType.Field, CRAP)) is Reason.APPLIED
    move = host_move(scene)
    assert move.body is None or not (isinstance(move.body, RollOpen) and move.body.included)


def test_a_key_with_a_bet_refused_for_balance_gets_nothing_included() -> None:
    scene = Scene()
    scene.create(params=small_params(chain_n=256))
    scene.join("p")
    host_move(scene)
    assert scene.bet("p", entry(BetType.Field, 200_000 * CRAP)) is Reason.INSUFFICIENT
    assert scene.bet("p", entry(BetType.Field, 10 * CRAP)) is Reason.APPLIED
    n = scene.party("p").chain.nonce
    move = host_move(scene)
    assert isinstance(move.body, Seat)  # nothing to roll for: the bet is only released
    assert [(r.nonce, r.index) for r in move.body.released] == [(n, 0)]
    assert escrowed(scene, "p") == 0


def test_the_host_voids_the_seats_whose_reveal_it_lacks_once_the_wait_ran_out() -> None:
    scene = Scene()
    scene.create(params=small_params(chain_n=256))
    for name in ("a", "b"):
        scene.join(name)
    host_move(scene)
    for name in ("a", "b"):
        scene.bet(name, entry(BetType.Pass, 10 * CRAP))
    assert isinstance(host_move(scene).body, RollOpen)
    withholder = scene.seat_of("b")
    reveal(scene, "a")
    table = scene.table()
    assert withholders(table, held_reveals(scene.replica, table)) == (withholder,)
    move = host_move(scene)
    assert move.body is None and "waiting" in move.why
    move = host_move(scene, waited=True)
    assert isinstance(move.body, Void)
    assert move.body.withheld == (withholder,)
    table = scene.table()
    assert list(table.seats) == [scene.seat_of("a")] and not table.open
    assert table.host_bond_left == HOST_BOND - BOND - 40 * CRAP  # bond + the roll's risk


def test_a_host_that_is_asked_to_end_ends_at_its_next_packet() -> None:
    scene = Scene()
    scene.create(params=small_params(chain_n=256))
    scene.join("a")
    host_move(scene)
    scene.bet("a", entry(BetType.Fire, CRAP))
    host_move(scene)
    reveal(scene, "a")
    move = host_move(scene, intent=HostIntent.END)
    assert move.body is not None and move.why == "ending, as asked"
    assert scene.table().ended and scene.table().early  # the Fire bet was live


# --------------------------------------------------------------------------- wallet


def test_a_wallet_refuses_to_reveal_for_a_seat_copied_under_another_head() -> None:
    """T28: the host seats p's real join under a head it made up; p's wallet neither reveals
    nor bets there, and reclaims its bond by cancel once the join's window is over."""
    scene = Scene()
    scene.create(params=small_params(chain_n=256))
    scene.join("p")
    p = scene.party("p")
    honest = scene.copy_of("p")
    forged = JoinCopy(p.pub, honest.nonce, honest.h, b"\x07" * 32, honest.chain_n)
    assert scene.seat(copies=[forged]) is Reason.APPLIED
    assert scene.roll_open() is Reason.APPLIED  # roll 1 lists the phantom seat
    own = own_join_of(scene.replica, p.pub, p.join_nonce)
    assert p.dice is not None
    move = wallet_reveal(scene.replica, p.pub, own, p.dice)
    assert move.body is None and "T28" in move.why
    bet = Bet(scene.game, scene.host.chain.nonce, (entry(BetType.Pass, CRAP),))  # type: ignore[union-attr]
    refusal = wallet_bet(scene.replica, p.pub, bet, own)
    assert refusal is not None and "T28" in refusal
    assert host_move(scene, waited=True).body is not None  # the host voids the seat
    assert wallet_reclaim(scene.replica, p.pub, own).body is None  # within the window
    for _ in range(WINDOW):
        scene.seat()
    move = wallet_reclaim(scene.replica, p.pub, own)
    assert isinstance(move.body, Cancel)
    assert scene.sign(p, move.body) is Reason.APPLIED
    assert scene.spendable("p") == MINT and escrowed(scene, "p") == 0


def test_a_wallet_signs_no_bet_its_replica_would_refuse() -> None:
    scene = Scene()
    scene.create()
    scene.join("p")
    p = scene.party("p")
    own = own_join_of(scene.replica, p.pub, p.join_nonce)
    t = scene.host.chain.nonce  # type: ignore[union-attr]
    too_much = Bet(scene.game, t, (entry(BetType.Pass, MINT),))
    assert (
        wallet_bet(scene.replica, p.pub, too_much, own) == "the bet would be refused(insufficient)"
    )
    assert (
        wallet_bet(scene.replica, p.pub, Bet(scene.game, t, (entry(BetType.Pass, CRAP),)), own)
        is None
    )


def test_the_control_api_precheck_sees_a_bet_waiting_behind_the_seats_pending_bets() -> None:
    """A second pass bet while the first still waits to be included passes the checks on the
    live bets, but behind the pending one it is a duplicate: the host includes the first and
    keeps the second pending.  A cancelled pending bet no longer counts."""
    scene = Scene()
    scene.create(params=small_params(chain_n=256))
    scene.join("p")
    host_move(scene)  # seats p
    seat = scene.seat_of("p")
    pass_bet = (entry(BetType.Pass, 10 * CRAP),)

    def precheck(behind: bool) -> tuple[str, str] | None:
        return precheck_bets(scene.replica, scene.table(), seat, pass_bet, behind_pending=behind)

    assert precheck(False) is None and precheck(True) is None
    assert scene.bet("p", *pass_bet) is Reason.APPLIED
    first = scene.party("p").chain.nonce
    assert scene.bet("p", *pass_bet) is Reason.APPLIED
    second = scene.party("p").chain.nonce
    assert precheck(False) is None and precheck(True) == ("duplicate", "pass")
    move = host_move(scene)
    assert isinstance(move.body, RollOpen)
    assert [(c.nonce, c.index) for c in move.body.included] == [(first, 0)]  # the second waits
    assert not move.body.released and scene.escrow("p", second) is not None  # still pending
    assert scene.cancel("p", second) is Reason.APPLIED
    reveal(scene, "p")  # the open roll's dice are known: every check runs
    assert scene.bet("p", entry(BetType.Field, CRAP)) is Reason.APPLIED
    field = (entry(BetType.Field, 5 * CRAP),)
    assert precheck_bets(scene.replica, scene.table(), seat, field, behind_pending=True) == (
        "duplicate",
        "field",
    )
    assert scene.cancel("p", scene.party("p").chain.nonce) is Reason.APPLIED
    assert precheck_bets(scene.replica, scene.table(), seat, field, behind_pending=True) is None


def test_wallets_join_own_funded_tables_and_see_what_is_unavailable() -> None:
    scene = Scene()
    spend_budget(scene, "host", 80_000 * CRAP)
    fund_from(scene, "host", "friend", 50_000 * CRAP)
    assert scene.create(params=default_params()) is Reason.APPLIED  # 34,000 on a credit
    host = scene.host
    assert host is not None
    view = table_view(scene.replica, host.pub, scene.game)
    assert view is not None and view.backed and not view.own_funded
    assert view.unavailable == (BetType.Replay,)  # 1 CRAP of Replay needs 1,001 of risk
    assert may_join(scene.replica, public_key("p"), host.pub, scene.game) == (
        "the table's create is not own-funded: its bank could be undone by a fork"
    )
    other = Scene()
    other.create(params=default_params())
    assert other.host is not None
    assert may_join(other.replica, public_key("p"), other.host.pub, other.game) is None
    shown = table_view(other.replica, other.host.pub, other.game)
    assert shown is not None and shown.own_funded
    assert (shown.cover, shown.host_bond_left) == (BANKROLL, 24_000 * CRAP)


def test_bets_whose_risk_at_min_bet_exceeds_bond_are_unavailable() -> None:
    assert unavailable_bets(default_params()) == (BetType.Replay,)
    cheap = small_params(bond=500 * CRAP)
    assert BetType.Fire in unavailable_bets(cheap) and BetType.Pass not in unavailable_bets(cheap)


def test_at_tables_counts_what_the_tables_hold_of_each_keys_money() -> None:
    """A joined player's bond is escrowed, then held by its seat; its pending bet is escrowed;
    the host's bankroll and host bond are held by its table.  Each is money its account was
    debited for, and the supply audit counts it once."""
    scene = Scene()
    params = small_params()
    scene.create(params=params, bankroll=5_000 * CRAP)
    host, p = scene.party("host").pub, scene.party("p").pub
    assert at_tables(scene.replica, host) == {
        "bets": 0,
        "bonds": 0,
        "bank": 5_000 * CRAP + params.host_bond,
    }
    scene.join("p")
    assert at_tables(scene.replica, p) == {"bets": params.bond, "bonds": 0, "bank": 0}
    scene.seat(["p"])
    assert at_tables(scene.replica, p) == {"bets": 0, "bonds": params.bond, "bank": 0}
    assert scene.bet("p", entry(BetType.Pass, 10 * CRAP)) is Reason.APPLIED
    assert at_tables(scene.replica, p) == {"bets": 10 * CRAP, "bonds": params.bond, "bank": 0}
    assert at_tables(scene.replica, public_key("nobody")) == {"bets": 0, "bonds": 0, "bank": 0}
    scene.replica.state.audit()
