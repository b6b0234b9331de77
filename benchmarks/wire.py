"""Wire-path benchmark: ingest (open, dedup, verify, decode) against raw Ed25519 verification.

Owns one prepared corpus of distinct signed single-bet packets and every figure measured on it:
ingest, decode and dedup each beside its own baseline (raw PyNaCl verify, raw ``msgpack.unpackb``),
plus sealing beside raw signing.  Every rate is the *best* (fastest) of several rounds run after
a warm-up, all operations interleaved chunk by chunk; it never patches the code it measures.
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import random
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final

import msgpack
import nacl.signing

from benchmarks import Figures, Timer, profile_rows, raw_verify
from node.core.dedup import SeenIndex
from protocol.bets import COME_POINTS, BetType, needs_come_point
from protocol.constants import CRAP, HEADER_LEN, SIGNATURE_LEN, ZERO_PREV
from protocol.errors import PacketError
from protocol.frame import FrameCodec, decode_body
from protocol.genesis import LOCAL
from protocol.kinds import Bet, BetEntry

__all__ = [
    "FULL",
    "QUICK",
    "SENDERS",
    "Corpus",
    "Plan",
    "build_corpus",
    "decode_only",
    "dedup_drop",
    "ingest",
    "main",
    "profile_ingest",
    "raw_sign",
    "raw_unpack",
    "raw_verify",
    "run",
    "seal_all",
]

SENDERS: Final = 64
"""Distinct senders in the corpus; packet ``i`` is nonce ``i // SENDERS + 1`` of its sender."""
GAMES: Final = 8
"""Distinct game ids the bets are spread over."""
SEED: Final = 20_240_501
"""Seed of the corpus: the same figures measure the same bytes on every run."""


@dataclass(frozen=True, slots=True)
class Plan:
    """How much work one run does."""

    packets: int
    rounds: int
    chunk: int = 128
    """Packets per interleaving step (verify chunk, ingest chunk, …, next chunk)."""
    min_chunk_seconds: float = 0.001
    """Shortest chunk measurement: faster operations run each chunk several times."""


QUICK: Final = Plan(packets=2_048, rounds=11)
FULL: Final = Plan(packets=8_192, rounds=13, min_chunk_seconds=0.002)


@dataclass(frozen=True, slots=True)
class Corpus:
    """Distinct signed bet packets, and the same bytes cut up for each baseline."""

    codec: FrameCodec
    frames: list[bytes]
    """Whole frames, in arrival order (every sender's nonce 1, then every sender's nonce 2, …)."""
    bodies: list[bytes]
    """The msgpack body of each frame (what ``codec.open`` parses)."""
    checks: list[tuple[nacl.signing.VerifyKey, bytes, bytes]]
    """``(verify key, signed message, signature)`` of each frame, keys built beforehand."""
    seals: list[tuple[nacl.signing.SigningKey, int, bytes, Bet]]
    """``codec.seal`` arguments that produced each frame."""
    signed: list[tuple[nacl.signing.SigningKey, bytes]]
    """``(signing key, signed message)`` of each frame, for the raw signing baseline."""


def _sender_key(index: int) -> nacl.signing.SigningKey:
    return nacl.signing.SigningKey(hashlib.sha256(b"bitcraps-bench/sender/%d" % index).digest())


def _bet(rng: random.Random, games: Sequence[bytes]) -> Bet:
    code = rng.choice(list(BetType))
    amount = rng.choice((1, 5, 10, 25, 100, 500)) * CRAP + rng.randrange(0, CRAP, 10_000)
    point = rng.choice(sorted(COME_POINTS)) if needs_come_point(code) else None
    entry = BetEntry(code, amount, point)
    return Bet(game=rng.choice(games), table=rng.randrange(1, 5_000), bets=(entry,))


def build_corpus(packets: int, network_id: bytes = LOCAL.network_id) -> Corpus:
    """Seal ``packets`` distinct bet packets from up to :data:`SENDERS` senders, prev-chained."""
    if packets < 1:
        raise ValueError(f"packets must be at least 1, got {packets}")
    rng = random.Random(SEED)
    codec = FrameCodec(network_id)
    keys = [_sender_key(i) for i in range(min(SENDERS, packets))]
    verify_keys = [nacl.signing.VerifyKey(bytes(k.verify_key)) for k in keys]
    games = [hashlib.sha256(b"bitcraps-bench/game/%d" % g).digest()[:8] for g in range(GAMES)]
    prevs = [ZERO_PREV] * len(keys)
    corpus = Corpus(codec, [], [], [], [], [])
    for i in range(packets):
        who = i % len(keys)
        nonce = i // len(keys) + 1
        body = _bet(rng, games)
        frame = codec.seal(keys[who], nonce, prevs[who], body)
        envelope = codec.open(frame)
        prevs[who] = envelope.h
        corpus.frames.append(frame)
        corpus.bodies.append(frame[HEADER_LEN:-SIGNATURE_LEN])
        corpus.checks.append((verify_keys[who], envelope.signed, envelope.signature))
        corpus.seals.append((keys[who], nonce, envelope.prev, body))
        corpus.signed.append((keys[who], envelope.signed))
    return corpus


# --------------------------------------------------------------------------- measured loops


def ingest(codec: FrameCodec, frames: Sequence[bytes], seen: SeenIndex) -> int:
    """The receive path for ledger frames: open, drop duplicates, verify, decode, record.

    Return how many frames were taken.  A frame that fails any check is skipped (none does in
    the corpus; :class:`~benchmarks.Timer` fails the run if the count falls short).
    """
    open_ = codec.open
    verify = codec.verify
    contains = seen.contains
    add = seen.add
    taken = 0
    for frame in frames:
        try:
            envelope = open_(frame)
            if contains(envelope.sender, envelope.nonce, envelope.full_hash):
                continue
            verify(envelope)
            decode_body(envelope)
        except PacketError:
            continue
        add(envelope.sender, envelope.nonce, envelope.full_hash)
        taken += 1
    return taken


def decode_only(codec: FrameCodec, frames: Sequence[bytes]) -> int:
    """``codec.open`` + ``decode_body`` without verification; return the count decoded."""
    open_ = codec.open
    for frame in frames:
        decode_body(open_(frame))
    return len(frames)


def raw_unpack(bodies: Sequence[bytes]) -> int:
    """``msgpack.unpackb`` alone of the same body bytes; return the count."""
    unpackb = msgpack.unpackb
    for body in bodies:
        unpackb(body)
    return len(bodies)


def dedup_drop(codec: FrameCodec, frames: Sequence[bytes], seen: SeenIndex) -> int:
    """Re-fed frames already in ``seen``: open + dedup check, dropped before verification."""
    open_ = codec.open
    contains = seen.contains
    dropped = 0
    for frame in frames:
        envelope = open_(frame)
        if contains(envelope.sender, envelope.nonce, envelope.full_hash):
            dropped += 1
    return dropped


def seal_all(
    codec: FrameCodec, seals: Sequence[tuple[nacl.signing.SigningKey, int, bytes, Bet]]
) -> int:
    """``codec.seal`` (encode, check, sign) of every packet; return the count."""
    seal = codec.seal
    for key, nonce, prev, body in seals:
        seal(key, nonce, prev, body)
    return len(seals)


def raw_sign(signed: Sequence[tuple[nacl.signing.SigningKey, bytes]]) -> int:
    """PyNaCl Ed25519 signing alone of the same signed messages; return the count."""
    for key, message in signed:
        key.sign(message)
    return len(signed)


# --------------------------------------------------------------------------- the run


def run(
    quick: bool,
    size: int | None = None,
    progress: Callable[[str], None] | None = None,
) -> Figures:
    """Measure every wire figure on one corpus; ``size`` overrides the packet count.

    Rates are packets per second of the *best* round (the least disturbed one; every operation
    runs in every round, interleaved chunk by chunk); each ratio is the quotient of two such best
    rates, e.g. ``ingest_vs_verify = ingest_per_s / raw_verify_per_s``.  Each ``*_paired`` figure
    is the median over rounds of the same ratio taken within one round (the two operations ran
    interleaved on the same chunks), which a noisy machine disturbs less; ``raw_verify_noise`` is
    how much slower the median round of raw verify was than its best (0.0 on a quiet machine).
    """
    plan = QUICK if quick else FULL
    packets = plan.packets if size is None else size
    say = progress if progress is not None else (lambda _message: None)
    say(f"wire: sealing {packets} packets")
    corpus = build_corpus(packets)
    codec = corpus.codec
    frames = corpus.frames
    n = len(frames)

    full_seen = SeenIndex()
    ingest(codec, frames, full_seen)
    fresh = [SeenIndex()]

    def new_index() -> None:
        fresh[0] = SeenIndex()

    timer = Timer(n, plan.chunk, plan.min_chunk_seconds)
    timer.add("raw_verify", lambda lo, hi: raw_verify(corpus.checks[lo:hi]))
    timer.add(
        "ingest",
        lambda lo, hi: ingest(codec, frames[lo:hi], fresh[0]),
        reset=new_index,
        repeatable=False,
    )
    timer.add("raw_msgpack_unpack", lambda lo, hi: raw_unpack(corpus.bodies[lo:hi]))
    timer.add("decode", lambda lo, hi: decode_only(codec, frames[lo:hi]))
    timer.add("dedup_drop", lambda lo, hi: dedup_drop(codec, frames[lo:hi], full_seen))
    timer.add("raw_sign", lambda lo, hi: raw_sign(corpus.signed[lo:hi]))
    timer.add("sign", lambda lo, hi: seal_all(codec, corpus.seals[lo:hi]))
    say("wire: warming up")
    timer.warm_up()
    timer.repeat(plan.rounds, lambda message: say(f"wire: {message}"))

    best = {name: sample.best for name, sample in timer.samples.items()}
    return {
        "n_packets": n,
        "senders": min(SENDERS, n),
        "rounds": plan.rounds,
        "statistic": "best",
        "raw_verify_per_s": round(best["raw_verify"], 1),
        "ingest_per_s": round(best["ingest"], 1),
        "ingest_vs_verify": round(best["ingest"] / best["raw_verify"], 4),
        "decode_per_s": round(best["decode"], 1),
        "raw_msgpack_unpack_per_s": round(best["raw_msgpack_unpack"], 1),
        "decode_vs_unpack": round(best["decode"] / best["raw_msgpack_unpack"], 4),
        "dedup_drop_per_s": round(best["dedup_drop"], 1),
        "dedup_vs_verify": round(best["dedup_drop"] / best["raw_verify"], 4),
        "sign_per_s": round(best["sign"], 1),
        "raw_sign_per_s": round(best["raw_sign"], 1),
        "sign_vs_raw_sign": round(best["sign"] / best["raw_sign"], 4),
        "ingest_vs_verify_paired": round(timer.paired_ratio("ingest", "raw_verify"), 4),
        "decode_vs_unpack_paired": round(timer.paired_ratio("decode", "raw_msgpack_unpack"), 4),
        "dedup_vs_verify_paired": round(timer.paired_ratio("dedup_drop", "raw_verify"), 4),
        "sign_vs_raw_sign_paired": round(timer.paired_ratio("sign", "raw_sign"), 4),
        "raw_verify_noise": round(timer.samples["raw_verify"].noise, 4),
    }


# --------------------------------------------------------------------------- profiling


def profile_ingest(
    packets: int = 4_096, top: int = 10, passes: int = 3
) -> list[tuple[str, float, float]]:
    """cProfile the ingest loop; return ``(function, tottime µs/packet, cumtime µs/packet)``.

    The top ``top`` functions by total (own) time, averaged over ``passes`` fresh ingests.
    """
    corpus = build_corpus(packets)
    ingest(corpus.codec, corpus.frames, SeenIndex())  # warm the sender memo, as in run()
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(passes):
        ingest(corpus.codec, corpus.frames, SeenIndex())
    profiler.disable()
    return profile_rows(profiler, packets * passes, top)[1]


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m benchmarks.wire --profile``: print the ingest loop's top functions."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.wire", description=main.__doc__)
    parser.add_argument("--profile", action="store_true", help="cProfile the ingest loop")
    parser.add_argument("--packets", type=int, default=4_096, help="corpus size (default 4096)")
    parser.add_argument("--top", type=int, default=10, help="rows to print (default 10)")
    args = parser.parse_args(argv)
    if not args.profile:
        parser.print_help()
        return 2
    rows = profile_ingest(args.packets, args.top)
    print(f"{'tottime µs/pkt':>14}  {'cumtime µs/pkt':>14}  function")
    for where, tottime, cumtime in rows:
        print(f"{tottime:14.2f}  {cumtime:14.2f}  {where}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
