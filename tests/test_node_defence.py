"""node/core/node.py, one core seen from one neighbour: the cheap checks run before the
signature, only Rejected frames and rate breaches cost a neighbour, a held packet pulls exactly
its gap, and every table the neighbours can grow stops at its bound."""

from __future__ import annotations

import random

import nacl.signing

from node.core.node import NodeConfig, NodeCore, Persist, Transmit, Verify
from node.core.replica import Replica, verify_batch
from protocol.genesis import LOCAL
from protocol.link import Hello, Proof, Want, decode_link, encode_link, hello_signed
from tests.ledger_factory import Chain, public_key, signing_key

PEER = ("10.0.0.2", 4000)
SINK = public_key("defence-sink")


class Harness:
    """One core and one linked neighbour at PEER; the test plays the neighbour."""

    def __init__(self, config: NodeConfig | None = None) -> None:
        self.now = 0.0
        self.key = signing_key("defence-core")
        self.core = NodeCore(Replica(LOCAL), self.key, random.Random(3), 0.0, config=config)
        self.peer = signing_key("defence-peer")
        self.verified: list[int] = []
        self.sent: list[Transmit] = []
        self.link(PEER, self.peer)

    def link(self, address: tuple[str, int], key: nacl.signing.SigningKey) -> None:
        pk = bytes(key.verify_key)
        challenge = bytes(16)
        self.core.receive_datagram(
            encode_link(Hello(LOCAL.network_id[:4], pk, challenge)), address, self.now
        )
        proof = next(
            decode_link(a.data)
            for a in self.core.take_actions()
            if isinstance(a, Transmit) and a.address == address
        )
        assert isinstance(proof, Proof)
        signed = hello_signed(
            LOCAL.network_id, proof.challenge, challenge, pk, bytes(self.key.verify_key)
        )
        self.core.receive_datagram(
            encode_link(
                Proof(
                    LOCAL.network_id[:4], pk, challenge, proof.challenge, key.sign(signed).signature
                )
            ),
            address,
            self.now,
        )
        self.pump()

    def feed(self, frames: list[bytes], address: tuple[str, int] = PEER) -> None:
        for frame in frames:
            self.core.receive_datagram(frame, address, self.now)
        self.pump()

    def pump(self) -> None:
        while actions := self.core.take_actions():
            for a in actions:
                if isinstance(a, Verify):
                    self.verified.append(len(a.envelopes))
                    self.core.verified(a.job, verify_batch(a.envelopes), self.now)
                elif isinstance(a, Persist):
                    self.core.persisted(a, self.now)
                elif isinstance(a, Transmit):
                    self.sent.append(a)

    def score(self, address: tuple[str, int] = PEER) -> float:
        link = self.core.links.get(address)
        assert link is not None
        return link.score.value(self.now)


def test_duplicates_and_frames_beyond_the_window_never_reach_a_signature_check() -> None:
    h = Harness()
    chain = Chain("defence-window")
    for amount in range(1, 70):
        chain.transfer(SINK, amount)
    h.feed(chain.frames[:1])
    assert sum(h.verified) == 1
    h.feed(chain.frames[:1] * 5)  # duplicates
    h.feed(chain.frames[66:69])  # nonces 67..69 > HWM 1 + 64
    assert sum(h.verified) == 1
    assert h.core.counters["duplicate"] == 5 and h.core.counters["beyond_window"] == 3
    assert h.score() == 0.0


def test_a_well_signed_packet_the_ledger_refuses_costs_its_neighbour_nothing() -> None:
    h = Harness()
    chain = Chain("defence-refused")
    chain.transfer(SINK, 2**64 - 1)  # more than the faucet: Refused(insufficient)
    chain.malformed_transfer(SINK)  # Refused(malformed)
    h.feed(chain.frames)
    assert h.core.replica.hwm(chain.pub) == 2
    assert h.score() == 0.0


def test_rejected_frames_cost_one_each_and_a_bad_signature_bans_at_the_threshold() -> None:
    h = Harness(NodeConfig(penalty_threshold=5.0))
    chain = Chain("defence-bad")
    for amount in range(1, 8):
        chain.transfer(SINK, amount)
    h.feed([b"\x01\x00\x95\x62\x07\x85" + bytes(150)])  # an envelope fault
    assert h.score() == 1.0
    forged = [f[:-1] + bytes([f[-1] ^ 1]) for f in chain.frames[:3]]
    h.feed(forged)
    assert round(h.score(), 6) == 4.0
    h.feed([chain.frames[3][:-1] + bytes([chain.frames[3][-1] ^ 1])])
    assert h.core.counters["banned"] == 1
    assert h.core.links.get(PEER) is None
    h.feed(chain.frames)  # banned: dropped before anything
    assert h.core.counters["dropped_banned"] == len(chain.frames)


def test_a_held_packet_pulls_exactly_its_gap_from_the_link_it_came_from() -> None:
    h = Harness()
    chain = Chain("defence-gap")
    for amount in range(1, 6):
        chain.transfer(SINK, amount)
    h.feed([chain.frames[4]])  # nonce 5 first
    wants = [decode_link(t.data) for t in h.sent if t.data[0] == 0x87]
    assert len(wants) == 1 and isinstance(wants[0], Want)
    (item,) = wants[0].items
    assert (item.sender, item.lo, item.hi, item.h) == (chain.pub, 1, 4, None)
    assert [t.address for t in h.sent if t.data[0] == 0x87] == [PEER]


def test_the_tables_strangers_can_grow_stop_at_their_bounds() -> None:
    h = Harness(NodeConfig(max_pending=8, hello_burst=1000.0, max_links=3))
    for i in range(40):  # hellos from 40 addresses
        key = nacl.signing.SigningKey(bytes([i + 1]) * 32)
        hello = Hello(LOCAL.network_id[:4], bytes(key.verify_key), bytes(16))
        h.core.receive_datagram(encode_link(hello), ("10.1.0.1", 5000 + i), h.now)
    h.pump()
    pending = [lk for lk in h.core.links.all() if not lk.up]
    assert len(pending) == 8
    for i in range(5):  # full handshakes beyond max_links
        h.link(("10.2.0.1", 6000 + i), nacl.signing.SigningKey(bytes([100 + i]) * 32))
    assert h.core.links.count_up() == 3
    assert h.core.counters["link_table_full"] == 3


def test_a_flooding_link_gets_at_most_half_of_every_verification_batch() -> None:
    h = Harness(NodeConfig(verify_batch=16, max_verify_jobs=1))
    other = ("10.0.0.3", 4001)
    h.link(other, signing_key("defence-other"))
    junk = Chain("defence-flood")
    good = Chain("defence-good")
    for amount in range(1, 41):
        junk.transfer(SINK, amount)
        good.transfer(SINK, amount)
    core = h.core
    for frame in junk.frames:
        core.receive_datagram(frame[:-1] + bytes([frame[-1] ^ 1]), PEER, h.now)
    for frame in good.frames[:8]:
        core.receive_datagram(frame, other, h.now)
    (verify,) = [a for a in core.take_actions() if isinstance(a, Verify)]
    senders = [env.sender for env in verify.envelopes]
    assert senders.count(good.pub) == 8 and senders.count(junk.pub) == 8
