"""UDP benchmark: datagrams per second received through the UDP transport, beside a plain socket.

Owns a sender process (a plain blocking socket: ``python -m benchmarks.udp --sender``) that fills
a receiver's socket buffer on loopback with a burst of bet-sized datagrams, and the timed drains
of those bursts by three receivers in turn, every round: a plain blocking socket's ``recvfrom``
loop (the limit), the transport with batching, and the transport with one datagram per batch.
"""

from __future__ import annotations

import argparse
import gc
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Final

import trio

from benchmarks import Figures
from protocol.constants import MAX_FRAME
from transports.udp import DEFAULT_BATCH, UdpConfig, UdpTransport

__all__ = ["DATAGRAM", "FULL", "QUICK", "Plan", "Sender", "main", "run", "sender_main"]

DATAGRAM: Final = 150
"""Bytes per datagram: a single-bet frame at its largest."""
RECEIVE_BUFFER: Final = 8 << 20
"""SO_RCVBUF asked for by every receiver (the kernel may cap it; the burst is sized to fit)."""
BYTES_PER_QUEUED: Final = 2_048
"""What one small queued datagram costs a receive buffer, rounded up (Linux loopback: ~1,280)."""
LOOPBACK: Final = "127.0.0.1"
ROOT: Final = Path(__file__).resolve().parents[1]
_DONTWAIT: Final = getattr(socket, "MSG_DONTWAIT", 0)


@dataclass(frozen=True, slots=True)
class Plan:
    """How much work one run does."""

    burst: int
    """Datagrams per burst (lowered to what the receive buffer holds)."""
    rounds: int
    """Bursts drained by each receiver; rates are the best round."""


QUICK: Final = Plan(burst=2_000, rounds=11)
FULL: Final = Plan(burst=4_000, rounds=15)


class Sender:
    """The sending process: on each ``fill(port, count)`` it sends ``count`` datagrams to the
    loopback ``port`` from a plain blocking socket, as fast as it can, and says when done."""

    def __init__(self, size: int = DATAGRAM) -> None:
        self._process = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.udp", "--sender", str(size)],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self._stdin: IO[str] = _stream(self._process.stdin)
        self._stdout: IO[str] = _stream(self._process.stdout)

    def fill(self, port: int, count: int) -> float:
        """Have ``count`` datagrams sent to ``port``; return the seconds it took."""
        start = time.perf_counter()
        self._stdin.write(f"{port} {count}\n")
        self._stdin.flush()
        if self._stdout.readline().strip() != "done":
            raise RuntimeError("the UDP sender process stopped")
        return time.perf_counter() - start

    def close(self) -> None:
        self._stdin.close()
        self._process.wait(timeout=10)
        self._stdout.close()


def _stream(stream: IO[str] | None) -> IO[str]:
    if stream is None:
        raise RuntimeError("the sender process has no pipe")
    return stream


def sender_main(size: int) -> int:
    """The sender process: read ``PORT COUNT`` lines, send, answer ``done``."""
    payload = bytes(size)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        for line in sys.stdin:
            port, count = (int(word) for word in line.split())
            target = (LOOPBACK, port)
            for _ in range(count):
                sock.sendto(payload, target)
            print("done", flush=True)
    return 0


def plain_receiver() -> socket.socket:
    """The baseline: a plain blocking UDP socket on loopback."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER)
    sock.bind((LOOPBACK, 0))
    return sock


def plain_drain(sock: socket.socket, count: int) -> int:
    """``count`` blocking ``recvfrom`` calls.  Each passes MSG_DONTWAIT (the same system call on
    a queue that holds the burst) so a burst the kernel dropped part of ends in an error instead
    of a hang."""
    for _ in range(count):
        sock.recvfrom(MAX_FRAME + 1, _DONTWAIT)
    return count


async def transport_drain(transport: UdpTransport, count: int) -> int:
    """``receive_batch`` until ``count`` datagrams are in."""
    got = 0
    while got < count:
        got += len(await transport.receive_batch())
    return got


async def measure(plan: Plan, burst: int, sender: Sender, say: Callable[[str], None]) -> Figures:
    """Every round, fill and drain each receiver in turn; return the figures."""
    rates: dict[str, list[float]] = {"plain": [], "batched": [], "unbatched": []}
    fills: list[float] = []
    with plain_receiver() as plain:
        async with trio.open_nursery() as nursery:
            opened = []
            for limit in (DEFAULT_BATCH, 1):
                config = UdpConfig(LOOPBACK, 0, batch_limit=limit, receive_buffer=RECEIVE_BUFFER)
                opened.append(await nursery.start(UdpTransport(config).run))
            batched, unbatched = opened

            async def drain_plain(count: int) -> int:
                return plain_drain(plain, count)

            receivers: list[tuple[str, int, Callable[[int], Awaitable[int]]]] = [
                ("plain", plain.getsockname()[1], drain_plain),
                ("batched", batched.local_address[1], lambda n: transport_drain(batched, n)),
                ("unbatched", unbatched.local_address[1], lambda n: transport_drain(unbatched, n)),
            ]
            for round_no in range(plan.rounds):
                say(f"udp: round {round_no + 1}/{plan.rounds}")
                for name, port, drain in receivers:
                    fills.append(sender.fill(port, burst))
                    gc.collect()
                    start = time.perf_counter()
                    with trio.fail_after(10):
                        got = await drain(burst)
                    took = time.perf_counter() - start
                    if got != burst:
                        raise RuntimeError(f"{name} received {got} of {burst} datagrams")
                    rates[name].append(burst / took)
            stats = batched.stats
            nursery.cancel_scope.cancel()
    best = {name: max(values) for name, values in rates.items()}

    def paired(name: str) -> float:
        return statistics.median(a / b for a, b in zip(rates[name], rates["plain"], strict=True))

    return {
        "udp_datagram_bytes": DATAGRAM,
        "udp_burst": burst,
        "udp_rounds": plan.rounds,
        "udp_sender_per_s": round(burst / min(fills), 1),
        "udp_plain_recv_per_s": round(best["plain"], 1),
        "udp_transport_per_s": round(best["batched"], 1),
        "udp_transport_vs_plain": round(best["batched"] / best["plain"], 4),
        "udp_transport_vs_plain_paired": round(paired("batched"), 4),
        "udp_transport_unbatched_per_s": round(best["unbatched"], 1),
        "udp_transport_unbatched_vs_plain": round(best["unbatched"] / best["plain"], 4),
        "udp_batching_gain": round(best["batched"] / best["unbatched"], 4),
        "udp_mean_batch": round(stats.received / stats.batches, 2),
    }


def run(
    quick: bool,
    size: int | None = None,
    progress: Callable[[str], None] | None = None,
) -> Figures:
    """Measure the UDP receive figures; ``size`` overrides the burst (datagrams).

    Rates are datagrams per second drained from a full socket buffer in the best round; each
    ``*_vs_plain`` ratio is the quotient of best rates, ``*_paired`` the median of the ratio
    within a round.  ``udp_batching_gain`` is batched over one-datagram batches.
    """
    plan = QUICK if quick else FULL
    say = progress if progress is not None else (lambda _message: None)
    with plain_receiver() as probe:
        capacity = probe.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF) // BYTES_PER_QUEUED
    burst = min(plan.burst if size is None else size, capacity)
    if burst < 1:
        raise RuntimeError(f"a receive buffer here holds no {DATAGRAM}-byte datagram")
    say(f"udp: bursts of {burst} datagrams of {DATAGRAM} bytes, {plan.rounds} rounds")
    sender = Sender()
    try:
        return trio.run(measure, plan, burst, sender, say)
    finally:
        sender.close()


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m benchmarks.udp --sender SIZE``: the sending process of the benchmark."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.udp", description=main.__doc__)
    parser.add_argument("--sender", type=int, metavar="SIZE", help="run as the sender process")
    args = parser.parse_args(argv)
    if args.sender is None:
        parser.print_help()
        return 2
    return sender_main(args.sender)


if __name__ == "__main__":
    sys.exit(main())
