"""A table scene for the table suites: a host and players signing real packets into a replica
with the table engine, the supply audited after every judged packet.

:class:`Scene` keeps each party's ledger chain (:class:`tests.ledger_factory.Chain`) and dice
chain (:class:`WalletChain`), builds bodies the way an honest host and wallet would (reveals
for the listed seats, the listed set from the replica's table state) and lets a test change
any field to play a cheat.  Deterministic; the suites assert.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from node.core.craps import settle_roll
from node.core.craps.dice import Roll, WalletChain, roll_dice
from node.core.craps.phase import next_point
from node.core.replica import Replica
from node.core.tables.engine import TablesEngine, tables_of
from node.core.tables.params import default_params
from node.core.tables.state import BetMoney, Escrow, ItemKey, SeatMoney, Table, TableMoney
from node.core.verdicts import Reason
from protocol.bets import BetType
from protocol.constants import CRAP, SINK_KEY
from protocol.frame import FrameCodec
from protocol.genesis import LOCAL, Genesis
from protocol.kinds import (
    Ack,
    Bank,
    Bet,
    BetEntry,
    Cancel,
    Create,
    Decline,
    GameEnd,
    Included,
    Join,
    JoinCopy,
    Leave,
    Released,
    Reveal,
    RevealCopy,
    RollOpen,
    Seat,
    TableParams,
    Transfer,
    Void,
    replace,
)
from tests.ledger_factory import Chain, public_key

__all__ = [
    "STATE_MAPS",
    "Party",
    "Scene",
    "entry",
    "funded",
    "key_of",
    "preimage",
    "small_params",
    "table_state",
]

STATE_MAPS = ("named", "released", "heads", "answered", "voided", "rolls")
"""The table-state maps beside the tables themselves: written by host packets and copies only,
never by a verdict (TABLES.md §0)."""


def small_params(**changes: int) -> TableParams:
    """TABLES.md §9's defaults at 4 players (cheaper to read in a test), with ``changes``."""
    return replace(default_params(4), **changes)


def entry(code: BetType, amount: int, point: int | None = None) -> BetEntry:
    return BetEntry(code, amount, point)


def key_of(name: str) -> bytes:
    """The public key a :class:`Scene` party called ``name`` signs with."""
    return public_key(f"table/{name}")


def funded(grants: Mapping[str, int], **changes: object) -> Genesis:
    """A network off play money whose only money is the grants to the named parties (so a
    grant is a key's own budget, and a transfer is a credit its payer's fork can undo)."""
    fields: dict[str, object] = {
        "name": "tables-attacks",
        "play_money": False,
        "faucet_amount": 0,
        "min_account": 0,
        "treasury_reserve": 0,
        "house_key": None,
        "grants": tuple(sorted((key_of(name), amount) for name, amount in grants.items())),
        "bounds": LOCAL.bounds,
    }
    fields.update(changes)
    return Genesis(**fields)  # type: ignore[arg-type]


def preimage(chain: WalletChain, index: int) -> bytes:
    """``c_index`` of a wallet's chain (``c_N`` is its head; roll reveals walk down)."""
    return chain._values[index]


def table_state(replica: Replica) -> dict[str, object]:
    """A replica's table-state layer: every table and the :data:`STATE_MAPS` (money left out).
    Two replicas that judged the same host packets hold it alike, whatever the verdicts of the
    player packets were."""
    tables = tables_of(replica.state)
    out: dict[str, object] = {
        "tables": {key: table.encode() for key, table in tables.map("tables").items()}
    }
    for name in STATE_MAPS:
        out[name] = dict(tables.map(name))
    return out


@dataclass
class Party:
    """One key: its ledger chain and, once it joins or creates, its dice chain."""

    chain: Chain
    dice: WalletChain | None = None
    join_nonce: int = 0
    reveals: dict[int, int] = field(default_factory=dict)
    """k → the nonce of this party's reveal packet for roll k."""

    @property
    def pub(self) -> bytes:
        return self.chain.pub


class Scene:
    """One replica with the table engine, and the parties who sign into it.

    The scene has a current table (``host``, ``game``): the last one created, or the one
    :meth:`focus` names.  Every frame fed is kept in ``frames`` (signing order), so another
    replica can be fed the same history in another order."""

    def __init__(
        self, genesis: Genesis = LOCAL, *, audit: bool = True, engine: TablesEngine | None = None
    ) -> None:
        self.genesis = genesis
        self.engine = engine or TablesEngine()
        self.replica = Replica(genesis, engine=self.engine, audit=audit)
        self.parties: dict[str, Party] = {}
        self.game = b""
        self.host: Party | None = None
        self.frames: list[bytes] = []

    # ------------------------------------------------------------------ parties

    def party(self, name: str) -> Party:
        found = self.parties.get(name)
        if found is None:
            found = self.parties[name] = Party(Chain(f"table/{name}", self.genesis))
        return found

    def feed(self, party: Party, frame: bytes) -> Reason:
        """Ingest one frame; return its verdict (it must be judged now)."""
        self.frames.append(frame)
        result = self.replica.receive(frame, 0.0)
        entry = self.replica.judged(party.pub, party.chain.nonce)
        assert entry is not None and entry.judgment is not None, f"not judged: {result}"
        return entry.judgment.reason

    def sign(self, party: Party, body: object) -> Reason:
        return self.feed(party, party.chain.sign(body))  # type: ignore[arg-type]

    def publish(self, frame: bytes) -> None:
        """Ingest a frame outside the parties' chains (another version of a nonce)."""
        self.frames.append(frame)
        self.replica.receive(frame, 0.0)

    def fork(self, name: str, nonce: int, body: object | None = None) -> bytes:
        """Publish a second version of ``name``'s packet ``nonce`` (by default a 1-unit
        transfer to a fresh key): a fork proof from ``nonce`` on.  Returns its frame."""
        chain = self.party(name).chain.branch(nonce - 1)
        if body is None:
            body = Transfer(key_of(f"{name}/fork-sink"), 1, ())
        frame = chain.sign(body)  # type: ignore[arg-type]
        self.publish(frame)
        return frame

    def verdict(self, name: str, nonce: int) -> Reason:
        """The verdict the replica holds for ``name``'s packet ``nonce`` now."""
        entry = self.replica.judged(self.party(name).pub, nonce)
        if entry is None:
            fork = self.replica.fork_point(self.party(name).pub)
            assert fork and nonce >= fork, f"{name}#{nonce} is not judged"
            return Reason.EQUIVOCATED
        assert entry.judgment is not None
        return entry.judgment.reason

    def nonce(self, name: str) -> int:
        """``name``'s latest nonce."""
        return self.party(name).chain.nonce

    def dice_chain(self, label: str, length: int) -> WalletChain:
        return WalletChain(hashlib.sha256(f"dice/{label}".encode()).digest(), length)

    # ------------------------------------------------------------------ player packets

    def create(
        self,
        name: str = "host",
        params: TableParams | None = None,
        bankroll: int = 10_000 * CRAP,
        bank: Bank = Bank.OWN,
    ) -> Reason:
        host = self.party(name)
        p = params or small_params()
        host.dice = self.dice_chain(f"{name}/create/{host.chain.nonce + 1}", p.chain_n)
        reason = self.sign(host, Create(p, bankroll, host.dice.head, bank))
        self.host = host
        self.game = self.engine_game(host.chain.h(host.chain.nonce))
        return reason

    def engine_game(self, h: bytes) -> bytes:
        """The G the engine gives a create whose h is ``h`` (a test engine may force one)."""
        forced: bytes | None = getattr(self.engine, "forced_game", None)
        return forced if forced is not None else h

    def focus(self, host: str, game: bytes | None = None) -> None:
        """Make ``host``'s table ``game`` (default: the scene's G) the current table."""
        self.host = self.party(host)
        if game is not None:
            self.game = game

    def join(
        self,
        name: str,
        chain_n: int = 1_024,
        *,
        t: int | None = None,
        host: Party | None = None,
        label: str | None = None,
        head: bytes | None = None,
    ) -> Reason:
        """``name`` joins the current table with a fresh dice chain (``label`` picks it;
        ``head`` signs another head than the chain's)."""
        player = self.party(name)
        host = host or self.host
        assert host is not None
        label = label or f"{name}/join/{player.chain.nonce + 1}"
        player.dice = self.dice_chain(label, chain_n)
        reason = self.sign(
            player,
            Join(
                self.game,
                host.pub,
                t or host.chain.nonce,
                head or player.dice.head,
                chain_n,
            ),
        )
        player.join_nonce = player.chain.nonce
        return reason

    def bet(self, name: str, *bets: BetEntry, t: int | None = None) -> Reason:
        player = self.party(name)
        return self.sign(player, Bet(self.game, t or self._t(), tuple(bets)))

    def leave(self, name: str, t: int | None = None) -> Reason:
        return self.sign(self.party(name), Leave(self.game, t or self._t()))

    def cancel(self, name: str, upto: int, t: int | None = None) -> Reason:
        return self.sign(self.party(name), Cancel(self.game, t or self._t(), upto))

    def transfer(self, name: str, to: str, amount: int) -> Reason:
        return self.sign(self.party(name), Transfer(self.party(to).pub, amount, ()))

    def ack(self, name: str, creditor: str, nonce: int | None = None) -> Reason:
        """``name`` acknowledges ``creditor``'s packet ``nonce`` (default: its latest)."""
        chain = self.party(creditor).chain
        ref = chain.ref(nonce or chain.nonce)
        return self.sign(self.party(name), Ack((ref,)))

    def reveal(self, name: str, k: int | None = None, preimage: bytes | None = None) -> Reason:
        """The player's reveal for the open roll (or roll k), signed from its dice chain
        (``preimage`` signs another value, leaving the chain where it was)."""
        player = self.party(name)
        table = self.table()
        k = k or table.k
        t = self.tables().map("rolls").get((table.key, k), self._t())
        assert player.dice is not None
        value = preimage or player.dice.reveal()
        reason = self.sign(player, Reveal(self.game, k, t, value))
        if preimage is None:
            player.reveals[k] = player.chain.nonce
        return reason

    def _t(self) -> int:
        assert self.host is not None
        return self.host.chain.nonce

    # ------------------------------------------------------------------ host packets

    def copy_of(self, name: str) -> JoinCopy:
        """An honest copy of ``name``'s join."""
        player = self.party(name)
        assert player.dice is not None
        n = player.join_nonce
        return JoinCopy(player.pub, n, player.chain.h(n), player.dice.head, player.dice.length)

    def seat(
        self,
        joins: Sequence[str] = (),
        *,
        leaves: Sequence[int] = (),
        declines: Sequence[tuple[str, int]] = (),
        released: Sequence[Released] = (),
        copies: Sequence[JoinCopy] | None = None,
    ) -> Reason:
        assert self.host is not None
        return self.sign(
            self.host,
            Seat(
                self.game,
                tuple(leaves),
                tuple(Decline(self.party(n).pub, nonce) for n, nonce in declines),
                tuple(copies) if copies is not None else tuple(self.copy_of(n) for n in joins),
                tuple(released),
            ),
        )

    def included(self, name: str, nonce: int | None = None, index: int = 0) -> Included:
        """An honest copy of ``name``'s bet (its latest bet packet unless ``nonce``)."""
        player = self.party(name)
        nonce = nonce or player.chain.nonce
        record = self.tables().map("records")[(player.pub, nonce)]
        bet = record.entries[index]
        seat = self.seat_of(name)
        return Included(seat, nonce, index, int(bet.code), bet.amount, bet.come_point)

    def seat_of(self, name: str) -> int:
        seat = self.table().seat_of(self.party(name).pub)
        assert seat is not None, f"{name} is not seated"
        return seat

    def name_at(self, seat: int) -> str:
        key = self.table().seats[seat].key
        return next(n for n, p in self.parties.items() if p.pub == key)

    def reveal_copies(
        self, seats: Iterable[int] | None = None, *, cite: Mapping[str, int] | None = None
    ) -> tuple[RevealCopy, ...]:
        """The open roll's reveals, copied from each listed seat's reveal packet (each listed
        player reveals first when it has not).  ``cite`` names another nonce of a player's
        to cite instead of its reveal's (a host that does not want to see a request)."""
        table = self.table()
        copies = []
        for seat in seats if seats is not None else table.listed:
            name = self.name_at(seat)
            player = self.parties[name]
            if table.k not in player.reveals:
                assert self.reveal(name) is Reason.APPLIED
            nonce = player.reveals[table.k]
            record = self.tables().map("records")[(player.pub, nonce)]
            cited = (cite or {}).get(name, nonce)
            copies.append(RevealCopy(seat, cited, record.preimage))
        return tuple(copies)

    def roll_open(
        self,
        included: Sequence[Included] = (),
        *,
        released: Sequence[Released] = (),
        joins: Sequence[str] = (),
        declines: Sequence[tuple[str, int]] = (),
        leaves: Sequence[int] = (),
        listed: Sequence[int] | None = None,
        reveals: Sequence[RevealCopy] | None = None,
        preimage: bytes | None = None,
        k: int | None = None,
        cite: Mapping[str, int] | None = None,
        copies: Sequence[JoinCopy] | None = None,
    ) -> Reason:
        """The next roll_open, as an honest host signs it unless a field is given."""
        assert self.host is not None and self.host.dice is not None
        table = self.table()
        if reveals is None:
            reveals = self.reveal_copies(cite=cite) if table.open else ()
        if copies is None:
            copies = tuple(self.copy_of(n) for n in joins)
        if listed is None:
            listed = self._listed_after(leaves, len(copies), reveals)
        revealed = preimage is None
        if preimage is None:
            preimage = self.host.dice.reveal()
        body = RollOpen(
            self.game,
            k or table.k + 1,
            preimage,
            tuple(reveals),
            tuple(leaves),
            tuple(Decline(self.party(n).pub, nonce) for n, nonce in declines),
            tuple(copies),
            tuple(released),
            tuple(included),
            tuple(listed),
        )
        reason = self.sign(self.host, body)
        if revealed and reason is not Reason.APPLIED:
            self.host.dice.revealed -= 1  # a refused roll_open moves no value
        return reason

    def _listed_after(
        self, leaves: Sequence[int], joins: int, reveals: Sequence[RevealCopy]
    ) -> list[int]:
        """The occupied seats after this packet's settle, vacates and answers, as an honest
        host predicts them from the dice it holds (no live-bet-free leaver stays; joins take
        the lowest free seats)."""
        table = self.table()
        craps = table.craps.copy()
        if table.open:
            dice = self._dice(table.k, table.host_current, {r.seat: r.preimage for r in reveals})
            settle_roll(craps, dice, table.occupied())
        live = {bet.owner for bet in craps.bets}
        seats = set(table.seats)
        for seat, occupant in table.seats.items():
            if (occupant.leaving and seat not in live) or occupant.left == 0:
                seats.discard(seat)
            if seat in leaves and seat not in live:
                seats.discard(seat)
        for _ in range(joins):
            seats.add(min(s for s in range(1, table.params.max_players) if s not in seats))
        return sorted(seats)

    def void(
        self,
        withheld: Sequence[int],
        present: Sequence[RevealCopy] | None = None,
        *,
        cite: Mapping[str, int] | None = None,
    ) -> Reason:
        assert self.host is not None
        table = self.table()
        if present is None:
            present = self.reveal_copies((s for s in table.listed if s not in withheld), cite=cite)
        return self.sign(self.host, Void(self.game, table.k, tuple(withheld), tuple(present)))

    def game_end(self, reveals: Sequence[RevealCopy] | None = None) -> Reason:
        assert self.host is not None
        table = self.table()
        if reveals is None:
            reveals = self.reveal_copies() if table.open else ()
        return self.sign(
            self.host, GameEnd(self.game, table.k if table.open else 0, tuple(reveals))
        )

    # ------------------------------------------------------------------ the dice ahead

    def chains(self) -> dict[int, WalletChain]:
        """Each occupied seat's dice chain, as its party holds it (the copied head's)."""
        found = {}
        for seat, occupant in self.table().seats.items():
            for party in self.parties.values():
                if party.pub == occupant.key and party.dice and party.dice.head == occupant.head:
                    found[seat] = party.dice
        return found

    def open_dice(self, chains: Mapping[int, WalletChain] | None = None) -> Roll:
        """The dice of the open roll: the host's revealed preimage and each listed seat's next
        reveal (``c_left`` of its chain; ``chains`` overrides a seat's chain)."""
        table = self.table()
        assert table.open
        held = {**self.chains(), **(chains or {})}
        seats = {s: preimage(held[s], table.seats[s].left) for s in table.listed}
        return self._dice(table.k, table.host_current, seats)

    def upcoming(
        self,
        n: int = 1,
        *,
        chains: Mapping[int, WalletChain] | None = None,
        joining: Mapping[int, WalletChain] | None = None,
    ) -> list[Roll]:
        """The dice of the next ``n`` rolls to be opened, if the occupied seats stay as they
        are (and the seats in ``joining`` are taken by those fresh chains) and every party
        reveals in turn: a pure function of the chains (TABLES.md §3)."""
        table = self.table()
        assert self.host is not None and self.host.dice is not None
        held = {**self.chains(), **(chains or {})}
        lefts = {s: table.seats[s].left for s in table.seats}
        for seat, chain in (joining or {}).items():
            held[seat], lefts[seat] = chain, chain.length
        rolls = []
        for j in range(n):
            host = preimage(self.host.dice, table.host_left - 1 - j)
            seats = {s: preimage(held[s], lefts[s] - 1 - j) for s in sorted(lefts)}
            rolls.append(self._dice(table.k + 1 + j, host, seats))
        return rolls

    def _dice(self, k: int, host: bytes, seats: Mapping[int, bytes]) -> Roll:
        assert self.host is not None
        return roll_dice(self.genesis.network_id, self.host.pub, self.game, k, host, seats)

    def point_at_next_open(self) -> int | None:
        """The table point the next roll_open's inclusions will read (after it settles the
        open roll)."""
        table = self.table()
        point = table.craps.point
        return next_point(point, self.open_dice().total) if table.open else point

    def skip_until(self, wanted: Callable[[int | None, Roll], bool], limit: int = 300) -> None:
        """Roll idle (the honest host, every player revealing, nothing included) until the
        next roll_open would include at table point ``point`` and open a roll showing
        ``roll``, with ``wanted(point, roll)``."""
        for _ in range(limit):
            if wanted(self.point_at_next_open(), self.upcoming()[0]):
                return
            assert self.roll_open() is Reason.APPLIED
        raise AssertionError(f"no wanted roll in {limit} rolls")

    # ------------------------------------------------------------------ reading

    def tables(self):  # type: ignore[no-untyped-def]
        return tables_of(self.replica.state)

    def table(self) -> Table:
        assert self.host is not None
        table: Table = self.tables().map("tables")[(self.host.pub, self.game)]
        return table

    def funds(self) -> TableMoney:
        assert self.host is not None
        funds: TableMoney = self.tables().map("funds")[(self.host.pub, self.game)]
        return funds

    def stakes(self) -> dict[ItemKey, BetMoney]:
        """Live bets' money, by bet."""
        stakes: dict[ItemKey, BetMoney] = self.tables().map("stakes")
        return stakes

    def spendable(self, name: str) -> int:
        return self.replica.state.spendable(self.party(name).pub)

    def balance(self, name: str) -> tuple[int, int]:
        """(spendable, pending credits) of ``name``."""
        acc = self.replica.state.accounts.get(self.party(name).pub)
        return (acc.spendable, acc.pending()) if acc is not None else (0, 0)

    def worth(self, name: str) -> int:
        """What ``name``'s account holds: spendable plus credits not acknowledged yet."""
        return sum(self.balance(name))

    def sink(self) -> int:
        """What the sink holds (credits nobody acknowledges)."""
        acc = self.replica.state.accounts.get(SINK_KEY)
        return acc.pending() + acc.own if acc is not None else 0

    def escrow(self, name: str, nonce: int, index: int = 0) -> Escrow | None:
        return self.tables().escrow_of((self.party(name).pub, nonce, index))

    def held(self, name: str, nonce: int, index: int = 0) -> bool:
        """Whether ``name``'s bet entry is live holding its stake: out of escrow, in
        ``stakes``."""
        item = (self.party(name).pub, nonce, index)
        live = self.stakes().get(item)
        return self.escrow(name, nonce, index) is None and live is not None and live.stake > 0

    def own_budget(self, name: str, before: int | None = None) -> int:
        """``name``'s own budget at its packet ``before`` (default: its next one), as its
        wallet reads it from its own chain and genesis (TABLES.md §8): its grant and mint,
        minus the amounts of all its earlier debits whatever their verdicts.  (The K and host
        bond its own tables' ends return are left out: no scene here ends an own table before
        it reads this, and leaving them out only understates the budget.)"""
        party = self.party(name)
        before = before or party.chain.nonce + 1
        grants = dict(self.genesis.grants)
        budget = grants.get(party.pub, 0) + (
            self.genesis.faucet_amount if self.genesis.play_money else 0
        )
        codec = FrameCodec(self.genesis.network_id)
        tables = self.tables().map("tables")
        for nonce in range(1, before):
            body = codec.decode(party.chain.frame(nonce)).body
            if isinstance(body, Transfer):
                budget -= body.amount
            elif isinstance(body, Create):
                own = body.bank is Bank.OWN
                budget -= body.params.host_bond + (body.bankroll if own else 0)
            elif isinstance(body, Join):
                table = tables.get((body.host, body.game))
                budget -= table.params.bond if table is not None else 0
            elif isinstance(body, Bet):
                budget -= sum(e.amount for e in body.bets)
        return budget

    def bond(self, seat: int) -> SeatMoney | None:
        found: SeatMoney | None = self.tables().map("bonds").get((self.table().key, seat))
        return found
