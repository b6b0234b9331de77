"""Durability under a real SIGKILL (issue #3 point 4, ATTACKS.md scenario 20) and store refusals.

A subprocess (tests/crash_worker.py) runs a fixed script against its SQLite store and kills itself
at a fault point; a restart must resume from the last commit, have every own nonce signed once,
re-send its unsent outbox byte for byte and finish at the digest of the no-fault run.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import random
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from node.core.replica import Replica
from node.drivers.durable import Batch, DurableReplica, PlayerError
from node.drivers.store import SCHEMA_VERSION, Store, StoreError
from protocol.frame import FrameCodec
from protocol.genesis import LOCAL
from protocol.kinds import Ack, Body, ExtRef, Transfer
from tests.crash_worker import FAULT_ENV, STORE_NAME, WORKER_SEED, Workload, make_workload, run
from tests.ledger_factory import Chain, funded_genesis, public_key, signing_key, transfer

REPO = Path(__file__).resolve().parent.parent
WORKER = REPO / "tests" / "crash_worker.py"
SEED = 20
TIMEOUT = 60
ME = public_key(WORKER_SEED)
CODEC = FrameCodec(LOCAL.network_id)
POINTS = ("after_judge", "in_transaction", "after_commit", "after_sign")


# --------------------------------------------------------------------------- the worker's output


@dataclass(frozen=True)
class Ready:
    digest: str
    hwm: int
    nonces: list[int]
    resend: int


@dataclass
class Output:
    rc: int
    stderr: str
    ready: Ready | None = None
    steps: dict[int, tuple[str, int]] = field(default_factory=dict)
    check: dict[str, Any] | None = None


def parse(rc: int, stdout: str, stderr: str) -> Output:
    out = Output(rc, stderr)
    for line in stdout.splitlines():
        word, _, rest = line.partition(" ")
        if word == "READY":
            digest, hwm, nonces, resend = rest.split()
            listed = [] if nonces == "-" else [int(n) for n in nonces.split(",")]
            out.ready = Ready(digest, int(hwm), listed, int(resend))
        elif word == "STEP":
            index, digest, hwm = rest.split()
            out.steps[int(index)] = (digest, int(hwm))
        elif line.startswith("{"):
            out.check = json.loads(line)
    return out


@dataclass(frozen=True)
class Reference:
    """The same workload run in-process without faults: the digest after every step."""

    workload: Workload
    path: Path
    ready: str
    digests: list[str]
    hwms: list[int]
    own_frames: list[bytes]

    def digest_after(self, step: int) -> str:
        return self.ready if step < 0 else self.digests[step]

    def hwm_after(self, step: int) -> int:
        return 0 if step < 0 else self.hwms[step]

    def issue_at(self, step: int) -> int | None:
        """The own nonce step ``step`` signs, or None for a receive step."""
        target = self.workload["steps"][step].get("issue")
        return int(target) if target is not None else None


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Reference:
    base = tmp_path_factory.mktemp("reference")
    workload = make_workload(SEED)
    path = base / "workload.json"
    path.write_text(json.dumps(workload))
    lines: list[str] = []
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv(FAULT_ENV, raising=False)
        run(workload, base / "node", lines.append)
    out = parse(0, "\n".join(lines), "")
    assert out.ready is not None
    count = len(workload["steps"])
    assert sorted(out.steps) == list(range(count))
    store = Store(base / "node" / STORE_NAME, LOCAL.network_id)
    own = [frame for _, frame in store.outbox()]
    store.close()
    return Reference(
        workload,
        path,
        out.ready.digest,
        [out.steps[i][0] for i in range(count)],
        [out.steps[i][1] for i in range(count)],
        own,
    )


def spawn(ref: Reference, data: Path, *, fault: str | None = None, check: bool = False) -> Output:
    env = {k: v for k, v in os.environ.items() if k != FAULT_ENV}
    env["PYTHONPATH"] = str(REPO)
    if fault is not None:
        env[FAULT_ENV] = fault
    argv = [sys.executable, str(WORKER), str(ref.path), str(data), *(["--check"] * check)]
    proc = subprocess.run(
        argv, cwd=REPO, env=env, capture_output=True, text=True, timeout=TIMEOUT, check=False
    )
    return parse(proc.returncode, proc.stdout, proc.stderr)


def committed_through(point: str, last_reported: int, killed_in_issue: bool) -> int:
    """The last step whose effects are committed when the worker dies in step last + 1.

    ``after_sign``: the own frame never reached the outbox; ``after_commit``: the step is
    committed, only its report is missing; ``after_judge`` / ``in_transaction``: a receive step
    committed nothing, but an issue step had already committed its frame to the outbox, and the
    rebuild accepts it from there.
    """
    if point == "after_sign":
        return last_reported
    if point == "after_commit" or killed_in_issue:
        return last_reported + 1
    return last_reported


def one_frame_per_nonce(frames: Iterable[bytes]) -> dict[int, set[bytes]]:
    versions: dict[int, set[bytes]] = {}
    for frame in frames:
        env = CODEC.open(frame)
        assert env.sender == ME
        versions.setdefault(env.nonce, set()).add(frame)
    return versions


# --------------------------------------------------------------------------- SIGKILL


@pytest.mark.parametrize("count", [2, 5])
@pytest.mark.parametrize("point", POINTS)
def test_sigkill_at_a_fault_point_resumes_from_the_last_commit(
    reference: Reference, tmp_path: Path, point: str, count: int
) -> None:
    data = tmp_path / "node"
    crashed = spawn(reference, data, fault=f"{point}:{count}")
    assert crashed.rc == -signal.SIGKILL, crashed.stderr
    assert crashed.ready is not None
    for i, (digest, _) in crashed.steps.items():
        assert digest == reference.digests[i], f"step {i} differs before the kill"
    last = max(crashed.steps, default=-1)
    killed_in = last + 1
    assert killed_in < len(reference.digests)
    issue = reference.issue_at(killed_in)
    committed = committed_through(point, last, issue is not None)
    expected = reference.digest_after(committed)

    # The restart: state = what was committed, nothing more and nothing less.
    restarted = spawn(reference, data, check=True)
    assert restarted.rc == 0, restarted.stderr
    assert restarted.ready is not None
    assert restarted.check is not None
    check = restarted.check
    assert restarted.ready.digest == check["digest"] == expected
    assert expected in {reference.ready, *reference.digests}

    # No own nonce lost or signed twice: contiguous from 1, each the frame the no-fault run
    # signed, each accepted by the replica (own HWM = outbox size).
    outbox = [(n, bytes.fromhex(frame)) for n, _, frame in check["outbox"]]
    nonces = [n for n, _ in outbox]
    assert nonces == list(range(1, len(nonces) + 1))
    assert restarted.ready.nonces == nonces
    assert check["hwm"] == restarted.ready.hwm == len(nonces) == reference.hwm_after(committed)
    for n, full_hash, frame in check["outbox"]:
        env = CODEC.open(bytes.fromhex(frame))
        assert (env.sender, env.nonce, env.full_hash.hex()) == (ME, n, full_hash)
    assert [frame for _, frame in outbox] == reference.own_frames[: len(outbox)]
    if issue is not None and point == "after_sign":
        assert nonces == list(range(1, issue)), "a frame killed before its outbox commit is gone"

    # Resend: exactly the outbox frames not marked sent, byte for byte, in nonce order.
    unsent = set(check["unsent"])
    resend = [bytes.fromhex(frame) for frame in check["resend"]]
    assert resend == [frame for n, frame in outbox if n in unsent]
    assert restarted.ready.resend == len(resend)
    if issue is not None and point != "after_sign":
        assert issue in unsent, "killed before mark_sent: the frame must be re-sent"

    # The resumed run finishes the script at the no-fault digest.
    resumed = spawn(reference, data)
    assert resumed.rc == 0, resumed.stderr
    assert resumed.ready is not None
    assert resumed.ready.digest == expected
    assert resumed.ready.resend == len(resend)
    assert sorted(resumed.steps) == list(range(len(reference.digests)))
    for i in range(committed + 1, len(reference.digests)):
        assert resumed.steps[i] == (reference.digests[i], reference.hwms[i]), f"step {i}"
    store = Store(data / STORE_NAME, LOCAL.network_id)
    final = [frame for _, frame in store.outbox()]
    left = {n for n, _ in store.unsent()}
    store.close()
    assert final == reference.own_frames
    # The resumed run re-sent its resend list and marked it; only the worker's own "transport
    # down" frames (every third nonce) signed after the restart are still unsent.
    assert left == {n for n in range(len(nonces) + 1, len(final) + 1) if n % 3 == 0}

    # Every own frame any run produced, with every remote frame, in one fresh replica: no fork.
    own = [frame for _, frame in outbox] + final
    versions = one_frame_per_nonce(own)
    assert sorted(versions) == list(range(1, len(final) + 1))
    assert all(len(v) == 1 for v in versions.values())
    fresh = Replica(LOCAL)
    for frame in [bytes.fromhex(f) for f in reference.workload["frames"]] + own:
        fresh.receive(frame, 0.0)
    assert fresh.fork_point(ME) == 0
    assert fresh.hwm(ME) == len(final)
    assert fresh.digest().hex() == reference.digests[-1]


def test_sigkill_during_the_rebuild_loses_nothing(reference: Reference, tmp_path: Path) -> None:
    data = tmp_path / "node"
    crashed = spawn(reference, data, fault="after_commit:9")
    assert crashed.rc == -signal.SIGKILL, crashed.stderr
    expected = reference.digest_after(max(crashed.steps, default=-1) + 1)
    # Every third own frame stays unsent, so the restart re-ingests its outbox and dies there,
    # before it reports READY.
    dying = spawn(reference, data, fault="after_judge:1")
    assert dying.rc == -signal.SIGKILL, dying.stderr
    assert dying.ready is None
    resumed = spawn(reference, data)
    assert resumed.rc == 0, resumed.stderr
    assert resumed.ready is not None
    assert resumed.ready.digest == expected
    assert resumed.ready.resend > 0
    assert resumed.steps[len(reference.digests) - 1][0] == reference.digests[-1]


# --------------------------------------------------------------------------- in-process


def open_node(path: Path, seed: str = WORKER_SEED) -> DurableReplica:
    return DurableReplica(LOCAL, Store(path, LOCAL.network_id), signing_key(seed))


def test_store_of_another_network_is_refused_with_a_readable_message(tmp_path: Path) -> None:
    path = tmp_path / "node.sqlite"
    Store(path, LOCAL.network_id).close()
    other = funded_genesis({public_key("grantee"): 1_000}).network_id
    with pytest.raises(StoreError, match=r"belongs to network .*use another data directory"):
        Store(path, other)
    store = Store(path, LOCAL.network_id)  # the refusal changed nothing
    store.close()


def _garbage(n: int) -> bytes:
    out = b""
    while len(out) < n:
        out += hashlib.sha256(len(out).to_bytes(8, "big")).digest()
    return out[:n]


@pytest.mark.parametrize(
    "content",
    [_garbage(8192), _garbage(7), b"SQLite format 3\x00" + _garbage(8176)],
    ids=["random", "short", "sqlite-header-then-garbage"],
)
def test_garbage_file_is_a_store_error_not_a_sqlite_error(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "node.sqlite"
    path.write_bytes(content)
    with pytest.raises(StoreError, match="cannot open the store"):
        Store(path, LOCAL.network_id)


def test_store_corrupted_after_its_first_page_is_a_store_error(tmp_path: Path) -> None:
    path = tmp_path / "node.sqlite"
    node = open_node(path)
    chain = Chain("corrupt-remote")
    node.receive([chain.transfer(ME, 10 + i) for i in range(40)])
    node.store.close()
    raw = path.read_bytes()
    page = 4096
    assert len(raw) > 2 * page
    path.write_bytes(raw[:page] + _garbage(len(raw) - page))
    with pytest.raises(StoreError):
        open_node(path)  # opening the store or rebuilding from it: a StoreError either way


def test_issue_is_refused_while_rebuilding(tmp_path: Path) -> None:
    path = tmp_path / "node.sqlite"
    node = open_node(path)
    node.issue(transfer(public_key("payee"), 5))
    node.issue(transfer(public_key("payee"), 6))
    assert [n for n, _ in node.store.unsent()] == [1, 2]
    node.store.close()

    attempts: list[Exception] = []

    class Eager(DurableReplica):
        """Tries to sign from inside the rebuild (which re-ingests the unsent outbox)."""

        def receive(self, frames: Iterable[bytes]) -> Batch:
            if self.rebuilding:
                try:
                    self.issue(transfer(public_key("payee"), 7))
                except PlayerError as exc:
                    attempts.append(exc)
            return super().receive(frames)

    store = Store(path, LOCAL.network_id)
    node = Eager(LOCAL, store, signing_key(WORKER_SEED))
    assert len(attempts) == 1
    assert "rebuilding" in str(attempts[0])
    assert store.own_nonce() == 2
    node.rebuilding = True
    with pytest.raises(PlayerError, match="rebuilding"):
        node.issue(transfer(public_key("payee"), 8))
    assert store.own_nonce() == 2
    node.rebuilding = False
    assert CODEC.open(node.issue(transfer(public_key("payee"), 9))).nonce == 3
    store.close()


def _refused_bodies() -> list[tuple[str, Body]]:
    stranger = Chain("never-received")
    stranger.transfer(ME, 1)
    faucet = LOCAL.faucet_amount
    return [
        ("self_transfer", transfer(ME, 1)),
        ("insufficient", transfer(public_key("payee"), faucet + 1)),
        ("unjudged_ack", Ack(acks=(stranger.ref(1),))),
        ("wrong_h_ack", Ack(acks=(ExtRef(stranger.pub, 1, bytes(8)),))),
    ]


def _durable_view(node: DurableReplica) -> tuple[object, ...]:
    store = node.store
    return store.outbox(), store.own_nonce(), node.replica.digest(), store.log_size()


@pytest.mark.parametrize(("name", "body"), _refused_bodies(), ids=lambda v: str(v)[:14])
def test_issue_the_replica_would_refuse_signs_nothing(
    tmp_path: Path, name: str, body: Body
) -> None:
    node = open_node(tmp_path / "node.sqlite")
    before = _durable_view(node)
    with pytest.raises(PlayerError):
        node.issue(body)
    assert _durable_view(node) == before, name
    assert node.replica.hwm(ME) == 0
    # Nothing was consumed: the next good packet is nonce 1.
    assert CODEC.open(node.issue(transfer(public_key("payee"), 1))).nonce == 1
    node.store.close()


def test_reopened_store_has_the_same_log_and_digest(
    reference: Reference, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "node"
    run(reference.workload, path, lambda _: None)
    store = Store(path / STORE_NAME, LOCAL.network_id)
    size = store.log_size()
    assert size > 0
    store.close()
    with caplog.at_level(logging.INFO, logger="bitcraps.store"):
        node = open_node(path / STORE_NAME)
    assert node.store.log_size() == size
    assert node.replica.digest().hex() == reference.digests[-1]
    assert node.resend == [frame for _, frame in node.store.unsent()]
    assert [CODEC.open(f).nonce for f in node.resend] == [3, 6, 9]
    # the log says what the restart found
    said = (
        f"ledger rebuilt from the store: no snapshot, {size} logged frames replayed, "
        f"3 own packets to send again; state digest {reference.digests[-1][:16]}"
    )
    assert said in caplog.messages
    node.store.close()


def test_fork_beyond_the_holdback_window_survives_a_restart(tmp_path: Path) -> None:
    """DESIGN.md 7: on start, state = replay = the state before the stop, forks included."""
    path = tmp_path / "node.sqlite"
    node = open_node(path)
    forker = Chain("far-forker")
    node.receive([forker.transfer(ME, 1 + i) for i in range(70)])
    node.receive([forker.branch(69).transfer(ME, 999)])
    before = (node.replica.digest(), node.replica.fork_point(forker.pub))
    assert before[1] == 70
    node.store.close()
    node = open_node(path)
    assert (node.replica.digest(), node.replica.fork_point(forker.pub)) == before
    node.store.close()


def test_rebuild_replays_a_fork_at_its_place_so_dependents_beyond_the_window_survive(
    tmp_path: Path,
) -> None:
    # Alice forks at nonce 2 (accepted once her nonce 1 is judged); Bob acknowledges (Alice, 2),
    # which only the proof satisfies, then signs 99 more packets.  A rebuild that replayed the
    # fork evidence after the whole log left Bob's packet waiting and dropped his later ones
    # beyond the hold-back window.
    alice, bob = Chain("rebuild-fork-alice"), Chain("rebuild-fork-bob")
    alice.transfer(bob.pub, 1)
    other = alice.branch(1)
    alice.transfer(bob.pub, 2)
    other.transfer(bob.pub, 3)
    bob.ack(alice.ref(2))
    for i in range(99):
        bob.transfer(alice.pub, 1 + i)
    path = tmp_path / "node" / "store.db"
    node = DurableReplica(LOCAL, Store(path, LOCAL.network_id))
    node.receive([alice.frame(2), other.frame(2), alice.frame(1)])
    node.receive(bob.frames)
    before = node.replica.digest()
    assert node.replica.hwm(bob.pub) == 100
    assert node.replica.fork_point(alice.pub) == 2
    node.store.close()
    again = DurableReplica(LOCAL, Store(path, LOCAL.network_id))
    assert again.replica.hwm(bob.pub) == 100
    assert again.replica.fork_point(alice.pub) == 2
    assert again.replica.digest() == before


def test_issue_refuses_to_acknowledge_its_own_future_packet(tmp_path: Path) -> None:
    key = signing_key("own-future-ack")
    node = DurableReplica(LOCAL, Store(tmp_path / "s.db", LOCAL.network_id), key)
    me = bytes(key.verify_key)
    with pytest.raises(PlayerError, match="own packet 5"):
        node.issue(Transfer(public_key("payee"), 1_000_000, (ExtRef(me, 5, bytes(8)),)))
    assert node.store.outbox() == []


def _busy_history(seed: int, packets: int) -> tuple[list[Chain], list[bytes]]:
    rng = random.Random(seed)
    chains = [Chain(f"snapshot-history-{seed}-{i}") for i in range(5)]
    frames = []
    for _ in range(packets):
        c = rng.choice(chains)
        other = rng.choice([x for x in chains if x is not c])
        refs = [other.ref(other.nonce)] if other.nonce and rng.random() < 0.5 else []
        frames.append(c.transfer(other.pub, rng.randint(1, 10**9), *refs))
    return chains, frames


def test_restart_restores_the_newest_persisted_snapshot_and_replays_the_tail(
    tmp_path: Path,
) -> None:
    _, frames = _busy_history(1, 600)
    path = tmp_path / "store.db"
    node = DurableReplica(LOCAL, Store(path, LOCAL.network_id), snapshot_rows=100)
    for i in range(0, len(frames), 64):
        node.receive(frames[i : i + 64])
    before = node.replica.digest()
    node.store.close()
    again = DurableReplica(LOCAL, Store(path, LOCAL.network_id), snapshot_rows=100)
    assert 100 <= again.restored_from <= 600
    assert again.replica.digest() == before
    again.replica.state.audit()


def test_a_late_fork_below_a_restored_snapshot_rejudges_exactly(tmp_path: Path) -> None:
    chains, frames = _busy_history(2, 500)
    fork = chains[0].branch(3).transfer(chains[1].pub, 7)
    reference = Replica(LOCAL)
    for frame in [*frames, fork]:
        reference.receive(frame, 0.0)
    path = tmp_path / "store.db"
    node = DurableReplica(LOCAL, Store(path, LOCAL.network_id), snapshot_rows=50)
    node.receive(frames)
    node.store.close()
    again = DurableReplica(LOCAL, Store(path, LOCAL.network_id), snapshot_rows=50, audit=True)
    assert again.restored_from > 0
    again.receive([fork])
    assert again.replica.fork_point(chains[0].pub) == 4
    assert again.replica.digest() == reference.digest()


def test_an_unusable_snapshot_falls_back_to_replaying_the_whole_log(tmp_path: Path) -> None:
    _, frames = _busy_history(3, 300)
    path = tmp_path / "store.db"
    node = DurableReplica(LOCAL, Store(path, LOCAL.network_id), snapshot_rows=50)
    node.receive(frames)
    before = node.replica.digest()
    node.store.db.execute("UPDATE snapshots SET state = x'00'")
    node.store.close()
    again = DurableReplica(LOCAL, Store(path, LOCAL.network_id))
    assert again.restored_from == 0
    assert again.replica.digest() == before


_V1_LOG = """
CREATE TABLE log (seq INTEGER PRIMARY KEY, sender INTEGER NOT NULL, nonce INTEGER NOT NULL,
                  full_hash BLOB NOT NULL, reason INTEGER NOT NULL, frame BLOB NOT NULL);
CREATE INDEX log_by_sender ON log (sender, nonce);
"""


def test_a_schema_1_store_is_repacked_on_open_and_rebuilds_the_same_replica(
    tmp_path: Path,
) -> None:
    """Schema 1 kept one log row per packet; opening it repacks the log, losing nothing."""
    _, frames = _busy_history(3, 150)
    reference = Replica(LOCAL)
    for frame in frames:
        reference.receive(frame, 0.0)
    path = tmp_path / "v1.db"
    Store(path, LOCAL.network_id).close()  # the other tables and meta, as schema 1 had them
    db = sqlite3.connect(path, isolation_level=None)
    db.executescript("DROP TABLE log;" + _V1_LOG)
    senders: dict[bytes, int] = {}
    for seq, frame in enumerate(frames, 1):
        env = CODEC.open(frame)
        if env.sender not in senders:
            senders[env.sender] = (
                db.execute("INSERT INTO senders (key) VALUES (?)", (env.sender,)).lastrowid or 0
            )
        reason = reference.judged(env.sender, env.nonce)
        assert reason is not None and reason.judgment is not None
        db.execute(
            "INSERT INTO log VALUES (?, ?, ?, ?, ?, ?)",
            (seq, senders[env.sender], env.nonce, env.full_hash, reason.judgment.reason, frame),
        )
    db.execute("UPDATE meta SET value = 1 WHERE key = 'schema'")
    db.close()
    store = Store(path, LOCAL.network_id)
    assert store.log_size() == store.committed_seq == len(frames)
    assert list(store.replay_frames()) == frames
    assert [reason for _, reason in store.records(len(frames))] == [
        r.judgment.reason for r in reference.judged_in_order() if r.judgment is not None
    ]
    node = DurableReplica(LOCAL, store)
    assert node.replica.digest() == reference.digest()
    node.store.close()
    (schema,) = (
        sqlite3.connect(path).execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
    )
    assert int(schema) == SCHEMA_VERSION


def test_log_rows_are_read_back_across_batch_boundaries(tmp_path: Path) -> None:
    """One log row per committed batch: ranges that start and end inside batches."""
    _, frames = _busy_history(4, 100)
    store = Store(tmp_path / "s.db", LOCAL.network_id)
    node = DurableReplica(LOCAL, store)
    for size in (1, 7, 30, 2, 60):
        start = store.committed_seq
        node.receive(frames[start : start + size])
    assert store.committed_seq == store.log_size() == 100
    assert list(store.replay_frames()) == frames
    for seq in (0, 1, 7, 8, 37, 38, 39, 99, 100):
        assert list(store.replay_after(seq)) == frames[seq:]
        assert [f for f, _ in store.records(seq)] == frames[:seq]
    store.close()


def test_a_malformed_schema_1_log_is_a_store_error_and_stays_as_it_was(tmp_path: Path) -> None:
    path = tmp_path / "v1-bad.db"
    Store(path, LOCAL.network_id).close()
    db = sqlite3.connect(path, isolation_level=None)
    db.executescript("DROP TABLE log;" + _V1_LOG)
    db.execute("INSERT INTO log VALUES (1, 1, 1, x'00', 0, 'not a frame')")
    db.execute("UPDATE meta SET value = 1 WHERE key = 'schema'")
    db.close()
    with pytest.raises(StoreError, match="schema-1 log row 1 is malformed"):
        Store(path, LOCAL.network_id)
    db = sqlite3.connect(path)
    assert db.execute("SELECT COUNT(*) FROM log").fetchone() == (1,)  # rolled back, untouched
    assert db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()[0] == 1
    db.close()
