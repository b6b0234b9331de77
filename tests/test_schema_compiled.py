"""The generated body checks (``protocol/checkers.py``): they build every valid body as its
constructor does, name the first fault of an invalid one by its place, and are exactly what the
schemas generate today."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol.bets import BetType
from protocol.checkers import CHECKERS
from protocol.errors import FieldCount, FieldNotCanonical, FieldRange, FieldType, Malformed
from protocol.frame import body_from_wire
from protocol.kinds import BODY_TYPES, Body, Kind, body_to_wire
from protocol.schema import render_checkers
from protocol.wire import Foreign, NotShortest
from tests.strategies import bodies

ROOT = Path(__file__).resolve().parents[1]
REF = [b"\x01" * 32, 7, b"\x02" * 8]


@settings(max_examples=300, deadline=None)
@given(bodies(), st.integers(min_value=0, max_value=5))
def test_the_check_builds_every_valid_body_from_any_offset(body: Body, base: int) -> None:
    fields = body_to_wire(body)
    built = CHECKERS[body.KIND]([0] * base + fields, base)
    assert built == body == body_from_wire(body.KIND, fields)
    assert type(built) is type(body)


@pytest.mark.parametrize(
    ("kind", "fields", "error", "message"),
    [
        (Kind.TRANSFER, [b"\x03" * 32, 5], FieldCount, "transfer body: 2 fields, expected 3"),
        (
            Kind.TRANSFER,
            [b"\x03" * 32, 5, [REF, [b"\x01" * 32, 0, b"\x02" * 8]]],
            FieldRange,
            "transfer body: acks[1].nonce: 0 is outside 1..4294967295",
        ),
        (
            Kind.TRANSFER,
            [b"\x03" * 32, 5, [REF, REF[:2]]],
            FieldCount,
            "transfer body: acks[1]: 2 fields, expected 3",
        ),
        (
            Kind.ACK,
            [[REF, 9]],
            FieldType,
            "ack body: acks[1]: expected ExtRef array, got int",
        ),
        (Kind.ACK, [Foreign("map")], FieldType, "ack body: acks: expected list of ExtRef, got map"),
        (
            Kind.TRANSFER,
            [b"\x03" * 32, NotShortest(5), []],
            FieldNotCanonical,
            "transfer body: amount: not in shortest msgpack encoding",
        ),
        (
            Kind.BET,
            [b"\x04" * 8, 3, [[int(BetType.Pass), 5], [int(BetType.OddsCome), 5]]],
            FieldCount,
            "bet body: bets[1]: OddsCome needs its come point",
        ),
        (
            Kind.BET,
            [b"\x04" * 8, 3, [[7, 5]]],
            FieldRange,
            "bet body: bets[0].code: 7 is not a valid bet code",
        ),
        (
            Kind.SEAT,
            [b"\x04" * 8, [], [[b"\x01" * 31, 7]], [], []],
            FieldRange,
            "seat body: declines[0].key: expected 32 bytes, got 31",
        ),
    ],
)
def test_the_error_names_the_first_fault_and_its_place(
    kind: Kind, fields: list[object], error: type[Malformed], message: str
) -> None:
    with pytest.raises(error) as info:
        body_from_wire(kind, fields)
    assert type(info.value) is error
    assert str(info.value) == message


def test_checkers_module_is_what_the_schemas_generate() -> None:
    source = (ROOT / "protocol" / "checkers.py").read_text()
    assert source == render_checkers(BODY_TYPES), "run python scripts/gen_checkers.py"


def test_gen_checkers_check_mode_agrees() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "gen_checkers.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_every_kind_has_a_checker() -> None:
    assert set(CHECKERS) == set(BODY_TYPES)
