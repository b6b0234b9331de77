"""The ``bitcraps`` commands that talk to a running daemon through its control API: ``status``,
``balance``, ``transfer``, ``history``, ``ping``, ``peers``, ``stats``, ``state-digest``.

Each parses its arguments, makes one request (node/drivers/client.py), and prints a readable
line or table, or with ``--json`` the API's result as it came.  Amounts are typed and shown in
CRAP (up to six decimals); the API carries base units.  Failures are
:class:`~node.drivers.cli.UserError` lines: exit 1 when the daemon said no or is not there, 2
for a bad argument.
"""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from node.drivers.client import ClientError, ControlClient, RemoteError
from node.drivers.datadir import default_data_dir
from node.drivers.jsonrpc import INVALID_PARAMS, UNKNOWN_PEER
from protocol.amounts import AmountError, format_crap, parse_crap

__all__ = ["CommandFailed", "add_client_commands"]


class CommandFailed(Exception):
    """One line for the user; ``usage`` selects exit status 2 over 1."""

    def __init__(self, message: str, *, usage: bool = False) -> None:
        super().__init__(message)
        self.usage = usage


_HEX = re.compile(r"[0-9a-f]+")

Render = Callable[[Any, argparse.Namespace, TextIO], None]


def _client(args: argparse.Namespace) -> ControlClient:
    data_dir = getattr(args, "data_dir", None)
    return ControlClient(data_dir if data_dir is not None else default_data_dir())


def _call(args: argparse.Namespace, method: str, params: dict[str, Any] | None = None) -> Any:
    try:
        return _client(args).call(method, params)
    except RemoteError as exc:
        raise CommandFailed(_explain(exc, args), usage=exc.code == INVALID_PARAMS) from None
    except ClientError as exc:
        raise CommandFailed(str(exc)) from None


def _explain(exc: RemoteError, args: argparse.Namespace) -> str:
    """The daemon's line, with what to do about it where the CLI knows better."""
    message = str(exc)
    data = exc.data if isinstance(exc.data, dict) else {}
    if exc.code == UNKNOWN_PEER:
        key = str(data.get("key", ""))
        shown = key[:16] + ("…" if len(key) > 16 else "")
        return (
            f"unknown peer key {shown}: this node has seen no packet, account or link of it; "
            "check it ('bitcraps peers' lists the neighbours), or add --new-peer to pay it anyway"
        )
    if data.get("reason") == "insufficient":
        return f"{message} (see 'bitcraps balance')"
    return message


def _emit(out: TextIO, args: argparse.Namespace, result: Any, render: Render) -> int:
    if args.json:
        json.dump(result, out, indent=2)
        out.write("\n")
    else:
        render(result, args, out)
    return 0


def _crap(units: object) -> str:
    return f"{format_crap(int(str(units)))} CRAP"


def _short(key: object) -> str:
    return str(key)[:16]


# --------------------------------------------------------------------------- commands


def cmd_status(args: argparse.Namespace, out: TextIO) -> int:
    return _emit(out, args, _call(args, "status"), _render_status)


def _render_status(r: Any, args: argparse.Namespace, out: TextIO) -> None:
    rows = [
        ("node", r["identity"]),
        ("network", f"{r['network']['name']} ({r['network']['id'][:8]})"),
        ("listening", r["address"]),
        ("neighbours", str(r["neighbours"])),
        ("own packets", str(r["hwm"])),
        ("spendable", _crap(r["spendable"]) + _faucet_note(r)),
        ("digest", r["digest"]),
        ("data dir", str(r["data_dir"])),
        ("metrics", f"http://{r['metrics']}/metrics" if r["metrics"] else "off"),
        ("up", f"{r['uptime']:.0f} s (pid {r['pid']}, version {r['version']})"),
    ]
    if r["recovering"]:
        rows.append(("recovering", "yes: signs nothing until 3 peers confirm its own history"))
    for name, value in rows:
        out.write(f"{name:<12} {value}\n")


def _faucet_note(r: Any) -> str:
    """What the key's first packet will mint, when it has one to come."""
    faucet = r.get("faucet", 0)
    return f" (+{_crap(faucet)} from the faucet with the first packet signed)" if faucet else ""


def cmd_balance(args: argparse.Namespace, out: TextIO) -> int:
    params = {"key": _key_text(args.key)} if args.key else None
    return _emit(out, args, _call(args, "balance", params), _render_balance)


def _render_balance(r: Any, args: argparse.Namespace, out: TextIO) -> None:
    if not r["own"]:
        out.write(f"key {r['key']}, as this node's replica sees it\n")
    out.write(f"spendable   {_crap(r['spendable'])}{_faucet_note(r)}\n")
    out.write(f"held        {_crap(r['held'])} (stakes and bonds at tables)\n")
    pending = r["pending"]
    if not pending:
        out.write("pending     none\n")
    else:
        out.write(
            f"pending     {_crap(r['pending_total'])}, not spendable until acknowledged "
            "(the next transfer acknowledges them)\n"
        )
        for p in pending:
            note = (
                f"  REVISED {p['revised']['before']} → {p['revised']['after']}"
                if ("revised" in p)
                else ""
            )
            out.write(
                f"  {_crap(p['amount']):>20} from {_short(p['from'])} packet {p['nonce']}, "
                f"seen by {p['holders']} of {r['neighbours']} neighbours (a fork by the payer "
                f"can still undo it){note}\n"
            )
    if r["fork"]:
        out.write(f"FORKED at packet {r['fork']}: this key can sign nothing more\n")
    if r["revised"]:
        out.write("revised by a late fork proof:\n")
        for rev in r["revised"]:
            out.write(
                f"  {_short(rev['sender'])} packet {rev['nonce']}: "
                f"{rev['before']} → {rev['after']}\n"
            )


def _key_text(text: str) -> str:
    """A key or key prefix as typed: checked here so a typo needs no daemon."""
    key = text.strip().lower().removeprefix("0x")
    if not _HEX.fullmatch(key) or not 8 <= len(key) <= 64:
        raise CommandFailed(
            f"{text!r} is not a key: give its 64 hex digits, or at least the first 8 of a key "
            "this node knows ('bitcraps peers' lists the neighbours)",
            usage=True,
        )
    return key


def cmd_transfer(args: argparse.Namespace, out: TextIO) -> int:
    peer = _key_text(args.peer)
    try:
        amount = parse_crap(args.amount)
    except AmountError as exc:
        raise CommandFailed(f"{exc}", usage=True) from None
    params = {
        "to": peer,
        "amount": amount,
        "acknowledge": not args.no_ack,
        "allow_unknown": args.new_peer,
    }
    return _emit(out, args, _call(args, "transfer", params), _render_transfer)


def _render_transfer(r: Any, args: argparse.Namespace, out: TextIO) -> None:
    acks = len(r["acks"])
    acked = f", acknowledging {acks} payer{'s' if acks != 1 else ''}" if acks else ""
    out.write(
        f"sent {_crap(r['amount'])} to {_short(r['to'])} (own packet {r['nonce']}{acked}); "
        f"spendable now {_crap(r['spendable'])}\n"
    )


def cmd_history(args: argparse.Namespace, out: TextIO) -> int:
    return _emit(out, args, _call(args, "history", {"limit": args.limit}), _render_history)


def _render_history(r: Any, args: argparse.Namespace, out: TextIO) -> None:
    items = r["items"]
    if not items:
        out.write("no packets yet\n")
        return
    for item in items:
        out.write(_history_line(item) + "\n")
    if r["more"]:
        out.write(f"… older items left out (--limit {args.limit})\n")


def _history_line(item: dict[str, Any]) -> str:
    kind = item["kind"]
    who = _short(item["sender"])
    where = (
        f"packet {item['nonce']:>4}" if item["direction"] == "out" else f"{who} #{item['nonce']}"
    )
    if kind == "transfer" and item["direction"] == "out":
        what = f"-{_crap(item['amount'])} to {_short(item['to'])}"
    elif kind == "transfer":
        what = f"+{_crap(item['amount'])} from {who} ({item.get('credit', 'none')})"
    elif kind == "ack":
        what = f"acknowledged {len(item.get('acks', []))} payer(s)"
    elif kind == "bet" and "bets" in item:
        stakes = ", ".join(f"{name} {format_crap(stake)}" for name, stake in item["bets"])
        what = f"bet {stakes} at {item['game'][:8]}"
    elif "game" in item:
        roll = f" of roll {item['k']}" if "k" in item else ""
        what = f"{kind}{roll} {'' if kind == 'create' else 'at '}{item['game'][:8]}"
    else:
        what = kind
    notes = []
    if "mint" in item:
        notes.append(f"faucet +{_crap(item['mint'])}")
    if item.get("acks") and kind == "transfer" and item["direction"] == "out":
        notes.append(f"acknowledges {len(item['acks'])}")
    if "revised" in item:
        notes.append(f"REVISED {item['revised']['before']} → {item['revised']['after']}")
    note = f"  [{'; '.join(notes)}]" if notes else ""
    return f"{where:<24} {what:<48} {item['verdict']}{note}"


def cmd_ping(args: argparse.Namespace, out: TextIO) -> int:
    return _emit(out, args, _call(args, "ping", {"ttl": args.ttl}), _render_ping)


def _render_ping(r: Any, args: argparse.Namespace, out: TextIO) -> None:
    if not r["neighbours"]:
        out.write("no neighbours linked: nobody to ping (see 'bitcraps peers')\n")
        return
    if not r["answers"]:
        out.write(f"no answer within 2 s from {r['neighbours']} neighbours (ttl {r['ttl']})\n")
        return
    for a in r["answers"]:
        hops = f"{a['hops']} hop{'s' if a['hops'] != 1 else ''}"
        out.write(f"{a['key']}  {hops:<8} {a['ms']:>9.3f} ms\n")


def cmd_peers(args: argparse.Namespace, out: TextIO) -> int:
    return _emit(out, args, _call(args, "peers"), _render_peers)


def _render_peers(r: Any, args: argparse.Namespace, out: TextIO) -> None:
    peers = r["peers"]
    if not peers:
        out.write(
            f"no neighbours linked ({r['pending']} handshakes, {r['dialling']} addresses being "
            "dialled)\n"
        )
        return
    out.write(f"{'KEY':<17}{'ADDRESS':<24}{'MODE':<7}{'SCORE':>7}{'UP':>9}  PACKETS\n")
    for p in peers:
        fork = f" (forked at {p['fork']})" if p["fork"] else ""
        out.write(
            f"{_short(p['key']):<17}{p['address']:<24}{p['mode']:<7}{p['score']:>7.2f}"
            f"{p['up']:>8.0f}s  {p['hwm']}{fork}\n"
        )


def cmd_stats(args: argparse.Namespace, out: TextIO) -> int:
    return _emit(out, args, _call(args, "stats"), _render_stats)


def _render_stats(r: Any, args: argparse.Namespace, out: TextIO) -> None:
    for name, value in r.items():
        if name.endswith("_bucket"):
            continue
        if isinstance(value, dict):
            for labels, number in value.items():
                out.write(f"{name}{{{labels}}} {number}\n")
        else:
            out.write(f"{name} {value}\n")


def cmd_state_digest(args: argparse.Namespace, out: TextIO) -> int:
    return _emit(out, args, _call(args, "state_digest"), _render_digest)


def _render_digest(r: Any, args: argparse.Namespace, out: TextIO) -> None:
    out.write(
        f"{r['digest']}  (supply {_crap(r['supply'])}, {r['senders']} senders, "
        f"{r['accounts']} accounts, {r['forked']} forked; audit {r['audit']})\n"
    )


# --------------------------------------------------------------------------- the parsers


def add_client_commands(sub: Any) -> None:
    """Add the client commands to the ``bitcraps`` subcommands (argparse's subparsers action)."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", help="print the API's result as JSON")
    common.add_argument(
        "--data-dir",
        metavar="DIR",
        type=Path,
        default=argparse.SUPPRESS,
        help="the node's data directory (default: $BITCRAPS_HOME or ~/.bitcraps)",
    )

    def add(name: str, func: Callable[[argparse.Namespace, TextIO], int], help_: str) -> Any:
        parser = sub.add_parser(name, parents=[common], help=help_, description=help_ + ".")
        parser.set_defaults(func=func)
        return parser

    add("status", cmd_status, "the running node: identity, network, addresses, links")
    balance = add(
        "balance",
        cmd_balance,
        "spendable, held and pending CRAP, and verdicts a late fork revised",
    )
    balance.add_argument(
        "key", nargs="?", help="another key (or a known key's prefix) to look up instead"
    )
    transfer = add("transfer", cmd_transfer, "pay CRAP to another key")
    transfer.add_argument("peer", help="the payee's key (64 hex digits, or a known key's prefix)")
    transfer.add_argument("amount", help="CRAP, up to 6 decimals (e.g. 12.5)")
    transfer.add_argument(
        "--no-ack",
        action="store_true",
        help="do not acknowledge pending credits in this packet (by default up to 4 payers "
        "are acknowledged, making what they paid spendable)",
    )
    transfer.add_argument(
        "--new-peer", action="store_true", help="pay a key this node has never seen"
    )
    history = add("history", cmd_history, "this node's packets and the transfers paying it")
    history.add_argument(
        "--limit", type=_limit, default=20, metavar="N", help="items, newest first (default 20)"
    )
    ping = add("ping", cmd_ping, "ping the mesh: who answers, in how many hops and ms")
    ping.add_argument("--ttl", type=_ttl, default=8, metavar="HOPS", help="default 8")
    add("peers", cmd_peers, "the neighbours linked: key, address, gossip mode, score")
    add("stats", cmd_stats, "the node's metrics (counters, gauges, histograms)")
    add("state-digest", cmd_state_digest, "the replica's state digest, to compare across nodes")


def _bounded(lo: int, hi: int, what: str) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number of {what}") from None
        if not lo <= value <= hi:
            raise argparse.ArgumentTypeError(f"{what} must be {lo}..{hi}, not {value}")
        return value

    return parse


_limit = _bounded(1, 1000, "items")
_ttl = _bounded(1, 255, "hops")
