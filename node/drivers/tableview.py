"""What a person sees of the tables, for the control API's table methods (docs/API.md): every
table on the mesh as a row, one table in full, where each of this node's bets stands, and the
dice and settlements of each roll.

:class:`TableLog` is fed every committed Persist (a driver observer, as the wallet's index is):
for each Applied host table packet it keeps what it did that the state does not keep — the dice
of the roll it settled and every settlement, a void's returns, an end's — read from the table as
the packet found it (its change's old value) and the packet's own reveals, with the rules engine
itself.  It counts bets, rolls and the settle latency of this node's bets for the metrics, and
keeps a version that rises at every table packet judged, which a long poll awaits (``watch``).
History is kept from when the daemon started (a restart re-judges its log, so it is found
again unless a snapshot stands in for old rows), at most :data:`ROLLS_KEPT` rolls a table.

The view functions read the replica between two events and change nothing.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Final

import trio

from node.core.craps import (
    BetRequest,
    Limits,
    LiveBet,
    Release,
    Settlement,
    place,
    return_all,
    return_owner,
    roll_dice,
    settle_roll,
)
from node.core.events import JUDGED
from node.core.log import Entry
from node.core.node import NodeCore, Persist
from node.core.replica import Replica
from node.core.tables.agent import TableAgent
from node.core.tables.journal import Change
from node.core.tables.policy import (
    at_tables,
    create_own_funded,
    held_reveals,
    pending_bets,
    table_view,
    withholders,
)
from node.core.tables.state import (
    BetRecord,
    ItemStatus,
    RequestKind,
    Table,
    TableKey,
    Tables,
)
from node.core.verdicts import Reason
from protocol.bets import BetType, cli_name
from protocol.errors import PacketError
from protocol.frame import FrameCodec, decode_body
from protocol.kinds import BetEntry, Body, GameEnd, Kind, RollOpen, Void

__all__ = [
    "RELEASE_WORDS",
    "ROLLS_KEPT",
    "TableLog",
    "bet_name",
    "bets_of",
    "game_detail",
    "game_rows",
    "precheck_bets",
    "settlement_json",
]

ROLLS_KEPT: Final = 256
"""Rolls (and voids, ends) remembered per table."""
OWN_BETS_KEPT: Final = 4096
"""This node's bet entries remembered with their settlement."""
HOST_KINDS: Final = frozenset({Kind.SEAT, Kind.ROLL_OPEN, Kind.VOID, Kind.GAME_END})
TABLE_KINDS: Final = frozenset(
    {Kind.CREATE, Kind.JOIN, Kind.LEAVE, Kind.CANCEL, Kind.BET, Kind.REVEAL, *HOST_KINDS}
)

RELEASE_WORDS: Final[dict[str, str]] = {
    "released": "the host released it without including it",
    "seated": "its seat was not occupied, was leaving, or had fewer than 16 reveals left",
    "phase": "the table's phase did not allow it then (or an odds bet had no open bet to back)",
    "limits": "its stake was outside the table's limits",
    "duplicate": "this key already had an open bet of that type (and number)",
    "odds_cap": "the odds stake was above the cap of the bet it backs",
    "risk_cap": "the table's risk with it would have exceeded the table's bond",
    "cover": "the bank's bankroll could not cover what it might pay",
}
"""Why an included bet was released (the engine's label), in words."""

BetId = tuple[bytes, int, int]


def _frame_kind(frame: bytes) -> int:
    """The kind of a valid frame (the first element of its msgpack body after the header)."""
    return frame[7] if len(frame) > 7 and frame[6] & 0xF0 == 0x90 else 0


def bet_name(code: int, point: int | None) -> str:
    """A bet's CLI name (``odds-come-6``, ``pass``, …)."""
    try:
        bet = BetType(code)
    except ValueError:
        return f"code {code}"
    try:
        return cli_name(bet, point)
    except ValueError:
        return cli_name(bet, None) if point is None else f"{bet.name} {point}"


def _live_name(bet: LiveBet) -> str:
    point = bet.number if bet.type in (BetType.OddsCome, BetType.OddsDontCome) else None
    return bet_name(int(bet.type), point)


def settlement_json(settlement: Settlement, seats: dict[int, bytes]) -> dict[str, object]:
    """One settlement as the API shows it."""
    bet = settlement.bet
    key = bet.id[0] if bet.id and isinstance(bet.id[0], bytes) else seats.get(bet.owner, b"")
    out: dict[str, object] = {
        "seat": bet.owner,
        "key": key.hex() if isinstance(key, bytes) else "",
        "bet": _live_name(bet),
        "stake": bet.stake,
        "outcome": settlement.outcome.value,
        "profit": settlement.profit,
        "credit": settlement.credit,
    }
    if len(bet.id) == 3 and isinstance(bet.id[1], int):
        out["id"] = [bet.id[1], bet.id[2]]
    if bet.number is not None and bet.type in (BetType.Come, BetType.DontCome):
        out["number"] = bet.number
    return out


@dataclass(slots=True)
class RollRecord:
    """What one host packet did at a table: a roll settled (``dice``), a void, an end."""

    kind: str
    """``roll`` (roll k settled by the next roll_open), ``end`` (game_end, settling the open
    roll if any), ``void``."""
    k: int
    nonce: int
    dice: tuple[int, int] | None = None
    event: str | None = None
    point_before: int | None = None
    point_after: int | None = None
    shooter: int | None = None
    settlements: list[dict[str, object]] = field(default_factory=list)
    withheld: tuple[int, ...] = ()
    when: float = 0.0

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {"kind": self.kind, "k": self.k, "nonce": self.nonce}
        if self.dice is not None:
            out.update(
                dice=list(self.dice),
                total=sum(self.dice),
                event=self.event,
                point_before=self.point_before,
                point_after=self.point_after,
                shooter=self.shooter,
            )
        if self.withheld:
            out["withheld"] = list(self.withheld)
        out["settlements"] = self.settlements
        return out


class TableLog:
    """The dice, settlements and counts of every table this node's replica judges (see the
    module docstring): ``observe`` each committed Persist."""

    def __init__(self, core: NodeCore) -> None:
        self.core = core
        self.me = core.identity
        self._codec = FrameCodec(core.replica.genesis.network_id)
        self.rolls: dict[TableKey, deque[RollRecord]] = {}
        self.own_settled: dict[BetId, dict[str, object]] = {}
        """This node's bet entries that ended, with how (oldest dropped past the bound)."""
        self._own_placed: dict[int, float] = {}
        """Own bet packets not yet all settled or released: nonce → when judged here."""
        self.version = 0
        self._changed = trio.Event()
        self.bets_placed = 0
        """This node's bet entries judged Applied."""
        self.bets_ended: dict[str, int] = {}
        """Bet entries that ended at any table this node judges, by outcome or release reason."""
        self.rolls_settled = 0
        self.voids = 0
        self.settle_seconds: list[float] = []
        """Settle latencies not yet taken by the metrics (:meth:`take_latencies`)."""
        for entry in core.replica.judged_in_order():
            self._entry(entry, math.nan)

    # ------------------------------------------------------------------ feeding

    def observe(self, persist: Persist) -> None:
        """A committed Persist (a driver observer)."""
        touched = False
        now = trio.current_time()
        for event in persist.events:
            what, item = event.what, event.item
            if what == JUDGED and isinstance(item, Entry):
                touched |= self._entry(item, now)
        if touched:
            self.version += 1
            self._changed.set()
            self._changed = trio.Event()

    async def wait(self, after: int, timeout: float) -> int:
        """Wait until a table packet was judged after version ``after`` (or ``timeout``
        seconds passed); the version now."""
        with trio.move_on_after(timeout):
            while self.version <= after:
                await self._changed.wait()
        return self.version

    def take_latencies(self) -> list[float]:
        out, self.settle_seconds = self.settle_seconds, []
        return out

    def _entry(self, entry: Entry, now: float) -> bool:
        kind = _frame_kind(entry.frame)
        if kind not in TABLE_KINDS:
            return False
        judgment = entry.judgment
        if judgment is None or judgment.reason is not Reason.APPLIED:
            return True
        if kind == Kind.BET and entry.sender == self.me:
            if not math.isnan(now):
                self._own_placed[entry.nonce] = now
            record = self._tables().map("records").get((entry.sender, entry.nonce))
            if isinstance(record, BetRecord):
                self.bets_placed += len(record.entries)
            return True
        if kind not in HOST_KINDS or judgment.table is None:
            return True
        old, new = _table_change(judgment.table)
        if old is None or new is None:
            return True
        try:
            body = decode_body(self._codec.open(entry.frame)).body
        except PacketError:
            return True
        self._host_packet(entry, body, old, new, now, judgment.table)
        return True

    def _tables(self) -> Tables:
        tables = self.core.replica.state.tables
        assert isinstance(tables, Tables)
        return tables

    def _host_packet(
        self, entry: Entry, body: Body, old: Table, new: Table, now: float, change: object
    ) -> None:
        seats = {n: s.key for n, s in old.seats.items()}
        network_id = self.core.replica.genesis.network_id
        craps = old.craps.copy()
        record: RollRecord | None = None
        settled: list[Settlement] = []
        if isinstance(body, (RollOpen, GameEnd)) and old.open:
            roll = roll_dice(
                network_id,
                old.host,
                old.game,
                old.k,
                old.host_current,
                {r.seat: r.preimage for r in body.reveals},
            )
            result = settle_roll(craps, roll, old.occupied())
            settled.extend(result.settlements)
            record = RollRecord(
                "roll" if isinstance(body, RollOpen) else "end",
                old.k,
                entry.nonce,
                (roll.die1, roll.die2),
                result.event.value,
                old.craps.point,
                craps.point,
                old.craps.shooter,
            )
            self.rolls_settled += 1
        if isinstance(body, GameEnd):
            settled.extend(return_all(craps))
            if record is None:
                record = RollRecord("end", old.k, entry.nonce)
        elif isinstance(body, Void):
            for seat in body.withheld:
                settled.extend(return_owner(craps, seat))
            record = RollRecord("void", body.k, entry.nonce, withheld=tuple(body.withheld))
            self.voids += 1
        if record is not None:
            record.when = now
            record.settlements = [settlement_json(s, seats) for s in settled]
            self.rolls.setdefault(old.key, deque(maxlen=ROLLS_KEPT)).append(record)
        for s in settled:
            outcome = s.outcome.value
            self.bets_ended[outcome] = self.bets_ended.get(outcome, 0) + 1
            bet_id = s.bet.id
            if len(bet_id) == 3 and bet_id[0] == self.me:
                assert isinstance(bet_id[1], int) and isinstance(bet_id[2], int)
                self._own_ended(
                    (self.me, bet_id[1], bet_id[2]),
                    {"status": "settled", "outcome": outcome, "profit": s.profit,
                     "credit": s.credit, "k": old.k, "nonce": entry.nonce},
                    now,
                )  # fmt: skip
        released = change.sets_in("released") if isinstance(change, Change) else []
        for named, old_label, label in released:
            if not isinstance(label, str) or isinstance(old_label, str):
                continue  # not newly released by this packet
            how = "released_" + label
            self.bets_ended[how] = self.bets_ended.get(how, 0) + 1
            _table, key, nonce, index = named
            if key == self.me:
                self._own_ended(
                    (key, nonce, index),
                    {"status": "released", "reason": label, "nonce": entry.nonce},
                    now,
                )

    def _own_ended(self, bet: BetId, how: dict[str, object], now: float) -> None:
        self.own_settled[bet] = how
        if len(self.own_settled) > OWN_BETS_KEPT:
            del self.own_settled[next(iter(self.own_settled))]
        placed = self._own_placed.pop(bet[1], None)
        if placed is not None and not math.isnan(now):
            self.settle_seconds.append(max(0.0, now - placed))


def _table_change(change: object) -> tuple[Table | None, Table | None]:
    """The table as a host packet found it and left it (its ``tables`` set)."""
    for _key, old, new in change.sets_in("tables") if isinstance(change, Change) else []:
        before = old if isinstance(old, Table) else None
        return before, new if isinstance(new, Table) else None
    return None, None


# --------------------------------------------------------------------------- views


def _tables_of(replica: Replica) -> Tables | None:
    tables = replica.state.tables
    return tables if isinstance(tables, Tables) else None


def _role(agent: TableAgent | None, replica: Replica, table: Table) -> str:
    if agent is None:
        return "-"
    if table.host == agent.identity:
        return "host"
    if table.seat_of(agent.identity) is not None:
        return "player"
    return "-"


def game_rows(
    replica: Replica, agent: TableAgent | None, *, ended: bool = False
) -> list[dict[str, object]]:
    """Every table this replica knows (running ones unless ``ended``), as one row each."""
    tables = _tables_of(replica)
    if tables is None:
        return []
    voids: dict[tuple[int, bytes], int] = tables.map("voids")
    late: dict[TableKey, int] = {}
    for key, _k, _who in tables.late():
        late[key] = late.get(key, 0) + 1
    rows = []
    for (host, game), table in sorted(tables.map("tables").items(), key=lambda kv: kv[1].last):
        if table.ended and not ended:
            continue
        p = table.params
        rows.append(
            {
                "game": game.hex(),
                "host": host.hex(),
                "role": _role(agent, replica, table),
                "seats": len(table.seats),
                "max_seats": p.max_players - 1,
                "min_bet": p.min_bet,
                "max_bet": p.max_bet,
                "bond": p.bond,
                "bankroll": table.bankroll,
                "cover": table.cover,
                "own_funded": create_own_funded(replica, table),
                "k": table.k,
                "point": table.craps.point,
                "ended": bool(table.ended),
                "closed": bool(replica.fork_point(host)),
                "host_voids": voids.get((0, host), 0),
                "late_reveals": late.get(table.key, 0),
            }
        )
    return rows


def _seat_json(replica: Replica, tables: Tables, table: Table, seat: Any) -> dict[str, object]:
    account = replica.state.accounts.get(seat.key)
    return {
        "seat": seat.seat,
        "key": seat.key.hex(),
        "left": seat.left,
        "leaving": seat.leaving,
        "bond": seat.bond,
        "own": seat.own,
        "live": seat.live,
        "shooter": table.craps.shooter == seat.seat,
        "spendable": account.spendable if account is not None else 0,
        "held": sum(at_tables(replica, seat.key).values()),
        "voids": tables.map("voids").get((1, seat.key), 0),
        "bets": [
            {
                "bet": _live_name(bet),
                "stake": bet.stake,
                "number": bet.number,
                "id": [bet.id[1], bet.id[2]] if len(bet.id) == 3 else None,
            }
            for bet in table.craps.owned(seat.seat)
        ],
    }


def _current(replica: Replica, table: Table) -> dict[str, object] | None:
    """The open roll: who it waits for, or — every reveal in — its dice and what it settles
    (decided: the host's next packet settles it so)."""
    if not table.open:
        return None
    held = held_reveals(replica, table)
    missing = list(withholders(table, held))
    out: dict[str, object] = {"k": table.k, "listed": list(table.listed), "waiting_for": missing}
    if missing:
        out["state"] = "open"
        return out
    roll = roll_dice(
        replica.genesis.network_id,
        table.host,
        table.game,
        table.k,
        table.host_current,
        {seat: copy.preimage for seat, copy in held.items()},
    )
    craps = table.craps.copy()
    result = settle_roll(craps, roll, table.occupied())
    seats = {n: s.key for n, s in table.seats.items()}
    out.update(
        state="decided",
        dice=[roll.die1, roll.die2],
        total=roll.total,
        event=result.event.value,
        point_before=table.craps.point,
        point_after=craps.point,
        shooter=table.craps.shooter,
        settlements=[settlement_json(s, seats) for s in result.settlements],
    )
    return out


def game_detail(
    replica: Replica, agent: TableAgent | None, log: TableLog, key: TableKey, *, rolls: int = 10
) -> dict[str, object]:
    """One table in full: parameters, bank, seats with their live bets and balances, the open
    roll, the last ``rolls`` rolls, and this node's bets there."""
    host, game = key
    view = table_view(replica, host, game)
    tables = _tables_of(replica)
    table = None if tables is None else tables.map("tables").get(key)
    assert view is not None and table is not None and tables is not None
    p = view.params
    me = agent.identity if agent is not None else b""
    kept = list(log.rolls.get(key, ()))
    hosted = None
    if agent is not None:
        for row in agent.describe(replica):
            if row["game"] == game.hex() and row.get("role") == "host":
                hosted = row
    return {
        "game": game.hex(),
        "host": host.hex(),
        "role": _role(agent, replica, table),
        "version": log.version,
        "params": {
            "min_bet": p.min_bet,
            "max_bet": p.max_bet,
            "bond": p.bond,
            "host_bond": p.host_bond,
            "max_players": p.max_players,
            "max_entries": p.max_entries,
            "chain_n": p.chain_n,
        },
        "bank": view.bank.name.lower(),
        "bankroll": view.bankroll,
        "cover": view.cover,
        "bank_money": view.bank_money,
        "own_funded": view.own_funded,
        "backed": view.backed,
        "host_bond_left": view.host_bond_left,
        "host_left": view.host_left,
        "risk": view.risk,
        "k": view.k,
        "open": view.open,
        "point": table.craps.point,
        "shooter": table.craps.shooter,
        "ended": view.ended,
        "early": view.early,
        "closed": view.closed,
        "roll_every": hosted["roll_every"] if hosted is not None else None,
        "host_voids": tables.map("voids").get((0, host), 0),
        "late_reveals": sum(1 for t, _k, _w in tables.late() if t == key),
        "unavailable": [bet_name(int(b), None) for b in view.unavailable if b not in _NEEDS],
        "seats": [_seat_json(replica, tables, table, s) for s in view.seats],
        "current": _current(replica, table),
        "rolls": [r.to_json() for r in kept[-rolls:]] if rolls else [],
        "my_seat": table.seat_of(me) if me else None,
        "my_bets": bets_of(replica, log, table, me) if me and me != host else [],
    }


_NEEDS: Final = (BetType.OddsCome, BetType.OddsDontCome)


def bets_of(
    replica: Replica, log: TableLog, table: Table, key: bytes, *, limit: int = 64
) -> list[dict[str, object]]:
    """Where each of ``key``'s bets at ``table`` stands, newest last: ``pending`` (debited,
    waiting for the host to include it), ``included`` (live), ``settled`` (won, lost, pushed
    or returned at stake), ``released`` (with the engine's reason, in words), ``refused`` (the
    bet packet was refused: nothing moved), or ``returned`` (its escrow was given back by a
    cancel, a leave or a reclaim)."""
    tables = _tables_of(replica)
    if tables is None:
        return []
    records = tables.map("records")
    released = tables.map("released")
    requests = tuple(tables.map("requests").get((table.key, key), ()))
    top = replica.hwm(key)
    out: list[dict[str, object]] = []
    for nonce in range(top, 0, -1):
        record = records.get((key, nonce))
        if not isinstance(record, BetRecord) or record.host != table.host:
            continue
        if record.game != table.game:
            continue
        block = [
            _bet_status(table, key, nonce, index, entry, record, tables, released, log, requests)
            for index, entry in enumerate(record.entries)
        ]
        out[:0] = block
        if len(out) >= limit:
            break
    return out


def _bet_status(
    table: Table,
    key: bytes,
    nonce: int,
    index: int,
    entry: BetEntry,
    record: BetRecord,
    tables: Tables,
    released: dict[Any, str],
    log: TableLog,
    requests: tuple[tuple[int, int, int], ...],
) -> dict[str, object]:
    bet_id = (key, nonce, index)
    item: dict[str, object] = {
        "nonce": nonce,
        "index": index,
        "bet": bet_name(int(entry.code), entry.come_point),
        "stake": entry.amount,
    }
    if record.reason is not Reason.APPLIED:
        why = f"the bet packet was {record.reason.label}: nothing moved"
        item.update(status="refused", why=why)
        return item
    live = table.craps.find(bet_id)
    if live is not None:
        item["status"] = "included"
        if live.number is not None:
            item["number"] = live.number
        return item
    label = released.get((table.key, *bet_id))
    if label is not None:
        item.update(status="released", reason=label, why=RELEASE_WORDS.get(label, label))
        return item
    ended = log.own_settled.get(bet_id)
    if ended is not None and ended.get("status") == "settled":
        item.update(
            status="settled",
            outcome=ended["outcome"],
            profit=ended["profit"],
            credit=ended["credit"],
            k=ended["k"],
        )
        return item
    held = tables.escrow_of(bet_id)
    if held is not None:
        item.update(status="pending", window_end=held.window_end)
        if held.status is ItemStatus.RETURNED:
            item["why"] = "back to pending: the roll it was first included in was voided"
        for request_nonce, kind, upto in requests:
            if request_nonce > nonce and (kind == RequestKind.LEAVE or upto >= nonce):
                item["why"] = "cancelled: its stake comes back when a host packet sees the " + (
                    "leave" if kind == RequestKind.LEAVE else "cancel"
                )
        return item
    item.update(  # a stake that went live is with its bet in table state (above)
        status="returned",
        why="its stake came back: cancelled, left, reclaimed, or settled before this node's "
        "log began",
    )
    return item


def precheck_bets(
    replica: Replica,
    table: Table,
    seat: int | None,
    entries: Iterable[BetEntry],
    *,
    behind_pending: bool = False,
) -> tuple[str, str] | None:
    """Whether the engine would release these bets (phase, limits, duplicate, odds cap, risk
    cap, cover) if the host included them next: ``(label, bet name)`` of the first that fails,
    or None.  (A bet over the risk cap or the cover would wait, pending, until it fits or its
    window ends: refused here, the player is told now.)

    ``behind_pending``: after the seat's own bets still pending, as the host includes them
    (oldest window first).  A bet that fails only then waits behind them (a second field bet
    goes live at the roll after the first) or, if they stay live until its window ends, comes
    back; this replica may also not have seen the host include them yet.

    They are included after the open roll settles, so while its dice are unknown only the
    limits are checked (the phase may change)."""
    craps = table.craps.copy()
    known = True
    if table.open:
        held = held_reveals(replica, table)
        if withholders(table, held):
            known = False
        else:
            roll = roll_dice(
                replica.genesis.network_id,
                table.host,
                table.game,
                table.k,
                table.host_current,
                {s: c.preimage for s, c in held.items()},
            )
            settle_roll(craps, roll, table.occupied())
    limits = Limits(table.params.min_bet, table.params.max_bet)
    owner = seat if seat is not None else 0
    tables = _tables_of(replica)
    if behind_pending and seat is not None and tables is not None:
        next_host = replica.hwm(table.host) + 1
        key = table.seats[seat].key
        for window_end, nonce, index, pending in sorted(pending_bets(tables, table, key)):
            if window_end >= next_host:
                request = BetRequest(pending.code, pending.amount, pending.come_point)
                place(
                    craps,
                    (key, nonce, index),
                    owner,
                    request,
                    limits,
                    bond=table.params.bond,
                    cover=table.cover,
                )
    for i, entry in enumerate(entries):
        request = BetRequest(entry.code, entry.amount, entry.come_point)
        outcome = place(
            craps, (b"", 0, i), owner, request, limits, bond=table.params.bond, cover=table.cover
        )
        if isinstance(outcome, Release) and (known or outcome is Release.LIMITS):
            return outcome.label, bet_name(int(entry.code), entry.come_point)
    return None
