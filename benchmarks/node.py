"""Node benchmark: the whole node over UDP, each figure beside its limit in the same run.

A receiving node (the daemon's parts: NodeCore, the Trio driver, a UDP socket, the SQLite store,
signatures checked in the worker process) is fed by neighbour processes on loopback
(``python -m benchmarks.node --peer``: a plain socket that says hello, sends what it is told and
answers pulls).  Three figures:

- ``node_ingest_per_s``: distinct signed packets taken in per second (judged and committed),
  sent as fast as the node takes them (at most 1,024 in flight), beside raw Ed25519 verify of
  the same packets on one core and on two;
- ``node_dup_drop_per_s``: a burst of duplicates drained per second, beside a plain socket's
  ``recvfrom`` loop draining the same burst;
- ``node_goodput_flood_per_s``: honest packets taken in per second at half the ingest rate
  while a second neighbour sends well-formed frames of the honest senders with fresh nonces and
  bad signatures at 10x that rate, beside the same honest load with no flood; and how long the
  node took to drop the junk neighbour.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Final

import nacl.signing
import trio

from benchmarks import Figures, raw_verify
from node.core.events import JUDGED
from node.core.node import NodeCore, Persist
from node.drivers.driver import NodeDriver, StoreJournal
from node.drivers.durable import DurableReplica
from node.drivers.store import Store
from node.drivers.verifyworker import VerifyWorker
from protocol.constants import ZERO_PREV
from protocol.errors import LinkError
from protocol.frame import FrameCodec, encode_body
from protocol.genesis import LOCAL
from protocol.kinds import Transfer
from protocol.link import (
    Graft,
    Hello,
    Proof,
    Want,
    decode_link,
    encode_link,
    hello_signed,
)
from transports.base import Address, Datagram
from transports.udp import UdpConfig, UdpTransport

__all__ = ["Plan", "run"]

SENDERS: Final = 64
LOOPBACK: Final = "127.0.0.1"
WINDOW: Final = 1024
"""Packets in flight (sent, not yet judged) while measuring ingest."""
RECEIVE_BUFFER: Final = 8 << 20
BYTES_PER_QUEUED: Final = 2_048
ROOT: Final = Path(__file__).resolve().parents[1]
SINK: Final = hashlib.sha256(b"bitcraps-bench/node/sink").digest()


@dataclass(frozen=True, slots=True)
class Plan:
    packets: int
    """Distinct packets through the ingest runs, all rounds and both ways together."""
    rounds: int
    """Ingest rounds; each runs a chunk with the worker and a chunk without, each followed by
    raw verify of the same chunk (the paired ratios are medians over rounds)."""
    dup_rounds: int
    flood_seconds: float
    """Length of each goodput run (with and without the flood)."""


QUICK: Final = Plan(packets=6144, rounds=3, dup_rounds=5, flood_seconds=2.0)
FULL: Final = Plan(packets=20480, rounds=5, dup_rounds=9, flood_seconds=5.0)
TARGET: Final = 0.8
"""Ingest over UDP against raw verify on one core (the issue's target)."""


# --------------------------------------------------------------------------- the corpus


class Corpus:
    """Transfers of :data:`SENDERS` senders, prev-chained, nonce-major (every sender's nonce n
    before any nonce n + 1); more can be appended."""

    def __init__(self) -> None:
        self.codec = FrameCodec(LOCAL.network_id)
        self.keys = [
            nacl.signing.SigningKey(hashlib.sha256(b"bitcraps-bench/node/%d" % i).digest())
            for i in range(SENDERS)
        ]
        self.prevs = [ZERO_PREV] * SENDERS
        self.nonce = 0
        self.frames: list[bytes] = []
        self.checks: list[tuple[nacl.signing.VerifyKey, bytes, bytes]] = []

    @property
    def senders(self) -> list[bytes]:
        return [bytes(k.verify_key) for k in self.keys]

    def extend(self, packets: int) -> tuple[int, int]:
        """Sign ``packets`` more (rounded up to whole nonces); their index range."""
        start = len(self.frames)
        while len(self.frames) < start + packets:
            self.nonce += 1
            for who, key in enumerate(self.keys):
                frame = self.codec.seal(key, self.nonce, self.prevs[who], Transfer(SINK, 1, ()))
                env = self.codec.open(frame)
                self.prevs[who] = env.h
                self.frames.append(frame)
                self.checks.append((key.verify_key, env.signed, env.signature))
        return start, len(self.frames)


def _write_frames(frames: Sequence[bytes], path: Path) -> None:
    with path.open("wb") as out:
        for frame in frames:
            out.write(struct.pack(">H", len(frame)) + frame)


def _read_frames(path: Path) -> list[bytes]:
    data = path.read_bytes()
    out, at = [], 0
    while at < len(data):
        (n,) = struct.unpack_from(">H", data, at)
        out.append(data[at + 2 : at + 2 + n])
        at += 2 + n
    return out


# --------------------------------------------------------------------------- neighbour process


class Neighbour:
    """The neighbour process: hello, then send as told, answer pulls (honest) or flood."""

    def __init__(self, name: str, port: int) -> None:
        self.key = nacl.signing.SigningKey(hashlib.sha256(b"bench-peer/" + name.encode()).digest())
        self.me = bytes(self.key.verify_key)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, RECEIVE_BUFFER)
        self.sock.bind((LOOPBACK, 0))
        self.target = (LOOPBACK, port)
        self.sock.connect(self.target)  # send() on a connected socket: the cheapest send
        self.other = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.junk_frames: list[bytes] = []
        self.frames: list[bytes] = []
        self.by_key: dict[tuple[bytes, int], bytes] = {}
        self.challenge = os.urandom(16)
        self.linked = threading.Event()
        self.codec = FrameCodec(LOCAL.network_id)

    def load(self, path: Path) -> None:
        self.frames = _read_frames(path)
        for frame in self.frames:
            env = self.codec.open(frame)
            self.by_key[(env.sender, env.nonce)] = frame

    def listen(self) -> None:
        prefix = LOCAL.network_id[:4]
        while True:
            try:
                data = self.sock.recv(2048)
            except OSError:
                return
            if not data or data[0] < 0x80:
                continue
            try:
                msg = decode_link(data)
            except LinkError:
                continue
            if isinstance(msg, Hello | Proof):
                answer = msg.challenge
                if isinstance(msg, Proof) and msg.answer == self.challenge:
                    self.linked.set()
                signed = hello_signed(LOCAL.network_id, answer, self.challenge, self.me, msg.key)
                proof = Proof(
                    prefix, self.me, self.challenge, answer, self.key.sign(signed).signature
                )
                self.sock.send(encode_link(proof))
            elif isinstance(msg, Want | Graft):
                items = msg.items if isinstance(msg, Want) else msg.spans
                for item in items:
                    for nonce in range(item.lo, min(item.hi, item.lo + 64) + 1):
                        frame = self.by_key.get((item.sender, nonce))
                        if frame is not None:
                            self.sock.send(frame)

    def hello(self) -> None:
        threading.Thread(target=self.listen, daemon=True).start()
        hello = encode_link(Hello(LOCAL.network_id[:4], self.me, self.challenge))
        while not self.linked.wait(0.2):
            self.sock.send(hello)

    def send(self, lo: int, hi: int, rate: float, port: int | None = None) -> None:
        """Send frames ``lo..hi-1``: at once (``rate`` 0), or ``rate`` a second in bursts
        every half millisecond."""
        frames = self.frames
        if port is not None and port != self.target[1]:
            sendto, target = self.other.sendto, (LOOPBACK, port)
            for i in range(lo, hi):
                sendto(frames[i], target)
            return
        send = self.sock.send
        if rate <= 0:
            for i in range(lo, hi):
                send(frames[i])
            return
        _paced(lambda i: send(frames[i]), lo, hi, rate)

    def prepare(self, base: int) -> None:
        """Make the junk: well-formed frames of the honest senders with fresh nonces
        (``base`` + 1..64), other bodies and bad signatures."""
        rng = random.Random(7)
        senders = sorted({s for s, _ in self.by_key})
        self.junk_frames = [_junk_frame(s, base + k, rng) for k in range(1, 65) for s in senders]

    def junk(self, rate: float, seconds: float) -> int:
        """Send the junk, ``rate`` a second for ``seconds``."""
        frames, send = self.junk_frames, self.sock.send
        count = int(rate * seconds)
        _paced(lambda i: send(frames[i % len(frames)]), 0, count, rate)
        return count


def _paced(send: Callable[[int], object], lo: int, hi: int, rate: float) -> None:
    start = time.perf_counter()
    i = lo
    while i < hi:
        due = min(hi, lo + int((time.perf_counter() - start) * rate) + 1)
        while i < due:
            send(i)
            i += 1
        time.sleep(0.0005)


def _junk_frame(sender: bytes, nonce: int, rng: random.Random) -> bytes:
    body = encode_body(
        sender, nonce, rng.randbytes(8), Transfer(SINK, rng.randrange(1, 1 << 40), ())
    )
    return bytes((1, 0)) + LOCAL.network_id[:4] + body + rng.randbytes(64)


def neighbour_main(name: str, port: int) -> int:
    """Read commands on stdin, one per line; answer each with a line on stdout."""
    peer = Neighbour(name, port)
    sent = 0
    for line in sys.stdin:
        words = line.split()
        if not words:
            continue
        op = words[0]
        if op == "load":
            peer.load(Path(words[1]))
        elif op == "hello":
            peer.hello()
        elif op == "credit":
            n = int(words[1])
            peer.send(sent, min(sent + n, len(peer.frames)), 0)
            sent = min(sent + n, len(peer.frames))
            continue  # no answer: credits stream in
        elif op == "blast":
            peer.send(int(words[2]), int(words[3]), 0, int(words[1]))
        elif op == "paced":
            peer.send(int(words[1]), int(words[2]), float(words[3]))
        elif op == "prepare":
            peer.prepare(int(words[1]))
        elif op == "junk":
            count = peer.junk(float(words[1]), float(words[2]))
            print(f"sent {count}", flush=True)
            continue
        print("ok", flush=True)
    return 0


class Process:
    """A neighbour process seen from the benchmark."""

    def __init__(self, name: str, port: int) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.node", "--peer", name, str(port)],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.stdin: IO[str] = self.proc.stdin  # type: ignore[assignment]
        self.stdout: IO[str] = self.proc.stdout  # type: ignore[assignment]

    def tell(self, line: str) -> None:
        """A line that gets no answer (credits)."""
        self.stdin.write(line + "\n")
        self.stdin.flush()

    async def say(self, line: str) -> str:
        """A line and its answer, waited for off the event loop (the node must keep running)."""
        self.tell(line)
        return (await trio.to_thread.run_sync(self.stdout.readline)).strip()

    def close(self) -> None:
        self.stdin.close()
        self.proc.wait(timeout=10)


# --------------------------------------------------------------------------- the receiving node


class Counting(StoreJournal):
    """The daemon's journal, counting what it commits and when it last did; ``judging`` is
    set (and replaced) at each commit that judged something."""

    def __init__(self, durable: DurableReplica) -> None:
        super().__init__(durable)
        self.judged = 0
        self.last = time.perf_counter()
        self.judging = trio.Event()

    def persist(self, persist: Persist) -> None:
        super().persist(persist)
        judged = [e.what for e in persist.events].count(JUDGED)
        if judged:
            self.judged += judged
            self.last = time.perf_counter()
            self.judging.set()
            self.judging = trio.Event()


class Gate:
    """A transport whose receiving can be held (a burst then waits in the socket buffer)."""

    def __init__(self, inner: UdpTransport) -> None:
        self.inner = inner
        self.open = trio.Event()
        self.open.set()

    @property
    def local_address(self) -> Address:
        return self.inner.local_address

    @property
    def max_datagram(self) -> int:
        return self.inner.max_datagram

    @property
    def stats(self):  # type: ignore[no-untyped-def]
        return self.inner.stats

    def send(self, address: Address, data: bytes) -> bool:
        return self.inner.send(address, data)

    async def receive_batch(self) -> list[Datagram]:
        await self.open.wait()
        return await self.inner.receive_batch()

    async def aclose(self) -> None:
        await self.inner.aclose()


async def _until(condition: Callable[[], bool], limit: float = 60.0, step: float = 0.001) -> None:
    with trio.fail_after(limit):
        while not condition():
            await trio.sleep(step)


def _cpu_seconds(pid: int | None) -> float:
    """User and system CPU seconds a process has used so far (Linux /proc; 0 elsewhere)."""
    if pid is None:
        return 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def raw_verify_2proc(checks: list[tuple[nacl.signing.VerifyKey, bytes, bytes]]) -> float:
    """Raw verify split over two processes: the two-core limit (checks per second)."""
    plain = [(bytes(k), m, s) for k, m, s in checks]
    half = len(plain) // 2
    with ProcessPoolExecutor(2) as pool:
        list(pool.map(_verify_plain, [plain[:8], plain[:8]]))  # start both workers
        start = time.perf_counter()
        list(pool.map(_verify_plain, [plain[:half], plain[half:]]))
        return len(plain) / (time.perf_counter() - start)


def _verify_plain(items: list[tuple[bytes, bytes, bytes]]) -> int:
    for key, message, signature in items:
        nacl.signing.VerifyKey(key).verify(message, signature)
    return len(items)


async def measure(plan: Plan, say: Callable[[str], None], work: Path) -> Figures:
    """Run the three measurements against one receiving node."""
    corpus = Corpus()
    chunk = max(SENDERS, plan.packets // (2 * plan.rounds))
    corpus.extend(chunk * 2 * plan.rounds)
    say(f"node: {len(corpus.frames)} packets of {SENDERS} senders signed")
    store = Store(work / "store.sqlite3", LOCAL.network_id)
    key = nacl.signing.SigningKey(hashlib.sha256(b"bitcraps-bench/node/receiver").digest())
    durable = DurableReplica(LOCAL, store, key, clock=trio.current_time)
    core = NodeCore(durable.replica, key, random.Random(1), trio.current_time())
    journal = Counting(durable)
    figures: Figures = {"node_senders": SENDERS, "node_rounds": plan.rounds}
    try:
        async with trio.open_nursery() as nursery:
            udp = await nursery.start(
                UdpTransport(UdpConfig(LOOPBACK, 0, receive_buffer=RECEIVE_BUFFER)).run
            )
            gate = Gate(udp)
            worker = VerifyWorker()
            driver = NodeDriver(core, gate, journal=journal, worker=worker)  # type: ignore[arg-type]
            await nursery.start(driver.run)
            port = udp.local_address[1]
            honest = Process("honest", port)
            bench = Bench(corpus, core, driver, worker, journal, honest, work, port, say)
            try:
                await bench.load()
                await honest.say("hello")
                await _until(lambda: core.links.count_up() == 1)
                figures |= await bench.ingest(plan, chunk)
                figures |= await bench.duplicates(plan)
                figures |= await bench.flood(plan, float(figures["node_ingest_median_per_s"]))
            finally:
                honest.close()
            nursery.cancel_scope.cancel()
    finally:
        store.close()
    return figures


class Bench:
    """The receiving node and its honest neighbour, and the three measurements."""

    def __init__(
        self,
        corpus: Corpus,
        core: NodeCore,
        driver: NodeDriver,
        worker: VerifyWorker,
        journal: Counting,
        honest: Process,
        work: Path,
        port: int,
        say: Callable[[str], None],
    ) -> None:
        self.corpus, self.core, self.driver, self.worker = corpus, core, driver, worker
        self.journal, self.honest, self.work, self.port, self.say = (
            journal,
            honest,
            work,
            port,
            say,
        )
        self.granted = 0

    async def load(self) -> None:
        """Hand the whole corpus to the neighbours (it only grows)."""
        _write_frames(self.corpus.frames, self.work / "frames.bin")
        await self.honest.say(f"load {self.work / 'frames.bin'}")

    async def ingest(self, plan: Plan, chunk: int) -> Figures:
        """Rounds of: a chunk through the node with the worker, raw verify of it; a chunk with
        signatures checked on the loop's own thread, raw verify of it."""
        rates: dict[str, list[float]] = {"worker": [], "inline": [], "raw": []}
        ratios: dict[str, list[float]] = {"worker": [], "inline": []}
        cpu: dict[str, list[float]] = {"loop": [], "worker": [], "inline": [], "raw": []}
        inline_cpu_ratios: list[float] = []  # raw verify's CPU a packet over the one-core loop's
        at = 0
        for round_no in range(plan.rounds):
            self.say(f"node: ingest round {round_no + 1}/{plan.rounds}, {chunk} packets a run")
            for mode in ("worker", "inline"):
                self.driver.worker = self.worker if mode == "worker" else None
                loop0, worker0 = time.thread_time(), _cpu_seconds(self.worker.pid)
                rate = await self._ingest_run(at, at + chunk)
                if mode == "worker":
                    cpu["loop"].append((time.thread_time() - loop0) / chunk)
                    cpu["worker"].append((_cpu_seconds(self.worker.pid) - worker0) / chunk)
                else:
                    cpu["inline"].append((time.thread_time() - loop0) / chunk)
                start, cpu0 = time.perf_counter(), time.thread_time()
                raw_verify(self.corpus.checks[at : at + chunk])
                raw = chunk / (time.perf_counter() - start)
                cpu["raw"].append((time.thread_time() - cpu0) / chunk)
                if mode == "inline":
                    inline_cpu_ratios.append(cpu["raw"][-1] / cpu["inline"][-1])
                rates[mode].append(rate)
                rates["raw"].append(raw)
                ratios[mode].append(rate / raw)
                at += chunk
        self.driver.worker = self.worker
        two = max(raw_verify_2proc(self.corpus.checks[: 2 * chunk]) for _ in range(2))
        best = {name: max(values) for name, values in rates.items()}
        return {
            "node_ingest_packets": chunk,
            "node_ingest_per_s": round(best["worker"], 1),
            "node_ingest_median_per_s": round(statistics.median(rates["worker"]), 1),
            "node_ingest_1core_per_s": round(best["inline"], 1),
            "node_raw_verify_per_s": round(best["raw"], 1),
            "node_raw_verify_2core_per_s": round(two, 1),
            "node_ingest_vs_verify": round(best["worker"] / best["raw"], 4),
            "node_ingest_vs_verify_paired": round(statistics.median(ratios["worker"]), 4),
            "node_ingest_1core_vs_verify": round(best["inline"] / best["raw"], 4),
            "node_ingest_1core_vs_verify_paired": round(statistics.median(ratios["inline"]), 4),
            "node_ingest_vs_verify_2core": round(best["worker"] / two, 4),
            "node_ingest_target_met": statistics.median(ratios["worker"]) >= TARGET,
            "node_ingest_1core_target_met": statistics.median(ratios["inline"]) >= TARGET,
            "node_loop_cpu_us": round(1e6 * statistics.median(cpu["loop"]), 1),
            "node_worker_cpu_us": round(1e6 * statistics.median(cpu["worker"]), 1),
            "node_loop_1core_cpu_us": round(1e6 * statistics.median(cpu["inline"]), 1),
            "node_raw_verify_cpu_us": round(1e6 * statistics.median(cpu["raw"]), 1),
            "node_ingest_cpu_bound_vs_verify": round(
                statistics.median(cpu["raw"])
                / max(statistics.median(cpu["loop"]), statistics.median(cpu["worker"])),
                4,
            ),
            "node_ingest_1core_cpu_vs_verify": round(statistics.median(inline_cpu_ratios), 4),
        }

    async def _ingest_run(self, lo: int, hi: int) -> float:
        """Send ``lo..hi-1`` with at most :data:`WINDOW` in flight; packets judged a second."""
        base = self.journal.judged
        target = base + (hi - lo)
        self.granted = lo
        start = time.perf_counter()
        with trio.move_on_after(120) as stalled:
            while self.journal.judged < target:
                in_flight = (self.granted - lo) - (self.journal.judged - base)
                if self.granted < hi and in_flight < WINDOW:
                    step = min(256, hi - self.granted)
                    self.honest.tell(f"credit {step}")
                    self.granted += step
                else:  # woken by a commit, not by polling: the loop's CPU is the node's
                    await self.journal.judging.wait()
        if stalled.cancelled_caught:
            raise RuntimeError(f"ingest stalled at {self.journal.judged} of {target}")
        return (hi - lo) / (time.perf_counter() - start)

    async def duplicates(self, plan: Plan) -> Figures:
        """Bursts of packets already taken, drained by the node and by a plain socket."""
        core, gate, port = self.core, self.driver.transport, self.port
        assert isinstance(gate, Gate)
        with (
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as plain,
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as poke,
        ):
            plain.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER)
            plain.bind((LOOPBACK, 0))
            capacity = plain.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF) // BYTES_PER_QUEUED
            burst = max(1, min(self.granted, capacity))
            self.say(f"node: duplicates, bursts of {burst}, {plan.dup_rounds} rounds")
            node_rates, plain_rates = [], []
            for _ in range(plan.dup_rounds):
                gate.open = trio.Event()
                poke.sendto(b"\x00", (LOOPBACK, port))  # the receive task returns, then waits
                await trio.sleep(0.05)
                before = core.counters.get("duplicate", 0)
                await self.honest.say(f"blast {port} 0 {burst}")
                start = time.perf_counter()
                gate.open.set()
                goal = before + burst
                await _until(lambda: core.counters.get("duplicate", 0) >= goal, 30, 1e-4)  # noqa: B023
                node_rates.append(burst / (time.perf_counter() - start))
                await self.honest.say(f"blast {plain.getsockname()[1]} 0 {burst}")
                start = time.perf_counter()
                for _ in range(burst):
                    plain.recvfrom(2048, socket.MSG_DONTWAIT)
                plain_rates.append(burst / (time.perf_counter() - start))
        ratios = [a / b for a, b in zip(node_rates, plain_rates, strict=True)]
        return {
            "node_dup_burst": burst,
            "node_dup_drop_per_s": round(max(node_rates), 1),
            "node_plain_recv_per_s": round(max(plain_rates), 1),
            "node_dup_vs_plain": round(max(node_rates) / max(plain_rates), 4),
            "node_dup_vs_plain_paired": round(statistics.median(ratios), 4),
        }

    async def flood(self, plan: Plan, capacity: float) -> Figures:
        """Honest packets at half the ingest rate (the median run's), without and then with a
        junk neighbour sending 10x that rate of well-formed frames with bad signatures."""
        rate = capacity / 2
        count = max(SENDERS, int(rate * plan.flood_seconds))
        quiet = self.corpus.extend(count)
        base = self.corpus.nonce
        loud = self.corpus.extend(count)
        await self.load()
        self.say(f"node: goodput at {rate:.0f}/s for {plan.flood_seconds} s, no flood")
        calm = await self._paced(*quiet, rate)
        junk = Process("junk", self.port)
        try:
            await junk.say(f"load {self.work / 'frames.bin'}")
            await junk.say(f"prepare {base}")
            await junk.say("hello")
            await _until(lambda: self.core.links.count_up() == 2)
            self.say(f"node: the same with {10 * rate:.0f}/s of junk from one neighbour")
            banned: list[float] = []
            start = time.perf_counter()

            async def watch() -> None:
                while not self.core.counters.get("banned"):
                    await trio.sleep(0.001)
                banned.append(time.perf_counter() - start)

            junk_cpu = _cpu_seconds(junk.proc.pid)
            async with trio.open_nursery() as nursery:
                nursery.start_soon(watch)
                nursery.start_soon(junk.say, f"junk {10 * rate} {plan.flood_seconds}")
                loud_rate = await self._paced(*loud, rate)
                if not banned:
                    nursery.cancel_scope.cancel()
            junk_cpu = (_cpu_seconds(junk.proc.pid) - junk_cpu) / (time.perf_counter() - start)
        finally:
            junk.close()
        return {
            "node_honest_rate_per_s": round(rate, 1),
            "node_junk_rate_per_s": round(10 * rate, 1),
            "node_goodput_per_s": round(calm, 1),
            "node_goodput_flood_per_s": round(loud_rate, 1),
            "node_goodput_flood_vs_calm": round(loud_rate / calm, 4),
            "node_junk_dropped_after_s": round(banned[0], 3) if banned else -1.0,
            "node_junk_rejected": self.core.counters.get("rejected_BadSignature", 0),
            "node_junk_sender_cores": round(junk_cpu, 3),
        }

    async def _paced(self, lo: int, hi: int, rate: float) -> float:
        """Send ``lo..hi-1`` at ``rate``; packets judged a second, first sent to last judged."""
        target = self.journal.judged + (hi - lo)
        start = time.perf_counter()
        await self.honest.say(f"paced {lo} {hi} {rate}")
        with trio.move_on_after(10):
            await _until(lambda: self.journal.judged >= target, 10, 0.001)
        got = self.journal.judged - (target - (hi - lo))
        return got / (self.journal.last - start)


def run(
    quick: bool,
    size: int | None = None,
    progress: Callable[[str], None] | None = None,
) -> Figures:
    plan = QUICK if quick else FULL
    if size is not None:
        plan = Plan(packets=size, rounds=1, dup_rounds=2, flood_seconds=0.5)
    say = progress if progress is not None else (lambda _m: None)
    with tempfile.TemporaryDirectory(prefix="bcm-bench-node-") as tmp:
        return trio.run(measure, plan, say, Path(tmp))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.node")
    parser.add_argument("--peer", nargs=2, metavar=("NAME", "PORT"), help="run as a neighbour")
    args = parser.parse_args(argv)
    if args.peer is None:
        parser.print_help()
        return 2
    return neighbour_main(args.peer[0], int(args.peer[1]))


if __name__ == "__main__":
    sys.exit(main())
