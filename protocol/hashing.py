"""SHA-256 of the short messages hashed on every packet: its full hash, and its sender's chain
hash over the previous one.

:func:`sha256` hashes the concatenation of its arguments (so callers need not build it).  It is
the C extension ``protocol._sha256`` (OpenSSL's EVP digest with one reused context: hashlib's
per-call setup costs more than the hashing at these sizes, docs/BUILD.md) when the install built
it, else hashlib; both give the same bytes (tests/test_hashing.py).  ``BITCRAPS_PURE=1`` selects
hashlib, as it selects every module's source (docs/BUILD.md).
"""

from __future__ import annotations

import hashlib
from typing import Final, Protocol

from protocol.extensions import optional

__all__ = ["NATIVE", "sha256", "sha256_hashlib"]


def sha256_hashlib(*parts: bytes) -> bytes:
    """SHA-256 of the concatenation of ``parts`` with hashlib (the fallback)."""
    h = hashlib.sha256()
    for part in parts:
        if not isinstance(part, bytes):
            raise TypeError(f"sha256() takes bytes, not {type(part).__name__}")
        h.update(part)
    return h.digest()


class _Sha256(Protocol):
    def __call__(self, *parts: bytes) -> bytes: ...


_FALLBACK: _Sha256 = sha256_hashlib
_CHOSEN, _IS_NATIVE = optional("protocol._sha256", "sha256", _FALLBACK)
NATIVE: Final = _IS_NATIVE
"""True when :func:`sha256` is the C extension."""
sha256: Final = _CHOSEN
"""SHA-256 of the concatenation of the ``bytes`` arguments (32 bytes)."""
