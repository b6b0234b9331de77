"""protocol.hashing: the SHA-256 the ingest path computes per packet equals hashlib's."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocol import hashing
from protocol.hashing import sha256, sha256_hashlib

PARTS = st.lists(st.binary(max_size=300), max_size=4)


@given(PARTS)
def test_sha256_of_the_parts_is_hashlib_of_their_concatenation(parts: list[bytes]) -> None:
    expected = hashlib.sha256(b"".join(parts)).digest()
    assert sha256(*parts) == expected
    assert sha256_hashlib(*parts) == expected


@pytest.mark.parametrize("size", [0, 55, 56, 63, 64, 65, 119, 120, 128, 1 << 16])
def test_sha256_at_block_boundaries(size: int) -> None:
    data = bytes(i % 251 for i in range(size))
    assert sha256(data) == hashlib.sha256(data).digest()
    assert sha256(data[:7], data[7:]) == hashlib.sha256(data).digest()


@pytest.mark.parametrize("function", [sha256, sha256_hashlib])
def test_sha256_refuses_what_is_not_bytes(function: hashing._Sha256) -> None:
    with pytest.raises(TypeError, match="bytes"):
        function(b"ok", "text")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="bytes"):
        function(bytearray(b"x"))  # type: ignore[arg-type]
