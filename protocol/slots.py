"""Build instances of plain slotted classes from their field values, without ``__init__``.

The generated body checkers (``protocol/checkers.py``) have already checked every value, so
they build each body and reference as ``object.__new__(cls)`` followed by one slot-descriptor
``__set__`` per field (a frozen dataclass's ``__init__`` would check nothing more and cost far
more).  :func:`maker` returns a function doing exactly that: the C extension ``protocol._slots``
when the install built it (one call instead of one per field), else the same steps in Python.
With ``BITCRAPS_PURE=1`` the Python version is used.

:func:`tuple_maker` does the same for named tuples (the judge's verdicts and effects):
``tuple.__new__(cls, values)`` without building the argument and intermediate tuples.  The C
version also *settles* what it builds: a tuple whose items cannot take part in a reference
cycle (numbers, bytes, strings, and tuples of those, as a credit or an effect without table
state) is untracked by the cyclic collector at once, as the collector itself would untrack an
exact tuple at the first collection that sees it.  A judged packet's verdict then costs the
collector nothing in every later collection.  :func:`settle` does that to any tuple.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from types import MemberDescriptorType
from typing import Any, Final, Protocol, TypeVar

__all__ = [
    "NATIVE",
    "maker",
    "maker_python",
    "settle",
    "settle_python",
    "tuple_maker",
    "tuple_maker_python",
]


def maker_python(cls: type[Any], names: tuple[str, ...]) -> Callable[..., Any]:
    """The Python version of :func:`maker`."""
    setters: list[Callable[[Any, Any], None]] = []
    for name in names:
        slot = cls.__dict__.get(name)
        if type(slot) is not MemberDescriptorType:
            raise TypeError(f"{name!r} is not a slot of {cls.__name__}")
        setters.append(slot.__set__)
    new = object.__new__
    count = len(setters)

    def make(*values: Any) -> Any:
        if len(values) != count:
            raise TypeError(f"a {cls.__name__} maker takes {count} values, not {len(values)}")
        obj = new(cls)
        for setter, value in zip(setters, values, strict=True):
            setter(obj, value)
        return obj

    return make


def tuple_maker_python(cls: type[tuple[Any, ...]], count: int) -> Callable[..., Any]:
    """The Python version of :func:`tuple_maker`."""
    if cls is tuple or not issubclass(cls, tuple) or count < 0:
        raise TypeError("tuple_maker needs a subclass of tuple and a count")
    new = tuple.__new__

    def make(*values: Any) -> Any:
        if len(values) != count:
            raise TypeError(f"a {cls.__name__} maker takes {count} values, not {len(values)}")
        return new(cls, values)

    return make


_T = TypeVar("_T")
_Maker = Callable[[type[Any], tuple[str, ...]], Callable[..., Any]]
_TupleMaker = Callable[[type[Any], int], Callable[..., Any]]


class _Settle(Protocol):
    def __call__(self, t: _T, /) -> _T: ...


def settle_python(t: _T, /) -> _T:
    """The Python version of :data:`settle`: nothing (the collector untracks at its pace)."""
    return t


def _choose() -> tuple[_Maker, _TupleMaker, _Settle, bool]:
    if os.environ.get("BITCRAPS_PURE") == "1":
        return maker_python, tuple_maker_python, settle_python, False
    try:
        from protocol import _slots  # noqa: PLC0415 (optional extension)
    except ImportError:
        return maker_python, tuple_maker_python, settle_python, False
    return _slots.maker, _slots.tuple_maker, _slots.settle, True


_CHOSEN, _CHOSEN_TUPLE, _SETTLE, _IS_NATIVE = _choose()
settle: Final[_Settle] = _SETTLE
"""``settle(t)`` returns ``t``, first untracked by the cyclic collector if ``t`` is a tuple of
numbers, bytes, strings and such tuples (nothing that can close a reference cycle).  Only the C
extension settles; the Python version leaves it to the collector."""
NATIVE: Final = _IS_NATIVE
"""True when :func:`maker` is the C extension's."""


def maker(cls: type[Any], names: tuple[str, ...] | None = None) -> Callable[..., Any]:
    """A function ``make(*values)`` returning a new ``cls`` whose slots ``names`` (by default
    the fields of dataclass ``cls``) hold ``values``, in order, as ``object.__new__(cls)`` and
    the slots' ``__set__`` would make it (``__init__`` does not run).  Raises TypeError unless
    every name is a writable object slot that ``cls`` itself defines."""
    if names is None:
        names = tuple(field.name for field in dataclasses.fields(cls))
    return _CHOSEN(cls, names)


def tuple_maker(cls: type[tuple[Any, ...]]) -> Callable[..., Any]:
    """A function ``make(*items)`` returning the ``cls`` (a named tuple class) of those items,
    as ``tuple.__new__(cls, items)`` would (the class's own ``__new__`` does not run)."""
    fields: tuple[str, ...] = getattr(cls, "_fields", ())
    if not fields:
        raise TypeError(f"{cls.__name__} is not a named tuple class")
    return _CHOSEN_TUPLE(cls, len(fields))
