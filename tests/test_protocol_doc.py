"""docs/PROTOCOL.md against the code, beside tests/test_budget.py (budget, parameters, error
classes): the bet-code table, the JSON keys of the vectors' ``fields``, the reason references
(docs/LEDGER.md §3 holds the one table of reason codes, PROTOCOL.md links to it), and the rows of
"What the decoder leaves to the ledger": the decoder accepts each body (tests/vectors/packets.json
has them), and the ledger refuses it with the reason the row gives.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest

from node.core.verdicts import Reason
from protocol.bets import BetType
from protocol.constants import CRAP, SINK_KEY, TREASURY_KEY
from protocol.kinds import (
    BODY_TYPES,
    Ack,
    BetEntry,
    Decline,
    ExtRef,
    Included,
    Join,
    JoinCopy,
    Released,
    RevealCopy,
    Seat,
    TableParams,
)
from protocol.schema import field_names
from tests.table_factory import Scene, small_params

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "PROTOCOL.md"
LEDGER_DOC = ROOT / "docs" / "LEDGER.md"
TORSION_8 = bytes.fromhex("26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05")
"""A point of order 8: a key that can sign nothing."""


def _doc() -> str:
    return DOC.read_text(encoding="utf-8")


def _section(heading: str, text: str | None = None) -> str:
    """The text under ``heading`` (a whole heading line) up to the next heading of any level."""
    text = _doc() if text is None else text
    start = text.index(f"\n{heading}\n") + len(heading) + 2
    following = re.search(r"^#{1,6} ", text[start:], re.MULTILINE)
    return text[start : start + following.start()] if following else text[start:]


def _rows(section: str) -> list[list[str]]:
    """The cells of every table body row in ``section`` (header and rule rows left out)."""
    rows = [
        [cell.strip() for cell in line.strip().strip("|").split("|")]
        for line in section.splitlines()
        if line.startswith("|")
    ]
    return [row for row in rows[2:] if not set("".join(row)) <= set("-: ")]


# --------------------------------------------------------------------------- bet codes


def test_bet_code_table_is_every_row_of_bet_codes_csv() -> None:
    with (ROOT / "protocol" / "bet_codes.csv").open(encoding="utf-8") as fh:
        expected = [(int(r["code"]), r["name"], r["category"]) for r in csv.DictReader(fh)]
    documented = [
        (int(code), name, category)
        for category, codes in _rows(_section("## Bet entries and bet codes"))
        for code, name in re.findall(r"(\d+) `(\w+)`", codes)
    ]
    assert documented == expected
    assert [(code, name) for code, name, _ in documented] == [(int(b), b.name) for b in BetType]
    assert f"{len(expected)} bet types" in _doc()


# --------------------------------------------------------------------------- JSON keys


def _keys(cell: str) -> list[str]:
    return re.findall(r"`(\w+)`", cell)


def test_json_keys_of_each_kind_are_its_body_fields_in_wire_order() -> None:
    table = _section("### JSON form of `fields`").split("| Struct |")[0]
    documented = {_keys(kind)[0]: _keys(keys) for kind, keys in _rows(table)}
    assert documented == {
        cls.KIND.name.lower(): list(field_names(cls)) for cls in BODY_TYPES.values()
    }


STRUCTS = {
    "table parameters": TableParams,
    "bet entry": BetEntry,
    "ext ref": ExtRef,
    "decline": Decline,
    "join answer": JoinCopy,
    "released entry": Released,
    "included entry": Included,
    "reveal copy": RevealCopy,
}


def test_json_keys_of_each_struct_are_its_fields_in_wire_order() -> None:
    table = "| Struct |" + _section("### JSON form of `fields`").split("| Struct |")[1]
    documented = {name: _keys(keys) for name, keys, _ in _rows(table)}
    assert documented == {name: list(field_names(cls)) for name, cls in STRUCTS.items()}


# --------------------------------------------------------------------------- reasons


_REFUSED = re.compile(r"Refused\((\w+)\)(?: \(reason (\d+)\))?", re.IGNORECASE)


def test_every_reason_protocol_names_is_a_reason_with_its_code() -> None:
    named = _REFUSED.findall(_doc())
    assert named
    for label, code in named:
        if label == "reason":  # "Refused(reason)": the form, not a reason
            continue
        reason = Reason[label.upper()]
        if code:
            assert int(code) == reason, label


def test_reason_codes_are_tabled_in_ledger_md_and_protocol_md_links_there() -> None:
    protocol, ledger = _doc(), LEDGER_DOC.read_text(encoding="utf-8")
    assert "\n## 3. Verdicts\n" in ledger and "(LEDGER.md#3-verdicts)" in protocol
    assert "\n## Error classes\n" in protocol and "(PROTOCOL.md#error-classes)" in ledger
    for reason in Reason:
        row = f"| {int(reason)} | `{reason.name}` | `{reason.label}` |"
        assert row in ledger
        assert f"`{reason.name}`" not in protocol  # named by label there, never tabled
    for label, _ in _REFUSED.findall(ledger):
        assert label == "reason" or label.upper() in Reason.__members__, label


# --------------------------------------------------------------------------- the ledger's part


@pytest.mark.parametrize(
    "key", [bytes(32), TREASURY_KEY, SINK_KEY, TORSION_8], ids=["zeros", "treasury", "sink", "t8"]
)
def test_a_key_that_can_sign_nothing_is_a_bad_reference_wherever_it_is_named(key: bytes) -> None:
    scene = Scene()
    assert scene.create() is Reason.APPLIED
    p = scene.party("p")
    assert scene.sign(p, Ack((ExtRef(key, 1, bytes(8)),))) is Reason.BAD_REFERENCE
    join = Join(scene.game, key, 1, bytes(32), 1_024)
    assert scene.sign(p, join) is Reason.BAD_REFERENCE
    host = scene.party("host")
    seat = Seat(scene.game, (), (Decline(key, 1),), (), ())
    assert scene.sign(host, seat) is Reason.BAD_REFERENCE
    # seat refs beside it (named through the table's state) do not make it wait for the key
    seat = Seat(scene.game, (), (Decline(key, 1),), (), (Released(1, 1, 0),))
    assert scene.sign(host, seat) is Reason.BAD_REFERENCE
    answer = JoinCopy(key, 1, bytes(8), bytes(32), 1_024)
    assert scene.sign(host, Seat(scene.game, (), (), (answer,), ())) is Reason.BAD_REFERENCE


def test_naming_the_senders_own_nonce_or_a_later_one_is_a_bad_reference() -> None:
    scene = Scene()
    p = scene.party("p")
    assert scene.sign(p, Ack((ExtRef(p.pub, 1, bytes(8)),))) is Reason.BAD_REFERENCE
    assert scene.sign(p, Ack((ExtRef(p.pub, 5, bytes(8)),))) is Reason.BAD_REFERENCE


def test_a_create_with_min_bet_above_max_bet_is_no_table() -> None:
    scene = Scene()
    params = small_params(min_bet=100 * CRAP, max_bet=1 * CRAP)
    assert scene.create(params=params) is Reason.BAD_TABLE
    assert not scene.tables().map("tables")
