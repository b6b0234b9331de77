"""Signature checks on a second core, and the pipelined ingest that uses them.

:class:`BatchVerifier` runs :func:`~node.core.replica.verify_batch` over batches in a worker
process (or thread); :func:`ingest_batches` feeds a replica through its push-style batch API
(``open_batch`` / ``finish_batch``) while the worker checks the next batch.  The results are
those of ``Replica.receive`` frame by frame.  It leaves process-wide settings alone.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from types import TracebackType

from node.core.events import Ingested
from node.core.replica import OpenBatch, Replica, Verdicts, verify_batch
from node.core.verdicts import Outcome
from protocol.frame import Envelope

__all__ = ["BatchVerifier", "PipelineCounts", "ingest_batches"]


def _verify_signed(items: Sequence[tuple[bytes, int, bytes, bytes]]) -> Verdicts:
    """:func:`verify_batch` in a worker process, from what a signature check reads."""
    envelopes = [
        Envelope(0, 0, sender, nonce, b"", b"", signature, [], signed, b"")
        for sender, nonce, signature, signed in items
    ]
    return verify_batch(envelopes)


class BatchVerifier:
    """One worker that checks batches of envelopes' signatures, in submission order.

    ``process=True`` (what a node uses) checks in one spawned worker process: no GIL is shared,
    and each batch travels as ``(sender, nonce, signature, signed message)`` tuples; it starts in
    a fraction of a second, so open one per node, not per batch.  A thread worker shares the GIL
    with the main thread and overlaps with it only while the main thread waits.  Use as a
    context manager, or call :meth:`close`.
    """

    def __init__(self, *, process: bool = True) -> None:
        self.process = process
        self._pool: Executor
        if process:
            spawn = multiprocessing.get_context("spawn")
            self._pool = ProcessPoolExecutor(max_workers=1, mp_context=spawn)
        else:
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="bcm-verify")

    def submit(self, envelopes: Sequence[Envelope]) -> Future[Verdicts]:
        """Queue a batch; the future's result is :func:`verify_batch` of it."""
        if self.process:
            signed = [(e.sender, e.nonce, e.signature, e.signed) for e in envelopes]
            return self._pool.submit(_verify_signed, signed)
        return self._pool.submit(verify_batch, list(envelopes))

    def verify(self, envelopes: Sequence[Envelope]) -> Verdicts:
        """Check a batch on the worker and wait for it."""
        return self.submit(envelopes).result()

    def close(self) -> None:
        """Finish the queued batches and stop the worker (idempotent)."""
        self._pool.shutdown(wait=True)

    def __enter__(self) -> BatchVerifier:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class PipelineCounts:
    """What :func:`ingest_batches` did, frame by frame, summed: ``rejected`` (envelope faults
    and bad signatures, of which ``bad_signatures``), ``dropped`` (duplicates, above a fork,
    beyond the window), ``ingested`` (verified frames placed) and ``judged`` (packets judged
    during the run: a frame can release packets that waited for it)."""

    __slots__ = ("bad_signatures", "dropped", "frames", "ingested", "judged", "rejected")

    def __init__(self) -> None:
        self.frames = 0
        self.rejected = 0
        self.bad_signatures = 0
        self.dropped = 0
        self.ingested = 0
        self.judged = 0

    def add(self, results: list[Ingested]) -> None:
        self.frames += len(results)
        for result in results:
            if result.outcome is Outcome.DROPPED:
                self.dropped += 1
            elif result.outcome is Outcome.REJECTED:
                self.rejected += 1
                if result.why == "BadSignature":
                    self.bad_signatures += 1
            else:
                self.ingested += 1
            self.judged += len(result.judged)

    def __repr__(self) -> str:
        return (
            f"PipelineCounts(frames={self.frames}, rejected={self.rejected}, "
            f"bad_signatures={self.bad_signatures}, dropped={self.dropped}, "
            f"ingested={self.ingested}, judged={self.judged})"
        )


def ingest_batches(
    replica: Replica,
    batches: Iterable[Sequence[bytes]],
    verifier: BatchVerifier,
    now: float,
    after_batch: Callable[[list[Ingested]], object] | None = None,
) -> PipelineCounts:
    """Feed ``batches`` to ``replica``, signatures checked on ``verifier``: this thread opens
    batch k+1 and sends it to the worker, then places batch k while the worker checks k+1.
    ``after_batch`` gets each batch's results in frame order once placed (commit there)."""
    counts = PipelineCounts()
    pending: tuple[OpenBatch, Future[Verdicts]] | None = None
    for frames in batches:
        opened = replica.open_batch(frames)
        future = verifier.submit(opened.envelopes)
        if pending is not None:
            _finish(replica, *pending, now, counts, after_batch)
        pending = (opened, future)
    if pending is not None:
        _finish(replica, *pending, now, counts, after_batch)
    return counts


def _finish(
    replica: Replica,
    opened: OpenBatch,
    future: Future[Verdicts],
    now: float,
    counts: PipelineCounts,
    after_batch: Callable[[list[Ingested]], object] | None,
) -> None:
    results = replica.finish_batch(opened, future.result(), now)
    counts.add(results)
    if after_batch is not None:
        after_batch(results)
