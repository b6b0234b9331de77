"""The BitCraps Mesh wire format and nothing else.

Bet codes, frames, packet kinds, canonical encoding and strict decoding, signing and verification,
fragmentation and typed errors: pure functions and frozen dataclasses, no sockets, no clocks.
"""

from protocol import native as _native

_native.guard()  # before any compiled module can load (see protocol/native.py)
