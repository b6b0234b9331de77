"""The ``bitcraps`` table commands, clients of the control API's table methods: ``game create``,
``games``, ``game show``, ``game join``, ``game leave``, ``game end``, ``game watch``, ``bet``,
``cancel``, ``roll``.

As the other client commands (:mod:`node.drivers.clientcmd`): arguments checked here first (a
bad amount, bet name or game id is exit 2 without asking the daemon), one request, a readable
rendering or ``--json``, one line on failure.  A game id may be any unambiguous hex prefix
(at least 4 digits).  ``game watch`` long-polls ``game_show`` and redraws the table whenever a
table packet is judged: the whole screen on a terminal (ANSI clear and home), appended lines
otherwise; Ctrl-C ends it quietly.
"""

from __future__ import annotations

import argparse
import json
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final, TextIO, TypeVar

from node.drivers.clientcmd import CommandFailed, _call, _crap, _emit
from protocol.amounts import AmountError, format_crap, parse_crap
from protocol.bets import UnknownBetName, cli_name, parse_bet_name

__all__ = ["add_game_commands", "render_table", "settlement_line"]

WIDTH: Final = 80
"""Columns of the readable views."""
MAX_BETS: Final = 8
_GAME: Final = re.compile(r"(?:[0-9a-f]{1,64}:)?(?:0x)?[0-9a-f]{4,16}")
CLEAR: Final = "\x1b[H\x1b[2J"
"""ANSI: cursor home, clear the screen."""
POLL: Final = 20.0
"""Seconds one long poll of ``watch`` waits for a table packet."""

_WORDS: Final = {"win": "won", "lose": "lost", "push": "push", "returned": "returned"}


def _game(text: str) -> str:
    game = text.strip().lower()
    if not _GAME.fullmatch(game):
        raise CommandFailed(
            f"{text!r} is not a game id: give its 16 hex digits or a prefix of at least 4 "
            "('bitcraps games' lists them)",
            usage=True,
        )
    return game


def _amount(text: str, what: str = "amount") -> int:
    try:
        return parse_crap(text)
    except AmountError as exc:
        raise CommandFailed(f"{what}: {exc}", usage=True) from None


def _opt_amount(text: str | None, option: str, *, zero: bool = False) -> int | None:
    if text is None:
        return None
    try:
        return parse_crap(text, allow_zero=zero)
    except AmountError as exc:
        raise CommandFailed(f"{option}: {exc}", usage=True) from None


def _c(units: object) -> str:
    """CRAP without the unit (tables)."""
    return format_crap(int(str(units)))


def _fit(line: str) -> str:
    return line if len(line) <= WIDTH else line[: WIDTH - 1] + "…"


# --------------------------------------------------------------------------- renderings


def settlement_line(s: dict[str, Any]) -> str:
    """``  seat 1 60622168  pass          10 CRAP  won 10``."""
    outcome = s["outcome"]
    if outcome == "win":
        how = f"won {_c(s['profit'])}"
    elif outcome == "lose":
        how = f"lost {_c(s['stake'])}"
    else:
        how = f"{_WORDS.get(outcome, outcome)} (stake back)"
    return f"  seat {s['seat']} {s['key'][:8]}  {s['bet']:<16}{_c(s['stake']):>9} CRAP  {how}"


def _dice(r: dict[str, Any]) -> str:
    d1, d2 = r["dice"]
    event = r.get("event") or ""
    point = ""
    if r.get("point_after") != r.get("point_before"):
        before = r.get("point_before") or "off"
        after = r.get("point_after") or "off"
        point = f" (point {before} → {after})"
    return f"{d1}-{d2} = {r['total']} {event}{point}"


def _roll_line(r: dict[str, Any]) -> str:
    if r["kind"] == "void":
        return f"roll {r['k']} voided: seats {r.get('withheld', [])} withheld their reveals"
    head = f"roll {r['k']}: {_dice(r)}" if r.get("dice") else "table ended"
    if r["kind"] == "end" and r.get("dice"):
        head += ", then the table ended"
    return head


def render_table(r: dict[str, Any]) -> list[str]:
    """One table as lines of at most 80 columns (``game show`` and ``game watch``)."""
    p = r["params"]
    lines = []
    role = r["role"]
    you = ""
    if role == "host":
        you = " · you host it"
    elif r.get("my_seat"):
        you = f" · you sit at seat {r['my_seat']}"
    state = "ENDED" if r["ended"] else "CLOSED (host forked)" if r["closed"] else "running"
    lines.append(f"table {r['game']}  host {r['host'][:16]}  {state}{you}")
    funded = "own-funded" if r["own_funded"] else "NOT own-funded (join needs --trust-credits)"
    lines.append(
        f"bets {_c(p['min_bet'])}–{_c(p['max_bet'])} CRAP · bond {_c(p['bond'])} · "
        f"{p['max_players'] - 1} seats · {funded}"
    )
    point = r["point"] if r["point"] is not None else "off"
    lines.append(
        f"bank K {_c(r['cover'])} CRAP (holds {_c(r['bank_money'])}) · risk {_c(r['risk'])} · "
        f"host bond left {_c(r['host_bond_left'])}"
    )
    cadence = f" · rolls every {r['roll_every']:g} s" if r.get("roll_every") else ""
    lines.append(
        f"roll {r['k']} · point {point} · shooter seat {r['shooter'] or '-'}"
        f" · voids {r['host_voids']} · late reveals {r['late_reveals']}{cadence}"
    )
    lines.append("")
    if r["seats"]:
        lines.append(f"{'SEAT':<5}{'KEY':<18}{'SPENDABLE':>12}  BETS (CRAP)")
        for s in r["seats"]:
            mark = "*" if s["shooter"] else " "
            flags = " leaving" if s["leaving"] else ""
            bets = ", ".join(
                f"{b['bet']} {_c(b['stake'])}" + (f"@{b['number']}" if b.get("number") else "")
                for b in s["bets"]
            )
            lines.append(
                _fit(
                    f"{s['seat']:>3}{mark} {s['key'][:16]}  {_c(s['spendable']):>12}  "
                    f"{bets or '-'}{flags}"
                )
            )
    else:
        lines.append("no seats taken")
    current = r.get("current")
    if current:
        lines.append("")
        if current.get("state") == "decided":
            lines.append(f"roll {current['k']}: {_dice(current)} — settles at the next roll")
            lines.extend(_fit(settlement_line(s)) for s in current.get("settlements", []))
        else:
            lines.append(
                f"roll {current['k']} open: waiting for the reveals of seats "
                f"{current['waiting_for']}"
            )
    rolls = r.get("rolls") or []
    if rolls:
        lines.append("")
        lines.append("last rolls:")
        for roll in rolls:
            lines.append(_fit("  " + _roll_line(roll)))
            lines.extend(_fit("  " + settlement_line(s)) for s in roll["settlements"])
    mine = r.get("my_bets") or []
    if mine:
        lines.append("")
        lines.append("your bets:")
        for b in mine[-12:]:
            lines.append(_fit(f"  {b['bet']:<16}{_c(b['stake']):>9} CRAP  {_bet_state(b)}"))
    return lines


def _bet_state(b: dict[str, Any]) -> str:
    status = b["status"]
    if status == "settled":
        outcome = b["outcome"]
        if outcome == "win":
            return f"settled at roll {b['k']}: won {_c(b['profit'])}"
        if outcome == "lose":
            return f"settled at roll {b['k']}: lost"
        return f"settled at roll {b['k']}: {_WORDS.get(outcome, outcome)}, stake back"
    if status == "released":
        return f"released ({b['reason']}): {b['why']}"
    if status == "included":
        return "included: live" + (f" on {b['number']}" if b.get("number") else "")
    if status == "pending":
        return "pending: waits for the host to include it" + (
            f" ({b['why']})" if b.get("why") else ""
        )
    return f"{status}: {b.get('why', '')}"


# --------------------------------------------------------------------------- commands


def cmd_game_create(args: argparse.Namespace, out: TextIO) -> int:
    params: dict[str, Any] = {"bankroll": _amount(args.bankroll, "--bankroll")}
    for option, name in (
        ("bond", "bond"),
        ("host_bond", "host_bond"),
        ("min_bet", "min_bet"),
        ("max_bet", "max_bet"),
    ):
        value = _opt_amount(getattr(args, option), "--" + option.replace("_", "-"))
        if value is not None:
            params[name] = value
    if args.max_players is not None:
        params["max_players"] = args.max_players
    if args.roll_every is not None:
        params["roll_every"] = args.roll_every
    return _emit(out, args, _call(args, "game_create", params), _render_create)


def _render_create(r: Any, args: argparse.Namespace, out: TextIO) -> None:
    p = r["params"]
    out.write(
        f"created table {r['game']} (own packet {r['nonce']}): bankroll {_crap(r['bankroll'])}, "
        f"bets {_c(p['min_bet'])}–{_c(p['max_bet'])} CRAP, bond {_crap(p['bond'])}, "
        f"host bond {_crap(p['host_bond'])}, {p['max_players'] - 1} seats\n"
    )
    when = (
        f"every {r['roll_every']:g} s while bets are live"
        if r["roll_every"]
        else f"when you run 'bitcraps roll {r['game'][:8]}'"
    )
    out.write(
        f"players join with 'bitcraps game join {r['game'][:8]}'; rolls open {when}; "
        f"spendable now {_crap(r['spendable'])}\n"
    )


def cmd_games(args: argparse.Namespace, out: TextIO) -> int:
    return _emit(out, args, _call(args, "games", {"ended": args.all}), _render_games)


def _render_games(r: Any, args: argparse.Namespace, out: TextIO) -> None:
    rows = r["tables"]
    if not rows:
        out.write(
            "no tables seen yet: host one with 'bitcraps game create --bankroll 10000', or "
            "wait for a create to reach this node\n"
        )
        return
    out.write(
        f"{'GAME':<17}{'HOST':<9}{'ROLE':<7}{'SEATS':<6}{'BETS':>8} {'BANK K':>8} "
        f"{'FUNDED':<7}{'ROLL':>5}{'VOIDS':>6}{'LATE':>5}\n"
    )
    for t in rows:
        funded = "own" if t["own_funded"] else "TRUST"
        state = "end" if t["ended"] else "fork" if t["closed"] else str(t["k"])
        bets = f"{_c(t['min_bet'])}-{_c(t['max_bet'])}"
        out.write(
            _fit(
                f"{t['game']:<17}{t['host'][:8]:<9}{t['role']:<7}"
                f"{t['seats']:>2}/{t['max_seats']:<3}{bets:>8} {_c(t['cover']):>8} "
                f"{funded:<7}{state:>5}{t['host_voids']:>6}{t['late_reveals']:>5}"
            )
            + "\n"
        )


def cmd_game_show(args: argparse.Namespace, out: TextIO) -> int:
    params = {"game": _game(args.game), "rolls": args.rolls}
    return _emit(out, args, _call(args, "game_show", params), _render_show)


def _render_show(r: Any, args: argparse.Namespace, out: TextIO) -> None:
    for line in render_table(r):
        out.write(line + "\n")


def cmd_game_join(args: argparse.Namespace, out: TextIO) -> int:
    params = {"game": _game(args.game), "trust": args.trust_credits, "wait": args.wait}
    return _emit(out, args, _call(args, "game_join", params), _render_join)


def _render_join(r: Any, args: argparse.Namespace, out: TextIO) -> None:
    game = r["game"]
    if r["status"] == "seated":
        out.write(
            f"seated at table {game}, seat {r['seat']} (bond {_crap(r['bond'])} held); "
            f"bet with 'bitcraps bet {game[:8]} pass 10'\n"
        )
    elif r["status"] == "declined":
        out.write(f"the host declined the join at table {game}: the bond comes back\n")
    else:
        out.write(
            f"join sent to table {game} (own packet {r['nonce']}, bond {_crap(r['bond'])}); "
            f"the host has not answered yet: see 'bitcraps game show {game[:8]}'\n"
        )


def cmd_game_leave(args: argparse.Namespace, out: TextIO) -> int:
    return _emit(out, args, _call(args, "game_leave", {"game": _game(args.game)}), _render_leave)


def _render_leave(r: Any, args: argparse.Namespace, out: TextIO) -> None:
    out.write(
        f"asked to leave table {r['game']} (own packet {r['nonce']}): the seat goes once its "
        "live bets settle, and pending bets and the bond come back\n"
    )


def cmd_game_end(args: argparse.Namespace, out: TextIO) -> int:
    params = {"game": _game(args.game), "wind_down": args.wind_down}
    return _emit(out, args, _call(args, "game_end", params), _render_end)


def _render_end(r: Any, args: argparse.Namespace, out: TextIO) -> None:
    if r["ended"]:
        how = (
            "early: live bets returned at stake, the host bond forfeited"
            if r["early"]
            else "no bet was live: the bank and host bond come back"
        )
        out.write(f"table {r['game']} ended ({how})\n")
    elif r["wind_down"]:
        out.write(
            f"table {r['game']} winds down: nothing new is included, and it ends once no bet "
            "is live\n"
        )
    else:
        out.write(
            f"table {r['game']} ends at its next packet (once the open roll's reveals are in)\n"
        )


def cmd_bet(args: argparse.Namespace, out: TextIO) -> int:
    words = list(args.bets)
    if len(words) % 2:
        raise CommandFailed(
            "give each bet as TYPE AMOUNT (e.g. 'bitcraps bet GAME pass 10 field 5')", usage=True
        )
    bets = []
    for name, amount in zip(words[::2], words[1::2], strict=True):
        try:
            code, point = parse_bet_name(name)
        except UnknownBetName as exc:
            raise CommandFailed(str(exc), usage=True) from None
        bets.append([cli_name(code, point), _amount(amount, f"{name}'s stake")])
    if len(bets) > MAX_BETS:
        raise CommandFailed(
            f"one bet packet holds at most {MAX_BETS} bets, not {len(bets)}", usage=True
        )
    params = {"game": _game(args.game), "bets": bets}
    return _emit(out, args, _call(args, "bet", params), _render_bet)


def _render_bet(r: Any, args: argparse.Namespace, out: TextIO) -> None:
    bets = ", ".join(f"{b['bet']} {_c(b['stake'])}" for b in r["bets"])
    count = len(r["bets"])
    out.write(
        f"placed {count} bet{'s' if count != 1 else ''} at table {r['game']} in own packet "
        f"{r['nonce']}: {bets} CRAP; they go live when the host includes them in the next roll; "
        f"spendable now {_crap(r['spendable'])}\n"
    )
    waits = r.get("waits")
    if waits:
        out.write(
            f"note: {waits['bet']} waits behind your bets still pending here ({waits['why']}): "
            "the host includes it once it fits, or its stake comes back when its window ends\n"
        )


def cmd_cancel(args: argparse.Namespace, out: TextIO) -> int:
    return _emit(out, args, _call(args, "cancel", {"game": _game(args.game)}), _render_cancel)


def _render_cancel(r: Any, args: argparse.Namespace, out: TextIO) -> None:
    out.write(
        f"cancel sent to table {r['game']} (own packet {r['nonce']}): pending bets come back "
        "when the host sees it; live bets play on\n"
    )


def cmd_roll(args: argparse.Namespace, out: TextIO) -> int:
    params = {"game": _game(args.game), "wait": args.wait}
    return _emit(out, args, _call(args, "roll", params), _render_roll)


def _render_roll(r: Any, args: argparse.Namespace, out: TextIO) -> None:
    roll = r.get("roll")
    if r["state"] == "decided" and roll:
        out.write(f"roll {roll['k']}: {_dice(roll)}\n")
        settlements = roll.get("settlements", [])
        for s in settlements:
            out.write(settlement_line(s) + "\n")
        if not settlements:
            out.write("  no bet settled\n")
    elif roll:
        out.write(
            f"roll {roll['k']} is open: waiting for the reveals of seats {roll['waiting_for']} "
            f"(see 'bitcraps game show {r['game'][:8]}')\n"
        )
    elif r["state"] == "not opened":
        out.write(f"no roll opened yet at table {r['game']}: a join answer went first\n")
    else:
        out.write(f"table {r['game']}: {r['state']}\n")


# --------------------------------------------------------------------------- watch


def cmd_game_watch(args: argparse.Namespace, out: TextIO) -> int:
    game = _game(args.game)
    tty = out.isatty()
    version: int | None = None
    shown_rolls: set[int] = set()
    try:
        while True:
            params: dict[str, Any] = {"game": game, "rolls": 8}
            if version is not None:
                params.update(after=version, timeout=POLL)
            r = _call(args, "game_show", params)
            if r["version"] != version:
                _draw(r, args, out, tty, shown_rolls, first=version is None)
            version = r["version"]
            if r["ended"] or r["closed"]:
                return 0
    except KeyboardInterrupt:
        return 0


def _draw(
    r: dict[str, Any],
    args: argparse.Namespace,
    out: TextIO,
    tty: bool,
    shown: set[int],
    *,
    first: bool,
) -> None:
    stamp = time.strftime("%H:%M:%S")
    if args.json:
        out.write(json.dumps(r, separators=(",", ":")) + "\n")
    elif tty:
        lines = render_table(r)
        lines.append("")
        lines.append(f"updated {stamp} · Ctrl-C to quit")
        out.write(CLEAR + "\n".join(lines) + "\n")
    elif first:
        for line in render_table(r):
            out.write(line + "\n")
    else:
        for roll in r.get("rolls", []):
            if roll["nonce"] in shown:
                continue
            out.write(f"{stamp} {_roll_line(roll)}\n")
            for s in roll["settlements"]:
                out.write(settlement_line(s) + "\n")
        seats = " ".join(f"{s['seat']}:{_c(s['spendable'])}" for s in r["seats"])
        point = r["point"] if r["point"] is not None else "off"
        out.write(
            _fit(
                f"{stamp} roll {r['k']}{' open' if r['open'] else ''} · point {point} · "
                f"bank K {_c(r['cover'])} · spendable {seats or '-'}"
            )
            + "\n"
        )
    for roll in r.get("rolls", []):
        shown.add(roll["nonce"])
    out.flush()


# --------------------------------------------------------------------------- the parsers


N = TypeVar("N", int, float)


def _bounded(
    convert: Callable[[str], N], lo: N, hi: N, noun: str, bounds: str
) -> Callable[[str], N]:
    """An argparse type: ``convert(text)`` within ``lo … hi``, else one readable line (``noun``
    says what a number it should be, ``bounds`` how the range is named)."""

    def parse(text: str) -> N:
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number of {noun}") from None
        if not lo <= value <= hi:
            raise argparse.ArgumentTypeError(f"{bounds}, not {text}")
        return value

    return parse


_seconds = _bounded(float, 0.05, 86400.0, "seconds", "seconds must be 0.05 … 86400")
_wait = _bounded(float, 0.0, 25.0, "seconds", "--wait is 0 … 25 seconds")
_players = _bounded(int, 2, 16, "players", "--max-players is 2 … 16 (the host included)")
_rolls = _bounded(int, 0, 256, "rolls", "--rolls is 0 … 256")


def add_game_commands(sub: Any) -> None:
    """Add the table commands to the ``bitcraps`` subcommands."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", help="print the API's result as JSON")
    common.add_argument(
        "--data-dir",
        metavar="DIR",
        type=Path,
        default=argparse.SUPPRESS,
        help="the node's data directory (default: $BITCRAPS_HOME or ~/.bitcraps)",
    )
    game_help = "the table: its game id, or an unambiguous prefix of at least 4 hex digits"

    def add(
        parent: Any, name: str, func: Callable[[argparse.Namespace, TextIO], int], help_: str
    ) -> Any:
        parser = parent.add_parser(name, parents=[common], help=help_, description=help_ + ".")
        parser.set_defaults(func=func)
        return parser

    game = sub.add_parser(
        "game",
        help="host, join, leave, end, show and watch craps tables",
        description="Craps tables on the mesh: host one, join one, watch one.",
    )
    actions = game.add_subparsers(dest="game_command", metavar="ACTION", required=True)
    create = add(actions, "create", cmd_game_create, "host a new table (this node is its bank)")
    create.add_argument("--bankroll", required=True, metavar="CRAP", help="the bank's K")
    create.add_argument("--bond", metavar="CRAP", help="each seat's bond and the risk cap (1000)")
    create.add_argument(
        "--host-bond", metavar="CRAP", help="the host bond (default 3 × bond × max players)"
    )
    create.add_argument("--min-bet", metavar="CRAP", help="smallest stake (default 1)")
    create.add_argument("--max-bet", metavar="CRAP", help="largest stake, odds aside (100)")
    create.add_argument(
        "--max-players", type=_players, metavar="N", help="seats, the host's included (8)"
    )
    create.add_argument(
        "--roll-every",
        type=_seconds,
        metavar="SECONDS",
        help="open the next roll by itself this long after the last (default: only on 'roll')",
    )
    show = add(actions, "show", cmd_game_show, "one table: seats, bets, dice, your bets")
    show.add_argument("game", metavar="ID", help=game_help)
    show.add_argument("--rolls", type=_rolls, default=10, metavar="N", help="last rolls shown (10)")
    join = add(actions, "join", cmd_game_join, "join a table: its bond leaves your balance")
    join.add_argument("game", metavar="ID", help=game_help)
    join.add_argument(
        "--trust-credits",
        action="store_true",
        help="join a table whose bank is not own-funded (a fork of whoever paid its host "
        "could undo it)",
    )
    join.add_argument(
        "--wait", type=_wait, default=10.0, metavar="SECONDS", help="wait for the host's answer"
    )
    leave = add(actions, "leave", cmd_game_leave, "leave a table once your bets settle")
    leave.add_argument("game", metavar="ID", help=game_help)
    end = add(actions, "end", cmd_game_end, "end a table you host")
    end.add_argument("game", metavar="ID", help=game_help)
    end.add_argument(
        "--wind-down",
        action="store_true",
        help="include nothing new and end once no bet is live (no early end)",
    )
    watch = add(actions, "watch", cmd_game_watch, "watch a table live (Ctrl-C to stop)")
    watch.add_argument("game", metavar="ID", help=game_help)

    games = add(sub, "games", cmd_games, "the tables seen on the mesh")
    games.add_argument("--all", action="store_true", help="ended tables too")
    bet = add(sub, "bet", cmd_bet, "place up to 8 bets at a table in one packet")
    bet.add_argument("game", metavar="ID", help=game_help)
    bet.add_argument(
        "bets",
        nargs="+",
        metavar="TYPE AMOUNT",
        help="a bet name ('bitcraps bets' lists them) and its stake in CRAP; repeat up to 8",
    )
    cancel = add(sub, "cancel", cmd_cancel, "cancel your pending bets at a table")
    cancel.add_argument("game", metavar="ID", help=game_help)
    roll = add(sub, "roll", cmd_roll, "open the next roll of a table you host; print the dice")
    roll.add_argument("game", metavar="ID", help=game_help)
    roll.add_argument(
        "--wait", type=_wait, default=10.0, metavar="SECONDS", help="wait for the reveals"
    )
