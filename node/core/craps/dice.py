"""The dice of TABLES.md §3: hash chains, their seeds, the dice of roll k, and a wallet's chain.

Every party commits to a chain head ``c_N`` at its seat and reveals ``c_(N-1) … c_0`` one per
roll; roll k's dice come from the host's and every listed seat's preimages, so nobody chooses
them.  Pure functions over bytes (SHA-256 and HMAC only): no clock, no randomness, no I/O.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from typing import Final

from protocol.constants import (
    CHAIN_DOMAIN,
    CHAIN_KEY_DOMAIN,
    DICE_DOMAIN,
    DICE_REJECT,
    FULL_HASH_LEN,
    HASH_LEN,
    MAX_CHAIN_N,
    MAX_NONCE,
    PUBLIC_KEY_LEN,
    SEED_DOMAIN,
)
from protocol.hashing import sha256

__all__ = [
    "ChainExhausted",
    "Roll",
    "WalletChain",
    "chain_head",
    "chain_key",
    "chain_next",
    "chain_seed",
    "create_role",
    "dice_from_seed",
    "dice_seed",
    "join_role",
    "preimage_valid",
    "roll_dice",
]

_HARD: Final = frozenset({4, 6, 8, 10})


class Roll:
    """Two dice, each 1..6, with what the rules read of them worked out once.

    A value (``Final`` fields, ``==``, hashable); a plain class rather than a frozen
    dataclass, which costs several times as much to build, and a settlement reads ``total``
    once per live bet (docs/BUILD.md)."""

    __slots__ = ("die1", "die2", "double", "hard", "total")

    def __init__(self, die1: int, die2: int) -> None:
        _check_die(die1)
        _check_die(die2)
        self.die1: Final = die1
        self.die2: Final = die2
        self.total: Final = die1 + die2
        """The total, 2..12."""
        self.double: Final = die1 == die2
        """Both dice the same (1-1 … 6-6)."""
        self.hard: Final = die1 == die2 and die1 + die2 in _HARD
        """A hard 4, 6, 8 or 10: the double 2-2, 3-3, 4-4 or 5-5 (1-1 and 6-6 are not hard)."""

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Roll) and self.die1 == other.die1 and self.die2 == other.die2

    def __hash__(self) -> int:
        return hash((self.die1, self.die2))

    def __repr__(self) -> str:
        return f"Roll(die1={self.die1!r}, die2={self.die2!r})"

    def __str__(self) -> str:
        return f"{self.die1}-{self.die2}"


def _check_die(die: int) -> None:
    if type(die) is not int or not 1 <= die <= 6:
        raise ValueError(f"a die shows 1..6, not {die!r}")


# --------------------------------------------------------------------------- chains


def chain_next(value: bytes) -> bytes:
    """One link: ``SHA-256("BCM/chain/v1" ‖ value)``."""
    return sha256(CHAIN_DOMAIN, value)


def chain_head(seed: bytes, length: int) -> bytes:
    """``c_N`` for a chain of ``length`` = N reveals: c_0 = link(seed), c_(i+1) = link(c_i)."""
    _check_length(length)
    value = chain_next(seed)
    for _ in range(length):
        value = chain_next(value)
    return value


def preimage_valid(preimage: bytes, current: bytes) -> bool:
    """Whether ``preimage`` is the next reveal of a party whose current value is ``current``.

    A plain ``==``: both values are public (the current value is the last one revealed, or the
    head committed at the seat), so a comparison in constant time would hide nothing."""
    return len(preimage) == FULL_HASH_LEN and chain_next(preimage) == current


def chain_key(secret_seed: bytes) -> bytes:
    """``K_chain = SHA-256("BCM/chain-key/v1" ‖ Ed25519 secret seed)``: the key of every seed."""
    if len(secret_seed) != FULL_HASH_LEN:
        raise ValueError(f"an Ed25519 secret seed is 32 bytes, not {len(secret_seed)}")
    return sha256(CHAIN_KEY_DOMAIN, secret_seed)


def chain_seed(k_chain: bytes, network_id: bytes, role: bytes) -> bytes:
    """``HMAC-SHA256(K_chain, "BCM/seed/v1" ‖ network_id ‖ role)``: one chain's local seed."""
    return hmac.new(k_chain, SEED_DOMAIN + network_id + role, hashlib.sha256).digest()


def join_role(host: bytes, game_id: bytes, join_nonce: int) -> bytes:
    """The role of a player's chain: ``"join" ‖ host ‖ G ‖ u32be(join nonce)``."""
    _check_len("host key", host, PUBLIC_KEY_LEN)
    _check_len("game id", game_id, HASH_LEN)
    return b"join" + host + game_id + _u32be(join_nonce)


def create_role(create_nonce: int) -> bytes:
    """The role of a host's chain: ``"create" ‖ u32be(create nonce)``."""
    return b"create" + _u32be(create_nonce)


# --------------------------------------------------------------------------- dice


def dice_seed(
    network_id: bytes,
    host: bytes,
    game_id: bytes,
    k: int,
    host_preimage: bytes,
    seat_preimages: Mapping[int, bytes],
) -> bytes:
    """``seed_k``: SHA-256 of the domain, the table, k, the host preimage and every listed seat's
    preimage in ascending seat order (``seat_preimages`` maps seat → preimage)."""
    _check_len("host key", host, PUBLIC_KEY_LEN)
    _check_len("game id", game_id, HASH_LEN)
    parts = [DICE_DOMAIN, network_id, host, game_id, _u32be(k), host_preimage]
    parts.extend(seat_preimages[seat] for seat in sorted(seat_preimages))
    return sha256(b"".join(parts))


def dice_from_seed(seed_k: bytes) -> Roll:
    """The dice of ``seed_k``: the first two bytes < 252 of ``seed_k ‖ SHA-256(seed_k ‖ u32be(1))
    ‖ …``, each taken mod 6 plus 1."""
    dice: list[int] = []
    block, counter = seed_k, 0
    while True:
        for byte in block:
            if byte < DICE_REJECT:
                dice.append(byte % 6 + 1)
                if len(dice) == 2:
                    return Roll(dice[0], dice[1])
        counter += 1
        block = sha256(seed_k, _u32be(counter))


def roll_dice(
    network_id: bytes,
    host: bytes,
    game_id: bytes,
    k: int,
    host_preimage: bytes,
    seat_preimages: Mapping[int, bytes],
) -> Roll:
    """The dice of roll k: :func:`dice_from_seed` of :func:`dice_seed`."""
    return dice_from_seed(dice_seed(network_id, host, game_id, k, host_preimage, seat_preimages))


# --------------------------------------------------------------------------- a wallet's chain


class ChainExhausted(Exception):
    """Every preimage of a chain has been revealed; its seat's stay is over."""


class WalletChain:
    """A wallet's own chain: derived once from its seed, revealed one preimage at a time.

    ``head`` is committed at the seat; :meth:`reveal` returns ``c_(N-1)``, then ``c_(N-2)``, …
    ``c_0``, each valid against the value before it.  The seed itself is never revealed.
    ``revealed`` lets a wallet that restarts continue where it stopped.
    """

    def __init__(self, seed: bytes, length: int, revealed: int = 0) -> None:
        _check_length(length)
        if not 0 <= revealed <= length:
            raise ValueError(f"revealed must be 0..{length}, not {revealed}")
        values = [chain_next(seed)]
        for _ in range(length):
            values.append(chain_next(values[-1]))
        self._values = values  # c_0 … c_N
        self.length = length
        self.revealed = revealed

    @classmethod
    def for_role(
        cls, secret_seed: bytes, network_id: bytes, role: bytes, length: int
    ) -> WalletChain:
        """The chain a key derives for ``role`` on ``network_id`` (seed from ``K_chain``)."""
        return cls(chain_seed(chain_key(secret_seed), network_id, role), length)

    @property
    def head(self) -> bytes:
        """``c_N``, the commitment."""
        return self._values[self.length]

    @property
    def current(self) -> bytes:
        """The value the next reveal must hash to (the head, then the last preimage revealed)."""
        return self._values[self.length - self.revealed]

    @property
    def left(self) -> int:
        """Preimages not yet revealed."""
        return self.length - self.revealed

    def preimage_of(self, value: bytes) -> bytes | None:
        """The preimage that hashes to ``value`` (``c_(i-1)`` for ``value`` = ``c_i``, i ≥ 1),
        revealed or not, without revealing anything; None when ``value`` is not ``c_1 … c_N``.

        What a table copies is the judge of where a party stands (a copy moves its current
        value), so a wallet or host answers the table's current value, not its own counter."""
        values = self._values
        at = self.length - self.revealed
        for i in (at, at + 1):  # the usual cases: the next reveal, or the one just made
            if 1 <= i <= self.length and values[i] == value:
                return values[i - 1]
        for i in range(1, self.length + 1):
            if values[i] == value:
                return values[i - 1]
        return None

    def reveal(self) -> bytes:
        """The next preimage, in order; raises :class:`ChainExhausted` after the N-th."""
        if self.revealed == self.length:
            raise ChainExhausted(f"all {self.length} preimages of this chain are revealed")
        self.revealed += 1
        return self._values[self.length - self.revealed]


def _check_length(length: int) -> None:
    if not 1 <= length <= MAX_CHAIN_N:
        raise ValueError(f"a chain has 1..{MAX_CHAIN_N} reveals, not {length}")


def _check_len(what: str, value: bytes, size: int) -> None:
    if len(value) != size:
        raise ValueError(f"{what} is {size} bytes, not {len(value)}")


def _u32be(value: int) -> bytes:
    if not 0 <= value <= MAX_NONCE:
        raise ValueError(f"{value} does not fit a u32")
    return value.to_bytes(4, "big")
