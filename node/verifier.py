"""Signature verification on a second core, and the pipelined ingest that uses it.

:class:`BatchVerifier` runs :meth:`FrameCodec.verify` over batches in a worker thread or process;
:func:`ingest_batches` feeds a Replica with it, exactly as ``Replica.ingest`` would.  No clock,
socket or store: the caller commits after each batch (e.g. ``DurableReplica.receive(())``).
"""

from __future__ import annotations

import multiprocessing
import sys
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass
from types import TracebackType
from typing import Final

from node.replica import Ingested, Replica
from node.verdicts import Outcome
from protocol.errors import Rejected
from protocol.frame import Envelope, FrameCodec

__all__ = [
    "SWITCH_INTERVAL",
    "BatchVerifier",
    "PipelineCounts",
    "ingest_batch",
    "ingest_batches",
    "verify_batch",
]

SWITCH_INTERVAL: Final = 5e-5
"""Seconds: a switch interval short enough for the worker to get the GIL back soon after each
signature (docs/BENCHMARKS.md, ledger section, measures it against the 5 ms default)."""

Verdicts = list[Rejected | None]
"""Per envelope, in order: None when the signature verifies, else the error it raised."""


def verify_batch(envelopes: Sequence[Envelope]) -> Verdicts:
    """Verify every envelope's signature; return None (good) or the error, in order."""
    verify = FrameCodec.verify
    out: Verdicts = []
    append = out.append
    for envelope in envelopes:
        try:
            verify(envelope)
        except Rejected as exc:
            append(exc)
        else:
            append(None)
    return out


def _verify_signed(items: Sequence[tuple[bytes, int, bytes, bytes]]) -> Verdicts:
    """:func:`verify_batch` in a worker process, from what :meth:`FrameCodec.verify` reads."""
    envelopes = [
        Envelope(0, 0, sender, nonce, b"", b"", signature, [], signed, b"")
        for sender, nonce, signature, signed in items
    ]
    return verify_batch(envelopes)


class BatchVerifier:
    """One worker that verifies batches of envelopes, in submission order.

    Envelopes are only read (their bytes are immutable), so the main thread may keep using them
    while a batch is being verified.  Use as a context manager, or call :meth:`close`.

    By default the worker is a thread.  It must take the GIL back after every signature; while
    the main thread runs Python it gets it only when the interpreter forces a switch, after
    ``sys.getswitchinterval()`` (5 ms by default).  ``switch_interval`` (e.g.
    :data:`SWITCH_INTERVAL`) sets that process-wide setting while the verifier is open;
    :meth:`close` restores it.  ``process=True`` verifies in one spawned worker process instead
    (no GIL shared; each batch is sent as ``(sender, nonce, signature, signed message)``
    tuples): it starts in a fraction of a second, so open one per node, not per batch.
    docs/BENCHMARKS.md (ledger section) measures the three.
    """

    def __init__(self, *, switch_interval: float | None = None, process: bool = False) -> None:
        self.process = process
        self._pool: Executor
        if process:
            spawn = multiprocessing.get_context("spawn")
            self._pool = ProcessPoolExecutor(max_workers=1, mp_context=spawn)
        else:
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="bcm-verify")
        self._restore: float | None = None
        if switch_interval is not None:
            self._restore = sys.getswitchinterval()
            sys.setswitchinterval(switch_interval)

    def submit(self, envelopes: Sequence[Envelope]) -> Future[Verdicts]:
        """Queue a batch; the future's result is :func:`verify_batch` of it."""
        if self.process:
            signed = [(e.sender, e.nonce, e.signature, e.signed) for e in envelopes]
            return self._pool.submit(_verify_signed, signed)
        return self._pool.submit(verify_batch, list(envelopes))

    def verify(self, envelopes: Sequence[Envelope]) -> Verdicts:
        """Verify a batch on the worker and wait for it."""
        return self.submit(envelopes).result()

    def close(self) -> None:
        """Finish the queued batches, stop the worker, restore the switch interval (idempotent)."""
        self._pool.shutdown(wait=True)
        if self._restore is not None:
            sys.setswitchinterval(self._restore)
            self._restore = None

    def __enter__(self) -> BatchVerifier:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


@dataclass(slots=True)
class PipelineCounts:
    """What :func:`ingest_batches` did, frame by frame, summed."""

    frames: int = 0
    rejected: int = 0
    """Envelope faults and bad signatures (the neighbour that sent them is penalised)."""
    bad_signatures: int = 0
    """Of the rejected, those whose signature did not verify."""
    dropped: int = 0
    """Duplicates, above a proven fork, beyond the window (decided at ingest, as ingest does)."""
    ingested: int = 0
    """Verified frames handed to :meth:`Replica.ingest_envelope`."""
    judged: int = 0
    """Packets judged during the run (a frame can release packets that waited for it)."""


@dataclass(slots=True)
class _Screened:
    """One opened batch: results of frames rejected at open, and the rest in frame order."""

    results: list[Ingested | None]
    queue: list[tuple[int, Envelope, bool]]
    """``(index in results, envelope, sent to the verifier)`` in frame order."""
    envelopes: list[Envelope]
    """The envelopes sent to the verifier, in order."""


def ingest_batches(
    replica: Replica,
    batches: Iterable[Sequence[bytes]],
    verifier: BatchVerifier,
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
    open_ = replica.codec.open
    seen = replica.seen.contains
    forks = replica.forks
    out = _Screened([], [], [])
    results, queue, envelopes = out.results, out.queue, out.envelopes
    for frame in frames:
        try:
            env = open_(frame)
        except Rejected as exc:
            results.append(_rejected(replica, exc))
            counts.rejected += 1
            continue
        fork = forks.get(env.sender)
        spare = (fork is not None and env.nonce > fork.nonce) or seen(
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
    ingest = replica.ingest_envelope
    screen = replica.screen
    for slot, env, sent in screened.queue:
        early = None if sent else screen(env)
        if early is not None:
            result = early
        else:
            # Sent: verified on the worker.  Spared but no longer dropped (a version forgotten
            # by an eviction meanwhile): verified here, rarely.
            error = next(verdicts) if sent else verify_batch([env])[0]
            if error is None:
                result = ingest(env, verified=True)
            else:
                result = screen(env) or _rejected(replica, error)  # screen first, as ingest
        outcome = result.outcome
        if outcome is Outcome.DROPPED:
            counts.dropped += 1
        elif outcome is Outcome.REJECTED:
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
