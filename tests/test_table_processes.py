"""A table played by real ``bitcraps node`` processes on loopback, three in a line A – B – C (A and
C never talk directly), driven through the daemon's test-only hook (tests/daemons.py): hosted on
A, joined and bet on from C, every roll settled by commit–reveal through B.  B is SIGKILLed
mid-play and play goes on at both ends through a restarted B; then C itself is SIGKILLed and a
roll opens without it: the restarted C reveals for it from its key and store alone (its chain is
derived, never stored).
Nothing accepted is lost, and the three digests agree.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from protocol.constants import CRAP
from protocol.frame import FrameCodec
from protocol.genesis import LOCAL
from tests.daemons import Daemon, wait_for

pytestmark = pytest.mark.slow

CODEC = FrameCodec(LOCAL.network_id)


@pytest.fixture
def line(tmp_path: Path) -> Iterator[tuple[Daemon, Daemon, Daemon]]:
    b = Daemon("b", tmp_path / "b").start()
    a = Daemon("a", tmp_path / "a", peers=(b.address,)).start()
    c = Daemon("c", tmp_path / "c", peers=(b.address,)).start()
    daemons = [a, b, c]
    try:
        wait_for(lambda: b.neighbours() == 2, what="B linked to A and C")
        yield a, b, c
    finally:
        for d in daemons:
            d.kill()


def hwm(d: Daemon, sender: str) -> int:
    return d.hwm(sender)


def row(d: Daemon, game: str) -> dict[str, Any]:
    """``d``'s view of table ``game`` (it hosts it or sits there)."""
    rows = [r for r in d.table("tables") if r["game"] == game]
    assert len(rows) == 1, rows
    found: dict[str, Any] = rows[0]
    return found


class Ledger:
    """Every frame a command returned (accepted: committed at its node), by sender."""

    def __init__(self) -> None:
        self.top: dict[str, int] = {}

    def note(self, frames: list[str]) -> list[str]:
        for frame in frames:
            env = CODEC.open(bytes.fromhex(frame))
            sender = env.sender.hex()
            self.top[sender] = max(self.top.get(sender, 0), env.nonce)
        return frames

    def everywhere(self, *daemons: Daemon) -> bool:
        return all(hwm(d, s) >= n for d in daemons for s, n in self.top.items())


def test_a_table_hosted_on_a_is_played_from_c_through_kills_of_b_and_c(
    line: tuple[Daemon, Daemon, Daemon],
) -> None:
    a, b, c = line
    host = a.identity
    accepted = Ledger()
    (create,) = accepted.note(a.table("create_table", params={"max_players": 4}))
    game = CODEC.open(bytes.fromhex(create)).full_hash[:8].hex()
    wait_for(lambda: hwm(c, host) >= 1, what="the create at C")
    accepted.note(c.table("join_table", host=host, game=game, chain_n=128))
    wait_for(lambda: row(c, game)["seat"] == 1, what="C seated by A's own answer")

    def bet(player: Daemon) -> None:
        accepted.note(
            player.table(
                "place_bets",
                host=host,
                game=game,
                bets=[["field", 5 * CRAP], ["hard-8", 1 * CRAP]],
            )
        )

    def at_host(player: Daemon) -> None:
        wait_for(lambda: hwm(a, c.identity) == hwm(player, c.identity), what="C's packets at A")

    def roll(k: int) -> None:
        accepted.note(a.table("open_roll", game=game))
        wait_for(lambda: row(a, game)["k"] == k, what=f"roll {k} open at A")

    def revealed(k: int, timeout: float = 30.0) -> None:
        wait_for(
            lambda: row(a, game)["waiting_for"] == [] and row(a, game)["k"] == k,
            timeout=timeout,
            what=f"C's reveal of roll {k} at A",
        )

    for k in (1, 2):  # rolls settle through B
        bet(c)
        at_host(c)
        roll(k)
        revealed(k)

    bet(c)
    at_host(c)
    b.kill()  # SIGKILL of the relay mid-play
    roll(3)  # accepted at A, nowhere to go
    bet(c)  # accepted at C, nowhere to go
    assert row(c, game)["k"] == 2
    b = Daemon("b", b.data_dir, port=b.port).start()
    line_nodes = (a, b, c)
    try:
        revealed(3, timeout=60)  # the roll reached C through the new B, its reveal came back
        at_host(c)
        c.kill()  # SIGKILL of the player, then roll 4 opens without it
        roll(4)
        c = Daemon("c", c.data_dir, port=c.port, peers=(b.address,)).start()
        line_nodes = (a, b, c)
        revealed(4, timeout=60)  # its chain is derived from its key: the new process reveals
        for k in (5, 6):
            bet(c)
            at_host(c)
            roll(k)
            revealed(k)

        wait_for(lambda: accepted.everywhere(a, b, c), timeout=60, what="nothing lost")
        wait_for(
            lambda: len({d.digest() for d in line_nodes}) == 1,
            timeout=60,
            what="one digest",
        )
        host_view, player_view = row(a, game), row(c, game)
        for field in ("k", "point", "cover", "bank_money", "risk", "seats", "host_bond_left"):
            assert host_view[field] == player_view[field], field
        assert host_view["k"] == 6 and player_view["seat"] == 1 and player_view["own_seat"]
        assert not b.table("tables")  # B only relays
        assert all(p["address"] != f"127.0.0.1:{c.port}" for p in a.call("peers")["peers"])
    finally:
        for d in line_nodes:
            d.kill()
