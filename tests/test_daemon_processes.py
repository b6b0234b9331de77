"""Real ``bitcraps node`` processes on loopback, three in a line: A – B – C (A and C never talk
directly).  Driven through the control API (tests/daemons.py).

The same scenarios with money packets (transfers that acknowledge what they were paid); the
table scenarios of the issue — a table hosted on A joined and bet on from C, SIGKILL of B
mid-play — are tests/test_table_processes.py.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from protocol.kinds import Transfer
from tests.daemons import Daemon, wait_for
from tests.ledger_factory import Chain, public_key

pytestmark = pytest.mark.slow


@pytest.fixture
def line(tmp_path: Path) -> Iterator[tuple[Daemon, Daemon, Daemon]]:
    b = Daemon("b", tmp_path / "b").start()
    a = Daemon("a", tmp_path / "a", peers=(b.address,)).start()
    c = Daemon("c", tmp_path / "c", peers=(b.address,)).start()
    try:
        wait_for(lambda: b.neighbours() == 2, what="B linked to A and C")
        yield a, b, c
    finally:
        for d in (a, b, c):
            d.kill()


def hwm(d: Daemon, sender: str) -> int:
    return d.hwm(sender)


def agree(*daemons: Daemon) -> bool:
    return len({d.digest() for d in daemons}) == 1


def pay(payer: Daemon, payee: Daemon, amount: int) -> dict[str, object]:
    """A transfer that also acknowledges what the payer was paid (the API does, as a wallet
    would)."""
    return payer.transfer(payee.identity, amount)


def test_three_daemons_in_a_line_settle_money_identically(
    line: tuple[Daemon, Daemon, Daemon],
) -> None:
    a, b, c = line
    for i in range(8):
        pay(a, c, 1_000_000 + i)
        pay(c, a, 2_000_000 + i)
    wait_for(
        lambda: all(hwm(d, a.identity) == 8 and hwm(d, c.identity) == 8 for d in (a, b, c)),
        what="every packet everywhere",
    )
    wait_for(lambda: agree(a, b, c), what="one digest")
    assert hwm(b, b.identity) == 0  # B only relays
    assert all(peer["address"] != f"127.0.0.1:{c.port}" for peer in a.call("peers")["peers"])


def test_sigkill_of_the_relay_mid_play_loses_nothing_accepted(
    line: tuple[Daemon, Daemon, Daemon], tmp_path: Path
) -> None:
    a, b, c = line
    issued = {a.identity: 0, c.identity: 0}
    for i in range(4):
        pay(a, c, 10 + i)
        pay(c, a, 20 + i)
        issued[a.identity] += 1
        issued[c.identity] += 1
    b.kill()  # SIGKILL, possibly with packets in flight
    for i in range(4):  # play goes on at both ends: accepted locally, nowhere to go
        a.transfer(c.identity, 30 + i)
        c.transfer(a.identity, 40 + i)
        issued[a.identity] += 1
        issued[c.identity] += 1
    b2 = Daemon("b", b.data_dir, port=b.port).start()  # through a restarted B
    try:
        for i in range(3):
            pay(a, c, 50 + i)
            pay(c, a, 60 + i)
            issued[a.identity] += 1
            issued[c.identity] += 1
        wait_for(
            lambda: all(hwm(d, who) == count for d in (a, b2, c) for who, count in issued.items()),
            timeout=60,
            what="every accepted packet on all three",
        )
        wait_for(lambda: agree(a, b2, c), what="one digest")
    finally:
        b2.kill()


def test_a_partition_heals_by_anti_entropy_alone(
    line: tuple[Daemon, Daemon, Daemon],
) -> None:
    a, b, c = line
    assert b.stop(signal.SIGTERM) == 0  # B down for a while
    for i in range(5):
        a.transfer(c.identity, 100 + i)
        c.transfer(a.identity, 200 + i)
    b2 = Daemon("b", b.data_dir, port=b.port).start()
    try:
        # nothing is issued any more: only anti-entropy (and the pulls it starts) moves them
        wait_for(
            lambda: all(hwm(d, a.identity) == 5 and hwm(d, c.identity) == 5 for d in (a, b2, c)),
            timeout=60,
            what="healed",
        )
        wait_for(lambda: agree(a, b2, c), what="one digest")
    finally:
        b2.kill()


def test_a_fork_published_to_a_and_c_separately_surfaces_on_all_three(
    line: tuple[Daemon, Daemon, Daemon],
) -> None:
    a, b, c = line
    left = Chain("process-rogue")
    right = left.branch(0)
    left.sign(Transfer(public_key("sink-1"), 5, ()))
    right.sign(Transfer(public_key("sink-2"), 7, ()))
    assert a.publish(left.frames[0]) == {"value": "queued"}
    assert c.publish(right.frames[0]) == {"value": "queued"}
    rogue = left.pub.hex()
    wait_for(
        lambda: all(d.fork(rogue) == 1 for d in (a, b, c)),
        timeout=60,
        what="the fork proof on all three",
    )
    wait_for(lambda: agree(a, b, c), what="one digest")


def test_sigterm_stops_the_daemon_in_order_within_two_seconds(tmp_path: Path) -> None:
    d = Daemon("solo", tmp_path / "solo").start()
    d.transfer(public_key("anyone").hex(), 1)
    start = time.monotonic()
    assert d.stop(signal.SIGTERM) == 0
    assert time.monotonic() - start < 2.0
    assert "stopped" in d.log()
    again = Daemon("solo", tmp_path / "solo").start()  # same key, same chain, lock released
    try:
        assert again.identity == d.identity
        assert again.status()["hwm"] == 1
        start = time.monotonic()
        again.send_signal(signal.SIGINT)
        assert again.process is not None and again.process.wait(5) == 0
        assert time.monotonic() - start < 2.0
    finally:
        again.kill()


def test_a_second_daemon_on_the_same_data_dir_refuses_with_the_holders_pid(
    tmp_path: Path,
) -> None:
    first = Daemon("one", tmp_path / "shared").start()
    try:
        second = Daemon("two", tmp_path / "shared")
        process = second.spawn()
        assert process.wait(20) == 1
        lines = [ln for ln in second.log().splitlines() if ln.startswith("bitcraps node:")]
        assert lines == [
            f"bitcraps node: the data directory {tmp_path / 'shared'} is in use by another "
            f"bitcraps node (pid {first.process.pid if first.process else '?'})"
        ]
    finally:
        first.kill()


def test_the_key_is_made_on_first_run_0600_and_a_passphrase_encrypts_it(
    tmp_path: Path,
) -> None:
    secret = tmp_path / "pass"
    secret.write_text("correct horse\n")
    d = Daemon("enc", tmp_path / "enc", extra=("--passphrase-file", str(secret))).start()
    d.stop()
    key = tmp_path / "enc" / "identity.key"
    assert key.stat().st_mode & 0o777 == 0o600
    assert bytes.fromhex(d.identity) not in key.read_bytes()
    secret.write_text("wrong\n")
    wrong = Daemon("enc", tmp_path / "enc", extra=("--passphrase-file", str(secret)))
    assert wrong.spawn().wait(20) == 1
    assert "wrong passphrase for the identity key" in wrong.log()
    plain = Daemon("enc", tmp_path / "enc")
    assert plain.spawn().wait(20) == 1
    assert "is encrypted: give --passphrase-file" in plain.log()
    secret.write_text("correct horse\n")
    again = Daemon("enc", tmp_path / "enc", extra=("--passphrase-file", str(secret))).start()
    try:
        assert again.identity == d.identity
    finally:
        again.kill()


def test_a_node_with_its_key_but_not_its_data_recovers_from_three_peers_before_it_signs(
    tmp_path: Path,
) -> None:
    peers = [Daemon(f"p{i}", tmp_path / f"p{i}").start() for i in range(3)]
    addresses = tuple(p.address for p in peers)
    x = Daemon("x", tmp_path / "x", peers=addresses).start()
    try:
        wait_for(lambda: x.neighbours() == 3, what="x linked")
        for i in range(3):
            x.transfer(peers[0].identity, 1 + i)
        wait_for(lambda: all(hwm(p, x.identity) == 3 for p in peers), what="x's packets out")
        x.stop()
        for name in ("ledger.sqlite3", "ledger.sqlite3-wal", "ledger.sqlite3-shm"):
            (tmp_path / "x" / name).unlink(missing_ok=True)
        x = Daemon("x", tmp_path / "x", peers=addresses)
        x.start()
        wait_for(lambda: not x.status()["recovering"], timeout=60, what="recovered")
        assert x.status()["hwm"] == 3
        assert "signs nothing until 3 peers" in x.log()
        x.transfer(peers[1].identity, 9)
        wait_for(lambda: all(hwm(p, x.identity) == 4 for p in peers), what="nonce 4 out")
        assert all(not p.fork(x.identity) for p in peers)
    finally:
        x.kill()
        for p in peers:
            p.kill()
