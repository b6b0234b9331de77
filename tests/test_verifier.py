"""node/drivers/verifier.py: batch verification on a worker thread or process, and the pipelined
ingest.

The verifier returns one verdict per envelope in order (forgeries as BadSignature); the pipelined
ingest gives frame for frame what ``Replica.receive`` gives, on generated multi-identity histories
(forged frames, forks, held packets), shuffled, duplicated and cut into batches.
"""

from __future__ import annotations

import sys
from random import Random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from node.core.events import Ingested
from node.core.replica import Replica, verify_batch
from node.core.verdicts import Outcome, Reason
from node.drivers.verifier import BatchVerifier, ingest_batches
from protocol.errors import BadSignature
from protocol.frame import Envelope, FrameCodec
from protocol.genesis import LOCAL
from tests.ledger_factory import Chain, public_key
from tests.ledger_harness import History, histories

CODEC = FrameCodec(LOCAL.network_id)


def forged(frame: bytes) -> bytes:
    """The same frame with one signature bit flipped."""
    return frame[:-1] + bytes([frame[-1] ^ 0x01])


def envelopes(frames: list[bytes]) -> list[Envelope]:
    return [CODEC.open(frame) for frame in frames]


def outcomes(results: list[Ingested]) -> list[tuple[Outcome, Reason | None, str]]:
    return [(r.outcome, r.reason, r.why) for r in results]


def pipelined(
    genesis_replica: Replica, batches: list[list[bytes]], verifier: BatchVerifier
) -> list[Ingested]:
    results: list[Ingested] = []
    ingest_batches(genesis_replica, batches, verifier, 0.0, results.extend)
    return results


def test_verifier_returns_one_verdict_per_envelope_in_order() -> None:
    alice = Chain("alice")
    good = [alice.transfer(public_key("bob"), n) for n in range(1, 7)]
    frames = [good[0], forged(good[1]), good[2], good[3], forged(good[4]), good[5]]
    with BatchVerifier(process=False) as verifier:
        verdicts = verifier.verify(envelopes(frames))
    assert [v is None for v in verdicts] == [True, False, True, True, False, True]
    assert all(isinstance(v, BadSignature) for v in verdicts if v is not None)
    direct = verify_batch(envelopes(frames))
    assert [str(v) for v in direct] == [str(v) for v in verdicts]  # the same, without a thread
    assert "(63b2ee1b, 2)" in str(verdicts[1]) or "2) does not verify" in str(verdicts[1])


def test_verifier_keeps_batches_in_submission_order() -> None:
    alice = Chain("alice")
    frames = [alice.transfer(public_key("bob"), 1) for _ in range(12)]
    with BatchVerifier(process=False) as verifier:
        futures = [
            verifier.submit(
                envelopes([forged(f) if i % 3 == k else f for i, f in enumerate(frames)])
            )
            for k in range(3)
        ]
        results = [[v is None for v in f.result()] for f in futures]
    assert results == [[i % 3 != k for i in range(12)] for k in range(3)]


def test_empty_batch_verifies_to_nothing() -> None:
    with BatchVerifier(process=False) as verifier:
        assert verifier.verify([]) == []


def test_pipelined_ingest_counts_rejections_and_judges_the_rest() -> None:
    alice, bob = Chain("alice"), Chain("bob")
    frames = [
        alice.transfer(bob.pub, 5),
        forged(bob.transfer(alice.pub, 1)),
        b"\x01not a frame at all, just bytes of the right kind of length......",
        *(alice.transfer(bob.pub, 1) for _ in range(3)),
    ]
    replica = Replica(LOCAL)
    with BatchVerifier(process=False) as verifier:
        counts = ingest_batches(replica, [frames[:2], frames[2:4], frames[4:]], verifier, 0.0)
    assert (counts.frames, counts.rejected, counts.bad_signatures) == (6, 2, 1)
    assert (counts.ingested, counts.judged, counts.dropped) == (4, 4, 0)
    assert replica.hwm(alice.pub) == 4
    assert replica.hwm(bob.pub) == 0


def test_window_is_screened_against_the_state_after_the_previous_batch() -> None:
    """Nonces 65..100 lie beyond the window when the second batch is screened (HWM 0) but not
    once the first batch (1..50) is ingested: the pipeline must take them, as ingest does."""
    alice = Chain("alice")
    frames = [alice.transfer(public_key("bob"), 1) for _ in range(100)]
    plain = Replica(LOCAL)
    expected = [plain.receive(f, 0.0) for f in frames]
    replica = Replica(LOCAL)
    with BatchVerifier(process=False) as verifier:
        results = pipelined(replica, [frames[:50], frames[50:]], verifier)
    assert replica.hwm(alice.pub) == 100
    assert outcomes(results) == outcomes(expected)
    assert replica.digest() == plain.digest()


def test_duplicate_of_a_packet_in_the_previous_batch_is_dropped_even_if_forged() -> None:
    alice = Chain("alice")
    first = alice.transfer(public_key("bob"), 1)
    replica = Replica(LOCAL)
    with BatchVerifier(process=False) as verifier:
        results = pipelined(replica, [[first], [first, forged(first)]], verifier)
    assert [(r.outcome, r.why) for r in results[1:]] == [
        (Outcome.DROPPED, "duplicate"),
        (Outcome.DROPPED, "duplicate"),
    ]


def arrival(history: History, rng: Random) -> list[bytes]:
    """Every frame of the history, some twice, shuffled."""
    frames = history.everything()
    frames += rng.sample(frames, k=len(frames) // 3)
    rng.shuffle(frames)
    return frames


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    history=histories(max_actions=12),
    seed=st.integers(0, 2**32 - 1),
    size=st.integers(1, 9),
)
def test_pipelined_ingest_matches_plain_ingest_frame_for_frame(
    history: History, seed: int, size: int
) -> None:
    frames = arrival(history, Random(seed))
    plain = Replica(history.genesis)
    expected = [plain.receive(frame, 0.0) for frame in frames]
    replica = Replica(history.genesis)
    batches = [frames[i : i + size] for i in range(0, len(frames), size)]
    with BatchVerifier(process=False) as verifier:
        results = pipelined(replica, batches, verifier)
    assert outcomes(results) == outcomes(expected)
    assert replica.counters() == plain.counters()
    assert replica.digest() == plain.digest()
    assert replica.summary() == plain.summary()


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    history=histories(max_actions=12),
    seed=st.integers(0, 2**32 - 1),
    size=st.integers(1, 9),
)
def test_frames_checked_before_are_placed_one_by_one_as_a_batch_without_verdicts_places_them(
    history: History, seed: int, size: int
) -> None:
    """``receive_checked`` (a store's replay) gives frame for frame what ``finish_batch`` with
    no verdicts gives, forged frames included: neither checks a signature."""
    frames = arrival(history, Random(seed))
    frames[::5] = [forged(frame) for frame in frames[::5]]
    frames.insert(len(frames) // 2, b"\x01not a frame at all")
    batches = [frames[i : i + size] for i in range(0, len(frames), size)]
    batched = Replica(history.genesis)
    expected = [r for b in batches for r in batched.finish_batch(batched.open_batch(b), None, 0.0)]
    replica = Replica(history.genesis)
    results = [r for b in batches for r in replica.receive_checked(b, 0.0)]
    assert outcomes(results) == outcomes(expected)
    assert replica.counters() == batched.counters()
    assert replica.digest() == batched.digest()
    assert replica.summary() == batched.summary()
    assert list(map(repr, replica.take_events())) == list(map(repr, batched.take_events()))


def test_packet_forgotten_by_an_eviction_meanwhile_is_verified_and_taken_again() -> None:
    """A3 is held (seen) when the third batch is opened, so it is spared the worker; the second
    batch's B2 then evicts it (forgotten); at ingest A3 is no duplicate any more: verified on the
    main thread and handled as ``ingest`` handles it."""
    alice, bob = Chain("alice"), Chain("bob")
    a = [alice.transfer(bob.pub, 1) for _ in range(3)]
    b = [bob.transfer(alice.pub, 1) for _ in range(2)]
    batches = [[a[2]], [b[1]], [a[2]]]
    plain = Replica(LOCAL, held_cap=1)
    expected = [plain.receive(f, 0.0) for batch in batches for f in batch]
    replica = Replica(LOCAL, held_cap=1)
    with BatchVerifier(process=False) as verifier:
        results = pipelined(replica, batches, verifier)
    assert outcomes(results) == outcomes(expected)
    assert results[2].why != "duplicate"
    assert replica.counters() == plain.counters()


def test_the_verifier_leaves_the_process_switch_interval_alone() -> None:
    before = sys.getswitchinterval()
    for process in (False, True):
        with BatchVerifier(process=process) as verifier:
            verifier.verify([])
            assert sys.getswitchinterval() == before
        verifier.close()  # idempotent
    assert sys.getswitchinterval() == before


def test_process_verifier_gives_the_same_verdicts_in_order() -> None:
    alice = Chain("alice")
    good = [alice.transfer(public_key("bob"), n) for n in range(1, 6)]
    frames = [forged(good[0]), good[1], good[2], forged(good[3]), good[4]]
    with BatchVerifier(process=True) as verifier:
        verdicts = verifier.verify(envelopes(frames))
        again = verifier.submit(envelopes(frames[::-1])).result()
    assert [str(v) for v in verdicts] == [str(v) for v in verify_batch(envelopes(frames))]
    assert all(isinstance(v, BadSignature) for v in (verdicts[0], verdicts[3]))
    assert [v is None for v in again] == [True, False, True, True, False]


def test_pipelined_ingest_with_a_process_verifier_matches_plain_ingest() -> None:
    alice, bob = Chain("alice"), Chain("bob")
    frames = []
    for n in range(1, 40):
        frames.append(alice.transfer(bob.pub, n))
        frames.append(bob.ack(alice.ref(n)) if n % 3 else forged(bob.transfer(alice.pub, 1)))
    frames += frames[10:30]  # duplicates
    plain = Replica(LOCAL)
    expected = [plain.receive(f, 0.0) for f in frames]
    replica = Replica(LOCAL)
    with BatchVerifier(process=True) as verifier:
        results = pipelined(
            replica, [frames[i : i + 16] for i in range(0, len(frames), 16)], verifier
        )
    assert outcomes(results) == outcomes(expected)
    assert replica.digest() == plain.digest()
    assert replica.counters() == plain.counters()
