"""``bitcraps node``: the daemon's command line (the daemon itself is ``daemon.py``).

Everything a person can get wrong — an address, a genesis file, a locked data directory, a
wrong passphrase, a port in use — is one line on stderr and exit status 1 (2 for usage).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any, TextIO

from node.drivers.datadir import default_data_dir
from node.drivers.keyfile import KeyFileError, read_passphrase
from node.drivers.logs import LEVELS, configure
from protocol.genesis import LOCAL, GenesisError, load_genesis
from transports.addresses import parse_address
from transports.base import AddressError
from transports.udp import DEFAULT_PORT

__all__ = ["add_node_command", "cmd_node"]


def add_node_command(sub: Any) -> None:
    """Add ``node`` to the ``bitcraps`` subcommands (``sub`` is argparse's subparsers action)."""
    node = sub.add_parser(
        "node",
        help="run the node daemon in the foreground",
        description=(
            "Run this device's node daemon in the foreground: it keeps the ledger replica in "
            "the data directory, gossips signed packets with its neighbours over UDP, and stops "
            "cleanly on Ctrl-C or SIGTERM. The identity key is created on first run."
        ),
    )
    node.add_argument(
        "--data-dir",
        metavar="DIR",
        type=Path,
        default=argparse.SUPPRESS,  # also 'bitcraps --data-dir DIR node'
        help="where the key, the ledger, the lock and the control socket live (default: "
        "$BITCRAPS_HOME or ~/.bitcraps)",
    )
    node.add_argument(
        "--listen",
        metavar="HOST:PORT",
        default=f"0.0.0.0:{DEFAULT_PORT}",
        help=f"UDP address to bind (default 0.0.0.0:{DEFAULT_PORT}; port 0 picks a free one)",
    )
    node.add_argument(
        "--peer",
        metavar="HOST:PORT",
        action="append",
        default=[],
        help="a neighbour to dial and keep dialling (repeat for several)",
    )
    node.add_argument("--genesis", metavar="FILE", help="genesis TOML (default: 'local')")
    node.add_argument(
        "--no-discovery", action="store_true", help="no LAN discovery by multicast beacons"
    )
    node.add_argument(
        "--passphrase-file",
        metavar="FILE",
        type=Path,
        help="encrypt the identity key at rest with the passphrase in FILE (its first line)",
    )
    node.add_argument(
        "--metrics-port",
        metavar="PORT",
        type=_port,
        help="serve Prometheus metrics at http://127.0.0.1:PORT/metrics (loopback only; "
        "0 picks a free port, logged at start)",
    )
    node.add_argument(
        "--reveal-timeout",
        metavar="SECONDS",
        type=float,
        help=(
            "as a host, void the seats that have not revealed this long after a roll opened "
            "(default 30; the table agent's AgentConfig)"
        ),
    )
    node.add_argument("--log-level", choices=LEVELS, default="info", help="default: info")
    node.add_argument("--log-json", action="store_true", help="log one JSON object per line")
    node.set_defaults(func=cmd_node)


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"port {port} is not in 0..65535")
    return port


def _listen(text: str) -> tuple[str, int]:
    """A bind address: as a peer's, except that port 0 (pick a free port) is allowed."""
    host, colon, port = text.rpartition(":")
    if colon and port == "0":
        return parse_address(f"{host}:1")[0], 0
    return parse_address(text, default_port=DEFAULT_PORT)


def cmd_node(args: argparse.Namespace, out: TextIO) -> int:
    """Run the daemon until SIGINT/SIGTERM."""
    # imported here: the client commands start without the daemon's stack
    from node.core.tables.agent import AgentConfig  # noqa: PLC0415
    from node.drivers.daemon import DaemonError, NodeOptions, main_node  # noqa: PLC0415
    from node.drivers.debughook import ENV as DEBUG_ENV  # noqa: PLC0415

    configure(args.log_level, args.log_json)
    try:
        genesis = load_genesis(args.genesis) if args.genesis else LOCAL
        listen = _listen(args.listen)
        peers = tuple(parse_address(p, default_port=DEFAULT_PORT) for p in args.peer)
        passphrase = read_passphrase(args.passphrase_file) if args.passphrase_file else None
        debug = os.environ.get(DEBUG_ENV)
        data_dir = getattr(args, "data_dir", None)
        try:
            tables = (
                AgentConfig()
                if args.reveal_timeout is None
                else AgentConfig(reveal_timeout=args.reveal_timeout)
            )
        except ValueError as exc:
            raise DaemonError(f"--reveal-timeout: {exc}") from None
        options = NodeOptions(
            data_dir=data_dir if data_dir is not None else default_data_dir(),
            listen=listen,
            peers=peers,
            genesis=genesis,
            discovery=not args.no_discovery,
            passphrase=passphrase,
            metrics_port=args.metrics_port,
            debug_socket=Path(debug) if debug else None,
            tables=tables,
        )
        return main_node(options)
    except (DaemonError, KeyFileError, GenesisError, AddressError) as exc:
        sys.stderr.write(f"bitcraps node: {exc}\n")
        return 1
