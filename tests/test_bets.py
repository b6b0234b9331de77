"""Tests of protocol.bets: wire codes against bet_codes.csv, placement rules, CLI names."""

from __future__ import annotations

import csv
import io
import re
from importlib.resources import files
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocol.bets import (
    COME_POINTS,
    PLACEMENT,
    BetType,
    Phase,
    Placement,
    UnknownBetName,
    all_cli_names,
    bet_number,
    cli_name,
    may_place,
    needs_come_point,
    parse_bet_name,
)

SHARED_CSV = Path(__file__).resolve().parents[2] / "shared" / "bet_codes.csv"
POINTS = sorted(COME_POINTS)
ODDS_COME = (BetType.OddsCome, BetType.OddsDontCome)


def _project_csv_bytes() -> bytes:
    return (files("protocol") / "bet_codes.csv").read_bytes()


def _rows(data: bytes) -> list[tuple[int, str, str]]:
    reader = csv.reader(io.StringIO(data.decode("utf-8"), newline=""))
    header = next(reader)
    assert header == ["code", "name", "category"]
    return [(int(code), name, category) for code, name, category in reader]


def _members() -> list[tuple[int, str]]:
    return [(int(bet), bet.name) for bet in BetType]


# --------------------------------------------------------------------------- wire codes


def test_bet_type_matches_project_csv_rows() -> None:
    rows = _rows(_project_csv_bytes())
    assert [(code, name) for code, name, _ in rows] == _members()


def test_bet_type_matches_shared_csv_rows() -> None:
    if not SHARED_CSV.exists():
        pytest.skip(f"shared bet_codes.csv not present at {SHARED_CSV}")
    rows = _rows(SHARED_CSV.read_bytes())
    assert [(code, name) for code, name, _ in rows] == _members()


def test_project_csv_is_byte_identical_to_shared_csv() -> None:
    if not SHARED_CSV.exists():
        pytest.skip(f"shared bet_codes.csv not present at {SHARED_CSV}")
    assert _project_csv_bytes() == SHARED_CSV.read_bytes()


def test_there_are_64_bet_types_with_unique_codes_and_names() -> None:
    rows = _rows(_project_csv_bytes())
    assert len(rows) == 64
    assert len(BetType) == 64
    assert len({code for code, _, _ in rows}) == 64
    assert len({name for _, name, _ in rows}) == 64
    assert len({int(bet) for bet in BetType}) == 64  # no enum aliases


def test_anchor_wire_codes_never_move() -> None:
    assert int(BetType.Pass) == 0
    assert int(BetType.OddsDontPass) == 6
    assert int(BetType.Yes2) == 10
    assert int(BetType.Hard10) == 33
    assert int(BetType.Next7) == 45
    assert int(BetType.Fire) == 60
    assert int(BetType.DifferentDoubles) == 69
    assert int(BetType.Repeater12) == 79
    assert int(BetType.OddsCome) == 80
    assert int(BetType.OddsDontCome) == 81


# --------------------------------------------------------------------------- placement


def test_every_bet_type_has_a_placement_in_wire_code_order() -> None:
    assert list(PLACEMENT) == list(BetType)
    assert all(isinstance(placement, Placement) for placement in PLACEMENT.values())


def test_placement_table_is_read_only() -> None:
    with pytest.raises(TypeError):
        PLACEMENT[BetType.Pass] = Placement(Phase.ANY)  # type: ignore[index]


def test_odds_bets_back_the_right_bet_and_no_other_bet_backs_anything() -> None:
    backs = {bet: p.backs for bet, p in PLACEMENT.items() if p.backs is not None}
    assert backs == {
        BetType.OddsPass: BetType.Pass,
        BetType.OddsDontPass: BetType.DontPass,
        BetType.OddsCome: BetType.Come,
        BetType.OddsDontCome: BetType.DontCome,
    }


@pytest.mark.parametrize(
    ("bet", "phase"),
    [
        (BetType.Pass, Phase.COME_OUT),
        (BetType.DontPass, Phase.COME_OUT),
        (BetType.Come, Phase.POINT),
        (BetType.DontCome, Phase.POINT),
        (BetType.Field, Phase.ANY),
        (BetType.OddsPass, Phase.POINT),
        (BetType.OddsDontPass, Phase.POINT),
        (BetType.OddsCome, Phase.ANY),
        (BetType.OddsDontCome, Phase.ANY),
        (BetType.Yes4, Phase.ANY),
        (BetType.No10, Phase.ANY),
        (BetType.Hard8, Phase.ANY),
        (BetType.Next7, Phase.ANY),
        (BetType.Repeater6, Phase.COME_OUT),
        (BetType.Fire, Phase.COME_OUT),
        (BetType.Muggsy, Phase.COME_OUT),
        (BetType.DifferentDoubles, Phase.COME_OUT),
    ],
)
def test_phase_follows_bet_rules(bet: BetType, phase: Phase) -> None:
    assert PLACEMENT[bet].phase is phase


def test_phase_of_each_family_follows_bet_rules() -> None:
    for bet in BetType:
        name = bet.name
        if re.fullmatch(r"(Yes|No|Next|Hard)[0-9]+", name):
            assert PLACEMENT[bet].phase is Phase.ANY, name
        elif name.startswith("Repeater") or 60 <= bet <= 69:
            assert PLACEMENT[bet].phase is Phase.COME_OUT, name


def test_pass_may_be_placed_only_at_come_out() -> None:
    assert may_place(BetType.Pass, None)
    assert not any(may_place(BetType.Pass, point) for point in POINTS)


def test_come_may_be_placed_only_in_the_point_phase() -> None:
    assert not may_place(BetType.Come, None)
    assert all(may_place(BetType.Come, point) for point in POINTS)


@pytest.mark.parametrize("bet", [BetType.Field, BetType.OddsCome, BetType.OddsDontCome])
def test_any_phase_bets_may_be_placed_at_come_out_and_on_every_point(bet: BetType) -> None:
    assert may_place(bet, None)
    assert all(may_place(bet, point) for point in POINTS)


@pytest.mark.parametrize("bet", [BetType.Fire, BetType.Repeater2, BetType.Repeater12])
def test_series_and_repeater_bets_may_be_placed_only_at_come_out(bet: BetType) -> None:
    assert may_place(bet, None)
    assert not any(may_place(bet, point) for point in POINTS)


def test_may_place_reads_only_the_phase_not_the_backed_bet() -> None:
    # OddsPass needs an open Pass, but may_place only answers "is this the right phase".
    assert may_place(BetType.OddsPass, 6)
    assert not may_place(BetType.OddsPass, None)


@pytest.mark.parametrize("point", [0, 2, 7, 11, 12])
def test_may_place_rejects_a_table_point_that_cannot_exist(point: int) -> None:
    with pytest.raises(ValueError, match="table point"):
        may_place(BetType.Field, point)


# --------------------------------------------------------------------------- numbers


def test_come_points_are_the_point_numbers() -> None:
    assert frozenset({4, 5, 6, 8, 9, 10}) == COME_POINTS


def test_only_odds_come_bets_need_a_come_point() -> None:
    assert {bet for bet in BetType if needs_come_point(bet)} == set(ODDS_COME)


@pytest.mark.parametrize(
    ("bet", "number"),
    [
        (BetType.Yes2, 2),
        (BetType.Yes12, 12),
        (BetType.No4, 4),
        (BetType.Hard10, 10),
        (BetType.Next7, 7),
        (BetType.Repeater8, 8),
    ],
)
def test_bet_number_is_the_n_in_the_name(bet: BetType, number: int) -> None:
    assert bet_number(bet) == number


def test_bet_number_is_none_for_bets_without_a_number() -> None:
    numbered = {
        bet for bet in BetType if re.fullmatch(r"(Yes|No|Next|Hard|Repeater)[0-9]+", bet.name)
    }
    assert len(numbered) == 10 + 10 + 4 + 11 + 10
    for bet in BetType:
        if bet in numbered:
            assert bet_number(bet) == int(re.sub(r"[^0-9]", "", bet.name)), bet.name
        else:
            assert bet_number(bet) is None, bet.name


def test_no_yes_no_hard_or_repeater_bet_on_seven() -> None:
    sevens = {bet for bet in BetType if bet_number(bet) == 7}
    assert sevens == {BetType.Next7}


# --------------------------------------------------------------------------- CLI names


def test_examples_of_cli_names() -> None:
    assert cli_name(BetType.Pass) == "pass"
    assert cli_name(BetType.DontPass) == "dont-pass"
    assert cli_name(BetType.DontCome) == "dont-come"
    assert cli_name(BetType.OddsDontPass) == "odds-dont-pass"
    assert cli_name(BetType.Yes10) == "yes-10"
    assert cli_name(BetType.No4) == "no-4"
    assert cli_name(BetType.Hard8) == "hard-8"
    assert cli_name(BetType.Next7) == "next-7"
    assert cli_name(BetType.BonusSmall) == "bonus-small"
    assert cli_name(BetType.HotRoller) == "hot-roller"
    assert cli_name(BetType.DifferentDoubles) == "different-doubles"
    assert cli_name(BetType.Repeater12) == "repeater-12"
    assert cli_name(BetType.OddsCome, 6) == "odds-come-6"
    assert cli_name(BetType.OddsDontCome, 10) == "odds-dont-come-10"


def test_all_cli_names_are_in_wire_code_order_and_unique() -> None:
    names = all_cli_names()
    assert len(names) == len(set(names)) == 62 + 2 * len(COME_POINTS)
    expected: list[str] = []
    for bet in BetType:
        if needs_come_point(bet):
            expected.extend(cli_name(bet, point) for point in POINTS)
        else:
            expected.append(cli_name(bet))
    assert names == expected
    assert names[0] == "pass"
    assert names[-1] == "odds-dont-come-10"


def test_all_cli_names_are_lower_case_kebab() -> None:
    for name in all_cli_names():
        assert re.fullmatch(r"[a-z]+(-[a-z]+)*(-[0-9]+)?", name), name


def test_all_cli_names_returns_a_fresh_list() -> None:
    all_cli_names().clear()
    assert len(all_cli_names()) == 74


def test_every_cli_name_parses_back_to_its_bet() -> None:
    for bet in BetType:
        if needs_come_point(bet):
            for point in POINTS:
                assert parse_bet_name(cli_name(bet, point)) == (bet, point)
        else:
            assert parse_bet_name(cli_name(bet)) == (bet, None)


@pytest.mark.parametrize("point", POINTS)
@pytest.mark.parametrize("bet", ODDS_COME)
def test_odds_come_names_carry_the_come_point(bet: BetType, point: int) -> None:
    name = cli_name(bet, point)
    assert name.endswith(f"-{point}")
    assert parse_bet_name(name) == (bet, point)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("PASS", (BetType.Pass, None)),
        ("Dont-Pass", (BetType.DontPass, None)),
        ("oddspass", (BetType.OddsPass, None)),
        ("HARD-8", (BetType.Hard8, None)),
        ("Odds-Dont-Come-4", (BetType.OddsDontCome, 4)),
        ("  field  ", (BetType.Field, None)),
    ],
)
def test_names_are_case_insensitive(text: str, expected: tuple[BetType, int | None]) -> None:
    assert parse_bet_name(text) == expected


def test_csv_names_are_accepted_in_any_case() -> None:
    for bet in BetType:
        if needs_come_point(bet):
            continue
        for text in (bet.name, bet.name.lower(), bet.name.upper()):
            assert parse_bet_name(text) == (bet, None), text


@pytest.mark.parametrize("text", ["OddsCome6", "oddscome-6", "ODDSCOME6"])
def test_csv_spelling_of_odds_come_takes_the_point(text: str) -> None:
    assert parse_bet_name(text) == (BetType.OddsCome, 6)


def test_yes4_csv_name_is_accepted() -> None:
    assert parse_bet_name("yes4") == (BetType.Yes4, None)


def test_typo_is_unknown_and_suggests_the_close_match() -> None:
    with pytest.raises(UnknownBetName) as caught:
        parse_bet_name("hrad-8")
    message = str(caught.value)
    assert "'hrad-8'" in message
    assert "did you mean" in message
    assert "hard-8" in message
    assert "bitcraps bets" in message
    assert "hard-8" in caught.value.suggestions
    assert caught.value.text == "hrad-8"


def test_unknown_name_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="unknown bet 'hard-9': did you mean hard-8"):
        parse_bet_name("hard-9")


def test_name_with_no_close_match_still_points_to_the_list() -> None:
    with pytest.raises(UnknownBetName) as caught:
        parse_bet_name("xyzzy")
    assert "did you mean" not in str(caught.value)
    assert "bitcraps bets" in str(caught.value)
    assert caught.value.suggestions == ()


@pytest.mark.parametrize("text", ["yes-7", "no-7", "hard-7", "repeater-7", "hard-2", "yes7"])
def test_bets_that_do_not_exist_fail(text: str) -> None:
    with pytest.raises(UnknownBetName, match="unknown bet"):
        parse_bet_name(text)


@pytest.mark.parametrize(
    "text",
    ["odds-come-7", "odds-come", "odds-come-", "odds-come-06", "odds-dont-come-3", "OddsCome"],
)
def test_odds_come_without_a_valid_point_lists_the_valid_points(text: str) -> None:
    with pytest.raises(UnknownBetName) as caught:
        parse_bet_name(text)
    message = str(caught.value)
    assert repr(text) in message
    assert "4, 5, 6, 8, 9, 10" in message


@pytest.mark.parametrize("text", ["pa\u017fs", "\u212aard-8", "hard-\u0668"])
def test_unicode_look_alikes_are_not_accepted(text: str) -> None:
    # "\u017f" (long s) and "\u212a" (Kelvin sign) fold to ASCII letters; "\u0668" is Arabic 8.
    with pytest.raises(UnknownBetName):
        parse_bet_name(text)


def test_cli_name_of_odds_come_requires_a_valid_point() -> None:
    with pytest.raises(ValueError, match="come point"):
        cli_name(BetType.OddsCome)
    with pytest.raises(ValueError, match="come point"):
        cli_name(BetType.OddsDontCome, 7)


def test_cli_name_refuses_a_come_point_for_other_bets() -> None:
    with pytest.raises(ValueError, match="no come point"):
        cli_name(BetType.Pass, 6)


# --------------------------------------------------------------------------- properties


@given(st.text())
def test_any_text_parses_or_raises_unknown_bet_name(text: str) -> None:
    try:
        bet, point = parse_bet_name(text)
    except UnknownBetName as error:
        assert repr(text) in str(error)
    else:
        assert isinstance(bet, BetType)
        assert (point is not None) == needs_come_point(bet)
        assert point is None or point in COME_POINTS


@given(
    st.sampled_from(all_cli_names()).flatmap(
        lambda name: st.tuples(
            st.just(name), st.lists(st.booleans(), min_size=len(name), max_size=len(name))
        )
    )
)
def test_any_casing_of_a_cli_name_parses_to_the_same_bet(
    case: tuple[str, list[bool]],
) -> None:
    name, upper = case
    mixed = "".join(c.upper() if u else c for c, u in zip(name, upper, strict=True))
    assert parse_bet_name(mixed) == parse_bet_name(name)
    bet, point = parse_bet_name(mixed)
    assert cli_name(bet, point) == name


@given(st.sampled_from(all_cli_names()), st.text(alphabet="abcdefghijklmnopqrstuvwxyz-0123456789 "))
def test_near_valid_names_parse_consistently_or_raise_unknown_bet_name(
    name: str, tail: str
) -> None:
    try:
        bet, point = parse_bet_name(name + tail)
    except UnknownBetName:
        return
    assert parse_bet_name(cli_name(bet, point)) == (bet, point)
