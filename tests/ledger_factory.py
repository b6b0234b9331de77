"""Fixtures shared by the ledger suites: keys from fixed seeds, signed chains, body builders.

A :class:`Chain` signs successive packets of one identity with the correct ``prev`` (and can
branch to sign a second version of a nonce); the builders make transfer and ack bodies and
hand-crafted body bytes.  Deterministic, no assertions: the suites assert.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping

import nacl.signing

from node.core.events import Ingested
from node.core.pulls import Want
from node.core.replica import Replica
from protocol.constants import HASH_LEN, SIGN_DOMAIN, VERSION, ZERO_PREV
from protocol.frame import FrameCodec
from protocol.genesis import LOCAL, Genesis
from protocol.kinds import Ack, Body, ExtRef, Kind, Transfer
from protocol.wire import pack

__all__ = [
    "Chain",
    "ack",
    "feed",
    "full_hash",
    "funded_genesis",
    "h_of",
    "public_key",
    "signing_key",
    "take_wants",
    "transfer",
]


def signing_key(seed: int | str) -> nacl.signing.SigningKey:
    """An Ed25519 signing key derived from a fixed seed (the same key in every run)."""
    return nacl.signing.SigningKey(hashlib.sha256(f"bcm-ledger-test/{seed}".encode()).digest())


def public_key(seed: int | str) -> bytes:
    """The 32-byte public key (peer id) of :func:`signing_key` ``(seed)``."""
    return bytes(signing_key(seed).verify_key)


def transfer(to: bytes, amount: int, *acks: ExtRef) -> Transfer:
    return Transfer(to=to, amount=amount, acks=tuple(acks))


def ack(*refs: ExtRef) -> Ack:
    return Ack(acks=tuple(refs))


def full_hash(frame: bytes, genesis: Genesis = LOCAL) -> bytes:
    """SHA-256 of the frame's signed message (what dedup and fork proofs compare)."""
    return FrameCodec(genesis.network_id).open(frame).full_hash


def h_of(frame: bytes, genesis: Genesis = LOCAL) -> bytes:
    """The 8-byte wire reference of a frame."""
    return full_hash(frame, genesis)[:HASH_LEN]


def funded_genesis(
    grants: Mapping[bytes, int],
    *,
    min_account: int = 0,
    treasury_reserve: int = 0,
    name: str = "test-money",
) -> Genesis:
    """A network off play money (no faucet) with the given grants."""
    return Genesis(
        name=name,
        play_money=False,
        faucet_amount=0,
        min_account=min_account,
        treasury_reserve=treasury_reserve,
        house_key=None,
        grants=tuple(sorted(grants.items())),
        bounds=LOCAL.bounds,
    )


def take_wants(replica: Replica) -> list[Want]:
    """The pulls among ``replica``'s events (the other events are dropped)."""
    return [e.item for e in replica.take_events() if isinstance(e.item, Want)]


def feed(replica: Replica, frames: Iterable[bytes]) -> list[Ingested]:
    """Ingest every frame in order; return the results."""
    return [replica.receive(frame, 0.0) for frame in frames]


class Chain:
    """One identity's packets, signed in nonce order with ``prev`` = h of the previous one."""

    def __init__(self, seed: int | str, genesis: Genesis = LOCAL) -> None:
        self.seed = seed
        self.genesis = genesis
        self.key = signing_key(seed)
        self.pub = bytes(self.key.verify_key)
        self.codec = FrameCodec(genesis.network_id)
        self.frames: list[bytes] = []
        self._hashes: list[bytes] = []

    @property
    def nonce(self) -> int:
        """The nonce of the last signed packet (0 before the first)."""
        return len(self.frames)

    @property
    def head(self) -> bytes:
        """``prev`` for the next packet."""
        return self._hashes[-1][:HASH_LEN] if self._hashes else ZERO_PREV

    def frame(self, nonce: int) -> bytes:
        return self.frames[nonce - 1]

    def full_hash(self, nonce: int) -> bytes:
        return self._hashes[nonce - 1]

    def h(self, nonce: int) -> bytes:
        return self._hashes[nonce - 1][:HASH_LEN]

    def ref(self, nonce: int) -> ExtRef:
        """An ext ref naming this chain's version of ``nonce``."""
        return ExtRef(self.pub, nonce, self.h(nonce))

    def sign(self, body: Body) -> bytes:
        """Sign ``body`` as the next packet; return its frame."""
        frame = self.codec.seal(self.key, self.nonce + 1, self.head, body)
        return self._append(frame, self.codec.open(frame).full_hash)

    def transfer(self, to: bytes, amount: int, *acks: ExtRef) -> bytes:
        return self.sign(transfer(to, amount, *acks))

    def ack(self, *refs: ExtRef) -> bytes:
        return self.sign(ack(*refs))

    def sign_fields(self, kind: int, *fields: object) -> bytes:
        """Sign the next packet from hand-made fields after prev (bytes a receiver may refuse):
        body = msgpack([kind, sender, nonce, prev, *fields])."""
        return self.sign_body_bytes(pack([kind, self.pub, self.nonce + 1, self.head, *fields]))

    def sign_body_bytes(self, body: bytes) -> bytes:
        """Sign ``b"BCM/v1" ‖ network_id ‖ body`` and frame it as the next packet."""
        signed = SIGN_DOMAIN + self.genesis.network_id + body
        signature = self.key.sign(signed).signature
        frame = bytes((VERSION, 0)) + self.genesis.network_id[:4] + body + signature
        return self._append(frame, hashlib.sha256(signed).digest())

    def malformed_transfer(self, to: bytes) -> bytes:
        """A validly signed transfer whose amount is 0 (out of range): Refused(malformed)."""
        return self.sign_fields(int(Kind.TRANSFER), to, 0, [])

    def branch(self, keep: int) -> Chain:
        """A copy holding this chain's first ``keep`` packets; what it signs next is another
        version of nonce ``keep + 1`` (a fork when both are published)."""
        other = Chain(self.seed, self.genesis)
        other.frames = self.frames[:keep]
        other._hashes = self._hashes[:keep]
        return other

    def _append(self, frame: bytes, digest: bytes) -> bytes:
        self.frames.append(frame)
        self._hashes.append(digest)
        return frame
