"""The ``bitcraps`` table commands against real ``bitcraps node`` processes (tests/daemons.py):
A hosts, B and C play.  Every command readable and ``--json``; every error path a player meets
(an unknown table, a bad game id, a bet name with a typo, a bet not placeable now, an
insufficient balance, a table that is not own-funded without ``--trust-credits``, a roll asked
by a player); the metrics that count bets; and ``game watch`` through a pseudo-terminal."""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from tests.daemons import ROOT, Daemon, wait_for
from tests.test_cli_daemon import as_json, failed, ok

pytestmark = pytest.mark.slow

CRAP = 1_000_000


@pytest.fixture(scope="module")
def trio_(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Daemon, Daemon, Daemon]]:
    root = tmp_path_factory.mktemp("game")
    a = Daemon("a", root / "a").start()
    b = Daemon("b", root / "b", peers=(a.address,)).start()
    c = Daemon("c", root / "c", peers=(a.address, b.address)).start()
    try:
        wait_for(lambda: a.neighbours() == 2 and c.neighbours() == 2, what="a, b, c linked")
        yield a, b, c
    finally:
        for d in (a, b, c):
            d.kill()


@pytest.fixture(scope="module")
def table(trio_: tuple[Daemon, Daemon, Daemon]) -> str:
    """A's table, B seated at it."""
    a, b, _ = trio_
    created = a.play("game_create", bankroll=5_000 * CRAP)
    game = str(created["game"])
    wait_for(lambda: any(t["game"] == game for t in b.games()), what="the table at B")
    assert b.play("game_join", game=game, wait=20)["status"] == "seated"
    return game


def seen(d: Daemon, *others: Daemon) -> None:
    """Wait until ``d`` holds every packet of ``others``."""
    wait_for(
        lambda: all(d.hwm(o.identity) >= o.hwm(o.identity) for o in others),
        what=f"{d.name} caught up",
    )


def test_game_create_readable_and_json(
    trio_: tuple[Daemon, Daemon, Daemon], capsys: pytest.CaptureFixture[str]
) -> None:
    a, _, _ = trio_
    text = ok(capsys, a, "game", "create", "--bankroll", "2000", "--max-players", "3")
    assert text.startswith("created table ") and "bankroll 2000 CRAP" in text
    assert "2 seats" in text and "bitcraps roll" in text
    result = as_json(
        capsys,
        a,
        "game",
        "create",
        "--bankroll",
        "1500.5",
        "--min-bet",
        "2",
        "--roll-every",
        "60",
        "--max-players",
        "2",
    )
    assert result["bankroll"] == 1_500_500_000 and result["params"]["min_bet"] == 2 * CRAP
    assert result["roll_every"] == 60 and len(result["game"]) == 16
    code, err = failed(capsys, a.data_dir, "game", "create", "--bankroll", "ten")
    assert code == 2 and "--bankroll" in err
    code, err = failed(
        capsys, a.data_dir, "game", "create", "--bankroll", "10", "--min-bet", "5", "--max-bet", "2"
    )
    assert code == 2 and "not a well-formed table" in err


def test_games_and_game_show(
    trio_: tuple[Daemon, Daemon, Daemon], table: str, capsys: pytest.CaptureFixture[str]
) -> None:
    a, b, _ = trio_
    text = ok(capsys, b, "games")
    assert text.splitlines()[0].startswith("GAME")
    line = next(line for line in text.splitlines() if line.startswith(table))
    assert a.identity[:8] in line and "player" in line and "own" in line
    rows = as_json(capsys, b, "games")["tables"]
    assert any(r["game"] == table and r["own_funded"] and r["seats"] == 1 for r in rows)
    shown = ok(capsys, b, "game", "show", table[:5])
    assert f"table {table}" in shown and "you sit at seat 1" in shown and "own-funded" in shown
    assert as_json(capsys, a, "game", "show", table)["role"] == "host"


def test_join_bet_roll_cancel_and_the_standing_of_each_bet(
    trio_: tuple[Daemon, Daemon, Daemon], table: str, capsys: pytest.CaptureFixture[str]
) -> None:
    a, b, c = trio_
    wait_for(lambda: any(t["game"] == table for t in c.games()), what="the table at C")
    joined = ok(capsys, c, "game", "join", table[:6])
    assert "seated at table" in joined and "seat 2" in joined
    placed = ok(capsys, b, "bet", table, "pass", "10", "field", "2.5", "bonus-small", "1")
    assert "placed 3 bets" in placed and "pass 10, field 2.5, bonus-small 1 CRAP" in placed
    result = as_json(capsys, c, "bet", table, "dont-pass", "5")
    assert result["bets"] == [{"index": 0, "bet": "dont-pass", "stake": 5 * CRAP}]
    seen(a, b, c)
    rolled = ok(capsys, a, "roll", table)
    assert rolled.startswith("roll 1: ") and " = " in rolled
    assert "field" in rolled  # a one-roll bet always settles
    shown = as_json(capsys, b, "game", "show", table)
    mine = {m["bet"]: m for m in shown["my_bets"]}
    assert mine["field"]["status"] == "included"  # booked by the next roll
    assert shown["current"]["state"] == "decided" and shown["current"]["settlements"]
    ok(capsys, c, "bet", table, "next-7", "1")  # something at stake, whatever roll 1 settled
    seen(a, c)
    again = as_json(capsys, a, "roll", table)
    assert again["k"] == 2 and again["settled"]["k"] == 1 and again["settled"]["dice"]
    seen(b, a)
    mine = {m["bet"]: m for m in as_json(capsys, b, "game", "show", table)["my_bets"]}
    assert mine["field"]["status"] == "settled" and mine["field"]["outcome"] in ("win", "lose")
    # a bet placed now and cancelled before the host includes it comes back
    point = as_json(capsys, c, "game", "show", table)["current"]["point_after"]
    bet = "field" if point is None else "yes-6"
    ok(capsys, c, "bet", table, bet, "3")
    twice = ok(capsys, c, "bet", table, bet, "3")  # the same again: it waits behind the first
    assert f"note: {bet} waits behind your bets still pending here" in twice
    cancelled = ok(capsys, c, "cancel", table)
    assert "cancel sent" in cancelled
    ok(capsys, b, "bet", table, "next-7", "1")  # something at stake: the roll opens
    seen(a, b, c)
    as_json(capsys, a, "roll", table)
    seen(c, a)
    last = as_json(capsys, c, "game", "show", table)["my_bets"][-1]
    assert last["stake"] == 3 * CRAP and last["status"] != "included"
    assert last["status"] in ("released", "returned") or "cancelled" in last["why"]
    history = ok(capsys, b, "history", "--limit", "1000")
    assert f"bet pass 10, field 2.5, bonus-small 1 at {table[:8]}" in history
    assert f"join at {table[:8]}" in history and f"reveal of roll 1 at {table[:8]}" in history
    items = as_json(capsys, a, "history", "--limit", "1000")["items"]
    assert {"kind": "create", "game": table} in [
        {k: i.get(k) for k in ("kind", "game")} for i in items
    ]
    stats = as_json(capsys, b, "stats")
    assert stats["bitcraps_bets_placed_total"] >= 3
    assert stats["bitcraps_rolls_settled_total"] >= 1
    assert stats["bitcraps_settle_latency_seconds_count"] >= 1
    assert sum(stats["bitcraps_bets_ended_total"].values()) >= 1


def test_table_error_paths(
    trio_: tuple[Daemon, Daemon, Daemon], table: str, capsys: pytest.CaptureFixture[str]
) -> None:
    a, b, c = trio_
    code, err = failed(capsys, b.data_dir, "game", "show", "abcdef01")
    assert code == 1 and "no table abcdef01 is known here" in err
    code, err = failed(capsys, b.data_dir, "game", "show", "xyz")
    assert code == 2 and "not a game id" in err
    code, err = failed(capsys, b.data_dir, "bet", table, "feild", "5")
    assert code == 2 and "did you mean field" in err
    code, err = failed(capsys, b.data_dir, "bet", table, "pass")
    assert code == 2 and "TYPE AMOUNT" in err
    code, err = failed(capsys, b.data_dir, "bet", table, "pass", "0")
    assert code == 2 and "more than zero" in err
    code, err = failed(capsys, b.data_dir, "roll", table)
    assert code == 1 and "only the host" in err
    point = as_json(capsys, b, "game", "show", table)
    decided = point["current"]
    after = decided["point_after"] if decided and "point_after" in decided else point["point"]
    wrong = "come" if after is None else "pass"
    code, err = failed(capsys, b.data_dir, "bet", table, wrong, "5")
    assert code == 1 and "cannot be placed now" in err
    code, err = failed(capsys, b.data_dir, "bet", table, "field", "500")
    assert code == 1 and "outside this table's limits" in err
    # C funds a table with credits A paid it: not own-funded
    a.transfer(c.identity, 20_000 * CRAP)
    seen(c, a)
    c.transfer(a.identity, 1 * CRAP)  # acknowledges the credit: C can spend it
    created = c.play("game_create", bankroll=90_000 * CRAP, max_bet=100_000 * CRAP)
    other = str(created["game"])
    wait_for(lambda: any(t["game"] == other for t in b.games()), what="C's table at B")
    assert not next(t for t in b.games() if t["game"] == other)["own_funded"]
    code, err = failed(capsys, b.data_dir, "game", "join", other)
    assert code == 1 and "not own-funded" in err and "--trust-credits" in err
    joined = as_json(capsys, b, "game", "join", other, "--trust-credits")
    assert joined["status"] == "seated"
    code, err = failed(capsys, b.data_dir, "bet", other, "pass", "100000")
    assert code == 1 and "insufficient balance" in err
    code, err = failed(capsys, c.data_dir, "game", "join", other)
    assert code == 1 and "hosts that table" in err


def test_leave_and_end(
    trio_: tuple[Daemon, Daemon, Daemon], capsys: pytest.CaptureFixture[str]
) -> None:
    a, b, _ = trio_
    game = b.play("game_create", bankroll=1_000 * CRAP, max_players=2)["game"]  # B hosts too
    wait_for(lambda: any(t["game"] == game for t in a.games()), what="B's table at A")
    assert a.play("game_join", game=game, wait=20)["status"] == "seated"
    left = ok(capsys, a, "game", "leave", game)
    assert "asked to leave" in left
    seen(b, a)
    ended = as_json(capsys, b, "game", "end", game)
    assert ended["ended"] and not ended["early"]
    code, err = failed(capsys, b.data_dir, "game", "end", game)
    assert code == 1 and "has ended" in err
    rows = as_json(capsys, b, "games", "--all")["tables"]
    assert any(r["game"] == game and r["ended"] for r in rows)
    assert not any(r["game"] == game for r in as_json(capsys, b, "games")["tables"])


def _read_until(fd: int, text: str, seen: list[str], timeout: float = 30.0) -> str:
    deadline = time.monotonic() + timeout
    while text not in "".join(seen):
        left = deadline - time.monotonic()
        assert left > 0, f"{text!r} not shown: {''.join(seen)[-2000:]}"
        ready, _, _ = select.select([fd], [], [], left)
        if ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                break
            if not chunk:
                break
            seen.append(chunk.decode(errors="replace"))
    return "".join(seen)


def test_game_watch_redraws_in_a_terminal_and_stops_quietly_on_ctrl_c(
    trio_: tuple[Daemon, Daemon, Daemon], table: str
) -> None:
    a, b, _ = trio_
    master, slave = os.openpty()
    env = {**os.environ, "COLUMNS": "80", "LINES": "40"}
    process = subprocess.Popen(
        [sys.executable, "-m", "node.drivers.cli", "--data-dir", str(b.data_dir), "game",
         "watch", table[:8]],
        cwd=ROOT, stdin=slave, stdout=slave, stderr=slave, env=env,
    )  # fmt: skip
    os.close(slave)
    shown: list[str] = []
    try:
        first = _read_until(master, "Ctrl-C to quit", shown)
        assert "\x1b[H\x1b[2J" in first and f"table {table}" in first
        screen = first.rsplit("\x1b[H\x1b[2J", 1)[1]
        assert all(len(line) <= 80 for line in screen.replace("\r", "").split("\n"))
        k = int(a.table(table)["k"])
        b.play("bet", game=table, bets=[["next-7", 1 * CRAP]])  # something at stake
        seen(a, b)
        a.play("roll", game=table, wait=10)
        _read_until(master, f"roll {k + 1}", shown)
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=10) == 0
        assert "Traceback" not in "".join(shown)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        os.close(master)


def test_game_watch_appends_lines_to_a_pipe(
    trio_: tuple[Daemon, Daemon, Daemon], table: str
) -> None:
    _, b, _ = trio_
    process = subprocess.Popen(
        [sys.executable, "-m", "node.drivers.cli", "--data-dir", str(b.data_dir), "game",
         "watch", table, "--json"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        view = json.loads(line)
        assert view["game"] == table and "\x1b" not in line.decode()
    finally:
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=10) == 0
