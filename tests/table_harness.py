"""Generated table histories for the convergence suite: tables, seats, bets of every category,
rolls, voids, leaves, cancels, reclaims, host forks and creditor forks.

:class:`TableHistoryBuilder` signs a history action by action from a ``Random(seed)``, steering
by a reference replica (with the table engine) that ingests each frame as it is signed: hosts
answer the joins they see, copy the reveals the players signed, include the bets the records
hold — and sometimes cheat (mis-copies, phantom seats, withholding, forks).  Money comes only
from the funders' genesis grants, through transfers, so a funder's fork flips the verdicts of
every packet that rests on its credits.  The result is a :class:`tests.ledger_harness.History`
that :func:`tests.ledger_harness.deliver` plays to replicas in any order.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from random import Random

from node.core.craps.dice import WalletChain
from node.core.replica import Replica
from node.core.tables.engine import TablesEngine, tables_of
from node.core.tables.params import default_params
from node.core.tables.state import BetRecord, Table, Tables
from node.core.verdicts import Reason
from protocol.bets import COME_POINTS, BetType, needs_come_point
from protocol.constants import CRAP
from protocol.frame import FrameCodec
from protocol.genesis import LOCAL, Genesis
from protocol.kinds import (
    Ack,
    Bank,
    Bet,
    BetEntry,
    Body,
    Cancel,
    Create,
    Decline,
    ExtRef,
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
)
from tests.ledger_factory import signing_key
from tests.ledger_harness import History, Pool

__all__ = ["ENGINE", "TableHistoryBuilder", "table_genesis", "table_history"]

ENGINE = TablesEngine()

PARAMS = TableParams(
    min_bet=1 * CRAP,
    max_bet=100 * CRAP,
    bond=200 * CRAP,
    host_bond=2_400 * CRAP,
    max_players=4,
    max_entries=12,
    chain_n=256,
)
"""Small numbers so that risk and cover refuse some bets and a funder's grant seats a few."""
BANKROLL = 3_000 * CRAP
PLAYER_CHAIN = 64


def table_genesis(funders: int = 2) -> Genesis:
    """Off play money: only the funders hold grants."""
    keys = [bytes(signing_key(f"funder/{i}").verify_key) for i in range(funders)]
    grants = tuple(sorted((key, 50_000 * CRAP) for key in keys))
    return Genesis(
        name="tables-convergence",
        play_money=False,
        faucet_amount=0,
        min_account=0,
        treasury_reserve=0,
        house_key=None,
        grants=grants,
        bounds=LOCAL.bounds,
    )


@dataclass
class Signer:
    """One key's live branch and what the builder knows of it."""

    name: str
    codec: FrameCodec
    key: object = None
    pub: bytes = b""
    hashes: list[bytes] = field(default_factory=list)
    forked: bool = False
    dice: dict[bytes, WalletChain] = field(default_factory=dict)
    """Per game: the dice chain of its latest join (players) or create (hosts)."""
    joins: dict[bytes, int] = field(default_factory=dict)
    """Per game: the nonce of its latest join."""

    def __post_init__(self) -> None:
        self.key = signing_key(f"{self.name}")
        self.pub = bytes(self.key.verify_key)  # type: ignore[attr-defined]

    @property
    def nonce(self) -> int:
        return len(self.hashes)

    def prev_of(self, nonce: int) -> bytes:
        return self.hashes[nonce - 2][:8] if nonce > 1 else bytes(8)

    def sign(self, body: Body, nonce: int | None = None) -> bytes:
        n = self.nonce + 1 if nonce is None else nonce
        return self.codec.seal(self.key, n, self.prev_of(n), body)  # type: ignore[arg-type]


class TableHistoryBuilder:
    """Signs a table history; each ``act_*`` method is one action kind."""

    ACTIONS = (
        "fund",
        "fund",
        "create",
        "join",
        "join",
        "seat",
        "bet",
        "bet",
        "bet",
        "bet",
        "roll",
        "roll",
        "roll",
        "leave",
        "cancel",
        "game_end",
        "funder_fork",
        "host_fork",
        "player_fork",
        "transfer",
    )

    def __init__(self, rng: Random, *, hosts: int = 2, players: int = 4, funders: int = 2) -> None:
        self.rng = rng
        self.genesis = table_genesis(funders)
        self.codec = FrameCodec(self.genesis.network_id)
        self.funders = [Signer(f"funder/{i}", self.codec) for i in range(funders)]
        self.hosts = [Signer(f"host/{i}", self.codec) for i in range(hosts)]
        self.players = [Signer(f"player/{i}", self.codec) for i in range(players)]
        self.reference = Replica(self.genesis, engine=ENGINE)
        self.frames: list[bytes] = []
        self.pool = Pool(self.codec)
        self.signed: list[bytes] = []
        self.claims: Counter[str] = Counter()
        self.actions: list[str] = []

    # -- the loop ---------------------------------------------------------------------------

    def build(self, count: int) -> History:
        for name in ("fund_all", "create", "join", "join", "seat"):
            self.run(name)
        for _ in range(count):
            self.run(self.rng.choice(self.ACTIONS))
        return History(
            self.genesis,
            self.frames,
            [],
            self.pool,
            frozenset(),
            self.reference,
            self.signed,
            self.claims,
            self.actions,
        )

    def run(self, name: str) -> None:
        self.actions.append(name)
        getattr(self, f"act_{name}")()

    # -- helpers ----------------------------------------------------------------------------

    def emit(self, who: Signer, body: Body) -> Reason:
        frame = who.sign(body)
        who.hashes.append(self.codec.open(frame).full_hash)
        self.publish(frame)
        entry = self.reference.judged(who.pub, who.nonce)
        return entry.judgment.reason if entry is not None and entry.judgment else Reason.MALFORMED

    def publish(self, frame: bytes) -> None:
        self.frames.append(frame)
        self.pool.add(frame)
        self.signed.append(frame)
        self.reference.receive(frame, 0.0)

    def tables(self) -> Tables:
        return tables_of(self.reference.state)

    def live(self, signers: list[Signer]) -> list[Signer]:
        return [s for s in signers if not s.forked]

    def running(self) -> list[Table]:
        """Tables whose host is live and which have not ended."""
        hosts = {h.pub for h in self.live(self.hosts)}
        return [t for t in self.tables().map("tables").values() if t.host in hosts and not t.ended]

    def host_of(self, table: Table) -> Signer:
        return next(h for h in self.hosts if h.pub == table.host)

    def player_of(self, key: bytes) -> Signer | None:
        return next((p for p in self.players if p.pub == key), None)

    def ref(self, who: Signer, nonce: int) -> ExtRef:
        return ExtRef(who.pub, nonce, who.hashes[nonce - 1][:8])

    def chance(self, p: float) -> bool:
        return self.rng.random() < p

    # -- money ------------------------------------------------------------------------------

    def act_fund(self) -> None:
        """A funder pays a player or a host; the payee acknowledges it."""
        funders = self.live(self.funders)
        payees = self.live(self.players) + self.live(self.hosts)
        if not funders or not payees:
            return
        funder, payee = self.rng.choice(funders), self.rng.choice(payees)
        amount = self.rng.choice([500, 2_000, 8_000]) * CRAP
        self.emit(funder, Transfer(payee.pub, amount, ()))
        self.emit(payee, Ack((self.ref(funder, funder.nonce),)))
        self.claims["fund"] += 1

    def act_fund_all(self) -> None:
        """Every host and player gets its stake from a funder (and acknowledges it)."""
        for i, payee in enumerate([*self.hosts, *self.players]):
            funder = self.funders[i % len(self.funders)]
            amount = (20_000 if payee in self.hosts else 3_000) * CRAP
            self.emit(funder, Transfer(payee.pub, amount, ()))
            self.emit(payee, Ack((self.ref(funder, funder.nonce),)))

    def act_transfer(self) -> None:
        """Players pay each other (credits a later fork of the payer can undo)."""
        players = self.live(self.players)
        if len(players) < 2:
            return
        a, b = self.rng.sample(players, 2)
        self.emit(a, Transfer(b.pub, self.rng.choice([10, 300]) * CRAP, ()))
        self.emit(b, Ack((self.ref(a, a.nonce),)))
        self.claims["transfer"] += 1

    # -- tables -----------------------------------------------------------------------------

    def act_create(self) -> None:
        hosts = self.live(self.hosts)
        if not hosts:
            return
        host = self.rng.choice(hosts)
        params = PARAMS if self.chance(0.8) else default_params(4)
        bankroll = BANKROLL if self.chance(0.85) else 10**6 * CRAP  # short: unbacked
        dice = self.dice(host, f"create/{host.nonce + 1}", params.chain_n)
        reason = self.emit(host, Create(params, bankroll, dice.head, Bank.OWN))
        host.dice[host.hashes[-1][:8]] = dice
        self.claims["create_" + reason.name.lower()] += 1

    def dice(self, who: Signer, role: str, length: int) -> WalletChain:
        return WalletChain(hashlib.sha256(f"{who.name}/{role}".encode()).digest(), length)

    def act_join(self) -> None:
        tables, players = self.running(), self.live(self.players)
        if not tables or not players:
            return
        table, player = self.rng.choice(tables), self.rng.choice(players)
        host = self.host_of(table)
        chain_n = PLAYER_CHAIN if self.chance(0.9) else 32  # short chains are refused
        chain_n = max(chain_n, 32)
        dice = self.dice(player, f"join/{table.game.hex()}/{player.nonce + 1}", chain_n)
        reason = self.emit(player, Join(table.game, host.pub, host.nonce, dice.head, chain_n))
        player.dice[table.game] = dice
        player.joins[table.game] = player.nonce
        self.claims["join_" + reason.name.lower()] += 1

    def copy_of(self, player: Signer, game: bytes) -> JoinCopy | None:
        nonce = player.joins.get(game)
        dice = player.dice.get(game)
        if nonce is None or dice is None or dice.length < 64:
            return None
        return JoinCopy(player.pub, nonce, player.hashes[nonce - 1][:8], dice.head, dice.length)

    def pending_joins(self, table: Table) -> list[JoinCopy]:
        answered = self.tables().map("answered")
        seated = {s.key for s in table.seats.values()}
        found = []
        for player in self.live(self.players):
            copy = self.copy_of(player, table.game)
            if copy is None or player.pub in seated:
                continue
            if (table.key, player.pub, copy.nonce) in answered:
                continue
            found.append(copy)
        return found

    def cheat_copy(self, copy: JoinCopy) -> JoinCopy:
        """T28: a copy under a head the player never signed (a phantom seat)."""
        self.claims["invented_chain"] += 1
        return JoinCopy(copy.key, copy.nonce, copy.h, hashlib.sha256(copy.head).digest(), 64)

    def act_seat(self) -> None:
        idle = [t for t in self.running() if not t.open]
        if not idle:
            return
        table = self.rng.choice(idle)
        host = self.host_of(table)
        joins, declines = [], []
        for copy in self.pending_joins(table):
            if self.chance(0.2):
                declines.append(Decline(copy.key, copy.nonce))
            elif len(joins) + len(table.seats) < table.params.max_players - 1:
                joins.append(self.cheat_copy(copy) if self.chance(0.1) else copy)
        leaves = tuple(s for s in sorted(table.seats) if self.chance(0.1))
        reason = self.emit(host, Seat(table.game, leaves, tuple(declines), tuple(joins), ()))
        self.claims["seat_" + reason.name.lower()] += 1

    def random_entry(self) -> BetEntry:
        code = self.rng.choice(list(BetType))
        point = self.rng.choice(sorted(COME_POINTS)) if needs_come_point(code) else None
        amount = self.rng.choice([1, 2, 5, 10, 25, 100, 150]) * CRAP
        return BetEntry(code, amount, point)

    def act_bet(self) -> None:
        players = [p for p in self.live(self.players) if p.joins]
        if not players:
            return
        player = self.rng.choice(players)
        game = self.rng.choice(sorted(player.joins))
        table = (
            self.tables()
            .map("tables")
            .get((self.tables().map("bindings").get((player.pub, game)), game))
        )
        if table is None:
            return
        host = self.host_of(table)
        entries = tuple(self.random_entry() for _ in range(self.rng.randint(1, 3)))
        reason = self.emit(player, Bet(game, host.nonce, entries))
        self.claims["bet_" + reason.name.lower()] += 1

    def act_leave(self) -> None:
        self._request(Leave, "leave")

    def act_cancel(self) -> None:
        self._request(lambda game, t: Cancel(game, t, 2**32 - 1), "cancel")

    def _request(self, make: Callable[[bytes, int], Body], what: str) -> None:
        players = [p for p in self.live(self.players) if p.joins]
        if not players:
            return
        player = self.rng.choice(players)
        game = self.rng.choice(sorted(player.joins))
        host_key = self.tables().map("bindings").get((player.pub, game))
        host = next((h for h in self.hosts if h.pub == host_key), None)
        if host is None:
            return
        reason = self.emit(player, make(game, host.nonce))
        self.claims[f"{what}_{reason.name.lower()}"] += 1

    # -- rolls ------------------------------------------------------------------------------

    def can_reveal(self, table: Table, seat: int) -> bool:
        """Whether the seat's party holds the chain its copy names, at the seat's value."""
        occupant = table.seats[seat]
        player = self.player_of(occupant.key)
        dice = player.dice.get(table.game) if player is not None else None
        return (
            player is not None
            and not player.forked
            and dice is not None
            and dice.head == occupant.head
            and dice.current == occupant.current
            and dice.left > 0
        )

    def reveals_for(self, table: Table, seats: list[int]) -> list[RevealCopy]:
        """The players at ``seats`` (each able to, :meth:`can_reveal`) sign their reveals for
        the open roll, and the host copies them."""
        copies = []
        t = self.tables().map("rolls")[(table.key, table.k)]
        for seat in seats:
            player = self.player_of(table.seats[seat].key)
            assert player is not None
            preimage = player.dice[table.game].reveal()
            self.emit(player, Reveal(table.game, table.k, t, preimage))
            copies.append(RevealCopy(seat, player.nonce, preimage))
        return copies

    def inclusions(self, table: Table) -> tuple[list[Included], list[Released]]:
        """What an (imperfect) host includes: the players' recorded bets not named yet, some
        mis-copied (phantoms), some released."""
        tables = self.tables()
        records = tables.map("records")
        seat_of = {s.key: n for n, s in table.seats.items()}
        included: list[Included] = []
        released: list[Released] = []
        for (key, nonce), record in sorted(records.items()):
            if not isinstance(record, BetRecord) or record.game != table.game:
                continue
            seat = seat_of.get(key)
            if seat is None or record.host != table.host:
                continue
            for index, bet in enumerate(record.entries):
                if tables.is_named(table.key, (key, nonce, index)):
                    continue
                if len(included) + len(released) >= table.params.max_entries:
                    break
                roll = self.rng.random()
                if roll < 0.1:
                    released.append(Released(seat, nonce, index))
                elif roll < 0.8:
                    amount = bet.amount + (CRAP if self.chance(0.05) else 0)
                    included.append(
                        Included(seat, nonce, index, int(bet.code), amount, bet.come_point)
                    )
        return included, released

    def act_roll(self) -> None:
        tables = [t for t in self.running() if t.host_left > 0]
        if not tables:
            return
        table = self.rng.choice(tables)
        host = self.host_of(table)
        dice = host.dice[table.game]
        if table.open:
            withheld = [
                s for s in table.listed if not self.can_reveal(table, s) or self.chance(0.1)
            ]
            if withheld:
                self._void(table, host, withheld)
                return
            reveals = self.reveals_for(table, list(table.listed))
        else:
            reveals = []
        # the table after the settle and vacates, as the host predicts it
        table = self.tables().map("tables")[table.key]
        joins = []
        if self.chance(0.3):
            pending = self.pending_joins(table)
            if pending:
                joins.append(pending[0])
        included, released = self.inclusions(table)
        listed = self.predict_listed(table, joins)
        if self.chance(0.05):
            listed = listed[1:]  # T10: a host that leaves a seat out
        preimage = dice.reveal()
        body = RollOpen(
            table.game,
            table.k + 1,
            preimage,
            tuple(reveals),
            (),
            (),
            tuple(joins),
            tuple(released),
            tuple(included),
            tuple(listed),
        )
        reason = self.emit(host, body)
        if reason is not Reason.APPLIED:
            dice.revealed -= 1
        else:
            self.claims["included"] += len(included)
            self.claims["released"] += len(released)
        self.claims["roll_open_" + reason.name.lower()] += 1

    def predict_listed(self, table: Table, joins: list[JoinCopy]) -> list[int]:
        seats = set(table.seats)
        for seat, occupant in table.seats.items():
            if (occupant.leaving and not table.live_at(seat)) or occupant.left == 0:
                seats.discard(seat)
        for _ in joins:
            free = [s for s in range(1, table.params.max_players) if s not in seats]
            if free:
                seats.add(free[0])
        return sorted(seats)

    def _void(self, table: Table, host: Signer, withheld: list[int]) -> None:
        present = self.reveals_for(table, [s for s in table.listed if s not in withheld])
        reason = self.emit(host, Void(table.game, table.k, tuple(withheld), tuple(present)))
        self.claims["void_" + reason.name.lower()] += 1
        # a withholder's late reveal counts (without blame)
        for seat in withheld:
            player = self.player_of(table.seats[seat].key)
            dice = player.dice.get(table.game) if player is not None else None
            if self.can_reveal(table, seat) and self.chance(0.3):
                assert player is not None and dice is not None
                rolls = self.tables().map("rolls")
                self.emit(
                    player, Reveal(table.game, table.k, rolls[(table.key, table.k)], dice.reveal())
                )
                self.claims["late_reveal"] += 1

    def act_game_end(self) -> None:
        tables = self.running()
        if not tables or self.chance(0.7):
            return
        table = self.rng.choice(tables)
        host = self.host_of(table)
        reveals: list[RevealCopy] = []
        if table.open:
            if not all(self.can_reveal(table, s) for s in table.listed):
                return
            reveals = self.reveals_for(table, list(table.listed))
        reason = self.emit(host, GameEnd(table.game, table.k if table.open else 0, tuple(reveals)))
        self.claims["game_end_" + reason.name.lower()] += 1

    # -- forks ------------------------------------------------------------------------------

    def fork(self, who: Signer, nonce: int) -> None:
        """Publish a second version of ``who``'s ``nonce``: a small transfer to a funder."""
        taken = {f for f, _ in self.pool.versions.get((who.pub, nonce), ())}
        amount = 1
        while True:
            frame = who.sign(Transfer(self.funders[0].pub, amount, ()), nonce=nonce)
            if frame not in taken:
                break
            amount += 1
        self.publish(frame)
        who.forked = True

    def act_funder_fork(self) -> None:
        """A creditor forks below its transfers: every verdict resting on them may flip."""
        funders = [f for f in self.live(self.funders) if f.nonce >= 2]
        if len(self.live(self.funders)) < 2 or not funders:
            return
        funder = self.rng.choice(funders)
        self.fork(funder, self.rng.randint(1, funder.nonce))
        self.claims["funder_fork"] += 1

    def act_host_fork(self) -> None:
        hosts = [h for h in self.live(self.hosts) if h.nonce >= 2]
        if len(self.live(self.hosts)) < 2 or not hosts or self.chance(0.8):
            return
        host = self.rng.choice(hosts)
        self.fork(host, self.rng.randint(max(1, host.nonce - 3), host.nonce))
        self.claims["host_fork"] += 1

    def act_player_fork(self) -> None:
        players = [p for p in self.live(self.players) if p.joins]
        if len(self.live(self.players)) < 3 or not players or self.chance(0.5):
            return
        player = self.rng.choice(players)
        self.fork(player, self.rng.choice(sorted(player.joins.values())))
        self.claims["player_fork"] += 1


def table_history(seed: int, count: int = 40) -> History:
    """A table history from ``Random(seed)`` (a failure replays from the seed)."""
    return TableHistoryBuilder(Random(seed)).build(count)
