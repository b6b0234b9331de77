"""Genesis files and CRAP amounts as people write them (docs/PROTOCOL.md, "Genesis and
network_id" and "Amounts"); the byte-level genesis vectors are tests/test_vectors.py's."""

from __future__ import annotations

import json

import pytest

from protocol.amounts import AmountError, parse_crap
from protocol.constants import CRAP
from protocol.genesis import LOCAL, GenesisError, parse_genesis

KEY = "e3806a4e8db4a470468d047a475fdb3887f6feade74f463194079f5bd4d02f7d"


@pytest.mark.parametrize(
    "text", ["\u0661\u0662", "\uff11\uff12", "1\u0662", "\u00a012", "12\u2003"]
)
def test_amounts_take_ascii_digits_and_ascii_whitespace_only(text: str) -> None:
    with pytest.raises(AmountError):
        parse_crap(text)


def test_amounts_ignore_ascii_whitespace_around_and_underscores_anywhere() -> None:
    assert parse_crap(" \t1_000.5\r\n") == 1_000 * CRAP + CRAP // 2


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ('faucet = "lots"', "faucet: amount 'lots'"),
        ("min_account = -1", "min_account: "),
        ('[bounds]\nbond = "1.0000001"', "bounds.bond: "),
        ('[[grants]]\nkey = "KEY"\namount = 0', "grant amount: "),
    ],
)
def test_a_bad_amount_names_its_genesis_key(text: str, where: str) -> None:
    with pytest.raises(GenesisError) as raised:
        parse_genesis('name = "x"\nplay_money = true\n' + text.replace("KEY", KEY) + "\n")
    assert str(raised.value).startswith(where), raised.value


@pytest.mark.parametrize("key", [KEY.upper(), KEY])
def test_keys_are_64_hex_digits_in_either_case(key: str) -> None:
    genesis = parse_genesis(f'name = "x"\nhouse_key = "{key}"\n')
    assert genesis.house_key == bytes.fromhex(KEY)


@pytest.mark.parametrize("key", [KEY[:2] + " " + KEY[2:], " " + KEY, KEY + "\n", KEY[:-2]])
def test_a_key_with_anything_but_64_hex_digits_is_refused(key: str) -> None:
    with pytest.raises(GenesisError, match="64 hex digits"):
        parse_genesis(f'name = "x"\nhouse_key = {json.dumps(key)}\n')


def test_a_file_of_only_a_name_takes_the_local_bounds_and_no_money() -> None:
    genesis = parse_genesis('name = "x"\n')
    assert genesis.bounds == LOCAL.bounds
    assert not genesis.play_money and genesis.faucet_amount == 0
    assert (genesis.min_account, genesis.treasury_reserve) == (0, 0)
    assert genesis.house_key is None and genesis.grants == ()
