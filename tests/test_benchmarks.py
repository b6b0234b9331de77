"""Tests for benchmarks/: the entry point's output shape, the wire corpus, the ledger mix and
cone, and the table mix (no timing asserts)."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import benchmarks.__main__ as entry
from benchmarks import Figures, Timer
from benchmarks.ledger import build_cone, build_mix
from benchmarks.tables import KINDS
from benchmarks.tables import build_mix as build_table_mix
from benchmarks.wire import SENDERS, build_corpus
from node.core.replica import Replica
from node.core.tables import TablesEngine
from node.core.verdicts import Outcome, Reason
from protocol.constants import ZERO_PREV
from protocol.frame import FrameCodec, decode_body
from protocol.genesis import LOCAL
from protocol.kinds import Ack, Bet, Kind, RollOpen, Transfer, Void

REPO_ROOT = Path(__file__).resolve().parents[1]

REQUIRED = (
    "raw_verify_per_s",
    "ingest_per_s",
    "ingest_vs_verify",
    "decode_per_s",
    "raw_msgpack_unpack_per_s",
    "decode_vs_unpack",
    "dedup_drop_per_s",
    "dedup_vs_verify",
    "sign_per_s",
)

LEDGER_REQUIRED = (
    "judge_per_s",
    "judge_open_decode_per_s",
    "judge_only_per_s",
    "ledger_raw_verify_per_s",
    "full_ingest_per_s",
    "full_ingest_vs_verify",
    "full_ingest_2core_per_s",
    "full_ingest_2core_vs_verify",
    "ledger_raw_verify_2threads_per_s",
    "rejudge_fork_at_1_s",
    "rejudge_cone_size",
    "rejudge_per_packet_us",
    "rejudge_fresh_ingest_s",
)

UDP_REQUIRED = (
    "udp_sender_per_s",
    "udp_plain_recv_per_s",
    "udp_transport_per_s",
    "udp_transport_vs_plain",
    "udp_transport_vs_plain_paired",
    "udp_transport_unbatched_per_s",
    "udp_transport_unbatched_vs_plain",
    "udp_batching_gain",
    "udp_mean_batch",
)

TABLES_REQUIRED = (
    "tables_judge_per_s",
    "tables_judge_only_per_s",
    "tables_raw_verify_per_s",
    "tables_judge_vs_verify",
    "tables_judge_vs_verify_paired",
    "tables_per_packet_us",
    "tables_bet_us",
    "tables_reveal_us",
    "tables_roll_open_us",
)

NODE_REQUIRED = (
    "node_ingest_per_s",
    "node_ingest_1core_per_s",
    "node_loop_1core_cpu_us",
    "node_ingest_1core_cpu_vs_verify",
    "node_raw_verify_per_s",
    "node_raw_verify_2core_per_s",
    "node_ingest_vs_verify",
    "node_ingest_vs_verify_paired",
    "node_ingest_vs_verify_2core",
    "node_dup_drop_per_s",
    "node_plain_recv_per_s",
    "node_dup_vs_plain",
    "node_honest_rate_per_s",
    "node_junk_rate_per_s",
    "node_goodput_per_s",
    "node_goodput_flood_per_s",
    "node_goodput_flood_vs_calm",
    "node_junk_dropped_after_s",
)


def assert_positive_number(result: dict[str, Any], key: str) -> None:
    value = result[key]
    assert type(value) in (int, float), f"{key} = {value!r} is not a number"
    assert math.isfinite(value)
    assert value > 0, f"{key} = {value!r} is not positive"


def test_quick_json_run_prints_one_object_with_every_required_figure() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick", "--json", "--packets", "64"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    result = json.loads(done.stdout)  # the whole of stdout is one JSON value
    assert isinstance(result, dict)
    for key in REQUIRED + LEDGER_REQUIRED + UDP_REQUIRED + NODE_REQUIRED + TABLES_REQUIRED:
        assert_positive_number(result, key)
    # the intercept of a least-squares line: a number, of either sign in a small noisy run
    base = result["tables_roll_open_base_us"]
    assert type(base) in (int, float) and math.isfinite(base)
    assert result["quick"] is True
    assert result["n_packets"] == 64
    assert result["ledger_n_packets"] == 64
    assert result["rejudge_cone_size"] == 65  # A's nonce 1 and the 64 packets downstream
    assert type(result["judge_target_met"]) is bool
    assert type(result["full_ingest_target_met"]) is bool
    assert set(result["seconds"]) == {
        "wire",
        "ledger",
        "floods",
        "udp",
        "rules",
        "node",
        "tables",
        "sim",
    }
    assert result["sim_packets"] == 64 and result["sim_signatures_checked"] == 64
    assert type(result["node_ingest_target_met"]) is bool
    assert type(result["node_ingest_1core_target_met"]) is bool
    assert result["node_ingest_packets"] == 64
    assert result["tables_n_packets"] == 64
    assert sum(result[f"tables_n_{kind}"] for kind in KINDS) == 64
    assert type(result["tables_judge_target_met"]) is bool
    for case in ("far_ahead", "unresolvable", "far_reference", "fork_versions"):
        assert result[f"flood_{case}_packets"] == 64
        assert_positive_number(result, f"flood_{case}_rss_after_mb")
    assert result["flood_fork_versions_fork_versions"] == 2
    assert result["late_fork_rejudged"] == 1  # the loner's own packet: its cone, not history
    assert_positive_number(result, "late_fork_s")
    assert result["udp_burst"] == 64
    assert set(result["machine"]) >= {"python", "cpus", "pynacl", "msgpack"}
    assert result["machine"]["cpus"] >= 1
    assert "wire:" in done.stderr  # progress goes to stderr, not into the JSON
    assert "ledger:" in done.stderr
    assert "udp:" in done.stderr
    assert "tables:" in done.stderr


def test_table_output_names_every_required_figure(capsys: pytest.CaptureFixture[str]) -> None:
    assert entry.main(["--quick", "--only", "wire", "--packets", "16"]) == 0
    out = capsys.readouterr().out
    for key in REQUIRED:
        assert key in out
    assert "machine:" in out


def test_packets_below_one_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        entry.main(["--packets", "0"])
    assert exc.value.code == 2
    assert "--packets" in capsys.readouterr().err


def test_unknown_benchmark_name_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        entry.main(["--only", "no-such-benchmark"])
    assert "no-such-benchmark" in capsys.readouterr().err


def test_two_modules_returning_the_same_key_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    class Fake:
        @staticmethod
        def run(quick: bool, size: int | None = None, progress: Any = None) -> Figures:
            return {"same_per_s": 1.0}

    monkeypatch.setattr(entry, "load", lambda name: Fake)
    with pytest.raises(RuntimeError, match="same_per_s"):
        entry.collect(["a", "b"], quick=True)


def test_module_figure_may_not_shadow_the_machine_section(monkeypatch: pytest.MonkeyPatch) -> None:
    class Fake:
        @staticmethod
        def run(quick: bool, size: int | None = None, progress: Any = None) -> Figures:
            return {"machine": "mine"}

    monkeypatch.setattr(entry, "load", lambda name: Fake)
    with pytest.raises(RuntimeError, match="machine"):
        entry.collect(["a"], quick=True)


def test_timer_refuses_an_operation_that_skips_items() -> None:
    timer = Timer(items=10, chunk=4, min_chunk_seconds=0.0)
    timer.add("lazy", lambda lo, hi: max(0, hi - lo - 1))
    with pytest.raises(RuntimeError, match="lazy"):
        timer.warm_up()


def test_timer_interleaves_every_operation_on_every_chunk() -> None:
    calls: list[tuple[str, int, int]] = []

    def op(name: str) -> Any:
        def run(lo: int, hi: int) -> int:
            calls.append((name, lo, hi))
            return hi - lo

        return run

    timer = Timer(items=10, chunk=4, min_chunk_seconds=0.0)
    timer.add("a", op("a"))
    timer.add("b", op("b"), repeatable=False)
    timer.warm_up()
    calls.clear()
    timer.repeat(1)
    assert calls == [
        ("a", 0, 4), ("b", 0, 4), ("a", 4, 8), ("b", 4, 8), ("a", 8, 10), ("b", 8, 10),
    ]  # fmt: skip
    assert all(len(sample.seconds) == 1 for sample in timer.samples.values())


def test_corpus_packets_are_distinct_prev_chained_single_bets() -> None:
    corpus = build_corpus(SENDERS * 2 + 5)
    codec = corpus.codec
    assert len(set(corpus.frames)) == len(corpus.frames)
    last_h: dict[bytes, tuple[int, bytes]] = {}
    for frame, body in zip(corpus.frames, corpus.bodies, strict=True):
        envelope = codec.open(frame)
        codec.verify(envelope)
        packet = decode_body(envelope)
        assert envelope.body == body
        assert isinstance(packet.body, Bet)
        assert len(packet.body.bets) == 1
        if envelope.nonce == 1:
            assert envelope.prev == ZERO_PREV
        else:
            assert last_h[envelope.sender] == (envelope.nonce - 1, envelope.prev)
        last_h[envelope.sender] = (envelope.nonce, envelope.h)
    assert len(last_h) == SENDERS


def test_corpus_is_the_same_on_every_build() -> None:
    assert build_corpus(20).frames == build_corpus(20).frames


def test_ledger_mix_is_judged_on_arrival_with_refusals_and_acks_of_credits() -> None:
    mix = build_mix(200)
    replica = Replica(LOCAL)
    results = [replica.receive(frame, 0.0) for frame in mix.frames]
    assert all(r.outcome is Outcome.JUDGED for r in results)  # dependencies always come first
    assert replica.digest() == mix.digest
    reasons = {r.reason for r in results}
    assert {Reason.APPLIED, Reason.INSUFFICIENT, Reason.SELF_TRANSFER} <= reasons
    codec = FrameCodec(LOCAL.network_id)
    bodies = [decode_body(codec.open(frame)).body for frame in mix.frames]
    assert any(type(b) is Ack for b in bodies)
    assert any(type(b) is Transfer and b.acks for b in bodies)
    assert len({codec.open(frame).sender for frame in mix.frames}) > 100


def test_ledger_mix_is_the_same_on_every_build() -> None:
    assert build_mix(30).frames == build_mix(30).frames


def test_late_fork_at_nonce_one_rejudges_the_whole_cone() -> None:
    cone = build_cone(80)
    codec = FrameCodec(LOCAL.network_id)
    joined: dict[bytes, int] = {}  # sender → first nonce in the forward cone of A's nonce 1
    for frame in cone.frames:
        packet = decode_body(codec.open(frame))
        refs = packet.body.acks if isinstance(packet.body, (Ack, Transfer)) else ()
        if not joined or any(joined.get(r.sender, r.nonce + 1) <= r.nonce for r in refs):
            joined.setdefault(packet.sender, packet.nonce)
        assert packet.sender in joined  # every packet is downstream of A's nonce 1
    replica = Replica(LOCAL)
    assert all(replica.receive(frame, 0.0).outcome is Outcome.JUDGED for frame in cone.frames)
    origin = FrameCodec(LOCAL.network_id).open(cone.fork).sender
    result = replica.receive(cone.fork, 0.0)
    assert result.why == "fork_proof"
    assert replica.fork_point(origin) == 1
    assert replica.counters()["rejudged"] == 81


def test_table_mix_is_judged_on_arrival_and_holds_every_kind_and_full_rolls() -> None:
    mix = build_table_mix(1_600)  # a whole table (100 rolls and its game_end), then the next
    replica = Replica(LOCAL, engine=TablesEngine())
    results = [replica.receive(frame, 0.0) for frame in mix.frames]
    assert all(r.outcome is Outcome.JUDGED for r in results)  # dependencies always come first
    assert [r.reason for r in results] == mix.reasons
    assert set(mix.reasons) == {Reason.APPLIED}
    assert set(mix.kinds) == set(KINDS)
    codec = FrameCodec(LOCAL.network_id)
    opens = [
        decode_body(codec.open(f)).body for f in mix.frames if codec.open(f).kind == Kind.ROLL_OPEN
    ]
    assert all(isinstance(body, RollOpen) for body in opens)
    assert max(len(b.included) + len(b.released) for b in opens) == 33  # max_entries at 8 seats
    assert any(b.released for b in opens)
    assert {len(b.listed) for b in opens} >= {7}
    assert any(isinstance(decode_body(codec.open(f)).body, Void) for f in mix.frames)
    assert mix.outcomes["live"] > 0.8 * mix.outcomes.total()  # most inclusions pass
    assert mix.tables == 2


def test_table_mix_is_the_same_on_every_build() -> None:
    assert build_table_mix(120).frames == build_table_mix(120).frames
