"""Values the cycle collector need not track.

CPython's cycle collector visits every tracked container: each new one once, in the young
generation, and the survivors again at every collection of an older generation.  A node keeps
tens of objects per judged packet for as long as its log lives (records, escrow, live bets,
each packet's judgment and undo), so the collector's work grows with the log.  Most of them are
values built from plain values (ints, bytes, None, enum members, tuples of those) and from other
such values: an object like that can never be part of a reference cycle, and reference counting
alone frees it, which is what CPython already assumes of a tuple of plain values (it untracks
those itself, but only after visiting them once).

:func:`untracked` takes an object out of the collector's view at once, with the tuples it
holds (its fields, or its items if it is a tuple) and the tuples those hold: a record's key and
flat fields.  Pass it only objects that can never be reached again from what they reference:
values whose fields hold plain values or other values built before them, and tuples of those.
Getting this wrong leaks a cycle; it cannot corrupt memory (an untracked object is freed by
reference counting, as any other).  It is a C extension (``protocol/_acyclic.c``); without it
(a pure install, or ``BITCRAPS_PURE=1``) the function returns its argument and the collector
tracks everything as usual.
"""

from __future__ import annotations

from typing import Final, Protocol, TypeVar

from protocol.extensions import optional

__all__ = ["NATIVE", "untracked"]

_T = TypeVar("_T")


class _Untracked(Protocol):
    def __call__(self, obj: _T, /) -> _T: ...


def _identity(obj: _T, /) -> _T:
    return obj


_FALLBACK: _Untracked = _identity
_CHOSEN, _IS_NATIVE = optional("protocol._acyclic", "untracked", _FALLBACK)
NATIVE: Final = _IS_NATIVE
"""True when :func:`untracked` is the C extension (else it returns its argument)."""
untracked: Final = _CHOSEN
"""Stop the cycle collector tracking the argument and the tuples it holds; return it."""
