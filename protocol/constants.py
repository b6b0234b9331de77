"""Protocol constants: the numbers every replica must agree on, defined once.

Values follow DESIGN.md sections 3, 6 and 9 and are documented in docs/PROTOCOL.md.  Changing any
of them changes the protocol (a new network); tests pin each one to its written value.
"""

from __future__ import annotations

from typing import Final

# --- frames (DESIGN.md section 3 and 9) ------------------------------------------------------
VERSION: Final = 1
"""The frame version byte; also the datagram marker of a ledger frame."""
LEDGER_MARKER: Final = 0x01
"""First byte of a datagram that carries a ledger frame (equals VERSION)."""
LINK_MARKER_MIN: Final = 0x80
"""A datagram whose first byte is >= this carries a link-level message."""
LEDGER_TTL: Final = 0
"""A ledger frame's TTL is sent as 0 and ignored on receipt (ledger packets have no hop limit)."""
MAX_FRAME: Final = 1200
"""Largest frame or datagram in bytes; anything larger is Rejected(oversize)."""
PREFIX_LEN: Final = 4
"""Bytes of ``network_id`` carried in every frame."""
HEADER_LEN: Final = 1 + 1 + PREFIX_LEN
"""version u8, ttl u8, network prefix."""
SIGNATURE_LEN: Final = 64
PUBLIC_KEY_LEN: Final = 32
HASH_LEN: Final = 8
"""Length of the wire reference h(p) (and of ``prev`` and the game id G)."""
FULL_HASH_LEN: Final = 32
SIGN_DOMAIN: Final = b"BCM/v1"
"""Prefix of every signed message: SIGN_DOMAIN || network_id || body."""
GENESIS_DOMAIN: Final = b"BCM/genesis/v1"
MAX_NONCE: Final = 2**32 - 1
MAX_U64: Final = 2**64 - 1
ZERO_PREV: Final = bytes(HASH_LEN)
TREASURY_KEY: Final = b"\xff" * PUBLIC_KEY_LEN
"""The treasury's account key; never a sender."""
SINK_KEY: Final = b"\xfe" * PUBLIC_KEY_LEN
"""The sink's account key: forfeited bonds and void fees go there, and no key spends them;
never a sender, never granted (TABLES.md §7)."""

# --- BLE (DESIGN.md section 6) ---------------------------------------------------------------
BLE_SERVICE_UUID: Final = "12345678-1234-5678-1234-567812345678"
BLE_MIN_PAYLOAD: Final = 20
"""ATT payload when nothing larger is negotiated (MTU 23 minus 3)."""
FRAGMENT_HEADER_LEN: Final = 6
"""Fragment header: frame id u16, index u8, count u8, 2 bytes reserved for link addressing."""

# --- the ledger (DESIGN.md section 9, "Limits") ----------------------------------------------
HOLDBACK_WINDOW: Final = 64
"""W: a verified packet is held when HWM < nonce <= HWM + W."""
HOLDBACK_TOTAL: Final = 20_000
"""Most packets held back in memory across all senders."""

# --- money ------------------------------------------------------------------------------------
BASE_UNITS_PER_CRAP: Final = 1_000_000
CRAP: Final = BASE_UNITS_PER_CRAP

# --- tables (TABLES.md sections 3, 5 and 9; the rest of the defaults: node/core/tables) -----
DEFAULT_MAX_PLAYERS: Final = 8
"""The table size the byte budget is checked at (TABLES.md section 5)."""
MAX_CHAIN_N: Final = 65_535
MAX_BETS_PER_PACKET: Final = 8
"""A bet packet lists at most this many bets."""

# --- chains and dice (TABLES.md section 3) ----------------------------------------------------
CHAIN_DOMAIN: Final = b"BCM/chain/v1"
"""c_0 = SHA-256(CHAIN_DOMAIN || seed), c_(i+1) = SHA-256(CHAIN_DOMAIN || c_i)."""
CHAIN_KEY_DOMAIN: Final = b"BCM/chain-key/v1"
"""K_chain = SHA-256(CHAIN_KEY_DOMAIN || Ed25519 secret seed)."""
SEED_DOMAIN: Final = b"BCM/seed/v1"
"""A chain seed = HMAC-SHA256(K_chain, SEED_DOMAIN || network_id || role)."""
DICE_DOMAIN: Final = b"BCM/dice/v1"
"""seed_k = SHA-256(DICE_DOMAIN || network_id || host || G || u32be(k) || preimages)."""
DICE_REJECT: Final = 252
"""A dice byte b is used only when b < DICE_REJECT (= 42 × 6, so b mod 6 is uniform)."""
