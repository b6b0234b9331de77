"""The ``bitcraps`` client commands against real ``bitcraps node`` processes (tests/daemons.py):
every command readable and ``--json``, every error path a person meets (no daemon, a bad
amount, an unknown peer key, an insufficient balance, a second daemon on the same data
directory), the socket's mode, metrics on ``--metrics-port``, ``--log-json``, and output piped
into ``head``.  The commands run in this process (``main``), talking to the daemons over their
control sockets; the pipe test runs the installed entry point in a shell."""

from __future__ import annotations

import io
import json
import shlex
import stat
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from node.drivers.cli import main
from tests.daemons import ROOT, Daemon, wait_for

pytestmark = pytest.mark.slow

FAUCET = 100_000 * 1_000_000


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Daemon, Daemon]]:
    root = tmp_path_factory.mktemp("cli")
    a = Daemon("a", root / "a", extra=("--metrics-port", "0", "--log-json")).start()
    b = Daemon("b", root / "b", peers=(a.address,)).start()
    try:
        wait_for(lambda: a.neighbours() == 1 and b.neighbours() == 1, what="a and b linked")
        yield a, b
    finally:
        a.kill()
        b.kill()


def cli(capsys: pytest.CaptureFixture[str], data_dir: Path, *args: str) -> tuple[int, str, str]:
    out = io.StringIO()
    try:
        code = main(["--data-dir", str(data_dir), *args], out=out)
    except SystemExit as exc:  # argparse's usage errors
        code = int(str(exc.code))
    captured = capsys.readouterr()
    return code, out.getvalue() + captured.out, captured.err


def ok(capsys: pytest.CaptureFixture[str], d: Daemon, *args: str) -> str:
    code, out, err = cli(capsys, d.data_dir, *args)
    assert code == 0, err
    assert err == ""
    return out


def as_json(capsys: pytest.CaptureFixture[str], d: Daemon, *args: str) -> Any:
    return json.loads(ok(capsys, d, *args, "--json"))


def failed(capsys: pytest.CaptureFixture[str], data_dir: Path, *args: str) -> tuple[int, str]:
    code, out, err = cli(capsys, data_dir, *args)
    assert code != 0
    assert out == ""
    assert err.count("\n") == 1 and err.startswith("bitcraps"), err
    assert "Traceback" not in err
    return code, err.strip()


def test_status_readable_and_json(
    pair: tuple[Daemon, Daemon], capsys: pytest.CaptureFixture[str]
) -> None:
    a, _ = pair
    text = ok(capsys, a, "status")
    assert f"node         {a.identity}" in text
    assert "network      local" in text and "neighbours   1" in text
    status = as_json(capsys, a, "status")
    assert status["identity"] == a.identity and status["neighbours"] == 1
    assert status["data_dir"] == str(a.data_dir)
    assert status["metrics"].startswith("127.0.0.1:")


def test_transfer_balance_history_readable_and_json(
    pair: tuple[Daemon, Daemon], capsys: pytest.CaptureFixture[str]
) -> None:
    a, b = pair
    text = ok(capsys, a, "transfer", b.identity, "1.5")
    assert text.startswith(f"sent 1.5 CRAP to {b.identity[:16]} (own packet ")
    sent = as_json(capsys, a, "transfer", b.identity[:10], "0.000001")
    assert sent["amount"] == 1 and sent["to"] == b.identity
    wait_for(lambda: b.hwm(a.identity) == sent["nonce"], what="a's transfers at b")
    balance = as_json(capsys, b, "balance")
    assert balance["pending_total"] == 1_500_001
    assert {p["from"] for p in balance["pending"]} == {a.identity}
    text = ok(capsys, b, "balance")
    assert "pending     1.500001 CRAP, not spendable until acknowledged" in text
    assert "spendable   0 CRAP (+100000 CRAP from the faucet with the first packet signed)" in text
    assert f"from {a.identity[:16]} packet" in text and "seen by" in text
    back = as_json(capsys, b, "transfer", a.identity, "2")
    assert back["acks"] == [[a.identity, sent["nonce"]]]
    assert back["spendable"] == FAUCET + 1_500_001 - 2_000_000
    after = ok(capsys, b, "balance")
    assert "pending     none" in after and "faucet" not in after
    other = as_json(capsys, b, "balance", a.identity[:12])
    assert other["key"] == a.identity and not other["own"]
    history = as_json(capsys, b, "history", "--limit", "2")
    assert [i["direction"] for i in history["items"]] == ["out", "in"] and history["more"]
    lines = ok(capsys, b, "history").splitlines()
    assert "-2 CRAP to " + a.identity[:16] in lines[0] and "faucet +100000 CRAP" in lines[0]
    assert any(f"+1.5 CRAP from {a.identity[:16]} (spendable)" in ln for ln in lines)


def test_ping_peers_stats_and_state_digest_readable_and_json(
    pair: tuple[Daemon, Daemon], capsys: pytest.CaptureFixture[str]
) -> None:
    a, b = pair
    answers = as_json(capsys, a, "ping", "--ttl", "2")["answers"]
    assert [(r["key"], r["hops"]) for r in answers] == [(b.identity, 1)]
    line = ok(capsys, a, "ping")
    assert line.startswith(f"{b.identity}  1 hop") and line.rstrip().endswith(" ms")
    peers = as_json(capsys, a, "peers")["peers"]
    assert [p["key"] for p in peers] == [b.identity]
    table = ok(capsys, a, "peers").splitlines()
    assert table[0].startswith("KEY") and table[1].startswith(b.identity[:16])
    stats = as_json(capsys, a, "stats")
    assert stats["bitcraps_links_up"] == 1 and stats["bitcraps_datagrams_received_total"] > 0
    assert "bitcraps_links_up 1" in ok(capsys, a, "stats").splitlines()
    wait_for(lambda: a.digest() == b.digest(), what="one digest")
    digest = as_json(capsys, a, "state-digest")
    assert digest["digest"] == b.digest()
    assert ok(capsys, b, "state-digest").startswith(digest["digest"] + "  (supply ")


def test_failures_are_one_line_with_the_right_exit_status(
    pair: tuple[Daemon, Daemon], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    a, b = pair
    code, err = failed(capsys, tmp_path / "nobody", "balance")
    assert code == 1
    assert "no bitcraps node is running with data directory" in err
    assert f"start one with 'bitcraps --data-dir {tmp_path / 'nobody'} node'" in err
    for amount in ("1.2345678", "-3", "lots", "0"):
        code, err = failed(capsys, a.data_dir, "transfer", b.identity, amount)
        assert code == 2 and "amount" in err
    code, err = failed(capsys, a.data_dir, "transfer", "12xz", "1")
    assert code == 2 and "is not a key" in err
    code, err = failed(capsys, a.data_dir, "transfer", "ab" * 32, "1")
    assert code == 1
    assert "unknown peer key abababababababab" in err and "--new-peer" in err
    code, err = failed(capsys, a.data_dir, "transfer", b.identity, "1000000")
    assert code == 1
    assert "insufficient balance: 1000000 CRAP is more than the" in err
    assert "'bitcraps balance'" in err
    code, err = failed(capsys, a.data_dir, "transfer", a.identity, "1")
    assert code == 2 and "own key" in err
    code, err = failed(capsys, a.data_dir, "ping", "--ttl", "0")
    assert code == 2 and err == (
        "bitcraps ping: argument --ttl: hops must be 1..255, not 0 (see 'bitcraps ping --help')"
    )
    hwm = a.hwm(a.identity)
    assert a.hwm(a.identity) == hwm  # nothing signed by any of these


def test_a_second_daemon_on_the_same_data_dir_refuses_and_the_first_keeps_serving(
    pair: tuple[Daemon, Daemon], capsys: pytest.CaptureFixture[str]
) -> None:
    a, _ = pair
    second = subprocess.run(
        [sys.executable, "-m", "node.drivers.cli", "--data-dir", str(a.data_dir), "node",
         "--listen", "127.0.0.1:0", "--no-discovery"],
        cwd=ROOT, capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert second.returncode == 1
    assert second.stderr.strip().splitlines() == [
        f"bitcraps node: the data directory {a.data_dir} is in use by another bitcraps node "
        f"(pid {a.process.pid if a.process else '?'})"
    ]
    assert as_json(capsys, a, "status")["identity"] == a.identity  # its socket is untouched


def test_the_control_socket_is_0600_in_the_data_dir(pair: tuple[Daemon, Daemon]) -> None:
    a, _ = pair
    mode = (a.data_dir / "control.sock").stat().st_mode
    assert stat.S_ISSOCK(mode) and mode & 0o777 == 0o600


def test_metrics_port_serves_prometheus_text_and_logs_are_json_lines(
    pair: tuple[Daemon, Daemon],
) -> None:
    a, _ = pair
    address = a.status()["metrics"]
    with urllib.request.urlopen(f"http://{address}/metrics", timeout=10) as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/plain")
        text = response.read().decode()
    assert "# TYPE bitcraps_datagrams_received_total counter" in text
    assert "bitcraps_links_up 1.0" in text
    lines = [ln for ln in a.log().splitlines() if ln.strip()]
    assert lines and all(json.loads(ln)["logger"].startswith("bitcraps") for ln in lines)


@pytest.mark.parametrize("command", ["bets", "odds", "status", "stats", "history", "peers"])
def test_output_into_a_pipe_whose_reader_is_gone_ends_quietly(
    pair: tuple[Daemon, Daemon], command: str
) -> None:
    """``head -n 0`` exits before the command writes: every write meets a closed pipe."""
    a, _ = pair
    cli_ = f"{shlex.quote(sys.executable)} -m node.drivers.cli --data-dir {a.data_dir}"
    result = subprocess.run(
        ["bash", "-c", f"{cli_} {command} | head -n 0; echo ${{PIPESTATUS[0]}}"],
        cwd=ROOT, capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert result.stdout == "141\n"  # as if killed by SIGPIPE, like any Unix tool
    assert result.stderr == ""
