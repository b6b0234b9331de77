"""The byte budget: the largest body of every kind fits a frame, and max_entries is maximal.

Also pins docs/PROTOCOL.md to the code: its budget tables, parameter values, error codes and the
``local`` network id must be exactly what the code says.
"""

from __future__ import annotations

import ast
import dataclasses
import operator
import re
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol import constants, errors, fragment, frame, kinds, link
from protocol.bets import BetType
from protocol.budget import (
    CODEC,
    TEST_KEY,
    BudgetRow,
    budget_table,
    forced_roll_open,
    frame_size,
    largest_bodies,
    largest_single_bet,
    main,
    markdown_table,
    max_entries_for,
    seat_joins,
    smallest_bodies,
)
from protocol.constants import (
    DEFAULT_MAX_PLAYERS,
    MAX_BETS_PER_PACKET,
    MAX_FRAME,
    MAX_NONCE,
    MAX_U64,
    ZERO_PREV,
)
from protocol.genesis import LOCAL
from protocol.kinds import Bet, Body, GameEnd, Kind, Released, RollOpen, Seat, Void

DOC = Path(__file__).resolve().parents[1] / "docs" / "PROTOCOL.md"
LARGEST_FITTING_TABLE = 22
"""The largest max_players at which a roll_open (with no entries) still fits one frame."""


def _roundtrip(body: Body, nonce: int) -> Body:
    prev = ZERO_PREV if nonce == 1 else b"\x01" * 8
    frame = CODEC.seal(TEST_KEY, nonce, prev, body)
    packet = CODEC.decode(frame)
    assert packet.nonce == nonce
    assert len(frame) == frame_size(body, nonce)
    return packet.body


@pytest.mark.parametrize("kind", list(Kind), ids=lambda k: k.name.lower())
def test_largest_body_seals_and_decodes_back(kind: Kind) -> None:
    body = largest_bodies()[kind]
    assert _roundtrip(body, MAX_NONCE) == body


@pytest.mark.parametrize("kind", list(Kind), ids=lambda k: k.name.lower())
def test_smallest_body_seals_and_decodes_back(kind: Kind) -> None:
    body = smallest_bodies()[kind]
    assert _roundtrip(body, 1) == body


def test_every_largest_frame_fits_at_default_max_players() -> None:
    sizes = {kind: frame_size(body) for kind, body in largest_bodies().items()}
    assert set(sizes) == set(Kind)
    assert max(sizes.values()) <= MAX_FRAME, sizes


def test_single_bet_frame_is_149_of_its_150_bytes() -> None:
    bet = largest_single_bet()
    (entry,) = bet.bets
    assert entry.code is BetType.OddsCome
    assert entry.amount == MAX_U64
    assert entry.come_point is not None
    assert bet.table == MAX_NONCE
    assert frame_size(bet, MAX_NONCE) == 149
    assert frame_size(bet, MAX_NONCE) <= 150


def test_max_entries_for_default_table_is_maximal() -> None:
    entries = max_entries_for(DEFAULT_MAX_PLAYERS)
    fitting = largest_bodies(DEFAULT_MAX_PLAYERS, entries)[Kind.ROLL_OPEN]
    one_more = largest_bodies(DEFAULT_MAX_PLAYERS, entries + 1)[Kind.ROLL_OPEN]
    assert frame_size(fitting) <= MAX_FRAME
    assert frame_size(one_more) > MAX_FRAME


@pytest.mark.parametrize(
    ("players", "max_entries", "forced_and_one_join", "frame"),
    [(8, 33, 565, 1194), (16, 15, 909, 1194)],
)
def test_max_entries_is_tables_section_5s_table(
    players: int, max_entries: int, forced_and_one_join: int, frame: int
) -> None:
    """TABLES.md §5: reveals, listed and leaves full for P−1 seats, one join answer (87 B) and
    MAX_ENTRIES included entries of the worst size (19 B) fit 1,200 B."""
    assert max_entries_for(players) == max_entries
    assert frame_size(forced_roll_open(players, 0)) == forced_and_one_join
    assert frame_size(forced_roll_open(players, max_entries)) == frame <= MAX_FRAME
    assert frame_size(forced_roll_open(players, max_entries + 1)) > MAX_FRAME


def test_list_items_have_the_sizes_tables_section_5_counts() -> None:
    base = forced_roll_open(8, 0)
    size = frame_size(base)
    two_joins = kinds.replace(base, joins=base.joins * 2)
    assert frame_size(two_joins) - size == 87
    one_released = kinds.replace(base, released=(Released(base.listed[0], MAX_NONCE, 7),))
    assert frame_size(one_released) - size == 8
    fewer = kinds.replace(base, reveals=base.reveals[:-1])
    assert size - frame_size(fewer) == 41


def test_other_sizes_of_tables_section_5() -> None:
    """At P = 16, void ≤ 768 B and game_end ≤ 752 B; join is 207 B; a seat holds 12 joins."""
    bodies = largest_bodies(16)
    assert frame_size(bodies[Kind.VOID]) == 768
    assert frame_size(bodies[Kind.GAME_END]) == 752
    assert frame_size(bodies[Kind.JOIN]) == 207
    assert seat_joins() == 12
    seat = bodies[Kind.SEAT]
    assert isinstance(seat, Seat) and len(seat.joins) == 12


def test_largest_roll_open_carries_every_list_for_every_player_seat() -> None:
    roll = largest_bodies()[Kind.ROLL_OPEN]
    assert isinstance(roll, RollOpen)
    seats = list(range(1, DEFAULT_MAX_PLAYERS))
    assert [r.seat for r in roll.reveals] == seats
    assert list(roll.leaves) == list(roll.listed) == seats
    assert all(r.nonce == MAX_NONCE for r in roll.reveals)
    assert len(roll.joins) == 1
    assert len(roll.included) == max_entries_for(DEFAULT_MAX_PLAYERS)
    assert len(set(roll.included)) == len(roll.included)
    assert all(1 <= e.seat < DEFAULT_MAX_PLAYERS for e in roll.included)


def test_seat_lists_at_a_table_hold_only_its_player_seats() -> None:
    bodies = largest_bodies(5)
    void, end = bodies[Kind.VOID], bodies[Kind.GAME_END]
    assert isinstance(void, Void)
    assert isinstance(end, GameEnd)
    assert void.withheld == (1, 2, 3, 4)
    assert [r.seat for r in void.present] == [1, 2, 3, 4]
    assert [r.seat for r in end.reveals] == [1, 2, 3, 4]


def test_bet_with_eight_maximal_entries_fits() -> None:
    bet = largest_bodies()[Kind.BET]
    assert isinstance(bet, Bet)
    assert len(bet.bets) == MAX_BETS_PER_PACKET == 8
    assert all(b.code is BetType.OddsCome and b.amount > 2**63 for b in bet.bets)
    assert frame_size(bet) <= MAX_FRAME
    assert _roundtrip(bet, MAX_NONCE) == bet


@settings(max_examples=12, deadline=None)
@given(st.integers(min_value=2, max_value=LARGEST_FITTING_TABLE))
def test_max_entries_for_is_maximal_at_any_table_that_fits(max_players: int) -> None:
    entries = max_entries_for(max_players)
    assert frame_size(largest_bodies(max_players, entries)[Kind.ROLL_OPEN]) <= MAX_FRAME
    assert frame_size(largest_bodies(max_players, entries + 1)[Kind.ROLL_OPEN]) > MAX_FRAME


def test_every_kind_fits_up_to_the_largest_table_whose_roll_open_fits() -> None:
    bodies = largest_bodies(LARGEST_FITTING_TABLE)
    assert max(frame_size(body) for body in bodies.values()) <= MAX_FRAME
    assert max_entries_for(LARGEST_FITTING_TABLE) == 1


def test_max_entries_for_refuses_a_table_whose_roll_open_cannot_fit() -> None:
    with pytest.raises(ValueError, match="exceeds 1200 bytes with no entries"):
        max_entries_for(LARGEST_FITTING_TABLE + 1)


@pytest.mark.parametrize("max_players", [0, 1, 256])
def test_largest_bodies_refuse_a_table_without_player_seats_or_over_a_u8(
    max_players: int,
) -> None:
    with pytest.raises(ValueError, match="max_players"):
        largest_bodies(max_players, 0)


def test_frame_size_measures_an_oversize_body_that_seal_refuses() -> None:
    entries = max_entries_for(DEFAULT_MAX_PLAYERS)
    too_big = largest_bodies(DEFAULT_MAX_PLAYERS, entries + 1)[Kind.ROLL_OPEN]
    fitting = largest_bodies(DEFAULT_MAX_PLAYERS, entries)[Kind.ROLL_OPEN]
    assert frame_size(too_big) == frame_size(fitting) + 19  # one worst included entry
    with pytest.raises(ValueError, match="over 1200"):
        CODEC.seal(TEST_KEY, MAX_NONCE, b"\x01" * 8, too_big)


def test_budget_table_has_one_row_per_kind_in_kind_order() -> None:
    rows = budget_table()
    assert [row.kind for row in rows] == [k.name.lower() for k in Kind]
    assert all(isinstance(row, BudgetRow) for row in rows)
    assert all(row.smallest <= row.largest <= MAX_FRAME for row in rows)
    with pytest.raises(dataclasses.FrozenInstanceError):
        rows[0].largest = 0  # type: ignore[misc]


def test_main_prints_the_markdown_table() -> None:
    out: list[str] = []
    assert main([], out.append) == 0
    text = "\n".join(out)
    assert markdown_table() in text
    assert "| `roll_open` | 10 |" in text
    assert "149 bytes" in text


@pytest.mark.parametrize("argv", [["1"], ["eight"], ["8", "9"]])
def test_main_refuses_a_bad_table_size_in_one_line(argv: list[str]) -> None:
    out: list[str] = []
    assert main(argv, out.append) == 2
    assert len(out) == 1


# --------------------------------------------------------------------------- the document


def _doc() -> str:
    return DOC.read_text(encoding="utf-8")


def test_protocol_document_carries_the_current_budget_table() -> None:
    assert markdown_table() in _doc()


def test_protocol_document_carries_every_line_the_budget_command_prints() -> None:
    out: list[str] = []
    main([], out.append)
    doc_lines = set(_doc().splitlines())
    missing = [line for line in "\n".join(out).splitlines() if line and line not in doc_lines]
    assert not missing


_BINOPS: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Pow: operator.pow,
}


def _value(node: ast.expr) -> Any:
    """Evaluate the small constant expressions the parameter tables use (no names, no calls)."""
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
        return _BINOPS[type(node.op)](_value(node.left), _value(node.right))
    raise ValueError(f"not a constant expression: {ast.dump(node)}")


_PARAM_ROW = re.compile(r"^\| `([A-Z][A-Z0-9_]*)` \| `([^`]+)` \|", re.MULTILINE)
_PARAM_MODULES: tuple[ModuleType, ...] = (constants, kinds, fragment, frame, link)


def _documented_parameters() -> dict[str, Any]:
    return {
        name: _value(ast.parse(expr, mode="eval").body) for name, expr in _PARAM_ROW.findall(_doc())
    }


def test_protocol_document_parameter_values_match_the_code() -> None:
    documented = _documented_parameters()
    for name, value in documented.items():
        module = next(m for m in _PARAM_MODULES if hasattr(m, name))
        assert getattr(module, name) == value, name


def test_protocol_document_lists_every_protocol_constant() -> None:
    own = {
        name
        for name, value in vars(constants).items()
        if name.isupper() and isinstance(value, int | bytes | str)
    }
    limits = {
        "MAX_ACKS_PER_TRANSFER",
        "MAX_ACKS_PER_ACK",
        "MAX_LIST",
        "MAX_FRAGMENTS",
        "MAX_FRAME_ID",
        "MAX_LINK",
        *(name for name in vars(fragment) if name.startswith("DEFAULT_")),
        "MIN_BODY",
        "MIN_FRAME",
        *(
            name
            for name, value in vars(link).items()
            if name.isupper() and not name.startswith("_") and isinstance(value, int | bytes)
        ),
    }
    assert not (own | limits) - set(_documented_parameters())


_ERROR_ROW = re.compile(r"^\| `([A-Za-z]+)` \| (\d+) \| (rejected|refused\(malformed\)) \|", re.M)


def test_protocol_document_error_table_matches_the_error_classes() -> None:
    rows = {name: (int(code), verdict) for name, code, verdict in _ERROR_ROW.findall(_doc())}
    expected = {
        cls.__name__: (cls.code, "rejected" if cls.verdict == "rejected" else "refused(malformed)")
        for cls in errors.ALL_ERRORS
    }
    assert rows == expected


def test_protocol_document_gives_the_local_network_id() -> None:
    doc = _doc()
    assert LOCAL.network_id.hex() in doc
    assert f"network prefix `{LOCAL.network_id[:4].hex()}`" in doc
    block = doc.split("Its hashed bytes")[1].split("```")[1]
    hex_columns = [re.split(r"\s{2,}", line)[0] for line in block.strip().splitlines()]
    assert "".join(hex_columns).replace(" ", "") == LOCAL.encode().hex()
