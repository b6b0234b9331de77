"""The generated body checkers (``protocol/checkers.py``) agree with the spec objects, never fall
back silently on a valid body (a fallback would be correct but slow), and are exactly what the
schemas generate today."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol.checkers import CHECKERS
from protocol.kinds import BODY_TYPES, Body, body_from_wire, body_to_wire
from protocol.schema import check_fields, render_checkers
from tests.strategies import bodies

ROOT = Path(__file__).resolve().parents[1]


@settings(max_examples=300, deadline=None)
@given(bodies(), st.integers(min_value=0, max_value=5))
def test_generated_checker_accepts_every_valid_body_and_builds_the_same_value(
    body: Body, base: int
) -> None:
    fields = body_to_wire(body)
    fast = CHECKERS[body.KIND]([0] * base + fields, base)  # raises if it would fall back
    cls = BODY_TYPES[body.KIND]
    slow = cls(*check_fields(cls.SCHEMA, fields))
    assert fast == slow == body == body_from_wire(body.KIND, fields)
    assert type(fast) is type(body)


@settings(max_examples=300, deadline=None)
@given(bodies(), st.data())
def test_generated_checker_refuses_what_the_specs_refuse(body: Body, data: st.DataObject) -> None:
    """Damage one field (drop it, retype it, or push an integer out of range): the generated
    checker raises exactly when the exact checks find a fault."""
    fields = body_to_wire(body)
    index = data.draw(st.integers(min_value=0, max_value=len(fields) - 1))
    damage = data.draw(st.sampled_from(["drop", "str", "huge", "negative", "extra"]))
    if damage == "drop":
        del fields[index]
    elif damage == "str":
        fields[index] = "x"
    elif damage == "huge":
        fields[index] = 1 << 70
    elif damage == "negative":
        fields[index] = -1
    else:
        fields.append(0)
    try:
        expected = body_from_wire(body.KIND, fields)
    except Exception:
        with pytest.raises(Exception):  # noqa: B017 (any fault: the caller falls back)
            CHECKERS[body.KIND](fields, 0)
    else:
        assert CHECKERS[body.KIND](fields, 0) == expected


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
