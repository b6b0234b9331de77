"""The control API's table methods (docs/API.md §4): ``game_create``, ``games``, ``game_show``,
``game_join``, ``game_leave``, ``game_end``, ``bet``, ``cancel``, ``roll``.

One function each, registered on the daemon's :data:`~node.drivers.methods.METHODS`.  Each
checks what it was given — the table named, who may do it, what the engine would release, the
balance — before it hands a typed command (:mod:`node.core.tables.commands`) to the node core's
table agent, so a refusal has signed nothing and says why in one line.  Reads come from the
replica and the :class:`~node.drivers.tableview.TableLog` (dice, settlements); ``game_show``
with ``after`` is a long poll on the log's version, which ``bitcraps game watch`` uses.
"""

from __future__ import annotations

import math
import re
from typing import Any, Final

import trio

from node.core.node import TableCommand
from node.core.tables.agent import TableAgent
from node.core.tables.commands import (
    CancelBets,
    CreateTable,
    EndGame,
    JoinTable,
    LeaveTable,
    OpenRoll,
    PlaceBets,
)
from node.core.tables.params import (
    DEFAULT_BANKROLL,
    DEFAULT_BOND,
    DEFAULT_CHAIN_N,
    DEFAULT_MAX_BET,
    DEFAULT_MAX_PLAYERS,
    DEFAULT_MIN_BET,
    MAX_ENTRIES,
    malformed_create,
)
from node.core.tables.policy import create_own_funded
from node.core.tables.state import Table, TableKey, Tables
from node.core.verdicts import Reason
from node.drivers.control import (
    INVALID_PARAMS,
    REFUSED,
    UNKNOWN_TABLE,
    Param,
    RpcError,
    bool_param,
    int_param,
)
from node.drivers.methods import METHODS, NodeContext, _can_spend, call
from node.drivers.tableview import (
    RELEASE_WORDS,
    TableLog,
    bet_name,
    game_detail,
    game_rows,
    precheck_bets,
)
from protocol.amounts import format_crap
from protocol.bets import PLACEMENT, UnknownBetName, parse_bet_name
from protocol.constants import HASH_LEN, MAX_BETS_PER_PACKET, MAX_U64
from protocol.frame import FrameCodec
from protocol.kinds import Bank, Bet, BetEntry, Create, Join, TableParams

__all__ = ["bets_param", "game_param"]

MIN_GAME_PREFIX: Final = 4
"""Hex digits of the shortest game id prefix the methods resolve."""
MAX_WAIT: Final = 25.0
"""Seconds a method may wait for the mesh (below the client's 30 s timeout)."""
_HEX: Final = re.compile(r"[0-9a-f]+")


# --------------------------------------------------------------------------- params


def game_param(value: Any) -> tuple[str, str]:
    """A table: its game id (16 hex digits) or a prefix of at least 4, optionally after its
    host's key or key prefix and a colon (``HOST:GAME``); resolved by the method."""
    if not isinstance(value, str):
        raise TypeError("expected a game id as a hex string")
    text = value.strip().lower()
    host, _, game = text.rpartition(":")
    game = game.removeprefix("0x")
    if not _HEX.fullmatch(game) or len(game) > 2 * HASH_LEN:
        raise ValueError(f"{value!r} is not a game id (16 hex digits, or a prefix of at least 4)")
    if len(game) < MIN_GAME_PREFIX:
        raise ValueError(f"{value!r} is too short: give at least {MIN_GAME_PREFIX} hex digits")
    if host and not _HEX.fullmatch(host):
        raise ValueError(f"{value!r}: the host before ':' is not a hex key or prefix")
    return host, game


def _units(lo: int) -> Any:
    return int_param(lo, MAX_U64)


def _seconds(lo: float, hi: float, *, none: bool = False) -> Any:
    def parse(value: Any) -> float | None:
        if value is None and none:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise TypeError("expected a number of seconds")
        seconds = float(value)
        if not (math.isfinite(seconds) and lo <= seconds <= hi):
            raise ValueError(f"{value!r} is out of range {lo:g}..{hi:g} seconds")
        return seconds

    return parse


def bets_param(value: Any) -> tuple[BetEntry, ...]:
    """1 … 8 bets, each ``[name, amount]`` or ``{"bet": name, "amount": amount}``: a bet name
    as ``bitcraps bets`` lists it and a stake in base units."""
    if not isinstance(value, list) or not 1 <= len(value) <= MAX_BETS_PER_PACKET:
        raise ValueError(f"expected a list of 1 … {MAX_BETS_PER_PACKET} bets")
    out = []
    for item in value:
        if isinstance(item, dict) and set(item) == {"bet", "amount"}:
            name, amount = item["bet"], item["amount"]
        elif isinstance(item, list) and len(item) == 2:
            name, amount = item
        else:
            raise TypeError('a bet is [name, amount] or {"bet": name, "amount": amount}')
        if not isinstance(name, str):
            raise TypeError("a bet name is a string (see 'bitcraps bets')")
        try:
            code, point = parse_bet_name(name)
        except UnknownBetName as exc:
            raise ValueError(str(exc)) from None
        out.append(BetEntry(code, int_param(1, MAX_U64)(amount), point))
    return tuple(out)


# --------------------------------------------------------------------------- helpers


def _agent(ctx: NodeContext) -> tuple[TableAgent, TableLog]:
    policy = ctx.core.policy
    if not isinstance(policy, TableAgent) or ctx.tables is None:
        raise RpcError(REFUSED, "this node runs no table agent: it plays at no table")
    return policy, ctx.tables


def _tables(ctx: NodeContext) -> Tables:
    tables = ctx.core.replica.state.tables
    if not isinstance(tables, Tables):
        raise RpcError(REFUSED, "this node's replica has no table engine")
    return tables


def resolve_game(ctx: NodeContext, given: tuple[str, str]) -> Table:
    """The one table ``given`` names (see :func:`game_param`)."""
    host_text, game_text = given
    found: list[Table] = [
        table
        for (host, game), table in _tables(ctx).map("tables").items()
        if game.hex().startswith(game_text) and host.hex().startswith(host_text)
    ]
    shown = f"{host_text}:{game_text}" if host_text else game_text
    if not found:
        raise RpcError(
            UNKNOWN_TABLE,
            f"no table {shown} is known here: 'bitcraps games' lists the tables this node has "
            "seen (a table created elsewhere shows up once its create reaches this node)",
            {"game": shown},
        )
    if len(found) > 1:
        running = [t for t in found if not t.ended]
        if len(running) == 1:
            return running[0]
        ids = ", ".join(f"{t.host.hex()[:8]}:{t.game.hex()}" for t in found[:4])
        raise RpcError(INVALID_PARAMS, f"{len(found)} tables match {shown} ({ids}): give more")
    return found[0]


def _codec(ctx: NodeContext) -> FrameCodec:
    return FrameCodec(ctx.core.replica.genesis.network_id)


def _nonces(ctx: NodeContext, frames: object) -> list[int]:
    codec = _codec(ctx)
    out = []
    for frame in frames if isinstance(frames, list) else []:
        if isinstance(frame, bytes):
            out.append(codec.open(frame).nonce)
    return out


def _own_table(ctx: NodeContext, table: Table, what: str) -> None:
    if table.host != ctx.core.identity:
        raise RpcError(
            REFUSED,
            f"only the host of table {table.game.hex()} ({table.host.hex()[:16]}) can {what}; "
            "a player's daemon reveals its dice by itself",
            {"reason": "not_host"},
        )


def _running(table: Table) -> None:
    if table.ended:
        raise RpcError(REFUSED, f"table {table.game.hex()} has ended", {"reason": "ended"})


def _insufficient(ctx: NodeContext, amount: int, what: str) -> RpcError:
    can = _can_spend(ctx.core, [])
    return RpcError(
        REFUSED,
        f"insufficient balance: {what} {format_crap(amount)} CRAP, more than the "
        f"{format_crap(can)} CRAP this node can spend now",
        {"reason": "insufficient", "spendable": can, "amount": amount},
    )


def _can_check(ctx: NodeContext) -> bool:
    """The own chain is judged up to its top: ``Replica.check`` sees what the next packet
    would."""
    replica, me = ctx.core.replica, ctx.core.identity
    return not ctx.core.recovering and replica.hwm(me) == replica.logged_top(me)[0]


def _params_json(p: TableParams) -> dict[str, int]:
    return {
        "min_bet": p.min_bet,
        "max_bet": p.max_bet,
        "bond": p.bond,
        "host_bond": p.host_bond,
        "max_players": p.max_players,
        "max_entries": p.max_entries,
        "chain_n": p.chain_n,
    }


async def _wait_until(log: TableLog, seconds: float, done: Any) -> bool:
    """Wait (at most ``seconds``) until ``done()``, looking again at each table packet."""
    deadline = trio.current_time() + seconds
    while not done():
        left = deadline - trio.current_time()
        if left <= 0:
            return False
        await log.wait(log.version, left)
    return True


# --------------------------------------------------------------------------- methods


@METHODS.method(
    "game_create",
    Param("bankroll", _units(0), DEFAULT_BANKROLL, "the bank's K in base units (10,000 CRAP)"),
    Param("bond", _units(1), DEFAULT_BOND, "each seat's bond and the risk cap (1,000 CRAP)"),
    Param("host_bond", _units(0), None, "the host bond (default 3 × bond × max_players)"),
    Param("min_bet", _units(1), DEFAULT_MIN_BET, "smallest stake (1 CRAP)"),
    Param("max_bet", _units(1), DEFAULT_MAX_BET, "largest stake but odds (100 CRAP)"),
    Param("max_players", int_param(2, 16), DEFAULT_MAX_PLAYERS, "seats, the host's included"),
    Param(
        "roll_every",
        _seconds(0.05, 86400.0, none=True),
        None,
        "open the next roll this many seconds after the last (null: only on 'roll')",
    ),
    summary="Host a new table: sign its create (bankroll and host bond leave the balance).",
)
async def game_create(ctx: NodeContext, params: dict[str, Any]) -> dict[str, object]:
    _agent(ctx)
    players: int = params["max_players"]
    bond: int = params["bond"]
    host_bond = params["host_bond"]
    if host_bond is None:
        host_bond = 3 * bond * players
    table_params = TableParams(
        params["min_bet"],
        params["max_bet"],
        bond,
        host_bond,
        players,
        MAX_ENTRIES[players],
        DEFAULT_CHAIN_N,
    )
    bankroll: int = params["bankroll"]
    core = ctx.core
    probe = Create(table_params, bankroll, bytes(32), Bank.OWN)
    why = malformed_create(probe, core.identity, core.replica.genesis)
    if why is not None:
        raise RpcError(INVALID_PARAMS, f"not a well-formed table: {why}")
    if _can_check(ctx) and core.replica.check(core.identity, probe).reason in (
        Reason.INSUFFICIENT,
        Reason.UNFUNDED,
    ):
        raise _insufficient(ctx, bankroll + host_bond, "the bankroll and host bond come to")
    command = CreateTable(table_params, bankroll, Bank.OWN, params["roll_every"])
    frames = await call(ctx, TableCommand(command))
    assert isinstance(frames, list) and frames
    envelope = _codec(ctx).open(frames[0])
    return {
        "game": envelope.full_hash[:HASH_LEN].hex(),
        "host": core.identity.hex(),
        "nonce": envelope.nonce,
        "bankroll": bankroll,
        "params": _params_json(table_params),
        "roll_every": params["roll_every"],
        "spendable": core.replica.spendable(core.identity),
    }


@METHODS.method(
    "games",
    Param("ended", bool_param, False, "list ended tables too"),
    summary="The tables this node has seen on the mesh: host, seats, limits, bank, funding.",
)
async def games(ctx: NodeContext, params: dict[str, Any]) -> dict[str, object]:
    policy = ctx.core.policy
    agent = policy if isinstance(policy, TableAgent) else None
    rows = game_rows(ctx.core.replica, agent, ended=params["ended"])
    return {"tables": rows, "version": ctx.tables.version if ctx.tables is not None else 0}


@METHODS.method(
    "game_show",
    Param("game", game_param, doc="the table: its game id or a prefix (HOST:GAME if ambiguous)"),
    Param("rolls", int_param(0, 256), 10, "how many of the last rolls to show"),
    Param(
        "after",
        int_param(0, 2**62),
        None,
        "wait until a table packet newer than this version is judged (a long poll)",
    ),
    Param("timeout", _seconds(0.0, MAX_WAIT), 20.0, "seconds a long poll waits at most"),
    summary="One table: seats, bets, the open roll, the last rolls, this node's bets.",
)
async def game_show(ctx: NodeContext, params: dict[str, Any]) -> dict[str, object]:
    agent, log = _agent(ctx)
    table = resolve_game(ctx, params["game"])
    if params["after"] is not None:
        await log.wait(params["after"], params["timeout"])
    return game_detail(ctx.core.replica, agent, log, table.key, rolls=params["rolls"])


@METHODS.method(
    "game_join",
    Param("game", game_param, doc="the table"),
    Param("trust", bool_param, False, "join a table whose create is not own-funded"),
    Param("wait", _seconds(0.0, MAX_WAIT), 0.0, "seconds to wait for the host's answer"),
    summary="Join a table: sign a join (its bond leaves the balance); the host seats or declines.",
)
async def game_join(ctx: NodeContext, params: dict[str, Any]) -> dict[str, object]:
    _, log = _agent(ctx)
    table = resolve_game(ctx, params["game"])
    core = ctx.core
    me = core.identity
    _running(table)
    if table.host == me:
        raise RpcError(REFUSED, "this node hosts that table: a host does not join its own table")
    if table.seat_of(me) is not None:
        raise RpcError(REFUSED, f"this node already sits at seat {table.seat_of(me)} there")
    if not params["trust"] and not create_own_funded(core.replica, table):
        raise RpcError(
            REFUSED,
            f"table {table.game.hex()} is not own-funded: its host paid its bank with credits "
            "that a fork of their payer could undo; join with trust (--trust-credits) to sit "
            "there anyway",
            {"reason": "not_own_funded"},
        )
    if _can_check(ctx):  # a probe of the join's bond against the balance
        probe = Join(table.game, table.host, core.replica.hwm(table.host), bytes(32), 1024)
        if core.replica.check(me, probe).reason is Reason.INSUFFICIENT:
            raise _insufficient(ctx, table.params.bond, "the table's bond is")
    frames = await call(
        ctx, TableCommand(JoinTable(table.host, table.game, DEFAULT_CHAIN_N, params["trust"]))
    )
    nonce = _nonces(ctx, frames)[0]
    tables = _tables(ctx)

    def answered() -> bool:
        current = tables.map("tables").get(table.key)
        return (current is not None and current.seat_of(me) is not None) or (
            (table.key, me, nonce) in tables.map("answered")
        )

    await _wait_until(log, params["wait"], answered)
    current = tables.map("tables").get(table.key)
    seat = current.seat_of(me) if current is not None else None
    declined = tables.map("answered").get((table.key, me, nonce)) is False
    return {
        "game": table.game.hex(),
        "host": table.host.hex(),
        "nonce": nonce,
        "bond": table.params.bond,
        "seat": seat,
        "status": "seated" if seat is not None else "declined" if declined else "pending",
    }


@METHODS.method(
    "game_leave",
    Param("game", game_param, doc="the table"),
    summary="Ask to leave a table: the seat goes once its bets settle; pending bets come back.",
)
async def game_leave(ctx: NodeContext, params: dict[str, Any]) -> dict[str, object]:
    _agent(ctx)
    table = resolve_game(ctx, params["game"])
    _running(table)
    frames = await call(ctx, TableCommand(LeaveTable(table.host, table.game)))
    return {"game": table.game.hex(), "nonce": _nonces(ctx, frames)[0]}


@METHODS.method(
    "game_end",
    Param("game", game_param, doc="the table (this node's)"),
    Param("wind_down", bool_param, False, "include nothing new and end once no bet is live"),
    summary="End a table this node hosts (now: live bets return at stake; or winding down).",
)
async def game_end(ctx: NodeContext, params: dict[str, Any]) -> dict[str, object]:
    _agent(ctx)
    table = resolve_game(ctx, params["game"])
    _own_table(ctx, table, "end it")
    _running(table)
    frames = await call(ctx, TableCommand(EndGame(table.game, params["wind_down"])))
    nonces = _nonces(ctx, frames)
    current = _tables(ctx).map("tables").get(table.key)
    return {
        "game": table.game.hex(),
        "ended": bool(current is not None and current.ended),
        "early": bool(current is not None and current.early),
        "nonce": nonces[0] if nonces else None,
        "wind_down": params["wind_down"],
    }


@METHODS.method(
    "bet",
    Param("game", game_param, doc="the table"),
    Param("bets", bets_param, doc='1 … 8 bets, each [name, amount] (names as "bitcraps bets")'),
    summary="Place up to 8 bets in one packet (all or none): their stakes leave the balance.",
)
async def bet(ctx: NodeContext, params: dict[str, Any]) -> dict[str, object]:
    _agent(ctx)
    table = resolve_game(ctx, params["game"])
    core = ctx.core
    me = core.identity
    _running(table)
    entries: tuple[BetEntry, ...] = params["bets"]
    if table.host == me:
        raise RpcError(REFUSED, "this node hosts that table: the host banks, it does not bet")
    body = Bet(table.game, core.replica.hwm(table.host), entries)
    if _can_check(ctx) and core.replica.check(me, body).reason is Reason.INSUFFICIENT:
        raise _insufficient(ctx, sum(e.amount for e in entries), "the stakes come to")
    seat = table.seat_of(me)
    failed = precheck_bets(core.replica, table, seat, entries)
    if failed is not None:
        label, name = failed
        raise RpcError(REFUSED, _placement_line(table, label, name), {"reason": label, "bet": name})
    behind = precheck_bets(core.replica, table, seat, entries, behind_pending=True)
    frames = await call(ctx, TableCommand(PlaceBets(table.host, table.game, entries)))
    result: dict[str, object] = {
        "game": table.game.hex(),
        "nonce": _nonces(ctx, frames)[0],
        "bets": [
            {"index": i, "bet": bet_name(int(e.code), e.come_point), "stake": e.amount}
            for i, e in enumerate(entries)
        ],
        "spendable": core.replica.spendable(me),
    }
    if behind is not None:
        label, name = behind
        result["waits"] = {"reason": label, "bet": name, "why": RELEASE_WORDS.get(label, label)}
    return result


def _placement_line(table: Table, label: str, name: str) -> str:
    if label == "phase":
        code, _point = parse_bet_name(name)
        placement = PLACEMENT[code]
        now = "come-out" if table.craps.point is None else f"point {table.craps.point}"
        backs = f", with an open {placement.backs.name} bet" if placement.backs is not None else ""
        return (
            f"{name} cannot be placed now: it is placed in the {placement.phase.value} "
            f"phase{backs}, and the table is at {now} (after the open roll)"
        )
    if label == "limits":
        return (
            f"{name}: its stake is outside this table's limits "
            f"({format_crap(table.params.min_bet)} … {format_crap(table.params.max_bet)} CRAP; "
            "odds at least 1 CRAP)"
        )
    return f"{name} would be released by the table: {RELEASE_WORDS.get(label, label)}"


@METHODS.method(
    "cancel",
    Param("game", game_param, doc="the table"),
    Param("upto", int_param(1, 2**32 - 1), None, "cancel bets up to this own nonce (all)"),
    summary="Cancel this node's pending bets at a table, and reclaim what is reclaimable.",
)
async def cancel(ctx: NodeContext, params: dict[str, Any]) -> dict[str, object]:
    _agent(ctx)
    table = resolve_game(ctx, params["game"])
    frames = await call(ctx, TableCommand(CancelBets(table.host, table.game, params["upto"])))
    return {"game": table.game.hex(), "nonce": _nonces(ctx, frames)[0]}


@METHODS.method(
    "roll",
    Param("game", game_param, doc="the table (this node's)"),
    Param("wait", _seconds(0.0, MAX_WAIT), 10.0, "seconds to wait for the players' reveals"),
    summary="Host only: open the next roll now; its dice and settlements once every reveal is in.",
)
async def roll(ctx: NodeContext, params: dict[str, Any]) -> dict[str, object]:
    agent, log = _agent(ctx)
    table = resolve_game(ctx, params["game"])
    _own_table(ctx, table, "open a roll")
    _running(table)
    key: TableKey = table.key
    before = table.k
    frames = await call(ctx, TableCommand(OpenRoll(table.game)))
    signed = set(_nonces(ctx, frames))
    settled = None
    for record in log.rolls.get(key, ()):
        if record.nonce in signed and record.dice is not None:
            settled = record.to_json()
    tables = _tables(ctx)

    def detail() -> dict[str, object]:
        return game_detail(ctx.core.replica, agent, log, key, rolls=0)

    def decided() -> bool:
        current = tables.map("tables").get(key)
        if current is None or current.ended or current.k <= before:
            return current is None or bool(current.ended)
        now = detail()["current"]
        return isinstance(now, dict) and now.get("state") == "decided"

    await _wait_until(log, params["wait"], decided)
    shown = detail()
    current = shown["current"]
    k = int(str(shown["k"]))
    state = "not opened"
    if isinstance(current, dict):
        state = str(current["state"])
    elif k > before:  # the roll opened and was settled already (the table ended on it)
        state = "closed"
        for record in log.rolls.get(key, ()):
            if record.k == k and record.dice is not None:
                current, state = record.to_json(), "settled"
    return {
        "game": table.game.hex(),
        "k": k,
        "state": state,
        "roll": current,
        "settled": settled,
        "point": shown["point"],
        "ended": shown["ended"],
    }
