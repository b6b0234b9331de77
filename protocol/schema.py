"""Field specifications: the one place that says what each body field may hold on the wire.

A spec checks a parsed wire value (see :mod:`protocol.wire`) and returns the Python value, raising
a :class:`~protocol.errors.Malformed` subclass (the enclosing specs prefix the field path on the
way out, so the success path builds no strings); it also converts the
Python value back to its wire form.  Checks run depth-first in field order, and at every node the
encoding is checked before the type and the type before the range, so the first fault found — and
so the refusal reason — is a function of the bytes alone.  :func:`compile_struct` turns a
struct spec into one generated function that only accepts (its callers fall back to ``check`` for
the error), never reporting a fault itself.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import fields as dc_fields
from types import MemberDescriptorType
from typing import Any

from protocol.errors import FieldCount, FieldNotCanonical, FieldRange, FieldType, Malformed
from protocol.wire import Foreign, NotShortest

__all__ = [
    "Bin",
    "Choice",
    "ListOf",
    "Mismatch",
    "Spec",
    "Struct",
    "UInt",
    "check_fields",
    "compile_struct",
]


def _describe(value: object) -> str:
    if isinstance(value, Foreign):
        return value.type_name
    if value is None:
        return "nil"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, bytes):
        return f"bin {len(value)}"
    if isinstance(value, list):
        return f"array of {len(value)}"
    return type(value).__name__


def _at(exc: Malformed, label: str) -> None:
    """Prefix the field path of ``exc`` with ``label`` (called while the error propagates)."""
    message = str(exc.args[0]) if exc.args else ""
    sep = "" if message.startswith(("[", ":")) else "."
    exc.args = (f"{label}{sep}{message}" if message else label,)


def _wrong(value: object, expected: str) -> Malformed:
    """The error for a value that is not of the expected type: encoding first, then type."""
    if type(value) is NotShortest:
        return FieldNotCanonical(": not in shortest msgpack encoding")
    return FieldType(f": expected {expected}, got {_describe(value)}")


class Spec:
    """Base class of field specs."""

    name: str = "value"

    def check(self, value: object) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def to_wire(self, value: Any) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError


class UInt(Spec):
    """A non-negative integer in ``[lo, hi]``."""

    def __init__(self, bits: int, lo: int = 0, hi: int | None = None) -> None:
        self.bits = bits
        self.lo = lo
        self.hi = (1 << bits) - 1 if hi is None else hi
        self.name = f"u{bits}"

    def check(self, value: object) -> Any:
        if type(value) is not int:
            raise _wrong(value, self.name)
        if value < self.lo or value > self.hi:
            raise FieldRange(f": {value} is outside {self.lo}..{self.hi}")
        return value

    def to_wire(self, value: Any) -> Any:
        return int(value)


class Choice(UInt):
    """A u8 that must be one of ``allowed``; returned converted (e.g. to an ``IntEnum``)."""

    def __init__(self, convert: Callable[[int], Any], allowed: Sequence[int], name: str) -> None:
        super().__init__(8)
        self.table = {int(v): convert(v) for v in allowed}
        self.name = name

    def check(self, value: object) -> Any:
        if type(value) is not int:
            raise _wrong(value, self.name)
        result = self.table.get(value)
        if result is None:
            raise FieldRange(f": {value} is not a valid {self.name}")
        return result


class Bin(Spec):
    """A byte string of exactly ``size`` bytes."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.name = f"bin {size}"

    def check(self, value: object) -> Any:
        if type(value) is not bytes:
            raise _wrong(value, self.name)
        if len(value) != self.size:
            raise FieldRange(f": expected {self.size} bytes, got {len(value)}")
        return value

    def to_wire(self, value: Any) -> Any:
        return bytes(value)


class ListOf(Spec):
    """A list of ``lo..hi`` items of one spec, returned as a tuple."""

    def __init__(self, item: Spec, hi: int, lo: int = 0) -> None:
        self.item = item
        self.lo = lo
        self.hi = hi
        self.name = f"list of {item.name}"

    def check(self, value: object) -> Any:
        if type(value) is not list:
            raise _wrong(value, self.name)
        if not self.lo <= len(value) <= self.hi:
            raise FieldRange(f": {len(value)} items, allowed {self.lo}..{self.hi}")
        check = self.item.check
        out = []
        try:
            for item in value:
                out.append(check(item))
        except Malformed as exc:
            _at(exc, f"[{len(out)}]")
            raise
        return tuple(out)

    def to_wire(self, value: Any) -> Any:
        to_wire = self.item.to_wire
        return [to_wire(item) for item in value]


class Struct(Spec):
    """A fixed-length array mapped onto a frozen dataclass, field by field.

    ``optional`` trailing fields may be absent on the wire (they are then ``None``); a subclass
    may add a cross-field rule by overriding :meth:`validate`.
    """

    def __init__(self, cls: type[Any], specs: Sequence[Spec], optional: int = 0) -> None:
        self.cls = cls
        self.specs = tuple(specs)
        self.names = tuple(f.name for f in dc_fields(cls))
        if len(self.names) != len(self.specs):
            raise TypeError(f"{cls.__name__}: {len(self.names)} fields, {len(self.specs)} specs")
        self.optional = optional
        self.name = cls.__name__

    def check(self, value: object) -> Any:
        if type(value) is not list:
            raise _wrong(value, f"{self.name} array")
        result = self.cls(*check_fields(self.specs, value, self.optional, self.names))
        self.validate(result)
        return result

    def validate(self, result: Any) -> None:
        """Cross-field rules; raise a Malformed subclass (message starting with ': ')."""

    def to_wire(self, value: Any) -> Any:
        out = []
        for name, spec in zip(self.names, self.specs, strict=True):
            item = getattr(value, name)
            if item is None:
                break
            out.append(spec.to_wire(item))
        return out


def check_fields(
    specs: Sequence[Spec],
    values: Sequence[object],
    optional: int = 0,
    names: Sequence[str] | None = None,
) -> list[Any]:
    """Check ``values`` against ``specs`` in order; absent optional tail fields become None."""
    count = len(values)
    total = len(specs)
    if count != total and not total - optional <= count < total:
        expected = str(total) if not optional else f"{total - optional}..{total}"
        raise FieldCount(f": {count} fields, expected {expected}")
    out: list[Any] = []
    try:
        for spec, value in zip(specs, values, strict=False):
            out.append(spec.check(value))
    except Malformed as exc:
        index = len(out)
        _at(exc, names[index] if names is not None else str(index))
        raise
    if count < total:
        out.extend([None] * (total - count))
    return out


# --------------------------------------------------------------------------- compiled fast path


class Mismatch(Exception):
    """Raised by a compiled checker on any fault; the caller re-checks slowly for the reason."""


class _Emitter:
    """Generates the straight-line Python source of one compiled checker."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.namespace: dict[str, Any] = {
            "Mismatch": Mismatch,
            "_new": object.__new__,
            "_tuple": tuple,
            "_len": len,
            "_int": int,
            "_bytes": bytes,
            "_list": list,
            "_type": type,
        }
        self.count = 0

    def var(self, stem: str) -> str:
        self.count += 1
        return f"{stem}{self.count}"

    def const(self, stem: str, value: object) -> str:
        name = self.var(f"_{stem}")
        self.namespace[name] = value
        return name

    def emit(self, indent: int, line: str) -> None:
        self.lines.append("    " * indent + line)

    def guard(self, indent: int, failure: str) -> None:
        """Emit ``if <failure>: raise Mismatch``."""
        self.emit(indent, f"if {failure}:")
        self.emit(indent + 1, "raise Mismatch")

    def value(self, spec: Spec, src: str, indent: int) -> str:
        """Emit the checks of ``spec`` on the variable ``src``; return the result variable."""
        kind = type(spec)
        if isinstance(spec, Choice) and kind.check is Choice.check:
            table = self.const("table", spec.table)
            out = self.var("c")
            self.guard(indent, f"_type({src}) is not _int")
            self.emit(indent, f"{out} = {table}.get({src})")
            self.guard(indent, f"{out} is None")
            return out
        if isinstance(spec, UInt) and kind.check is UInt.check:
            self.guard(
                indent,
                f"_type({src}) is not _int or not {spec.lo} <= {src} <= {spec.hi}",
            )
            return src
        if isinstance(spec, Bin) and kind.check is Bin.check:
            self.guard(indent, f"_type({src}) is not _bytes or _len({src}) != {spec.size}")
            return src
        if isinstance(spec, ListOf) and kind.check is ListOf.check:
            self.guard(
                indent,
                f"_type({src}) is not _list or not {spec.lo} <= _len({src}) <= {spec.hi}",
            )
            items = self.var("items")
            item = self.var("x")
            self.emit(indent, f"{items} = []")
            self.emit(indent, f"for {item} in {src}:")
            result = self.value(spec.item, item, indent + 1)
            self.emit(indent + 1, f"{items}.append({result})")
            out = self.var("t")
            self.emit(indent, f"{out} = _tuple({items})")
            return out
        if isinstance(spec, Struct) and kind.check is Struct.check:
            self.guard(indent, f"_type({src}) is not _list")
            return self.struct(spec, src, indent)
        check = self.const("check", spec.check)
        out = self.var("v")
        self.emit(indent, f"{out} = {check}({src})")
        return out

    def struct(self, spec: Struct, src: str, indent: int) -> str:
        """Emit the field checks and the construction of ``spec`` from the sequence ``src``."""
        total = len(spec.specs)
        names = [self.var("f") for _ in spec.specs]
        results = list(names)
        size = self.var("n")
        self.emit(indent, f"{size} = _len({src})")
        for count in range(total, total - spec.optional - 1, -1):
            head = "if" if count == total else "elif"
            self.emit(indent, f"{head} {size} == {count}:")
            if count:
                self.emit(indent + 1, f"{', '.join(names[:count])}, = {src}")
            for index in range(count, total):
                self.emit(indent + 1, f"{names[index]} = None")
            for index in range(total - spec.optional, total):
                if index < count:
                    result = self.value(spec.specs[index], names[index], indent + 1)
                    if result != names[index]:
                        self.emit(indent + 1, f"{names[index]} = {result}")
            self.emit(indent + 1, "pass")
        self.emit(indent, "else:")
        self.emit(indent + 1, "raise Mismatch")
        for index in range(total - spec.optional):
            results[index] = self.value(spec.specs[index], names[index], indent)
        out = self.var("r")
        cls = self.const("cls", spec.cls)
        setters = _slot_setters(spec.cls, spec.names)
        if setters is None:
            self.emit(indent, f"{out} = {cls}({', '.join(results)})")
        else:
            self.emit(indent, f"{out} = _new({cls})")
            for setter, result in zip(setters, results, strict=True):
                self.emit(indent, f"{self.const('set', setter)}({out}, {result})")
        if type(spec).validate is not Struct.validate:
            self.emit(indent, f"{self.const('validate', spec.validate)}({out})")
        return out


def _slot_setters(cls: type[Any], names: Sequence[str]) -> list[Callable[[Any, Any], None]] | None:
    """The slot setters of a plain slotted dataclass, or None where ``cls(...)`` must be called."""
    init = getattr(cls.__init__, "__code__", None)
    generated = init is not None and init.co_filename == "<string>"  # made by @dataclass
    custom_new = "__new__" in {name for klass in cls.__mro__[:-1] for name in vars(klass)}
    if not generated or custom_new or hasattr(cls, "__post_init__"):
        return None
    setters = []
    for name in names:
        slot = cls.__dict__.get(name)
        if type(slot) is not MemberDescriptorType:
            return None
        setters.append(slot.__set__)
    return setters


def compile_struct(spec: Struct, top: bool = False) -> Callable[[Any], Any]:
    """A generated function equal to ``spec.check`` on success that raises Mismatch on any fault.

    With ``top`` the argument is any sequence of the struct's fields (no array type check).  On
    Mismatch the caller runs the ordinary checks, which find and report the first fault.
    """
    emitter = _Emitter()
    emitter.emit(0, "def compiled(value):")
    if not top:
        emitter.emit(1, "if _type(value) is not _list:")
        emitter.emit(2, "raise Mismatch")
    result = emitter.struct(spec, "value", 1)
    emitter.emit(1, f"return {result}")
    source = "\n".join(emitter.lines) + "\n"
    namespace = emitter.namespace
    exec(compile(source, f"<compiled {spec.name}>", "exec"), namespace)
    compiled: Callable[[Any], Any] = namespace["compiled"]
    compiled.__doc__ = source
    return compiled
