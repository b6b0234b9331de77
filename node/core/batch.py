"""The ingest pipeline over batches: open and screen, verify, judge.

:func:`ingest_batch` does the three passes on this thread (``DurableReplica.receive`` uses
it); :func:`ingest_batches` overlaps them with a :class:`~node.verifier.BatchVerifier` on
another core.  Both give exactly the results, counters and state of ``Replica.ingest`` frame by
frame.  No clock, socket or store: the caller commits after each batch.  Compiled with the rest
of the hot path (docs/BUILD.md).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future
from typing import Final, Protocol

from node.core.replica import Ingested, Replica
from node.core.verdicts import Outcome
from protocol.errors import Rejected
from protocol.frame import Envelope, bad_signature, signatures_valid

__all__ = [
    "PipelineCounts",
    "Verdicts",
    "Verifier",
    "ingest_batch",
    "ingest_batches",
    "verify_batch",
]

_DROPPED: Final = Outcome.DROPPED  # module constants: an enum member is a class lookup
_REJECTED: Final = Outcome.REJECTED

Verdicts = list[Rejected | None]
"""Per envelope, in order: None when the signature verifies, else the error it raised."""


def verify_batch(envelopes: Sequence[Envelope]) -> Verdicts:
    """Verify every envelope's signature; return None (good) or the error, in order."""
    out: Verdicts = []
    append = out.append
    for env, good in zip(envelopes, signatures_valid(envelopes), strict=True):
        append(None if good else bad_signature(env))
    return out


class Verifier(Protocol):
    """What :func:`ingest_batches` needs of a verifier (``node.drivers.verifier.BatchVerifier``)."""

    def submit(self, envelopes: Sequence[Envelope]) -> Future[Verdicts]: ...


class PipelineCounts:
    """What :func:`ingest_batches` did, frame by frame, summed.

    ``rejected``: envelope faults and bad signatures (the neighbour that sent them is
    penalised), of which ``bad_signatures`` did not verify.  ``dropped``: duplicates, above a
    proven fork, beyond the window (decided at ingest, as ingest does).  ``ingested``: verified
    frames handed to :meth:`Replica.ingest_envelope`.  ``judged``: packets judged during the
    run (a frame can release packets that waited for it).
    """

    __slots__ = ("bad_signatures", "dropped", "frames", "ingested", "judged", "rejected")

    def __init__(self) -> None:
        self.frames = 0
        self.rejected = 0
        self.bad_signatures = 0
        self.dropped = 0
        self.ingested = 0
        self.judged = 0

    def __repr__(self) -> str:
        return (
            f"PipelineCounts(frames={self.frames}, rejected={self.rejected}, "
            f"bad_signatures={self.bad_signatures}, dropped={self.dropped}, "
            f"ingested={self.ingested}, judged={self.judged})"
        )


class _Screened:
    """One opened batch: results of frames rejected at open, and the rest in frame order:
    ``queue`` holds ``(index in results, envelope, sent to the verifier)``, ``envelopes`` the
    envelopes sent to the verifier, in order."""

    __slots__ = ("envelopes", "queue", "results")

    def __init__(self) -> None:
        self.results: list[Ingested | None] = []
        self.queue: list[tuple[int, Envelope, bool]] = []
        self.envelopes: list[Envelope] = []


def ingest_batches(
    replica: Replica,
    batches: Iterable[Sequence[bytes]],
    verifier: Verifier,
    after_batch: Callable[[list[Ingested]], object] | None = None,
) -> PipelineCounts:
    """Ingest ``batches`` of frames into ``replica`` with signatures checked on ``verifier``.

    Pipelined: the main thread opens batch k+1 and sends to the worker every frame that is not
    already known to be dropped, then ingests batch k's verified envelopes (``verified=True``)
    while the worker verifies batch k+1.  ``after_batch`` gets each batch's per-frame results in
    frame order once it is ingested (commit there).  Results, ``replica.counters`` and the state
    are exactly those of ``replica.ingest`` frame by frame: every drop is decided at ingest time
    against the state then; the early look (a duplicate, or above a proven fork) only spares
    the worker, and a frame it spared that is no longer dropped is verified on this thread.
    Signatures are checked even when ``replica.verify`` is off.
    """
    counts = PipelineCounts()
    pending: tuple[_Screened, Future[Verdicts]] | None = None
    for frames in batches:
        screened = _open(replica, frames, counts)
        future = verifier.submit(screened.envelopes)
        if pending is not None:
            _finish(replica, *pending, counts, after_batch)
        pending = (screened, future)
    if pending is not None:
        _finish(replica, *pending, counts, after_batch)
    return counts


def ingest_batch(replica: Replica, frames: Sequence[bytes]) -> list[Ingested]:
    """Ingest one batch on this thread in three passes: open and screen every frame, verify
    every signature, then ingest the verified envelopes.  Results, counters and state are
    exactly those of ``replica.ingest`` frame by frame (the rules of :func:`ingest_batches`).
    Running the signature checks in one tight loop, not between each frame's Python work,
    keeps both in the CPU caches (docs/BENCHMARKS.md measures the gain on one core)."""
    counts = PipelineCounts()
    screened = _open(replica, frames, counts)
    verdicts: Future[Verdicts] = Future()
    verdicts.set_result(verify_batch(screened.envelopes))
    results: list[Ingested] = []
    _finish(replica, screened, verdicts, counts, results.extend)
    return results


def _open(replica: Replica, frames: Sequence[bytes], counts: PipelineCounts) -> _Screened:
    # methods are called on their objects, not bound to locals: compiled, that is a direct
    # call, where a bound method is a boxed Python call
    codec = replica.codec
    forks = replica.forks
    out = _Screened()
    results, queue, envelopes = out.results, out.queue, out.envelopes
    for frame in frames:
        try:
            env = codec.open(frame)
        except Rejected as exc:
            results.append(_rejected(replica, exc))
            counts.rejected += 1
            continue
        fork = forks.get(env.sender)
        spare = (fork is not None and env.nonce > fork.nonce) or replica.known(
            env.sender, env.nonce, env.full_hash
        )
        queue.append((len(results), env, not spare))
        results.append(None)
        if not spare:
            envelopes.append(env)
    counts.frames += len(frames)
    return out


def _finish(
    replica: Replica,
    screened: _Screened,
    future: Future[Verdicts],
    counts: PipelineCounts,
    after_batch: Callable[[list[Ingested]], object] | None,
) -> None:
    verdicts = iter(future.result())
    results = screened.results
    for slot, env, sent in screened.queue:
        early = None if sent else replica.screen(env)
        if early is not None:
            result = early
        else:
            # Sent: verified on the worker.  Spared but no longer dropped (a version forgotten
            # by an eviction meanwhile): verified here, rarely.
            error = next(verdicts) if sent else verify_batch([env])[0]
            if error is None:
                result = replica.ingest_envelope(env, verified=True)
            else:
                result = replica.screen(env) or _rejected(replica, error)  # screen first, as ingest
        outcome = result.outcome
        if outcome is _DROPPED:
            counts.dropped += 1
        elif outcome is _REJECTED:
            counts.rejected += 1
            counts.bad_signatures += 1
        else:
            counts.ingested += 1
        counts.judged += len(result.judged)
        results[slot] = result
    if after_batch is not None:
        after_batch([r for r in results if r is not None])


def _rejected(replica: Replica, error: Rejected) -> Ingested:
    """The result ``Replica.ingest`` gives a rejected frame, counted the same way."""
    why = type(error).__name__
    replica.counters[why] = replica.counters.get(why, 0) + 1
    return Ingested(Outcome.REJECTED, error=error, why=why)
