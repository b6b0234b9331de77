"""``bitcraps demo``: a small mesh of real daemons on loopback playing one craps table end to end.

It starts ``--nodes`` ``bitcraps node`` processes (a host and players, each in its own temporary
data directory, on a free loopback port, without LAN discovery, the players dialling the host and
each other), and plays through their control APIs as a person would with the CLI: the host
creates a table, the players join, bet (line, one-roll, number, odds and series bets), the host
opens ``--rolls`` rolls — each settled by commit–reveal, every player's daemon revealing by
itself — one player leaves halfway, and the host winds the table down.  Each roll is a few
lines.  At the end every node shows its balances and its state digest; the exit status is 0 only
if every digest agrees and every node's supply audit holds.

On the built-in play-money network ``local``, each key's first packet mints its faucet amount,
which funds every node.  ``--seed`` fixes the keys (written to the data directories before the
daemons start) and the bets, so the same seed plays the same game.  Processes and files are
removed on the way out, Ctrl-C included.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, TextIO

from node.drivers.client import ClientError, ControlClient, RemoteError
from node.drivers.datadir import KEY_FILE, STORE_FILE
from node.drivers.gamecmd import settlement_line
from node.drivers.keyfile import MAGIC, PLAIN
from node.drivers.store import Store
from protocol.amounts import format_crap
from protocol.constants import CRAP
from protocol.genesis import LOCAL

__all__ = ["DemoFailed", "add_demo_command", "run_demo"]

SOURCE: Final = Path(__file__).resolve().parents[2]
"""The directory this package is imported from."""
START_TIMEOUT: Final = 30.0
SETTLE_TIMEOUT: Final = 30.0
MIN_NODES: Final = 3
MAX_NODES: Final = 8


class DemoFailed(Exception):
    """The demo could not go on (one line)."""


@dataclass
class DemoNode:
    """One daemon of the demo."""

    name: str
    data_dir: Path
    process: subprocess.Popen[bytes] | None = None
    identity: str = ""
    address: str = ""
    client: ControlClient = field(init=False)

    def __post_init__(self) -> None:
        self.client = ControlClient(self.data_dir, timeout=30.0)

    def call(self, method: str, params: dict[str, Any] | None = None) -> Any:
        return self.client.call(method, params)

    def log_tail(self) -> str:
        try:
            lines = (self.data_dir.parent / f"{self.name}.log").read_text().splitlines()
        except OSError:
            return ""
        return " | ".join(lines[-3:])


def _until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll ``condition`` (a cheap control call) every 50 ms until it holds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise DemoFailed(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(0.05)


def _key_seed(seed: int, index: int) -> bytes:
    return hashlib.sha256(f"bitcraps-demo/{seed}/{index}".encode()).digest()


class Demo:
    """One run: ``play`` it, then ``stop`` (always)."""

    def __init__(self, nodes: int, rolls: int, seed: int, out: TextIO) -> None:
        self.rolls = rolls
        self.seed = seed
        self.out = out
        self.rng = random.Random(seed)
        self.root = Path(tempfile.mkdtemp(prefix="bitcraps-demo-"))
        names = ["host"] + [f"p{i}" for i in range(1, nodes)]
        self.nodes = [DemoNode(name, self.root / name) for name in names]
        self.names: dict[str, str] = {}
        self.fire_placed: set[str] = set()
        self.reported: set[tuple[str, int, int]] = set()
        """Released or refused bets already shown."""

    def say(self, line: str = "") -> None:
        self.out.write(line + "\n")
        self.out.flush()

    # ------------------------------------------------------------------ processes

    def _spawn(self, node: DemoNode, index: int, peers: list[str]) -> None:
        node.data_dir.mkdir(mode=0o700)
        key = node.data_dir / KEY_FILE
        key.write_bytes(MAGIC + bytes((PLAIN,)) + _key_seed(self.seed, index))
        key.chmod(0o600)
        # a new key comes with a new, empty store: without one the daemon would take the key
        # for a restored backup that lost its data, and recover its history before signing
        Store(node.data_dir / STORE_FILE, LOCAL.network_id).close()
        cmd = [
            sys.executable,
            "-m",
            "node.drivers.cli",
            "--data-dir",
            str(node.data_dir),
            "node",
            "--listen",
            "127.0.0.1:0",
            "--no-discovery",
            "--log-level",
            "warning",
        ]
        for peer in peers:
            cmd += ["--peer", peer]
        env = dict(os.environ)  # the daemons run this very package, installed or not
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(SOURCE), env.get("PYTHONPATH")]))
        with (self.root / f"{node.name}.log").open("ab") as log:
            node.process = subprocess.Popen(
                cmd,
                env=env,
                stdout=log,
                stderr=log,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # Ctrl-C reaches the demo, which stops them in order
            )

    def _started(self, node: DemoNode) -> bool:
        assert node.process is not None
        if node.process.poll() is not None:
            raise DemoFailed(
                f"{node.name}'s daemon exited with status {node.process.returncode}: "
                f"{node.log_tail()}"
            )
        try:
            status = node.call("status")
        except ClientError:
            return False
        node.identity = status["identity"]
        node.address = status["address"]
        self.names[node.identity] = node.name
        return True

    def start(self) -> None:
        host, players = self.nodes[0], self.nodes[1:]
        self._spawn(host, 0, [])
        _until(lambda: self._started(host), START_TIMEOUT, "the host's daemon to start")
        for i, node in enumerate(players, start=1):
            self._spawn(node, i, [host.address])
        for node in players:
            _until(lambda n=node: self._started(n), START_TIMEOUT, f"{node.name}'s daemon")  # type: ignore[misc]
        for node in players:
            _until(
                lambda n=node: n.call("status")["neighbours"] >= 1,  # type: ignore[misc]
                START_TIMEOUT,
                f"{node.name} to link with the host",
            )
        self.say(
            f"started {len(self.nodes)} daemons on loopback (data in {self.root}, seed "
            f"{self.seed}):"
        )
        for node in self.nodes:
            self.say(f"  {node.name:<5} {node.identity[:16]}  udp {node.address}")

    def stop(self) -> None:
        """Stop every daemon (SIGTERM, then SIGKILL) and remove the files."""
        for node in self.nodes:
            if node.process is not None and node.process.poll() is None:
                node.process.send_signal(signal.SIGTERM)
        for node in self.nodes:
            if node.process is None:
                continue
            try:
                node.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                node.process.kill()
                node.process.wait(timeout=10)
        shutil.rmtree(self.root, ignore_errors=True)

    # ------------------------------------------------------------------ the game

    def play(self) -> bool:
        host, players = self.nodes[0], self.nodes[1:]
        # a bond (each seat's, and the table's risk cap) of 2000 CRAP leaves room beside a
        # 1 CRAP Fire bet, whose 999:1 alone fills the default 1000
        params: dict[str, Any] = {
            "bankroll": 10_000 * CRAP,
            "bond": 2_000 * CRAP,
            "max_players": len(self.nodes),
        }
        game = host.call("game_create", params)["game"]
        self.say(
            f"host creates table {game}: bank 10000 CRAP, bets 1–100 CRAP, bond (and risk cap) "
            f"2000 CRAP, {len(players)} seats"
        )
        for node in players:
            _until(
                lambda n=node: any(t["game"] == game for t in n.call("games")["tables"]),  # type: ignore[misc]
                SETTLE_TIMEOUT,
                f"the table at {node.name}",
            )
            joined = node.call("game_join", {"game": game, "wait": 20})
            if joined["status"] != "seated":
                raise DemoFailed(f"{node.name} was not seated: {joined['status']}")
            self.say(f"{node.name} joins: seat {joined['seat']}, bond 2000 CRAP held")
        seated = list(players)
        leaver = players[-1]
        for k in range(1, self.rolls + 1):
            if k == self.rolls // 2 + 1 and leaver in seated and len(players) > 1:
                leaver.call("game_leave", {"game": game})
                seated.remove(leaver)
                self.say(f"{leaver.name} leaves the table (its seat goes once its bets settle)")
            placed = [self._bets(node, game, k - 1, node is seated[0]) for node in seated]
            self._included(host, players)
            self.say("  " + " · ".join(p for p in placed if p) if any(placed) else "  no new bets")
            try:
                result = host.call("roll", {"game": game, "wait": 20})
            except RemoteError as exc:  # nothing at stake: the shooter waits for a bet
                self.say(f"roll {k}: not opened ({exc})")
                continue
            self._show_roll(result)
        self.say("host winds the table down: nothing new is included; it ends once no bet is live")
        ended = host.call("game_end", {"game": game, "wind_down": True})["ended"]
        for _ in range(60):
            # the host ends by itself once no bet is live: look (up to a second) before rolling
            show = host.call("game_show", {"game": game, "rolls": 0})
            if not show["ended"]:
                params = {"game": game, "rolls": 0, "after": show["version"], "timeout": 1}
                show = host.call("game_show", params)
            ended = bool(show["ended"])
            if ended:
                break
            self._show_roll(host.call("roll", {"game": game, "wait": 20}))
        if not ended:
            host.call("game_end", {"game": game})
            self.say("host ends the table now: live bets come back at stake")
        else:
            self.say("the table has ended: every bet settled, bank and bonds back")
        return self._check()

    def _settled_view(self, node: DemoNode, game: str, k: int) -> dict[str, Any]:
        """``node``'s view of the table once it has seen roll ``k`` open and its dice decided
        (every reveal in): the phase the next bets are included in is known then."""
        deadline = time.monotonic() + SETTLE_TIMEOUT
        params: dict[str, Any] = {"game": game, "rolls": 0}
        while True:
            show: dict[str, Any] = node.call("game_show", params)
            current = show.get("current") or {}
            if show["k"] >= k and current.get("state", "decided") == "decided":
                return show
            left = deadline - time.monotonic()
            if left <= 0:
                raise DemoFailed(f"{node.name} did not see roll {k} decided")
            params = {"game": game, "rolls": 0, "after": show["version"], "timeout": min(5, left)}

    def _bets(self, node: DemoNode, game: str, k: int, must: bool) -> str:
        """Place this player's bets for the roll after ``k`` (``must``: at least one, so
        something is at stake); what was placed, as a line."""
        show = self._settled_view(node, game, k)
        for b in show.get("my_bets", []):
            ident = (node.name, b["nonce"], b["index"])
            if b["status"] in ("released", "refused") and ident not in self.reported:
                self.reported.add(ident)
                stake = format_crap(b["stake"])
                self.say(f"  {node.name}'s {b['bet']} {stake}: {b['status']}, {b['why']}")
        current = show.get("current") or {}
        point = current.get("point_after") if current.get("state") == "decided" else show["point"]
        live = {b["bet"] for s in show["seats"] if s["key"] == node.identity for b in s["bets"]}
        wanted = self._choose(node, point, live, must)
        fallback = must
        while wanted or fallback:
            if not wanted:
                wanted, fallback = [("field", 1 * CRAP)], False
            try:
                node.call("bet", {"game": game, "bets": [[n, a] for n, a in wanted]})
            except RemoteError as exc:
                data = exc.data if isinstance(exc.data, dict) else {}
                refused = data.get("bet")
                if refused is None:  # not one bet's fault (balance, seat): no bets this roll
                    return f"{node.name}: no bet ({exc})"
                wanted = [(n, a) for n, a in wanted if n != refused]
                continue
            if any(n == "fire" for n, _ in wanted):
                self.fire_placed.add(node.name)
            return f"{node.name} bets " + ", ".join(f"{n} {format_crap(a)}" for n, a in wanted)
        return ""

    def _choose(
        self, node: DemoNode, point: int | None, live: set[str], must: bool
    ) -> list[tuple[str, int]]:
        rng = self.rng
        index = int(node.name[1:])
        stake = rng.choice((5, 10, 10, 15, 20)) * CRAP
        out: list[tuple[str, int]] = []
        if index % 3 == 1:  # line bets, odds and a series bet
            if point is None:
                out.append(("pass", stake))
                if node.name not in self.fire_placed:
                    out.append(("fire", 1 * CRAP))
            elif "pass" in live and "odds-pass" not in live:
                out.append(("odds-pass", 2 * stake))
            else:
                out.append(("come", stake // 2))
        elif index % 3 == 2:  # the dark side and one-roll bets
            if point is None:
                out.append(("dont-pass", stake))
            out.append(("field", rng.choice((2, 5)) * CRAP))
        else:  # number and proposition bets
            out.append((rng.choice(("hard-8", "hard-6", "yes-6", "yes-8")), 2 * CRAP))
            out.append((rng.choice(("next-7", "next-11", "field")), 1 * CRAP))
            if point is None and node.name not in self.fire_placed:
                out.append(("bonus-small", 1 * CRAP))
                self.fire_placed.add(node.name)
        if rng.random() < 0.15 and not must:
            return []  # sits this roll out
        return out

    def _included(self, host: DemoNode, seated: list[DemoNode]) -> None:
        """Wait until the host holds every player's packets (so the roll includes the bets)."""

        def caught_up() -> bool:
            for node in seated:
                own = node.call("status")["hwm"]
                if host.call("balance", {"key": node.identity})["hwm"] < own:
                    return False
            return True

        _until(caught_up, SETTLE_TIMEOUT, "the players' bets at the host")

    def _show_roll(self, result: dict[str, Any]) -> None:
        roll = result.get("roll")
        if not roll or "dice" not in roll:
            waiting = roll.get("waiting_for") if roll else None
            self.say(f"roll {result['k']}: {result['state']} (waiting for seats {waiting})")
            return
        d1, d2 = roll["dice"]
        point = ""
        if roll.get("point_after") != roll.get("point_before"):
            point = (
                f", point {roll.get('point_before') or 'off'} → {roll.get('point_after') or 'off'}"
            )
        self.say(f"roll {roll['k']:>2}: {d1}-{d2} = {roll['total']:>2}  {roll['event']}{point}")
        for s in roll.get("settlements", []):
            line = settlement_line(s)
            name = self.names.get(s["key"], s["key"][:8])
            self.say(line.replace(s["key"][:8], f"{name:<8}", 1))

    # ------------------------------------------------------------------ the end

    def _check(self) -> bool:
        def agreed() -> bool:
            return len({n.call("state_digest")["digest"] for n in self.nodes}) == 1

        try:
            _until(agreed, SETTLE_TIMEOUT, "the nodes' digests to agree")
        except DemoFailed as exc:
            self.say(str(exc))
        self.say()
        self.say(f"{'NODE':<6}{'KEY':<18}{'SPENDABLE':>14}{'HELD':>10}{'PENDING':>10}  DIGEST")
        digests = set()
        audits = []
        supply = set()
        for node in self.nodes:
            balance = node.call("balance")
            digest = node.call("state_digest")
            digests.add(digest["digest"])
            audits.append(digest["audit"])
            supply.add(digest["supply"])
            self.say(
                f"{node.name:<6}{node.identity[:16]:<18}{format_crap(balance['spendable']):>14}"
                f"{format_crap(balance['held']):>10}{format_crap(balance['pending_total']):>10}"
                f"  {digest['digest'][:16]}"
            )
        self.say(
            "(pending: what the host's packets credited — winnings, returned bonds — spendable "
            "once the node's next own packet acknowledges it)"
        )
        agree = len(digests) == 1
        conserved = all(a == "ok" for a in audits) and len(supply) == 1
        total = format_crap(next(iter(supply))) if len(supply) == 1 else "?"
        self.say(
            f"digests {'agree' if agree else 'DIFFER'} on all {len(self.nodes)} nodes; supply "
            f"{total} CRAP "
            + ("conserved (every node's audit holds)" if conserved else f"NOT conserved {audits}")
        )
        return agree and conserved


def run_demo(nodes: int, rolls: int, seed: int | None, out: TextIO) -> int:
    """Play the demo; its exit status (0: every digest agrees and supply is conserved)."""
    demo = Demo(nodes, rolls, seed if seed is not None else random.randrange(10**6), out)
    started = time.monotonic()
    try:
        demo.start()
        ok = demo.play()
    except KeyboardInterrupt:
        demo.say("interrupted: stopping the daemons")
        return 130
    except (DemoFailed, ClientError) as exc:
        sys.stderr.write(f"bitcraps demo: {exc}\n")
        return 1
    finally:
        demo.stop()
    demo.say(
        f"done in {time.monotonic() - started:.1f} s; the daemons are stopped and their files "
        "removed"
    )
    return 0 if ok else 1


def _count(lo: int, hi: int, what: str) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number of {what}") from None
        if not lo <= value <= hi:
            raise argparse.ArgumentTypeError(f"{what} must be {lo} … {hi}, not {value}")
        return value

    return parse


def cmd_demo(args: argparse.Namespace, out: TextIO) -> int:
    return run_demo(args.nodes, args.rolls, args.seed, out)


def add_demo_command(sub: Any) -> None:
    demo = sub.add_parser(
        "demo",
        help="start a small local mesh and play a table end to end",
        description=(
            "Start a few bitcraps daemons on loopback (temporary data directories, free ports, "
            "no LAN discovery) and play a craps table end to end through their control APIs: "
            "create, joins, bets of several kinds, rolls settled by commit-reveal, a player "
            "leaving, the table wound down. Shows every node's balances and state digest; exit "
            "status 0 only if the digests agree and supply is conserved. Everything it started "
            "is stopped and removed at the end, Ctrl-C included."
        ),
    )
    demo.add_argument(
        "--nodes", type=_count(MIN_NODES, MAX_NODES, "nodes"), default=3, metavar="N",
        help=f"daemons: a host and N-1 players ({MIN_NODES} … {MAX_NODES}, default 3)",
    )  # fmt: skip
    demo.add_argument(
        "--rolls", type=_count(1, 200, "rolls"), default=12, metavar="N",
        help="rolls before the table winds down (default 12)",
    )  # fmt: skip
    demo.add_argument(
        "--seed", type=int, default=None, metavar="S",
        help="fix the keys and the bets (default: a random seed, printed)",
    )  # fmt: skip
    demo.set_defaults(func=cmd_demo)
