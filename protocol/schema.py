"""Field specifications: the one place that says what each body field may hold on the wire.

A spec describes one field (type, size, range) and converts its Python value to the wire form.
:func:`render_checkers` turns the body schemas into ``protocol/checkers.py``: per kind, one
straight-line function that checks a parsed body and builds it, raising the
:class:`~protocol.errors.Malformed` subclass that names the first fault.  Checks run depth-first
in field order, and at every node the encoding before the type and the type before the range,
so the first fault found (and so the refusal reason) is a function of the bytes alone.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final

from protocol.errors import FieldNotCanonical, FieldType, Malformed
from protocol.wire import Foreign, NotShortest

__all__ = [
    "Bin",
    "Choice",
    "ListOf",
    "Spec",
    "Struct",
    "UInt",
    "field_names",
    "located",
    "render_checkers",
    "wrong_type",
]


class Spec:
    """Base class of field specs."""

    name: str = "value"

    def to_wire(self, value: Any) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError


class UInt(Spec):
    """A non-negative integer in ``[lo, hi]``."""

    def __init__(self, bits: int, lo: int = 0, hi: int | None = None) -> None:
        self.bits = bits
        self.lo = lo
        self.hi = (1 << bits) - 1 if hi is None else hi
        self.name = f"u{bits}"

    def to_wire(self, value: Any) -> Any:
        return int(value)


class Choice(UInt):
    """A u8 that must be one of ``allowed``; decoded converted (e.g. to an ``IntEnum``)."""

    def __init__(self, convert: Callable[[int], Any], allowed: Sequence[int], name: str) -> None:
        super().__init__(8)
        self.table = {int(v): convert(v) for v in allowed}
        self.name = name


class Bin(Spec):
    """A byte string of exactly ``size`` bytes."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.name = f"bin {size}"

    def to_wire(self, value: Any) -> Any:
        return bytes(value)


class ListOf(Spec):
    """A list of ``lo..hi`` items of one spec, decoded as a tuple."""

    def __init__(self, item: Spec, hi: int, lo: int = 0) -> None:
        self.item = item
        self.lo = lo
        self.hi = hi
        self.name = f"list of {item.name}"

    def to_wire(self, value: Any) -> Any:
        to_wire = self.item.to_wire
        return [to_wire(item) for item in value]


class Struct(Spec):
    """A fixed-length array mapped onto a class, field by field (:func:`field_names`).

    ``optional`` trailing fields may be absent on the wire (they are then ``None``); ``rule``,
    if given, checks the built value across fields and raises a Malformed subclass whose
    message starts with ``": "`` (the checker puts the field's place in front).
    """

    def __init__(
        self,
        cls: type[Any],
        specs: Sequence[Spec],
        optional: int = 0,
        rule: Callable[[Any], None] | None = None,
    ) -> None:
        self.cls = cls
        self.specs = tuple(specs)
        self.names = field_names(cls)
        if len(self.names) != len(self.specs):
            raise TypeError(f"{cls.__name__}: {len(self.names)} fields, {len(self.specs)} specs")
        self.optional = optional
        self.rule = rule
        self.name = cls.__name__

    def to_wire(self, value: Any) -> Any:
        out = []
        for name, spec in zip(self.names, self.specs, strict=True):
            item = getattr(value, name)
            if item is None:
                break
            out.append(spec.to_wire(item))
        return out


def field_names(cls: type[Any]) -> tuple[str, ...]:
    """The fields of a wire value class: its ``__init__`` parameters, in order."""
    names = _FIELD_NAMES.get(cls)
    if names is None:
        names = _FIELD_NAMES[cls] = tuple(inspect.signature(cls).parameters)
    return names


_FIELD_NAMES: dict[type[Any], tuple[str, ...]] = {}


# --------------------------------------------------------------------------- errors


def wrong_type(where: str, value: object, expected: str) -> Malformed:
    """The error for a value at ``where`` that is not of the expected type: a known type in a
    longer encoding than the shortest is a fault of encoding, anything else of type."""
    if type(value) is NotShortest:
        return FieldNotCanonical(f"{where}: not in shortest msgpack encoding")
    return FieldType(f"{where}: expected {expected}, got {_describe(value)}")


def located(error: Malformed, where: str) -> Malformed:
    """``error`` (from a struct's rule, its message starting with ``": "``) placed at
    ``where``."""
    error.args = (f"{where}{error.args[0] if error.args else ''}",)
    return error


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


# --------------------------------------------------------------------------- the checkers

CHECKERS_HEADER: Final = '''"""
Generated by ``python scripts/gen_checkers.py`` from the body schemas; do not edit.

Per packet kind, the one check of a parsed body (:func:`protocol.schema.render_checkers`): it
builds the body, or raises the Malformed subclass naming the first fault.  Compiled with the hot
path (docs/BUILD.md); ``tests/test_schema_compiled.py`` keeps this file equal to what the
schemas generate.
"""
'''


class _Where:
    """Where a value sits, as the source of an f-string body: ``"bet body"``, then
    ``"bet body: bets[{len(items3)}].amount"`` (an index is how many items passed)."""

    def __init__(self, root: str, path: str = "") -> None:
        self.root = root
        self.path = path

    def field(self, name: str) -> _Where:
        return _Where(self.root, f"{self.path}.{name}" if self.path else name)

    def item(self, index: str) -> _Where:
        return _Where(self.root, f"{self.path}[{{{index}}}]")

    def text(self, detail: str = "") -> str:
        """A string literal of this place followed by ``detail`` (f-string source)."""
        body = f"{self.root}: {self.path}" if self.path else self.root
        source = body + detail
        return f'f"{source}"' if "{" in source else f'"{source}"'


class _Emitter:
    """Generates the typed, straight-line source of the checkers module.

    Every constant the checks need (a choice table, a rule) is a module-level name bound to an
    expression that reaches it from a body class's ``SCHEMA``, so the module holds no copy of
    any rule.
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

    def const(self, stem: str, expression: str, kind: str = "Any") -> str:
        """A module-level name of type ``kind`` bound to ``expression`` (one name per
        expression)."""
        name = self.named.get(expression)
        if name is None:
            name = self.named[expression] = self.var(f"_{stem}")
            self.constants.append(f"{name}: Final[{kind}] = {expression}")
        return name

    def cls(self, cls: type[Any]) -> str:
        if cls.__module__ != "protocol.kinds":
            raise TypeError(f"{cls.__qualname__}: body classes must live in protocol.kinds")
        self.classes.add(cls.__name__)
        return cls.__name__

    def emit(self, indent: int, line: str) -> None:
        self.lines.append("    " * indent + line)

    def fail(self, indent: int, failure: str, error: str) -> None:
        """Emit ``if <failure>: raise <error>``."""
        self.emit(indent, f"if {failure}:")
        self.emit(indent + 1, f"raise {error}")

    def wrong_type(self, indent: int, src: str, pytype: str, where: _Where, name: str) -> None:
        error = f'wrong_type({where.text()}, {src}, "{name}")'
        self.fail(indent, f"type({src}) is not {pytype}", error)

    def value(self, spec: Spec, src: str, indent: int, where: _Where, path: str) -> str:
        """Emit the checks of ``spec`` (reached at run time by ``path``) on the variable
        ``src``; return the expression of the decoded value (a variable, or a struct's
        constructor call)."""
        if isinstance(spec, Choice):
            table = self.const("table", f"{path}.table", "dict[Any, Any]")
            out = self.var("c")
            self.wrong_type(indent, src, "int", where, spec.name)
            self.emit(indent, f"{out} = {table}.get({src})")
            detail = f": {{{src}}} is not a valid {spec.name}"
            self.fail(indent, f"{out} is None", f"FieldRange({where.text(detail)})")
            return out
        if isinstance(spec, UInt):
            self.wrong_type(indent, src, "int", where, spec.name)
            number = self.var("u")  # typed: compiled, compared as a machine integer
            self.emit(indent, f"{number}: int = {src}")
            detail = f": {{{number}}} is outside {spec.lo}..{spec.hi}"
            self.fail(
                indent,
                f"not {spec.lo} <= {number} <= {spec.hi}",
                f"FieldRange({where.text(detail)})",
            )
            return number
        if isinstance(spec, Bin):
            self.wrong_type(indent, src, "bytes", where, spec.name)
            detail = f": expected {spec.size} bytes, got {{len({src})}}"
            self.fail(indent, f"len({src}) != {spec.size}", f"FieldRange({where.text(detail)})")
            return src
        if isinstance(spec, ListOf):
            self.wrong_type(indent, src, "list", where, spec.name)
            detail = f": {{len({src})}} items, allowed {spec.lo}..{spec.hi}"
            self.fail(
                indent,
                f"not {spec.lo} <= len({src}) <= {spec.hi}",
                f"FieldRange({where.text(detail)})",
            )
            items = self.var("items")
            item = self.var("x")
            self.emit(indent, f"{items}: list[Any] = []")
            self.emit(indent, f"for {item} in {src}:")
            inner = where.item(f"len({items})")
            result = self.value(spec.item, item, indent + 1, inner, f"{path}.item")
            self.emit(indent + 1, f"{items}.append({result})")
            out = self.var("t")
            self.emit(indent, f"{out} = tuple({items})")
            return out
        if isinstance(spec, Struct):
            self.wrong_type(indent, src, "list", where, f"{spec.name} array")
            return self.struct(spec, src, "", indent, where, path)
        raise TypeError(f"no checker for spec {type(spec).__name__}")

    def struct(
        self,
        spec: Struct,
        src: str,
        base: str,
        indent: int,
        where: _Where,
        path: str,
        *,
        returned: bool = False,
    ) -> str:
        """Emit the checks of ``spec`` (reached at run time by ``path``; a body's own fields
        by ``<class>.SCHEMA``) on ``src[base:]`` (``base``: a variable, or empty for 0); return
        the expression that builds the value, or emit its ``return`` if ``returned``."""
        total = len(spec.specs)
        least = total - spec.optional
        specs = f"{path}.specs" if path else f"cast(Any, {spec.cls.__name__}.SCHEMA)"
        size = self.var("n")
        self.emit(indent, f"{size} = len({src}){f' - {base}' if base else ''}")
        if spec.optional:
            wrong, expected = f"not {least} <= {size} <= {total}", f"{least}..{total}"
        else:
            wrong, expected = f"{size} != {total}", str(total)
        detail = f": {{{size}}} fields, expected {expected}"
        self.fail(indent, wrong, f"FieldCount({where.text(detail)})")
        results: list[str] = []
        for index, (name, field) in enumerate(zip(spec.names, spec.specs, strict=True)):
            at = (f"{base} + {index}" if index else base) if base else str(index)
            var = self.var("f")
            inner = indent
            if index >= least:  # an optional field: None when absent
                self.emit(indent, f"{var}: Any = None")
                self.emit(indent, f"if {size} > {index}:")
                inner = indent + 1
            self.emit(inner, f"{var} = {src}[{at}]")
            result = self.value(field, var, inner, where.field(name), f"{specs}[{index}]")
            if index >= least and result != var:
                self.emit(inner, f"{var} = {result}")
                result = var
            results.append(result)
        built = f"{self.cls(spec.cls)}({', '.join(results)})"
        if spec.rule is None:
            if returned:
                self.emit(indent, f"return {built}")
                return ""
            return built
        out = self.var("r")
        self.emit(indent, f"{out} = {built}")
        rule = self.const("rule", f"{path}.rule")
        self.emit(indent, "try:")
        self.emit(indent + 1, f"{rule}({out})")
        self.emit(indent, "except Malformed as error:")
        self.emit(indent + 1, f"raise located(error, {where.text()}) from None")
        if returned:
            self.emit(indent, f"return {out}")
            return ""
        return out


def render_checkers(body_types: Mapping[int, type[Any]]) -> str:
    """The source of ``protocol/checkers.py``: for each kind, a function ``(values, base)``
    that checks the body fields ``values[base:]`` (the whole parsed body array and 4, on the
    receive path) and returns the body, or raises the Malformed subclass naming the first
    fault; and ``CHECKERS``, kind byte → that function."""
    emitter = _Emitter()
    emitter.classes.add("Body")
    functions: list[tuple[int, str]] = []
    for kind, cls in sorted(body_types.items()):
        name = f"check_{cls.__name__.lower()}"
        functions.append((kind, name))
        emitter.emit(0, "")
        emitter.emit(0, "")
        emitter.emit(0, f"def {name}(values: list[Any], base: int) -> {emitter.cls(cls)}:")
        where = _Where(f"{cls.KIND.name.lower()} body")
        emitter.struct(Struct(cls, cls.SCHEMA), "values", "base", 1, where, "", returned=True)
    classes = "".join(f"    {name},\n" for name in sorted(emitter.classes))
    table = "".join(f"\n    {kind}: {name}," for kind, name in functions)
    return (
        CHECKERS_HEADER
        + "\nfrom __future__ import annotations\n\n"
        + "from collections.abc import Callable\n"
        + "from typing import Any, Final, cast\n\n"
        + "from protocol.errors import FieldCount, FieldRange, Malformed\n"
        + f"from protocol.kinds import (\n{classes})\n"
        + "from protocol.schema import located, wrong_type\n\n"
        + '__all__ = ["CHECKERS"]\n\n'
        + "".join(f"{line}\n" for line in emitter.constants)
        + "".join(f"{line}\n" for line in emitter.lines)
        + "\n\nCHECKERS: Final[dict[int, Callable[[list[Any], int], Body]]] = {"
        + table
        + "\n}\n"
        + '"""Kind byte → its checker."""\n'
    )
