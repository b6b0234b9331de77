"""The ``bitcraps`` command as people use it: help, the packet decoder, bets, network, demo."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import nacl.signing
import pytest

from node.drivers.cli import main
from protocol.bets import BetType
from protocol.constants import CRAP, MAX_U64
from protocol.frame import FrameCodec
from protocol.genesis import LOCAL
from protocol.kinds import Bet, BetEntry

KEY = nacl.signing.SigningKey(bytes(range(32)))
CODEC = FrameCodec(LOCAL.network_id)


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    out = io.StringIO()
    code = main(argv, out=out)
    captured = capsys.readouterr()
    return code, out.getvalue() + captured.out, captured.err


def bet_frame() -> bytes:
    body = Bet(b"\x22" * 8, 7, (BetEntry(BetType.OddsCome, MAX_U64, 6),))
    return CODEC.seal(KEY, 3, b"\x11" * 8, body)


def test_console_script_help_lists_every_command() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "node.drivers.cli", "--help"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0
    for command in ("demo", "packet", "bets", "network"):
        assert command in result.stdout


def test_decode_prints_the_packet_as_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(["packet", "decode", bet_frame().hex()], capsys)
    assert code == 0, err
    decoded = json.loads(out)
    assert decoded["verdict"] == "valid"
    assert decoded["kind"] == "bet"
    assert decoded["nonce"] == 3
    assert decoded["sender"] == bytes(KEY.verify_key).hex()
    assert decoded["fields"]["bets"][0] == {
        "code": {"code": 80, "name": "OddsCome"},
        "amount": MAX_U64,
        "come_point": 6,
    }
    assert decoded["size"] == len(bet_frame())


def test_decode_accepts_spaces_and_stdin(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    spaced = " ".join(bet_frame().hex()[i : i + 8] for i in range(0, len(bet_frame().hex()), 8))
    assert run(["packet", "decode", spaced], capsys)[0] == 0
    monkeypatch.setattr(sys, "stdin", io.StringIO(bet_frame().hex() + "\n"))
    assert run(["packet", "decode", "-"], capsys)[0] == 0


def test_decode_of_a_forged_frame_says_rejected_in_one_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    frame = bytearray(bet_frame())
    frame[-1] ^= 1
    code, out, err = run(["packet", "decode", frame.hex()], capsys)
    assert code == 1
    assert out == ""
    assert err.count("\n") == 1
    assert "rejected BadSignature" in err
    assert "Traceback" not in err


def test_decode_of_a_signed_bad_body_says_refused_malformed(
    capsys: pytest.CaptureFixture[str],
) -> None:
    sender = bytes(KEY.verify_key)
    # a bet with bet code 7 (no such bet), validly signed
    body = bytes([0x97, 0x05, 0xC4, 0x20]) + sender + bytes([0x02, 0xC4, 0x08]) + b"\x11" * 8
    body += bytes([0xC4, 0x08]) + b"\x22" * 8 + bytes([0x01, 0x91, 0x92, 0x07, 0x05])
    signature = KEY.sign(b"BCM/v1" + LOCAL.network_id + body).signature
    frame = bytes([1, 0]) + LOCAL.network_id[:4] + body + signature
    code, _, err = run(["packet", "decode", frame.hex()], capsys)
    assert code == 1
    assert "refused(malformed) FieldRange" in err
    assert "bet code" in err


@pytest.mark.parametrize("text", ["zz", "0x", "12 3"])
def test_decode_of_non_hex_is_one_readable_line(
    text: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(["packet", "decode", text], capsys)
    assert code == 1
    assert err.startswith("bitcraps: ")
    assert err.count("\n") == 1


def test_decode_with_a_missing_genesis_file_is_one_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, _, err = run(
        ["packet", "decode", bet_frame().hex(), "--genesis", "/nonexistent/genesis.toml"], capsys
    )
    assert code == 1
    assert "cannot read genesis file" in err


def test_decode_against_another_network_is_wrong_network(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    genesis = tmp_path / "other.toml"
    genesis.write_text('name = "other"\nplay_money = true\nfaucet = 5\n')
    code, _, err = run(["packet", "decode", bet_frame().hex(), "--genesis", str(genesis)], capsys)
    assert code == 1
    assert "WrongNetwork" in err


def test_bets_lists_every_bet_with_its_code(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["bets", "--json"], capsys)
    assert code == 0
    rows = json.loads(out)
    assert {row["code"] for row in rows} == {int(b) for b in BetType}
    assert {"name": "odds-come-6", "code": 80, "type": "OddsCome"}.items() <= next(
        row for row in rows if row["name"] == "odds-come-6"
    ).items()


def test_network_shows_the_local_network_id(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["network", "--json"], capsys)
    assert code == 0
    info = json.loads(out)
    assert info["network_id"] == LOCAL.network_id.hex()
    assert info["faucet_amount"] == 100_000 * CRAP


def test_demo_options_are_checked_before_anything_starts(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """(The demo itself plays in tests/test_demo.py.)"""
    for argv in (["demo", "--nodes", "2"], ["demo", "--rolls", "0"], ["demo", "--seed", "x"]):
        with pytest.raises(SystemExit) as exc:
            main(argv)
        assert exc.value.code == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "demo" in err


def test_unknown_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["frobnicate"])
    assert exc.value.code == 2
