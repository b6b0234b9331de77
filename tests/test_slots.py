"""protocol.slots: the makers the generated checkers build bodies with equal the classes' own
constructors, in C and in Python."""

from __future__ import annotations

import dataclasses
import gc
import json
import os
import sys
from typing import Any

import pytest

import native
from node.core.ledger import Credit, Effects, Judgment
from node.core.verdicts import Reason
from protocol import slots
from protocol.bets import BetType
from protocol.kinds import Ack, BetEntry, ExtRef, Transfer
from protocol.slots import maker, maker_python, tuple_maker, tuple_maker_python

MAKERS = [maker, maker_python]
REF = ExtRef(b"\x01" * 32, 7, b"\x02" * 8)


@pytest.mark.parametrize("make_maker", MAKERS)
def test_a_maker_builds_what_the_constructor_builds(make_maker: Any) -> None:
    for cls, values in [
        (ExtRef, (b"\x01" * 32, 7, b"\x02" * 8)),
        (Transfer, (b"\x03" * 32, 10, (REF,))),
        (Ack, ((REF, REF),)),
        (BetEntry, (BetType(0), 5, None)),
    ]:
        names = tuple(f.name for f in dataclasses.fields(cls))
        built = make_maker(cls, names)(*values)
        expected = cls(*values)
        assert type(built) is cls
        assert built == expected and hash(built) == hash(expected)
        assert repr(built) == repr(expected)
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(built, names[0], values[0])  # still frozen


def test_the_default_names_are_the_dataclass_fields() -> None:
    assert maker(ExtRef)(b"\x01" * 32, 7, b"\x02" * 8) == REF


@pytest.mark.parametrize("make_maker", MAKERS)
def test_a_maker_refuses_what_is_not_an_own_slot(make_maker: Any) -> None:
    with pytest.raises(TypeError, match="not a slot"):
        make_maker(ExtRef, ("sender", "nonce", "nope"))
    with pytest.raises(TypeError, match="not a slot"):
        make_maker(Transfer, ("to", "KIND"))


@pytest.mark.parametrize("make_maker", MAKERS)
def test_a_maker_takes_exactly_one_value_per_name(make_maker: Any) -> None:
    make = make_maker(ExtRef, ("sender", "nonce", "h"))
    with pytest.raises(TypeError, match="takes 3 values"):
        make(b"\x01" * 32, 7)


def test_the_extension_runs_when_the_install_built_it() -> None:
    """A built extension is used: a silent fallback to the Python makers fails here."""
    manifest = native.MANIFEST
    if not manifest.is_file():
        pytest.skip("no native build in this install")
    outcome = json.loads(manifest.read_text()).get("optional", {}).get("protocol._slots")
    if outcome is None:
        pytest.skip("this install compiled nothing (pure Python)")
    assert outcome == "compiled", outcome  # it needs only Python's own headers
    assert slots.NATIVE or os.environ.get("BITCRAPS_PURE") == "1"


TUPLE_MAKERS = [tuple_maker, lambda cls: tuple_maker_python(cls, len(cls._fields))]


@pytest.mark.parametrize("make_maker", TUPLE_MAKERS)
def test_a_tuple_maker_builds_the_named_tuple(make_maker: Any) -> None:
    credit = make_maker(Credit)(b"\x01" * 32, b"\x02" * 32, 3, 40)
    effects = make_maker(Effects)(0, 40, 0, (credit,), ())
    judgment = make_maker(Judgment)(Reason.APPLIED, effects)
    expected = Judgment(
        Reason.APPLIED, Effects(debit=40, credits=(Credit(b"\x01" * 32, b"\x02" * 32, 3, 40),))
    )
    assert type(judgment) is Judgment and type(judgment.effects) is Effects
    assert judgment == expected and hash(judgment) == hash(expected)
    assert judgment.effects.credits[0].amount == 40
    with pytest.raises(TypeError, match="takes 4 values"):
        make_maker(Credit)(b"\x01" * 32, 3)


def test_a_tuple_maker_needs_a_named_tuple_class() -> None:
    with pytest.raises(TypeError):
        tuple_maker(tuple)
    with pytest.raises(TypeError):
        tuple_maker_python(int, 1)  # type: ignore[arg-type]


@pytest.mark.skipif(not slots.NATIVE, reason="only the C makers settle")
def test_verdicts_of_plain_values_are_not_tracked_by_the_collector() -> None:
    credit = tuple_maker(Credit)(b"\x01" * 32, b"\x02" * 32, 3, 40)
    acks = ((b"\x04" * 32, 9),)
    effects = tuple_maker(Effects)(0, 40, 0, (credit,), acks)
    assert not gc.is_tracked(credit) and not gc.is_tracked(effects)
    assert not gc.is_tracked(effects.credits) and not gc.is_tracked(effects.acks[0])
    judgment = tuple_maker(Judgment)(Reason.APPLIED, effects)
    assert gc.is_tracked(judgment)  # the reason is an object the collector tracks
    holder = tuple_maker(Effects)(0, 0, 0, ([],), ())  # a list can be part of a cycle
    assert gc.is_tracked(holder) and gc.is_tracked(holder.credits)
    deps = slots.settle(((b"\x01" * 32, 3, b"\x02" * 8), (b"\x05" * 32, 1, None)))
    assert not gc.is_tracked(deps) and not gc.is_tracked(deps[0])
    assert slots.settle(deps) is deps


def test_a_settled_tuple_still_frees_what_it_holds() -> None:
    """Untracked is not immortal: reference counting still frees a settled verdict."""
    credit = tuple_maker(Credit)(b"\x01" * 32, b"\x02" * 32, 3, 40)
    effects = tuple_maker(Effects)(0, 40, 0, (credit,), ())
    count = sys.getrefcount(credit)
    del effects
    assert sys.getrefcount(credit) == count - 1
