"""The dice of TABLES.md §3 against tests/vectors/dice.json, which scripts/gen_dice_vectors.py
computes with hashlib directly: chains and their reveals, seeds from K_chain, the dice of roll k
(rejecting bytes ≥ 252) and a wallet's chain revealed in order."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from node.core.craps.dice import (
    ChainExhausted,
    Roll,
    WalletChain,
    chain_head,
    chain_key,
    chain_next,
    chain_seed,
    create_role,
    dice_from_seed,
    dice_seed,
    join_role,
    preimage_valid,
    roll_dice,
)
from protocol import constants

ROOT = Path(__file__).resolve().parents[2]
VECTORS: dict[str, Any] = json.loads((ROOT / "tests/vectors/dice.json").read_text("utf-8"))
NETWORK = bytes.fromhex(VECTORS["network_id_hex"])
GAME = bytes.fromhex(VECTORS["game_id_hex"])
N = VECTORS["chain_n"]
HOST = VECTORS["host"]
HOST_KEY = bytes.fromhex(HOST["public_hex"])


def _generator() -> ModuleType:
    path = ROOT / "scripts" / "gen_dice_vectors.py"
    spec = importlib.util.spec_from_file_location("gen_dice_vectors", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("gen_dice_vectors", module)
    spec.loader.exec_module(module)
    return module


def h(text: str) -> bytes:
    return bytes.fromhex(text)


def test_vector_file_is_what_the_generator_writes_now() -> None:
    gen = _generator()
    assert (ROOT / "tests/vectors/dice.json").read_text("utf-8") == gen.render(gen.build())
    assert gen.main(["--check"]) == 0


def test_domain_strings_are_as_tables_md_writes_them() -> None:
    assert constants.CHAIN_DOMAIN == b"BCM/chain/v1"
    assert constants.CHAIN_KEY_DOMAIN == b"BCM/chain-key/v1"
    assert constants.SEED_DOMAIN == b"BCM/seed/v1"
    assert constants.DICE_DOMAIN == b"BCM/dice/v1"
    assert constants.DICE_REJECT == 252


# --------------------------------------------------------------------------- seeds and chains


def test_host_seed_comes_from_k_chain_and_the_create_role() -> None:
    k_chain = chain_key(h(HOST["key_seed_hex"]))
    assert k_chain == h(HOST["k_chain_hex"])
    role = create_role(HOST["create_nonce"])
    assert role == h(HOST["role_hex"])
    assert chain_seed(k_chain, NETWORK, role) == h(HOST["seed_hex"])


@pytest.mark.parametrize("seat", ["1", "2", "3"])
def test_seat_seed_comes_from_k_chain_and_the_join_role(seat: str) -> None:
    vector = VECTORS["seats"][seat]
    role = join_role(HOST_KEY, GAME, vector["join_nonce"])
    assert role == h(vector["role_hex"])
    assert chain_key(h(vector["key_seed_hex"])) == h(vector["k_chain_hex"])
    chain = WalletChain.for_role(h(vector["key_seed_hex"]), NETWORK, role, N)
    assert chain.head == h(vector["head_hex"])


def test_chain_values_head_and_reveals_in_order() -> None:
    values = [h(v) for v in HOST["chain_hex"]]  # c_0 … c_N
    seed = h(HOST["seed_hex"])
    assert chain_next(seed) == values[0]
    assert chain_head(seed, N) == values[N]
    wallet = WalletChain(seed, N)
    assert wallet.head == values[N] and wallet.left == N
    current = wallet.head
    for i in range(N):
        preimage = wallet.reveal()
        assert preimage == values[N - 1 - i]  # c_(N-1) … c_0
        assert preimage_valid(preimage, current)
        assert not preimage_valid(preimage, wallet.head if i else values[0])
        current = preimage
        assert wallet.current == current
    assert wallet.left == 0
    with pytest.raises(ChainExhausted):
        wallet.reveal()


def test_a_wallet_restarts_where_it_stopped() -> None:
    seed = h(HOST["seed_hex"])
    first = WalletChain(seed, N)
    first.reveal()
    first.reveal()
    again = WalletChain(seed, N, revealed=2)
    assert again.current == first.current
    assert again.reveal() == first.reveal()


def test_a_wallet_finds_the_preimage_of_any_value_without_revealing() -> None:
    values = [h(v) for v in HOST["chain_hex"]]  # c_0 … c_N
    wallet = WalletChain(h(HOST["seed_hex"]), N)
    assert wallet.preimage_of(wallet.head) == values[N - 1]
    assert wallet.preimage_of(values[2]) == values[1]  # far from where it stands
    assert wallet.revealed == 0  # nothing was revealed
    wallet.reveal()
    assert wallet.preimage_of(values[N]) == values[N - 1]  # the one just revealed, again
    assert wallet.preimage_of(values[0]) is None  # c_0 has no preimage in the chain
    assert wallet.preimage_of(bytes(32)) is None


def test_preimage_must_be_32_bytes_and_hash_to_the_current_value() -> None:
    values = [h(v) for v in HOST["chain_hex"]]
    assert preimage_valid(values[3], values[4])
    assert not preimage_valid(values[3], values[5])  # two steps is not one
    assert not preimage_valid(values[3][:31], values[4])


@pytest.mark.parametrize("length", [0, 65_536])
def test_chain_length_is_bounded(length: int) -> None:
    with pytest.raises(ValueError, match="reveals"):
        WalletChain(b"seed", length)


# --------------------------------------------------------------------------- dice


@pytest.mark.parametrize("vector", VECTORS["rolls"], ids=lambda v: f"roll{v['k']}")
def test_roll_k_dice_from_the_host_and_every_listed_seat(vector: dict[str, Any]) -> None:
    preimages = {seat: h(pre) for seat, pre in vector["seat_preimages"]}
    shuffled = dict(reversed(list(preimages.items())))  # ascending seat order is the function's
    host_pre = h(vector["host_preimage_hex"])
    seed_k = dice_seed(NETWORK, HOST_KEY, GAME, vector["k"], host_pre, shuffled)
    assert seed_k == h(vector["seed_k_hex"])
    roll = roll_dice(NETWORK, HOST_KEY, GAME, vector["k"], host_pre, preimages)
    assert [roll.die1, roll.die2] == vector["dice"]
    # the preimages are the k-th reveals of chains committed at the seat
    host_values = [h(v) for v in HOST["chain_hex"]]
    assert host_pre == host_values[N - vector["k"]]


def test_a_roll_vector_rejects_a_byte_of_252_or_more() -> None:
    assert any(any(b >= 252 for b in h(v["stream_read_hex"])) for v in VECTORS["rolls"]), (
        "no roll vector exercises the rejection"
    )


@pytest.mark.parametrize("vector", VECTORS["streams"], ids=lambda v: v["about"][:30])
def test_dice_stream_rejection_and_later_blocks(vector: dict[str, Any]) -> None:
    roll = dice_from_seed(h(vector["seed_k_hex"]))
    assert [roll.die1, roll.die2] == vector["dice"]


def test_roll_names_doubles_and_hard_ways() -> None:
    assert Roll(2, 2).hard and Roll(5, 5).hard
    assert Roll(1, 1).double and not Roll(1, 1).hard
    assert Roll(6, 6).double and not Roll(6, 6).hard
    assert not Roll(1, 3).hard and Roll(1, 3).total == 4
    assert str(Roll(3, 4)) == "3-4"


def test_roll_is_a_value_of_two_dice() -> None:
    assert Roll(3, 4) == Roll(3, 4) and Roll(3, 4) != Roll(4, 3) and Roll(3, 4) != (3, 4)
    assert hash(Roll(3, 4)) == hash((3, 4)) and len({Roll(3, 4), Roll(3, 4), Roll(4, 3)}) == 2
    assert repr(Roll(2, 5)) == "Roll(die1=2, die2=5)"
    for die1, die2 in [(a, b) for a in range(1, 7) for b in range(1, 7)]:
        roll = Roll(die1, die2)
        assert (roll.total, roll.double) == (die1 + die2, die1 == die2)
        assert roll.hard == (die1 == die2 and die1 + die2 in (4, 6, 8, 10))
    for bad in [(0, 3), (3, 7), (-1, 1)]:
        with pytest.raises(ValueError, match="a die shows"):
            Roll(*bad)
