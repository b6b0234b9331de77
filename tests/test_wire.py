"""Tests of protocol.wire: the strict msgpack reader that every signed body goes through.

Checks that parse_body agrees with msgpack on canonical bytes, marks every non-shortest encoding
NotShortest and every type no field takes Foreign (so it returns a value free of marks exactly
for canonical bytes), survives any nesting depth, and raises only NotMsgpack, Truncated or
TrailingBytes.
"""

from __future__ import annotations

import contextlib

import msgpack
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol.errors import NotMsgpack, TrailingBytes, Truncated
from protocol.wire import Foreign, NotShortest, Value, pack, parse_body

PARSE_ERRORS = (NotMsgpack, Truncated, TrailingBytes)

_LONG_BINS = st.builds(lambda n, b: bytes([b]) * n, st.integers(0, 300), st.integers(0, 255))
"""Cheap to draw, and long enough to need bin16."""

_WIRE_VALUES = st.recursive(
    st.one_of(st.integers(-(2**63), 2**64 - 1), st.binary(max_size=12), _LONG_BINS),
    lambda inner: st.lists(inner, max_size=18),
    max_leaves=20,
)
"""Nested lists of ints and bytes: everything a body may hold, across every msgpack width."""


def packb(value: object) -> bytes:
    out: bytes = msgpack.packb(value, use_bin_type=True)
    return out


def damaged(value: object, where: int, byte: int, op: str) -> bytes:
    """``value`` packed, then one byte overwritten ("flip"), the tail cut ("cut") or one byte
    inserted ("add") at ``where`` (modulo the length)."""
    data = bytearray(packb(value))
    at = where % (len(data) + 1)
    if op == "flip" and at < len(data):
        data[at] = byte
    elif op == "cut":
        del data[at:]
    else:
        data[at:at] = bytes([byte])
    return bytes(data)


def unpackb(data: bytes) -> object:
    return msgpack.unpackb(data, raw=False, strict_map_key=False)


# --------------------------------------------------------------------------- canonical input


@settings(max_examples=150, deadline=None)
@given(_WIRE_VALUES)
def test_parse_body_agrees_with_msgpack_on_canonical_input(value: object) -> None:
    data = packb(value)
    assert parse_body(data) == unpackb(data) == value


@settings(max_examples=150, deadline=None)
@given(_WIRE_VALUES)
def test_exact_reader_agrees_with_msgpack_on_canonical_input(value: object) -> None:
    # inside a non-shortest array16 of one item, the same value
    data = b"\xdc\x00\x01" + packb(value)
    result = parse_body(data)
    assert type(result) is NotShortest
    assert result.value == [unpackb(packb(value))] == [value]


@settings(max_examples=80, deadline=None)
@given(_WIRE_VALUES)
def test_pack_is_msgpack_packb(value: object) -> None:
    assert pack(value) == packb(value)


@pytest.mark.parametrize(
    ("data", "value"),
    [
        (b"\x00", 0),
        (b"\x7f", 127),
        (b"\xcc\x80", 128),
        (b"\xcd\x01\x00", 256),
        (b"\xce\x00\x01\x00\x00", 0x1_0000),
        (b"\xcf\x00\x00\x00\x01\x00\x00\x00\x00", 2**32),
        (b"\xcf" + b"\xff" * 8, 2**64 - 1),
        (b"\xff", -1),
        (b"\xe0", -32),
        (b"\xd0\xdf", -33),
        (b"\xd0\x80", -128),
        (b"\xd1\xff\x7f", -129),
        (b"\xd2\xff\xff\x7f\xff", -(2**15) - 1),
        (b"\xd3\xff\xff\xff\xff\x7f\xff\xff\xff", -(2**31) - 1),
        (b"\xc4\x00", b""),
        (b"\xc5\x01\x00" + bytes(256), bytes(256)),
        (b"\x90", []),
        (b"\xdc\x00\x10" + bytes(16), [0] * 16),
    ],
)
def test_shortest_encodings_parse_to_plain_values(data: bytes, value: Value) -> None:
    assert parse_body(data) == value
    # inside a non-shortest wrapper, the same value
    assert parse_body(b"\xdc\x00\x01" + data) == NotShortest([value])


# --------------------------------------------------------------------------- non-shortest


NOT_SHORTEST = [
    ("uint8 for 5", b"\xcc\x05", 5),
    ("uint8 for 127", b"\xcc\x7f", 127),
    ("uint16 for 5", b"\xcd\x00\x05", 5),
    ("uint16 for 200", b"\xcd\x00\xc8", 200),
    ("uint32 for 200", b"\xce\x00\x00\x00\xc8", 200),
    ("uint32 for 65535", b"\xce\x00\x00\xff\xff", 0xFFFF),
    ("uint64 for 5", b"\xcf" + (5).to_bytes(8, "big"), 5),
    ("uint64 for 2**32-1", b"\xcf" + (2**32 - 1).to_bytes(8, "big"), 2**32 - 1),
    ("int8 for a positive", b"\xd0\x05", 5),
    ("int8 for 0", b"\xd0\x00", 0),
    ("int8 for -1", b"\xd0\xff", -1),
    ("int8 for -32", b"\xd0\xe0", -32),
    ("int16 for a positive", b"\xd1\x00\x05", 5),
    ("int16 for -128", b"\xd1\xff\x80", -128),
    ("int32 for a positive", b"\xd2\x00\x00\x01\x00", 256),
    ("int32 for -32768", b"\xd2\xff\xff\x80\x00", -(2**15)),
    ("int64 for a positive", b"\xd3" + (5).to_bytes(8, "big"), 5),
    ("int64 for -2**31", b"\xd3" + (-(2**31)).to_bytes(8, "big", signed=True), -(2**31)),
    ("bin16 for 3 bytes", b"\xc5\x00\x03abc", b"abc"),
    ("bin16 for 255 bytes", b"\xc5\x00\xff" + bytes(255), bytes(255)),
    ("bin16 for 0 bytes", b"\xc5\x00\x00", b""),
    ("bin32 for 3 bytes", b"\xc6\x00\x00\x00\x03abc", b"abc"),
    ("bin32 for 65535 bytes", b"\xc6\x00\x00\xff\xff" + bytes(0xFFFF), bytes(0xFFFF)),
    ("array16 for 2 items", b"\xdc\x00\x02\x01\x02", [1, 2]),
    ("array16 for 15 items", b"\xdc\x00\x0f" + bytes(15), [0] * 15),
    ("array16 for 0 items", b"\xdc\x00\x00", []),
    ("array32 for 2 items", b"\xdd\x00\x00\x00\x02\x01\x02", [1, 2]),
    ("array32 for 16 items", b"\xdd\x00\x00\x00\x10" + bytes(16), [0] * 16),
]


@pytest.mark.parametrize(("label", "data", "value"), NOT_SHORTEST)
def test_non_shortest_encoding_is_flagged(label: str, data: bytes, value: Value) -> None:
    assert parse_body(data) == NotShortest(value), label
    assert unpackb(data) == value  # msgpack itself reads the same value


@pytest.mark.parametrize(("label", "data", "value"), NOT_SHORTEST)
def test_non_shortest_encoding_is_flagged_inside_a_list(
    label: str, data: bytes, value: Value
) -> None:
    assert parse_body(b"\x93\x01" + data + b"\x02") == [1, NotShortest(value), 2], label


def test_non_shortest_items_inside_a_non_shortest_array_are_flagged() -> None:
    assert parse_body(b"\xdc\x00\x02\xcc\x05\x91\xcd\x00\x01") == NotShortest(
        [NotShortest(5), [NotShortest(1)]]
    )


# --------------------------------------------------------------------------- foreign types


FOREIGN = [
    ("nil", b"\xc0", "nil"),
    ("false", b"\xc2", "bool"),
    ("true", b"\xc3", "bool"),
    ("float32", b"\xca\x3f\x80\x00\x00", "float"),
    ("float64", b"\xcb" + bytes(8), "float"),
    ("fixstr", b"\xa3abc", "str"),
    ("empty fixstr", b"\xa0", "str"),
    ("str8", b"\xd9\x03abc", "str"),
    ("str16", b"\xda\x00\x03abc", "str"),
    ("str32", b"\xdb\x00\x00\x00\x03abc", "str"),
    ("str with invalid utf-8", b"\xa2\xff\xfe", "str"),
    ("fixmap", b"\x81\x01\x02", "map"),
    ("empty fixmap", b"\x80", "map"),
    ("map with list key", b"\x81\x91\x01\x02", "map"),
    ("map16", b"\xde\x00\x01\x01\x02", "map"),
    ("map32", b"\xdf\x00\x00\x00\x01\x01\x02", "map"),
    ("fixext1", b"\xd4\x01\x00", "ext"),
    ("fixext2", b"\xd5\x01" + bytes(2), "ext"),
    ("fixext4", b"\xd6\x01" + bytes(4), "ext"),
    ("fixext8", b"\xd7\x01" + bytes(8), "ext"),
    ("fixext16", b"\xd8\x01" + bytes(16), "ext"),
    ("timestamp ext", b"\xd6\xff" + bytes(4), "ext"),
    ("ext8", b"\xc7\x03\x01abc", "ext"),
    ("ext16", b"\xc8\x00\x03\x01abc", "ext"),
    ("ext32", b"\xc9\x00\x00\x00\x03\x01abc", "ext"),
]


@pytest.mark.parametrize(("label", "data", "type_name"), FOREIGN)
def test_types_no_field_takes_are_foreign(label: str, data: bytes, type_name: str) -> None:
    assert parse_body(data) == Foreign(type_name), label
    assert parse_body(b"\x92\x07" + data) == [7, Foreign(type_name)], label


def test_foreign_values_inside_a_map_are_skipped_whole() -> None:
    assert parse_body(b"\x92\x81\xa1k\x92\xc0\xc3\x05") == [Foreign("map"), 5]


# --------------------------------------------------------------------------- nesting


def _depth(value: Value) -> tuple[int, Value]:
    """How many single-item lists (shortest or not) wrap the innermost value, and that value."""
    depth = 0
    while True:
        if type(value) is NotShortest and type(value.value) is list:
            value = value.value
        if type(value) is not list or len(value) != 1:
            return depth, value
        value = value[0]
        depth += 1


@pytest.mark.parametrize(
    ("label", "data"),
    [
        ("1000 nested fixarrays", b"\x91" * 999 + b"\x90"),
        ("1199 nested fixarrays", b"\x91" * 1198 + b"\x90"),
        ("399 nested array16", b"\xdc\x00\x01" * 399 + b"\x90"),
        ("599 nested fixmaps", b"\x81\x00" * 599 + b"\x80"),
        ("1199 nested fixarrays with a non-shortest leaf", b"\x91" * 1198 + b"\xcc\x05"),
        ("100,000 nested fixarrays", b"\x91" * 99_999 + b"\x90"),
    ],
)
def test_deep_nesting_parses_without_recursion_error(label: str, data: bytes) -> None:
    value = parse_body(data)
    depth, inner = _depth(value)
    assert depth <= len(data), label
    assert inner in ([], NotShortest(5), Foreign("deep array"), Foreign("map")), label


def test_nesting_beyond_any_schema_is_foreign_on_the_exact_reader() -> None:
    depth, inner = _depth(parse_body(b"\x91" * 99_999 + b"\x90"))
    assert inner == Foreign("deep array")
    assert depth < 100


@pytest.mark.parametrize(
    "data",
    [b"\x91" * 1000, b"\xdc\x00\x01" * 400, b"\x81\x00" * 599 + b"\x81", b"\x91" * 2000 + b"\xc1"],
)
def test_deeply_nested_bad_input_raises_only_parse_errors(data: bytes) -> None:
    with pytest.raises(PARSE_ERRORS):
        parse_body(data)


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("label", "data", "error"),
    [
        ("empty", b"", Truncated),
        ("reserved byte", b"\xc1", NotMsgpack),
        ("reserved byte in a list", b"\x92\x01\xc1", NotMsgpack),
        ("reserved byte in a map", b"\x81\x01\xc1", NotMsgpack),
        ("reserved byte in a deep list", b"\x91" * 100 + b"\xc1", NotMsgpack),
        ("two values", b"\x01\x02", TrailingBytes),
        ("list then a byte", b"\x90\x00", TrailingBytes),
        ("list one item short", b"\x92\x01", Truncated),
        ("uint16 cut short", b"\xcd\x01", Truncated),
        ("uint64 cut short", b"\xcf" + bytes(7), Truncated),
        ("bin8 cut short", b"\xc4\x05abc", Truncated),
        ("bin32 claiming 4 GiB", b"\xc6\xff\xff\xff\xff", Truncated),
        ("array32 claiming 4 G items", b"\xdd\xff\xff\xff\xff", Truncated),
        ("map32 claiming 4 G pairs", b"\xdf\xff\xff\xff\xff", Truncated),
        ("str cut short", b"\xa5ab", Truncated),
        ("ext cut short", b"\xd7\x01abc", Truncated),
        ("float cut short", b"\xcb\x00", Truncated),
        ("map value missing", b"\x81\x01", Truncated),
        # each array or map header's own count is tested, the same inside a map or not
        ("reserved byte in an array cut short", b"\x92\x93\xc1\x00\x00", NotMsgpack),
        ("the same in a map", b"\x81\x00\x92\x93\xc1\x00\x00", NotMsgpack),
        ("the same beyond depth 64", b"\x91" * 65 + b"\x92\x93\xc1\x00\x00", NotMsgpack),
        ("array count over the bytes left", b"\x81\x00\x93\xc1\x00", Truncated),
    ],
)
def test_bad_input_raises_its_parse_error(label: str, data: bytes, error: type[Exception]) -> None:
    with pytest.raises(error):
        parse_body(data)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_only_parse_errors_escape_for_random_bytes(data: bytes) -> None:
    with contextlib.suppress(*PARSE_ERRORS):
        parse_body(data)


@settings(max_examples=150, deadline=None)
@given(_WIRE_VALUES, st.integers(0), st.integers(0, 255), st.sampled_from(["flip", "cut", "add"]))
def test_only_parse_errors_escape_for_damaged_canonical_bytes(
    value: object, where: int, byte: int, op: str
) -> None:
    with contextlib.suppress(*PARSE_ERRORS):
        parse_body(damaged(value, where, byte, op))


# --------------------------------------------------------------------------- canonical form


def _nesting(value: object) -> int:
    if type(value) is list:
        return 1 + max((_nesting(item) for item in value), default=0)
    return 0


def _canonical(data: bytes) -> bool:
    """The definition of canonical body bytes: msgpack reads one value of int, bin and arrays
    (nested at most 64 deep) that packs back to exactly these bytes."""
    try:
        value = msgpack.unpackb(data, raw=False, strict_map_key=False)
    except Exception:
        return False
    stack = [value]
    while stack:
        item = stack.pop()
        if type(item) is list:
            stack.extend(item)
        elif type(item) is not int and type(item) is not bytes:
            return False
    return packb(value) == data and _nesting(value) <= 64


def _marked(value: Value) -> bool:
    """True when ``value`` holds a Foreign or NotShortest mark anywhere."""
    stack = [value]
    while stack:
        item = stack.pop()
        if type(item) is list:
            stack.extend(item)
        elif type(item) is not int and type(item) is not bytes:
            return True
    return False


def _reads_canonical(data: bytes) -> bool:
    """parse_body's verdict: the bytes parse to a value without marks."""
    try:
        value = parse_body(data)
    except PARSE_ERRORS:
        return False
    if _marked(value):
        return False
    assert value == unpackb(data)
    return True


@settings(max_examples=400, deadline=None)
@given(_WIRE_VALUES, st.integers(0), st.integers(0, 255), st.sampled_from(["flip", "cut", "add"]))
def test_the_reader_marks_exactly_what_is_not_canonical_in_damaged_bytes(
    value: object, where: int, byte: int, op: str
) -> None:
    data = damaged(value, where, byte, op)
    assert _reads_canonical(data) == _canonical(data)


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=64))
def test_the_reader_marks_exactly_what_is_not_canonical_in_random_bytes(data: bytes) -> None:
    assert _reads_canonical(data) == _canonical(data)


def test_the_deepest_allowed_nesting_is_canonical_and_one_more_is_foreign() -> None:
    data = b"\x91" * 64 + b"\x00"
    assert _reads_canonical(data)
    assert _nesting(parse_body(data)) == 64
    assert _depth(parse_body(b"\x91" + data))[1] == Foreign("deep array")


def test_a_known_key_is_read_as_the_one_object_kept_for_it() -> None:
    key, other = bytes(range(32)), bytes(range(1, 33))
    kept = {key: key}
    found = parse_body(pack([bytes(key), other, key[:8]]), kept)
    assert isinstance(found, list) and found == [key, other, key[:8]]
    assert found[0] is key  # the kept object, not a copy
    assert found[1] is not other and found[1] not in kept  # unknown: read as it is, not kept
    assert parse_body(pack([bytes(key)]))[0] is not key  # type: ignore[index]  # no keys given
