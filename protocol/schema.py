"""Field specifications: the one place that says what each body field may hold on the wire.

A spec checks a parsed wire value (see :mod:`protocol.wire`) and returns the Python value, raising
a :class:`~protocol.errors.Malformed` subclass (the enclosing specs prefix the field path on the
way out, so the success path builds no strings); it also converts the
Python value back to its wire form.  Checks run depth-first in field order, and at every node the
encoding is checked before the type and the type before the range, so the first fault found — and
so the refusal reason — is a function of the bytes alone.  :func:`render_checkers` turns the
body schemas into the source of ``protocol/checkers.py``: one straight-line function per kind
that only accepts (its callers fall back to ``check`` for the error), compiled with the hot path.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import fields as dc_fields
from types import MemberDescriptorType
from typing import Any, Final

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
    "render_checkers",
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
    """Raised by a generated checker on any fault; the caller re-checks slowly for the reason."""


CHECKERS_HEADER: Final = '''"""
Generated by ``python scripts/gen_checkers.py`` from the body schemas; do not edit.

One straight-line checker per packet kind (:func:`protocol.schema.render_checkers`): equal to the
spec objects' ``check`` on a valid body, raising on any fault without finding which one (the
caller then runs the spec objects for the exact error).  Compiled with the hot path
(docs/BUILD.md); ``tests/test_schema_compiled.py`` keeps this file equal to what the schemas
generate and its results equal to the specs'.
"""
'''


class _Emitter:
    """Generates the typed, straight-line source of the checkers module.

    Every constant the checks need (a class, a maker, a choice table, a custom check) is a
    module-level name bound to an expression that reaches it from a body class's ``SCHEMA``, so
    the module holds no copy of any rule.
    """

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.constants: list[str] = []
        self.named: dict[str, str] = {}
        self.classes: set[str] = set()
        self.count = 0

    def var(self, stem: str) -> str:
        self.count += 1
        return f"{stem}{self.count}"

    def const(self, stem: str, expression: str) -> str:
        """A module-level name bound to ``expression`` (one name per expression)."""
        name = self.named.get(expression)
        if name is None:
            name = self.named[expression] = self.var(f"_{stem}")
            self.constants.append(f"{name}: Final[Any] = {expression}")
        return name

    def cls(self, cls: type[Any]) -> str:
        if cls.__module__ != "protocol.kinds":
            raise TypeError(f"{cls.__qualname__}: body classes must live in protocol.kinds")
        self.classes.add(cls.__name__)
        return cls.__name__

    def emit(self, indent: int, line: str) -> None:
        self.lines.append("    " * indent + line)

    def guard(self, indent: int, failure: str) -> None:
        """Emit ``if <failure>: raise Mismatch``."""
        self.emit(indent, f"if {failure}:")
        self.emit(indent + 1, "raise Mismatch")

    def value(self, spec: Spec, src: str, indent: int, path: str) -> str:
        """Emit the checks of ``spec`` (reached at runtime by ``path``) on the variable ``src``;
        return the variable holding the result."""
        kind = type(spec)
        if isinstance(spec, Choice) and kind.check is Choice.check:
            table = self.const("table", f"{path}.table")
            out = self.var("c")
            self.guard(indent, f"type({src}) is not int")
            self.emit(indent, f"{out} = {table}.get({src})")
            self.guard(indent, f"{out} is None")
            return out
        if isinstance(spec, UInt) and kind.check is UInt.check:
            self.guard(indent, f"type({src}) is not int or not {spec.lo} <= {src} <= {spec.hi}")
            return src
        if isinstance(spec, Bin) and kind.check is Bin.check:
            self.guard(indent, f"type({src}) is not bytes or len({src}) != {spec.size}")
            return src
        if isinstance(spec, ListOf) and kind.check is ListOf.check:
            self.guard(
                indent, f"type({src}) is not list or not {spec.lo} <= len({src}) <= {spec.hi}"
            )
            items = self.var("items")
            item = self.var("x")
            self.emit(indent, f"{items}: list[Any] = []")
            self.emit(indent, f"for {item} in {src}:")
            result = self.value(spec.item, item, indent + 1, f"{path}.item")
            self.emit(indent + 1, f"{items}.append({result})")
            out = self.var("t")
            self.emit(indent, f"{out} = tuple({items})")
            return out
        if isinstance(spec, Struct) and kind.check is Struct.check:
            self.guard(indent, f"type({src}) is not list")
            return self.struct(spec, src, 0, indent, path)
        check = self.const("check", f"{path}.check")
        out = self.var("v")
        self.emit(indent, f"{out} = {check}({src})")
        return out

    def struct(self, spec: Struct, src: str, base: int | str, indent: int, path: str) -> str:
        """Emit the field checks and the construction of ``spec`` from ``src[base:]``."""
        total = len(spec.specs)
        names = [self.var("f") for _ in spec.specs]
        results = list(names)
        at = (lambda i: f"{base} + {i}" if i else str(base)) if isinstance(base, str) else None
        size = self.var("n")
        self.emit(indent, f"{size} = len({src}){f' - {base}' if base else ''}")
        for count in range(total, total - spec.optional - 1, -1):
            head = "if" if count == total else "elif"
            self.emit(indent, f"{head} {size} == {count}:")
            for index in range(count):
                where = at(index) if at is not None else str(int(base) + index)
                self.emit(indent + 1, f"{names[index]} = {src}[{where}]")
            for index in range(count, total):
                self.emit(indent + 1, f"{names[index]} = None")
            for index in range(total - spec.optional, total):
                if index < count:
                    result = self.value(
                        spec.specs[index], names[index], indent + 1, f"{path}.specs[{index}]"
                    )
                    if result != names[index]:
                        self.emit(indent + 1, f"{names[index]} = {result}")
        self.emit(indent, "else:")
        self.emit(indent + 1, "raise Mismatch")
        for index in range(total - spec.optional):
            results[index] = self.value(
                spec.specs[index], names[index], indent, f"{path}.specs[{index}]"
            )
        out = self.var("r")
        cls = self.cls(spec.cls)
        if _makeable(spec.cls, spec.names):
            make = self.const("make", f"maker({cls})")
            self.emit(indent, f"{out}: {cls} = {make}({', '.join(results)})")
        else:
            self.emit(indent, f"{out} = {cls}({', '.join(results)})")
        if type(spec).validate is not Struct.validate:
            self.emit(indent, f"{self.const('validate', f'{path}.validate')}({out})")
        return out


def _makeable(cls: type[Any], names: Sequence[str]) -> bool:
    """True for a plain slotted dataclass whose ``names`` are its fields, in order: then
    :func:`protocol.slots.maker` builds it as its own ``__init__`` would; else ``cls(...)``
    must be called."""
    init = getattr(cls.__init__, "__code__", None)
    generated = init is not None and init.co_filename == "<string>"  # made by @dataclass
    custom_new = "__new__" in {name for klass in cls.__mro__[:-1] for name in vars(klass)}
    if not generated or custom_new or hasattr(cls, "__post_init__"):
        return False
    if tuple(names) != tuple(f.name for f in dc_fields(cls)):
        return False
    return all(type(cls.__dict__.get(name)) is MemberDescriptorType for name in names)


def render_checkers(body_types: Mapping[int, type[Any]]) -> str:
    """The source of ``protocol/checkers.py``: for each kind, a function ``(values, base)``
    that checks the body fields ``values[base:]`` (the whole parsed body array and 4, on the
    receive path) exactly as ``Struct(cls, cls.SCHEMA).check`` would on success and raises on
    any fault; and ``CHECKERS``, kind byte → that function."""
    emitter = _Emitter()
    emitter.classes.add("Body")
    functions: list[tuple[int, str]] = []
    for kind, cls in sorted(body_types.items()):
        name = f"check_{cls.__name__.lower()}"
        functions.append((kind, name))
        schema = emitter.const("schema", f"Struct({emitter.cls(cls)}, {cls.__name__}.SCHEMA)")
        emitter.emit(0, "")
        emitter.emit(0, "")
        emitter.emit(0, f"def {name}(values: list[Any], base: int) -> {cls.__name__}:")
        result = emitter.struct(Struct(cls, cls.SCHEMA), "values", "base", 1, schema)
        emitter.emit(1, f"return {result}")
    classes = "".join(f"    {name},\n" for name in sorted(emitter.classes))
    table = "".join(f"\n    {kind}: {name}," for kind, name in functions)
    return (
        CHECKERS_HEADER
        + "\nfrom __future__ import annotations\n\n"
        + "from collections.abc import Callable\n"
        + "from typing import Any, Final\n\n"
        + f"from protocol.kinds import (\n{classes})\n"
        + "from protocol.schema import Mismatch, Struct\n"
        + "from protocol.slots import maker\n\n"
        + '__all__ = ["CHECKERS"]\n\n'
        + "".join(f"{line}\n" for line in emitter.constants)
        + "".join(f"{line}\n" for line in emitter.lines)
        + "\n\nCHECKERS: Final[dict[int, Callable[[list[Any], int], Body]]] = {"
        + table
        + "\n}\n"
        + '"""Kind byte → its checker."""\n'
    )
