"""Tests for protocol/fragment.py: wire layout, split, and reassembly under loss and attack."""

from __future__ import annotations

import contextlib
import random
import struct

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from protocol.constants import BLE_MIN_PAYLOAD, FRAGMENT_HEADER_LEN, MAX_FRAME
from protocol.errors import FragmentError, Rejected
from protocol.fragment import (
    DEFAULT_MAX_PER_SOURCE,
    DEFAULT_MAX_SOURCES,
    DEFAULT_MAX_TOTAL_BYTES,
    DEFAULT_TIMEOUT,
    Fragment,
    Reassembler,
    split,
)

PAYLOAD_SIZES = (20, 182, 244)


def raw(frame_id: int, index: int, count: int, data: bytes, link: int = 0) -> bytes:
    """Build fragment bytes by hand (independent of Fragment.encode)."""
    return struct.pack(">HBBH", frame_id, index, count, link) + data


# --------------------------------------------------------------------------- wire layout


def test_header_length_is_six_bytes() -> None:
    assert FRAGMENT_HEADER_LEN == 6
    assert len(Fragment(1, 0, 1, 0, b"x").encode()) == 6 + 1


def test_header_layout_is_frame_id_index_count_link_big_endian() -> None:
    encoded = Fragment(frame_id=0x0102, index=3, count=7, link=0, data=b"abc").encode()
    assert encoded[:6] == bytes.fromhex("010203070000")
    assert encoded[6:] == b"abc"


def test_link_field_is_u16_big_endian_in_bytes_4_and_5() -> None:
    encoded = Fragment(frame_id=0xFFEE, index=0, count=1, link=0xABCD, data=b"z").encode()
    assert encoded == bytes.fromhex("ffee0001abcd") + b"z"


def test_decode_inverts_encode() -> None:
    frag = Fragment(frame_id=513, index=254, count=255, link=77, data=b"\x00\x01")
    assert Fragment.decode(frag.encode()) == frag


@pytest.mark.parametrize("length", range(6))
def test_decode_refuses_input_shorter_than_header(length: int) -> None:
    with pytest.raises(FragmentError, match="shorter"):
        Fragment.decode(bytes(length))


def test_decode_refuses_count_zero() -> None:
    with pytest.raises(FragmentError, match="count is 0"):
        Fragment.decode(raw(1, 0, 0, b"x"))


@pytest.mark.parametrize(("index", "count"), [(1, 1), (7, 7), (255, 3)])
def test_decode_refuses_index_not_below_count(index: int, count: int) -> None:
    with pytest.raises(FragmentError, match="index"):
        Fragment.decode(raw(1, index, count, b"x"))


def test_decode_refuses_empty_data() -> None:
    with pytest.raises(FragmentError, match="no data"):
        Fragment.decode(raw(1, 0, 1, b""))


def test_decode_refuses_data_over_max_frame() -> None:
    with pytest.raises(FragmentError, match="exceeds"):
        Fragment.decode(raw(1, 0, 1, bytes(MAX_FRAME + 1)))
    assert Fragment.decode(raw(1, 0, 1, bytes(MAX_FRAME))).data == bytes(MAX_FRAME)


def test_fragment_error_is_a_rejection() -> None:
    assert issubclass(FragmentError, Rejected)


def test_fragment_constructor_refuses_out_of_range_fields() -> None:
    for args in [
        (-1, 0, 1, 0),
        (0x10000, 0, 1, 0),
        (0, 0, 0, 0),
        (0, 1, 1, 0),
        (0, 0, 256, 0),
        (0, 0, 1, -1),
        (0, 0, 1, 0x10000),
    ]:
        with pytest.raises(ValueError):
            Fragment(*args, data=b"x")
    with pytest.raises(ValueError):
        Fragment(0, 0, 1, 0, b"")


# --------------------------------------------------------------------------- split


@pytest.mark.parametrize("payload", PAYLOAD_SIZES)
def test_split_fragments_fit_payload_and_all_but_last_are_full(payload: int) -> None:
    frame = bytes(range(256)) * 4 + bytes(176)
    assert len(frame) == MAX_FRAME
    pieces = split(frame, payload, frame_id=9, link=3)
    for piece in pieces[:-1]:
        assert len(piece) == payload
    assert 6 < len(pieces[-1]) <= payload
    frags = [Fragment.decode(p) for p in pieces]
    assert [f.index for f in frags] == list(range(len(pieces)))
    assert {(f.frame_id, f.count, f.link) for f in frags} == {(9, len(pieces), 3)}
    assert b"".join(f.data for f in frags) == frame


def test_split_max_frame_at_min_payload_gives_86_fragments() -> None:
    assert len(split(bytes(MAX_FRAME), BLE_MIN_PAYLOAD, frame_id=0)) == 86


def test_split_small_frame_is_one_fragment_with_link_zero_by_default() -> None:
    assert split(b"hi", 244, frame_id=0x0102) == [bytes.fromhex("010200010000") + b"hi"]


def test_split_refuses_misuse_with_value_error() -> None:
    with pytest.raises(ValueError, match="payload_size"):
        split(b"x", BLE_MIN_PAYLOAD - 1, frame_id=0)
    with pytest.raises(ValueError, match="frame"):
        split(b"", 20, frame_id=0)
    with pytest.raises(ValueError, match="frame"):
        split(bytes(MAX_FRAME + 1), 20, frame_id=0)
    with pytest.raises(ValueError, match="frame_id"):
        split(b"x", 20, frame_id=-1)
    with pytest.raises(ValueError, match="frame_id"):
        split(b"x", 20, frame_id=0x10000)
    with pytest.raises(ValueError, match="link"):
        split(b"x", 20, frame_id=0, link=0x10000)


# --------------------------------------------------------------------------- round trip


def deliver_lossy(
    reasm: Reassembler, source: object, pieces: list[bytes], rng: random.Random, now: float
) -> list[bytes]:
    """Send ``pieces`` over a link that loses, duplicates and reorders; resend lost ones."""
    results: list[bytes] = []
    outstanding = set(range(len(pieces)))
    while outstanding:
        wire: list[int] = []
        for i in sorted(outstanding):
            if rng.random() < 0.3:  # lost this round; the sender will resend it
                continue
            outstanding.discard(i)
            wire.append(i)
            while rng.random() < 0.25:  # duplicated (possibly several times)
                wire.append(i)
        if rng.random() < 0.3:  # stale duplicates of fragments delivered in earlier rounds
            delivered = [i for i in range(len(pieces)) if i not in outstanding]
            if delivered:
                wire.append(rng.choice(delivered))
        rng.shuffle(wire)
        for i in wire:
            got = reasm.push(source, pieces[i], now)
            if got is not None:
                results.append(got)
        now += 0.001
    return results


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    frame=st.binary(min_size=1, max_size=MAX_FRAME),
    payload=st.sampled_from(PAYLOAD_SIZES),
    frame_id=st.integers(0, 0xFFFF),
    seed=st.integers(0, 2**32 - 1),
)
def test_round_trip_under_loss_duplication_and_reordering_returns_frame_once(
    frame: bytes, payload: int, frame_id: int, seed: int
) -> None:
    rng = random.Random(seed)
    reasm = Reassembler()
    pieces = split(frame, payload, frame_id)
    results = deliver_lossy(reasm, "peer", pieces, rng, now=100.0)
    # late duplicates within the timeout must not produce the frame again
    for piece in rng.sample(pieces, k=min(3, len(pieces))):
        assert reasm.push("peer", piece, 101.0) is None
    assert results == [frame]
    assert reasm.stats.completed == 1
    assert len(reasm) == 0
    assert reasm.held_bytes == 0


@pytest.mark.parametrize("payload", PAYLOAD_SIZES)
def test_in_order_delivery_completes_on_last_fragment(payload: int) -> None:
    frame = bytes(range(200)) * 5
    pieces = split(frame, payload, frame_id=1)
    reasm = Reassembler()
    for piece in pieces[:-1]:
        assert reasm.push("a", piece, 0.0) is None
    assert reasm.push("a", pieces[-1], 0.0) == frame


def test_late_duplicate_of_completed_frame_is_counted_not_returned() -> None:
    reasm = Reassembler()
    pieces = split(b"x" * 50, 20, frame_id=5)
    results = [reasm.push("a", p, 0.0) for p in pieces]
    assert results[-1] == b"x" * 50
    assert reasm.push("a", pieces[0], 1.0) is None
    assert reasm.push("a", pieces[-1], 4.9) is None
    assert reasm.stats.duplicates == 2
    assert len(reasm) == 0  # duplicates of a completed frame are not held
    assert reasm.stats.completed == 1


def test_single_fragment_frame_duplicate_is_suppressed() -> None:
    reasm = Reassembler()
    (piece,) = split(b"solo", 244, frame_id=8)
    assert reasm.push("a", piece, 0.0) == b"solo"
    assert reasm.push("a", piece, 0.5) is None
    assert reasm.stats.duplicates == 1


def test_completed_key_is_forgotten_after_timeout() -> None:
    reasm = Reassembler(timeout=5.0)
    (piece,) = split(b"again", 244, frame_id=8)
    assert reasm.push("a", piece, 0.0) == b"again"
    assert reasm.push("a", piece, 4.99) is None
    assert reasm.push("a", piece, 5.0) == b"again"


def test_completed_memory_is_bounded_oldest_forgotten_first() -> None:
    reasm = Reassembler(max_completed=2)
    frames = [split(bytes([i]) * 3, 244, frame_id=i)[0] for i in range(3)]
    for piece in frames:
        assert reasm.push("a", piece, 0.0) is not None
    assert reasm.push("a", frames[2], 0.0) is None
    assert reasm.push("a", frames[1], 0.0) is None
    assert reasm.push("a", frames[0], 0.0) == bytes([0]) * 3  # forgotten: bounded memory


def test_reused_frame_id_with_a_different_count_is_a_new_frame() -> None:
    reasm = Reassembler()
    first = split(b"a" * 30, 20, frame_id=1)
    second = split(b"b" * 60, 20, frame_id=1)
    assert len(first) != len(second)
    assert [reasm.push("a", p, 0.0) for p in first][-1] == b"a" * 30
    assert [reasm.push("a", p, 0.1) for p in second][-1] == b"b" * 60


# --------------------------------------------------------------------------- independence


def test_interleaved_frames_from_several_sources_and_ids_reassemble_independently() -> None:
    rng = random.Random(1234)
    expected: dict[tuple[str, int, int], bytes] = {}
    wire: list[tuple[str, bytes]] = []
    for source in ("alice", "bob", "carol"):
        for frame_id, link in ((1, 0), (2, 0), (1, 9), (0xFFFF, 0)):  # same ids in every source
            frame = rng.randbytes(rng.randint(1, MAX_FRAME))
            expected[(source, link, frame_id)] = frame
            payload = rng.choice(PAYLOAD_SIZES)
            wire.extend((source, p) for p in split(frame, payload, frame_id, link))
    rng.shuffle(wire)
    reasm = Reassembler()
    got: list[tuple[str, int, int, bytes]] = []
    for source, piece in wire:
        frag = Fragment.decode(piece)
        out = reasm.push(source, piece, 0.0)
        if out is not None:
            got.append((source, frag.link, frag.frame_id, out))
    assert len(got) == len(expected)
    assert {(s, link, fid): f for s, link, fid, f in got} == expected
    assert reasm.stats.evicted == 0
    assert len(reasm) == 0
    assert reasm.held_bytes == 0


def test_link_field_is_part_of_the_reassembly_key() -> None:
    reasm = Reassembler()
    a = split(b"A" * 20, 20, frame_id=3, link=1)
    b = split(b"B" * 20, 20, frame_id=3, link=2)
    assert reasm.push("s", a[0], 0.0) is None
    assert reasm.push("s", b[1], 0.0) is None
    assert reasm.push("s", b[0], 0.0) == b"B" * 20
    assert reasm.push("s", a[1], 0.0) == b"A" * 20


# --------------------------------------------------------------------------- hostile senders


def test_concurrent_frame_ids_from_one_source_are_capped_oldest_evicted() -> None:
    reasm = Reassembler()
    for frame_id in range(10):
        assert reasm.push("evil", raw(frame_id, 0, 2, b"x" * 10), float(frame_id) / 100) is None
        assert len(reasm) <= DEFAULT_MAX_PER_SOURCE
    assert len(reasm) == DEFAULT_MAX_PER_SOURCE
    assert reasm.stats.evicted == 10 - DEFAULT_MAX_PER_SOURCE
    # frame 0 was evicted: its second half starts a fresh reassembly instead of completing
    assert reasm.push("evil", raw(0, 1, 2, b"y"), 0.2) is None
    # the newest frames survive and complete
    assert reasm.push("evil", raw(9, 1, 2, b"y"), 0.2) == b"x" * 10 + b"y"


def test_one_source_cannot_evict_another_sources_reassembly_by_frame_ids() -> None:
    reasm = Reassembler()
    assert reasm.push("good", raw(1, 0, 2, b"g"), 0.0) is None
    for frame_id in range(100):
        reasm.push("evil", raw(frame_id, 0, 2, b"e"), 0.0)
    assert reasm.push("good", raw(1, 1, 2, b"h"), 0.0) == b"gh"


def test_sources_cap_evicts_oldest_reassembly_globally() -> None:
    reasm = Reassembler(max_sources=3)
    for n in range(5):
        reasm.push(f"s{n}", raw(1, 0, 2, b"x"), float(n))
        assert reasm.source_count <= 3
    assert reasm.stats.evicted == 2
    assert reasm.push("s0", raw(1, 1, 2, b"y"), 5.0) is None  # s0 was evicted first
    assert reasm.push("s4", raw(1, 1, 2, b"y"), 5.0) == b"xy"


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_total_bytes_stay_under_the_default_cap_after_every_push(seed: int) -> None:
    rng = random.Random(seed)
    reasm = Reassembler()
    for step in range(600):  # 64 sources x 4 frames x ~1 KiB would be 4x the cap
        source = rng.randrange(DEFAULT_MAX_SOURCES + 8)
        frame_id = rng.randrange(6)
        data = rng.randbytes(rng.randint(200, 1190))
        with contextlib.suppress(FragmentError):  # over-long reassemblies are refused too
            reasm.push(source, raw(frame_id, rng.randrange(1, 10), 10, data), step * 1e-3)
        assert reasm.held_bytes <= DEFAULT_MAX_TOTAL_BYTES
        assert len(reasm) <= DEFAULT_MAX_SOURCES * DEFAULT_MAX_PER_SOURCE
        assert reasm.source_count <= DEFAULT_MAX_SOURCES
    assert reasm.stats.evicted > 0


def test_bytes_cap_evicts_oldest_globally_but_never_the_growing_reassembly() -> None:
    reasm = Reassembler(max_total_bytes=MAX_FRAME)
    assert reasm.push("old", raw(1, 0, 3, b"o" * 500), 0.0) is None
    assert reasm.push("mine", raw(2, 0, 3, b"m" * 500), 1.0) is None
    assert reasm.held_bytes == 1000
    # "mine" grows past the cap: "old" (the oldest) is evicted, "mine" is kept
    assert reasm.push("mine", raw(2, 1, 3, b"m" * 500), 2.0) is None
    assert reasm.held_bytes == 1000
    assert reasm.stats.evicted == 1
    assert reasm.push("mine", raw(2, 2, 3, b"m" * 200), 3.0) == b"m" * 1200
    assert reasm.held_bytes == 0


def test_reassembly_exceeding_max_frame_is_refused_and_discarded() -> None:
    reasm = Reassembler()
    chunk = b"z" * 238
    for index in range(5):  # 5 x 238 = 1190 bytes held, fragments 5..9 still missing
        assert reasm.push("evil", raw(4, index, 10, chunk), 0.0) is None
    with pytest.raises(FragmentError, match="exceed"):
        reasm.push("evil", raw(4, 5, 10, chunk), 0.0)
    assert len(reasm) == 0
    assert reasm.held_bytes == 0
    assert reasm.stats.errors == 1


def test_reassembly_that_cannot_fit_even_with_one_byte_per_missing_fragment_is_refused() -> None:
    reasm = Reassembler()
    with pytest.raises(FragmentError, match="cannot fit"):
        reasm.push("evil", raw(4, 0, 255, b"z" * 1000), 0.0)  # 1000 + 254 > 1200
    assert len(reasm) == 0
    assert reasm.push("evil", raw(4, 0, 255, b"z" * 946), 0.0) is None  # 946 + 254 == 1200
    with pytest.raises(FragmentError, match="exceed"):
        reasm.push("evil", raw(4, 1, 255, b"zz"), 0.0)
    assert len(reasm) == 0


def test_max_frame_limit_is_configurable() -> None:
    reasm = Reassembler(max_frame=100)
    with pytest.raises(FragmentError):
        reasm.push("a", raw(1, 0, 1, bytes(101)), 0.0)
    assert reasm.push("a", raw(1, 0, 1, bytes(100)), 0.0) == bytes(100)


def test_contradictory_count_raises_and_discards_reassembly() -> None:
    reasm = Reassembler()
    assert reasm.push("a", raw(7, 0, 3, b"aa"), 0.0) is None
    assert reasm.push("a", raw(7, 1, 3, b"bb"), 0.0) is None
    with pytest.raises(FragmentError, match="count"):
        reasm.push("a", raw(7, 2, 4, b"cc"), 0.0)
    assert len(reasm) == 0
    assert reasm.held_bytes == 0
    # the earlier fragments are gone: the original last fragment no longer completes anything
    assert reasm.push("a", raw(7, 2, 3, b"cc"), 0.0) is None


def test_contradictory_data_at_same_index_raises_and_discards_reassembly() -> None:
    reasm = Reassembler()
    assert reasm.push("a", raw(7, 0, 2, b"aa"), 0.0) is None
    with pytest.raises(FragmentError, match="contradicts"):
        reasm.push("a", raw(7, 0, 2, b"XX"), 0.0)
    assert len(reasm) == 0
    assert reasm.push("a", raw(7, 1, 2, b"bb"), 0.0) is None
    assert reasm.stats.errors == 1


def test_identical_duplicate_fragment_is_counted_and_ignored() -> None:
    reasm = Reassembler()
    assert reasm.push("a", raw(7, 0, 2, b"aa"), 0.0) is None
    assert reasm.push("a", raw(7, 0, 2, b"aa"), 0.0) is None
    assert reasm.stats.duplicates == 1
    assert reasm.held_bytes == 2
    assert reasm.push("a", raw(7, 1, 2, b"bb"), 0.0) == b"aabb"


def test_incomplete_reassembly_expires_after_timeout() -> None:
    reasm = Reassembler(timeout=5.0)
    assert reasm.next_deadline() is None
    assert reasm.push("a", raw(1, 0, 2, b"aa"), 10.0) is None
    assert reasm.push("a", raw(1, 0, 2, b"aa"), 12.0) is None  # a duplicate does not extend it
    assert reasm.next_deadline() == 15.0
    assert reasm.expire(14.99) == 0
    assert len(reasm) == 1
    assert reasm.expire(15.0) == 1
    assert len(reasm) == 0
    assert reasm.held_bytes == 0
    assert reasm.stats.expired == 1
    assert reasm.next_deadline() is None
    assert reasm.push("a", raw(1, 1, 2, b"bb"), 15.1) is None  # too late to complete


def test_age_is_measured_from_the_first_fragment() -> None:
    reasm = Reassembler(timeout=DEFAULT_TIMEOUT)
    assert reasm.push("a", raw(1, 0, 3, b"a"), 0.0) is None
    assert reasm.push("a", raw(1, 1, 3, b"b"), 4.0) is None
    assert reasm.push("a", raw(2, 0, 2, b"c"), 4.0) is None
    assert reasm.next_deadline() == DEFAULT_TIMEOUT
    assert reasm.expire(DEFAULT_TIMEOUT) == 1
    assert reasm.next_deadline() == 4.0 + DEFAULT_TIMEOUT


def test_push_expires_stale_reassemblies_itself() -> None:
    reasm = Reassembler(timeout=5.0)
    assert reasm.push("a", raw(1, 0, 2, b"a"), 0.0) is None
    assert reasm.push("a", raw(1, 1, 2, b"b"), 6.0) is None
    assert reasm.stats.expired == 1
    assert reasm.stats.completed == 0


@pytest.mark.parametrize(
    "bad",
    [b"", b"\x00" * 5, raw(1, 0, 0, b"x"), raw(1, 2, 2, b"x"), raw(1, 0, 1, b"")],
    ids=["empty", "short", "count-0", "index-ge-count", "empty-data"],
)
def test_push_refuses_malformed_headers_with_fragment_error(bad: bytes) -> None:
    reasm = Reassembler()
    with pytest.raises(FragmentError):
        reasm.push("a", bad, 0.0)
    assert reasm.stats.errors == 1
    assert len(reasm) == 0


def test_reassembler_refuses_nonsense_limits() -> None:
    for kwargs in [
        {"max_per_source": 0},
        {"max_sources": 0},
        {"max_total_bytes": MAX_FRAME - 1},
        {"timeout": 0.0},
        {"max_frame": 0},
    ]:
        with pytest.raises(ValueError):
            Reassembler(**kwargs)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- fuzz


fragmentish = st.one_of(
    st.binary(max_size=40),
    st.builds(
        raw,
        frame_id=st.integers(0, 3),
        index=st.integers(0, 5),
        count=st.integers(0, 5),
        data=st.binary(max_size=400),
        link=st.integers(0, 1),
    ),
)


@settings(max_examples=150, deadline=None)
@given(
    pushes=st.lists(
        st.tuples(st.integers(0, 3), fragmentish, st.floats(0, 2, allow_nan=False)), max_size=60
    )
)
def test_random_bytes_to_push_yield_none_bytes_or_fragment_error_only(
    pushes: list[tuple[int, bytes, float]],
) -> None:
    reasm = Reassembler(max_per_source=2, max_sources=3, max_total_bytes=MAX_FRAME, timeout=1.0)
    now = 0.0
    for source, data, step in pushes:
        now += step
        try:
            out = reasm.push(source, data, now)
        except FragmentError:
            pass
        else:
            assert out is None or (isinstance(out, bytes) and 1 <= len(out) <= MAX_FRAME)
        assert reasm.held_bytes <= MAX_FRAME
        assert len(reasm) <= 2 * 3
        assert reasm.source_count <= 3
        deadline = reasm.next_deadline()
        if deadline is not None:
            assert deadline > now
    reasm.expire(now + 1.0)
    assert len(reasm) == 0
    assert reasm.held_bytes == 0
