"""The player tools: ``bitcraps table replay`` (one player's bets against given dice, through the
engine) and ``bitcraps odds`` (every bet type with its exact house edge), as players use them."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
from rules_helpers import crap

from node.drivers.cli import main
from protocol.bets import BetType

ROOT = Path(__file__).resolve().parents[2]


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    out = io.StringIO()
    code = main(argv, out=out)
    captured = capsys.readouterr()
    return code, out.getvalue() + captured.out, captured.err


def replay_json(capsys: pytest.CaptureFixture[str], *argv: str) -> dict[str, Any]:
    code, out, err = run(["table", "replay", *argv, "--json"], capsys)
    assert code == 0, err
    result: dict[str, Any] = json.loads(out)
    return result


# --------------------------------------------------------------------------- replay


def test_replay_settles_a_pass_line_with_odds_and_a_field(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # 2-2 sets point 4; 3-3 loses the Field; 1-3 makes the point: Pass 1:1, odds on 4 at 2:1
    result = replay_json(
        capsys, "--dice", "2-2 3-3 1-3", "--bet", "pass:10", "1@odds-pass:30", "1@field:5"
    )
    assert [(r["dice"], r["event"], r["point"]) for r in result["rolls"]] == [
        ("2-2", "point set", 4),
        ("3-3", "no decision", 4),
        ("1-3", "point made", None),
    ]
    assert result["settlements"] == [
        {"roll": 1, "bet": "field", "index": 2, "stake": crap(5), "outcome": "lose",
         "amount": crap(5)},
        {"roll": 2, "bet": "pass", "index": 0, "stake": crap(10), "outcome": "win",
         "amount": crap(10)},
        {"roll": 2, "bet": "odds-pass", "index": 1, "stake": crap(30), "outcome": "win",
         "amount": crap(60)},
    ]  # fmt: skip
    assert result["released"] == [] and result["refused"] == [] and result["live"] == []
    assert result["final_balance"] == crap(10 + 60 - 5)  # no --balance: the net result
    assert result["start_balance"] is None


def test_replay_lists_releases_with_their_reason_and_keeps_live_bets(
    capsys: pytest.CaptureFixture[str],
) -> None:
    result = replay_json(
        capsys, "--dice", "2-2 3-3", "--bet", "pass:10", "field:101", "1@odds-pass:31",
        "1@yes-6:1", "1@yes-6:2", "--balance", "200",
    )  # fmt: skip
    assert [(r["bet"], r["reason"]) for r in result["released"]] == [
        ("field", "limits"),
        ("odds-pass", "odds_cap"),
        ("yes-6", "duplicate"),
    ]
    assert [(r["bet"], r["stake"]) for r in result["live"]] == [("pass", crap(10))]
    assert result["settlements"][0]["bet"] == "yes-6"  # the 6 pays Yes6 11.76 × 1 CRAP
    assert result["settlements"][0]["amount"] == crap("1.176")
    assert result["final_balance"] == crap(200 - 10) + crap("1.176")  # released stakes came back


def test_replay_risk_cap_and_cover_only_when_asked(capsys: pytest.CaptureFixture[str]) -> None:
    plain = replay_json(capsys, "--dice", "3-4", "--bet", "fire:1", "replay:1")
    assert plain["released"] == []
    capped = replay_json(capsys, "--dice", "3-4", "--bet", "fire:1", "replay:1", "--bond", "1000")
    assert [(r["bet"], r["reason"]) for r in capped["released"]] == [("replay", "risk_cap")]
    covered = replay_json(capsys, "--dice", "3-4", "--bet", "fire:1", "--bankroll", "998")
    assert [(r["bet"], r["reason"]) for r in covered["released"]] == [("fire", "cover")]


def test_bank_cover_falls_by_every_profit_paid(capsys: pytest.CaptureFixture[str]) -> None:
    # K = 15: the Field's 2:1 on the 2 pays 10, leaving K = 5 for the next Field (exposure 15)
    result = replay_json(
        capsys, "--dice", "1-1 1-1", "--bet", "field:5", "1@field:5", "--bankroll", "15"
    )
    assert [r["reason"] for r in result["released"]] == ["cover"]


def test_a_settled_credit_is_spendable_from_the_next_roll(
    capsys: pytest.CaptureFixture[str],
) -> None:
    result = replay_json(
        capsys, "--dice", "3-4 3-4", "--bet", "pass:10", "field:1", "1@pass:20", "--balance", "10"
    )
    assert [(r["bet"], r["reason"]) for r in result["refused"]] == [("field", "balance")]
    assert [s["bet"] for s in result["settlements"]] == ["pass", "pass"]
    assert result["final_balance"] == crap(40)


def test_bets_before_one_roll_are_judged_for_balance_before_any_is_included(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # The duplicate Field's stake comes back when it is released, after the Hard 6 was judged:
    # like a bet packet judged before the host includes it, the Hard 6 is refused.
    result = replay_json(
        capsys, "--dice", "3-4", "--bet", "field:5", "field:5", "hard-6:1", "--balance", "10"
    )
    assert [(r["bet"], r["reason"]) for r in result["released"]] == [("field", "duplicate")]
    assert [(r["bet"], r["reason"]) for r in result["refused"]] == [("hard-6", "balance")]
    assert result["final_balance"] == crap(5)


def test_replay_text_output_names_every_roll_and_the_balance(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = run(
        ["table", "replay", "--dice", "2-2 1-3", "--bet", "pass:10", "--balance", "50"], capsys
    )
    assert code == 0
    assert out.splitlines() == [
        "roll   0  2-2   4  point set 4",
        "roll   1  1-3   4  point made    pass wins 10 CRAP",
        "final balance: 60 CRAP",
    ]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--dice", "3-4", "--bet", "pas:10"], "unknown bet 'pas': did you mean pass"),
        (["--dice", "3-4", "--bet", "odds-come:10"], "needs the come point"),
        (["--dice", "3-7", "--bet", "pass:10"], "dice '3-7' are not two dice"),
        (["--dice", " ", "--bet", "pass:10"], "no dice given"),
        (["--dice", "3-4", "--bet", "pass"], "is not [ROLL@]NAME:AMOUNT"),
        (["--dice", "3-4", "--bet", "pass:ten"], "is not a number of CRAP"),
        (["--dice", "3-4", "--bet", "come:10"], "come is placed in the point phase"),
        (["--dice", "3-4", "--bet", "odds-pass:10"], "needs your pass bet"),
        (["--dice", "2-2 3-4", "--bet", "1@odds-come-5:10"], "needs your come bet on come point 5"),
        (["--dice", "3-4", "--bet", "1@pass:10"], "dice have rolls 0 to 0"),
        (["--dice", "3-4", "--bet", "pass:1", "--balance", "-1"], "--balance"),
    ],
)
def test_replay_mistakes_are_one_line_and_exit_2(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(["table", "replay", *argv], capsys)
    assert code == 2
    assert out == ""
    assert message in err
    assert err.count("\n") == 1 and err.startswith("bitcraps: ")


# --------------------------------------------------------------------------- odds


def test_odds_json_lists_every_bet_type_with_its_house_edge(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = run(["odds", "--json"], capsys)
    assert code == 0, err
    rows = json.loads(out)
    assert [row["code"] for row in rows] == [int(bet) for bet in BetType]
    by_name = {row["name"]: row for row in rows}
    assert round(by_name["Pass"]["house_edge"], 4) == 0.0141
    assert by_name["Pass"]["house_edge_exact"] == "7/495"
    assert by_name["DontPass"]["house_edge_exact"] == "3/220"
    assert round(by_name["Field"]["house_edge"], 5) == 0.02778
    assert round(by_name["Hard4"]["house_edge"], 5) == 0.11111
    assert round(by_name["Hard8"]["house_edge"], 5) == 0.09091
    assert round(by_name["Fire"]["house_edge"], 4) == 0.2076
    assert round(by_name["BonusTall"]["house_edge"], 4) == 0.0776
    assert round(by_name["BonusAll"]["house_edge"], 4) == 0.0746
    assert {by_name[n]["house_edge"] for n in ("OddsPass", "OddsDontCome")} == {0.0}
    assert by_name["Come"]["placeable"] == ["point"]
    assert by_name["Field"]["placeable"] == ["come-out", "point"]
    assert by_name["Fire"]["placeable"] == ["come-out"]
    assert by_name["Fire"]["payout"] == "4 points 24:1, 5 points 249:1, 6 points 999:1"
    assert by_name["OddsCome"]["cli"] == "odds-come-N"
    assert {row["method"] for row in rows} == {"exact"}


def test_odds_table_names_every_bet(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["odds"], capsys)
    assert code == 0
    for name in ("pass", "odds-dont-come-N", "different-doubles", "repeater-12"):
        assert f" {name} " in out
    assert "1.414%" in out and "20.763%" in out


# --------------------------------------------------------------------------- from an install


def test_both_tools_run_as_the_installed_command() -> None:
    for argv in (["odds", "--json"], ["table", "replay", "--dice", "3-4", "--bet", "pass:1"]):
        done = subprocess.run(
            [sys.executable, "-m", "node.drivers.cli", *argv],
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, done.stderr


def test_every_package_is_in_the_installed_package_list() -> None:
    # a fresh (non-editable) install ships only the packages pyproject.toml lists
    listed = set(
        tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    )
    for top in ("native", "protocol", "node", "transports", "simulations"):
        for init in (ROOT / top).rglob("__init__.py"):
            package = ".".join(init.parent.relative_to(ROOT).parts)
            assert package in listed, f"{package} is not installed by pyproject.toml"


def test_help_lists_both_tools(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["--help"])
    assert done.value.code == 0
    out = capsys.readouterr().out
    assert "odds" in out and "table" in out
    with pytest.raises(SystemExit):
        main(["table", "replay", "--help"])
    assert "[ROLL@]NAME:AMOUNT" in capsys.readouterr().out
