"""The control API's methods for money and the mesh (docs/API.md): ``status``, ``balance``,
``transfer``, ``history``, ``ping``, ``peers``, ``stats``, ``state_digest``.

Each is one function registered on :data:`METHODS` with its params; each checks everything it
was given before it asks the node for anything, so a refusal leaves nothing half done.  Own
packets go through the node core's ``Issue`` like any other command (no nonce is burnt on a
refusal); reads are of the replica as it stands between two events.  Table methods are added
the same way, one function each, in :mod:`node.drivers.tablemethods` (imported at the end).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import trio

from node.core.node import Command, Issue, MeshPing, NodeCore
from node.core.verdicts import Reason, SupplyError
from node.drivers.control import (
    INVALID_PARAMS,
    REFUSED,
    UNKNOWN_PEER,
    Param,
    Registry,
    RpcError,
    bool_param,
    int_param,
)
from node.drivers.driver import NodeDriver
from node.drivers.metrics import Metrics
from node.drivers.tableview import TableLog
from node.drivers.wallet import HISTORY_LIMIT, Wallet, faucet_due, pending_acks
from protocol.amounts import format_crap
from protocol.constants import MAX_U64, PUBLIC_KEY_LEN
from protocol.frame import FrameCodec
from protocol.kinds import MAX_ACKS_PER_TRANSFER, Transfer
from transports.addresses import format_address

__all__ = ["METHODS", "NodeContext", "NodeInfo", "call", "key_param"]

VERSION: Final = "0.1.0"
MIN_PREFIX: Final = 8
"""Hex digits of the shortest key prefix ``transfer`` resolves."""
_HEX: Final = re.compile(r"[0-9a-f]+")


@dataclass(frozen=True, slots=True)
class NodeInfo:
    """What the daemon knows of itself that the node core does not."""

    network: str
    network_id: bytes
    data_dir: Path | None = None
    control: Path | None = None
    metrics: tuple[str, int] | None = None
    started: float = 0.0
    """``trio.current_time()`` when the node started."""


@dataclass(slots=True)
class NodeContext:
    """What a method may use: the driver (and through it the core), the wallet view, the
    metrics and the daemon's own facts."""

    driver: NodeDriver
    wallet: Wallet
    metrics: Metrics
    info: NodeInfo
    tables: TableLog | None = None
    """The dice and settlements of the tables (None: a node without the table agent)."""

    @property
    def core(self) -> NodeCore:
        return self.driver.core


METHODS: Final[Registry[NodeContext]] = Registry()


async def call(ctx: NodeContext, command: Command) -> object:
    """Hand ``command`` to the node core; its value, or :class:`RpcError` (REFUSED) with the
    core's line.  Table methods go through here with a ``TableCommand``."""
    reply = await ctx.driver.request(command)
    if reply.error is not None:
        raise RpcError(REFUSED, reply.error)
    return reply.value


# --------------------------------------------------------------------------- params


def key_param(value: Any) -> str:
    """A public key as 64 hex digits, or a prefix of at least 8 (resolved by the method)."""
    if not isinstance(value, str):
        raise TypeError("expected a key as a hex string")
    text = value.strip().lower().removeprefix("0x")
    if not _HEX.fullmatch(text) or len(text) > 2 * PUBLIC_KEY_LEN:
        raise ValueError(f"{value!r} is not a key (64 hex digits, or a prefix of at least 8)")
    if len(text) < MIN_PREFIX:
        raise ValueError(f"{value!r} is too short: give at least {MIN_PREFIX} hex digits")
    return text


def _amount(value: Any) -> int:
    """Base units: an integer 1..2^64-1."""
    return int_param(1, MAX_U64)(value)


def _known_keys(core: NodeCore) -> set[bytes]:
    state = core.replica.state
    keys = set(state.accounts) | set(state.senders) | {core.identity}
    keys.update(link.key for link in core.links.up() if link.key is not None)
    return keys


def resolve_key(core: NodeCore, text: str, *, allow_unknown: bool = False) -> bytes:
    """The key ``text`` names: 64 hex digits (a key this node knows of, unless
    ``allow_unknown``), or a prefix of exactly one known key."""
    if len(text) == 2 * PUBLIC_KEY_LEN:
        key = bytes.fromhex(text)
        if allow_unknown or key in _known_keys(core):
            return key
        raise RpcError(
            UNKNOWN_PEER,
            f"unknown peer key {text[:16]}…: this node has seen no packet, account or link of "
            "it; check the key, or pay it anyway with allow_unknown",
            {"key": text},
        )
    matches = sorted(k for k in _known_keys(core) if k.hex().startswith(text))
    if not matches:
        raise RpcError(
            UNKNOWN_PEER,
            f"no known key starts with {text}: give the whole key (64 hex digits)",
            {"key": text},
        )
    if len(matches) > 1:
        shown = ", ".join(k.hex()[:16] for k in matches[:4])
        raise RpcError(
            INVALID_PARAMS,
            f"{len(matches)} known keys start with {text} ({shown}…): give more digits",
        )
    return matches[0]


# --------------------------------------------------------------------------- methods


@METHODS.method("status", summary="The node: identity, network, addresses, chain, links.")
async def status(ctx: NodeContext, params: dict[str, Any]) -> dict[str, object]:
    core = ctx.core
    info = ctx.info
    me = core.identity
    replica = core.replica
    return {
        "identity": me.hex(),
        "version": VERSION,
        "network": {"name": info.network, "id": info.network_id.hex()},
        "address": format_address(ctx.driver.transport.local_address),
        "data_dir": str(info.data_dir) if info.data_dir is not None else None,
        "control": str(info.control) if info.control is not None else None,
        "metrics": format_address(info.metrics) if info.metrics is not None else None,
        "pid": os.getpid(),
        "uptime": round(trio.current_time() - info.started, 3),
        "recovering": core.recovering,
        "hwm": replica.hwm(me),
        "spendable": replica.spendable(me),
        "faucet": faucet_due(core, me),
        "digest": replica.digest().hex(),
        "neighbours": core.links.count_up(),
    }


@METHODS.method(
    "balance",
    Param("key", key_param, None, "whose balance (default: this node's own key)"),
    summary="Spendable, held and pending money of a key, as this node's replica sees it.",
)
async def balance(ctx: NodeContext, params: dict[str, Any]) -> dict[str, object]:
    key = None
    if params["key"] is not None:
        key = resolve_key(ctx.core, params["key"], allow_unknown=True)
    return ctx.wallet.balance(key)


@METHODS.method(
    "transfer",
    Param("to", key_param, doc="the payee's key (64 hex digits, or a known key's prefix)"),
    Param("amount", _amount, doc="base units (1 CRAP = 1,000,000)"),
    Param(
        "acknowledge",
        bool_param,
        True,
        "acknowledge this node's pending credits in the same packet (up to 4 payers)",
    ),
    Param("allow_unknown", bool_param, False, "pay a key this node has never seen"),
    summary="Sign a transfer to another key; the result once it is committed here.",
)
async def transfer(ctx: NodeContext, params: dict[str, Any]) -> dict[str, object]:
    core = ctx.core
    replica = core.replica
    me = core.identity
    to = resolve_key(core, params["to"], allow_unknown=params["allow_unknown"])
    if to == me:
        raise RpcError(INVALID_PARAMS, "that is this node's own key: a transfer pays another key")
    amount: int = params["amount"]
    acks = pending_acks(core, MAX_ACKS_PER_TRANSFER) if params["acknowledge"] else []
    body = Transfer(to, amount, tuple(replica.ref(sender, nonce) for sender, nonce in acks))
    if not core.recovering and replica.hwm(me) == replica.logged_top(me)[0]:
        verdict = replica.check(me, body)
        if verdict.reason is Reason.INSUFFICIENT:
            can = _can_spend(core, acks)
            raise RpcError(
                REFUSED,
                f"insufficient balance: {format_crap(amount)} CRAP is more than the "
                f"{format_crap(can)} CRAP this node can spend now",
                {"reason": "insufficient", "spendable": can, "amount": amount},
            )
    started = trio.current_time()
    frame = await call(ctx, Issue(body))
    ctx.metrics.issue_seconds.observe(trio.current_time() - started)
    assert isinstance(frame, bytes)
    envelope = FrameCodec(replica.genesis.network_id).open(frame)
    return {
        "sender": me.hex(),
        "nonce": envelope.nonce,
        "h": envelope.full_hash[:8].hex(),
        "to": to.hex(),
        "amount": amount,
        "acks": [[sender.hex(), nonce] for sender, nonce in acks],
        "spendable": replica.spendable(me),
    }


def _can_spend(core: NodeCore, acks: list[tuple[bytes, int]]) -> int:
    """What a transfer acknowledging ``acks`` could spend (the judge's formula, LEDGER.md §5)."""
    replica = core.replica
    me = core.identity
    state = replica.state
    account = state.accounts.get(me)
    total = account.spendable if account is not None else 0
    if account is not None:
        for creditor, nonce in acks:
            line = account.lines.get(creditor)
            if line is not None:
                total += line.gain_to(nonce)
    return total + faucet_due(core, me)


@METHODS.method(
    "history",
    Param("limit", int_param(1, HISTORY_LIMIT), 20, f"items, newest first (1..{HISTORY_LIMIT})"),
    summary="This node's packets and the transfers paying it, newest first.",
)
async def history(ctx: NodeContext, params: dict[str, Any]) -> dict[str, object]:
    items, more = ctx.wallet.history(params["limit"])
    return {"key": ctx.core.identity.hex(), "items": items, "more": more}


@METHODS.method(
    "ping",
    Param("ttl", int_param(1, 255), 8, "hops the ping may travel (1..255)"),
    summary="Ping the mesh: who answers within 2 s, in how many hops and milliseconds.",
)
async def ping(ctx: NodeContext, params: dict[str, Any]) -> dict[str, object]:
    neighbours = ctx.core.links.count_up()
    answers = await call(ctx, MeshPing(params["ttl"]))
    assert isinstance(answers, list)
    rows = [
        {"key": key, "hops": hops, "ms": round(seconds * 1000, 3)}
        for key, hops, seconds in sorted(answers, key=lambda a: (a[1], a[2]))
    ]
    return {"ttl": params["ttl"], "neighbours": neighbours, "answers": rows}


@METHODS.method("peers", summary="The neighbours: key, address, mode, score, chain.")
async def peers(ctx: NodeContext, params: dict[str, Any]) -> dict[str, object]:
    core = ctx.core
    replica = core.replica
    now = trio.current_time()
    rows = []
    pending = 0
    for link in sorted(core.links.all(), key=lambda lk: (lk.key or b"", lk.address)):
        if link.key is None:
            pending += 1
            continue
        rows.append(
            {
                "key": link.key.hex(),
                "address": format_address(link.address),
                "mode": "eager" if link.eager else "lazy",
                "score": round(link.score.value(now), 3),
                "up": round(now - link.since, 3),
                "idle": round(now - link.last_rx, 3),
                "hwm": replica.hwm(link.key),
                "fork": replica.fork_point(link.key),
            }
        )
    return {"peers": rows, "pending": pending, "dialling": core.queues()["dials"]}


@METHODS.method("stats", summary="Every metric: counters, gauges, histograms.")
async def stats(ctx: NodeContext, params: dict[str, Any]) -> dict[str, object]:
    return ctx.metrics.snapshot()


@METHODS.method("state_digest", summary="The replica's state digest, supply (audited) and size.")
async def state_digest(ctx: NodeContext, params: dict[str, Any]) -> dict[str, object]:
    replica = ctx.core.replica
    state = replica.state
    try:
        state.audit()
    except SupplyError as exc:
        audit = str(exc)
    else:
        audit = "ok"
    return {
        "digest": replica.digest().hex(),
        "supply": state.supply,
        "audit": audit,
        "senders": len(state.senders),
        "accounts": len(state.accounts),
        "forked": len(replica.forked()),
    }


# the table methods register on METHODS too
from node.drivers import tablemethods as _tablemethods  # noqa: E402, F401
