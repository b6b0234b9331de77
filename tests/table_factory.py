"""A table scene for the table suites: a host and players signing real packets into a replica
with the table engine, the supply audited after every judged packet.

:class:`Scene` keeps each party's ledger chain (:class:`tests.ledger_factory.Chain`) and dice
chain (:class:`WalletChain`), builds bodies the way an honest host and wallet would (reveals
for the listed seats, the listed set from the replica's table state) and lets a test change
any field to play a cheat.  Deterministic; the suites assert.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace

from node.core.craps.dice import WalletChain
from node.core.replica import Replica
from node.core.tables.engine import TablesEngine, tables_of
from node.core.tables.params import default_params
from node.core.tables.state import Table, TableMoney
from node.core.verdicts import Reason
from protocol.bets import BetType
from protocol.constants import CRAP
from protocol.genesis import LOCAL, Genesis
from protocol.kinds import (
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
    Void,
)
from tests.ledger_factory import Chain

__all__ = ["Party", "Scene", "entry", "small_params"]


def small_params(**changes: int) -> TableParams:
    """TABLES.md §9's defaults at 4 players (cheaper to read in a test), with ``changes``."""
    return replace(default_params(4), **changes)


def entry(code: BetType, amount: int, point: int | None = None) -> BetEntry:
    return BetEntry(code, amount, point)


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
    """One replica with the table engine, and the parties who sign into it."""

    def __init__(self, genesis: Genesis = LOCAL, *, audit: bool = True) -> None:
        self.genesis = genesis
        self.replica = Replica(genesis, engine=TablesEngine(), audit=audit)
        self.parties: dict[str, Party] = {}
        self.game = b""
        self.host: Party | None = None

    # ------------------------------------------------------------------ parties

    def party(self, name: str) -> Party:
        found = self.parties.get(name)
        if found is None:
            found = self.parties[name] = Party(Chain(f"table/{name}", self.genesis))
        return found

    def feed(self, party: Party, frame: bytes) -> Reason:
        """Ingest one frame; return its verdict (it must be judged now)."""
        result = self.replica.receive(frame, 0.0)
        entry = self.replica.judged(party.pub, party.chain.nonce)
        assert entry is not None and entry.judgment is not None, f"not judged: {result}"
        return entry.judgment.reason

    def sign(self, party: Party, body: object) -> Reason:
        return self.feed(party, party.chain.sign(body))  # type: ignore[arg-type]

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
        self.game = host.chain.h(host.chain.nonce)
        return reason

    def join(
        self, name: str, chain_n: int = 1_024, *, t: int | None = None, host: Party | None = None
    ) -> Reason:
        player = self.party(name)
        host = host or self.host
        assert host is not None
        player.dice = self.dice_chain(f"{name}/join/{player.chain.nonce + 1}", chain_n)
        reason = self.sign(
            player,
            Join(self.game, host.pub, t or host.chain.nonce, player.dice.head, chain_n),
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

    def reveal(self, name: str, k: int | None = None) -> Reason:
        """The player's reveal for the open roll (or roll k), signed from its dice chain."""
        player = self.party(name)
        table = self.table()
        k = k or table.k
        t = self.tables().map("rolls").get((table.key, k), self._t())
        assert player.dice is not None
        reason = self.sign(player, Reveal(self.game, k, t, player.dice.reveal()))
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

    def reveal_copies(self, seats: Iterable[int] | None = None) -> tuple[RevealCopy, ...]:
        """The open roll's reveals, copied from each listed seat's reveal packet (each listed
        player reveals first when it has not)."""
        table = self.table()
        copies = []
        for seat in seats if seats is not None else table.listed:
            key = table.seats[seat].key
            name = next(n for n, p in self.parties.items() if p.pub == key)
            player = self.parties[name]
            if table.k not in player.reveals:
                assert self.reveal(name) is Reason.APPLIED
            nonce = player.reveals[table.k]
            record = self.tables().map("records")[(key, nonce)]
            copies.append(RevealCopy(seat, nonce, record.preimage))
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
    ) -> Reason:
        """The next roll_open, as an honest host signs it unless a field is given."""
        assert self.host is not None and self.host.dice is not None
        table = self.table()
        if reveals is None:
            reveals = self.reveal_copies() if table.open else ()
        if listed is None:
            listed = self._listed_after(leaves, joins)
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
            tuple(self.copy_of(n) for n in joins),
            tuple(released),
            tuple(included),
            tuple(listed),
        )
        reason = self.sign(self.host, body)
        if revealed and reason is not Reason.APPLIED:
            self.host.dice.revealed -= 1  # a refused roll_open moves no value
        return reason

    def _listed_after(self, leaves: Sequence[int], joins: Sequence[str]) -> list[int]:
        """The occupied seats after this packet's vacates and answers, as an honest host
        predicts them (no live-bet-free leaver stays; joins take the lowest free seats)."""
        table = self.table()
        seats = set(table.seats)
        for seat, occupant in table.seats.items():
            live = table.live_at(seat)
            if (occupant.leaving and not live) or occupant.left == 0:
                seats.discard(seat)
            if seat in leaves and not live:
                seats.discard(seat)
        for _ in joins:
            seats.add(min(s for s in range(1, table.params.max_players) if s not in seats))
        return sorted(seats)

    def void(self, withheld: Sequence[int], present: Sequence[RevealCopy] | None = None) -> Reason:
        assert self.host is not None
        table = self.table()
        if present is None:
            present = self.reveal_copies(s for s in table.listed if s not in withheld)
        return self.sign(self.host, Void(self.game, table.k, tuple(withheld), tuple(present)))

    def game_end(self, reveals: Sequence[RevealCopy] | None = None) -> Reason:
        assert self.host is not None
        table = self.table()
        if reveals is None:
            reveals = self.reveal_copies() if table.open else ()
        return self.sign(
            self.host, GameEnd(self.game, table.k if table.open else 0, tuple(reveals))
        )

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

    def spendable(self, name: str) -> int:
        return self.replica.state.spendable(self.party(name).pub)

    def balance(self, name: str) -> tuple[int, int]:
        """(spendable, pending credits) of ``name``."""
        acc = self.replica.state.accounts.get(self.party(name).pub)
        return (acc.spendable, acc.pending()) if acc is not None else (0, 0)
