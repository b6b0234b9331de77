"""The ``bitcraps`` command: the one entry point people type.

Each subcommand parses its arguments, does its work through the library, and prints either its
result (``--json`` for machines) or one readable line saying what went wrong — never a traceback
for a user's mistake.  Exit codes: 0 done, 1 the input or the request was refused, 2 usage.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn, TextIO

from node.core.craps.catalog import catalog, render_odds
from node.core.craps.replay import ReplayError, parse_bet, parse_dice, render_text, replay
from node.drivers.clientcmd import CommandFailed, add_client_commands
from node.drivers.demo import add_demo_command
from node.drivers.gamecmd import add_game_commands
from node.drivers.nodecmd import add_node_command
from protocol.amounts import AmountError, parse_crap
from protocol.bets import PLACEMENT, BetType, all_cli_names, parse_bet_name
from protocol.constants import MAX_FRAME
from protocol.errors import Malformed, PacketError
from protocol.frame import FrameCodec, decode_body
from protocol.genesis import LOCAL, Genesis, GenesisError, load_genesis
from protocol.jsonform import envelope_to_json, packet_to_json

__all__ = ["main"]

EXIT_OK = 0
EXIT_REFUSED = 1
EXIT_USAGE = 2


class UserError(Exception):
    """A mistake in what the user asked for; printed as one line."""


class UsageError(UserError):
    """A bad name or value in the command line itself: printed as one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        """One line, like every other failure, with where to read the usage."""
        self.exit(EXIT_USAGE, f"{self.prog}: {message} (see '{self.prog} --help')\n")


def _genesis(path: str | None) -> Genesis:
    if path is None:
        return LOCAL
    try:
        return load_genesis(path)
    except GenesisError as exc:
        raise UserError(str(exc)) from None


def _parse_hex(text: str) -> bytes:
    cleaned = "".join(text.split()).removeprefix("0x").removeprefix("0X")
    if len(cleaned) > 2 * (MAX_FRAME + 1):
        raise UserError(f"input is longer than a frame ({MAX_FRAME} bytes)")
    try:
        return bytes.fromhex(cleaned)
    except ValueError:
        raise UserError("input is not hex (expected pairs of 0-9a-f, spaces allowed)") from None


def cmd_packet_decode(args: argparse.Namespace, out: TextIO) -> int:
    """Decode one frame given as hex; print JSON, or one line saying what is wrong."""
    text = args.hex if args.hex != "-" else sys.stdin.read()
    data = _parse_hex(text)
    codec = FrameCodec(_genesis(args.genesis).network_id)
    try:
        envelope = codec.open(data)
        codec.verify(envelope)
        packet = decode_body(envelope)
    except Malformed as exc:
        env = envelope_to_json(exc.envelope)  # type: ignore[attr-defined]
        raise UserError(
            f"refused(malformed) {type(exc).__name__} [code {exc.code}]: {exc} — signed by "
            f"{env['sender'][:8]} at nonce {env['nonce']}, so it is logged and uses up that nonce"
        ) from None
    except PacketError as exc:
        raise UserError(f"rejected {type(exc).__name__} [code {exc.code}]: {exc}") from None
    result = packet_to_json(envelope, packet)
    result["verdict"] = "valid"
    result["size"] = len(data)
    json.dump(result, out, indent=None if args.compact else 2)
    out.write("\n")
    return EXIT_OK


def cmd_bets(args: argparse.Namespace, out: TextIO) -> int:
    """List every bet a player can name, with its wire code and when it may be placed."""
    rows: list[dict[str, Any]] = []
    for name in all_cli_names():
        bet, point = parse_bet_name(name)
        placement = PLACEMENT[bet]
        rows.append(
            {
                "name": name,
                "code": int(bet),
                "type": bet.name,
                "come_point": point,
                "phase": placement.phase.value,
                "backs": placement.backs.name if placement.backs is not None else None,
            }
        )
    if args.json:
        json.dump(rows, out, indent=2)
        out.write("\n")
        return EXIT_OK
    for row in rows:
        backs = f", backs {BetType[row['backs']].name}" if row["backs"] else ""
        out.write(f"{row['name']:<22} code {row['code']:>2}  {row['phase']}{backs}\n")
    return EXIT_OK


def cmd_network(args: argparse.Namespace, out: TextIO) -> int:
    """Show the network a genesis defines (the built-in 'local' one by default)."""
    g = _genesis(args.genesis)
    info = {
        "name": g.name,
        "network_id": g.network_id.hex(),
        "prefix": g.network_id[:4].hex(),
        "play_money": g.play_money,
        "faucet_amount": g.faucet_amount,
        "min_account": g.min_account,
        "treasury_reserve": g.treasury_reserve,
        "house_key": g.house_key.hex() if g.house_key else None,
        "grants": [[key.hex(), amount] for key, amount in g.grants],
        "bounds": {
            "min_bet": g.bounds.min_bet_lo,
            "max_bet": g.bounds.max_bet_hi,
            "max_players": g.bounds.max_players,
            "bond": g.bounds.bond_lo,
        },
    }
    if args.json:
        json.dump(info, out, indent=2)
        out.write("\n")
    else:
        out.write(f"network {g.name}: id {info['network_id']} (prefix {info['prefix']})\n")
    return EXIT_OK


def cmd_odds(args: argparse.Namespace, out: TextIO) -> int:
    """Every bet type with when it may be placed, what it pays and its exact house edge."""
    rows = catalog()
    if args.json:
        json.dump([info.to_json() for info in rows], out, indent=2)
        out.write("\n")
    else:
        out.write(render_odds(rows))
    return EXIT_OK


def _crap_option(option: str, text: str | None) -> int | None:
    if text is None:
        return None
    try:
        return parse_crap(text, allow_zero=True)
    except AmountError as exc:
        raise UsageError(f"{option}: {exc}") from None


def cmd_table_replay(args: argparse.Namespace, out: TextIO) -> int:
    """Replay one player's bets against given dice with the rules engine (no network)."""
    try:
        rolls = parse_dice(args.dice)
        bets = [parse_bet(text) for text in args.bet]
        result = replay(
            rolls,
            bets,
            balance=_crap_option("--balance", args.balance),
            bond=_crap_option("--bond", args.bond),
            bankroll=_crap_option("--bankroll", args.bankroll),
        )
    except ReplayError as exc:
        raise UsageError(str(exc)) from None
    if args.json:
        json.dump(result.to_json(), out, indent=2)
        out.write("\n")
    else:
        out.write(render_text(result))
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    """The whole command line, with help for every subcommand."""
    parser = _Parser(
        prog="bitcraps",
        description=(
            "BitCraps Mesh: a peer-to-peer craps table with its own token (CRAP). Every device "
            "runs one node daemon that signs its packets and gossips them over UDP and "
            "Bluetooth LE; this command talks to it and inspects the wire format."
        ),
        epilog="Run 'bitcraps COMMAND --help' for the options of a command.",
    )
    parser.add_argument(
        "--data-dir",
        metavar="DIR",
        type=Path,
        default=None,
        help="the node's data directory: the daemon keeps its key, ledger and control socket "
        "there, and the client commands find it there (default: $BITCRAPS_HOME or ~/.bitcraps)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    add_demo_command(sub)

    add_node_command(sub)
    add_client_commands(sub)
    add_game_commands(sub)

    packet = sub.add_parser(
        "packet",
        help="inspect wire-format packets",
        description="Inspect ledger frames as they travel on the wire.",
    )
    packet_sub = packet.add_subparsers(dest="packet_command", metavar="ACTION", required=True)
    decode = packet_sub.add_parser(
        "decode",
        help="decode one frame given as hex",
        description=(
            "Decode one ledger frame given as hex (spaces allowed; '-' reads stdin). Prints the "
            "packet as JSON when it is valid, or one line saying what is wrong with the bytes: "
            "'rejected' (cannot be attributed to its sender) or 'refused(malformed)' (a body "
            "fault under a valid signature). Exit status 0 when valid, 1 otherwise."
        ),
    )
    decode.add_argument("hex", help="the frame as hex, or '-' to read it from stdin")
    decode.add_argument(
        "--genesis", metavar="FILE", help="genesis TOML of the network (default: built-in 'local')"
    )
    decode.add_argument("--compact", action="store_true", help="print JSON on one line")
    decode.set_defaults(func=cmd_packet_decode)

    bets = sub.add_parser(
        "bets",
        help="list bet names, wire codes and when each may be placed",
        description="List every bet name the CLI accepts (case-insensitive), with its wire code.",
    )
    bets.add_argument("--json", action="store_true", help="print JSON")
    bets.set_defaults(func=cmd_bets)

    network = sub.add_parser(
        "network",
        help="show the network id a genesis defines",
        description="Show a network's genesis values and its network id.",
    )
    network.add_argument(
        "--genesis", metavar="FILE", help="genesis TOML (default: built-in 'local')"
    )
    network.add_argument("--json", action="store_true", help="print JSON")
    network.set_defaults(func=cmd_network)

    odds = sub.add_parser(
        "odds",
        help="every bet type with its payout and exact house edge",
        description=(
            "List every bet type: its wire code, when it may be placed, what it pays and its "
            "house edge (expected loss per unit staked, per bet made, a push counted as a bet "
            "made), computed exactly by the rules engine."
        ),
    )
    odds.add_argument("--json", action="store_true", help="print JSON (house_edge as a fraction)")
    odds.set_defaults(func=cmd_odds)

    table = sub.add_parser(
        "table", help="craps tables: replay bets offline", description="Craps tables."
    )
    table_sub = table.add_subparsers(dest="table_command", metavar="ACTION", required=True)
    replay_parser = table_sub.add_parser(
        "replay",
        help="replay one player's bets against given dice",
        description=(
            "Replay one player's bets against the dice you give, with the same rules engine a "
            "table runs (no network). The table has the defaults of TABLES.md section 9: bets "
            "of 1 to 100 CRAP, odds up to 3x/4x/5x the bet they back; no risk cap or cover "
            "unless --bond or --bankroll is given. A bet the checks release is listed with its "
            "reason; a bet whose phase does not allow it, a bad bet name or bad dice is one "
            "line and exit status 2."
        ),
        epilog=(
            "Example: bitcraps table replay --dice '2-2 3-3 1-3' --bet pass:10 1@odds-pass:30 "
            "1@field:5"
        ),
    )
    replay_parser.add_argument(
        "--dice",
        required=True,
        metavar="ROLLS",
        help="the rolls in order, each two dice joined by '-': '3-4 6-6 2-2'",
    )
    replay_parser.add_argument(
        "--bet",
        required=True,
        action="extend",
        nargs="+",
        metavar="[ROLL@]NAME:AMOUNT",
        help=(
            "a bet: its name (see 'bitcraps bets'), its stake in CRAP, and the roll (counted "
            "from 0, default 0) it is placed before; repeat or list several"
        ),
    )
    replay_parser.add_argument(
        "--balance",
        metavar="CRAP",
        help="starting balance: a stake above the spendable balance is refused "
        "(default: unchecked, and the result is the net win or loss)",
    )
    replay_parser.add_argument("--bond", metavar="CRAP", help="cap the table's risk at this bond")
    replay_parser.add_argument(
        "--bankroll", metavar="CRAP", help="the bank's K: cover checks every bet against it"
    )
    replay_parser.add_argument("--json", action="store_true", help="print JSON (base units)")
    replay_parser.set_defaults(func=cmd_table_replay)
    return parser


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    """Run the command line; return the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    stream = out if out is not None else sys.stdout
    func: Callable[[argparse.Namespace, TextIO], int] | None = getattr(args, "func", None)
    if func is None:
        parser.print_help(stream)
        return EXIT_USAGE
    try:
        status = func(args, stream)
        stream.flush()
        return status
    except UsageError as exc:
        sys.stderr.write(f"bitcraps: {exc}\n")
        return EXIT_USAGE
    except UserError as exc:
        sys.stderr.write(f"bitcraps: {exc}\n")
        return EXIT_REFUSED
    except CommandFailed as exc:
        sys.stderr.write(f"bitcraps: {exc}\n")
        return EXIT_USAGE if exc.usage else EXIT_REFUSED
    except BrokenPipeError:
        return _reader_gone(stream)
    except KeyboardInterrupt:
        sys.stderr.write("bitcraps: interrupted\n")
        return 130


EXIT_PIPE = 128 + 13
"""The reader of our output went away (``| head``): stop quietly, as a process killed by
SIGPIPE would."""


def _reader_gone(stream: TextIO) -> int:
    """Stop writing to a closed pipe without a traceback: point the stream's descriptor at
    /dev/null so the interpreter's final flush finds nowhere to fail."""
    try:
        fd = stream.fileno()
    except (OSError, ValueError):
        return EXIT_PIPE
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, fd)
    os.close(devnull)
    return EXIT_PIPE


if __name__ == "__main__":
    sys.exit(main())
