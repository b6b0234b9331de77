"""The ledger scenarios of ATTACKS.md (5, 13, 14, 17, 18, 19), one test or more each.

Each test plays the attack against one or more replicas through ``Replica.ingest`` and checks
what must happen instead.  Scenario 20 (crash between sign and send) needs the SQLite store and a
subprocess and lives in the hardening suite.  Keys come from fixed seeds (tests/ledger_factory.py).
"""

from __future__ import annotations

import itertools

from node.core.antientropy import first_difference
from node.core.pulls import Want
from node.core.replica import Replica
from node.core.verdicts import Outcome, Reason
from protocol.constants import CRAP
from protocol.genesis import LOCAL, Genesis
from protocol.kinds import ExtRef
from tests.ledger_factory import Chain, feed, funded_genesis, public_key, take_wants, transfer

FAUCET = LOCAL.faucet_amount
NOWHERE = public_key("attacks-nobody-ever-signs")


def replica(genesis: Genesis = LOCAL, **kwargs: int) -> Replica:
    return Replica(genesis, audit=True, **kwargs)  # type: ignore[arg-type]


def unjudged_count(r: Replica) -> int:
    return r.footprint()["unjudged"]


# ---------------------------------------------------------------------------- anti-entropy


def _frames(src: Replica, sender: bytes, lo: int, hi: int) -> list[bytes]:
    return [f for m in range(lo, hi + 1) if (f := src.frame_of(sender, m)) is not None]


def _bisect(src: Replica, dst: Replica, sender: bytes, hwm: int) -> int:
    return first_difference(
        hwm, lambda m: src.chain_hash(sender, m), lambda m: dst.chain_hash(sender, m)
    )


def _push(src: Replica, dst: Replica) -> int:
    """One anti-entropy step from ``src`` to ``dst``: compare summaries, send what differs,
    then serve ``dst``'s wants from ``src``.  Return how many frames ``dst`` took."""
    theirs = {entry[0]: entry for entry in dst.summary()}
    frames: list[bytes] = []
    for sender, n, x, y in src.summary():
        other = theirs.get(sender)
        if y:  # src holds a fork proof
            if other != (sender, n, x, y):
                frames += _frames(src, sender, dst.hwm(sender) + 1, n - 1)
                frames += src.fork_frames(sender)
            continue
        if other is not None and other[3]:
            continue  # dst is forked here; its own push completes src
        dst_hwm = dst.hwm(sender)
        if dst_hwm < n:
            frames += _frames(src, sender, dst_hwm + 1, n)
        elif dst_hwm == n and other is not None and other[2] != x:
            first = _bisect(src, dst, sender, n)
            version = src.frame_of(sender, first)
            if version is not None:
                frames.append(version)
    took = sum(dst.receive(f, 0.0).outcome is not Outcome.DROPPED for f in frames)
    for _ in range(100):
        wants = take_wants(dst)
        if not wants:
            break
        for want in wants:
            for m in range(want.lo, want.hi + 1):
                frame = src.frame_of(want.sender, m, want.h)
                if frame is not None:
                    took += dst.receive(frame, 0.0).outcome is not Outcome.DROPPED
    return took


def sync(a: Replica, b: Replica) -> None:
    """Anti-entropy between two replicas until neither takes anything more."""
    for _ in range(50):
        if not _push(a, b) + _push(b, a):
            return
    raise AssertionError("anti-entropy did not settle")


# ---------------------------------------------------------------------------- 5


def test_attack5_faucet_farming_off_play_money_mints_nothing() -> None:
    bank_pub = public_key("farm-bank")
    genesis = funded_genesis({bank_pub: 1_000 * CRAP}, min_account=10 * CRAP)
    grants = 1_000 * CRAP
    bank = Chain("farm-bank", genesis)
    collector = Chain("farm-collector", genesis)
    farmers = [Chain(f"farm-{i}", genesis) for i in range(8)]
    r = replica(genesis)
    frames = [bank.transfer(collector.pub, 10 * CRAP)]  # funds the collector's first packet
    for farmer in farmers:
        frames.append(farmer.transfer(collector.pub, 5 * CRAP))
        frames.append(farmer.transfer(collector.pub, 1))  # a later nonce mints nothing either
    frames.append(collector.ack(bank.ref(1), *(f.ref(1) for f in farmers[:3])))
    frames.append(collector.ack(*(f.ref(2) for f in farmers)))
    verdicts = {}
    for frame in frames:
        result = r.receive(frame, 0.0)
        assert result.outcome is Outcome.JUDGED
        for entry in result.judged:
            verdicts[(entry.sender, entry.nonce)] = entry.reason
            assert r.supply == grants
            r.state.audit()
    for farmer in farmers:
        assert verdicts[(farmer.pub, 1)] is Reason.UNFUNDED
        assert verdicts[(farmer.pub, 2)] is Reason.INSUFFICIENT
        assert r.hwm(farmer.pub) == 2  # logged and judged: the nonces are consumed
        assert r.spendable(farmer.pub) == 0
    assert r.state.mints == 0
    assert verdicts[(collector.pub, 1)] is Reason.APPLIED
    assert r.spendable(collector.pub) == 10 * CRAP  # refused transfers credited nothing
    assert r.state.accounts[collector.pub].pending() == 0
    assert sum(acc.spendable for acc in r.state.accounts.values()) == grants


def test_attack5_nonce_one_below_min_account_is_unfunded_even_with_some_credit() -> None:
    bank_pub = public_key("farm2-bank")
    genesis = funded_genesis({bank_pub: 100 * CRAP}, min_account=10 * CRAP)
    bank, farmer = Chain("farm2-bank", genesis), Chain("farm2-farmer", genesis)
    r = replica(genesis)
    r.receive(bank.transfer(farmer.pub, 10 * CRAP - 1), 0.0)
    assert r.receive(farmer.ack(bank.ref(1)), 0.0).reason is Reason.UNFUNDED
    assert r.spendable(farmer.pub) == 0
    assert r.supply == 100 * CRAP


# ---------------------------------------------------------------------------- 13


def _hidden_fork() -> tuple[Chain, Chain, Chain, Chain]:
    """S publishes 1..3 to everyone, then version a (4a, 5a, 6a) to one side and version b
    (4b, 5b, 6b) to the other; 5 and 6 carry the same bodies on both sides (a common suffix).

    A real birthday collision of the 8-byte h (so that 5a and 5b are the same frame) cannot be
    generated in a test; the replica must not rely on h anyway: dedup and fork detection
    compare full hashes, and the cumulative hashes expose a difference hidden below a common
    suffix (test_attack13_versions_with_different_full_hashes_are_never_duplicates)."""
    s, c, d = Chain("hidden-s"), Chain("hidden-c"), Chain("hidden-d")
    c.transfer(s.pub, 10 * CRAP)
    s.transfer(d.pub, 1 * CRAP, c.ref(1))
    s.transfer(d.pub, 2 * CRAP)
    s.transfer(d.pub, 3 * CRAP)
    b = s.branch(3)
    s.transfer(d.pub, 4 * CRAP)
    b.transfer(c.pub, 4 * CRAP)
    for chain in (s, b):
        chain.transfer(d.pub, 5 * CRAP)
        chain.transfer(d.pub, 6 * CRAP)
    return s, b, c, d


def test_attack13_hidden_fork_across_a_partition_ends_in_one_proof_and_digest() -> None:
    a_side, b_side, c, _ = _hidden_fork()
    s = a_side.pub
    common = [c.frame(1), *a_side.frames[:3]]
    p1, p2, q1, q2 = replica(), replica(), replica(), replica()
    feed(p1, [*common, *a_side.frames[3:]])
    feed(p2, reversed([*common, *a_side.frames[3:]]))
    feed(q1, [*common, *b_side.frames[3:5]])  # saw only up to 5b
    feed(q2, [*common, *b_side.frames[3:]])
    for r in (p1, p2, q1, q2):
        assert r.fork_point(s) == 0
    assert p1.digest() == p2.digest() and p1.digest() != q2.digest()
    assert p1.hwm(s) == q2.hwm(s) == 6
    assert p1.chain_hash(s, 3) == q2.chain_hash(s, 3)
    assert first_difference(6, lambda m: p1.chain_hash(s, m), lambda m: q2.chain_hash(s, m)) == 4
    sync(p1, q2)  # equal HWM, different C: bisect, exchange both versions of 4
    sync(p2, q1)  # unequal HWM: q1 walks back from 6a to 4a by fork witnesses
    for x, y in itertools.combinations((p1, p2, q1, q2), 2):
        sync(x, y)
    proof = sorted([a_side.frame(4), b_side.frame(4)])
    expected = (s, 4, *sorted([a_side.full_hash(4)[:16], b_side.full_hash(4)[:16]]))
    for r in (p1, p2, q1, q2):
        assert r.fork_point(s) == 4
        assert sorted(r.fork_frames(s)) == proof
        assert expected in r.summary()
        assert r.hwm(s) == 3
        assert r.frame_of(s, 5) is None and r.frame_of(s, 6) is None
        r.state.audit()
    assert len({r.digest() for r in (p1, p2, q1, q2)}) == 1
    assert len({tuple(r.summary()) for r in (p1, p2, q1, q2)}) == 1


def test_attack13_versions_with_different_full_hashes_are_never_duplicates() -> None:
    a_side, b_side, c, _ = _hidden_fork()
    s = a_side.pub
    assert a_side.full_hash(4) != b_side.full_hash(4)
    # Logged first version, then the second: a fork proof, not a duplicate.
    r = replica()
    feed(r, [c.frame(1), *a_side.frames[:4]])
    second = r.receive(b_side.frame(4), 0.0)
    assert second.outcome is not Outcome.DROPPED
    assert r.fork_point(s) == 4
    # Both versions held (predecessor missing): both kept, neither dropped.
    held = replica()
    assert held.receive(a_side.frame(4), 0.0).outcome is Outcome.HELD
    assert held.receive(b_side.frame(4), 0.0).outcome is Outcome.HELD
    feed(held, [c.frame(1), *a_side.frames[:3]])
    assert held.fork_point(s) == 4
    assert sorted(held.fork_frames(s)) == sorted([a_side.frame(4), b_side.frame(4)])
    assert held.digest() == r.digest()


def test_attack13_version_held_under_the_unjudged_cap_still_completes_the_proof() -> None:
    # Version a of (A, 2) arrives while the unjudged cap is full and must wait (it depends on
    # y's packet); version b is judged on arrival.  Once y arrives, or when anti-entropy
    # offers both versions again, the capped replica must end with the same proof.
    sink = public_key("capped-fork-sink")
    a, b, y = Chain("capped-fork-a"), Chain("capped-fork-b"), Chain("capped-fork-y")
    b.transfer(sink, 1)
    b.ack(ExtRef(NOWHERE, 1, bytes(8)))  # fills the only unjudged slot
    y.transfer(a.pub, 1)
    a.transfer(sink, 1)
    other = a.branch(1)
    a.transfer(sink, 2, y.ref(1))
    other.transfer(sink, 3)
    frames = [*b.frames, a.frame(1), a.frame(2), other.frame(2), y.frame(1)]
    capped, free = replica(unjudged_cap=1), replica()
    feed(capped, frames)
    feed(free, frames)
    assert free.fork_point(a.pub) == 2
    feed(capped, frames)
    sync(capped, free)
    assert capped.fork_point(a.pub) == 2
    assert capped.digest() == free.digest()


# ---------------------------------------------------------------------------- 14


def _freeze_scenario() -> tuple[Chain, Chain, Chain, Chain]:
    """S pays C at 1..4, then forks at 3; C acknowledges (S, 4) of version a and spends."""
    s, c, x = Chain("freeze-s"), Chain("freeze-c"), Chain("freeze-x")
    s.transfer(c.pub, 1_000 * CRAP)
    s.transfer(c.pub, 2_000 * CRAP)
    other = s.branch(2)
    s.transfer(c.pub, 4_000 * CRAP)
    s.transfer(c.pub, 8_000 * CRAP)
    other.transfer(c.pub, 1)  # the second version of nonce 3
    c.ack(s.ref(4))  # names (S, 4 >= fork): satisfied by the proof alone
    c.transfer(x.pub, FAUCET + 3_000 * CRAP)  # exactly what counts: faucet + S's 1 and 2
    c.transfer(x.pub, 12_000 * CRAP)  # only fundable by the refused 3a and 4a
    return s, other, c, x


def test_attack14_third_party_freeze_dependent_chain_continues_on_every_replica() -> None:
    s, other, c, _ = _freeze_scenario()
    late = replica()  # judges C's packets, then learns of the fork
    feed(late, [*s.frames, *c.frames])
    assert late.judged(c.pub, 3) is not None
    assert late.judged(c.pub, 3).reason is Reason.APPLIED  # type: ignore[union-attr]
    feed(late, [other.frame(3)])
    early = replica()  # fork proof first; never sees 4a
    feed(early, [*s.frames[:3], other.frame(3), *c.frames])
    waiting = replica()  # C's packets first: logged, unjudged, pulling S
    feed(waiting, c.frames)
    assert waiting.hwm(c.pub) == 0
    assert Want(s.pub, 1, 4) in take_wants(waiting)
    feed(waiting, [other.frame(3), *reversed(s.frames)])
    feed(waiting, [other.frame(3), *s.frames])
    for r in (late, early, waiting):
        assert r.fork_point(s.pub) == 3
        assert r.hwm(c.pub) == 3, "the dependent chain must continue"
        verdicts = [r.judged(c.pub, n).reason for n in (1, 2, 3)]  # type: ignore[union-attr]
        assert verdicts == [Reason.APPLIED, Reason.APPLIED, Reason.INSUFFICIENT]
        line = r.state.accounts[c.pub].lines[s.pub]
        assert line.watermark == 4
        assert line.acked_sum == 3_000 * CRAP and line.pending == []  # 3a, 4a credit nothing
        r.state.audit()
    assert late.digest() == early.digest() == waiting.digest()
    revised = [(v.sender, v.nonce, v.before, v.after) for v in late.revisions]
    assert (c.pub, 3, Reason.APPLIED, Reason.INSUFFICIENT) in revised


def _freeze_below_fork() -> tuple[list[bytes], Chain, Chain, Chain]:
    """S's packet 1 (a credit to C) waits for X's packet 1; S forks at 2; C acknowledges
    (S, 2) and spends S's credit from packet 1, which lies below the fork."""
    s, c, x = Chain("freeze2-s"), Chain("freeze2-c"), Chain("freeze2-x")
    x.transfer(s.pub, 1)
    s.transfer(c.pub, 50 * CRAP, x.ref(1))
    other = s.branch(1)
    s.transfer(c.pub, 1)
    other.transfer(c.pub, 2)
    c.ack(s.ref(2))
    c.transfer(x.pub, FAUCET + 50 * CRAP)
    return [x.frame(1), *s.frames, other.frame(2), *c.frames], s, c, x


def test_attack14_credits_below_the_fork_count_whatever_the_arrival_order() -> None:
    # C's ack of (S, 2) is satisfied by the fork proof, but S's packet 1 (below the fork, a
    # credit under C's new watermark) must be judged before C's packet reads its balance.
    frames, s, c, _ = _freeze_below_fork()
    in_order = replica()
    feed(in_order, frames)
    x_last = replica()
    feed(x_last, [*frames[1:], frames[0]])
    for r in (in_order, x_last):
        assert r.fork_point(s.pub) == 2
        assert r.hwm(c.pub) == 2
        assert r.judged(c.pub, 2).reason is Reason.APPLIED  # type: ignore[union-attr]
    assert x_last.digest() == in_order.digest()


def test_attack14_every_arrival_order_reaches_the_same_state() -> None:
    frames, *_ = _freeze_below_fork()
    reference = replica()
    feed(reference, frames)
    for order in itertools.permutations(frames):
        r = Replica(LOCAL, audit=True)
        feed(r, order)
        feed(r, frames)  # a second pass delivers whatever an early fork proof made it drop
        assert r.digest() == reference.digest(), [frames.index(f) for f in order]


# ---------------------------------------------------------------------------- 17


def _three_versions(fork_at: int) -> tuple[Chain, list[bytes], list[bytes], bytes]:
    s, sink = Chain(f"three-{fork_at}"), public_key("three-sink")
    for n in range(1, fork_at):
        s.transfer(sink, n)
    versions = []
    successor = b""
    for amount in (100, 200, 300):
        branch = s.branch(fork_at - 1)
        versions.append(branch.transfer(sink, amount))
        if amount == 100:
            successor = branch.transfer(sink, 1)
    return s, s.frames[: fork_at - 1], versions, successor


def test_attack17_three_versions_keep_the_same_two_smallest_in_every_order() -> None:
    for fork_at in (1, 3):
        s, prefix, versions, successor = _three_versions(fork_at)
        codec = s.codec
        by_hash = sorted(versions, key=lambda f: codec.open(f).full_hash)
        kept = sorted(by_hash[:2])
        kept_hashes = tuple(codec.open(f).full_hash for f in by_hash[:2])
        digests, summaries = set(), set()
        for order in itertools.permutations([*versions, successor]):
            for prefix_first in (True, False):
                r = replica()
                stream = [*prefix, *order] if prefix_first else [*order, *prefix]
                feed(r, stream)
                assert r.fork_point(s.pub) == fork_at
                assert sorted(r.fork_frames(s.pub)) == kept
                assert r.state.senders[s.pub].fork_hashes == kept_hashes
                assert r.hwm(s.pub) == fork_at - 1
                assert r.receive(by_hash[2], 0.0).outcome is Outcome.DROPPED
                r.state.audit()
                digests.add(r.digest())
                summaries.add(tuple(r.summary()))
        assert len(digests) == 1 and len(summaries) == 1


def test_attack17_fork_at_nonce_one_takes_the_faucet_back() -> None:
    s, _, versions, _ = _three_versions(1)
    r = replica()
    r.receive(versions[0], 0.0)
    assert r.supply == FAUCET
    feed(r, versions[1:])
    assert r.supply == 0 and r.spendable(s.pub) == 0
    r.state.audit()


def test_attack17_packet_with_a_foreign_prev_is_not_a_version_of_the_fork() -> None:
    # A packet at the fork nonce whose prev names another predecessor is not loggable (it is a
    # fork witness for the nonce below), so it must never become one of the two kept versions,
    # or replicas that saw it before and after the proof keep different pairs.
    sink = public_key("foreign-prev-sink")
    s = Chain("foreign-prev")
    s.transfer(sink, 1)
    s.transfer(sink, 2)
    s.transfer(sink, 3)
    b = s.branch(2)
    b.transfer(sink, 4)
    hashes = {s.full_hash(3), b.full_hash(3)}
    for amount in range(5, 200):  # a witness 3' (on another 2') smaller than both versions
        w = s.branch(1)
        w.transfer(sink, amount)
        w.transfer(sink, 6)
        if w.full_hash(3) < min(hashes):
            break
    else:
        raise AssertionError("no small witness found")
    after = replica()
    feed(after, [*s.frames, b.frame(3), w.frame(3)])
    before = replica()
    feed(before, [*s.frames[:2], w.frame(3), s.frame(3), b.frame(3)])
    for r in (after, before):
        assert r.fork_point(s.pub) == 3
        assert sorted(r.fork_frames(s.pub)) == sorted([s.frame(3), b.frame(3)])
    assert after.digest() == before.digest()


# ---------------------------------------------------------------------------- 18


def _unjudgeable(seed: str, count: int, dep: ExtRef) -> Chain:
    u = Chain(seed)
    u.ack(dep)
    for _ in range(count - 1):
        u.transfer(public_key("unjudgeable-sink"), 1)
    return u


def test_attack18_unjudgeable_chain_is_never_served_and_capped_by_the_window() -> None:
    h = Chain("unjudgeable-h")
    h.transfer(public_key("unjudgeable-sink"), 1)
    for dep in (ExtRef(NOWHERE, 1, bytes(8)), ExtRef(h.pub, 1, b"\xee" * 8)):
        u = _unjudgeable(f"unjudgeable-{dep.sender.hex()[:6]}", 70, dep)
        r = replica()
        r.receive(h.frame(1), 0.0)
        fresh = r.digest()
        results = feed(r, u.frames)
        assert [x.outcome for x in results[:64]] == [Outcome.LOGGED] * 64
        assert {x.outcome for x in results[64:]} == {Outcome.DROPPED}  # beyond HWM 0 + 64
        assert all(not x.judged for x in results)  # nothing of U is ever judged or forwarded
        assert unjudged_count(r) == 64
        assert r.hwm(u.pub) == 0
        assert all(r.frame_of(u.pub, n) is None for n in range(1, 71))
        assert all(entry[0] != u.pub for entry in r.summary())
        assert r.digest() == fresh
        wants = take_wants(r)
        assert wants in ([Want(NOWHERE, 1, 1)], [Want(h.pub, 1, 1, b"\xee" * 8)])
        feed(r, u.frames)
        assert take_wants(r) == []  # asked once


def test_attack18_unjudgeable_chains_are_capped_in_total() -> None:
    cap = 100
    honest, sink = Chain("unjudgeable-total-h"), public_key("unjudgeable-sink")
    r = replica(unjudged_cap=cap)
    r.receive(honest.transfer(sink, 1), 0.0)
    for i in range(5):
        u = _unjudgeable(f"unjudgeable-total-{i}", 64, ExtRef(NOWHERE, 1, bytes(8)))
        feed(r, u.frames)
        assert unjudged_count(r) <= cap
        assert r.receive(honest.transfer(sink, 1), 0.0).outcome is Outcome.JUDGED
    assert r.hwm(honest.pub) == 6


def test_attack18_single_packet_sybils_do_not_freeze_new_honest_keys() -> None:
    # Each Sybil logs one unjudgeable packet, filling the total cap.  A new honest key's first
    # packet depends on nothing and is judged on arrival: it must get through (and a resend
    # must not be dropped as a duplicate of a packet that was never logged).
    cap = 4
    r = replica(unjudged_cap=cap)
    for i in range(cap):
        sybil = _unjudgeable(f"unjudgeable-one-{i}", 1, ExtRef(NOWHERE, 1, bytes(8)))
        assert r.receive(sybil.frame(1), 0.0).outcome is Outcome.LOGGED
    newcomer = Chain("unjudgeable-newcomer")
    first = newcomer.transfer(public_key("unjudgeable-sink"), 1)
    r.receive(first, 0.0)
    r.receive(first, 0.0)
    assert r.hwm(newcomer.pub) == 1
    assert unjudged_count(r) <= cap


def test_attack18_new_key_acknowledging_a_late_transfer_is_not_frozen() -> None:
    # Sybils fill the unjudged cap.  A newcomer acknowledges a payment this replica has not
    # seen yet: it cannot take a slot, but once the payment arrives its packet is judgeable
    # on arrival and must get through (held copy placed again, or its resend accepted).
    cap = 4
    r = replica(unjudged_cap=cap)
    for i in range(cap):
        sybil = _unjudgeable(f"unjudgeable-late-{i}", 1, ExtRef(NOWHERE, 1, bytes(8)))
        r.receive(sybil.frame(1), 0.0)
    payer, newcomer = Chain("unjudgeable-payer"), Chain("unjudgeable-late-newcomer")
    payer.transfer(newcomer.pub, 10 * CRAP)
    newcomer.ack(payer.ref(1))
    r.receive(newcomer.frame(1), 0.0)
    assert r.receive(payer.frame(1), 0.0).outcome is Outcome.JUDGED
    r.receive(newcomer.frame(1), 0.0)
    assert r.hwm(newcomer.pub) == 1
    assert r.spendable(newcomer.pub) == FAUCET + 10 * CRAP
    assert unjudged_count(r) <= cap


# ---------------------------------------------------------------------------- 19


def test_attack19_far_ahead_flood_is_dropped_or_evicted_first() -> None:
    cap = 16
    sink = public_key("flood-sink")
    old, new = Chain("flood-old"), Chain("flood-new")
    for _ in range(6):
        old.transfer(sink, 1)
        new.transfer(sink, 1)
    sybils = [Chain(f"flood-sybil-{i}") for i in range(24)]
    r = replica(held_cap=cap)
    r.receive(old.frame(1), 0.0)
    # Far beyond the window: dropped, nothing held, nothing pulled.
    for sybil in sybils:
        far = sybil.codec.seal(sybil.key, 1_000, b"\x01" * 8, transfer(sink, 1))
        result = r.receive(far, 0.0)
        assert result.outcome is Outcome.DROPPED and result.error is None
    assert r.footprint()["held"] == 0 and take_wants(r) == []
    # Inside the window but far ahead: held, then evicted before honest packets.
    for sybil in sybils:
        for _ in range(64):
            sybil.transfer(sink, 1)
    honest = [*[old.frame(n) for n in range(6, 1, -1)], *[new.frame(n) for n in range(6, 1, -1)]]
    for i, frame in enumerate(honest):
        for sybil in sybils[2 * i : 2 * i + 3]:
            r.receive(sybil.frame(64 - i), 0.0)
        expected = Outcome.JUDGED if frame == old.frame(2) else Outcome.HELD  # 2 fills old's gap
        assert r.receive(frame, 0.0).outcome is expected
        assert r.footprint()["held"] <= cap
    assert r.counters().get("evicted_held", 0) > 0
    r.receive(new.frame(1), 0.0)
    assert r.hwm(old.pub) == 6 and r.hwm(new.pub) == 6
    assert all(r.hwm(sybil.pub) == 0 for sybil in sybils)
