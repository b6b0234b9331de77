"""Convergence (DESIGN.md section 4): replicas that end with the same packets hold the same state.

The property feeds 3-4 replicas random permutations of generated multi-identity histories, with
duplicates, forged frames, hidden forks across a partition, restarts partway from a real store
(node/drivers/store.py), pulls and anti-entropy, and checks that they agree with each other and
with a replica that saw every packet in signing order.  A deliberately wrong balance check must
break it.  Named scenarios follow.
"""

from __future__ import annotations

import itertools
import os
from collections import Counter
from pathlib import Path
from random import Random

import pytest
from hypothesis import HealthCheck, Phase, event, find, given, settings
from hypothesis import strategies as st

from node.core.events import Revision
from node.core.replica import Replica
from node.core.verdicts import Outcome, Reason
from protocol.constants import CRAP, ZERO_PREV
from protocol.frame import FrameCodec
from protocol.genesis import LOCAL
from protocol.kinds import Ack, ExtRef, Transfer
from tests.ledger_harness import (
    KEYS,
    History,
    Mesh,
    Pool,
    VerdictKey,
    deliver,
    describe,
    histories,
    judge_counting_pending,
    lost_on_restart,
    open_durable,
    restart,
    verdicts,
)

FAST_EXAMPLES = 300
SLOW_EXAMPLES = int(os.environ.get("BITCRAPS_SLOW_EXAMPLES", "600"))
HEALTH = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much]
FAUCET = LOCAL.faucet_amount
CODEC = FrameCodec(LOCAL.network_id)
SEEDS = st.integers(0, 2**32 - 1)
"""The delivery order comes from ``Random(seed)``: one drawn integer, not a Hypothesis random
whose every call is a recorded choice (cheaper to generate, and a failure replays from the seed)."""
A, B, C = (bytes(k.verify_key) for k in KEYS[:3])


def verdict_diff(
    codec: FrameCodec,
    history: History,
    mine: dict[VerdictKey, Reason],
    theirs: dict[VerdictKey, Reason],
) -> str:
    frames = {(e.sender, e.nonce, e.full_hash): f for f in history.signed for e in [codec.open(f)]}
    lines = []
    for key in sorted(mine.keys() | theirs.keys()):
        a, b = mine.get(key), theirs.get(key)
        if a != b:
            what = describe(codec, frames[key]) if key in frames else repr(key)
            lines.append(f"{what}: {a and a.label} != {b and b.label}")
    return "\n".join(lines)


def converge(history: History, rng: Random, n: int, *, restarts: int = 2) -> Counter[str]:
    """Run ``history`` through ``n`` audited replicas and assert every convergence property;
    return what was observed."""
    replicas = [Replica(history.genesis, audit=True) for _ in range(n)]
    stats = deliver(
        replicas,
        history.frames,
        rng,
        pool=history.pool,
        sides=history.sides,
        forged=history.forged,
        restarts=restarts,
    )
    codec = FrameCodec(history.genesis.network_id)
    first = verdicts(replicas[0])
    for i, replica in enumerate(replicas):
        replica.state.audit()
        mine = verdicts(replica)
        assert mine == first, f"replica {i} vs 0:\n{verdict_diff(codec, history, mine, first)}"
        assert replica.summary() == replicas[0].summary(), f"replica {i}: anti-entropy entries"
        assert replica.supply == replicas[0].supply, f"replica {i}: supply"
        assert replica.digest() == replicas[0].digest(), f"replica {i}: digest"
    # The same packets ingested once each, in signing order, make the same state.
    canonical = Replica(history.genesis, audit=True)
    for frame in history.signed:
        env = codec.open(frame)
        if (env.sender, env.nonce, env.full_hash) in first:
            canonical.receive(frame, 0.0)
    theirs = verdicts(canonical)
    assert first == theirs, f"mesh vs signing order:\n{verdict_diff(codec, history, first, theirs)}"
    assert replicas[0].digest() == canonical.digest()
    if not stats["lost"]:
        # No restart lost anything held in memory only: the mesh holds what the authors signed.
        expected = verdicts(history.reference)
        assert first == expected, (
            f"mesh vs authors:\n{verdict_diff(codec, history, first, expected)}"
        )
        assert replicas[0].digest() == history.reference.digest()
        stats["full_reference"] += 1
    for replica in replicas:
        stats["revisions"] += len(replica.revisions)
        stats["forked_senders"] += sum(1 for s in replica.forked() if replica.fork_point(s))
    for reason in first.values():
        stats[reason.label] += 1
    return stats


OBSERVED = (
    "applied",
    "refused(insufficient)",
    "refused(self_transfer)",
    "refused(unfunded)",
    "refused(equivocated)",
    "refused(bad_reference)",
    "forked_senders",
    "revisions",
    "held",
    "fork_witness",
    "beyond_window",
    "duplicate",
    "above_fork",
    "BadSignature",
    "restarts",
    "restored_from_snapshot",
    "wants",
    "ae_bisect",
    "ae_fork_frames",
    "full_reference",
)


CLAIMS = (
    "transfer",
    "insufficient",
    "self_transfer",
    "ack",
    "ack_refused",
    "transfer_with_acks",
    "mutant_bait",
    "forged",
    "far_ahead",
    "burst",
    "bad_reference",
    "early_fork",
    "late_fork",
    "credit_below_fork",
    "three_versions",
    "hidden_fork",
    "above_fork",
)


def run_property(examples: int, max_actions: int = 16) -> Counter[str]:
    """Run the property ``examples`` times; return how many examples showed each observation."""
    seen: Counter[str] = Counter()

    @settings(max_examples=examples, deadline=None, suppress_health_check=HEALTH)
    @given(
        history=histories(max_actions=max_actions),
        seed=SEEDS,
        n=st.integers(3, 4),
    )
    def prop(history: History, seed: int, n: int) -> None:
        stats = converge(history, Random(seed), n)
        for name in OBSERVED:
            if stats[name]:
                event(name)
                seen[name] += 1
        seen["examples"] += 1
        seen.update(f"claim:{claim}" for claim in history.claims)

    prop()
    return seen


def assert_generator_delivers(seen: Counter[str]) -> None:
    """The generator makes what it claims (every action kind) and the replicas show it: forks,
    every refusal kind, held packets, revisions, rejected forgeries, restarts, ..."""
    missing = [name for name in OBSERVED if not seen[name]]
    missing += [f"claim:{name}" for name in CLAIMS if not seen[f"claim:{name}"]]
    assert not missing, f"never observed in {seen['examples']} examples: {missing}; saw {seen}"


def test_replicas_converge_whatever_the_order() -> None:
    seen = run_property(FAST_EXAMPLES)
    assert_generator_delivers(seen)


@pytest.mark.slow
def test_replicas_converge_whatever_the_order_many_histories() -> None:
    seen = run_property(SLOW_EXAMPLES, max_actions=40)
    assert_generator_delivers(seen)


# --------------------------------------------------------------------------- mutation check


def diverges(case: tuple[History, int]) -> bool:
    """True when replicas with the arrival-order balance check end with different digests."""
    history, seed = case
    rng = Random(seed)
    replicas = [Replica(history.genesis, judge=judge_counting_pending) for _ in range(4)]
    deliver(
        replicas, history.frames, rng, pool=history.pool, sides=history.sides, forged=history.forged
    )
    return len({r.digest() for r in replicas}) > 1


def test_mutant_reading_arrival_order_breaks_convergence() -> None:
    cases = st.tuples(
        histories(actions=("transfer", "ack", "spend_unacked"), first=("spend_unacked",) * 2),
        st.integers(0, 2**32),
    )
    history, _ = find(
        cases,
        diverges,
        settings=settings(
            max_examples=200,
            deadline=None,
            database=None,
            phases=[Phase.generate],
            suppress_health_check=HEALTH,
        ),
    )
    assert history.claims["mutant_bait"] >= 1


def test_correct_balance_check_converges_on_the_mutant_bait() -> None:
    """The histories that break the mutant converge with the real balance check."""

    @settings(max_examples=10, deadline=None, suppress_health_check=HEALTH, database=None)
    @given(
        history=histories(
            actions=("transfer", "ack", "spend_unacked"), first=("spend_unacked",) * 2
        ),
        seed=SEEDS,
    )
    def prop(history: History, seed: int) -> None:
        converge(history, Random(seed), 4, restarts=0)

    prop()


# --------------------------------------------------------------------------- named scenarios


def seal(key: int, nonce: int, prev: bytes, body: Transfer | Ack) -> bytes:
    return CODEC.seal(KEYS[key], nonce, prev, body)


def h(frame: bytes) -> bytes:
    return CODEC.open(frame).h


def full(frame: bytes) -> bytes:
    return CODEC.open(frame).full_hash


def fed(frames: list[bytes]) -> Replica:
    replica = Replica(LOCAL, audit=True)
    for frame in frames:
        replica.receive(frame, 0.0)
    return replica


def test_late_fork_rejudges_dependent_transfer_to_refused_with_a_revision() -> None:
    a1 = seal(0, 1, ZERO_PREV, Transfer(C, 1, ()))
    a2 = seal(0, 2, h(a1), Transfer(B, 60_000 * CRAP, ()))
    b1 = seal(1, 1, ZERO_PREV, Transfer(C, 150_000 * CRAP, (ExtRef(A, 2, h(a2)),)))
    a2x = seal(0, 2, h(a1), Transfer(B, 60_000 * CRAP + 1, ()))

    replica = fed([a1, a2, b1])
    assert replica.judged(B, 1) is not None
    assert replica.judged(B, 1).reason is Reason.APPLIED  # type: ignore[union-attr]
    result = replica.receive(a2x, 0.0)

    assert result.outcome is Outcome.LOGGED and result.reason is Reason.EQUIVOCATED
    assert Revision(B, 1, Reason.APPLIED, Reason.INSUFFICIENT) in replica.revisions
    assert Revision(A, 2, Reason.APPLIED, Reason.EQUIVOCATED) in replica.revisions
    assert replica.judged(B, 1).reason is Reason.INSUFFICIENT  # type: ignore[union-attr]
    assert replica.fork_point(A) == 2
    assert replica.spendable(B) == FAUCET
    replica.state.audit()
    digests = set()
    for order in itertools.permutations([a1, a2, b1, a2x]):
        other = fed(list(order))
        assert other.judged(B, 1).reason is Reason.INSUFFICIENT  # type: ignore[union-attr]
        digests.add(other.digest())
    assert digests == {replica.digest()}


def test_fork_at_nonce_one_takes_back_the_faucet_mint() -> None:
    a1 = seal(0, 1, ZERO_PREV, Transfer(B, 10 * CRAP, ()))
    b1 = seal(1, 1, ZERO_PREV, Ack((ExtRef(A, 1, h(a1)),)))
    a1x = seal(0, 1, ZERO_PREV, Transfer(B, 11 * CRAP, ()))

    replica = fed([a1, b1])
    assert replica.supply == 2 * FAUCET
    assert replica.spendable(B) == FAUCET + 10 * CRAP
    replica.receive(a1x, 0.0)

    assert replica.fork_point(A) == 1
    assert replica.supply == FAUCET
    assert replica.spendable(A) == 0
    assert replica.spendable(B) == FAUCET
    replica.state.audit()
    digests = {fed(list(order)).digest() for order in itertools.permutations([a1, b1, a1x])}
    assert digests == {replica.digest()}


def test_three_versions_keep_the_two_smallest_full_hashes_on_every_replica() -> None:
    s1 = seal(0, 1, ZERO_PREV, Transfer(B, 1, ()))
    versions = [seal(0, 2, h(s1), Transfer(B, amount, ())) for amount in (2, 3, 4)]
    kept = sorted(full(v) for v in versions)[:2]

    replicas = []
    for order in itertools.permutations(versions):
        replica = fed([s1, *order])
        assert sorted(full(f) for f in replica.fork_frames(A)) == kept
        replicas.append(replica)
    assert len({r.digest() for r in replicas}) == 1

    # Each replica sees only two of the three; gossip brings them to the same two.
    pool = Pool(CODEC)
    for frame in [s1, *versions]:
        pool.add(frame)
    mesh = Mesh(pool)
    partial = [fed([s1, *pair]) for pair in itertools.combinations(versions, 2)]
    mesh.settle(partial)
    for replica in partial:
        assert sorted(full(f) for f in replica.fork_frames(A)) == kept
    assert len({r.digest() for r in [*partial, *replicas]}) == 1


def test_dependent_on_a_fork_waits_for_the_forkers_credit_below_the_fork() -> None:
    """A dependency on (X, m >= fork) is satisfied by the proof, but the dependent's balance
    reads X's credits below the fork: it is judged only once X is judged up to the fork, so
    the verdict does not depend on whether X's earlier packets were judged first."""
    y1 = seal(1, 1, ZERO_PREV, Transfer(C, 1, ()))
    x1 = seal(0, 1, ZERO_PREV, Transfer(C, 50_000 * CRAP, (ExtRef(B, 1, h(y1)),)))
    x2 = seal(0, 2, h(x1), Transfer(B, 1, ()))
    x2b = seal(0, 2, h(x1), Transfer(B, 2, ()))
    c1 = seal(2, 1, ZERO_PREV, Transfer(B, 140_000 * CRAP, (ExtRef(A, 2, h(x2)),)))

    early = fed([y1, x1, x2, x2b, c1])
    late = fed([x1, x2, x2b, c1])
    assert late.judged(C, 1) is None  # waits for (A, 1), which waits for (B, 1)
    late.receive(y1, 0.0)

    for replica in (early, late):
        assert replica.judged(C, 1).reason is Reason.APPLIED  # type: ignore[union-attr]
    assert early.digest() == late.digest()
    orders = itertools.permutations([y1, x1, x2, x2b, c1])
    assert {fed(list(order)).digest() for order in orders} == {early.digest()}


def test_restart_from_the_store_keeps_the_digest_and_the_fork_proof(tmp_path: Path) -> None:
    a1 = seal(0, 1, ZERO_PREV, Transfer(B, 5 * CRAP, ()))
    a2 = seal(0, 2, h(a1), Transfer(C, 1, ()))
    b1 = seal(1, 1, ZERO_PREV, Ack((ExtRef(A, 2, h(a2)),)))
    a2x = seal(0, 2, h(a1), Transfer(C, 2, ()))
    durable = open_durable(LOCAL, tmp_path / "node.db", audit=True)
    durable.receive([a1, a2, b1])
    durable.receive([a2x])
    replica = durable.replica

    again = restart(durable)
    rebuilt = again.replica

    assert rebuilt.digest() == replica.digest()
    assert sorted(rebuilt.fork_frames(A)) == sorted(replica.fork_frames(A))
    assert verdicts(rebuilt) == verdicts(replica)
    assert again.revisions() == list(replica.revisions)  # the store keeps them
    assert not lost_on_restart(replica, rebuilt)


def test_restart_loses_held_and_unjudged_packets_and_unaccepted_proofs(tmp_path: Path) -> None:
    """Only judged packets and accepted fork proofs are in the store; the rest is memory."""
    b1 = seal(1, 1, ZERO_PREV, Transfer(C, 1, ()))
    a1 = seal(0, 1, ZERO_PREV, Ack((ExtRef(B, 1, h(b1)),)))  # logged, waits for (B, 1)
    a2 = seal(0, 2, h(a1), Transfer(C, 1, ()))
    a2x = seal(0, 2, h(a1), Transfer(C, 2, ()))  # a proof; A is not judged up to the fork
    c2 = seal(2, 2, h(b1), Transfer(A, 1, ()))  # held: (C, 1) is missing
    durable = open_durable(LOCAL, tmp_path / "node.db", audit=True)
    durable.receive([a1, a2, a2x, c2])
    replica = durable.replica
    footprint = replica.footprint()
    assert replica.hwm(A) == 0 and A in replica.forked() and footprint["held"] == 1

    rebuilt = restart(durable).replica

    assert rebuilt.digest() == replica.digest() == Replica(LOCAL).digest()
    assert rebuilt.logged_top(A)[0] == 0 and A not in rebuilt.forked()
    assert rebuilt.footprint()["held"] == 0
    lost = lost_on_restart(replica, rebuilt)
    assert lost["lost_held"] == 1
    assert lost["lost_unjudged"] == 1
    assert lost["lost_proofs"] == 2
    assert lost["lost"] == 4


def test_mesh_restarts_only_store_backed_replicas() -> None:
    mesh = Mesh(Pool(CODEC))
    with pytest.raises(ValueError, match="store-backed"):
        mesh.restart(Replica(LOCAL))
