"""A table played by real ``bitcraps node`` processes on loopback, three in a line A – B – C (A and
C never talk directly), driven through the control API's table methods (tests/daemons.py):
hosted on A, joined and bet on from C (one-roll bets: a repeat is never a duplicate), every
roll settled by commit–reveal through B.  B is SIGKILLed mid-play and play goes on at both ends
through a restarted B; then C itself is SIGKILLed and a roll opens without it: the restarted C
reveals for it from its key and store alone (its chain is derived, never stored).
Nothing accepted is lost, and the three digests agree.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from protocol.constants import CRAP
from tests.daemons import Daemon, wait_for

pytestmark = pytest.mark.slow


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
    """``d``'s view of table ``game`` (``game_show``)."""
    return d.table(game)


def waiting_for(d: Daemon, game: str) -> list[int] | None:
    """The seats the open roll waits for at ``d`` (None: no roll open)."""
    current = row(d, game)["current"]
    return None if current is None else list(current["waiting_for"])


def table_state(value: Any) -> Any:
    """A field of two views to compare: seats without balances (each replica's own view of the
    money may lag the other's)."""
    if isinstance(value, list):
        return [{k: v for k, v in s.items() if k not in ("spendable", "held")} for s in value]
    return value


class Ledger:
    """Every own packet a table method signed (accepted: committed at its node), by sender."""

    def __init__(self) -> None:
        self.top: dict[str, int] = {}

    def note(self, d: Daemon, result: dict[str, Any] | None = None) -> dict[str, Any]:
        nonce = int(result["nonce"]) if result and result.get("nonce") else d.hwm(d.identity)
        self.top[d.identity] = max(self.top.get(d.identity, 0), nonce, d.hwm(d.identity))
        return result or {}

    def everywhere(self, *daemons: Daemon) -> bool:
        return all(hwm(d, s) >= n for d in daemons for s, n in self.top.items())


def test_a_table_hosted_on_a_is_played_from_c_through_kills_of_b_and_c(
    line: tuple[Daemon, Daemon, Daemon],
) -> None:
    a, b, c = line
    host = a.identity
    accepted = Ledger()
    game = accepted.note(a, a.play("game_create", max_players=4))["game"]
    wait_for(lambda: hwm(c, host) >= 1, what="the create at C")
    joined = accepted.note(c, c.play("game_join", game=game[:6], wait=20))
    assert joined["status"] == "seated" and joined["seat"] == 1

    def bet(player: Daemon) -> None:
        accepted.note(
            player, player.play("bet", game=game, bets=[["field", 5 * CRAP], ["next-7", 1 * CRAP]])
        )

    def at_host(player: Daemon) -> None:
        wait_for(lambda: hwm(a, c.identity) == hwm(player, c.identity), what="C's packets at A")

    def roll(k: int) -> None:
        result = a.play("roll", game=game, wait=0)
        accepted.note(a)
        assert result["k"] == k and row(a, game)["k"] == k

    def revealed(k: int, timeout: float = 30.0) -> None:
        wait_for(
            lambda: waiting_for(a, game) == [] and row(a, game)["k"] == k,
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
            assert table_state(host_view[field]) == table_state(player_view[field]), field
        assert host_view["k"] == 6 and player_view["my_seat"] == 1
        assert player_view["seats"][0]["own"]
        assert all(t["role"] == "-" for t in b.games())  # B only relays
        assert all(p["address"] != f"127.0.0.1:{c.port}" for p in a.call("peers")["peers"])
    finally:
        for d in line_nodes:
            d.kill()
