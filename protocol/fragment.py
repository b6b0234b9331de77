"""Sans-IO fragmentation of frames into BLE writes, and bounded reassembly (DESIGN.md 6 and 9).

A fragment is a 6-byte header (frame id u16, index u8, count u8, link u16; all big-endian) then
at least one data byte.  :func:`split` cuts a frame; :class:`Reassembler` puts frames back together
under hard limits against hostile senders.  No I/O, no clock reads: the caller gives ``now``.
"""

from __future__ import annotations

import struct
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Final

from protocol.constants import BLE_MIN_PAYLOAD, FRAGMENT_HEADER_LEN, MAX_FRAME
from protocol.errors import FragmentError

__all__ = [
    "DEFAULT_MAX_COMPLETED",
    "DEFAULT_MAX_PER_SOURCE",
    "DEFAULT_MAX_SOURCES",
    "DEFAULT_MAX_TOTAL_BYTES",
    "DEFAULT_TIMEOUT",
    "MAX_FRAGMENTS",
    "Fragment",
    "Reassembler",
    "ReassemblyStats",
    "split",
]

MAX_FRAGMENTS: Final = 255
"""Most fragments one frame may be cut into (the count is a u8 and never 0)."""
MAX_FRAME_ID: Final = 0xFFFF
MAX_LINK: Final = 0xFFFF

DEFAULT_MAX_PER_SOURCE: Final = 4
"""Concurrent reassemblies one source may have in flight; a fifth evicts that source's oldest."""
DEFAULT_MAX_SOURCES: Final = 64
"""Sources with a reassembly in flight; one more evicts the oldest reassembly globally."""
DEFAULT_MAX_TOTAL_BYTES: Final = 64 * 1024
"""Fragment data bytes held across all reassemblies; going over evicts the oldest globally."""
DEFAULT_TIMEOUT: Final = 5.0
"""Seconds from a reassembly's first fragment until it expires (and how long a completed
``(source, link, frame_id)`` is remembered to drop late duplicates)."""
DEFAULT_MAX_COMPLETED: Final = 1024
"""Recently completed keys remembered for duplicate suppression; the oldest is forgotten first."""

_HEADER: Final = struct.Struct(">HBBH")
assert _HEADER.size == FRAGMENT_HEADER_LEN


@dataclass(frozen=True, slots=True)
class Fragment:
    """One fragment as it travels: header fields plus its slice of the frame."""

    frame_id: int
    index: int
    count: int
    link: int
    data: bytes

    def __post_init__(self) -> None:
        if not 0 <= self.frame_id <= MAX_FRAME_ID:
            raise ValueError(f"frame_id {self.frame_id} is not a u16")
        if not 0 <= self.link <= MAX_LINK:
            raise ValueError(f"link {self.link} is not a u16")
        if not 1 <= self.count <= MAX_FRAGMENTS:
            raise ValueError(f"count {self.count} is not in 1..{MAX_FRAGMENTS}")
        if not 0 <= self.index < self.count:
            raise ValueError(f"index {self.index} is not in 0..{self.count - 1}")
        if not 1 <= len(self.data) <= MAX_FRAME:
            raise ValueError(f"data of {len(self.data)} bytes is not in 1..{MAX_FRAME}")

    def encode(self) -> bytes:
        """The wire bytes: header then data."""
        return _HEADER.pack(self.frame_id, self.index, self.count, self.link) + self.data

    @classmethod
    def decode(cls, raw: bytes) -> Fragment:
        """Parse one fragment; raise :class:`FragmentError` for anything malformed."""
        if len(raw) < FRAGMENT_HEADER_LEN:
            raise FragmentError(
                f"fragment of {len(raw)} bytes is shorter than the "
                f"{FRAGMENT_HEADER_LEN}-byte header"
            )
        frame_id, index, count, link = _HEADER.unpack_from(raw)
        if count == 0:
            raise FragmentError("fragment count is 0")
        if index >= count:
            raise FragmentError(f"fragment index {index} is not below its count {count}")
        size = len(raw) - FRAGMENT_HEADER_LEN
        if size == 0:
            raise FragmentError("fragment carries no data")
        if size > MAX_FRAME:
            raise FragmentError(f"fragment data of {size} bytes exceeds {MAX_FRAME}")
        return cls(frame_id, index, count, link, bytes(raw[FRAGMENT_HEADER_LEN:]))


def split(frame: bytes, payload_size: int, frame_id: int, link: int = 0) -> list[bytes]:
    """Cut ``frame`` into encoded fragments of at most ``payload_size`` bytes each, header included.

    Every fragment but the last is full.  Raises ``ValueError`` for misuse: ``payload_size``
    below ``BLE_MIN_PAYLOAD``, an empty frame or one over ``MAX_FRAME``, ``frame_id`` or ``link``
    not a u16.
    """
    if payload_size < BLE_MIN_PAYLOAD:
        raise ValueError(f"payload_size {payload_size} is below {BLE_MIN_PAYLOAD}")
    if not 1 <= len(frame) <= MAX_FRAME:
        raise ValueError(f"frame of {len(frame)} bytes is not in 1..{MAX_FRAME}")
    if not 0 <= frame_id <= MAX_FRAME_ID:
        raise ValueError(f"frame_id {frame_id} is not a u16")
    if not 0 <= link <= MAX_LINK:
        raise ValueError(f"link {link} is not a u16")
    chunk = payload_size - FRAGMENT_HEADER_LEN
    count = -(-len(frame) // chunk)
    if count > MAX_FRAGMENTS:  # unreachable with MAX_FRAME 1200 and payload >= 20; kept as a guard
        raise ValueError(f"frame needs {count} fragments, more than {MAX_FRAGMENTS}")
    return [
        _HEADER.pack(frame_id, i, count, link) + frame[i * chunk : (i + 1) * chunk]
        for i in range(count)
    ]


@dataclass(slots=True)
class ReassemblyStats:
    """Counters for metrics; they only grow."""

    completed: int = 0
    """Frames returned by :meth:`Reassembler.push`."""
    duplicates: int = 0
    """Fragments already held, or belonging to a recently completed frame; ignored."""
    evicted: int = 0
    """Reassemblies dropped to stay within the per-source, sources or bytes caps."""
    expired: int = 0
    """Reassemblies dropped because their first fragment is older than the timeout."""
    errors: int = 0
    """Fragments refused with :class:`FragmentError` (malformed, contradictory, oversize)."""


_Key = tuple[Hashable, int, int]
"""(source, link, frame_id)."""


@dataclass(slots=True)
class _Partial:
    count: int
    started: float
    parts: dict[int, bytes]
    size: int = 0


class Reassembler:
    """Reassembles fragments per ``(source, link, frame_id)`` within fixed memory.

    Time comes only from the ``now`` arguments, which should be non-decreasing (a monotonic clock);
    a smaller ``now`` than one seen before is treated as that earlier time.  Every operation is
    O(1) amortized: reassemblies are kept in arrival order, so the oldest is always at the front.
    """

    def __init__(
        self,
        *,
        max_per_source: int = DEFAULT_MAX_PER_SOURCE,
        max_sources: int = DEFAULT_MAX_SOURCES,
        max_total_bytes: int = DEFAULT_MAX_TOTAL_BYTES,
        timeout: float = DEFAULT_TIMEOUT,
        max_frame: int = MAX_FRAME,
        max_completed: int = DEFAULT_MAX_COMPLETED,
    ) -> None:
        if max_per_source < 1 or max_sources < 1 or max_completed < 0:
            raise ValueError("max_per_source and max_sources must be >= 1, max_completed >= 0")
        if max_frame < 1:
            raise ValueError(f"max_frame {max_frame} must be >= 1")
        if max_total_bytes < max_frame:
            raise ValueError(f"max_total_bytes {max_total_bytes} is below max_frame {max_frame}")
        if not timeout > 0:
            raise ValueError(f"timeout {timeout} must be > 0")
        self.max_per_source: Final = max_per_source
        self.max_sources: Final = max_sources
        self.max_total_bytes: Final = max_total_bytes
        self.timeout: Final = timeout
        self.max_frame: Final = max_frame
        self.max_completed: Final = max_completed
        self.stats: Final = ReassemblyStats()
        self._partials: OrderedDict[_Key, _Partial] = OrderedDict()  # oldest first
        self._by_source: dict[Hashable, OrderedDict[tuple[int, int], None]] = {}
        # key -> (remembered until, count), oldest first
        self._completed: OrderedDict[_Key, tuple[float, int]] = OrderedDict()
        self._held = 0
        self._clock = float("-inf")

    def __len__(self) -> int:
        """Reassemblies in flight."""
        return len(self._partials)

    @property
    def held_bytes(self) -> int:
        """Fragment data bytes held across all reassemblies (never above ``max_total_bytes``)."""
        return self._held

    @property
    def source_count(self) -> int:
        """Sources with at least one reassembly in flight (never above ``max_sources``)."""
        return len(self._by_source)

    def next_deadline(self) -> float | None:
        """When the oldest reassembly expires (call :meth:`expire` then); None if none is held."""
        for partial in self._partials.values():
            return partial.started + self.timeout
        return None

    def expire(self, now: float) -> int:
        """Drop reassemblies whose first fragment is ``timeout`` or more old; return how many."""
        now = self._tick(now)
        dropped = 0
        while self._partials:
            key, partial = next(iter(self._partials.items()))
            if partial.started + self.timeout > now:
                break
            self._remove(key, partial)
            dropped += 1
        self.stats.expired += dropped
        while self._completed:
            key, (until, _) = next(iter(self._completed.items()))
            if until > now:
                break
            del self._completed[key]
        return dropped

    def push(self, source: Hashable, raw: bytes, now: float) -> bytes | None:
        """Take one fragment from ``source``; return the whole frame when it completes, else None.

        Each completed frame is returned once: fragments of a frame completed less than ``timeout``
        ago are counted as duplicates.  Raises :class:`FragmentError` for a malformed fragment, one
        that contradicts what is held for its key (that reassembly is discarded first), or a
        reassembly that cannot fit in ``max_frame`` bytes (discarded too).
        """
        try:
            return self._push(source, raw, now)
        except FragmentError:
            self.stats.errors += 1
            raise

    # ------------------------------------------------------------------ internals

    def _push(self, source: Hashable, raw: bytes, now: float) -> bytes | None:
        self.expire(now)
        now = self._clock
        frag = Fragment.decode(raw)
        key: _Key = (source, frag.link, frag.frame_id)
        size = len(frag.data)

        done = self._completed.get(key)
        if done is not None:
            if done[1] == frag.count:
                self.stats.duplicates += 1
                return None
            del self._completed[key]  # a different count: the sender reused the id for a new frame

        partial = self._partials.get(key)
        if partial is not None:
            if partial.count != frag.count:
                self._remove(key, partial)
                raise FragmentError(
                    f"fragment count {frag.count} contradicts count {partial.count} held for "
                    f"frame {frag.frame_id}; reassembly discarded"
                )
            held = partial.parts.get(frag.index)
            if held is not None:
                if held == frag.data:
                    self.stats.duplicates += 1
                    return None
                self._remove(key, partial)
                raise FragmentError(
                    f"fragment {frag.index} of frame {frag.frame_id} contradicts the data held; "
                    "reassembly discarded"
                )
            missing_after = partial.count - len(partial.parts) - 1
            if partial.size + size + missing_after > self.max_frame:
                self._remove(key, partial)
                raise FragmentError(
                    f"frame {frag.frame_id} would exceed {self.max_frame} bytes "
                    f"({partial.size + size} held, {missing_after} fragments missing); "
                    "reassembly discarded"
                )
        else:
            if size + frag.count - 1 > self.max_frame:
                raise FragmentError(
                    f"frame {frag.frame_id} cannot fit in {self.max_frame} bytes "
                    f"({size} bytes in one of {frag.count} fragments)"
                )
            if frag.count == 1:
                self._complete(key, 1, now)
                return frag.data
            partial = self._open(key, frag.count, now)

        self._make_room(size, key)
        partial.parts[frag.index] = frag.data
        partial.size += size
        self._held += size
        if len(partial.parts) < partial.count:
            return None
        self._remove(key, partial)
        self._complete(key, partial.count, now)
        return b"".join(partial.parts[i] for i in range(partial.count))

    def _tick(self, now: float) -> float:
        self._clock = max(self._clock, now)
        return self._clock

    def _open(self, key: _Key, count: int, now: float) -> _Partial:
        """Start a reassembly for ``key``, evicting to respect the per-source and sources caps."""
        source, link, frame_id = key
        mine = self._by_source.get(source)
        if mine is not None and len(mine) >= self.max_per_source:
            link_old, frame_old = next(iter(mine))
            old_key: _Key = (source, link_old, frame_old)
            self._remove(old_key, self._partials[old_key])
            self.stats.evicted += 1
        while source not in self._by_source and len(self._by_source) >= self.max_sources:
            self._evict_oldest(None)
        partial = _Partial(count=count, started=now, parts={})
        self._partials[key] = partial
        self._by_source.setdefault(source, OrderedDict())[(link, frame_id)] = None
        return partial

    def _make_room(self, size: int, keep: _Key) -> None:
        # ``keep`` holds at most max_frame - size bytes and max_total_bytes >= max_frame, so the
        # other reassemblies always hold enough to free: this loop ends without touching ``keep``.
        while self._held + size > self.max_total_bytes:
            self._evict_oldest(keep)

    def _evict_oldest(self, keep: _Key | None) -> None:
        keys = iter(self._partials)
        key = next(keys)
        if key == keep:
            key = next(keys)
        self._remove(key, self._partials[key])
        self.stats.evicted += 1

    def _remove(self, key: _Key, partial: _Partial) -> None:
        del self._partials[key]
        self._held -= partial.size
        source, link, frame_id = key
        mine = self._by_source[source]
        del mine[(link, frame_id)]
        if not mine:
            del self._by_source[source]

    def _complete(self, key: _Key, count: int, now: float) -> None:
        self.stats.completed += 1
        if self.max_completed == 0:
            return
        while len(self._completed) >= self.max_completed:
            self._completed.popitem(last=False)
        self._completed[key] = (now + self.timeout, count)
