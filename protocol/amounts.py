"""CRAP amounts as people write them, and base units as the wire carries them.

1 CRAP = 1,000,000 base units.  People type and read CRAP with up to 6 decimals; the ledger and
the wire only ever see integers of base units (u64).
"""

from __future__ import annotations

import re
from typing import Final

from protocol.constants import BASE_UNITS_PER_CRAP, MAX_U64

__all__ = ["AmountError", "format_crap", "parse_crap"]

_DECIMALS: Final = 6
_PATTERN: Final = re.compile(r"([0-9]{1,20})(?:\.([0-9]{1,6}))?")
_SPACE: Final = " \t\n\r\f\v"
"""What may surround an amount: ASCII whitespace only (``str.strip()`` takes Unicode's too)."""


class AmountError(ValueError):
    """An amount a person typed that is not a valid CRAP amount."""


def parse_crap(text: str | int, *, allow_zero: bool = False) -> int:
    """Parse ``"12"``, ``"0.5"`` or ``"1000.000001"`` CRAP into base units.

    ASCII digits only, ``_`` anywhere ignored, ASCII whitespace around it ignored
    (docs/PROTOCOL.md, "Amounts")."""
    if isinstance(text, bool):
        raise AmountError(f"amount {text!r} is not a number of CRAP")
    if isinstance(text, int):
        text = str(text)
    raw = text.strip(_SPACE).replace("_", "")
    match = _PATTERN.fullmatch(raw)
    if match is None:
        raise AmountError(
            f"amount {text!r} is not a number of CRAP (digits, optionally a point and up to "
            f"{_DECIMALS} decimals, e.g. 12 or 0.5)"
        )
    whole, frac = match.group(1), match.group(2) or ""
    units = int(whole) * BASE_UNITS_PER_CRAP + int(frac.ljust(_DECIMALS, "0"))
    if units > MAX_U64:
        raise AmountError(f"amount {text!r} is over the largest amount, {format_crap(MAX_U64)}")
    if units == 0 and not allow_zero:
        raise AmountError(f"amount {text!r} must be more than zero")
    return units


def format_crap(units: int) -> str:
    """Base units as CRAP, with only the decimals needed (``1500000`` → ``"1.5"``)."""
    sign = "-" if units < 0 else ""
    whole, frac = divmod(abs(units), BASE_UNITS_PER_CRAP)
    if not frac:
        return f"{sign}{whole}"
    return f"{sign}{whole}.{frac:06d}".rstrip("0")
