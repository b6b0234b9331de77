"""Strict msgpack for signed bodies: the one reader and the canonical writer.

:func:`parse_body` turns body bytes into plain values (``int``, ``bytes``, ``list``) and marks
every value no field may hold (:class:`Foreign`) and every value not in its shortest encoding
(:class:`NotShortest`), so the checks downstream judge the bytes exactly as sent.  It is compiled
with the hot path (docs/BUILD.md).  The writer is msgpack's packer, which always emits the
shortest encoding.  No I/O, no clocks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import msgpack

from protocol.errors import NotMsgpack, TrailingBytes, Truncated

try:  # a native 64-bit int when compiled (docs/BUILD.md); a plain int otherwise
    from mypy_extensions import i64
except ImportError:  # pragma: no cover - mypy_extensions comes with the build tools
    i64 = int  # type: ignore[misc]

__all__ = ["Foreign", "NotShortest", "Value", "pack", "parse_body"]


@dataclass(frozen=True, slots=True)
class Foreign:
    """A msgpack value of a type no field admits (nil, bool, float, str, map, ext)."""

    type_name: str


@dataclass(frozen=True, slots=True)
class NotShortest:
    """A value whose encoding is valid msgpack but not the shortest one."""

    value: Value


Value = int | bytes | list["Value"] | Foreign | NotShortest
"""What ``parse_body`` returns; the body checks consume it."""

_packer: Final = msgpack.Packer(use_bin_type=True, autoreset=True)


def pack(value: object) -> bytes:
    """Encode ``value`` canonically (shortest msgpack encoding, bin type for bytes)."""
    return _packer.pack(value)  # type: ignore[no-any-return]


def parse_body(body: bytes, keys: dict[bytes, bytes] | None = None) -> Value:
    """Parse one complete msgpack value spanning all of ``body``.

    ``keys``: known 32-byte keys, each mapped to one bytes object for it; a 32-byte string
    equal to one of them is read as that object (equal either way: the maps a node keys by
    sender then find their keys by identity, without comparing bytes).

    Raises :class:`~protocol.errors.NotMsgpack`, :class:`~protocol.errors.Truncated` or
    :class:`~protocol.errors.TrailingBytes`; never anything else.
    """
    if not body:
        raise Truncated("empty body: expected one msgpack value")
    reader = _Reader(body, keys)
    value = reader.value(0)
    if reader.pos != reader.size:
        raise TrailingBytes(
            f"{reader.size - reader.pos} trailing byte(s) after the body's msgpack value"
        )
    return value


# --------------------------------------------------------------------------- the reader

_KEY_LEN: Final = 32
"""The length of a public key (the strings :func:`parse_body` may read as a known key)."""

_MAX_DEPTH: Final = 64
"""Nesting deeper than any schema; deeper values are Foreign and skipped without recursion."""


class _Reader:
    """Reads ``data`` from ``pos`` on.  The shortest forms a body is made of (fixint, uint,
    bin8, fixarray) come first in :meth:`value`; everything else is in :meth:`other`."""

    def __init__(self, data: bytes, keys: dict[bytes, bytes] | None) -> None:
        self.data = data
        self.keys = keys
        self.pos: i64 = 0
        self.size: i64 = len(data)

    def advance(self, n: i64) -> i64:
        """Move past the next ``n`` bytes; return where they start."""
        start = self.pos
        end = start + n
        if end > self.size:
            self.short(start, end)
        self.pos = end
        return start

    def short(self, start: i64, end: i64) -> None:
        """Raise for a value that needs the bytes up to ``end`` from ``start``."""
        raise Truncated(
            f"msgpack value cut short: needs {end - self.size} more byte(s) at offset {start}"
        )

    def uint(self, width: i64) -> int:
        """The next ``width`` bytes as a big-endian unsigned integer."""
        at = self.advance(width)
        data = self.data
        if width == 1:
            return data[at]
        if width == 2:
            return (data[at] << 8) | data[at + 1]
        if width == 4:
            return (data[at] << 24) | (data[at + 1] << 16) | (data[at + 2] << 8) | data[at + 3]
        return int.from_bytes(data[at : at + width], "big")

    def take(self, n: int) -> bytes:
        at = self.advance(n)
        return self.data[at : at + n]

    def value(self, depth: i64) -> Value:
        """The next value.  The forms every body is made of are read inline (a body's parse
        is on every packet's path): the marker byte, fixint, fixarray, and bin 8's length."""
        data = self.data
        at = self.pos
        if at >= self.size:
            self.short(at, at + 1)
        b: i64 = data[at]
        at += 1
        self.pos = at
        if b <= 0x7F:  # positive fixint
            return b
        if 0x90 <= b <= 0x9F:  # fixarray
            return self.array(b & 0x0F, depth, shortest=True)
        if b == 0xC4:  # bin 8 (always the shortest bin)
            if at >= self.size:
                self.short(at, at + 1)
            start = at + 1
            end = start + data[at]
            if end > self.size:
                self.short(start, end)
            self.pos = end
            piece = data[start:end]
            keys = self.keys
            if keys is not None and end - start == _KEY_LEN:
                known = keys.get(piece)
                if known is not None:
                    return known
            return piece
        if b >= 0xE0:  # negative fixint
            return b - 0x100
        if 0xCC <= b <= 0xCF:  # uint 8..64
            number = self.uint(1 << (b - 0xCC))
            return number if number > _SHORTER_HOLDS[b - 0xCC] else NotShortest(number)
        return self.other(b, depth)

    def other(self, b: i64, depth: i64) -> Value:
        if 0x80 <= b <= 0x8F:  # fixmap
            self.skip_pairs(b & 0x0F)
            return Foreign("map")
        if 0xA0 <= b <= 0xBF:  # fixstr
            self.advance(b & 0x1F)
            return Foreign("str")
        if b == 0xC0:
            return Foreign("nil")
        if b == 0xC1:
            raise NotMsgpack(f"reserved byte 0xc1 at offset {self.pos - 1}")
        if b in (0xC2, 0xC3):
            return Foreign("bool")
        if b in (0xC5, 0xC6):  # bin 16, bin 32
            data = self.take(self.uint(1 << (b - 0xC4)))
            return data if len(data) > _SHORTER_HOLDS[b - 0xC4] else NotShortest(data)
        if 0xC7 <= b <= 0xC9:  # ext 8..32
            self.advance(1 + self.uint(1 << (b - 0xC7)))
            return Foreign("ext")
        if b in (0xCA, 0xCB):
            self.advance(4 if b == 0xCA else 8)
            return Foreign("float")
        if 0xD0 <= b <= 0xD3:  # int 8..64: shortest only for a negative beyond the smaller form
            width: i64 = 1 << (b - 0xD0)
            number = int.from_bytes(self.take(width), "big", signed=True)
            if number >= 0 or _sint_width(number) != width:
                return NotShortest(number)
            return number
        if 0xD4 <= b <= 0xD8:  # fixext
            self.advance(1 + (1 << (b - 0xD4)))
            return Foreign("ext")
        if 0xD9 <= b <= 0xDB:  # str 8..32
            self.advance(self.uint(1 << (b - 0xD9)))
            return Foreign("str")
        if b == 0xDC:  # array 16
            count = self.uint(2)
            return self.array(count, depth, shortest=count > 0x0F)
        if b == 0xDD:  # array 32
            count = self.uint(4)
            return self.array(count, depth, shortest=count > 0xFFFF)
        # 0xDE, 0xDF: map 16, map 32
        self.skip_pairs(self.uint(2 if b == 0xDE else 4))
        return Foreign("map")

    def array(self, count: int, depth: i64, *, shortest: bool) -> Value:
        if count > self.size - self.pos:
            raise Truncated(f"array of {count} values cannot fit in {self.size} bytes")
        if depth >= _MAX_DEPTH:
            for _ in range(count):
                self.skip()
            return Foreign("deep array")
        items: list[Value] = []
        inner = depth + 1
        for _ in range(count):
            items.append(self.value(inner))
        return items if shortest else NotShortest(items)

    def skip_pairs(self, count: int) -> None:
        if 2 * count > self.size - self.pos:
            raise Truncated(f"map of {count} pairs cannot fit in {self.size} bytes")
        for _ in range(2 * count):
            self.skip()

    def skip(self) -> None:
        """Skip one value iteratively (no recursion, so any nesting is safe)."""
        pending = 1
        while pending:
            pending -= 1
            b: i64 = self.data[self.advance(1)]
            if b <= 0x7F or b >= 0xE0 or b in (0xC0, 0xC2, 0xC3):
                continue
            if 0x80 <= b <= 0x8F:
                pending += self._items(2 * (b & 0x0F))
            elif 0x90 <= b <= 0x9F:
                pending += self._items(b & 0x0F)
            elif 0xA0 <= b <= 0xBF:
                self.advance(b & 0x1F)
            elif b == 0xC1:
                raise NotMsgpack(f"reserved byte 0xc1 at offset {self.pos - 1}")
            elif 0xC4 <= b <= 0xC6:
                self.advance(self.uint(1 << (b - 0xC4)))
            elif 0xC7 <= b <= 0xC9:
                self.advance(1 + self.uint(1 << (b - 0xC7)))
            elif b in (0xCA, 0xCB):
                self.advance(4 if b == 0xCA else 8)
            elif 0xCC <= b <= 0xCF:
                self.advance(1 << (b - 0xCC))
            elif 0xD0 <= b <= 0xD3:
                self.advance(1 << (b - 0xD0))
            elif 0xD4 <= b <= 0xD8:
                self.advance(1 + (1 << (b - 0xD4)))
            elif 0xD9 <= b <= 0xDB:
                self.advance(self.uint(1 << (b - 0xD9)))
            elif b in (0xDC, 0xDD):
                pending += self._items(self.uint(2 if b == 0xDC else 4))
            else:  # 0xDE, 0xDF
                pending += self._items(2 * self.uint(2 if b == 0xDE else 4))

    def _items(self, count: int) -> int:
        """``count``, the values a skipped array or map announces (a map's keys and values),
        once they can fit in the bytes left, one byte each at least: the same test, made at
        the header, as a read array or map makes."""
        if count > self.size - self.pos:
            raise Truncated(f"{count} values cannot fit in {self.size} bytes")
        return count


_SHORTER_HOLDS: Final[tuple[int, ...]] = (0x7F, 0xFF, 0xFFFF, 0xFFFF_FFFF)
"""For uint 8, 16, 32, 64 (and bin 16, 32 at 1, 2): the most the next shorter form holds."""


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
