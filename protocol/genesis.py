"""Genesis: what defines a network, and the ``network_id`` every signature covers.

``network_id = SHA-256("BCM/genesis/v1" ‖ msgpack([name, play_money, faucet_amount, min_account,
treasury_reserve, house_key or nil, sorted grants, [min_bet_lo, max_bet_hi, max_players,
bond_lo]]))`` (DESIGN.md section 2).  Genesis files are TOML with amounts in CRAP; ``LOCAL`` is the
built-in play-money network.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from dataclasses import dataclass, field
from typing import Any, Final

from protocol.amounts import AmountError, parse_crap
from protocol.constants import (
    CRAP,
    GENESIS_DOMAIN,
    MAX_U64,
    PUBLIC_KEY_LEN,
    SINK_KEY,
    TREASURY_KEY,
)
from protocol.wire import pack

__all__ = ["LOCAL", "Bounds", "Genesis", "GenesisError", "load_genesis", "parse_genesis"]


class GenesisError(ValueError):
    """A genesis file or value that does not define a valid network."""


@dataclass(frozen=True, slots=True)
class Bounds:
    """Network-wide table bounds: ``[min_bet_lo, max_bet_hi, max_players, bond_lo]``."""

    min_bet_lo: int
    max_bet_hi: int
    max_players: int
    bond_lo: int


@dataclass(frozen=True, slots=True)
class Genesis:
    """A network's genesis. Amounts are base units; grants are sorted by key bytes."""

    name: str
    play_money: bool
    faucet_amount: int
    min_account: int
    treasury_reserve: int
    house_key: bytes | None
    grants: tuple[tuple[bytes, int], ...]
    bounds: Bounds
    network_id: bytes = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        _validate(self)
        object.__setattr__(self, "network_id", hashlib.sha256(self.encode()).digest())

    def encoding(self) -> bytes:
        """The msgpack array hashed into ``network_id`` (without the domain prefix)."""
        b = self.bounds
        return pack(
            [
                self.name,
                self.play_money,
                self.faucet_amount,
                self.min_account,
                self.treasury_reserve,
                self.house_key,
                [[key, amount] for key, amount in self.grants],
                [b.min_bet_lo, b.max_bet_hi, b.max_players, b.bond_lo],
            ]
        )

    def encode(self) -> bytes:
        """The exact bytes whose SHA-256 is ``network_id``."""
        return GENESIS_DOMAIN + self.encoding()

    @property
    def total_grants(self) -> int:
        """Grants, the treasury reserve included (a grant to the treasury key)."""
        return sum(amount for _, amount in self.grants) + self.treasury_reserve


def _validate(g: Genesis) -> None:
    if not g.name or len(g.name.encode()) > 64:
        raise GenesisError("genesis name must be 1..64 bytes of UTF-8")
    for label, value in (
        ("faucet_amount", g.faucet_amount),
        ("min_account", g.min_account),
        ("treasury_reserve", g.treasury_reserve),
        ("min_bet_lo", g.bounds.min_bet_lo),
        ("max_bet_hi", g.bounds.max_bet_hi),
        ("bond_lo", g.bounds.bond_lo),
    ):
        if not 0 <= value <= MAX_U64:
            raise GenesisError(f"{label} {value} is not a u64 amount")
    if not g.play_money and g.faucet_amount:
        raise GenesisError("faucet_amount must be 0 off play money")
    if g.bounds.min_bet_lo < 1 or g.bounds.min_bet_lo > g.bounds.max_bet_hi:
        raise GenesisError("bounds need 1 <= min_bet <= max_bet")
    if not 1 <= g.bounds.max_players <= 256:
        raise GenesisError(f"max_players {g.bounds.max_players} is outside 1..256")
    house = g.house_key
    if house is not None and (len(house) != PUBLIC_KEY_LEN or house in (TREASURY_KEY, SINK_KEY)):
        raise GenesisError("house_key must be a 32-byte key other than the treasury's or sink's")
    keys = [key for key, _ in g.grants]
    if keys != sorted(keys):
        raise GenesisError("grants must be sorted by key bytes")
    if len(set(keys)) != len(keys):
        raise GenesisError("a key appears twice among the grants")
    for key, amount in g.grants:
        if len(key) != PUBLIC_KEY_LEN:
            raise GenesisError(f"grant key {key.hex()} is not 32 bytes")
        if key == TREASURY_KEY:
            raise GenesisError("the treasury is funded by treasury_reserve, not by a grant")
        if key == SINK_KEY:
            raise GenesisError("the sink receives only forfeits and fees, never a grant")
        if not 1 <= amount <= MAX_U64:
            raise GenesisError(f"grant of {amount} to {key.hex()[:8]} is not a positive u64")
    if g.total_grants > MAX_U64:
        raise GenesisError("grants and the treasury reserve together exceed a u64")


LOCAL: Final = Genesis(
    name="local",
    play_money=True,
    faucet_amount=100_000 * CRAP,
    min_account=0,
    treasury_reserve=0,
    house_key=None,
    grants=(),
    bounds=Bounds(min_bet_lo=1 * CRAP, max_bet_hi=100_000 * CRAP, max_players=16, bond_lo=1 * CRAP),
)
"""The built-in play-money network (DESIGN.md section 9)."""


_KEYS: Final = {
    "name",
    "play_money",
    "faucet",
    "min_account",
    "treasury_reserve",
    "house_key",
    "grants",
    "bounds",
}
_BOUND_KEYS: Final = {"min_bet", "max_bet", "max_players", "bond"}


def parse_genesis(text: str) -> Genesis:
    """Parse genesis TOML (amounts in CRAP); raise :class:`GenesisError` with the reason."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise GenesisError(f"genesis is not valid TOML: {exc}") from None
    unknown = set(doc) - _KEYS
    if unknown:
        raise GenesisError(f"unknown genesis key(s): {', '.join(sorted(unknown))}")
    return _from_doc(doc)


def _from_doc(doc: dict[str, Any]) -> Genesis:
    default = LOCAL.bounds
    raw_bounds = doc.get("bounds", {})
    if not isinstance(raw_bounds, dict) or set(raw_bounds) - _BOUND_KEYS:
        raise GenesisError(f"[bounds] takes only {', '.join(sorted(_BOUND_KEYS))}")
    max_players = raw_bounds.get("max_players", default.max_players)
    if type(max_players) is not int:
        raise GenesisError("bounds.max_players must be an integer")
    bounds = Bounds(
        min_bet_lo=_amount(raw_bounds, "min_bet", default.min_bet_lo, within="bounds."),
        max_bet_hi=_amount(raw_bounds, "max_bet", default.max_bet_hi, within="bounds."),
        max_players=max_players,
        bond_lo=_amount(raw_bounds, "bond", default.bond_lo, within="bounds."),
    )
    name = doc.get("name")
    if not isinstance(name, str):
        raise GenesisError("genesis needs a name (a string)")
    play_money = doc.get("play_money", False)
    if not isinstance(play_money, bool):
        raise GenesisError("play_money must be true or false")
    house = doc.get("house_key")
    grants_raw = doc.get("grants", [])
    if not isinstance(grants_raw, list):
        raise GenesisError("grants must be an array of tables {key, amount}")
    grants = []
    for entry in grants_raw:
        if not isinstance(entry, dict) or set(entry) != {"key", "amount"}:
            raise GenesisError("each grant is a table with exactly key and amount")
        grants.append(
            (_key(entry["key"], "grant key"), _amount(entry, "amount", None, within="grant "))
        )
    grants.sort()
    return Genesis(
        name=name,
        play_money=play_money,
        faucet_amount=_amount(doc, "faucet", 0, zero=True),
        min_account=_amount(doc, "min_account", 0, zero=True),
        treasury_reserve=_amount(doc, "treasury_reserve", 0, zero=True),
        house_key=None if house is None else _key(house, "house_key"),
        grants=tuple(grants),
        bounds=bounds,
    )


def _amount(
    doc: dict[str, Any], key: str, default: int | None, *, zero: bool = False, within: str = ""
) -> int:
    """``doc[key]`` in base units; ``within`` names the table ``doc`` is (``bounds.``)."""
    if key not in doc:
        if default is None:
            raise GenesisError(f"missing {within}{key}")
        return default
    value = doc[key]
    if not isinstance(value, int | str) or isinstance(value, bool):
        raise GenesisError(f"{within}{key} must be an amount of CRAP (integer or decimal string)")
    try:
        return parse_crap(value, allow_zero=zero)
    except AmountError as exc:
        raise GenesisError(f"{within}{key}: {exc}") from None


_HEX_KEY: Final = re.compile(f"[0-9a-fA-F]{{{2 * PUBLIC_KEY_LEN}}}")


def _key(value: object, label: str) -> bytes:
    """Exactly 64 hex digits, either case (``bytes.fromhex`` alone would also skip spaces)."""
    if not isinstance(value, str) or _HEX_KEY.fullmatch(value) is None:
        raise GenesisError(f"{label} must be {2 * PUBLIC_KEY_LEN} hex digits, got {value!r}")
    return bytes.fromhex(value)


def load_genesis(path: str) -> Genesis:
    """Read a genesis TOML file; raise :class:`GenesisError` (also for an unreadable file)."""
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise GenesisError(f"cannot read genesis file {path}: {exc}") from None
    return parse_genesis(text)
