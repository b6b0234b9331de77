"""The compiled fast path of body decoding agrees with the spec objects and never falls back
silently on a valid body (a fallback would be correct but slow)."""

from __future__ import annotations

from hypothesis import given, settings

from protocol.kinds import BODY_TYPES, COMPILED_BODIES, Body, body_from_wire, body_to_wire
from protocol.schema import check_fields
from tests.strategies import bodies


@settings(max_examples=300, deadline=None)
@given(bodies())
def test_compiled_checker_accepts_every_valid_body_and_builds_the_same_value(body: Body) -> None:
    fields = body_to_wire(body)
    fast = COMPILED_BODIES[body.KIND](fields)  # raises if the fast path would fall back
    cls = BODY_TYPES[body.KIND]
    slow = cls(*check_fields(cls.SCHEMA, fields))
    assert fast == slow == body == body_from_wire(body.KIND, fields)
    assert type(fast) is type(body)
