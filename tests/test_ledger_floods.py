"""The ledger under attack: one packet must not cost a replica more than a packet's worth.

Each test plays one finding against the replica through its public ingest API, as an adversary
on the mesh would: references to far-away nonces, forks at tiny caps, floods of far-ahead and
unresolvable packets, fork versions in decreasing hash order, liveness with the unjudged log
full, a sender naming its own other version, and late forks in long histories.  Structures are
measured with ``Replica.footprint()``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from random import Random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from node.core.antientropy import first_difference
from node.core.pulls import Want
from node.core.replica import Replica
from node.core.verdicts import Outcome, Reason
from node.drivers.durable import DurableReplica
from node.drivers.store import Store
from protocol.constants import HOLDBACK_WINDOW, MAX_NONCE
from protocol.frame import FrameCodec
from protocol.genesis import LOCAL, Genesis
from protocol.kinds import ExtRef
from tests.ledger_factory import Chain, feed, public_key, take_wants
from tests.ledger_harness import History, Pool, histories

NOWHERE = public_key("floods-nobody-ever-signs")
"""A valid key that never signs: a dependency on it is never judged."""


def capped(held: int = 20_000, unjudged: int = 20_000, genesis: Genesis = LOCAL) -> Replica:
    return Replica(genesis, audit=True, held_cap=held, unjudged_cap=unjudged)


def nowhere(nonce: int = 1) -> ExtRef:
    return ExtRef(NOWHERE, nonce, bytes(8))


def judged_frames(r: Replica) -> list[bytes]:
    """What a capped replica has judged (and the fork proofs it holds), as frames."""
    frames = [e.frame for e in r.judged_in_order()]
    for sender in r.forked():
        frames += r.fork_frames(sender)
    return frames


# ---------------------------------------------------------------- 1. a reference costs O(1)


def test_ack_naming_the_last_nonce_of_a_key_costs_one_range_want() -> None:
    a, b = Chain("floods-far-a"), Chain("floods-far-b")
    r = capped()
    result = r.receive(a.ack(ExtRef(NOWHERE, MAX_NONCE, bytes(8))), 0.0)
    assert result.outcome is Outcome.LOGGED
    # one range, clipped to what the window lets the replica hold; never enumerated
    assert take_wants(r) == [Want(NOWHERE, 1, HOLDBACK_WINDOW)]
    assert r.footprint()["pull_marks"] == 1
    # every later packet naming it costs what any packet costs: no new want, one waiter more
    for nonce in (4_000_000, MAX_NONCE - 1, MAX_NONCE):
        assert b.ack(ExtRef(NOWHERE, nonce, bytes(8))) is not None
    feed(r, b.frames)
    assert take_wants(r) == []
    assert r.footprint()["waiting"] == 2  # a's packet and b's first; b's later wait behind it
    assert r.footprint()["pull_marks"] == 1


def test_reference_beyond_the_window_is_pulled_window_by_window() -> None:
    x, a = Chain("floods-window-x"), Chain("floods-window-a")
    for _ in range(100):
        x.transfer(NOWHERE, 1)
    r = capped()
    assert r.receive(a.ack(x.ref(100)), 0.0).outcome is Outcome.LOGGED
    assert take_wants(r) == [Want(x.pub, 1, HOLDBACK_WINDOW)]
    feed(r, x.frames[:HOLDBACK_WINDOW])
    assert r.hwm(x.pub) == HOLDBACK_WINDOW
    assert take_wants(r) == [Want(x.pub, HOLDBACK_WINDOW + 1, 100)]
    feed(r, x.frames[HOLDBACK_WINDOW:])
    assert r.hwm(a.pub) == 1 and r.footprint()["pull_marks"] == 0


# --------------------------------------------- 2. nothing but the documented errors escapes


def _versions_in_hash_order(chain: Chain, keep: int, count: int) -> list[bytes]:
    """``count`` versions of ``chain``'s nonce ``keep + 1``, sorted by full hash."""
    frames = []
    for i in range(count):
        branch = chain.branch(keep)
        branch.ack(ExtRef(NOWHERE, 1 + i, bytes(8)))
        frames.append((branch.full_hash(keep + 1), branch.frame(keep + 1)))
    return [f for _, f in sorted(frames)]


def test_third_version_of_a_fork_whose_suffix_was_evicted_is_placed_without_error() -> None:
    # S holds a local fork proof at 3 while S's 1..2 wait unjudged; the unjudged cap evicts
    # S's suffix; a third version whose full hash is below the larger kept one arrives.
    s, t, u = Chain("floods-idx-s"), Chain("floods-idx-t"), Chain("floods-idx-u")
    s.ack(nowhere())
    s.transfer(NOWHERE, 1)
    low, third, high = _versions_in_hash_order(s, 2, 3)
    t.ack(nowhere())
    u.ack(nowhere())
    r = capped(unjudged=3)
    feed(r, [s.frame(1), s.frame(2), high])
    assert r.receive(low, 0.0).why == "fork_proof"
    feed(r, [t.frame(1), u.frame(1)])  # s's suffix (2 ahead, no history) is evicted
    assert not r.known(s.pub, 1, s.full_hash(1))
    result = r.receive(third, 0.0)  # raised IndexError when the fork gate read the evicted chain
    assert result.outcome in (Outcome.HELD, Outcome.DROPPED)
    fresh = Replica(LOCAL, audit=True)
    feed(fresh, judged_frames(r))
    assert fresh.digest() == r.digest()


def _shuffled(frames: Sequence[bytes], rng: Random) -> list[bytes]:
    out = [f for f in frames for _ in range(rng.randint(1, 2))]
    rng.shuffle(out)
    return out


def _deliver(r: Replica, history: History, rng: Random, passes: int) -> None:
    """Every frame, both sides of every hidden fork, ``passes`` times in random orders, with
    every pull answered from the pool."""
    pool: Pool = history.pool
    everything = [*history.frames, *(f for a, b in history.sides for f in (*a, *b))]
    for _ in range(passes):
        for frame in _shuffled(everything, rng):
            r.receive(frame, 0.0)
        for _ in range(20):
            wants = take_wants(r)
            if not wants:
                break
            for want in wants:
                for frame in pool.answer(want):
                    r.receive(frame, 0.0)


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    history=histories(
        actions=("fork_over_waiting", "transfer_with_acks", "ack", "late_fork", "far_ahead"),
        first=("transfer", "transfer"),
        max_actions=10,
    ),
    held=st.integers(2, 8),
    unjudged=st.integers(2, 8),
    seed=st.integers(0, 2**32),
)
def test_tiny_caps_raise_nothing_and_a_fresh_replica_agrees_on_what_they_judged(
    history: History, held: int, unjudged: int, seed: int
) -> None:
    rng = Random(seed)
    r = capped(held=held, unjudged=unjudged, genesis=history.genesis)
    _deliver(r, history, rng, passes=2)  # any exception fails the test
    footprint = r.footprint()
    assert footprint["held"] <= held
    assert footprint["unjudged"] <= unjudged + r.reserve
    assert footprint["capped"] <= footprint["held"]
    fresh = Replica(history.genesis, audit=True)
    for frame in judged_frames(r):
        fresh.receive(frame, 0.0)
    assert fresh.digest() == r.digest()
    # Liveness: delivered often enough, a capped replica reaches what an uncapped one holds.
    _deliver(r, history, rng, passes=8)
    reference = Replica(history.genesis, audit=True)
    _deliver(reference, history, Random(seed + 1), passes=1)
    assert r.digest() == reference.digest()


# ------------------------------------------------ 3. what a flood grows is bounded and freed


def test_waves_of_far_ahead_packets_leave_no_pull_marks_behind() -> None:
    cap = 200
    r = capped(held=cap)
    for wave in range(5):
        for i in range(400):
            key = Chain(f"floods-wave-{wave}-{i}")
            branch = key.branch(0)
            # one packet far ahead (64, 63, 62 …): its gap below is asked for
            for _ in range(HOLDBACK_WINDOW - wave):
                branch.transfer(NOWHERE, 1)
            # held, or (ties go newest arrival first) dropped as it arrives
            assert r.receive(branch.frames[-1], 0.0).outcome in (Outcome.HELD, Outcome.DROPPED)
        take_wants(r)
        footprint = r.footprint()
        assert footprint["held"] <= cap
        assert footprint["pull_senders"] <= cap
        assert footprint["pull_marks"] <= cap
        assert footprint["seen"] <= cap


def test_packets_held_for_want_of_room_leave_no_marks_once_evicted() -> None:
    r = capped(held=50, unjudged=10)
    for i in range(400):
        r.receive(Chain(f"floods-room-{i}").ack(nowhere()), 0.0)
    footprint = r.footprint()
    assert footprint["unjudged"] <= 10 + r.reserve
    assert footprint["held"] <= 50
    assert footprint["capped"] <= footprint["held"]
    assert footprint["capped_waiting"] == footprint["capped"]
    assert footprint["waiting"] <= footprint["unjudged"]
    assert footprint["pull_senders"] <= footprint["held"] + footprint["unjudged"]


def test_evicted_packets_are_not_kept_alive_by_what_they_waited_for() -> None:
    r = capped(held=10, unjudged=20)
    for cycle in range(10):
        for i in range(100):
            chain = Chain(f"floods-evict-{cycle}-{i}")
            chain.ack(nowhere())
            chain.transfer(NOWHERE, 1)
            feed(r, chain.frames)
        footprint = r.footprint()
        assert footprint["waiting"] <= footprint["unjudged"] <= 20 + r.reserve
        assert footprint["chains_unjudged"] <= footprint["unjudged"]


def test_fork_versions_in_decreasing_hash_order_keep_two_everywhere(tmp_path: Path) -> None:
    s = Chain("floods-versions-s")
    s.transfer(NOWHERE, 1)
    versions = _versions_in_hash_order(s, 1, 60)[::-1]
    durable = DurableReplica(LOCAL, Store(tmp_path / "node.db", LOCAL.network_id))
    durable.receive([s.frame(1)])
    forwarded = 0
    for frame in versions:
        forwarded += len(durable.receive([frame]).accepted)
    r = durable.replica
    assert r.fork_point(s.pub) == 2
    assert r.footprint()["fork_versions"] == 2 and r.footprint()["seen"] == 0
    assert sorted(r.fork_frames(s.pub)) == sorted(versions[-2:])
    # the two kept, plus each that was kept for a while: every later one displaced it
    assert forwarded == len(versions)
    store = durable.store
    assert len(store.fork_evidence()) == 2 and store.log_size() == 1
    store.close()
    again = DurableReplica(LOCAL, Store(tmp_path / "node.db", LOCAL.network_id))
    assert again.replica.digest() == r.digest()
    assert sorted(again.replica.fork_frames(s.pub)) == sorted(versions[-2:])
    again.store.close()


# --------------------------------------------------------------- 4. liveness under the caps


def test_fork_proof_releases_the_only_slot_when_both_versions_wait_for_room() -> None:
    s, p = Chain("floods-live-s"), Chain("floods-live-p")
    s.transfer(NOWHERE, 1)
    v1, v2 = _versions_in_hash_order(s, 1, 2)  # each names a key that never signs
    p.ack(ExtRef(s.pub, 2, bytes(8)))  # waits for (s, 2): only the fork proof satisfies it
    r = capped(unjudged=1)
    feed(r, [s.frame(1), p.frame(1)])
    assert r.footprint()["unjudged"] == 1
    for _ in range(3):
        feed(r, [v1, v2])
    assert r.fork_point(s.pub) == 2
    assert r.judged(p.pub, 1) is not None


def test_two_waiting_suffixes_do_not_evict_each_other_for_ever() -> None:
    # a's suffix waits for c; b's packet waits for a's 2; with room for two, every arrival
    # order of every re-delivery must end with all of it judged.
    a, b, c = Chain("floods-mutual-a"), Chain("floods-mutual-b"), Chain("floods-mutual-c")
    c.transfer(NOWHERE, 1)
    a.ack(c.ref(1))
    a.transfer(NOWHERE, 1)
    b.ack(a.ref(2))
    frames = [a.frame(1), a.frame(2), b.frame(1), c.frame(1)]
    rng = Random(11)
    for _ in range(40):
        r = capped(unjudged=2, held=2)
        for _ in range(4):
            feed(r, _shuffled(frames, rng))
        assert (r.hwm(a.pub), r.hwm(b.pub), r.hwm(c.pub)) == (2, 1, 1)


# ---------------------------------------------- 5. own references and versions sharing an h


def test_own_reference_to_another_version_is_a_fork_witness() -> None:
    s, other = Chain("floods-own-s"), Chain("floods-own-s")
    s.transfer(NOWHERE, 1)
    other.ack(nowhere())  # a second version of s's nonce 1
    s.ack(ExtRef(s.pub, 1, other.h(1)))  # s's 2 names its own 1 by the other version's h
    r = capped()
    feed(r, s.frames)
    assert r.judged(s.pub, 2) is None  # not judged as if the field were unchecked
    assert Want(s.pub, 1, 1, other.h(1)) in take_wants(r)
    r.receive(other.frame(1), 0.0)
    assert r.fork_point(s.pub) == 1


# ------------------------------------------------- 6. a late fork costs its cone, not history


def test_late_fork_of_a_key_with_no_dependents_rejudges_only_its_own_packet() -> None:
    traders = [Chain(f"floods-trader-{i}") for i in range(4)]
    loner, loner_fork = Chain("floods-loner"), Chain("floods-loner")
    loner.transfer(traders[0].pub, 5)
    loner_fork.transfer(traders[1].pub, 6)
    r = Replica(LOCAL)
    r.receive(loner.frame(1), 0.0)
    for n in range(600):
        giver = traders[n % 4]
        r.receive(giver.transfer(traders[(n + 1) % 4].pub, 1), 0.0)
    before = r.counters().get("rejudged", 0)
    r.receive(loner_fork.frame(1), 0.0)
    assert r.fork_point(loner.pub) == 1
    assert r.counters().get("rejudged", 0) - before == 1  # the loner's packet, nothing else
    fresh = Replica(LOCAL)
    feed(fresh, [loner.frame(1), loner_fork.frame(1), *(t for c in traders for t in c.frames)])
    assert fresh.digest() == r.digest()


def test_late_fork_rejudges_the_dependents_and_reverts_their_credit() -> None:
    a, a_fork, b, c = (
        Chain("floods-cone-a"),
        Chain("floods-cone-a"),
        Chain("floods-cone-b"),
        (Chain("floods-cone-c")),
    )
    a.transfer(b.pub, 70_000 * 10**6)
    a_fork.transfer(c.pub, 1)
    b.transfer(c.pub, 150_000 * 10**6, a.ref(1))  # only fundable with a's credit
    late = capped()
    feed(late, [a.frame(1), b.frame(1)])
    assert late.judged(b.pub, 1).reason is Reason.APPLIED  # type: ignore[union-attr]
    late.receive(a_fork.frame(1), 0.0)
    assert late.judged(b.pub, 1).reason is Reason.INSUFFICIENT  # type: ignore[union-attr]
    early = capped()
    feed(early, [a_fork.frame(1), a.frame(1), b.frame(1)])
    assert early.digest() == late.digest()


# ---------------------------------------- 5b. two versions sharing an 8-byte h (a real collision)

COLLISION = Path(__file__).parent / "vectors" / "h_collision.json"


def _collision() -> tuple[bytes, bytes, bytes]:
    """Two validly signed versions of ``(collision, 1)`` whose 8-byte h are equal
    (scripts/gen_collision.py found them by a birthday search)."""
    data = json.loads(COLLISION.read_text())
    v1, v2 = (bytes.fromhex(v["frame"]) for v in data["versions"])
    return v1, v2, bytes.fromhex(data["h"])


def test_the_collision_vector_is_two_versions_with_one_h() -> None:
    v1, v2, h = _collision()
    codec = FrameCodec(LOCAL.network_id)
    e1, e2 = codec.open(v1), codec.open(v2)
    codec.verify(e1)
    codec.verify(e2)
    assert (e1.sender, e1.nonce) == (e2.sender, e2.nonce)
    assert e1.h == e2.h == h and e1.full_hash != e2.full_hash


def test_a_want_by_an_h_two_versions_share_is_answered_with_both() -> None:
    v1, v2, h = _collision()
    sender = FrameCodec(LOCAL.network_id).open(v1).sender
    r = capped()
    feed(r, [v1, v2])
    assert r.fork_point(sender) == 1
    assert sorted(r.serve(Want(sender, 1, 1, h))) == sorted([v1, v2])


def test_a_hidden_fork_with_equal_h_is_found_by_bisection_and_proven_on_both_sides() -> None:
    v1, v2, _ = _collision()
    sender = FrameCodec(LOCAL.network_id).open(v1).sender
    left, right = capped(), capped()
    feed(left, [v1])
    feed(right, [v2])
    assert left.hwm(sender) == right.hwm(sender) == 1
    assert left.chain_hash(sender, 1) != right.chain_hash(sender, 1)  # full hashes differ
    d = first_difference(
        1, lambda n: left.chain_hash(sender, n), lambda n: right.chain_hash(sender, n)
    )
    assert d == 1
    feed(left, [v2])
    feed(right, [v1])
    assert left.fork_point(sender) == right.fork_point(sender) == 1
    assert left.digest() == right.digest()
