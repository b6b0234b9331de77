"""Signature checks in a worker process, driven from Trio without threads.

The daemon's second core: one worker process (``python -m node.drivers.verifyworker``) reads
batches on a Unix socket and answers each with one byte per signature (1 good, 0 bad), in order.
The parent writes and reads the socket from the event loop itself, so no executor, feeder or
waiting thread competes for the interpreter lock with the node: a batch costs two socket
operations.  Same verdicts as ``node.core.replica.verify_batch`` (libsodium's
``crypto_sign_open``, through ``protocol.frame.signatures_valid``).

Wire between the two (local, not a protocol): a batch is ``u32 length ‖ u16 count ‖ count ×
(sender 32 ‖ signature 64 ‖ u16 n ‖ signed message n)``; the answer ``u32 length ‖ count
bytes``.
"""

from __future__ import annotations

import signal
import socket
import struct
import subprocess
import sys
from collections import deque
from collections.abc import Callable, Sequence
from typing import Final

import trio

from node.core.replica import Verdicts
from protocol.frame import Envelope, bad_signature, signatures_valid

__all__ = ["VerifyWorker", "worker_main"]

_LEN: Final = struct.Struct(">I")
_ITEM: Final = struct.Struct(">32s64sH")
_BUFFER: Final = 4 << 20
"""Socket buffers both ways: several batches in flight never block a write."""


class VerifyWorker:
    """One worker process.  ``await nursery.start(worker.run)``, then :meth:`submit` batches;
    each answer goes to the ``done(job, verdicts)`` callback, in submission order."""

    def __init__(self) -> None:
        self._process: subprocess.Popen[bytes] | None = None
        self._stream: trio.SocketStream | None = None
        self._pending: deque[tuple[int, list[Envelope]]] = deque()
        self._out: list[bytes] = []
        self._wake = trio.Event()
        self.in_flight = 0

    async def run(
        self,
        done: Callable[[int, Verdicts], object],
        *,
        task_status: trio.TaskStatus[VerifyWorker] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        """Start the process, then write batches and read answers until cancelled."""
        parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        for sock in (parent, child):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, _BUFFER)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, _BUFFER)
        self._process = subprocess.Popen(
            [sys.executable, "-m", "node.drivers.verifyworker", str(child.fileno())],
            pass_fds=(child.fileno(),),
            stdin=subprocess.DEVNULL,
        )
        child.close()
        self._stream = trio.SocketStream(trio.socket.from_stdlib_socket(parent))
        try:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self._writer)
                task_status.started(self)
                await self._reader(done)
        finally:
            await self._stop()

    @property
    def pid(self) -> int | None:
        """The worker process's id once started."""
        return self._process.pid if self._process is not None else None

    def submit(self, job: int, envelopes: Sequence[Envelope]) -> None:
        """Queue a batch (written by the writer task at its next turn)."""
        parts = [struct.pack(">H", len(envelopes))]
        pack = _ITEM.pack
        for env in envelopes:
            parts.append(pack(env.sender, env.signature, len(env.signed)))
            parts.append(env.signed)
        body = b"".join(parts)
        self._out.append(_LEN.pack(len(body)) + body)
        self._pending.append((job, list(envelopes)))
        self.in_flight += 1
        self._wake.set()

    async def _writer(self) -> None:
        stream = self._stream
        assert stream is not None
        while True:
            await self._wake.wait()
            self._wake = trio.Event()
            out, self._out = self._out, []
            if out:
                await stream.send_all(b"".join(out))

    async def _reader(self, done: Callable[[int, Verdicts], object]) -> None:
        stream = self._stream
        assert stream is not None
        buffer = bytearray()
        while True:
            chunk = await stream.receive_some(1 << 16)
            if not chunk:
                raise RuntimeError("the signature worker process stopped")
            buffer += chunk
            while len(buffer) >= 4:
                (n,) = _LEN.unpack_from(buffer)
                if len(buffer) < 4 + n:
                    break
                answer = bytes(buffer[4 : 4 + n])
                del buffer[: 4 + n]
                job, envelopes = self._pending.popleft()
                self.in_flight -= 1
                verdicts: Verdicts = [
                    None if good else bad_signature(env)
                    for env, good in zip(envelopes, answer, strict=True)
                ]
                done(job, verdicts)

    async def _stop(self) -> None:
        if self._stream is not None:
            with trio.CancelScope(shield=True):
                await self._stream.aclose()
        process = self._process
        if process is not None and process.poll() is None:
            try:
                process.wait(timeout=1.0)  # it exits on end of input
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def worker_main(fd: int) -> int:
    """The worker: answer batches on socket ``fd`` until it closes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent stops it in order
    sock = socket.socket(fileno=fd)
    reader = sock.makefile("rb", buffering=1 << 20)
    unpack = _ITEM.unpack_from
    while True:
        head = reader.read(4)
        if len(head) < 4:
            return 0
        (n,) = _LEN.unpack(head)
        body = reader.read(n)
        (count,) = struct.unpack_from(">H", body)
        at = 2
        envelopes = []
        for _ in range(count):
            sender, signature, size = unpack(body, at)
            at += _ITEM.size
            signed = body[at : at + size]
            at += size
            envelopes.append(Envelope(0, 0, sender, 0, b"", b"", signature, [], signed, b""))
        answer = bytes(signatures_valid(envelopes))
        sock.sendall(_LEN.pack(len(answer)) + answer)


if __name__ == "__main__":
    sys.exit(worker_main(int(sys.argv[1])) if len(sys.argv) == 2 else 2)
