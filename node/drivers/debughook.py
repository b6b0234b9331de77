"""TEST-ONLY hook of the daemon for what the control API (node/drivers/control.py) leaves out:
raw operations no user makes, and the table commands until the API has them.

Enabled only when ``BITCRAPS_DEBUG_SOCKET`` names a path: a Unix socket (0600) taking one JSON
object per line and answering one per line.  Operations: ``publish`` (a ``frame`` signed
elsewhere, in hex: how the tests put a forking key's two versions on two daemons), ``connect``
(``address``), and the table commands of ``node.core.tables.commands``, one op each, their
fields by name (keys and game ids in hex, amounts in base units, bets as ``[[name, amount], …]``
with the CLI's bet names): ``create_table``, ``open_roll``, ``set_cadence``, ``end_game``,
``join_table``, ``place_bets``, ``leave_table``, ``cancel_bets``; ``tables`` shows the tables
the node hosts or sits at.  It drives the daemon through the node core's commands, never the
core's internals.  Not for people: the control API is.
"""

from __future__ import annotations

import json
import logging
import os
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Final

import trio

from node.core.node import Command, Connect, Publish, TableCommand
from node.core.tables.agent import TableAgent
from node.core.tables.commands import (
    CancelBets,
    CreateTable,
    EndGame,
    JoinTable,
    LeaveTable,
    OpenRoll,
    PlaceBets,
    SetCadence,
    TableCommandPayload,
)
from node.core.tables.params import DEFAULT_CHAIN_N, default_params
from node.drivers.driver import NodeDriver
from protocol.bets import parse_bet_name
from protocol.kinds import Bank, BetEntry, replace
from transports.addresses import parse_address

__all__ = ["ENV", "serve_debug"]

ENV: Final = "BITCRAPS_DEBUG_SOCKET"
MAX_LINE: Final = 64 * 1024

log = logging.getLogger("bitcraps.debug")


async def serve_debug(
    driver: NodeDriver, path: Path, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
) -> None:
    """Serve the hook at ``path`` until cancelled."""
    path.unlink(missing_ok=True)
    sock = trio.socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    await sock.bind(str(path))
    os.chmod(path, 0o600)
    sock.listen(8)
    listener = trio.SocketListener(sock)
    log.warning("test-only debug hook listening on %s", path)
    task_status.started()

    async def session(stream: trio.SocketStream) -> None:
        await _session(driver, stream)

    try:
        await trio.serve_listeners(session, [listener])
    finally:
        path.unlink(missing_ok=True)


async def _session(driver: NodeDriver, stream: trio.abc.Stream) -> None:
    buffer = b""
    async with stream:
        while True:
            try:
                chunk = await stream.receive_some(65536)
            except trio.BrokenResourceError:
                return
            if not chunk:
                return
            buffer += chunk
            while b"\n" in buffer:
                line, buffer = buffer.split(b"\n", 1)
                try:
                    answer = await _handle(driver, json.loads(line))
                except (ValueError, KeyError, TypeError, LookupError) as exc:
                    answer = {"error": f"{type(exc).__name__}: {exc}"}
                await stream.send_all(json.dumps(answer).encode() + b"\n")
            if len(buffer) > MAX_LINE:
                return


async def _handle(driver: NodeDriver, request: dict[str, object]) -> dict[str, object]:
    op = request["op"]
    command: Command
    if op == "publish":
        command = Publish(bytes.fromhex(str(request["frame"])))
    elif op == "connect":
        command = Connect(parse_address(str(request["address"])))
    elif op == "tables":
        core = driver.core
        policy = core.policy
        return {"value": policy.describe(core.replica) if isinstance(policy, TableAgent) else []}
    elif op in TABLE_OPS:
        command = TableCommand(TABLE_OPS[op](request))
    else:
        raise ValueError(f"unknown op {op!r} (the control API has the rest)")
    reply = await driver.request(command)
    if reply.error is not None:
        return {"error": reply.error}
    value = reply.value
    if isinstance(value, list):
        return {"value": [v.hex() if isinstance(v, bytes) else v for v in value]}
    return {"value": value.hex() if isinstance(value, bytes) else value}


# --------------------------------------------------------------------------- table commands


def _hex(request: dict[str, object], name: str) -> bytes:
    return bytes.fromhex(str(request[name]))


def _seconds(value: object) -> float | None:
    return None if value is None else float(str(value))


def _create(request: dict[str, object]) -> CreateTable:
    changes = request.get("params", {})
    if not isinstance(changes, dict):
        raise TypeError("params is an object of TableParams fields")
    params = replace(default_params(), **{str(k): int(str(v)) for k, v in changes.items()})
    return CreateTable(
        params,
        int(str(request.get("bankroll", CreateTable().bankroll))),
        Bank(int(str(request.get("bank", 0)))),
        _seconds(request.get("roll_every")),
    )


def _bets(request: dict[str, object]) -> PlaceBets:
    entries = []
    bets = request["bets"]
    if not isinstance(bets, list):
        raise TypeError("bets is a list of [name, amount]")
    for name, amount in bets:
        code, point = parse_bet_name(str(name))
        entries.append(BetEntry(code, int(str(amount)), point))
    return PlaceBets(_hex(request, "host"), _hex(request, "game"), tuple(entries))


TABLE_OPS: dict[str, Callable[[dict[str, object]], TableCommandPayload]] = {
    "create_table": _create,
    "open_roll": lambda r: OpenRoll(_hex(r, "game")),
    "set_cadence": lambda r: SetCadence(_hex(r, "game"), _seconds(r.get("roll_every"))),
    "end_game": lambda r: EndGame(_hex(r, "game"), bool(r.get("wind_down", False))),
    "join_table": lambda r: JoinTable(
        _hex(r, "host"),
        _hex(r, "game"),
        int(str(r.get("chain_n", DEFAULT_CHAIN_N))),
        bool(r.get("trust", False)),
    ),
    "place_bets": _bets,
    "leave_table": lambda r: LeaveTable(_hex(r, "host"), _hex(r, "game")),
    "cancel_bets": lambda r: CancelBets(
        _hex(r, "host"), _hex(r, "game"), None if r.get("upto") is None else int(str(r["upto"]))
    ),
}
"""Each table op of the hook and the typed command it makes (one to one)."""
