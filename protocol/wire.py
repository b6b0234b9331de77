"""Strict msgpack for signed bodies: one exact reader and the canonical writer.

``parse_body`` turns body bytes into plain values (``int``, ``bytes``, ``list``) and marks every
value the schema can never accept (:class:`Foreign`) and every value not in shortest encoding
(:class:`NotShortest`).  The envelope's fast path (:func:`parse_canonical`) proves canonical form
by reading the headers (:func:`is_plain_canonical`, compiled) and lets the C msgpack extension
build the values; ``parse_body`` proves it by re-encoding; the exact pure-Python reader runs only
for bytes that are not canonical.  The writer is ``msgpack.packb``, which always emits the
shortest encoding.  No I/O, no clocks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

import msgpack

from protocol.errors import NotMsgpack, TrailingBytes, Truncated

try:  # a native 64-bit int when compiled (docs/BUILD.md); a plain int otherwise
    from mypy_extensions import i64
except ImportError:  # pragma: no cover - mypy_extensions comes with the build tools
    i64 = int  # type: ignore[misc]

__all__ = [
    "Foreign",
    "NotShortest",
    "Value",
    "is_plain_canonical",
    "pack",
    "parse_body",
    "parse_canonical",
]


@dataclass(frozen=True, slots=True)
class Foreign:
    """A msgpack value of a type no field admits (nil, bool, float, str, map, ext)."""

    type_name: str


@dataclass(frozen=True, slots=True)
class NotShortest:
    """A value whose encoding is valid msgpack but not the shortest one."""

    value: Value


Value = int | bytes | list["Value"] | Foreign | NotShortest
"""What ``parse_body`` returns; schema checks consume it."""

_packer: Final = msgpack.Packer(use_bin_type=True, autoreset=True)


def pack(value: object) -> bytes:
    """Encode ``value`` canonically (shortest msgpack encoding, bin type for bytes)."""
    return _packer.pack(value)  # type: ignore[no-any-return]


def parse_body(body: bytes) -> Value:
    """Parse one complete msgpack value spanning all of ``body``.

    Raises :class:`~protocol.errors.NotMsgpack`, :class:`~protocol.errors.Truncated` or
    :class:`~protocol.errors.TrailingBytes`; never anything else.
    """
    try:
        obj = msgpack.unpackb(body, raw=False, strict_map_key=False, use_list=True)
    except Exception:
        obj = _NOT_FAST
    if obj is not _NOT_FAST and _plain(obj):
        try:
            same = pack(obj) == body
        except Exception:
            same = False
        if same:
            return obj  # type: ignore[no-any-return]
    return _Reader(body).read_all()


_NOT_FAST: Final = object()

_unpackb: Final = msgpack.unpackb


def parse_canonical(body: bytes) -> Any:
    """The fast path alone: the values of ``body`` if it is one canonical msgpack value made
    of int, bin and array only, else None (then ``parse_body`` gives the precise verdict).

    :func:`is_plain_canonical` proves the form byte by byte, so the values are exactly what
    ``parse_body`` returns for these bytes and the C unpacker only builds them.
    """
    if is_plain_canonical(body):
        try:
            return _unpackb(body)
        except Exception:  # not reachable for bytes that passed; kept as a guard
            return None
    return None


def is_plain_canonical(data: bytes) -> bool:
    """True when ``data`` is exactly one msgpack value, nested at most 64 deep, made only of
    integers, bin and arrays, each in the shortest encoding (the one :func:`pack` writes:
    fixint, then uint8..uint64 for non-negative and int8..int64 for negative values; bin8 below
    256 bytes, then bin16, bin32; fixarray below 16 items, then array16, array32).

    Equivalent to ``pack(msgpack.unpackb(data)) == data`` for data whose values are plain, and
    False for any other data (tested against that definition); several times faster, because
    it reads the headers and builds nothing.
    """
    size: i64 = len(data)
    pos: i64 = 0
    # items still to read in the innermost open array (the outermost "array" holds the one
    # value), and the counts of the arrays around it
    remaining: i64 = 1
    outer: list[i64] = []
    while True:
        if remaining == 0:
            if not outer:
                return pos == size
            remaining = outer.pop()
            continue
        remaining -= 1
        if pos >= size:
            return False
        b: i64 = data[pos]
        pos += 1
        if b <= 0x7F or b >= 0xE0:  # positive and negative fixint
            continue
        if 0x90 <= b <= 0x9F:  # fixarray
            if len(outer) >= _MAX_DEPTH:
                return False
            outer.append(remaining)
            remaining = b & 0x0F
            continue
        if b == 0xC4:  # bin 8
            if pos >= size:
                return False
            pos += 1 + data[pos]
            continue
        if b == 0xC5:  # bin 16
            if pos + 2 > size:
                return False
            n: i64 = (data[pos] << 8) | data[pos + 1]
            if n < 0x100:
                return False
            pos += 2 + n
            continue
        if b == 0xC6:  # bin 32
            if pos + 4 > size:
                return False
            n = (data[pos] << 24) | (data[pos + 1] << 16) | (data[pos + 2] << 8) | data[pos + 3]
            if n < 0x10000:
                return False
            pos += 4 + n
            continue
        if 0xCC <= b <= 0xD3:  # uint 8..64, int 8..64
            width: i64 = 1 << (b - 0xCC) if b <= 0xCF else 1 << (b - 0xD0)
            if pos + width > size:
                return False
            first: i64 = data[pos]
            if b == 0xCC:
                ok = first >= 0x80
            elif b == 0xCD:
                ok = first != 0
            elif b == 0xCE:
                ok = first != 0 or data[pos + 1] != 0
            elif b == 0xCF:
                ok = first != 0 or data[pos + 1] != 0 or data[pos + 2] != 0 or data[pos + 3] != 0
            elif b == 0xD0:
                ok = 0x80 <= first < 0xE0
            elif b == 0xD1:
                ok = first >= 0x80 and not (first == 0xFF and data[pos + 1] >= 0x80)
            elif b == 0xD2:
                ok = first >= 0x80 and not (
                    first == 0xFF and data[pos + 1] == 0xFF and data[pos + 2] >= 0x80
                )
            else:
                ok = first >= 0x80 and not (
                    first == 0xFF
                    and data[pos + 1] == 0xFF
                    and data[pos + 2] == 0xFF
                    and data[pos + 3] == 0xFF
                    and data[pos + 4] >= 0x80
                )
            if not ok:
                return False
            pos += width
            continue
        if 0xDC <= b <= 0xDD:  # array 16, array 32
            if len(outer) >= _MAX_DEPTH:
                return False
            if b == 0xDC:
                if pos + 2 > size:
                    return False
                n = (data[pos] << 8) | data[pos + 1]
                if n < 0x10:
                    return False
                pos += 2
            else:
                if pos + 4 > size:
                    return False
                n = (data[pos] << 24) | (data[pos + 1] << 16) | (data[pos + 2] << 8) | data[pos + 3]
                if n < 0x10000:
                    return False
                pos += 4
            outer.append(remaining)
            remaining = n
            continue
        return False  # nil, bool, float, str, map, ext, or the unused 0xc1


def _plain(obj: Any) -> bool:
    """True when ``obj`` holds only int, bytes and lists (what the fast path may return)."""
    stack = [obj]
    while stack:
        item = stack.pop()
        kind = type(item)
        if kind is list:
            stack.extend(item)
        elif kind is not int and kind is not bytes:
            return False
    return True


# --------------------------------------------------------------------------- the exact reader

_MAX_DEPTH: Final = 64
"""Nesting deeper than any schema; deeper values are Foreign and skipped without recursion."""


class _Reader:
    __slots__ = ("data", "pos")

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def read_all(self) -> Value:
        if not self.data:
            raise Truncated("empty body: expected one msgpack value")
        value = self._value(0)
        if self.pos != len(self.data):
            raise TrailingBytes(
                f"{len(self.data) - self.pos} trailing byte(s) after the body's msgpack value"
            )
        return value

    def _take(self, n: int) -> bytes:
        end = self.pos + n
        if end > len(self.data):
            raise Truncated(
                f"msgpack value cut short: needs {end - len(self.data)} more byte(s) "
                f"at offset {self.pos}"
            )
        chunk = self.data[self.pos : end]
        self.pos = end
        return chunk

    def _uint(self, n: int) -> int:
        return int.from_bytes(self._take(n), "big")

    def _sint(self, n: int) -> int:
        return int.from_bytes(self._take(n), "big", signed=True)

    def _value(self, depth: int) -> Value:
        b = self._take(1)[0]
        if b <= 0x7F:
            return b
        if b >= 0xE0:
            return b - 0x100
        if 0x80 <= b <= 0x8F:
            self._skip_pairs(b & 0x0F, depth)
            return Foreign("map")
        if 0x90 <= b <= 0x9F:
            return self._array(b & 0x0F, depth, shortest=True)
        if 0xA0 <= b <= 0xBF:
            self._take(b & 0x1F)
            return Foreign("str")
        if b == 0xC0:
            return Foreign("nil")
        if b == 0xC1:
            raise NotMsgpack(f"reserved byte 0xc1 at offset {self.pos - 1}")
        if b in (0xC2, 0xC3):
            return Foreign("bool")
        if b in (0xC4, 0xC5, 0xC6):
            size = self._uint(1 << (b - 0xC4))
            data = self._take(size)
            limit = (-1, 0xFF, 0xFFFF)[b - 0xC4]
            return data if size > limit else NotShortest(data)
        if b in (0xC7, 0xC8, 0xC9):
            size = self._uint(1 << (b - 0xC7))
            self._take(1 + size)
            return Foreign("ext")
        if b in (0xCA, 0xCB):
            self._take(4 if b == 0xCA else 8)
            return Foreign("float")
        if 0xCC <= b <= 0xCF:
            width = 1 << (b - 0xCC)
            value = self._uint(width)
            return value if _uint_width(value) == width else NotShortest(value)
        if 0xD0 <= b <= 0xD3:
            width = 1 << (b - 0xD0)
            value = self._sint(width)
            if value >= 0 or _sint_width(value) != width:
                return NotShortest(value)
            return value
        if 0xD4 <= b <= 0xD8:
            self._take(1 + (1 << (b - 0xD4)))
            return Foreign("ext")
        if b in (0xD9, 0xDA, 0xDB):
            self._take(self._uint(1 << (b - 0xD9)))
            return Foreign("str")
        if b in (0xDC, 0xDD):
            width = 2 if b == 0xDC else 4
            count = self._uint(width)
            shortest = count > (0x0F if width == 2 else 0xFFFF)
            return self._array(count, depth, shortest=shortest)
        # 0xDE, 0xDF: map16, map32
        self._skip_pairs(self._uint(2 if b == 0xDE else 4), depth)
        return Foreign("map")

    def _array(self, count: int, depth: int, *, shortest: bool) -> Value:
        if count > len(self.data) - self.pos:
            raise Truncated(f"array of {count} values cannot fit in {len(self.data)} bytes")
        if depth >= _MAX_DEPTH:
            for _ in range(count):
                self._skip()
            return Foreign("deep array")
        items = [self._value(depth + 1) for _ in range(count)]
        return items if shortest else NotShortest(items)

    def _skip_pairs(self, count: int, depth: int) -> None:
        if 2 * count > len(self.data) - self.pos:
            raise Truncated(f"map of {count} pairs cannot fit in {len(self.data)} bytes")
        for _ in range(2 * count):
            self._skip()

    def _skip(self) -> None:
        """Skip one value iteratively (no recursion, so any nesting is safe)."""
        pending = 1
        while pending:
            pending -= 1
            b = self._take(1)[0]
            if b <= 0x7F or b >= 0xE0 or b in (0xC0, 0xC2, 0xC3):
                continue
            if 0x80 <= b <= 0x8F:
                pending += self._items(2 * (b & 0x0F))
            elif 0x90 <= b <= 0x9F:
                pending += self._items(b & 0x0F)
            elif 0xA0 <= b <= 0xBF:
                self._take(b & 0x1F)
            elif b == 0xC1:
                raise NotMsgpack(f"reserved byte 0xc1 at offset {self.pos - 1}")
            elif b in (0xC4, 0xC5, 0xC6):
                self._take(self._uint(1 << (b - 0xC4)))
            elif b in (0xC7, 0xC8, 0xC9):
                self._take(1 + self._uint(1 << (b - 0xC7)))
            elif b in (0xCA, 0xCB):
                self._take(4 if b == 0xCA else 8)
            elif 0xCC <= b <= 0xCF:
                self._take(1 << (b - 0xCC))
            elif 0xD0 <= b <= 0xD3:
                self._take(1 << (b - 0xD0))
            elif 0xD4 <= b <= 0xD8:
                self._take(1 + (1 << (b - 0xD4)))
            elif b in (0xD9, 0xDA, 0xDB):
                self._take(self._uint(1 << (b - 0xD9)))
            elif b in (0xDC, 0xDD):
                pending += self._items(self._uint(2 if b == 0xDC else 4))
            else:  # 0xDE, 0xDF
                pending += self._items(2 * self._uint(2 if b == 0xDE else 4))

    def _items(self, count: int) -> int:
        """``count``, the values a skipped array or map announces (a map's keys and values),
        once they can fit in the bytes left, one byte each at least: the same test, made at
        the header, as :meth:`_array` and :meth:`_skip_pairs` make."""
        if count > len(self.data) - self.pos:
            raise Truncated(f"{count} values cannot fit in {len(self.data)} bytes")
        return count


def _uint_width(value: int) -> int:
    """Bytes after the marker in the shortest encoding of a non-negative int (0 = fixint)."""
    if value <= 0x7F:
        return 0
    if value <= 0xFF:
        return 1
    if value <= 0xFFFF:
        return 2
    if value <= 0xFFFFFFFF:
        return 4
    return 8


def _sint_width(value: int) -> int:
    """Bytes after the marker in the shortest encoding of a negative int (0 = fixint)."""
    if value >= -32:
        return 0
    if value >= -0x80:
        return 1
    if value >= -0x8000:
        return 2
    if value >= -0x80000000:
        return 4
    return 8
