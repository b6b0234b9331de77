"""Signature verification on a second core, and the pipelined ingest that uses it.

:class:`BatchVerifier` runs :meth:`FrameCodec.verify` over batches in a worker thread or process;
:func:`ingest_batches` feeds a Replica with it, exactly as ``Replica.ingest`` would.  No clock,
socket or store: the caller commits after each batch (e.g. ``DurableReplica.receive(())``).
"""

from __future__ import annotations

import multiprocessing
import sys
from collections.abc import Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from types import TracebackType
from typing import Final

from node.core.batch import PipelineCounts, Verdicts, ingest_batch, ingest_batches, verify_batch
from protocol.frame import Envelope

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
