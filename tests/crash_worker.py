"""The subprocess of the crash tests: one node replaying a fixed script against its store.

``python tests/crash_worker.py WORKLOAD DATA_DIR [--check]`` opens the store in DATA_DIR, rebuilds
a DurableReplica, prints ``READY <digest> <own hwm> <outbox nonces> <resend count>``, then runs
the whole script idempotently (one ``STEP <i> <digest> <own hwm>`` line per step) or, with
``--check``, prints one JSON line describing the outbox.  It keeps no state outside the store, so
``$BITCRAPS_FAULT`` (injected as :class:`EnvFaults`) may SIGKILL it anywhere and a rerun resumes
where the store left off.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from node.drivers.durable import DurableReplica
from node.drivers.store import Store
from protocol.frame import FrameCodec
from protocol.genesis import LOCAL
from protocol.kinds import ExtRef, Transfer
from tests.ledger_factory import Chain, public_key, signing_key

__all__ = [
    "FAULT_ENV",
    "REMOTE_SEEDS",
    "WORKER_SEED",
    "EnvFaults",
    "make_workload",
    "open_node",
    "run",
]

FAULT_ENV = "BITCRAPS_FAULT"
"""``point`` or ``point:n``: the worker kills itself with SIGKILL at the n-th pass of ``point``."""


class EnvFaults:
    """The crash points of ``node.drivers.store.Faults``, armed by ``$BITCRAPS_FAULT``."""

    def __init__(self, spec: str | None) -> None:
        name, _, count = (spec or "").partition(":")
        self.point = name
        self.at = int(count) if count else 1
        self.passes = 0

    def reached(self, point: str) -> None:
        if point != self.point:
            return
        self.passes += 1
        if self.passes >= self.at:
            os.kill(os.getpid(), signal.SIGKILL)


WORKER_SEED = "crash-worker"
REMOTE_SEEDS = ("crash-remote-0", "crash-remote-1", "crash-remote-2")
STORE_NAME = "node.sqlite"
FORKER = 2
"""Index of the remote identity that equivocates (two versions of one nonce, the second late)."""
FORK_NONCE = 3

Workload = dict[str, Any]


def make_workload(seed: int, *, rounds: int = 8, issues: int = 10) -> Workload:
    """Remote frames (transfers to each other and to the worker, acks, one fork pair) cut into
    receive batches (reordered, some delayed, a few duplicated) and interleaved with issues."""
    rng = random.Random(seed)
    me = public_key(WORKER_SEED)
    chains = [Chain(s) for s in REMOTE_SEEDS]
    keys = [c.pub for c in chains]
    frames: list[bytes] = []
    fork_frame = b""
    for c in chains:
        frames.append(c.transfer(me, 5_000_000 + rng.randrange(1_000)))
    for _ in range(rounds):
        for i in rng.sample(range(len(chains)), len(chains)):
            c = chains[i]
            others = [j for j in range(len(chains)) if j != i and chains[j].nonce]
            refs = [
                chains[j].ref(rng.randint(1, chains[j].nonce))
                for j in rng.sample(others, min(len(others), rng.randint(0, 2)))
            ]
            if i == FORKER and c.nonce == FORK_NONCE - 1:
                fork_frame = c.branch(c.nonce).transfer(me, 777, *refs)
            if rng.random() < 0.25 and refs:
                frames.append(c.ack(*refs))
            else:
                payees = [k for j, k in enumerate(keys) if j != i]
                to = me if rng.random() < 0.4 else rng.choice(payees)
                frames.append(c.transfer(to, 1 + rng.randrange(100_000), *refs))
    # Cut into batches; delay some frames by one or two batches (so they wait for a predecessor
    # or a dependency), reorder within each batch, and re-deliver a few old frames (duplicates).
    # The second version of the forker's nonce arrives in the last batch: a late fork proof.
    size = 3
    batches: list[list[int]] = [[] for _ in range((len(frames) + size - 1) // size + 2)]
    for index in range(len(frames)):
        slot = index // size
        if rng.random() < 0.2:
            slot += rng.randint(1, 2)
        batches[slot].append(index)
    for b, batch in enumerate(batches):
        rng.shuffle(batch)
        if b > 2 and rng.random() < 0.3:
            batch.append(rng.choice(batches[b - 2] or [0]))
    frames.append(fork_frame)
    batches[-1].append(len(frames) - 1)
    # One own packet after every batch but the first: step "issue k" signs own nonce k.
    steps: list[dict[str, Any]] = []
    for k, batch in enumerate(filter(None, batches)):
        steps.append({"receive": batch})
        if 1 <= k <= issues:
            steps.append({"issue": k, "to": k % len(keys), "amount": 1_000 + k})
    return {
        "seed": seed,
        "worker_seed": WORKER_SEED,
        "remote_seeds": list(REMOTE_SEEDS),
        "frames": [f.hex() for f in frames],
        "steps": steps,
    }


def open_node(data_dir: Path, worker_seed: str = WORKER_SEED) -> DurableReplica:
    data_dir.mkdir(parents=True, exist_ok=True)
    faults = EnvFaults(os.environ.get(FAULT_ENV))
    store = Store(data_dir / STORE_NAME, LOCAL.network_id, faults=faults)
    return DurableReplica(LOCAL, store, signing_key(worker_seed), faults=faults)


def _acks(node: DurableReplica, remotes: list[bytes]) -> tuple[ExtRef, ...]:
    """Acknowledge each remote's highest judged packet (derived from the store-backed state)."""
    refs = []
    for key in sorted(remotes):
        hwm = node.replica.hwm(key)
        if hwm:
            refs.append(node.replica.ref(key, hwm))
    return tuple(refs[:4])


def _line(node: DurableReplica) -> str:
    assert node.identity is not None
    return f"{node.replica.digest().hex()} {node.replica.hwm(node.identity)}"


def run(
    workload: Workload, data_dir: Path, emit: Callable[[str], None], *, check: bool = False
) -> None:
    """Open the node, report READY, then run the script (``check``: describe the outbox)."""
    node = open_node(data_dir, workload["worker_seed"])
    me = node.identity
    assert me is not None
    store = node.store
    outbox = store.outbox()
    resend = list(node.resend)
    nonces = ",".join(str(n) for n, _ in outbox) or "-"
    emit(f"READY {_line(node)} {nonces} {len(resend)}")
    codec = FrameCodec(LOCAL.network_id)
    if check:
        unsent = [n for n, _ in store.unsent()]
        emit(
            json.dumps(
                {
                    "digest": node.replica.digest().hex(),
                    "hwm": node.replica.hwm(me),
                    "outbox": [[n, codec.open(f).full_hash.hex(), f.hex()] for n, f in outbox],
                    "unsent": unsent,
                    "resend": [f.hex() for f in resend],
                }
            )
        )
        store.close()
        return
    node.mark_sent(resend)
    remotes = [public_key(s) for s in workload["remote_seeds"]]
    frames = [bytes.fromhex(f) for f in workload["frames"]]
    for i, step in enumerate(workload["steps"]):
        if "receive" in step:
            node.receive(frames[k] for k in step["receive"])
        else:
            while node.replica.hwm(me) < step["issue"]:
                body = Transfer(
                    to=remotes[step["to"]], amount=step["amount"], acks=_acks(node, remotes)
                )
                frame = node.issue(body)
                # The transport is "down" for every third own packet: it stays in the outbox.
                if codec.open(frame).nonce % 3:
                    node.mark_sent([frame])
        emit(f"STEP {i} {_line(node)}")
    store.close()


def main(argv: list[str]) -> int:
    workload = json.loads(Path(argv[1]).read_text())

    def emit(line: str) -> None:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()

    run(workload, Path(argv[2]), emit, check="--check" in argv[3:])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
