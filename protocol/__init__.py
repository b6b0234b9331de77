"""The BitCraps Mesh wire format and nothing else.

Bet codes, frames, packet kinds, canonical encoding and strict decoding, signing and verification,
fragmentation and typed errors: pure functions and immutable values, no sockets, no clocks.
"""

import native  # noqa: F401  (first: keeps stale compiled modules from loading, docs/BUILD.md)
