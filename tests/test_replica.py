"""The ingest pipeline of DESIGN.md section 4, state by state, through ``Replica.ingest``.

Dropped, Rejected, Held, Logged and Judged; the money rules (faucet, grants, transfers, credits
under acknowledgement watermarks, min_account); honest naming; eviction under the caps; the
anti-entropy helpers; snapshot thinning.  Keys come from fixed seeds (tests/ledger_factory.py).
"""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from node.core.antientropy import first_difference
from node.core.pulls import Want
from node.core.replica import Replica
from node.core.verdicts import Outcome, Reason
from protocol.constants import CRAP, TREASURY_KEY
from protocol.frame import FrameCodec, encode_body
from protocol.genesis import LOCAL, Genesis
from protocol.kinds import ExtRef
from tests.ledger_factory import (
    Chain,
    ack,
    feed,
    full_hash,
    funded_genesis,
    public_key,
    signing_key,
    take_wants,
)

FAUCET = LOCAL.faucet_amount
NOWHERE = public_key("nobody-ever-signs")
"""A valid key that never signs anything: a dependency on it can never be judged."""


def replica(genesis: Genesis = LOCAL, **kwargs: int) -> Replica:
    """A replica that audits the supply after every judged packet."""
    return Replica(genesis, audit=True, **kwargs)  # type: ignore[arg-type]


def wants_cover(wants: list[Want], sender: bytes, nonce: int) -> bool:
    return any(w.sender == sender and w.lo <= nonce <= w.hi for w in wants)


def held_slots(r: Replica) -> set[tuple[bytes, int]]:
    return {(key[0], key[1]) for key in r.held_packets()}


def unjudged_count(r: Replica) -> int:
    """Logged-but-unjudged packets, counted from the chains (not from the replica's counter)."""
    return r.footprint()["unjudged"]


def altered_signature(frame: bytes) -> bytes:
    return frame[:-1] + bytes([frame[-1] ^ 0x01])


# ============================================================================ Dropped


def test_exact_duplicate_is_dropped_and_changes_nothing() -> None:
    a, b = Chain("dup-a"), Chain("dup-b")
    r = replica()
    first = a.transfer(b.pub, 7)
    assert r.receive(first, 0.0).outcome is Outcome.JUDGED
    before = (r.digest(), r.summary(), r.spendable(a.pub), r.spendable(b.pub), len(r.verdicts()))
    again = r.receive(first, 0.0)
    assert again.outcome is Outcome.DROPPED
    assert again.reason is None and again.error is None and again.judged == []
    after = (r.digest(), r.summary(), r.spendable(a.pub), r.spendable(b.pub), len(r.verdicts()))
    assert after == before
    assert take_wants(r) == []


def test_duplicate_with_altered_signature_is_dropped_before_verification() -> None:
    # The full hash covers the signed message, not the signature: same body, same full hash.
    a = Chain("dup-sig")
    r = replica()
    genuine = a.ack(ExtRef(public_key("dup-sig-x"), 1, bytes(8)))
    r.receive(genuine, 0.0)
    tampered = altered_signature(genuine)
    assert full_hash(tampered) == full_hash(genuine)
    digest = r.digest()
    result = r.receive(tampered, 0.0)
    assert result.outcome is Outcome.DROPPED
    assert r.digest() == digest
    # Control: a replica that never saw the genuine packet must verify it, and rejects it.
    assert replica().receive(tampered, 0.0).outcome is Outcome.REJECTED


def test_ttl_changed_copy_is_a_duplicate() -> None:
    a, b = Chain("dup-ttl-a"), Chain("dup-ttl-b")
    r = replica()
    frame = a.transfer(b.pub, 1)
    r.receive(frame, 0.0)
    relayed = frame[:1] + bytes([9]) + frame[2:]
    assert relayed != frame
    assert r.receive(relayed, 0.0).outcome is Outcome.DROPPED
    assert r.hwm(a.pub) == 1


def test_duplicates_of_held_and_unjudged_packets_are_dropped() -> None:
    a = Chain("dup-held")
    for _ in range(3):
        a.ack(ExtRef(NOWHERE, 1, bytes(8)))
    r = replica()
    assert r.receive(a.frame(3), 0.0).outcome is Outcome.HELD
    assert r.receive(a.frame(3), 0.0).outcome is Outcome.DROPPED
    assert r.receive(a.frame(1), 0.0).outcome is Outcome.LOGGED  # waits for NOWHERE's packet 1
    assert r.receive(a.frame(1), 0.0).outcome is Outcome.DROPPED


def test_packet_beyond_the_window_is_dropped_without_penalty() -> None:
    a, b = Chain("window-a"), Chain("window-b")
    for _ in range(66):
        a.transfer(b.pub, 1)
    r = replica()
    # HWM 0: nonce 65 > 0 + 64 is beyond the window; nonce 64 is inside it.
    beyond = r.receive(a.frame(65), 0.0)
    assert beyond.outcome is Outcome.DROPPED
    assert beyond.error is None
    assert take_wants(r) == []
    assert r.receive(a.frame(64), 0.0).outcome is Outcome.HELD
    assert take_wants(r) == [Want(a.pub, 1, 63)]
    r.receive(a.frame(1), 0.0)
    # HWM 1: 66 is still beyond, 65 now inside.
    assert r.receive(a.frame(66), 0.0).outcome is Outcome.DROPPED
    assert r.receive(a.frame(65), 0.0).outcome is Outcome.HELD
    feed(r, a.frames[1:63])
    assert r.hwm(a.pub) == 65


# ============================================================================ Rejected


def _forged_signature(a: Chain, other: Genesis) -> bytes:
    return altered_signature(a.codec.seal(a.key, 1, bytes(8), ack(_any_ref())))


def _signed_by_another_key(a: Chain, other: Genesis) -> bytes:
    body = encode_body(a.pub, 1, bytes(8), ack(_any_ref()))
    thief = signing_key("thief")
    signed = b"BCM/v1" + LOCAL.network_id + body
    return bytes((1, 0)) + LOCAL.network_id[:4] + body + thief.sign(signed).signature


def _wrong_network(a: Chain, other: Genesis) -> bytes:
    return FrameCodec(other.network_id).seal(a.key, 1, bytes(8), ack(_any_ref()))


def _oversize(a: Chain, other: Genesis) -> bytes:
    frame = a.codec.seal(a.key, 1, bytes(8), ack(_any_ref()))
    return frame + bytes(1201 - len(frame))


def _garbage(a: Chain, other: Genesis) -> bytes:
    return bytes((1, 0)) + LOCAL.network_id[:4] + b"\xc1" * 60 + bytes(64)


def _treasury_sender(a: Chain, other: Genesis) -> bytes:
    body = encode_body(TREASURY_KEY, 1, bytes(8), ack(_any_ref()))
    return bytes((1, 0)) + LOCAL.network_id[:4] + body + bytes(64)


def _small_order_sender(a: Chain, other: Genesis) -> bytes:
    identity = (1).to_bytes(32, "little")
    body = encode_body(identity, 1, bytes(8), ack(_any_ref()))
    return bytes((1, 0)) + LOCAL.network_id[:4] + body + bytes(64)


def _any_ref() -> ExtRef:
    return ExtRef(public_key("rejected-ref"), 1, bytes(8))


REJECTS = {
    "forged_signature": _forged_signature,
    "signed_by_another_key": _signed_by_another_key,
    "wrong_network": _wrong_network,
    "oversize": _oversize,
    "garbage": _garbage,
    "treasury_sender": _treasury_sender,
    "small_order_sender": _small_order_sender,
}


@pytest.mark.parametrize("fault", sorted(REJECTS))
def test_rejected_frame_logs_nothing_and_leaves_the_nonce_free(fault: str) -> None:
    a, b = Chain(f"reject-{fault}"), Chain(f"reject-{fault}-b")
    other = funded_genesis({b.pub: 5})
    r = replica()
    fresh_digest = r.digest()
    bad = REJECTS[fault](a, other)
    result = r.receive(bad, 0.0)
    assert result.outcome is Outcome.REJECTED
    assert result.error is not None
    assert r.digest() == fresh_digest
    assert r.summary() == [] and r.verdicts() == {} and take_wants(r) == []
    assert r.hwm(a.pub) == 0 and r.frame_of(a.pub, 1) is None
    genuine = a.transfer(b.pub, 3)
    assert r.receive(genuine, 0.0).outcome is Outcome.JUDGED
    assert r.hwm(a.pub) == 1


def test_forged_copy_of_a_genuine_body_does_not_poison_dedup() -> None:
    a, b = Chain("reject-same-body"), Chain("reject-same-body-b")
    r = replica()
    genuine = a.transfer(b.pub, 3)
    assert r.receive(altered_signature(genuine), 0.0).outcome is Outcome.REJECTED
    result = r.receive(genuine, 0.0)
    assert result.outcome is Outcome.JUDGED
    assert result.reason is Reason.APPLIED


# ============================================================================ Held


def test_gap_is_held_asked_for_once_then_judged_in_order() -> None:
    a, b = Chain("held-a"), Chain("held-b")
    for amount in (1, 2, 3, 4):
        a.transfer(b.pub, amount)
    r = replica()
    third = r.receive(a.frame(3), 0.0)
    assert third.outcome is Outcome.HELD
    assert take_wants(r) == [Want(a.pub, 1, 2)]
    assert r.receive(a.frame(4), 0.0).outcome is Outcome.HELD
    assert take_wants(r) == []  # 1..2 already asked, 3 held: nothing new
    assert r.hwm(a.pub) == 0 and r.digest() == replica().digest()
    first = r.receive(a.frame(1), 0.0)
    assert first.outcome is Outcome.JUDGED
    assert [e.nonce for e in first.judged] == [1]
    second = r.receive(a.frame(2), 0.0)
    assert second.outcome is Outcome.JUDGED
    assert [(e.sender, e.nonce) for e in second.judged] == [(a.pub, n) for n in (2, 3, 4)]
    assert all(e.reason is Reason.APPLIED for e in second.judged)
    assert r.hwm(a.pub) == 4
    assert take_wants(r) == []


def test_fork_witness_is_held_and_the_named_version_wanted_by_hash() -> None:
    a, b = Chain("witness-a"), Chain("witness-b")
    a.transfer(b.pub, 1)
    a.transfer(b.pub, 2)
    other = a.branch(1)
    other.transfer(b.pub, 20)  # another version of nonce 2
    other.transfer(b.pub, 30)  # nonce 3 whose prev names that version
    r = replica()
    feed(r, a.frames)
    take_wants(r)
    witness = r.receive(other.frame(3), 0.0)
    assert witness.outcome is Outcome.HELD
    assert take_wants(r) == [Want(a.pub, 2, 2, other.h(2))]
    assert r.hwm(a.pub) == 2 and r.fork_point(a.pub) == 0
    # The named version completes a fork proof at 2.
    r.receive(other.frame(2), 0.0)
    assert r.fork_point(a.pub) == 2
    assert r.hwm(a.pub) == 1


# ============================================================================ Logged, judged


def test_transfer_acknowledging_an_unseen_packet_waits_outside_hwm_and_digest() -> None:
    a, b = Chain("dep-a"), Chain("dep-b")
    b.transfer(a.pub, 5 * CRAP)
    a.transfer(b.pub, 1 * CRAP, b.ref(1))
    r = replica()
    never = replica()
    result = r.receive(a.frame(1), 0.0)
    assert result.outcome is Outcome.LOGGED
    assert result.judged == []
    assert r.hwm(a.pub) == 0 and r.chain_hash(a.pub, 1) is None
    assert r.state.senders.get(a.pub) is None  # no head, no cumulative hash yet
    assert r.summary() == [] and r.digest() == never.digest()
    assert r.frame_of(a.pub, 1) is None and r.judged(a.pub, 1) is None
    assert take_wants(r) == [Want(b.pub, 1, 1)]
    arrival = r.receive(b.frame(1), 0.0)
    assert arrival.outcome is Outcome.JUDGED
    assert [(e.sender, e.nonce) for e in arrival.judged] == [(b.pub, 1), (a.pub, 1)]
    assert r.hwm(a.pub) == 1
    assert r.spendable(a.pub) == FAUCET + 5 * CRAP - 1 * CRAP
    never_a = replica()
    feed(never_a, [b.frame(1), a.frame(1)])
    assert r.digest() == never_a.digest()


def test_validly_signed_malformed_body_is_refused_and_consumes_the_nonce() -> None:
    a, b = Chain("malformed-a"), Chain("malformed-b")
    bad = a.malformed_transfer(b.pub)
    good = a.transfer(b.pub, 2)
    r = replica()
    result = r.receive(bad, 0.0)
    assert result.outcome is Outcome.JUDGED
    assert result.reason is Reason.MALFORMED
    assert r.hwm(a.pub) == 1
    assert r.spendable(a.pub) == FAUCET  # nonce 1 mints on play money, whatever its verdict
    assert r.supply == FAUCET
    assert r.frame_of(a.pub, 1) == bad
    nxt = r.receive(good, 0.0)
    assert (nxt.outcome, nxt.reason) == (Outcome.JUDGED, Reason.APPLIED)
    assert r.spendable(a.pub) == FAUCET - 2


def test_malformed_first_packet_off_play_money_mints_nothing() -> None:
    genesis = funded_genesis({public_key("malformed-off-b"): 10})
    a, b = Chain("malformed-off-a", genesis), Chain("malformed-off-b", genesis)
    r = replica(genesis)
    result = r.receive(a.malformed_transfer(b.pub), 0.0)
    assert result.reason is Reason.MALFORMED
    assert r.supply == 10 and r.spendable(a.pub) == 0


# ============================================================================ Money


def test_faucet_mints_once_on_nonce_one() -> None:
    a, b = Chain("faucet-a"), Chain("faucet-b")
    r = replica()
    r.receive(a.transfer(b.pub, 10), 0.0)
    assert r.supply == FAUCET and r.spendable(a.pub) == FAUCET - 10
    r.receive(a.transfer(b.pub, 10), 0.0)
    assert r.supply == FAUCET and r.spendable(a.pub) == FAUCET - 20
    r.state.audit()


def test_transfer_credit_waits_for_the_receivers_acknowledgement() -> None:
    a, b = Chain("credit-a"), Chain("credit-b")
    r = replica()
    r.receive(a.transfer(b.pub, 10 * CRAP), 0.0)
    assert r.spendable(b.pub) == 0
    assert r.state.accounts[b.pub].pending() == 10 * CRAP
    r.state.audit()
    r.receive(b.ack(a.ref(1)), 0.0)
    assert r.spendable(b.pub) == FAUCET + 10 * CRAP
    assert r.state.accounts[b.pub].pending() == 0
    r.state.audit()


def test_transfer_beyond_spendable_is_refused_and_moves_nothing() -> None:
    a, b = Chain("insufficient-a"), Chain("insufficient-b")
    r = replica()
    result = r.receive(a.transfer(b.pub, FAUCET + 1), 0.0)
    assert result.reason is Reason.INSUFFICIENT
    assert r.spendable(a.pub) == FAUCET  # refused, but nonce 1 still mints
    assert b.pub not in r.state.accounts or r.state.accounts[b.pub].pending() == 0
    exact = r.receive(a.transfer(b.pub, FAUCET), 0.0)
    assert exact.reason is Reason.APPLIED
    assert r.spendable(a.pub) == 0
    r.state.audit()


def test_credits_are_counted_once_and_only_under_the_watermark() -> None:
    a, b = Chain("watermark-a"), Chain("watermark-b")
    r = replica()
    feed(r, [a.transfer(b.pub, 10), a.transfer(b.pub, 20), a.transfer(b.pub, 40)])
    r.receive(b.ack(a.ref(2)), 0.0)  # covers a's 1 and 2, not 3
    assert r.spendable(b.pub) == FAUCET + 30
    r.state.audit()
    r.receive(b.ack(a.ref(1), a.ref(2)), 0.0)  # acknowledged twice: nothing more
    assert r.spendable(b.pub) == FAUCET + 30
    r.receive(b.transfer(a.pub, 1, a.ref(3)), 0.0)  # a transfer's acks acknowledge too
    assert r.spendable(b.pub) == FAUCET + 30 + 40 - 1
    r.receive(b.ack(a.ref(3)), 0.0)
    assert r.spendable(b.pub) == FAUCET + 69
    r.state.audit()


def test_spendable_at_a_packet_counts_credits_it_acknowledges_itself() -> None:
    a, b, c = Chain("self-ack-a"), Chain("self-ack-b"), Chain("self-ack-c")
    r = replica()
    r.receive(a.transfer(b.pub, 50), 0.0)
    lacking = b.branch(0)
    without = replica()
    feed(without, [a.frame(1), lacking.transfer(c.pub, FAUCET + 50)])
    assert without.judged(b.pub, 1) is not None
    assert without.judged(b.pub, 1).reason is Reason.INSUFFICIENT  # type: ignore[union-attr]
    result = r.receive(b.transfer(c.pub, FAUCET + 50, a.ref(1)), 0.0)
    assert result.reason is Reason.APPLIED
    assert r.spendable(b.pub) == 0
    r.state.audit()


def test_refused_packet_acknowledges_nothing() -> None:
    a, b, c = Chain("refused-ack-a"), Chain("refused-ack-b"), Chain("refused-ack-c")
    r = replica()
    r.receive(a.transfer(b.pub, 50), 0.0)
    result = r.receive(b.transfer(c.pub, FAUCET + 51, a.ref(1)), 0.0)
    assert result.reason is Reason.INSUFFICIENT
    assert r.spendable(b.pub) == FAUCET
    assert r.state.accounts[b.pub].pending() == 50
    r.state.audit()


def test_self_transfer_is_refused() -> None:
    a = Chain("self-transfer")
    r = replica()
    result = r.receive(a.transfer(a.pub, 1), 0.0)
    assert result.reason is Reason.SELF_TRANSFER
    assert r.spendable(a.pub) == FAUCET
    r.state.audit()


def test_unfunded_first_packet_is_refused_off_play_money() -> None:
    rich_pub = public_key("unfunded-rich")
    genesis = funded_genesis({rich_pub: 100 * CRAP}, min_account=10 * CRAP)
    poor, rich = Chain("unfunded-poor", genesis), Chain("unfunded-rich", genesis)
    r = replica(genesis)
    result = r.receive(poor.transfer(rich.pub, 1), 0.0)
    assert (result.outcome, result.reason) == (Outcome.JUDGED, Reason.UNFUNDED)
    assert r.hwm(poor.pub) == 1  # logged: the nonce is consumed
    assert r.supply == 100 * CRAP and r.spendable(poor.pub) == 0
    assert r.state.accounts.get(rich.pub) is not None
    assert r.state.accounts[rich.pub].pending() == 0
    r.state.audit()


def test_grants_fund_transfers_off_play_money() -> None:
    a_pub = public_key("grant-a")
    genesis = funded_genesis({a_pub: 100 * CRAP}, min_account=10 * CRAP)
    a, b = Chain("grant-a", genesis), Chain("grant-b", genesis)
    r = replica(genesis)
    assert r.spendable(a.pub) == 100 * CRAP
    assert r.receive(a.transfer(b.pub, 30 * CRAP), 0.0).reason is Reason.APPLIED
    assert r.receive(a.transfer(b.pub, 71 * CRAP), 0.0).reason is Reason.INSUFFICIENT
    assert r.spendable(a.pub) == 70 * CRAP
    assert r.supply == 100 * CRAP
    r.state.audit()


def test_min_account_is_met_by_grants_plus_acknowledged_credits() -> None:
    a_pub = public_key("min-account-a")
    genesis = funded_genesis({a_pub: 100 * CRAP}, min_account=10 * CRAP)
    a = Chain("min-account-a", genesis)
    short, enough = Chain("min-account-short", genesis), Chain("min-account-enough", genesis)
    r = replica(genesis)
    feed(r, [a.transfer(short.pub, 9 * CRAP), a.transfer(enough.pub, 10 * CRAP)])
    assert r.receive(short.ack(a.ref(1)), 0.0).reason is Reason.UNFUNDED
    assert r.spendable(short.pub) == 0  # the refused ack acknowledged nothing
    funded = r.receive(enough.transfer(a.pub, 4 * CRAP, a.ref(2)), 0.0)
    assert funded.reason is Reason.APPLIED
    assert r.spendable(enough.pub) == 6 * CRAP
    assert r.supply == 100 * CRAP
    r.state.audit()


# ============================================================================ Honest naming


def test_ref_names_only_judged_packets() -> None:
    a, b = Chain("naming-a"), Chain("naming-b")
    a.transfer(b.pub, 1)
    a.transfer(b.pub, 1, ExtRef(NOWHERE, 1, bytes(8)))  # waits forever
    a.transfer(b.pub, 1)
    r = replica()
    feed(r, [a.frame(1), a.frame(2)])
    assert r.ref(a.pub, 1) == ExtRef(a.pub, 1, a.h(1))
    with pytest.raises(LookupError):
        r.ref(a.pub, 2)  # logged, not judged
    r2 = replica()
    r2.receive(a.frame(3), 0.0)
    with pytest.raises(LookupError):
        r2.ref(a.pub, 3)  # held
    with pytest.raises(LookupError):
        r.ref(b.pub, 1)  # unknown


# ============================================================================ Eviction, caps


def test_held_eviction_takes_the_furthest_ahead_first() -> None:
    h, far, mid = Chain("evict-h"), Chain("evict-far"), Chain("evict-mid")
    for chain, n in ((h, 3), (far, 40), (mid, 20)):
        for _ in range(n):
            chain.transfer(public_key("evict-sink"), 1)
    r = replica(held_cap=2)
    r.receive(h.frame(1), 0.0)
    assert r.receive(h.frame(3), 0.0).outcome is Outcome.HELD
    assert r.receive(far.frame(40), 0.0).outcome is Outcome.HELD
    assert r.receive(mid.frame(20), 0.0).outcome is Outcome.HELD
    assert held_slots(r) == {(h.pub, 3), (mid.pub, 20)}
    r.receive(h.frame(2), 0.0)
    assert r.hwm(h.pub) == 3


def test_held_eviction_prefers_senders_without_history_at_equal_distance() -> None:
    h, s = Chain("evict-hist-h"), Chain("evict-hist-s")
    for _ in range(4):
        h.transfer(s.pub, 1)
    for _ in range(3):
        s.transfer(h.pub, 1)
    r = replica(held_cap=2)
    r.receive(h.frame(1), 0.0)
    r.receive(h.frame(4), 0.0)  # distance 3, history
    r.receive(s.frame(3), 0.0)  # distance 3, no history
    r.receive(h.frame(3), 0.0)  # distance 2: overflow
    assert held_slots(r) == {(h.pub, 4), (h.pub, 3)}


def test_held_eviction_takes_the_newest_arrival_at_equal_rank() -> None:
    s, t, u = Chain("evict-new-s"), Chain("evict-new-t"), Chain("evict-new-u")
    for chain in (s, t, u):
        for _ in range(3):
            chain.transfer(public_key("evict-new-sink"), 1)
    r = replica(held_cap=2)
    assert r.receive(s.frame(3), 0.0).outcome is Outcome.HELD
    assert r.receive(t.frame(3), 0.0).outcome is Outcome.HELD
    assert r.receive(u.frame(3), 0.0).outcome is Outcome.DROPPED
    assert held_slots(r) == {(s.pub, 3), (t.pub, 3)}


def test_evicted_packet_is_not_pulled_again() -> None:
    h, s = Chain("evict-pull-h"), Chain("evict-pull-s")
    for _ in range(3):
        h.transfer(s.pub, 1)
    for _ in range(5):
        s.transfer(h.pub, 1)
    r = replica(held_cap=1)
    wants: list[Want] = []
    r.receive(h.frame(1), 0.0)
    assert r.receive(s.frame(5), 0.0).outcome is Outcome.HELD
    wants += take_wants(r)
    assert wants == [Want(s.pub, 1, 4)]
    assert r.receive(h.frame(3), 0.0).outcome is Outcome.HELD  # evicts s's 5 (further ahead)
    assert held_slots(r) == {(h.pub, 3)}
    wants += take_wants(r)
    for frame in s.frames[:4]:
        r.receive(frame, 0.0)
        wants += take_wants(r)
    r.receive(h.frame(2), 0.0)
    wants += take_wants(r)
    assert not wants_cover(wants, s.pub, 5)
    assert r.hwm(s.pub) == 4 and r.hwm(h.pub) == 3


def test_honest_out_of_order_packets_get_through_a_flooded_holdback() -> None:
    honest = Chain("evict-honest")
    sink = public_key("evict-honest-sink")
    for _ in range(10):
        honest.transfer(sink, 1)
    sybils = [Chain(f"evict-sybil-{i}") for i in range(12)]
    for sybil in sybils:
        for _ in range(60):
            sybil.transfer(sink, 1)
    r = replica(held_cap=10)  # room for the honest 2..10 and one more
    for n in range(10, 1, -1):
        for sybil in sybils:
            r.receive(sybil.frame(50 + n % 10), 0.0)
        assert r.receive(honest.frame(n), 0.0).outcome is Outcome.HELD
        assert r.footprint()["held"] <= 10
    r.receive(honest.frame(1), 0.0)
    assert r.hwm(honest.pub) == 10


def test_unjudged_cap_evicts_the_suffix_furthest_ahead() -> None:
    s, h, b = Chain("unjudged-cap-s"), Chain("unjudged-cap-h"), Chain("unjudged-cap-b")
    s.ack(ExtRef(NOWHERE, 1, bytes(8)))
    s.ack(ExtRef(NOWHERE, 1, bytes(8)))
    s.ack(ExtRef(NOWHERE, 1, bytes(8)))
    b.transfer(h.pub, 1)
    h.transfer(s.pub, 1, b.ref(1))  # unjudged until b's packet arrives
    h.transfer(s.pub, 2)
    r = replica(unjudged_cap=3)
    assert [x.outcome for x in feed(r, s.frames)] == [Outcome.LOGGED] * 3
    take_wants(r)
    assert unjudged_count(r) == 3
    # h's packet (1 ahead) outranks s's suffix (3 ahead, no history): s's suffix goes.
    assert r.receive(h.frame(1), 0.0).outcome is Outcome.LOGGED
    assert unjudged_count(r) <= 3
    assert not r.known(s.pub, 1, s.full_hash(1)) and r.logged_top(s.pub)[0] == 0
    assert r.counters().get("evicted_unjudged") == 1
    arrival = r.receive(b.frame(1), 0.0)
    assert [(e.sender, e.nonce) for e in arrival.judged] == [(b.pub, 1), (h.pub, 1)]
    assert r.receive(h.frame(2), 0.0).outcome is Outcome.JUDGED
    assert not any(w.sender == s.pub for w in take_wants(r))
    # Evicted packets are forgotten, not remembered as duplicates: they may come again.
    assert r.receive(s.frame(1), 0.0).outcome is Outcome.LOGGED


def test_dependency_arriving_under_a_full_unjudged_cap_is_judged() -> None:
    # The cap bounds logged-but-unjudged packets; b's packet is judged on arrival and
    # unblocks a's, so it must not wait for room (which nothing would ever make).
    a, b = Chain("cap-dep-a"), Chain("cap-dep-b")
    b.transfer(a.pub, 5)
    a.transfer(b.pub, 1, b.ref(1))
    r = replica(unjudged_cap=1)
    assert r.receive(a.frame(1), 0.0).outcome is Outcome.LOGGED
    result = r.receive(b.frame(1), 0.0)
    assert result.outcome is Outcome.JUDGED
    assert r.hwm(b.pub) == 1 and r.hwm(a.pub) == 1


def test_packet_refused_room_is_judged_once_its_dependency_arrives() -> None:
    # a waits for b, b waits for c; with room for one unjudged packet b is held.  When c
    # arrives, b can be judged at once: it must be placed again (or accepted when resent).
    a, b, c = Chain("cap-chain-a"), Chain("cap-chain-b"), Chain("cap-chain-c")
    c.transfer(b.pub, 1)
    b.ack(c.ref(1))
    a.ack(b.ref(1))
    r = replica(unjudged_cap=1)
    assert r.receive(a.frame(1), 0.0).outcome is Outcome.LOGGED
    r.receive(b.frame(1), 0.0)
    r.receive(c.frame(1), 0.0)
    feed(r, [b.frame(1), a.frame(1)])  # resends
    assert (r.hwm(c.pub), r.hwm(b.pub), r.hwm(a.pub)) == (1, 1, 1)


def _random_history(rng: random.Random, tag: int) -> list[bytes]:
    """Transfers and acks among four keys naming earlier packets, with a fork or two."""
    chains = [Chain(f"capped-history-{tag}-{i}") for i in range(4)]
    branches: list[Chain] = []
    frames: list[bytes] = []
    for _ in range(16):
        signed = [c for c in chains if c.nonce]
        if signed and rng.random() < 0.12:
            base = rng.choice(signed)
            branch = base.branch(rng.randrange(base.nonce))
            frames.append(branch.transfer(chains[1 if base is chains[0] else 0].pub, 7))
            branches.append(branch)
            continue
        c = rng.choice(chains)
        pool = [x for x in chains + branches if x.pub != c.pub and x.nonce]
        refs = [x.ref(rng.randint(1, x.nonce)) for x in rng.sample(pool, min(len(pool), 2))]
        refs = refs[: rng.randint(0, len(refs))]
        to = rng.choice([x for x in chains if x is not c]).pub
        amount = rng.choice([1, 60_000 * CRAP, 120_000 * CRAP])
        if refs and rng.random() < 0.4:
            frames.append(c.ack(*refs))
        else:
            frames.append(c.transfer(to, amount, *refs))
    return frames


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**32))
def test_tiny_caps_lose_nothing_for_good(seed: int) -> None:
    # Under tiny caps packets wait, are evicted and are resent; once every packet has been
    # offered again, each schedule must reach the state of a replica without caps.
    rng = random.Random(seed)
    frames = _random_history(rng, seed % 7)
    free = replica()
    feed(free, frames)
    for held_cap, unjudged_cap in ((1, 1), (2, 2), (1000, 1)):
        r = Replica(LOCAL, audit=True, held_cap=held_cap, unjudged_cap=unjudged_cap)
        for _ in range(len(frames)):
            feed(r, rng.sample(frames, len(frames)))
        assert r.digest() == free.digest(), (held_cap, unjudged_cap)


# ============================================================================ Anti-entropy helpers


def test_summary_lists_judged_senders_and_forked_senders() -> None:
    a, b, f = Chain("summary-a"), Chain("summary-b"), Chain("summary-f")
    feed_frames = [a.transfer(b.pub, 1), a.transfer(b.pub, 2), f.transfer(b.pub, 3)]
    f.transfer(b.pub, 4)
    f_other = f.branch(1)
    f_other.transfer(b.pub, 5)
    r = replica()
    feed(r, [*feed_frames, f.frame(2), f_other.frame(2)])
    summary = {entry[0]: entry[1:] for entry in r.summary()}
    c2 = r.chain_hash(a.pub, 2)
    assert c2 is not None
    assert summary[a.pub] == (2, c2[:16], b"")
    low, high = sorted([f.full_hash(2)[:16], f_other.full_hash(2)[:16]])
    assert summary[f.pub] == (2, low, high)
    assert b.pub not in summary
    assert sorted(r.fork_frames(f.pub)) == sorted([f.frame(2), f_other.frame(2)])
    assert r.frame_of(f.pub, 2, f_other.h(2)) == f_other.frame(2)
    assert r.frame_of(f.pub, 1) == f.frame(1)


def test_first_difference_finds_the_first_differing_nonce() -> None:
    a, b = Chain("bisect-a"), Chain("bisect-b")
    for n in range(1, 9):
        a.transfer(b.pub, n)
    other = a.branch(5)
    for n in range(6, 9):
        other.transfer(b.pub, 100 + n)
    mine, theirs = replica(), replica()
    feed(mine, a.frames)
    feed(theirs, other.frames)
    assert mine.hwm(a.pub) == theirs.hwm(a.pub) == 8
    assert mine.chain_hash(a.pub, 5) == theirs.chain_hash(a.pub, 5)
    assert mine.chain_hash(a.pub, 6) != theirs.chain_hash(a.pub, 6)
    found = first_difference(
        8, lambda n: mine.chain_hash(a.pub, n), lambda n: theirs.chain_hash(a.pub, n)
    )
    assert found == 6
    same = first_difference(
        8, lambda n: mine.chain_hash(a.pub, n), lambda n: mine.chain_hash(a.pub, n)
    )
    assert same == 0
    theirs_version = theirs.frame_of(a.pub, found)
    assert theirs_version is not None
    mine.receive(theirs_version, 0.0)
    assert mine.fork_point(a.pub) == 6
