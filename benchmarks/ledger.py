"""Ledger benchmark: judging, full durable ingest on one core and on two, a late fork's re-judge.

Owns a seeded mix of transfers and acks among 200 identities (dependencies first) and a forward
cone, and every ledger figure measured on them beside its limit (judge target, open+decode, raw
PyNaCl verify interleaved in the same rounds, judging fresh).  It never patches what it times.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import hashlib
import random
import shutil
import sys
import tempfile
import time
from collections import Counter, deque
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import nacl.signing

from benchmarks import Figures, Timer, lean_verify, profile_rows, raw_verify
from node.core.ledger import LedgerState, NoTables, apply, judge
from node.core.replica import Replica
from node.core.verdicts import Outcome, Reason
from node.drivers.durable import DurableReplica
from node.drivers.store import Store
from node.drivers.verifier import BatchVerifier, ingest_batches
from protocol.constants import CRAP, ZERO_PREV
from protocol.frame import FrameCodec, Packet, decode_body
from protocol.genesis import LOCAL
from protocol.kinds import MAX_ACKS_PER_ACK, MAX_ACKS_PER_TRANSFER, Ack, Body, ExtRef, Transfer

__all__ = [
    "BATCH",
    "FULL",
    "FULL_TARGET",
    "IDENTITIES",
    "JUDGE_TARGET",
    "QUICK",
    "Cone",
    "Mix",
    "MixBuilder",
    "Plan",
    "build_cone",
    "build_mix",
    "main",
    "run",
]

IDENTITIES: Final = 200
"""Identities in the judging mix."""
CONE_IDENTITIES: Final = 50
"""Identities that build the forward cone of the late fork."""
BATCH: Final = 256
"""Frames per ``receive`` batch (one transaction each) and per verifier batch."""
JUDGE_TARGET: Final = 50_000
"""Judged packets per second the judge step should sustain (issue #3)."""
FULL_TARGET: Final = 0.85
"""Full ingest on one core against raw verification of the same packets (issue #3)."""
SEED: Final = 20_250_301

WEIGHTS: Final[tuple[tuple[str, int], ...]] = (
    ("transfer", 35),
    ("transfer_with_acks", 20),
    ("ack", 25),
    ("ack_other", 8),
    ("overspend", 8),
    ("self_transfer", 4),
)
"""Actions of the mix and their weights (percent)."""


@dataclass(frozen=True, slots=True)
class Plan:
    """How much work one run does."""

    packets: int
    judge_rounds: int
    full_rounds: int
    cone: int
    rejudge_rounds: int
    judge_chunk: int = 256
    full_chunk: int = 4 * BATCH
    """Frames per interleaving step of the full-ingest ops (the pipeline fills and drains once
    per step, so a step holds several batches)."""


QUICK: Final = Plan(packets=2_048, judge_rounds=5, full_rounds=3, cone=10_000, rejudge_rounds=2)
FULL: Final = Plan(packets=8_192, judge_rounds=7, full_rounds=5, cone=10_000, rejudge_rounds=4)


# --------------------------------------------------------------------------- the corpus


def _key(label: str) -> nacl.signing.SigningKey:
    seed = hashlib.sha256(b"bitcraps-bench/ledger/" + label.encode()).digest()
    return nacl.signing.SigningKey(seed)


@dataclass(slots=True, eq=False)
class _Who:
    key: nacl.signing.SigningKey
    pk: bytes
    nonce: int = 0
    head: bytes = ZERO_PREV
    credits: dict[bytes, ExtRef] = field(default_factory=dict)
    """Per creditor, the newest Applied credit to this identity it has not acknowledged."""


@dataclass(frozen=True, slots=True)
class Mix:
    """Signed frames in dependency order, and what the reference replica made of them."""

    frames: list[bytes]
    digest: bytes
    reasons: Counter[Reason]
    identities: int


class MixBuilder:
    """Signs money packets action by action, steered by a reference replica that judges each one
    as it is signed, so amounts and the credits acknowledged follow the real ledger rules."""

    def __init__(self, labels: Sequence[str], seed: int) -> None:
        self.rng = random.Random(seed)
        self.codec = FrameCodec(LOCAL.network_id)
        self.reference = Replica(LOCAL)
        self.ids = [_Who(k, bytes(k.verify_key)) for k in map(_key, labels)]
        self.by_pk = {who.pk: who for who in self.ids}
        self.frames: list[bytes] = []
        self.reasons: Counter[Reason] = Counter()
        self.recent: deque[ExtRef] = deque(maxlen=256)
        actions, weights = zip(*WEIGHTS, strict=True)
        self.actions: tuple[str, ...] = actions
        self.weights: tuple[int, ...] = weights

    def emit(self, who: _Who, body: Body) -> ExtRef:
        """Sign ``body`` as ``who``'s next packet; it must be judged at once."""
        nonce = who.nonce + 1
        frame = self.codec.seal(who.key, nonce, who.head, body)
        result = self.reference.receive(frame, 0.0)
        if result.outcome is not Outcome.JUDGED or result.reason is None:
            raise RuntimeError(f"packet {nonce} was {result.outcome.value}, not judged at once")
        ref = self.reference.ref(who.pk, nonce)
        who.nonce, who.head = nonce, ref.h
        self.frames.append(frame)
        self.reasons[result.reason] += 1
        self.recent.append(ref)
        if result.reason is Reason.APPLIED:
            acks = body.acks if type(body) is Transfer or type(body) is Ack else ()
            for named in acks:
                credit = who.credits.get(named.sender)
                if credit is not None and credit.nonce <= named.nonce:
                    del who.credits[named.sender]
            if type(body) is Transfer:
                self.by_pk[body.to].credits[who.pk] = ref
        return ref

    def run(self, count: int, among: Sequence[_Who]) -> None:
        """Sign ``count`` packets of drawn actions by drawn identities of ``among``."""
        rng = self.rng
        for _ in range(count):
            who = rng.choice(among)
            action = rng.choices(self.actions, self.weights)[0]
            self.emit(who, self._body(action, who, among))

    def _body(self, action: str, who: _Who, among: Sequence[_Who]) -> Body:
        rng = self.rng
        to = who
        while to is who:
            to = rng.choice(among)
        avail = self.reference.spendable(who.pk) + (LOCAL.faucet_amount if who.nonce == 0 else 0)
        share = max(1, avail * rng.randint(1, 30) // 100)
        credits = list(who.credits.values())
        if action == "ack" and credits:
            return Ack(tuple(credits[:MAX_ACKS_PER_ACK]))
        if action == "transfer_with_acks" and credits:
            return Transfer(to.pk, share, tuple(credits[:MAX_ACKS_PER_TRANSFER]))
        if action == "ack_other":
            others = [ref for ref in self.recent if ref.sender != who.pk]
            if others:
                return Ack(tuple(rng.sample(others, min(len(others), rng.randint(1, 3)))))
        if action == "overspend":
            return Transfer(to.pk, avail + rng.randint(1, 10 * CRAP), ())
        if action == "self_transfer":
            return Transfer(who.pk, share, ())
        return Transfer(to.pk, share, ())


def build_mix(packets: int, identities: int = IDENTITIES, seed: int = SEED) -> Mix:
    """``packets`` signed transfers and acks among ``identities`` keys, dependencies first."""
    if packets < 1:
        raise ValueError(f"packets must be at least 1, got {packets}")
    builder = MixBuilder([f"mix/{i}" for i in range(identities)], seed)
    builder.run(packets, builder.ids)
    return Mix(builder.frames, builder.reference.digest(), builder.reasons, identities)


@dataclass(frozen=True, slots=True)
class Cone:
    """A's nonce 1, ``downstream`` packets that depend on it transitively, and a second
    version of A's nonce 1 (the late fork proof)."""

    frames: list[bytes]
    fork: bytes
    downstream: int


def build_cone(downstream: int, identities: int = CONE_IDENTITIES, seed: int = SEED) -> Cone:
    """A transfers to B at nonce 1; B's first packet acknowledges it; every other identity's
    first packet acknowledges a packet already in the cone, then they trade (the mix)."""
    if downstream < 1:
        raise ValueError(f"downstream must be at least 1, got {downstream}")
    builder = MixBuilder(["cone/A"] + [f"cone/{i}" for i in range(identities)], seed + 1)
    origin, members = builder.ids[0], builder.ids[1:]
    cone = [builder.emit(origin, Transfer(members[0].pk, 1_000 * CRAP, ()))]
    joined = 0
    for who in members[: min(len(members), downstream)]:
        cone.append(builder.emit(who, Ack((builder.rng.choice(cone),))))
        joined += 1
    builder.run(downstream - joined, members)
    fork = builder.codec.seal(origin.key, 1, ZERO_PREV, Transfer(members[1].pk, 999 * CRAP, ()))
    return Cone(builder.frames, fork, downstream)


# --------------------------------------------------------------------------- measured loops


def ingest_all(replica: Replica, frames: Sequence[bytes]) -> int:
    """Place every frame, signatures taken as checked (``receive_checked``, as a node reading
    back its own store does), and take the replica's events as a node does after each batch;
    return how many were judged on arrival."""
    judged = Outcome.JUDGED
    results = replica.receive_checked(frames, 0.0)
    replica.take_events()
    return sum(1 for result in results if result.outcome is judged)


def ingest_default_gc(replica: Replica, frames: Sequence[bytes]) -> int:
    """:func:`ingest_all` under CPython's default collector thresholds, not the node's
    (``node.drivers.runtime.tune_gc``, which the harness sets for every other figure)."""
    tuned = gc.get_threshold()
    gc.set_threshold(*DEFAULT_GC)
    try:
        return ingest_all(replica, frames)
    finally:
        gc.set_threshold(*tuned)


DEFAULT_GC: Final = (700, 10, 10)


def open_decode(codec: FrameCodec, frames: Sequence[bytes]) -> int:
    """``codec.open`` + ``decode_body``: the parse every ingest pays before the replica's work."""
    open_ = codec.open
    for frame in frames:
        decode_body(open_(frame))
    return len(frames)


Decoded = tuple[Packet, bytes, int, bytes]


def judge_apply(state: LedgerState, decoded: Sequence[Decoded]) -> int:
    """``ledger.judge`` + ``ledger.apply`` alone on decoded packets, in dependency order."""
    engine = NoTables()
    for packet, sender, nonce, full_hash in decoded:
        apply(
            state,
            sender,
            nonce,
            full_hash,
            judge(state, packet, sender, nonce, full_hash[:8], engine),
        )
    return len(decoded)


class _Cores:
    """Wraps an op to add up the process CPU time and the wall time it took (all threads)."""

    def __init__(self, op: Callable[[int, int], int]) -> None:
        self.op = op
        self.cpu = 0.0
        self.wall = 0.0

    def __call__(self, lo: int, hi: int) -> int:
        cpu, wall = time.process_time(), time.perf_counter()
        count = self.op(lo, hi)
        self.cpu += time.process_time() - cpu
        self.wall += time.perf_counter() - wall
        return count

    @property
    def cores(self) -> float:
        return self.cpu / self.wall if self.wall else 0.0


def raw_verify_2threads(
    checks: Sequence[tuple[nacl.signing.VerifyKey, bytes, bytes]], pool: ThreadPoolExecutor
) -> int:
    """Raw verification split in two halves, one on ``pool``'s thread: what two cores give."""
    half = len(checks) // 2
    other = pool.submit(raw_verify, checks[half:])
    return raw_verify(checks[:half]) + other.result()


def batches(frames: Sequence[bytes], size: int = BATCH) -> list[Sequence[bytes]]:
    return [frames[i : i + size] for i in range(0, len(frames), size)]


def receive_all(durable: DurableReplica, frames: Sequence[bytes]) -> int:
    """Full ingest on one core: ``receive`` in batches (one commit each); return the accepted."""
    return sum(len(durable.receive(batch).accepted) for batch in batches(frames))


def receive_pipelined(
    durable: DurableReplica, frames: Sequence[bytes], verifier: BatchVerifier
) -> int:
    """Full ingest with verification on the worker: open and screen batch k+1 while batch k
    verifies, then ingest k's good envelopes and commit (``receive(())``); return the judged."""
    commit = durable.receive
    counts = ingest_batches(durable.replica, batches(frames), verifier, 0.0, lambda _r: commit(()))
    return counts.judged


class _Stores:
    """A fresh DurableReplica on a fresh SQLite file (WAL, synchronous NORMAL) per round."""

    def __init__(self, root: Path, name: str, codec: FrameCodec) -> None:
        self.root = root
        self.name = name
        self.codec = codec
        self.rounds = 0
        self.current: DurableReplica | None = None

    def reset(self) -> DurableReplica:
        self.close()
        self.rounds += 1
        store = Store(self.root / f"{self.name}-{self.rounds}.sqlite", LOCAL.network_id)
        durable = DurableReplica(LOCAL, store, codec=self.codec)  # peers' keys already known
        self.current = durable
        return durable

    def close(self) -> None:
        if self.current is not None:
            path = self.current.store.path
            self.current.store.close()
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)


# --------------------------------------------------------------------------- the run


def run(
    quick: bool,
    size: int | None = None,
    progress: Callable[[str], None] | None = None,
) -> Figures:
    """Measure every ledger figure; ``size`` overrides both the mix and the cone size.

    Rates are the best round of several (every operation of a group interleaved chunk by chunk
    with its baseline, as in the wire benchmark); ratios are quotients of best rates, and each
    ``*_paired`` figure is the median over rounds of the ratio within a round.
    """
    plan = QUICK if quick else FULL
    packets = plan.packets if size is None else size
    cone_size = plan.cone if size is None else size
    say = progress if progress is not None else (lambda _message: None)
    say(f"ledger: signing a mix of {packets} packets among {IDENTITIES} identities")
    mix = build_mix(packets)
    figures: Figures = {
        "ledger_n_packets": len(mix.frames),
        "ledger_identities": mix.identities,
        "ledger_refused_share": round(
            1 - mix.reasons[Reason.APPLIED] / max(1, sum(mix.reasons.values())), 4
        ),
    }
    figures.update(_judge_figures(mix, plan, say))
    figures.update(_full_figures(mix, plan, say))
    say(f"ledger: signing a forward cone of {cone_size} packets")
    figures.update(_rejudge_figures(build_cone(cone_size), plan.rejudge_rounds, say))
    return figures


def _warm_codec(frames: Sequence[bytes]) -> FrameCodec:
    codec = FrameCodec(LOCAL.network_id)
    for frame in frames:
        codec.open(frame)
    return codec


def _judge_figures(mix: Mix, plan: Plan, say: Callable[[str], None]) -> Figures:
    frames = mix.frames
    n = len(frames)
    codec = _warm_codec(frames)
    decoded: list[Decoded] = []
    for frame in frames:
        env = codec.open(frame)
        decoded.append((decode_body(env), env.sender, env.nonce, env.full_hash))
    check_state = LedgerState(LOCAL)
    judge_apply(check_state, decoded)
    if check_state.digest() != mix.digest:
        raise RuntimeError("judge + apply alone reached another digest than the replica")

    replicas: list[Replica] = []
    default_gc_replicas: list[Replica] = []
    states: list[LedgerState] = []

    def fresh_replica() -> None:
        replica = Replica(LOCAL, codec=codec)  # steady state: the sender memo holds every key
        replicas[:] = [replica]

    def fresh_default_gc_replica() -> None:
        default_gc_replicas[:] = [Replica(LOCAL, codec=codec)]

    def fresh_state() -> None:
        states[:] = [LedgerState(LOCAL)]

    timer = Timer(n, plan.judge_chunk, 0.001)
    timer.add(
        "judge",
        lambda lo, hi: ingest_all(replicas[0], frames[lo:hi]),
        reset=fresh_replica,
        repeatable=False,
    )
    timer.add(
        "judge_default_gc",
        lambda lo, hi: ingest_default_gc(default_gc_replicas[0], frames[lo:hi]),
        reset=fresh_default_gc_replica,
        repeatable=False,
    )
    timer.add("open_decode", lambda lo, hi: open_decode(codec, frames[lo:hi]))
    checks = [
        (nacl.signing.VerifyKey(env.sender), env.signed, env.signature)
        for env in map(codec.open, frames)
    ]
    timer.add("judge_raw_verify", lambda lo, hi: raw_verify(checks[lo:hi]))
    timer.add(
        "judge_only",
        lambda lo, hi: judge_apply(states[0], decoded[lo:hi]),
        reset=fresh_state,
        repeatable=False,
    )
    say("ledger: judge: warming up")
    timer.warm_up()
    timer.repeat(plan.judge_rounds, lambda message: say(f"ledger: judge: {message}"))
    if replicas[0].digest() != mix.digest:
        raise RuntimeError("the timed replica reached another digest than the reference")

    best = {name: sample.best for name, sample in timer.samples.items()}
    rest = 1 / best["judge"] - 1 / best["open_decode"]  # seconds per packet after the parse
    replica_step = 1 / rest if rest > 0 else 0.0  # 0.0: the noise swallowed the difference
    return {
        "ledger_judge_rounds": plan.judge_rounds,
        "judge_per_s": round(best["judge"], 1),
        "judge_target_per_s": JUDGE_TARGET,
        "judge_target_met": best["judge"] >= JUDGE_TARGET,
        "judge_open_decode_per_s": round(best["open_decode"], 1),
        "judge_replica_step_per_s": round(replica_step, 1),
        "judge_only_per_s": round(best["judge_only"], 1),
        "judge_default_gc_per_s": round(best["judge_default_gc"], 1),
        "judge_raw_verify_per_s": round(best["judge_raw_verify"], 1),
        "judge_vs_verify": round(best["judge"] / best["judge_raw_verify"], 3),
        "judge_vs_verify_paired": round(timer.paired_ratio("judge", "judge_raw_verify"), 3),
        "judge_vs_open_decode": round(best["judge"] / best["open_decode"], 4),
        "judge_noise": round(timer.samples["judge"].noise, 4),
    }


def _full_figures(mix: Mix, plan: Plan, say: Callable[[str], None]) -> Figures:
    frames = mix.frames
    n = len(frames)
    codec = _warm_codec(frames)
    checks = []
    envelopes = []
    for frame in frames:
        env = codec.open(frame)
        envelopes.append(env)
        checks.append((nacl.signing.VerifyKey(env.sender), env.signed, env.signature))
    root = Path(tempfile.mkdtemp(prefix="bcm-bench-ledger-"))
    one = _Stores(root, "one-core", codec)
    two = _Stores(root, "two-core", codec)
    pool = ThreadPoolExecutor(max_workers=1)
    worker = BatchVerifier(process=True)
    worker.verify([])  # the worker process is started and warm before anything is timed
    one_core = _Cores(lambda lo, hi: receive_all(_current(one), frames[lo:hi]))
    two_core = _Cores(lambda lo, hi: receive_pipelined(_current(two), frames[lo:hi], worker))
    try:
        timer = Timer(n, min(plan.full_chunk, n), 0.001)
        timer.add("ledger_raw_verify", lambda lo, hi: raw_verify(checks[lo:hi]))
        timer.add("ledger_lean_verify", lambda lo, hi: lean_verify(envelopes[lo:hi]))
        timer.add("full_ingest", one_core, reset=one.reset, repeatable=False)
        timer.add("full_ingest_2core", two_core, reset=two.reset, repeatable=False)
        timer.add("raw_verify_2threads", lambda lo, hi: raw_verify_2threads(checks[lo:hi], pool))
        say("ledger: full ingest: warming up")
        timer.warm_up()
        timer.repeat(plan.full_rounds, lambda message: say(f"ledger: full ingest: {message}"))
        for stores in (one, two):
            durable = _current(stores)
            if durable.replica.digest() != mix.digest or durable.store.log_size() != n:
                raise RuntimeError(f"{stores.name}: the durable replica missed packets")
    finally:
        pool.shutdown()
        worker.close()
        for stores in (one, two):
            stores.close()
        shutil.rmtree(root, ignore_errors=True)

    best = {name: sample.best for name, sample in timer.samples.items()}
    verify = best["ledger_raw_verify"]
    return {
        "ledger_full_rounds": plan.full_rounds,
        "ledger_batch": BATCH,
        "ledger_raw_verify_per_s": round(verify, 1),
        "full_ingest_per_s": round(best["full_ingest"], 1),
        "full_ingest_vs_verify": round(best["full_ingest"] / verify, 4),
        "full_ingest_target_met": best["full_ingest"] / verify >= FULL_TARGET,
        "ledger_lean_verify_per_s": round(best["ledger_lean_verify"], 1),
        "ledger_lean_vs_raw_verify": round(best["ledger_lean_verify"] / verify, 4),
        "full_ingest_vs_lean_verify": round(best["full_ingest"] / best["ledger_lean_verify"], 4),
        "full_ingest_vs_lean_verify_paired": round(
            timer.paired_ratio("full_ingest", "ledger_lean_verify"), 4
        ),
        "full_ingest_2core_per_s": round(best["full_ingest_2core"], 1),
        "full_ingest_2core_vs_verify": round(best["full_ingest_2core"] / verify, 4),
        "full_ingest_vs_verify_paired": round(
            timer.paired_ratio("full_ingest", "ledger_raw_verify"), 4
        ),
        "full_ingest_2core_vs_verify_paired": round(
            timer.paired_ratio("full_ingest_2core", "ledger_raw_verify"), 4
        ),
        "ledger_raw_verify_noise": round(timer.samples["ledger_raw_verify"].noise, 4),
        "ledger_raw_verify_2threads_per_s": round(best["raw_verify_2threads"], 1),
        "ledger_verify_cores": round(best["raw_verify_2threads"] / verify, 3),
        "full_ingest_cpu_cores": round(one_core.cores, 3),
        "full_ingest_2core_cpu_cores": round(two_core.cores, 3),
    }


def _current(stores: _Stores) -> DurableReplica:
    if stores.current is None:
        raise RuntimeError(f"{stores.name}: no store (reset not run)")
    return stores.current


def _rejudge_figures(cone: Cone, rounds: int, say: Callable[[str], None]) -> Figures:
    codec = _warm_codec([*cone.frames, cone.fork])
    clock = time.perf_counter
    fresh: list[float] = []
    fork: list[float] = []
    rejudged = revisions = 0
    for round_no in range(1, rounds + 1):
        say(f"ledger: rejudge: round {round_no}/{rounds}")
        replica = Replica(LOCAL, codec=codec)
        gc.collect()
        start = clock()
        judged = ingest_all(replica, cone.frames)
        took_fresh = clock() - start
        if judged != len(cone.frames):
            raise RuntimeError(f"only {judged} of {len(cone.frames)} cone packets were judged")
        gc.collect()
        start = clock()
        result = replica.receive(cone.fork, 0.0)
        took_fork = clock() - start
        if result.why != "fork_proof":
            raise RuntimeError(f"the second version of nonce 1 was {result.why or result.outcome}")
        rejudged = replica.counters().get("rejudged", 0)
        revisions = len(replica.revisions)
        fresh.append(took_fresh)
        fork.append(took_fork)
    best_fork, best_fresh = min(fork), min(fresh)
    return {
        "rejudge_rounds": rounds,
        "rejudge_downstream": cone.downstream,
        "rejudge_fork_at_1_s": round(best_fork, 4),
        "rejudge_cone_size": rejudged,
        "rejudge_per_packet_us": round(best_fork / max(1, rejudged) * 1e6, 2),
        "rejudge_revisions": revisions,
        "rejudge_fresh_ingest_s": round(best_fresh, 4),
        "rejudge_vs_fresh_ingest": round(best_fork / best_fresh, 4),
    }


# --------------------------------------------------------------------------- profiling


def profile(
    what: str, packets: int = 4_096, top: int = 12, *, gc_off: bool = False
) -> list[tuple[str, float, float]]:
    """cProfile one measured path; return ``(function, tottime µs, cumtime µs)`` per packet,
    the first row being the whole path (``total``).

    ``what``: ``judge`` (Replica ingest, verify off), ``full`` (DurableReplica.receive),
    ``2core`` (the pipelined ingest; the worker thread is not profiled) or ``rejudge`` (the
    late fork proof at nonce 1 of a ``packets``-packet cone).  ``gc_off`` runs the path with
    the garbage collector disabled, to show what collections cost (compare the totals).
    """
    profiler = cProfile.Profile()
    gc.collect()
    if gc_off:
        gc.disable()
    try:
        _profile_path(profiler, what, packets)
    finally:
        gc.enable()
    total, rows = profile_rows(profiler, packets, top)
    return [("total", total, total), *rows]


def _profile_path(profiler: cProfile.Profile, what: str, packets: int) -> None:
    if what == "rejudge":
        cone = build_cone(packets)
        replica = Replica(LOCAL, codec=_warm_codec([*cone.frames, cone.fork]))
        ingest_all(replica, cone.frames)
        profiler.runcall(replica.receive, cone.fork, 0.0)
    elif what in ("judge", "full", "2core"):
        mix = build_mix(packets)
        codec = _warm_codec(mix.frames)
        root = Path(tempfile.mkdtemp(prefix="bcm-bench-profile-"))
        stores = _Stores(root, what, codec)
        verifier = BatchVerifier(process=True)
        try:
            if what == "judge":
                judging = Replica(LOCAL, codec=codec)
                profiler.runcall(ingest_all, judging, mix.frames)
            elif what == "full":
                profiler.runcall(receive_all, stores.reset(), mix.frames)
            else:
                profiler.runcall(receive_pipelined, stores.reset(), mix.frames, verifier)
        finally:
            verifier.close()
            stores.close()
            shutil.rmtree(root, ignore_errors=True)
    else:
        raise ValueError(f"unknown profile {what!r}")


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m benchmarks.ledger --profile WHAT``: print the top functions of one path."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.ledger", description=main.__doc__)
    parser.add_argument(
        "--profile", choices=("judge", "full", "2core", "rejudge"), help="cProfile one path"
    )
    parser.add_argument("--packets", type=int, default=4_096, help="work size (default 4096)")
    parser.add_argument("--top", type=int, default=12, help="rows to print (default 12)")
    parser.add_argument("--gc-off", action="store_true", help="profile with the GC disabled")
    args = parser.parse_args(argv)
    if args.profile is None:
        parser.print_help()
        return 2
    rows = profile(args.profile, args.packets, args.top, gc_off=args.gc_off)
    print(f"{'tottime µs/pkt':>14}  {'cumtime µs/pkt':>14}  function")
    for where, tottime, cumtime in rows:
        print(f"{tottime:14.2f}  {cumtime:14.2f}  {where}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
