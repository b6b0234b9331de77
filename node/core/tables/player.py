"""Player-level checks and bindings (TABLES.md §1–2): create, join, leave, cancel, bet, reveal.

Each check reads the packet's own body, the sender's own earlier packets (its binding), and the
host's table as of host nonce T — never later host packets, so the verdict is the same whatever
order the mesh delivered them in.  Order of the checks: binding (not_joined) → no_game →
game_ended → closed (cancel exempt from both) → join's chain floor (short_chain) → unbacked →
balance.  Every packet but a malformed one is recorded, whatever its verdict: a join binds by
its body, and a host entry may name any of them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from node.core.ledger import NO_EFFECTS, Credit, Effects, Judgment, LedgerState
from node.core.verdicts import Reason
from protocol.constants import TREASURY_KEY
from protocol.kinds import Bank, Bet, Cancel, Create, Join, Leave, Reveal

from .journal import Staged
from .money import add_escrow, escrowed_items, put_escrow
from .params import MIN_PLAYER_CHAIN, WINDOW, malformed_create
from .state import (
    BINDINGS,
    BONDS,
    FUNDS,
    RECORDS,
    REQUESTS,
    REVEALS,
    ROLLS,
    STAKES,
    TABLES,
    BetMoney,
    BetRecord,
    Escrowed,
    JoinRecord,
    RequestKind,
    RequestRecord,
    RevealRecord,
    SeatMoney,
    Table,
    TableMoney,
)

__all__ = ["Gain", "judge_create", "judge_player", "table_reason"]

Gain = Callable[[LedgerState, bytes, tuple[tuple[bytes, int], ...]], int]
"""What acknowledging ``acks`` would add to an account's spendable balance."""

PlayerBody = Join | Leave | Cancel | Bet | Reveal

# The verdicts a bet or a reveal reads, as module constants: ``node.core.verdicts`` is
# interpreted, so a compiled read of ``Reason.APPLIED`` goes through the enum class's attribute
# hook each time (docs/BUILD.md).
_APPLIED: Final = Reason.APPLIED
_INSUFFICIENT: Final = Reason.INSUFFICIENT
_UNBACKED: Final = Reason.UNBACKED
_NO_ROLL: Final = Reason.NO_ROLL


def judge_create(
    state: LedgerState,
    staged: Staged,
    sender: bytes,
    nonce: int,
    h: bytes,
    body: Create,
    spendable: int | None,
) -> Judgment:
    """A well-formed create is a table (G = its h), Applied or Refused(unfunded) alike; it
    escrows bankroll + host bond from its sender, or for bank 1 the bankroll from the
    treasury (spendable under the house key's watermarks) and the host bond from the house."""
    if malformed_create(body, sender, state.genesis) is not None:
        return Judgment(Reason.BAD_TABLE)
    table_key = (sender, h)
    if staged.has(TABLES, table_key):
        return Judgment(Reason.DUPLICATE_GAME)
    p = body.params
    if body.bank is Bank.TREASURY:
        treasury = state.spendable(TREASURY_KEY)
        funded = spendable is not None and p.host_bond <= spendable and body.bankroll <= treasury
        effects = Effects(debit=p.host_bond, treasury=body.bankroll)
    else:
        need = body.bankroll + p.host_bond
        funded = spendable is not None and need <= spendable
        effects = Effects(debit=need)
    table = Table(
        sender,
        h,
        nonce,
        p,
        body.bankroll,
        body.bank,
        cover=body.bankroll,
        host_bond_left=p.host_bond,
        host_current=body.chain_head,
        host_left=p.chain_n,
        last=nonce,
    )
    staged.put(TABLES, table_key, table)
    if funded:
        staged.put(FUNDS, table_key, TableMoney(True, body.bankroll, p.host_bond))
        return Judgment(Reason.APPLIED, effects, staged.change())
    staged.put(FUNDS, table_key, TableMoney(False, 0, 0))
    return Judgment(Reason.UNFUNDED, table=staged.change())


def table_reason(
    state: LedgerState, staged: Staged, host: bytes | None, game: bytes, t: int, exempt: bool
) -> tuple[Reason | None, Table | None]:
    """The table a player packet with reference T belongs to, or why it has none: no_game,
    game_ended and closed (``exempt``: a cancel, which neither refuses)."""
    if host is None:
        return Reason.NOT_JOINED, None
    table: Table | None = staged.get(TABLES, (host, game))
    if table is None or table.create_nonce > t:
        return Reason.NO_GAME, None
    if not exempt:
        if table.ended and table.ended <= t:
            return Reason.GAME_ENDED, table
        host_state = state.senders.get(host)
        if host_state is not None and host_state.fork and t >= host_state.fork:
            return Reason.CLOSED, table
    return None, table


def judge_player(
    state: LedgerState,
    staged: Staged,
    sender: bytes,
    nonce: int,
    h: bytes,
    body: PlayerBody,
    spendable: int | None,
    gain: Gain,
) -> Judgment:
    """Join, leave, cancel, bet or reveal: its verdict, money and record.

    ``spendable`` is None when the ledger refused the packet already (an unfunded first
    packet off play money): it is recorded with that verdict and moves nothing."""
    game = body.game
    if isinstance(body, Join):
        host: bytes | None = body.host
        staged.put(BINDINGS, (sender, game), body.host)
    else:
        host = staged.get(BINDINGS, (sender, game))
    t = body.table
    reason, table = table_reason(state, staged, host, game, t, isinstance(body, Cancel))
    acks: tuple[tuple[bytes, int], ...] = ()
    if host is not None and host != sender:
        acks = ((host, t),)
    if spendable is None:
        reason = Reason.UNFUNDED
    # what a debit may spend (one isinstance per class: compiled, each is a type check, where
    # a tuple of classes is the interpreter's generic isinstance)
    elif reason is None and (isinstance(body, Bet) or isinstance(body, Join)):  # noqa: SIM101
        spendable += gain(state, sender, acks)
    assert reason is not None or table is not None
    if isinstance(body, Join):
        return _join(staged, sender, nonce, h, body, reason, table, spendable, acks)
    if isinstance(body, Bet):
        return _bet(staged, sender, nonce, body, host, reason, table, spendable, acks)
    if isinstance(body, Reveal):
        return _reveal(staged, sender, nonce, body, host, reason, table, acks)
    return _request(state, staged, sender, nonce, body, host, reason, table, acks)


def _funds(staged: Staged, table: Table) -> TableMoney:
    funds: TableMoney = staged.get(FUNDS, table.key)
    return funds


def _join(
    staged: Staged,
    sender: bytes,
    nonce: int,
    h: bytes,
    body: Join,
    reason: Reason | None,
    table: Table | None,
    spendable: int | None,
    acks: tuple[tuple[bytes, int], ...],
) -> Judgment:
    effects = NO_EFFECTS
    if reason is None and table is not None:
        bond = table.params.bond
        if body.chain_n < MIN_PLAYER_CHAIN:
            reason = Reason.SHORT_CHAIN
        elif not _funds(staged, table).backed:
            reason = Reason.UNBACKED
        elif spendable is None or bond > spendable:
            reason = Reason.INSUFFICIENT
        else:
            reason = Reason.APPLIED
            escrowed = Escrowed.pending(table.key, True, (bond,), body.table + WINDOW)
            add_escrow(staged, sender, nonce, escrowed)
            effects = Effects(debit=bond, acks=acks)
    assert reason is not None
    record = JoinRecord(body.game, body.host, body.table, body.chain_head, body.chain_n, h, reason)
    staged.put(RECORDS, (sender, nonce), record)
    return Judgment(reason, effects, staged.change())


def _bet(
    staged: Staged,
    sender: bytes,
    nonce: int,
    body: Bet,
    host: bytes | None,
    reason: Reason | None,
    table: Table | None,
    spendable: int | None,
    acks: tuple[tuple[bytes, int], ...],
) -> Judgment:
    effects = NO_EFFECTS
    if reason is None and table is not None:
        total = sum(entry.amount for entry in body.bets)
        if not _funds(staged, table).backed:
            reason = _UNBACKED
        elif spendable is None or total > spendable:
            reason = _INSUFFICIENT
        else:
            reason = _APPLIED
            amounts = [entry.amount for entry in body.bets]
            escrowed = Escrowed.pending(table.key, False, amounts, body.table + WINDOW)
            add_escrow(staged, sender, nonce, escrowed)
            effects = Effects(debit=total, acks=acks)
    assert reason is not None
    staged.put(RECORDS, (sender, nonce), BetRecord(body.game, host, body.table, body.bets, reason))
    return Judgment(reason, effects, staged.change())


def _reveal(
    staged: Staged,
    sender: bytes,
    nonce: int,
    body: Reveal,
    host: bytes | None,
    reason: Reason | None,
    table: Table | None,
    acks: tuple[tuple[bytes, int], ...],
) -> Judgment:
    """Refused(no_roll) unless T is an Applied roll_open of that k."""
    effects = NO_EFFECTS
    if reason is None and table is not None:
        if staged.get(ROLLS, (table.key, body.k)) != body.table:
            reason = _NO_ROLL
        else:
            reason = _APPLIED
            effects = Effects(acks=acks)
            # every distinct preimage: any valid one counts as a late reveal (TABLES.md §4)
            revealed: tuple[Any, ...] = (table.key, sender, body.k)
            values: tuple[bytes, ...] = staged.get(REVEALS, revealed, ())
            if body.preimage not in values:
                staged.put(REVEALS, revealed, (*values, body.preimage))
    assert reason is not None
    record = RevealRecord(body.game, host, body.table, body.k, body.preimage, reason)
    staged.put(RECORDS, (sender, nonce), record)
    return Judgment(reason, effects, staged.change())


def _request(
    state: LedgerState,
    staged: Staged,
    sender: bytes,
    nonce: int,
    body: Leave | Cancel,
    host: bytes | None,
    reason: Reason | None,
    table: Table | None,
    acks: tuple[tuple[bytes, int], ...],
) -> Judgment:
    """A leave or cancel: advisory until a host packet sees it (§6); an Applied cancel also
    reclaims, as a credit to its sender spendable from its next packet."""
    kind = RequestKind.CANCEL if isinstance(body, Cancel) else RequestKind.LEAVE
    upto = body.upto if isinstance(body, Cancel) else 0
    effects = NO_EFFECTS
    if reason is None and table is not None:
        reason = Reason.APPLIED
        key: tuple[Any, ...] = (table.key, sender)
        staged.put(REQUESTS, key, (*staged.get(REQUESTS, key, ()), (nonce, int(kind), upto)))
        reclaimed = _reclaim(state, staged, sender, body.table, table) if kind else 0
        credits: tuple[Credit, ...] = ((sender, sender, nonce, reclaimed),) if reclaimed else ()
        effects = Effects(credits=credits, acks=acks)
    assert reason is not None
    record = RequestRecord(kind, body.game, host, body.table, upto, reason)
    staged.put(RECORDS, (sender, nonce), record)
    return Judgment(reason, effects, staged.change())


def _reclaim(state: LedgerState, staged: Staged, sender: bytes, t: int, table: Table) -> int:
    """Rule 1: each escrowed item of the sender here (escrowed: not live), whose window ended
    before T.  Rule 2: at T ≥ the Applied game_end or the host's fork nonce, every escrowed
    item of the sender here and, after a fork, its live stakes and its held bond."""
    host_state = state.senders.get(table.host)
    fork = host_state.fork if host_state is not None else 0
    over = bool(table.ended and t >= table.ended) or bool(fork and t >= fork)
    total = 0
    for item, escrow in escrowed_items(staged, table.key, sender):
        if over or t > escrow.window_end:
            total += escrow.amount
            put_escrow(staged, item, None)
    if fork and t >= fork:  # its live stakes and held bond too (no host packet moves them now)
        for bet in table.craps.bets:
            if bet.id[0] == sender:
                live: BetMoney | None = staged.get(STAKES, bet.id)
                if live is not None and live.stake:
                    total += live.stake
                    staged.delete(STAKES, bet.id)
        for number, seat in table.seats.items():
            money: SeatMoney | None = staged.get(BONDS, (table.key, number))
            if seat.key == sender and money is not None and money.bond:
                total += money.bond
                staged.put(BONDS, (table.key, number), SeatMoney(0, money.own, money.freed))
    return total
