"""The table attacks of TABLES.md §11 (T1-T33), one test each, named after the scenario.

Every scene signs real packets into a replica with the table engine that audits the supply
after each judged packet (:class:`tests.table_factory.Scene`).  Where a scenario needs a
particular roll, the test waits for it or picks a player's chain: the dice are a pure function
of the chains (TABLES.md §3), so :meth:`Scene.upcoming` knows them before the host does.  Where
a scenario needs other delivery orders or a late fork, a second replica is fed the same frames.

Readings of TABLES.md the text leaves open are marked "Reading:" at the test that relies on one.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from random import Random

from node.core.craps import (
    BetRequest,
    Limits,
    Outcome,
    Release,
    TableState,
    place,
    settle_roll,
)
from node.core.craps.dice import Roll, WalletChain, chain_next, create_role, join_role
from node.core.craps.phase import next_point
from node.core.ledger import Judgment, LedgerState
from node.core.replica import Replica
from node.core.tables.engine import TablesEngine, tables_of
from node.core.tables.params import MAX_ENTRIES, WINDOW, default_params
from node.core.tables.state import BetMoney, ItemStatus, SeatMoney
from node.core.verdicts import Outcome as Ingest
from node.core.verdicts import Reason
from protocol.bets import BetType
from protocol.budget import forced_roll_open, frame_size
from protocol.constants import CRAP, MAX_FRAME, SINK_KEY, TREASURY_KEY, ZERO_PREV
from protocol.frame import Packet
from protocol.genesis import LOCAL, Genesis
from protocol.kinds import (
    Ack,
    Bank,
    Create,
    Included,
    Kind,
    Released,
    Reveal,
    RevealCopy,
    Transfer,
    replace,
)
from protocol.wire import pack
from tests.ledger_factory import Chain, signing_key
from tests.ledger_harness import deliver
from tests.table_factory import (
    Scene,
    entry,
    funded,
    key_of,
    preimage,
    small_params,
    table_state,
)

MINT = 100_000 * CRAP
BOND = 1_000 * CRAP
HOST_BOND = 12_000 * CRAP
"""small_params(): 3 × bond × 4 players."""
BANKROLL = 10_000 * CRAP
APPLIED = Reason.APPLIED

FIELD_LOSES = frozenset({5, 6, 7, 8})
FIELD_EVEN = frozenset({3, 4, 9, 10, 11})
POINTS = frozenset({4, 5, 6, 8, 9, 10})


def seated(*names: str, scene: Scene | None = None, **create: object) -> Scene:
    """A table (4 players, TABLES.md §9's amounts unless ``create`` changes them) with
    ``names`` joined and seated in one seat packet."""
    scene = scene or Scene()
    assert scene.create(**create) is APPLIED  # type: ignore[arg-type]
    for name in names:
        assert scene.join(name) is APPLIED
    assert scene.seat(names) is APPLIED
    return scene


def total_is(*totals: int) -> Callable[[int | None, Roll], bool]:
    wanted = frozenset(totals)
    return lambda _point, roll: roll.total in wanted


def item(scene: Scene, name: str, nonce: int, index: int = 0) -> tuple[bytes, int, int]:
    return (scene.party(name).pub, nonce, index)


def replay(scene: Scene, frames: Sequence[bytes] | None = None) -> Replica:
    """A second audited replica fed ``frames`` (default: the scene's, in signing order)."""
    other = Replica(scene.genesis, engine=type(scene.engine)(), audit=True)
    for frame in scene.frames if frames is None else frames:
        other.receive(frame, 0.0)
    return other


def shuffled(scene: Scene, seed: int, frames: Sequence[bytes] | None = None) -> Replica:
    """A second audited replica fed the scene's frames in a random order (seeded), each 1-3
    times, with pulls and anti-entropy (tests.ledger_harness.deliver)."""
    other = Replica(scene.genesis, engine=type(scene.engine)(), audit=True)
    replicas = [other]
    deliver(replicas, list(scene.frames if frames is None else frames), Random(seed))
    return replicas[0]


def verdict_in(replica: Replica, scene: Scene, name: str, nonce: int) -> Reason:
    entry_ = replica.judged(scene.party(name).pub, nonce)
    assert entry_ is not None and entry_.judgment is not None
    return entry_.judgment.reason


# --------------------------------------------------------------------------- money


def test_t1_lone_table_moves_money_only_among_the_hosts_keys() -> None:
    # Reading: "no money moves outside the host's keys" = no account but the host's keys, the
    # sink (and for the house the treasury) changes, and their sum is what they started with.
    scene = Scene()
    # a bystander pair whose money must stay where it is
    assert scene.transfer("alice", "bob", 5 * CRAP) is APPLIED
    assert scene.ack("bob", "alice") is APPLIED
    outside = {name: scene.worth(name) for name in ("alice", "bob")}
    # the host and its Sybils play alone: wins, losses, a void, an early end
    seated("s1", "s2", scene=scene)
    for _ in range(12):
        assert scene.bet("s1", entry(BetType.Field, 50 * CRAP)) is APPLIED
        assert scene.bet("s2", entry(BetType.Pass, 20 * CRAP)) is APPLIED  # or a duplicate
        assert scene.roll_open([scene.included("s1"), scene.included("s2")]) is APPLIED
    assert scene.void([2]) is APPLIED  # s2 withholds; s1's Field goes back to pending
    scene.skip_until(total_is(2, 3, 5, 6, 8, 9, 10, 11, 12))  # neither 4 nor 7
    assert scene.bet("s1", entry(BetType.Yes4, 10 * CRAP)) is APPLIED
    assert scene.roll_open([scene.included("s1")]) is APPLIED
    assert scene.game_end() is APPLIED  # the Yes 4 is live: an early end
    assert scene.cancel("s1", upto=scene.nonce("s1")) is APPLIED  # reclaims what is pending
    hosts = {"host", "s1", "s2"}
    keys = {scene.party(n).pub for n in hosts}
    touched = set(scene.replica.state.accounts) - {scene.party(n).pub for n in outside}
    assert touched <= keys | {SINK_KEY}
    assert {n: scene.worth(n) for n in outside} == outside
    assert sum(scene.worth(n) for n in hosts) + scene.sink() == 3 * MINT
    # s2's forfeit, and the whole host bond: the void's fee, then the rest at the early end
    assert scene.sink() == BOND + HOST_BOND
    assert tables_of(scene.replica.state).money() == 0

    # the house's lone table: the treasury's money moves among the house's keys too
    house = key_of("house")
    genesis = Genesis(
        name="house-lone",
        play_money=True,
        faucet_amount=LOCAL.faucet_amount,
        min_account=0,
        treasury_reserve=50_000 * CRAP,
        house_key=house,
        grants=(),
        bounds=LOCAL.bounds,
    )
    lone = Scene(genesis)
    assert lone.create("house", bank=Bank.TREASURY) is APPLIED
    assert lone.join("h1") is APPLIED
    assert lone.seat(["h1"]) is APPLIED
    for _ in range(10):
        assert lone.bet("h1", entry(BetType.Field, 100 * CRAP)) is APPLIED
        assert lone.roll_open([lone.included("h1")]) is APPLIED
    risk = lone.table().risk_at_open
    assert lone.void([1]) is APPLIED  # its Field returns at stake with the seat
    assert lone.game_end() is APPLIED
    assert set(lone.replica.state.accounts) <= {house, key_of("h1"), TREASURY_KEY, SINK_KEY}
    treasury = lone.replica.state.spendable(TREASURY_KEY)
    assert lone.worth("house") + lone.worth("h1") + treasury + lone.sink() == (
        2 * MINT + 50_000 * CRAP
    )
    assert lone.sink() == BOND + BOND + risk


def test_t2_listed_refused_bet_is_a_phantom_charging_only_the_held_bond() -> None:
    scene = Scene()
    assert scene.create() is APPLIED
    assert scene.transfer("p", "friend", MINT - BOND) is APPLIED  # p keeps exactly its bond
    for name in ("p", "q"):
        assert scene.join(name) is APPLIED
    assert scene.seat(["p", "q"]) is APPLIED
    assert scene.spendable("p") == 0
    p = scene.party("p").pub

    # a Field bet p cannot pay for, copied by the host into a roll Field loses
    scene.skip_until(total_is(*FIELD_LOSES))
    assert scene.bet("p", entry(BetType.Field, 100 * CRAP)) is Reason.INSUFFICIENT
    refused = scene.nonce("p")
    bank = scene.funds().bank_real
    assert scene.roll_open([scene.included("p", refused)]) is APPLIED
    # a phantom: live in state (it takes risk), holding no stake
    assert scene.table().craps.find((p, refused, 0)) is not None
    assert scene.stakes()[(p, refused, 0)] == BetMoney(0, collateral=True)
    assert scene.escrow("p", refused) is None
    assert scene.roll_open() is APPLIED  # the Field loses: the collateral is charged
    assert scene.bond(1).bond == BOND - 100 * CRAP  # type: ignore[union-attr]
    assert scene.bond(2).bond == BOND  # type: ignore[union-attr]  # nobody else's
    assert scene.funds().bank_real == bank + 100 * CRAP
    assert scene.worth("p") == 0

    # the same kind of phantom winning pays nothing and charges nothing
    scene.skip_until(total_is(*FIELD_EVEN))
    assert scene.bet("p", entry(BetType.Field, 100 * CRAP)) is Reason.INSUFFICIENT
    assert scene.roll_open([scene.included("p")]) is APPLIED
    assert scene.roll_open() is APPLIED
    assert scene.bond(1).bond == BOND - 100 * CRAP  # type: ignore[union-attr]
    assert scene.funds().bank_real == bank + 100 * CRAP
    assert scene.worth("p") == 0

    # the charge is min(stake, held bond left): a 50 CRAP bond pays 12, 12, 12, 12, then 2
    small = Scene()
    params = small_params(bond=50 * CRAP, host_bond=200 * CRAP)
    assert small.create(params=params) is APPLIED
    assert small.transfer("p", "friend", MINT - 50 * CRAP) is APPLIED
    assert small.join("p") is APPLIED
    assert small.seat(["p"]) is APPLIED
    charges = []
    for _ in range(5):
        small.skip_until(total_is(*FIELD_LOSES))
        assert small.bet("p", entry(BetType.Field, 12 * CRAP)) is Reason.INSUFFICIENT
        before = small.bond(1).bond  # type: ignore[union-attr]
        assert small.roll_open([small.included("p")]) is APPLIED
        assert small.roll_open() is APPLIED
        charges.append(before - small.bond(1).bond)  # type: ignore[union-attr]
    assert charges == [12 * CRAP] * 4 + [2 * CRAP]
    assert small.funds().bank_real == BANKROLL + 50 * CRAP
    assert small.game_end() is APPLIED
    assert small.worth("p") == 0  # nothing of the bond is left to return


def test_t3_fabricated_or_miscopied_bet_is_a_phantom_that_moves_no_money() -> None:
    scene = seated("p")
    p = scene.party("p").pub
    bets = {}
    for name, body in (
        ("field", entry(BetType.Field, 10 * CRAP)),
        ("hard4", entry(BetType.Hard4, 10 * CRAP)),
        ("next2", entry(BetType.Next2, CRAP)),
    ):
        assert scene.bet("p", body) is APPLIED
        bets[name] = scene.nonce("p")
    assert scene.bet("p", entry(BetType.Field, 10**6 * CRAP)) is Reason.INSUFFICIENT
    bets["refused"] = scene.nonce("p")
    worth, bank = scene.worth("p"), scene.funds().bank_real
    fakes = [
        Included(1, bets["field"], 0, int(BetType.Field), 100 * CRAP),  # amount mis-copied
        Included(1, bets["hard4"], 0, int(BetType.Hard6), 10 * CRAP),  # code mis-copied
        Included(1, bets["next2"], 1, int(BetType.Next3), CRAP),  # no entry 1 in that bet
        Included(1, scene.party("p").join_nonce, 0, int(BetType.Next12), CRAP),  # a join
        Included(1, bets["refused"], 0, int(BetType.Next11), CRAP),  # refused, mismatched
    ]
    scene.skip_until(total_is(7))  # every one of them loses on a 7
    assert scene.roll_open(fakes) is APPLIED
    table = scene.table()
    assert len(table.craps.bets) == len(fakes)  # all live in state
    assert not scene.stakes()  # none holds money, none is collateral
    assert scene.roll_open() is APPLIED  # they all lose
    assert scene.bond(1).bond == BOND  # type: ignore[union-attr]
    assert scene.funds().bank_real == bank
    assert scene.worth("p") == worth
    # the real bets stay escrowed, pending, not held: p reclaims them after their window
    for name in ("field", "hard4", "next2"):
        assert scene.escrow("p", bets[name]).status is ItemStatus.PENDING  # type: ignore[union-attr]

    # the same phantoms winning are paid nothing
    scene.skip_until(total_is(3))  # Field pays 1:1, Next3 pays
    assert scene.bet("p", entry(BetType.Next3, CRAP)) is APPLIED
    wins = [
        Included(1, scene.nonce("p"), 0, int(BetType.Next3), 2 * CRAP),
        Included(1, bets["next2"], 2, int(BetType.Field), 20 * CRAP),
    ]
    assert scene.roll_open(wins) is APPLIED
    assert scene.roll_open() is APPLIED
    assert scene.funds().bank_real == bank
    assert scene.worth("p") == worth - CRAP  # only the new bet's own debit
    # every real bet is still escrowed: once its window is over, a cancel reclaims them all
    last_t = tables_of(scene.replica.state).map("records")[(p, scene.nonce("p"))].table
    while scene.nonce("host") <= last_t + WINDOW:
        assert scene.roll_open() is APPLIED
    assert scene.cancel("p", upto=scene.nonce("p")) is APPLIED
    assert scene.spendable("p") == MINT - BOND


def test_t4_double_release_holds_once_and_releases_once_at_most() -> None:
    scene = seated("p", "q")
    p = scene.party("p").pub
    field = entry(BetType.Field, 10 * CRAP)

    def host_pays_p(**roll: object) -> int:
        """What the next roll_open credits p (p has nothing else at stake while it runs)."""
        before = scene.worth("p")
        assert scene.roll_open(**roll) is APPLIED  # type: ignore[arg-type]
        return scene.worth("p") - before

    # listed twice in `released`: released once
    assert scene.bet("p", field) is APPLIED
    b = scene.nonce("p")
    assert host_pays_p(released=[Released(1, b, 0), Released(1, b, 0)]) == 10 * CRAP
    # released, then included: the inclusion is ignored (named), in state and in money
    assert host_pays_p(included=[scene.included("p", b)]) == 0
    assert not scene.table().craps.bets and not scene.stakes()

    # listed twice in `included`: one live bet, held once
    assert scene.bet("p", field) is APPLIED
    a = scene.nonce("p")
    assert host_pays_p(included=[scene.included("p", a), scene.included("p", a)]) == 0
    assert [bet.id for bet in scene.table().craps.bets] == [(p, a, 0)]
    assert scene.escrow("p", a) is None  # held once: its stake left escrow for the table
    assert list(scene.stakes()) == [(p, a, 0)] and scene.stakes()[(p, a, 0)].stake == 10 * CRAP
    settled = host_pays_p(included=[scene.included("p", a)])  # settles it; included again
    assert settled in (0, 20 * CRAP, 30 * CRAP, 40 * CRAP)
    assert not scene.table().craps.bets  # the re-inclusion was ignored

    # cancelled (seen), then included by the very packet that sees the cancel: a phantom
    scene.skip_until(total_is(*FIELD_EVEN))  # the phantom Field would win
    assert scene.bet("p", field) is APPLIED
    c = scene.nonce("p")
    before = scene.worth("p")
    assert scene.cancel("p", upto=c) is APPLIED
    assert scene.worth("p") == before  # within its window: advisory, reclaims nothing
    assert host_pays_p(included=[scene.included("p", c)]) == 10 * CRAP  # seen: released
    assert scene.table().craps.find((p, c, 0)) is not None  # live in state
    assert (p, c, 0) not in scene.stakes()  # holding nothing
    assert host_pays_p() == 0  # it wins in state; nobody is paid

    # void-returned, then released: released once
    assert scene.bet("p", field) is APPLIED
    d = scene.nonce("p")
    assert host_pays_p(included=[scene.included("p", d)]) == 0
    before = scene.worth("p")
    assert scene.void([2]) is APPLIED  # q withholds; p's Field goes back to pending
    assert scene.worth("p") == before
    assert scene.escrow("p", d).status is ItemStatus.RETURNED  # type: ignore[union-attr]
    assert host_pays_p(released=[Released(1, d, 0)]) == 10 * CRAP
    assert host_pays_p(released=[Released(1, d, 0)]) == 0
    assert scene.escrow("p", d) is None

    # reclaimed, then named late: the late inclusion holds nothing, a late release pays nothing
    assert scene.bet("p", field) is APPLIED
    e = scene.nonce("p")
    e_t = scene.host.chain.nonce  # type: ignore[union-attr]
    while scene.host.chain.nonce <= e_t + WINDOW:  # type: ignore[union-attr]
        assert host_pays_p() == 0
    before = scene.worth("p")
    assert scene.cancel("p", upto=e) is APPLIED
    assert scene.worth("p") == before + 10 * CRAP
    scene.skip_until(total_is(*FIELD_EVEN))
    assert host_pays_p(included=[scene.included("p", e)]) == 0
    assert scene.table().craps.find((p, e, 0)) is not None  # live in state, holding nothing
    assert host_pays_p(released=[Released(1, e, 0)]) == 0  # it wins in state; no one is paid
    assert scene.cancel("p", upto=e) is APPLIED
    assert scene.worth("p") == before + 10 * CRAP  # nothing reclaimed twice


class CollidingGames(TablesEngine):
    """The table engine, seeing every create's h as one G.

    Two hosts' creates sharing the 8-byte G cost a birthday search (about 2^32 signatures);
    a host's own later create repeating its G costs a 64-bit fixed point (its prev chain holds
    the first G), which nobody can find.  So the collision is forced here, in the one place
    the engine reads G from; every packet is still signed and judged for real."""

    forced_game = b"\x47" * 8

    def judge(
        self, state: LedgerState, packet: Packet, h: bytes, spendable: int | None
    ) -> Judgment:
        if isinstance(packet.body, Create):
            h = self.forced_game
        return super().judge(state, packet, h, spendable)


def test_t5_colliding_game_ids_share_nothing_and_a_repeat_is_no_table() -> None:
    # The collision is forced (CollidingGames).  Reading: "publishing it late" = the repeat
    # create signed after the first table has joins, seats and bets, judged in any order.
    scene = Scene(engine=CollidingGames())
    assert scene.create("a") is APPLIED
    assert scene.create("b") is APPLIED
    g = scene.game
    a_table, b_table = (key_of("a"), g), (key_of("b"), g)
    assert set(scene.tables().map("tables")) == {a_table, b_table}
    scene.focus("a")
    assert scene.join("p") is APPLIED  # names host a
    scene.focus("b")
    assert scene.join("q") is APPLIED  # names host b
    # a copies q's join (naming b) beside p's: a phantom seat, whose bond stays at b
    scene.focus("a")
    assert scene.seat(copies=[scene.copy_of("p"), scene.copy_of("q")]) is APPLIED
    assert (scene.bond(1).bond, scene.bond(2)) == (BOND, SeatMoney(0, own=False))  # type: ignore[union-attr]
    scene.focus("b")
    assert scene.seat(["q"]) is APPLIED
    assert scene.bond(1).bond == BOND  # type: ignore[union-attr]  # held once, at b
    # q's bet binds to b and is held there
    assert scene.bet("q", entry(BetType.Field, 10 * CRAP)) is APPLIED
    q_bet = scene.nonce("q")
    assert scene.roll_open([scene.included("q")]) is APPLIED
    # p joins b too: its latest join binds its next bet to b
    assert scene.join("p") is APPLIED
    assert scene.bet("p", entry(BetType.Field, 10 * CRAP)) is APPLIED
    p_bet = scene.nonce("p")
    assert tables_of(scene.replica.state).map("bindings")[(key_of("p"), g)] == key_of("b")
    # a copies both bets at the seats it gave p and q: both phantoms at a
    scene.focus("a")
    copies = [
        Included(1, p_bet, 0, int(BetType.Field), 10 * CRAP),
        Included(2, q_bet, 0, int(BetType.Field), 10 * CRAP),
    ]
    assert scene.roll_open(copies) is APPLIED
    assert len(scene.table().craps.bets) == 2  # in a's state
    # holding nothing at a: the one live stake is q's, held at b
    assert list(scene.stakes()) == [item(scene, "q", q_bet)]
    tables = tables_of(scene.replica.state)
    escrow = tables.map("escrow")
    assert tables.map("records")[item(scene, "q", q_bet)[:2]].host == key_of("b")  # bound to b
    assert scene.held("q", q_bet)
    assert escrow[item(scene, "p", p_bet)[:2]].table == b_table
    assert tables.escrow_of(item(scene, "p", p_bet)).status is ItemStatus.PENDING  # type: ignore[union-attr]
    held = (
        sum(e.amount() for e in escrow.values())
        + sum(m.stake for m in scene.stakes().values())
        + sum(b.bond for b in tables_of(scene.replica.state).map("bonds").values())
    )
    # p's bond at a, q's at b, p's pending join at b, two stakes: each counted once
    assert held == 3 * BOND + 2 * 10 * CRAP

    # a's own repeat of G, published late: Refused(duplicate_game), no table, no escrow
    before_state, before_worth = table_state(scene.replica), scene.worth("a")
    host = scene.party("a")
    assert host.dice is not None
    repeat = Create(small_params(), BANKROLL, host.dice.head, Bank.OWN)
    assert scene.sign(host, repeat) is Reason.DUPLICATE_GAME
    assert table_state(scene.replica) == before_state
    assert scene.worth("a") == before_worth
    assert scene.table().create_nonce == 1
    # a join naming a at or above the repeat still belongs to a's first table
    assert scene.join("r") is APPLIED
    assert escrow[(key_of("r"), scene.nonce("r"))].table == a_table
    # every delivery order agrees
    other = shuffled(scene, 5)
    assert other.digest() == scene.replica.digest()
    assert other.verdicts() == scene.replica.verdicts()


def house_genesis(reserve: int = 50_000 * CRAP) -> Genesis:
    return Genesis(
        name="tables-house",
        play_money=True,
        faucet_amount=LOCAL.faucet_amount,
        min_account=0,
        treasury_reserve=reserve,
        house_key=key_of("house"),
        grants=(),
        bounds=LOCAL.bounds,
    )


def test_t6_treasury_race_has_one_verdict_and_the_sink_is_spent_by_no_one() -> None:
    scene = Scene(house_genesis())
    house = scene.party("house")
    # a donor's credit to the treasury is in flight: not under the house's watermarks
    assert scene.sign(scene.party("donor"), Transfer(TREASURY_KEY, 20_000 * CRAP, ())) is APPLIED
    donation = scene.nonce("donor")
    assert scene.create("house", bankroll=60_000 * CRAP, bank=Bank.TREASURY) is Reason.UNFUNDED
    early_create = scene.nonce("house")
    # the same create judged before the donation arrives: the same verdict
    late = Replica(scene.genesis, engine=TablesEngine(), audit=True)
    donor_frames = scene.party("donor").chain.frames
    for frame in [f for f in scene.frames if f not in donor_frames] + donor_frames:
        late.receive(frame, 0.0)
    assert late.judged(house.pub, early_create).judgment.reason is Reason.UNFUNDED  # type: ignore[union-attr]
    assert late.digest() == scene.replica.digest()
    # once the house acknowledges it, the donation is the treasury's to spend
    assert scene.ack("house", "donor", donation) is APPLIED
    assert scene.replica.state.spendable(TREASURY_KEY) == 70_000 * CRAP
    assert scene.create("house", bankroll=60_000 * CRAP, bank=Bank.TREASURY) is APPLIED
    assert scene.replica.state.spendable(TREASURY_KEY) == 10_000 * CRAP
    for seed in (1, 2):
        other = shuffled(scene, seed)
        assert other.verdicts() == scene.replica.verdicts()
        assert other.digest() == scene.replica.digest()

    # a bank-1 void pays the forfeit and the fee to the sink, which nobody spends
    assert scene.join("p") is APPLIED
    assert scene.seat(["p"]) is APPLIED
    assert scene.bet("p", entry(BetType.Pass, 50 * CRAP)) is APPLIED
    assert scene.roll_open([scene.included("p")]) is APPLIED
    house_worth = scene.worth("house")
    treasury = scene.replica.state.spendable(TREASURY_KEY)
    assert scene.void([1]) is APPLIED
    fee = BOND + 100 * CRAP  # bond × |S| + the roll's risk (Pass 50: stake + 50)
    assert scene.sink() == BOND + fee
    assert scene.funds().host_bond_money == HOST_BOND - fee
    assert scene.worth("house") == house_worth
    assert scene.replica.state.spendable(TREASURY_KEY) == treasury
    assert scene.replica.state.spendable(SINK_KEY) == 0
    spendable = scene.spendable("house")
    assert scene.transfer("house", "donor", spendable + 1) is Reason.INSUFFICIENT
    assert scene.game_end() is APPLIED
    assert scene.sink() == BOND + fee  # the end returns the rest of the host bond
    assert scene.replica.state.spendable(SINK_KEY) == 0
    # the sink signs nothing: a frame in its name is Rejected, never logged
    sink = Chain("sink-forger", scene.genesis)
    body = pack([int(Kind.TRANSFER), SINK_KEY, 1, ZERO_PREV, key_of("house"), BOND, []])
    ingested = scene.replica.receive(sink.sign_body_bytes(body), 0.0)
    assert ingested.outcome is Ingest.REJECTED
    assert scene.replica.hwm(SINK_KEY) == 0


def test_t7_no_refund_is_spendable_before_its_debit() -> None:
    # Reading: a release is a credit from a packet that names the debited item, so it can
    # never precede the debit; what must hold is that it is spendable only once acknowledged,
    # that an item never debited (Refused) is released for nothing, and that a fork which
    # takes a debit back takes its refund back too.
    scene = Scene(funded({"host": MINT, "funder": MINT}))
    assert scene.create() is APPLIED
    assert scene.transfer("funder", "p", BOND + 100 * CRAP) is APPLIED
    credit = scene.nonce("funder")
    assert scene.ack("p", "funder") is APPLIED
    assert scene.join("p") is APPLIED
    assert scene.seat(["p"]) is APPLIED
    assert scene.bet("p", entry(BetType.Field, 100 * CRAP)) is APPLIED
    bet = scene.nonce("p")
    assert scene.spendable("p") == 0
    # the host releases it: a credit from its packet, pending until p names that packet
    assert scene.roll_open(released=[Released(1, bet, 0)]) is APPLIED
    release = scene.nonce("host")
    assert scene.balance("p") == (0, 100 * CRAP)
    assert scene.transfer("p", "z", 100 * CRAP) is Reason.INSUFFICIENT
    assert scene.ack("p", "host", release) is APPLIED
    assert scene.balance("p") == (100 * CRAP, 0)
    assert scene.transfer("p", "z", 60 * CRAP) is APPLIED
    spent = scene.nonce("p")

    # a bet never debited (Refused for balance) is released for nothing
    assert scene.bet("p", entry(BetType.Field, 100 * CRAP)) is Reason.INSUFFICIENT
    refused = scene.nonce("p")
    assert scene.roll_open(released=[Released(1, refused, 0)]) is APPLIED
    assert scene.worth("p") == 40 * CRAP
    # and a join never debited is declined for nothing
    assert scene.join("q") is Reason.INSUFFICIENT
    assert scene.roll_open(declines=[("q", scene.nonce("q"))]) is APPLIED
    assert scene.worth("q") == 0
    # a reclaim is the sender's own credit, from its cancel: never before the cancel
    assert scene.bet("p", entry(BetType.Field, 40 * CRAP)) is APPLIED
    pending_bet, bet_t = scene.nonce("p"), scene.nonce("host")
    assert scene.cancel("p", upto=pending_bet) is APPLIED  # within its window: nothing
    assert scene.worth("p") == 0
    while scene.nonce("host") <= bet_t + WINDOW:
        assert scene.roll_open() is APPLIED
    assert scene.cancel("p", upto=pending_bet) is APPLIED
    assert scene.balance("p") == (40 * CRAP, 0)

    # the funder's fork takes the debits back: every refund resting on them goes with them
    scene.fork("funder", credit)
    assert scene.verdict("p", bet) is Reason.INSUFFICIENT
    assert scene.verdict("p", spent) is Reason.INSUFFICIENT
    assert scene.verdict("p", pending_bet) is Reason.INSUFFICIENT
    assert scene.worth("p") == 0
    assert scene.worth("z") == 0
    early = replay(scene, [scene.frames[-1], *scene.frames[:-1]])  # the fork known first
    assert early.digest() == scene.replica.digest()


def test_t8_unbacked_bond_flips_money_only_and_supply_holds() -> None:
    scene = Scene(funded({"host": MINT, "funder": MINT, "q": MINT}))
    assert scene.create() is APPLIED
    assert scene.transfer("funder", "p", BOND) is APPLIED
    credit = scene.nonce("funder")
    assert scene.ack("p", "funder") is APPLIED
    assert scene.join("p") is APPLIED  # p's bond rests on the funder's credit
    join = scene.nonce("p")
    assert scene.join("q") is APPLIED  # q's on its own grant
    assert scene.seat(["p", "q"]) is APPLIED
    assert scene.bond(1) == SeatMoney(BOND, own=True)
    for _ in range(16):
        assert scene.roll_open() is APPLIED
    unforked = table_state(scene.replica)
    sink = scene.sink()
    fork_frame = scene.fork("funder", credit)
    assert scene.verdict("p", join) is Reason.INSUFFICIENT
    assert scene.verdict("q", scene.party("q").join_nonce) is APPLIED
    assert table_state(scene.replica) == unforked  # seats, rolls, dice unchanged
    assert scene.bond(1) == SeatMoney(0, own=True)  # its seat holds nothing now
    assert scene.bond(2) == SeatMoney(BOND, own=True)
    # the table goes on; p withholds and is voided: its forfeit moves nothing
    risk = scene.table().risk_at_open
    assert scene.void([1]) is APPLIED
    assert scene.sink() == sink + BOND + risk  # the fee alone, no forfeit
    assert scene.roll_open() is APPLIED
    assert scene.game_end() is APPLIED
    assert scene.worth("p") == 0  # its bond's return moved nothing
    assert scene.worth("q") == MINT  # q's came back
    # the fork known first, or never: the same table state; with it, the same digest
    early = replay(scene, [fork_frame, *[f for f in scene.frames if f != fork_frame]])
    assert early.digest() == scene.replica.digest()
    never = replay(scene, [f for f in scene.frames if f != fork_frame])
    assert table_state(never) == table_state(scene.replica)
    never.state.audit()


def test_t9_unbacked_bankroll_backs_nothing_and_flips_money_only() -> None:
    # "Wallets show which tables are own-funded": there is no wallet module yet; the scene
    # reads a key's own budget from its own chain as a wallet would (Scene.own_budget).
    # Refused(unfunded) from the start: nothing enters, no void moves host money
    short = Scene()
    assert short.create(bankroll=MINT) is Reason.UNFUNDED
    assert short.join("p") is Reason.UNBACKED
    assert short.seat(["p"]) is APPLIED  # a seat, holding no bond
    assert short.bet("p", entry(BetType.Pass, 50 * CRAP)) is Reason.UNBACKED
    assert short.roll_open([short.included("p")]) is APPLIED
    assert short.void([1]) is APPLIED
    assert short.table().host_bond_left == HOST_BOND - BOND - 100 * CRAP  # state moves...
    assert short.sink() == 0  # ...money does not
    assert short.worth("p") == MINT
    assert short.worth("host") == MINT
    assert tables_of(short.replica.state).money() == 0

    # a create resting on two funders' credits: the first fork unbacks it, the second backs
    # it again (it takes back a transfer of the host's that only the first credit paid for)
    scene = Scene(funded({"host": 30_000 * CRAP, "f1": MINT, "f2": MINT, "p": MINT}))
    assert scene.transfer("f1", "host", 10_000 * CRAP) is APPLIED
    assert scene.ack("host", "f1") is APPLIED
    assert scene.transfer("host", "z", 35_000 * CRAP) is APPLIED
    assert scene.transfer("f2", "host", 25_000 * CRAP) is APPLIED
    assert scene.ack("host", "f2") is APPLIED
    params = small_params()
    bankroll = 30_000 * CRAP - params.host_bond
    assert scene.create(params=params, bankroll=bankroll) is APPLIED
    create = scene.nonce("host")
    assert scene.own_budget("host", create) < bankroll + params.host_bond  # not own-funded
    assert scene.join("p") is APPLIED
    assert scene.seat(["p"]) is APPLIED
    bets = []
    for _ in range(6):
        scene.skip_until(total_is(*FIELD_LOSES))
        assert scene.bet("p", entry(BetType.Field, 50 * CRAP)) is APPLIED
        bets.append(scene.nonce("p"))
        assert scene.roll_open([scene.included("p")]) is APPLIED
    assert scene.roll_open() is APPLIED
    backed_state = table_state(scene.replica)
    p_backed = scene.worth("p")
    assert p_backed == MINT - BOND - 6 * 50 * CRAP  # six Field bets lost to the bank
    assert scene.funds().bank_real == bankroll + 6 * 50 * CRAP
    table = scene.table()
    k_cover, bond_left = table.cover, table.host_bond_left

    def player_verdicts() -> list[Reason]:
        return [scene.verdict("p", scene.party("p").join_nonce)] + [
            scene.verdict("p", n) for n in bets
        ]

    assert set(player_verdicts()) == {APPLIED}
    scene.fork("f2", 1)
    assert scene.verdict("host", create) is Reason.UNFUNDED
    assert set(player_verdicts()) == {Reason.UNBACKED}
    assert table_state(scene.replica) == backed_state  # table, K, host bond left, dice
    assert (scene.table().cover, scene.table().host_bond_left) == (k_cover, bond_left)
    assert scene.worth("p") == MINT  # losses refunded, wins revoked
    assert not scene.funds().backed and scene.funds().total() == 0
    scene.fork("f1", 1)
    assert scene.verdict("host", create) is APPLIED
    assert set(player_verdicts()) == {APPLIED}
    assert table_state(scene.replica) == backed_state
    assert scene.worth("p") == p_backed  # every verdict back where it was
    assert scene.funds().bank_real == bankroll + 6 * 50 * CRAP
    forks = scene.frames[-2:]
    early = replay(scene, [*forks, *scene.frames[:-2]])
    assert early.digest() == scene.replica.digest()

    # an own-funded create: another key's fork never flips it
    own = Scene(funded({"own": 30_000 * CRAP, "f1": MINT}))
    assert own.transfer("f1", "own", 10_000 * CRAP) is APPLIED
    assert own.ack("own", "f1") is APPLIED
    assert own.create("own", params=params, bankroll=bankroll) is APPLIED
    assert own.own_budget("own", own.nonce("own")) >= bankroll + params.host_bond
    own.fork("f1", 1)
    assert own.verdict("own", own.nonce("own")) is APPLIED
    assert own.funds().backed


# --------------------------------------------------------------------------- dice


def test_t10_host_picking_the_listed_seats_is_refused() -> None:
    scene = seated("p", "q")
    host = scene.party("host")
    state, host_value = table_state(scene.replica), scene.table().host_current
    assert scene.roll_open(listed=[1]) is Reason.BAD_LISTED  # leaves q out
    assert scene.roll_open(listed=[1, 2, 3]) is Reason.BAD_LISTED  # adds an empty seat
    assert scene.roll_open(listed=[2]) is Reason.BAD_LISTED
    # q leaves by this very packet (no live bet): still listing it is a fault too
    assert scene.roll_open(leaves=[2], listed=[1, 2]) is Reason.BAD_LISTED
    assert table_state(scene.replica) == state
    assert scene.table().host_current == host_value  # no value moved
    assert scene.roll_open() is APPLIED  # the same preimage opens roll 1
    assert scene.table().k == 1
    # while a roll is open, too: the refusal settles nothing and moves no value
    scene.reveal("p")
    scene.reveal("q")
    state = table_state(scene.replica)
    assert scene.roll_open(listed=[1]) is Reason.BAD_LISTED
    assert table_state(scene.replica) == state
    assert scene.roll_open(leaves=[2], listed=[1]) is APPLIED
    assert scene.table().listed == (1,)
    other = shuffled(scene, 10)
    assert other.verdicts() == scene.replica.verdicts()
    assert verdict_in(other, scene, "host", host.chain.nonce) is APPLIED


def test_t11_free_void_is_refused_and_every_void_is_paid_and_counted() -> None:
    scene = seated("p", "q", "r", params=default_params(5))  # seat 4 stays empty
    host_bond = default_params(5).host_bond
    voids = tables_of(scene.replica.state).map("voids")
    assert scene.roll_open() is APPLIED  # roll 1, at zero risk
    state = table_state(scene.replica)
    assert scene.void([]) is Reason.BAD_VOID  # void(k, ∅)
    assert scene.void([4], present=scene.reveal_copies()) is Reason.BAD_VOID  # S not listed
    everyone = scene.reveal_copies()
    assert scene.void([3], present=everyone) is Reason.BAD_REVEALS  # a present reveal in S
    assert scene.void([3], present=everyone[:1]) is Reason.BAD_REVEALS  # one missing
    assert table_state(scene.replica) == state
    assert not voids and scene.sink() == 0

    # zero risk: S's bond, and bond × |S| of host bond
    assert scene.void([3]) is APPLIED
    assert scene.sink() == BOND + BOND
    assert scene.table().host_bond_left == host_bond - BOND
    assert scene.funds().host_bond_money == host_bond - BOND
    # at risk: S's bond, bond × |S| and the roll's risk
    assert scene.bet("p", entry(BetType.Pass, 100 * CRAP)) is APPLIED
    assert scene.roll_open([scene.included("p")]) is APPLIED
    assert scene.table().risk_at_open == 200 * CRAP
    assert scene.void([2]) is APPLIED
    assert scene.sink() == 2 * BOND + 2 * BOND + 200 * CRAP
    # two seats at once: two bonds, 2 × bond, and the risk of the roll
    for name in ("s", "t"):
        assert scene.join(name) is APPLIED
    assert scene.seat(["s", "t"]) is APPLIED
    assert (scene.seat_of("s"), scene.seat_of("t")) == (2, 3)
    assert scene.bet("s", entry(BetType.Field, 20 * CRAP)) is APPLIED
    assert scene.roll_open([scene.included("s")]) is APPLIED  # p's Pass is pending again
    assert scene.table().risk_at_open == 20 * CRAP + 60 * CRAP  # Field: stake + 3:1
    fee = 2 * BOND + 80 * CRAP
    sink = scene.sink()
    assert scene.void([2, 3]) is APPLIED
    assert scene.sink() == sink + 2 * BOND + fee
    assert scene.table().host_bond_left == host_bond - BOND - (BOND + 200 * CRAP) - fee
    assert voids[(0, scene.party("host").pub)] == 3
    assert {name: voids.get((1, scene.party(name).pub)) for name in "pqrst"} == {
        "p": None,
        "q": 1,
        "r": 1,
        "s": 1,
        "t": 1,
    }


def roll_until(scene: Scene, wanted: Callable[[int | None, list[Roll]], bool], n: int) -> None:
    """Roll idle until ``wanted(point at the next inclusion, the next n rolls' dice)``."""
    for _ in range(300):
        if wanted(scene.point_at_next_open(), scene.upcoming(n)):
            return
        assert scene.roll_open() is APPLIED
    raise AssertionError("no such rolls ahead")


def test_t12_last_revealer_abort_costs_its_bond_and_replays_only_the_roll() -> None:
    # Reading: "gain ≤ bond" = what the veto saves the withholder (a loss it saw coming) is
    # within the roll's risk, which the risk cap keeps ≤ bond, and it pays a whole bond.
    scene = seated("p", "q")
    p, q = scene.party("p").pub, scene.party("q").pub
    # roll k-1 sets a point; roll k would lose q's new Field but settle no line bet
    roll_until(
        scene,
        lambda point, rolls: (
            point is None
            and rolls[0].total in POINTS
            and rolls[1].total in {5, 6, 8} - {rolls[0].total}
        ),
        2,
    )
    assert scene.bet("p", entry(BetType.Pass, 10 * CRAP)) is APPLIED
    a = scene.nonce("p")
    assert scene.bet("q", entry(BetType.Pass, 20 * CRAP)) is APPLIED
    d = scene.nonce("q")
    assert scene.roll_open([scene.included("p"), scene.included("q")]) is APPLIED
    assert scene.bet("p", entry(BetType.Field, 10 * CRAP)) is APPLIED
    b = scene.nonce("p")
    assert scene.bet("q", entry(BetType.Field, 50 * CRAP)) is APPLIED
    c = scene.nonce("q")
    assert scene.roll_open([scene.included("p"), scene.included("q")]) is APPLIED
    k = scene.table().k
    assert scene.open_dice().total in FIELD_LOSES  # q has seen p's reveal: its Field loses
    assert scene.reveal("p") is APPLIED
    risk = scene.table().risk_at_open
    assert risk == (20 + 40 + 40 + 200) * CRAP <= BOND  # Pass 10, Pass 20, Field 10, Field 50
    q_worth, sink = scene.worth("q"), scene.sink()
    assert scene.void([2]) is APPLIED  # q withholds
    void_nonce = scene.nonce("host")
    # the withholder: its bond forfeited, its live and first-included bets back at stake
    assert scene.sink() == sink + BOND + BOND + risk
    assert scene.worth("q") == q_worth + 20 * CRAP + 50 * CRAP
    assert scene.escrow("q", c) is None and scene.escrow("q", d) is None
    assert 2 not in scene.table().seats
    # the others: the bet first included in k goes back to pending, still held; the earlier
    # one stays live
    live = [bet.id for bet in scene.table().craps.bets]
    assert live == [(p, a, 0)]
    returned = scene.escrow("p", b)
    assert returned is not None and returned.status is ItemStatus.RETURNED
    assert returned.window_end == void_nonce + WINDOW
    assert scene.held("p", a)
    # gain ≤ bond: the veto saved q a 50 CRAP Field loss (≤ the roll's risk ≤ bond) for a bond
    assert 50 * CRAP <= risk <= BOND
    # the roll is replaced, not replayed: k stays, the next roll is k + 1 with fresh dice
    assert scene.table().k == k and not scene.table().open
    assert scene.roll_open([scene.included("p", b)]) is APPLIED
    assert scene.table().k == k + 1
    assert scene.held("p", b)
    assert q not in {s.key for s in scene.table().seats.values()}


def test_t13_serial_aborter_is_vacated_and_needs_a_new_bonded_join_per_veto() -> None:
    scene = seated("p", "q")
    q = scene.party("q")
    assert scene.roll_open() is APPLIED
    assert scene.void([2]) is APPLIED  # q withholds
    assert 2 not in scene.table().seats  # vacated at once
    assert scene.roll_open(listed=[1, 2]) is Reason.BAD_LISTED  # nobody lists it again
    assert scene.seat(["q"]) is Reason.BAD_JOIN  # its old join was answered
    old = scene.copy_of("q")
    # a new join with the old chain: the head was accepted here before
    assert scene.join("q", head=old.head) is APPLIED
    assert scene.seat(copies=[replace(scene.copy_of("q"), head=old.head)]) is Reason.BAD_JOIN
    # a fresh bonded join seats it again; its next veto costs that new bond
    assert scene.join("q") is APPLIED
    assert scene.worth("q") == MINT - 3 * BOND  # a bond lost, two escrowed
    assert scene.seat(["q"]) is APPLIED
    assert scene.roll_open() is APPLIED
    sink = scene.sink()
    assert scene.void([2]) is APPLIED
    assert scene.sink() == sink + BOND + BOND
    voids = tables_of(scene.replica.state).map("voids")
    assert voids[(1, q.pub)] == 2
    assert voids[(0, scene.party("host").pub)] == 2


FIRE_HINT = 47
"""The first index at which :func:`fire_label` finds its chain (a search from 0 gets there in
well under a second; the hint skips it)."""


def fire_course(rolls: Sequence[Roll]) -> tuple[int, int] | None:
    """For a 1 CRAP Fire bet placed before ``rolls[0]`` on a fresh table: the 1-based rolls
    at which it makes its fifth point and at which it pays 999:1, if it does."""
    state = TableState()
    fire = BetRequest(BetType.Fire, CRAP)
    place(state, ("fire",), 1, fire, Limits(CRAP, 100 * CRAP), bond=BOND, cover=BANKROLL)
    made: set[int] = set()
    fifth = 0
    for i, roll in enumerate(rolls, start=1):
        if state.point is not None and roll.total == state.point:
            made.add(state.point)
            fifth = fifth or (i if len(made) == 5 else 0)
        settled = settle_roll(state, roll, [1]).settlements
        if settled:
            won = settled[0].outcome is Outcome.WIN and settled[0].profit == 999 * CRAP
            return (fifth, i) if won else None
    return None


def fire_table(host: str = "host") -> tuple[Scene, int, int]:
    """A default table (TABLES.md §9) where p, seated alone, has a live 1 CRAP Fire bet that
    makes five points at roll ``fifth`` and would pay 999 at roll ``sixth``: p's chain is the
    first of a fixed sequence with that course (the dice are a pure function of the chains)."""
    scene = Scene()
    assert scene.create(host, params=default_params(8)) is APPLIED
    for i in (FIRE_HINT, *range(400)):
        chain = scene.dice_chain(f"p/fire/{i}", 1_024)
        course = fire_course(scene.upcoming(150, joining={1: chain}))
        if course is not None:
            break
    else:
        raise AssertionError("no chain with a six-point Fire in the search")
    assert scene.join("p", label=f"p/fire/{i}") is APPLIED
    assert scene.seat(["p"]) is APPLIED
    assert scene.bet("p", entry(BetType.Fire, CRAP)) is APPLIED
    assert scene.roll_open([scene.included("p")]) is APPLIED
    return scene, *course


def roll_to(scene: Scene, k: int, **roll: object) -> None:
    """Open rolls (the honest host, everyone revealing) until roll k is open."""
    while scene.table().k < k:
        assert scene.roll_open(**roll) is APPLIED  # type: ignore[arg-type]


def test_t14_host_rerolls_pay_bond_and_risk_each_time() -> None:
    # "About to pay 999" taken literally: p's chain is picked so that the voided roll is the
    # one that makes the Fire's sixth point.
    scene, _fifth, sixth = fire_table()
    table_key = scene.table().key
    roll_to(scene, sixth)
    assert scene.reveal("p") is APPLIED  # p's reveal: the dice make the sixth point
    fire = scene.table().craps.bets[0]
    assert fire.type is BetType.Fire and scene.table().risk_at_open == BOND  # 1 + 999
    host_worth, bank = scene.worth("host"), scene.funds().bank_real
    assert scene.void([1], present=()) is APPLIED  # the host re-rolls
    # a 1 CRAP Fire about to pay 999 costs the host 2,000 CRAP at the defaults
    assert scene.funds().host_bond_money == default_params(8).host_bond - 2_000 * CRAP
    assert scene.sink() == 2_000 * CRAP + BOND  # the fee, and p's forfeited bond
    assert 2_000 * CRAP >= 999 * CRAP + BOND  # ≥ what it saved the bank + what S forfeits
    assert scene.funds().bank_real == bank  # the Fire returned at stake, nothing paid
    assert scene.worth("host") == host_worth
    assert scene.worth("p") == MINT - BOND  # its stake back, its bond gone
    # p's reveal, logged before the void: a late reveal, counted without blame
    tables = tables_of(scene.replica.state)
    assert tables.late() == [(table_key, sixth, scene.party("p").pub)]
    assert tables.map("voids")[(1, scene.party("p").pub)] == 1

    # any logged valid reveal of the voided roll counts, not only the first p signed
    late = seated("p", "q")
    assert late.roll_open() is APPLIED
    chain = late.party("p").dice
    assert chain is not None
    assert late.reveal("p", preimage=preimage(chain, chain.length - 2)) is APPLIED  # wrong
    assert late.void([1]) is APPLIED  # p withheld a valid reveal: voided
    assert late.reveal("p", k=1) is APPLIED  # its valid one, late
    assert tables_of(late.replica.state).late() == [(late.table().key, 1, late.party("p").pub)]

    # the host bond bounds the re-rolls: bond × listed + risk must be left to open a roll
    tight = seated("p", params=small_params(max_players=2, host_bond=2 * BOND))
    assert tight.roll_open() is APPLIED
    assert tight.void([1]) is APPLIED  # zero risk: costs bond
    assert tight.table().host_bond_left == BOND
    assert tight.join("q") is APPLIED
    assert tight.seat(["q"]) is APPLIED
    assert tight.bet("q", entry(BetType.Pass, CRAP)) is APPLIED
    assert tight.roll_open([tight.included("q")]) is Reason.HOST_BOND_SHORT  # 1,000 + 2 CRAP
    assert tight.roll_open() is APPLIED  # exactly bond × 1 + 0 left
    assert tight.void([1]) is APPLIED
    assert tight.table().host_bond_left == 0
    assert tight.join("r") is APPLIED
    assert tight.seat(["r"]) is APPLIED
    assert tight.roll_open() is Reason.HOST_BOND_SHORT
    assert tight.sink() == 4 * BOND

    # at a bank-1 table too: the house pays from its host bond, the treasury gains nothing
    house = Scene(house_genesis())
    assert house.create("house", bank=Bank.TREASURY) is APPLIED
    assert house.join("p") is APPLIED
    assert house.seat(["p"]) is APPLIED
    treasury = house.replica.state.spendable(TREASURY_KEY)
    paid = 0
    for _ in range(2):  # each time the bank would lose
        house.skip_until(total_is(*FIELD_EVEN))
        assert house.bet("p", entry(BetType.Field, 100 * CRAP)) is APPLIED
        assert house.roll_open([house.included("p")]) is APPLIED
        assert house.reveal("p") is APPLIED
        fee = BOND + house.table().risk_at_open
        assert house.void([1]) is APPLIED
        paid += fee
        assert house.join("p") is APPLIED
        assert house.seat(["p"]) is APPLIED
    assert house.funds().host_bond_money == HOST_BOND - paid == HOST_BOND - 2 * (BOND + 400 * CRAP)
    assert house.funds().bank_real == BANKROLL
    assert house.sink() == paid + 2 * BOND
    assert house.replica.state.spendable(TREASURY_KEY) == treasury
    assert len(tables_of(house.replica.state).late()) == 2


SHORT_CHAIN = 64
"""The player chain floor: a seat's stay is at most 64 rolls."""


def survives(rolls: Sequence[Roll], start: int, bet: BetType = BetType.Fire) -> bool:
    """Whether a 1 CRAP ``bet`` placed before roll ``start`` (1-based) of a fresh table is
    placeable then and still live after the last of ``rolls``."""
    state = TableState()
    for i, roll in enumerate(rolls, start=1):
        if i == start:
            placed = place(state, ("x",), 1, BetRequest(bet, CRAP), Limits(CRAP, 100 * CRAP))
            if isinstance(placed, Release):
                return False
        settle_roll(state, roll, [1])
    return bool(state.bets)


def exhausting_table() -> tuple[Scene, int]:
    """p seated alone with a 64-reveal chain, and the roll ``start`` (1-based, ≤ 49, so that
    p has 16 reveals left at its inclusion) before which a Fire bet lives through roll 64."""
    scene = Scene()
    assert scene.create() is APPLIED
    for i in range(200):
        chain = scene.dice_chain(f"p/short/{i}", SHORT_CHAIN)
        rolls = scene.upcoming(SHORT_CHAIN, joining={1: chain})
        start = next((r for r in range(49, 0, -1) if survives(rolls, r)), None)
        if start is not None:
            break
    else:
        raise AssertionError("no short chain keeps a Fire bet live to its end")
    assert scene.join("p", SHORT_CHAIN, label=f"p/short/{i}") is APPLIED
    assert scene.seat(["p"]) is APPLIED
    return scene, start


def test_t15_departed_player_stays_listed_until_its_bets_settle() -> None:
    scene = seated("p", "q")
    roll_until(  # a point is set, and the next roll leaves the Pass live
        scene,
        lambda point, rolls: (
            point is None and rolls[0].total in POINTS and rolls[1].total not in (7, rolls[0].total)
        ),
        2,
    )
    assert scene.bet("p", entry(BetType.Pass, 10 * CRAP)) is APPLIED
    pass_bet = scene.party("p").pub, scene.nonce("p"), 0
    assert scene.roll_open([scene.included("p")]) is APPLIED
    assert scene.leave("p") is APPLIED
    assert scene.roll_open(leaves=[1]) is APPLIED  # the point is set: the Pass is live
    assert scene.table().seats[1].leaving and scene.table().listed == (1, 2)
    assert scene.roll_open(listed=[2]) is Reason.BAD_LISTED  # a leaver stays listed
    # a leaving seat takes no new bet: released (seated), its stake back
    assert scene.bet("p", entry(BetType.Field, 10 * CRAP)) is APPLIED
    field = scene.nonce("p")
    assert scene.roll_open([scene.included("p")]) is APPLIED
    assert (
        tables_of(scene.replica.state).map("released")[
            (scene.table().key, scene.party("p").pub, field, 0)
        ]
        == "seated"
    )
    while scene.table().craps.find(pass_bet) is not None:
        assert 1 in scene.table().listed
        assert scene.roll_open() is APPLIED
    # the packet that settled the Pass vacated the seat, bond back
    assert 1 not in scene.table().seats and scene.table().listed == (2,)
    assert scene.worth("p") in (MINT + 10 * CRAP, MINT - 10 * CRAP)

    # an exhausted seat's live bets return at stake, and its bond with them
    short, start = exhausting_table()
    roll_to(short, start - 1)
    assert short.bet("p", entry(BetType.Fire, CRAP)) is APPLIED
    fire = short.party("p").pub, short.nonce("p"), 0
    assert short.roll_open([short.included("p")]) is APPLIED
    assert short.table().craps.find(fire) is not None
    roll_to(short, SHORT_CHAIN)
    assert short.table().seats[1].left == 0
    worth = short.worth("p")
    assert short.roll_open() is APPLIED  # settles roll 64, then vacates the seat
    assert 1 not in short.table().seats and not short.table().craps.bets
    assert short.worth("p") == worth + CRAP + BOND
    assert short.escrow("p", fire[1]) is None


def test_t16_a_reused_chain_head_is_a_host_fault_and_seeds_are_per_seat() -> None:
    scene = seated("p")
    first = scene.copy_of("p")
    assert scene.seat(leaves=[1]) is APPLIED  # p leaves (no live bet): vacated
    # p comes back with its old chain, q with p's published head: neither can be accepted
    assert scene.join("p", head=first.head) is APPLIED
    assert scene.seat(copies=[replace(scene.copy_of("p"), head=first.head)]) is Reason.BAD_JOIN
    assert scene.join("q", head=first.head) is APPLIED
    assert scene.seat(copies=[replace(scene.copy_of("q"), head=first.head)]) is Reason.BAD_JOIN
    assert scene.roll_open(copies=[replace(scene.copy_of("q"), head=first.head)]) is (
        Reason.BAD_JOIN
    )
    assert not scene.table().seats
    # a fresh chain is accepted; the old head stays refused at this table for good
    assert scene.join("p") is APPLIED
    assert scene.seat(["p"]) is APPLIED
    # heads are per table: another table of the same host may accept it
    first_game = scene.game
    assert scene.create() is APPLIED
    assert scene.join("q", head=first.head) is APPLIED
    assert scene.seat(copies=[replace(scene.copy_of("q"), head=first.head)]) is APPLIED
    second_game = scene.game
    scene.focus("host", first_game)
    assert scene.seat_of("p") == 1

    # seeds are local, per seat and per network (TABLES.md §3)
    secret = signing_key("table/p").encode()
    host, game = scene.party("host").pub, second_game

    def head(network: bytes, role: bytes) -> bytes:
        return WalletChain.for_role(secret, network, role, SHORT_CHAIN).head

    heads = {
        head(LOCAL.network_id, join_role(host, game, 3)),
        head(LOCAL.network_id, join_role(host, game, 4)),  # another join of p's
        head(LOCAL.network_id, join_role(host, first_game, 3)),  # another table
        head(LOCAL.network_id, join_role(key_of("other"), game, 3)),  # another host
        head(house_genesis().network_id, join_role(host, game, 3)),  # another network
        head(LOCAL.network_id, create_role(3)),  # a create's
        WalletChain.for_role(
            signing_key("table/q").encode(), LOCAL.network_id, join_role(host, game, 3), 64
        ).head,  # another key's
    }
    assert len(heads) == 7


def test_t17_grinding_fails_a_reveal_must_hash_to_the_current_value() -> None:
    scene = seated("p")
    chain = scene.party("p").dice
    assert chain is not None
    n = chain.length
    assert scene.roll_open() is APPLIED
    head = scene.table().seats[1].current
    assert head == preimage(chain, n)
    # p's own reveal packets move nothing, valid or not
    assert scene.reveal("p", preimage=bytes(32)) is APPLIED
    assert scene.reveal("p") is APPLIED
    assert scene.table().seats[1].current == head
    nonce = scene.nonce("p")
    state = table_state(scene.replica)
    for value in (bytes(32), head, preimage(chain, n - 2)):  # garbage, the head, one ahead
        grind = (RevealCopy(1, nonce, value),)
        assert scene.roll_open(reveals=grind) is Reason.BAD_REVEALS
        assert scene.game_end(reveals=grind) is Reason.BAD_REVEALS
    assert scene.roll_open(preimage=bytes(32)) is Reason.HOST_CHAIN  # the host's own too
    assert table_state(scene.replica) == state
    # the host's valid copy moves it; the same preimage never counts twice
    assert scene.roll_open() is APPLIED
    assert scene.table().seats[1].current == preimage(chain, n - 1)
    assert scene.reveal("p") is APPLIED
    again = (RevealCopy(1, nonce, preimage(chain, n - 1)),)
    assert scene.roll_open(reveals=again) is Reason.BAD_REVEALS
    assert scene.roll_open() is APPLIED
    assert scene.table().seats[1].current == preimage(chain, n - 2)


def test_t18_a_refused_roll_open_leaks_nothing_and_moves_no_value() -> None:
    # Reading: "expects unpublished preimages" = the next Applied roll_open is roll k again,
    # on the host preimage it already had to use, and the players' reveals for k are the ones
    # no Applied reveal published (a Refused reveal counts for nothing).
    scene = seated("p", "q")
    table = scene.table()
    host_value, values = table.host_current, {s: table.seats[s].current for s in table.seats}
    assert scene.roll_open(listed=[1]) is Reason.BAD_LISTED  # publishes the host's preimage
    refused = scene.nonce("host")
    # a reveal against it is Refused: it is no roll (an honest wallet does not sign one)
    q_chain = scene.party("q").dice
    assert q_chain is not None
    leak = Reveal(scene.game, 1, refused, preimage(q_chain, q_chain.length - 1))
    assert scene.sign(scene.party("q"), leak) is Reason.NO_ROLL
    tables = tables_of(scene.replica.state)
    assert (scene.table().key, 1) not in tables.map("rolls")
    assert not tables.map("reveals")
    table = scene.table()
    assert table.k == 0 and not table.open and table.host_current == host_value
    assert {s: table.seats[s].current for s in table.seats} == values
    # the next Applied roll_open is roll 1 again, on the same host preimage it had to use
    expected = scene.upcoming()[0]
    assert scene.roll_open() is APPLIED
    assert scene.table().k == 1
    assert scene.table().host_current == preimage(scene.party("host").dice, 1_023)  # type: ignore[arg-type]
    # p's reveal for it was never published: it is the one the dice wait for
    assert scene.reveal("p") is APPLIED
    assert scene.reveal("q") is APPLIED
    assert scene.open_dice() == expected
    assert scene.roll_open() is APPLIED
    assert scene.table().craps.point == next_point(None, expected.total)


def test_t19_sybil_erasing_history_changes_no_table_state_anywhere() -> None:
    # Reading: a leave carries no balance check, so no funder's fork can flip one; the leave
    # flipped here is the Sybil's own, refused with everything from its forked join on.
    scene = Scene(funded({"host": MINT, "funder": MINT, "p": BOND, "s": MINT}))
    assert scene.create(bankroll=150 * CRAP) is APPLIED  # K = 150: cover decides
    for name in ("p", "s"):
        assert scene.join(name) is APPLIED
    assert scene.seat(["p", "s"]) is APPLIED
    s_join = scene.party("s").join_nonce
    assert scene.transfer("funder", "p", 500 * CRAP) is APPLIED
    credit = scene.nonce("funder")
    assert scene.ack("p", "funder") is APPLIED
    # p's bets rest on the funder's credit; one takes the cover, its twin is a duplicate
    assert scene.bet("p", entry(BetType.Pass, 100 * CRAP), entry(BetType.Pass, 50 * CRAP)) is (
        APPLIED
    )
    p_bet = scene.nonce("p")
    assert scene.bet("s", entry(BetType.Field, 20 * CRAP)) is APPLIED  # exposure 60 > 50 left
    s_bet = scene.nonce("s")
    included = [scene.included("p", p_bet, 0), scene.included("p", p_bet, 1)]
    assert scene.roll_open([*included, scene.included("s", s_bet)]) is APPLIED
    released = tables_of(scene.replica.state).map("released")
    key = scene.table().key
    assert released[(key, scene.party("p").pub, p_bet, 1)] == "duplicate"
    assert released[(key, scene.party("s").pub, s_bet, 0)] == "cover"
    assert scene.leave("s") is APPLIED  # seen by the next roll_open, which keeps s seated
    for _ in range(16):
        assert scene.roll_open() is APPLIED
    history = list(scene.frames)
    clean = table_state(scene.replica)

    # the Sybil forks its join after 16 rolls; the funder forks below p's credit
    forks = [scene.fork("s", s_join), scene.fork("funder", credit)]
    assert scene.verdict("s", s_join) is Reason.EQUIVOCATED
    assert scene.verdict("p", p_bet) is Reason.INSUFFICIENT
    assert table_state(scene.replica) == clean
    early = replay(scene, [*forks, *history])
    assert table_state(early) == clean
    assert early.digest() == scene.replica.digest()
    mixed = shuffled(scene, 19)
    assert table_state(mixed) == clean
    assert mixed.digest() == scene.replica.digest()
    # money followed: s's seat holds nothing now, p's bet is a phantom
    assert scene.bond(2) == SeatMoney(0, own=False)
    assert not scene.stakes()


def test_t20_retroactive_inclusion_alices_released_bet_stays_released() -> None:
    scene = Scene(funded({"host": MINT, "funder": MINT, "alice": MINT, "s": BOND}))
    assert scene.create(bankroll=100 * CRAP) is APPLIED  # K = 100
    for name in ("s", "alice"):
        assert scene.join(name) is APPLIED
    assert scene.seat(["s", "alice"]) is APPLIED
    assert scene.transfer("funder", "s", 100 * CRAP) is APPLIED
    assert scene.ack("s", "funder") is APPLIED
    assert scene.bet("s", entry(BetType.Pass, 100 * CRAP)) is APPLIED  # on the credit
    s_bet = scene.nonce("s")
    assert scene.bet("alice", entry(BetType.Pass, 10 * CRAP)) is APPLIED
    a_bet = scene.nonce("alice")
    assert scene.roll_open([scene.included("s"), scene.included("alice")]) is APPLIED
    key = (scene.table().key, scene.party("alice").pub, a_bet, 0)
    released = tables_of(scene.replica.state).map("released")
    assert released[key] == "cover"
    assert scene.worth("alice") == MINT - BOND  # its stake back
    state = table_state(scene.replica)
    scene.fork("funder", 1)  # the Sybil's bet turns Refused
    assert scene.verdict("s", s_bet) is Reason.INSUFFICIENT
    assert released[key] == "cover"
    assert table_state(scene.replica) == state
    assert scene.worth("alice") == MINT - BOND  # released once, still
    assert scene.escrow("alice", a_bet) is None
    # and no later packet can take it back
    assert scene.roll_open([scene.included("alice", a_bet)]) is APPLIED
    assert scene.table().craps.find((scene.party("alice").pub, a_bet, 0)) is None
    early = replay(scene, [scene.frames[-2], *scene.frames[:-2], scene.frames[-1]])
    assert early.digest() == scene.replica.digest()


def test_t21_no_join_takes_a_seat_whose_party_has_live_bets() -> None:
    scene = seated("p", "q", params=small_params(max_players=3))  # player seats 1 and 2
    roll_until(
        scene,
        lambda point, rolls: (
            point is None and rolls[0].total in POINTS and rolls[1].total not in (7, rolls[0].total)
        ),
        2,
    )
    assert scene.bet("p", entry(BetType.Pass, 10 * CRAP)) is APPLIED
    pass_bet = (scene.party("p").pub, scene.nonce("p"), 0)
    assert scene.roll_open([scene.included("p")]) is APPLIED
    assert scene.roll_open(leaves=[1]) is APPLIED  # p leaves with a live Pass
    assert scene.join("r") is APPLIED
    assert scene.roll_open(joins=["r"], listed=[1, 2]) is Reason.BAD_JOIN  # no seat is free
    assert scene.table().seats[1].key == scene.party("p").pub
    while scene.table().craps.find(pass_bet) is not None:
        assert scene.roll_open() is APPLIED
    assert 1 not in scene.table().seats  # vacated by the packet that settled the Pass
    assert scene.roll_open(joins=["r"]) is APPLIED
    assert scene.seat_of("r") == 1
    # a voided seat is vacated at once, its bets returned: free for the next join
    assert scene.bet("q", entry(BetType.Pass, 10 * CRAP)) is APPLIED
    assert scene.roll_open([scene.included("q")]) is APPLIED
    assert scene.void([2]) is APPLIED
    assert scene.join("t") is APPLIED
    assert scene.seat(["t"]) is APPLIED
    assert scene.seat_of("t") == 2 and not scene.table().live_at(2)


def test_t22_host_fork_closes_the_table_below_it_and_a_cancel_returns_everything() -> None:
    scene = seated("p", "q")
    assert scene.bet("p", entry(BetType.Field, 20 * CRAP)) is APPLIED  # stays pending
    pending = scene.nonce("p")
    assert scene.bet("p", entry(BetType.Pass, 10 * CRAP)) is APPLIED
    live = scene.nonce("p")
    assert scene.roll_open([scene.included("p", live)]) is APPLIED  # the last packet below
    below = table_state(scene.replica)
    funds = scene.funds().encode()
    assert scene.roll_open() is APPLIED
    fork_nonce = scene.nonce("host")
    fork = scene.fork("host", fork_nonce)
    assert scene.verdict("host", fork_nonce) is Reason.EQUIVOCATED
    assert table_state(scene.replica) == below  # closed at its state below the fork
    assert scene.funds().encode() == funds  # bank and host bond frozen where they were
    assert scene.table().craps.find((scene.party("p").pub, live, 0)) is not None
    # a cancel with T below the fork reclaims only what rule 1 would
    worth = scene.worth("p")
    assert scene.cancel("p", upto=live, t=fork_nonce - 1) is APPLIED
    assert scene.worth("p") == worth
    # at or above it: the pending bet, the live stake and the held bond
    assert scene.escrow("p", pending).status is ItemStatus.PENDING  # type: ignore[union-attr]
    assert scene.held("p", live)
    assert scene.cancel("p", upto=live, t=fork_nonce) is APPLIED
    assert scene.worth("p") == worth + 20 * CRAP + 10 * CRAP + BOND == MINT
    assert scene.escrow("p", pending) is None and not scene.stakes()  # nothing left held
    assert scene.cancel("p", upto=live, t=fork_nonce) is APPLIED  # each item at most once
    assert scene.worth("p") == MINT
    # other requests at or above the fork are Refused(closed)
    assert scene.bet("q", entry(BetType.Field, CRAP), t=fork_nonce) is Reason.CLOSED
    assert scene.leave("q", t=fork_nonce) is Reason.CLOSED
    assert scene.cancel("q", upto=1, t=fork_nonce) is APPLIED  # its bond
    assert scene.worth("q") == MINT
    assert scene.funds().encode() == funds
    early = replay(scene, [fork, *[f for f in scene.frames if f != fork]])
    assert early.digest() == scene.replica.digest()

    # a fork of the create: no table, and the joins naming it get their bonds back
    other = Scene()
    assert other.create() is APPLIED
    assert other.join("p") is APPLIED
    fork = other.fork("host", 1)
    assert not other.tables().map("tables")
    assert other.verdict("p", 1) is Reason.NO_GAME
    assert other.worth("p") == MINT
    early = replay(other, [fork, *[f for f in other.frames if f != fork]])
    assert early.digest() == other.replica.digest()


# --------------------------------------------------------------------------- requests


def test_t23_hostage_seat_exits_by_its_chain_or_walks_away_from_a_seen_leave() -> None:
    # "Its copies cite older nonces": a reveal copy's nonce only names a dependency (the
    # preimage is in the copy), so the host cites p's join for every reveal.
    # the host never sees p's leave (it cites p's join for every reveal): p's chain ends its
    # stay, its live Fire returns at stake, its bond returns
    scene, start = exhausting_table()
    join = scene.party("p").join_nonce
    cite = {"p": join}
    roll_to(scene, start - 1, cite=cite)
    assert scene.bet("p", entry(BetType.Fire, CRAP)) is APPLIED
    fire = scene.nonce("p")
    assert scene.leave("p") is APPLIED  # after the bet: including the bet does not see it
    assert scene.roll_open([scene.included("p", fire)], cite=cite) is APPLIED
    roll_to(scene, SHORT_CHAIN, cite=cite)
    assert scene.bond(1) == SeatMoney(BOND, own=True)  # never freed: never seen
    assert scene.table().seats[1].left == 0 and not scene.table().seats[1].leaving
    assert scene.roll_open(cite=cite) is APPLIED  # step 2 vacates it
    assert 1 not in scene.table().seats
    assert scene.worth("p") == MINT  # the Fire at stake and the bond: all of it back
    assert scene.table().k == SHORT_CHAIN + 1  # ≤ chain_N rolls with p listed

    # ... or at game_end
    ended = seated("p")
    assert ended.leave("p") is APPLIED
    assert ended.roll_open() is APPLIED
    assert ended.game_end(reveals=ended.reveal_copies(cite={"p": 2})) is APPLIED
    assert ended.worth("p") == MINT

    # a packet that saw the leave and did not act on it: p withholds, its bond returns, the
    # host pays the fee
    seen = seated("p", "q")
    assert seen.roll_open() is APPLIED
    assert seen.leave("p") is APPLIED
    assert seen.roll_open() is APPLIED  # copies p's later reveal: sees the leave, keeps p
    assert seen.bond(1) == SeatMoney(BOND, own=True, freed=True)
    assert seen.bond(2) == SeatMoney(BOND, own=True)
    assert seen.void([1]) is APPLIED
    assert seen.worth("p") == MINT
    assert seen.sink() == BOND  # the fee (zero risk); no forfeit
    # had the host listed it in leaves, nothing would be freed: q's withholding forfeits
    assert seen.roll_open() is APPLIED
    assert seen.void([2]) is APPLIED
    assert seen.worth("q") == MINT - BOND
    assert seen.sink() == 3 * BOND

    # a void names p's reveal after its leave, but a void is no seeing packet (only a seat or
    # roll_open sees): the next roll_open naming p at or above the leave sees it
    hostage = seated("p", "q")
    assert hostage.roll_open() is APPLIED
    assert hostage.leave("p") is APPLIED
    assert hostage.void([2]) is APPLIED  # q withholds; present: p's reveal, after the leave
    assert hostage.bond(1) == SeatMoney(BOND, own=True)  # not seen yet
    assert hostage.roll_open() is APPLIED  # idle: names no one
    assert hostage.roll_open() is APPLIED  # copies p's reveal: the first to see the leave
    assert hostage.bond(1) == SeatMoney(BOND, own=True, freed=True)
    assert hostage.void([1]) is APPLIED
    assert hostage.worth("p") == MINT


STRANGERS = 50
"""Strangers per roll in T24; each signs five requests (1,000 over four rolls)."""


def stranger_table(flood: bool) -> Scene:
    """p and q play four rolls at an honest host's table; p acknowledges a friend's packet
    each roll.  With ``flood``, strangers (unseated keys) sign a join, a bet, a leave, a cancel
    and a reveal each before every roll, and p's acknowledgement names their packets instead."""
    scene = Scene()
    assert scene.create() is APPLIED
    for name in ("p", "q"):
        assert scene.join(name) is APPLIED
    assert scene.seat(["p", "q"]) is APPLIED
    for roll in range(4):
        assert scene.transfer("friend", "q", CRAP) is APPLIED
        refs = [scene.party("friend").chain.ref(scene.nonce("friend"))]
        if flood:
            refs = []
            for i in range(STRANGERS):
                name = f"stranger/{roll}/{i}"
                assert scene.join(name, SHORT_CHAIN) is APPLIED
                assert scene.bet(name, entry(BetType.Field, 10 * CRAP)) is APPLIED
                assert scene.leave(name) is APPLIED
                assert scene.cancel(name, upto=scene.nonce(name)) is APPLIED
                if scene.table().open:
                    assert scene.reveal(name) is APPLIED  # a reveal nobody listed
                else:
                    assert scene.bet(f"{name}/unjoined", entry(BetType.Pass, CRAP)) is (
                        Reason.NOT_JOINED
                    )
                chain = scene.party(name).chain
                refs.append(chain.ref(chain.nonce))
        assert scene.sign(scene.party("p"), Ack(tuple(refs[:16]))) is APPLIED
        assert scene.bet("p", entry(BetType.Field, 5 * CRAP)) is APPLIED
        assert scene.roll_open([scene.included("p")]) is APPLIED
    assert scene.roll_open() is APPLIED
    return scene


def test_t24_strangers_requests_change_no_host_packet() -> None:
    # Reading: "change no host packet" = the honest host, building its packets from the
    # table state, signs byte-identical packets with and without the flood, judged alike.
    quiet, flooded = stranger_table(flood=False), stranger_table(flood=True)
    requests = sum(
        party.chain.nonce for name, party in flooded.parties.items() if name.startswith("str")
    )
    assert requests >= 1_000
    # the honest host signed byte-identical packets, judged alike, over identical table state
    assert flooded.party("host").chain.frames == quiet.party("host").chain.frames
    for nonce in range(1, quiet.nonce("host") + 1):
        assert flooded.verdict("host", nonce) is quiet.verdict("host", nonce) is APPLIED
    assert table_state(flooded.replica) == table_state(quiet.replica)
    assert flooded.worth("p") == quiet.worth("p")
    # the strangers' joins are never answered: each is reclaimable after its window
    assert (
        not tables_of(flooded.replica.state).map("answered").keys()
        - tables_of(quiet.replica.state).map("answered").keys()
    )

    # a full forced roll_open at max_players fits one datagram
    for players in (8, 16):
        body = forced_roll_open(players, MAX_ENTRIES[players])
        assert len(body.listed) == len(body.reveals) == len(body.leaves) == players - 1
        assert frame_size(body) == 1_194 <= MAX_FRAME
        assert frame_size(forced_roll_open(players, MAX_ENTRIES[players] + 1)) > MAX_FRAME


def idle_until(scene: Scene, nonce: int) -> None:
    """Empty seat packets until the host's latest nonce is ``nonce`` (the table idle)."""
    while scene.nonce("host") < nonce:
        assert scene.seat() is APPLIED


def test_t25_an_ignored_item_is_reclaimed_and_a_later_inclusion_holds_nothing() -> None:
    scene = seated("p", "q", "r")
    p = scene.party("p").pub
    # a bet never named in its window T … T + 32
    t = scene.nonce("host")
    assert scene.bet("p", entry(BetType.Field, 10 * CRAP), t=t) is APPLIED
    ignored = scene.nonce("p")
    assert scene.bet("p", entry(BetType.Pass, 20 * CRAP), t=t) is APPLIED
    named_late = scene.nonce("p")
    idle_until(scene, t + WINDOW - 1)
    worth = scene.worth("p")
    assert scene.cancel("p", upto=ignored, t=t + WINDOW - 1) is APPLIED
    assert scene.worth("p") == worth  # within the window: reclaims nothing
    # at T + 32 the host may still hold one of them
    assert scene.roll_open([scene.included("p", named_late)]) is APPLIED
    assert scene.nonce("host") == t + WINDOW
    assert scene.held("p", named_late)
    assert scene.cancel("p", upto=ignored, t=t + WINDOW) is APPLIED
    assert scene.worth("p") == worth  # T = window end: not past it yet
    assert scene.void([2, 3]) is APPLIED  # q and r withhold; p's Pass goes back to pending
    void = scene.nonce("host")
    assert scene.cancel("p", upto=ignored, t=void) is APPLIED
    assert scene.worth("p") == worth + 10 * CRAP  # past its window: the ignored bet only
    assert scene.escrow("p", ignored) is None
    assert scene.escrow("p", named_late).status is ItemStatus.RETURNED  # type: ignore[union-attr]
    # a void-returned bet not re-included by the void's nonce + 32
    idle_until(scene, void + WINDOW)
    assert scene.cancel("p", upto=named_late) is APPLIED
    assert scene.worth("p") == worth + 10 * CRAP  # void + 32: still held
    assert scene.seat() is APPLIED
    assert scene.cancel("p", upto=named_late) is APPLIED
    assert scene.worth("p") == worth + 30 * CRAP
    # a later inclusion of either holds nothing
    late = [scene.included("p", ignored), scene.included("p", named_late)]
    assert scene.roll_open(late) is APPLIED
    assert {bet.id for bet in scene.table().craps.bets} == {(p, ignored, 0), (p, named_late, 0)}
    assert not scene.stakes()
    # a cancel signed within a bet's window but seen only after it releases nothing: the
    # bet is not held either, and a cancel past its window reclaims it
    assert scene.roll_open() is APPLIED
    t = scene.nonce("host")
    assert scene.bet("p", entry(BetType.Field, 5 * CRAP), t=t) is APPLIED
    unseen = scene.nonce("p")
    assert scene.cancel("p", upto=unseen, t=t) is APPLIED  # advisory: within the window
    while scene.nonce("host") <= t + WINDOW:
        assert scene.roll_open(cite={"p": unseen - 1}) is APPLIED  # names p below the cancel
    worth = scene.worth("p")
    assert scene.roll_open() is APPLIED  # names p's reveal: sees the cancel, past the window
    assert scene.worth("p") == worth
    assert scene.escrow("p", unseen).status is ItemStatus.PENDING  # type: ignore[union-attr]
    assert scene.cancel("p", upto=unseen) is APPLIED
    assert scene.worth("p") == worth + 5 * CRAP
    # a join never answered in its window: reclaimed, and a late acceptance holds no bond
    assert scene.roll_open() is APPLIED
    assert scene.void([1]) is APPLIED  # p withholds: a seat frees up (q's and r's too)
    t = scene.nonce("host")
    assert scene.join("s", t=t) is APPLIED
    idle_until(scene, t + WINDOW + 1)
    assert scene.cancel("s", upto=scene.nonce("s")) is APPLIED
    assert scene.worth("s") == MINT
    assert scene.seat(["s"]) is APPLIED
    assert scene.bond(1) == SeatMoney(0, own=True)


def test_t26_game_end_race_reclaims_what_it_did_not_name() -> None:
    scene = seated("p")
    t = scene.nonce("host")
    assert scene.bet("p", entry(BetType.Field, 10 * CRAP), t=t) is APPLIED
    unnamed = scene.nonce("p")
    assert scene.roll_open() is APPLIED  # the host ignores it
    assert scene.game_end() is APPLIED
    end = scene.nonce("host")
    assert scene.worth("p") == MINT - 10 * CRAP  # the bond back, the bet still escrowed
    assert scene.cancel("p", upto=unnamed, t=end - 1) is APPLIED  # T below the end: in window
    assert scene.worth("p") == MINT - 10 * CRAP
    assert scene.cancel("p", upto=unnamed, t=end) is APPLIED  # T at the end: rule 2
    assert scene.worth("p") == MINT
    assert scene.escrow("p", unnamed) is None
    # at or above the end: Refused(game_ended), nothing escrowed
    assert scene.bet("p", entry(BetType.Field, 10 * CRAP), t=end) is Reason.GAME_ENDED
    assert scene.transfer("host", "friend", CRAP) is APPLIED
    assert scene.bet("p", entry(BetType.Field, 10 * CRAP), t=end + 1) is Reason.GAME_ENDED
    assert scene.join("q", t=end) is Reason.GAME_ENDED
    assert scene.worth("p") == MINT
    # the race: the bet below the end judged before or after it, the same verdicts
    for seed in (26, 62):
        other = shuffled(scene, seed)
        assert verdict_in(other, scene, "p", unnamed) is APPLIED
        assert other.digest() == scene.replica.digest()


def test_t27_stalled_host_opens_no_roll_without_reveals_and_an_early_end_costs_its_bond() -> None:
    scene = Scene()
    assert scene.create(params=small_params(chain_n=256)) is APPLIED  # the host chain floor
    roll_to(scene, 250)  # nobody seated: one packet a roll
    # p sits down for the last rolls, with a chain under which a Yes 6 placed before roll 252
    # lives through roll 256 (no 6, no 7)
    for i in range(200):
        chain = scene.dice_chain(f"p/stall/{i}", SHORT_CHAIN)
        if all(r.total not in (6, 7) for r in scene.upcoming(6, joining={1: chain})[1:]):
            break
    else:
        raise AssertionError("no chain keeps a Yes 6 live to the host's last roll")
    assert scene.join("p", SHORT_CHAIN, label=f"p/stall/{i}") is APPLIED
    assert scene.seat(["p"]) is Reason.OUT_OF_TURN  # a roll is open: seat answers wait
    assert scene.roll_open(joins=["p"]) is APPLIED
    assert scene.bet("p", entry(BetType.Yes6, 10 * CRAP)) is APPLIED
    yes6 = scene.nonce("p")
    assert scene.bet("p", entry(BetType.Field, 20 * CRAP)) is APPLIED  # never included
    ignored = scene.nonce("p")
    assert scene.roll_open([scene.included("p", yes6)]) is APPLIED
    # the host stalls at its last roll but goes on signing other packets: 33 nonces after
    # their T, pending items are reclaimable; the live stake stays held
    roll_to(scene, 256)
    for _ in range(WINDOW + 1):
        assert scene.transfer("host", "friend", CRAP) is APPLIED
    worth = scene.worth("p")
    assert scene.cancel("p", upto=ignored) is APPLIED
    assert scene.worth("p") == worth + 20 * CRAP
    assert scene.escrow("p", ignored) is None
    assert scene.held("p", yes6)
    # no reveal left: no roll, not even on the chain's seed (which does hash to c_0)
    assert scene.table().host_left == 0 and scene.table().k == 256
    seed = hashlib.sha256(b"dice/host/create/1").digest()
    assert chain_next(seed) == scene.table().host_current
    assert scene.roll_open(preimage=seed) is Reason.HOST_CHAIN
    assert scene.roll_open(preimage=bytes(32)) is Reason.HOST_CHAIN
    # the end is still valid; with the Yes 6 live it is early: stakes back, host bond forfeited
    worth, sink = scene.worth("p"), scene.sink()
    assert scene.game_end() is APPLIED
    assert not scene.table().craps.bets
    assert scene.worth("p") == worth + 10 * CRAP + BOND
    assert scene.sink() == sink + HOST_BOND
    assert scene.funds().total() == 0


# --------------------------------------------------------------------------- copies


def wallet_sees_its_own_join(scene: Scene, name: str) -> bool:
    """What p's wallet checks of the seat a host gave it: the copy's h, head, chain_N, G and
    host against its own join (TABLES.md T28)."""
    party, table = scene.party(name), scene.table()
    seat = table.seats[scene.seat_of(name)]
    record = tables_of(scene.replica.state).map("records")[(party.pub, seat.join_nonce)]
    assert party.dice is not None
    return (
        seat.join_h == party.chain.h(party.join_nonce)
        and (seat.head, seat.chain_n) == (party.dice.head, party.dice.length)
        and (record.game, record.host) == (table.game, table.host)
    )


def test_t28_invented_chain_makes_a_phantom_seat_that_moves_no_money() -> None:
    scene = Scene()
    assert scene.create() is APPLIED
    assert scene.join("p") is APPLIED
    join = scene.nonce("p")
    invented = scene.dice_chain("host/invents/p", 1_024)  # the host knows all of it
    forged = replace(scene.copy_of("p"), head=invented.head)  # p's real join, h and all
    assert scene.seat(copies=[forged]) is APPLIED
    assert scene.bond(1) == SeatMoney(0, own=False)  # a phantom seat: no bond held
    assert scene.escrow("p", join, 255) is not None  # p's bond is still escrowed, unheld
    assert not wallet_sees_its_own_join(scene, "p")  # p's wallet stops betting here

    def reveals() -> tuple[RevealCopy, ...]:
        """The host reveals for p's seat from the chain it invented, citing p's join."""
        left = scene.table().seats[1].left
        return (RevealCopy(1, join, preimage(invented, left)),)

    # p bet before it could look; the host includes that bet only at a roll it loses
    assert scene.bet("p", entry(BetType.Field, 50 * CRAP)) is APPLIED
    bet = scene.nonce("p")
    chains = {1: invented}
    while scene.upcoming(chains=chains)[0].total not in FIELD_LOSES:
        assert scene.roll_open(reveals=reveals() if scene.table().open else ()) is APPLIED
    bank = scene.funds().bank_real
    copies = reveals() if scene.table().open else ()
    assert scene.roll_open([scene.included("p", bet)], reveals=copies) is APPLIED
    assert scene.roll_open(reveals=reveals()) is APPLIED  # the Field loses, in state only
    assert scene.table().craps.find((scene.party("p").pub, bet, 0)) is None
    assert scene.funds().bank_real == bank
    assert scene.escrow("p", bet).status is ItemStatus.PENDING  # type: ignore[union-attr]
    # a void of the phantom seat forfeits nothing of p's
    sink = scene.sink()
    assert scene.void([1], present=()) is APPLIED
    assert scene.sink() == sink + BOND  # the host's fee only
    # p reclaims its bond and its stake once their windows are over
    bet_t = tables_of(scene.replica.state).map("records")[(scene.party("p").pub, bet)].table
    idle_until(scene, bet_t + WINDOW + 1)
    assert scene.cancel("p", upto=bet) is APPLIED
    assert scene.worth("p") == MINT


def test_t29_released_live_bet_is_ignored_and_settles_by_the_rules() -> None:
    # a Fire bet with five points made: the host would rather release it than pay 999
    scene, fifth, sixth = fire_table()
    assert sixth > fifth + 1
    p = scene.party("p").pub
    fire_id = (p, scene.party("p").chain.nonce, 0)
    roll_to(scene, fifth + 1)  # the packet that opened it settled roll `fifth`: five points
    fire = scene.table().craps.find(fire_id)
    assert fire is not None and len(fire.tracker) == 5
    worth = scene.worth("p")
    assert scene.roll_open(released=[Released(1, fire_id[1], 0)]) is APPLIED
    assert scene.table().craps.find(fire_id) is not None  # ignored: still live,
    released = tables_of(scene.replica.state).map("released")
    assert (scene.table().key, *fire_id) not in released  # and not marked released
    assert scene.held("p", fire_id[1])
    assert scene.worth("p") == worth  # nothing released
    roll_to(scene, sixth + 1)  # the sixth point: it pays 999:1
    assert scene.table().craps.find(fire_id) is None
    assert scene.worth("p") == worth + CRAP + 999 * CRAP

    # a Don't Pass on a point: released by nobody, settled by the dice
    table = seated("p")
    roll_until(
        table,
        lambda point, rolls: (
            point is None and rolls[0].total in POINTS and rolls[1].total not in (7, rolls[0].total)
        ),
        2,
    )
    assert table.bet("p", entry(BetType.DontPass, 40 * CRAP)) is APPLIED
    dont = (table.party("p").pub, table.nonce("p"), 0)
    assert table.roll_open([table.included("p")]) is APPLIED
    assert table.roll_open() is APPLIED  # the point is set
    point = table.table().craps.point
    assert point in POINTS
    worth = table.worth("p")
    assert table.roll_open(released=[Released(1, dont[1], 0)]) is APPLIED
    assert table.table().craps.find(dont) is not None and table.worth("p") == worth
    assert (table.table().key, *dont) not in tables_of(table.replica.state).map("released")
    while table.table().craps.find(dont) is not None:
        total = table.open_dice().total
        assert table.roll_open(released=[Released(1, dont[1], 0)]) is APPLIED
    assert total in (7, point)
    assert table.worth("p") == worth + (80 * CRAP if total == 7 else 0)  # 1:1, or lost


def test_t30_borrowed_join_is_a_phantom_seat_that_never_touches_the_real_bond() -> None:
    scene = Scene()
    assert scene.create() is APPLIED
    g1 = scene.game
    assert scene.join("p") is APPLIED  # p's join for G1
    join = scene.nonce("p")
    assert scene.create() is APPLIED  # the same host's G2
    g2 = scene.game
    # G2 seats a copy of p's G1 join, while it is still pending at G1
    assert scene.seat(copies=[scene.copy_of("p")]) is APPLIED
    assert scene.bond(1) == SeatMoney(0, own=False)
    assert scene.escrow("p", join, 255) is not None  # not taken by G2
    scene.focus("host", g1)
    assert scene.seat(["p"]) is APPLIED  # G1 holds it
    assert scene.bond(1) == SeatMoney(BOND, own=True)
    # G2 voids its borrowed seat, then ends: nothing of p's moves either way
    scene.focus("host", g2)
    assert scene.roll_open() is APPLIED
    sink, worth = scene.sink(), scene.worth("p")
    assert scene.void([1], present=()) is APPLIED
    assert scene.sink() == sink + BOND  # the fee; no forfeit
    assert scene.game_end() is APPLIED
    assert scene.worth("p") == worth
    scene.focus("host", g1)
    assert scene.bond(1) == SeatMoney(BOND, own=True)
    assert scene.table().seats[1].key == scene.party("p").pub
    # G1 returns it at its end
    assert scene.game_end() is APPLIED
    assert scene.worth("p") == MINT


def test_t31_odds_follow_their_come_bet_when_another_moves_to_its_number() -> None:
    scene = Scene()
    assert scene.create() is APPLIED
    # p's chain: a come-out point other than 6, two 6s, then neither a 6 nor a 7
    for i in range(2_000):
        chain = scene.dice_chain(f"p/odds/{i}", SHORT_CHAIN)
        rolls = scene.upcoming(4, joining={1: chain})
        if (
            rolls[0].total in POINTS - {6}
            and rolls[1].total == rolls[2].total == 6
            and rolls[3].total not in (6, 7)
        ):
            break
    else:
        raise AssertionError("no chain with a point, two 6s and a number")
    assert scene.join("p", SHORT_CHAIN, label=f"p/odds/{i}") is APPLIED
    assert scene.seat(["p"]) is APPLIED
    p = scene.party("p").pub
    assert scene.roll_open() is APPLIED  # roll 1 sets the point
    assert scene.bet("p", entry(BetType.Come, 10 * CRAP), entry(BetType.DontCome, 10 * CRAP)) is (
        APPLIED
    )
    first = scene.nonce("p")
    assert scene.roll_open([scene.included("p", first, 0), scene.included("p", first, 1)]) is (
        APPLIED
    )
    assert (
        scene.bet(
            "p",
            entry(BetType.OddsCome, 50 * CRAP, 6),
            entry(BetType.Come, 20 * CRAP),
            entry(BetType.OddsDontCome, 50 * CRAP, 6),
            entry(BetType.DontCome, 20 * CRAP),
        )
        is APPLIED
    )
    second = scene.nonce("p")
    # roll 2 was a 6: both A bets moved there; A' binds to them at inclusion
    assert scene.roll_open([scene.included("p", second, i) for i in range(4)]) is APPLIED
    bets = {bet.id: bet for bet in scene.table().craps.bets}
    come_a, dont_a = (p, first, 0), (p, first, 1)
    odds_a, come_b, dont_odds_a, dont_b = ((p, second, i) for i in range(4))
    assert (bets[come_a].number, bets[dont_a].number) == (6, 6)
    assert bets[odds_a].backs == come_a and bets[dont_odds_a].backs == dont_a
    assert bets[come_b].number is None and bets[dont_b].number is None  # travelling
    worth = scene.worth("p")
    assert scene.roll_open() is APPLIED  # roll 3, a 6
    # A and A' paid together (10 at 1:1, 50 at 6:5); the Don't Come pair lost together
    assert scene.worth("p") == worth + (10 + 10) * CRAP + (50 + 60) * CRAP
    assert scene.funds().bank_real == BANKROLL + (10 + 50) * CRAP - (10 + 60) * CRAP
    left = {bet.id: (bet.type, bet.number, bet.backs) for bet in scene.table().craps.bets}
    assert left == {come_b: (BetType.Come, 6, None), dont_b: (BetType.DontCome, 6, None)}
    # the B bets moved to 6 with no odds: new odds bind to them
    assert scene.bet("p", entry(BetType.OddsCome, 100 * CRAP, 6)) is APPLIED
    third = scene.nonce("p")
    assert scene.roll_open([scene.included("p")]) is APPLIED
    odds_b = scene.table().craps.find((p, third, 0))
    assert odds_b is not None and odds_b.backs == come_b


BAD_LISTS = ([1, 1, 2, 3], [2, 1, 3], [0, 1, 2, 3], [1, 2, 3, 4])
"""A duplicate, out of order, seat 0, a seat ≥ max_players (4): each beside seats 1-3."""


def test_t32_lists_out_of_order_are_a_host_fault_on_every_replica() -> None:
    scene = seated("p", "q", "r")  # seats 1-3 of 4
    state = table_state(scene.replica)
    for bad in BAD_LISTS:
        assert scene.roll_open(listed=bad) is Reason.BAD_LIST
    for leaves in ([3, 3], [3, 2], [0], [4], [0, 1], [2, 4]):
        assert scene.seat(leaves=leaves) is Reason.BAD_LIST
        assert scene.roll_open(leaves=leaves, listed=[1, 2, 3]) is Reason.BAD_LIST
    assert table_state(scene.replica) == state
    assert scene.roll_open() is APPLIED
    state = table_state(scene.replica)
    for withheld in ([2, 2], [3, 2], [0], [4], [0, 1], [1, 4]):
        present = scene.reveal_copies([s for s in (1, 2, 3) if s not in withheld])
        assert scene.void(withheld, present=present) is Reason.BAD_LIST
    assert table_state(scene.replica) == state
    # a seat ref naming seat 0 or a seat ≥ max_players anywhere breaks the same rule
    # (TABLES.md §1, Lists): in `included` and `released` too, not only ignored as empty
    assert scene.bet("p", entry(BetType.Field, CRAP)) is APPLIED
    bet = scene.nonce("p")
    for seat in (0, 4, 255):
        copy = Included(seat, bet, 0, int(BetType.Field), CRAP)
        assert scene.roll_open([copy]) is Reason.BAD_LIST
        assert scene.roll_open(released=[Released(seat, bet, 0)]) is Reason.BAD_LIST
    assert table_state(scene.replica) == state
    # the seat order of reveals and present is fixed too (a fault, whatever its reason)
    backwards = tuple(reversed(scene.reveal_copies()))
    assert scene.roll_open(reveals=backwards) is Reason.BAD_REVEALS
    assert scene.void([2], present=(backwards[0], backwards[2])) is Reason.BAD_REVEALS
    assert table_state(scene.replica) == state
    assert scene.void([2]) is APPLIED
    for seat in (0, 4):
        assert scene.seat(released=[Released(seat, bet, 0)]) is Reason.BAD_LIST
    assert scene.seat(released=[Released(1, bet, 0)]) is APPLIED
    # the same faults, and only they, on a replica fed another order
    other = shuffled(scene, 32)
    assert other.verdicts() == scene.replica.verdicts()
    assert other.digest() == scene.replica.digest()
    faults = [r for r in scene.replica.verdicts().values() if r is Reason.BAD_LIST]
    assert len(faults) == len(BAD_LISTS) + 2 * 6 + 6 + 2 * 3 + 2


def test_t33_rewind_by_dust_costs_an_honest_host_at_most_the_held_bond() -> None:
    # Reading: "loses at most that bond" = against the same history without the fork, the
    # bank's real money is lower by at most the held bond (here by nothing: every lost stake
    # the policy let in is charged to the bond as collateral).
    scene = Scene(funded({"host": MINT, "p": BOND, "dust": 10_000 * CRAP}))
    assert scene.create() is APPLIED
    assert scene.own_budget("p") >= BOND  # the bond is own-funded
    assert scene.join("p") is APPLIED
    assert scene.seat(["p"]) is APPLIED
    assert scene.transfer("dust", "p", 2_000 * CRAP) is APPLIED
    credit = scene.nonce("dust")
    assert scene.ack("p", "dust") is APPLIED
    # the honest host: a bet p's own budget does not cover is included only while the total
    # of such bets at p's seat stays within its held bond left (TABLES.md §8)
    stake = 60 * CRAP
    unfunded = lost = 0
    bets = []
    for _ in range(24):
        assert scene.bet("p", entry(BetType.Field, stake)) is APPLIED
        nonce = scene.nonce("p")
        bets.append(nonce)
        own = scene.own_budget("p", nonce) >= stake
        if own or unfunded + stake <= scene.bond(1).bond:  # type: ignore[union-attr]
            unfunded += 0 if own else stake
            lost += stake if scene.upcoming()[0].total in FIELD_LOSES else 0
            assert scene.roll_open([scene.included("p", nonce)]) is APPLIED
        else:
            assert scene.roll_open(released=[Released(1, nonce, 0)]) is APPLIED
    assert scene.roll_open() is APPLIED
    assert unfunded == 16 * stake <= BOND and 0 < lost <= unfunded
    state, bank = table_state(scene.replica), scene.funds().bank_real

    # after many rolls p forks its dust key below the credit: its bets are re-judged
    fork = scene.fork("dust", credit)
    assert {scene.verdict("p", n) for n in bets} == {Reason.INSUFFICIENT}
    assert scene.verdict("p", scene.party("p").join_nonce) is APPLIED
    assert table_state(scene.replica) == state
    # every lost stake is charged to the held bond, nothing is paid: the bank keeps it all
    assert scene.bond(1) == SeatMoney(BOND - lost, own=True)
    assert scene.funds().bank_real == BANKROLL + lost
    assert bank - scene.funds().bank_real <= BOND  # at most the bond, here nothing
    assert scene.worth("p") == 0
    assert scene.game_end() is APPLIED
    assert scene.worth("p") == BOND - lost  # what is left of its bond
    early = replay(scene, [fork, *[f for f in scene.frames if f != fork]])
    assert early.digest() == scene.replica.digest()
