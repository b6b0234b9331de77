"""Tests for benchmarks/: the entry point's output shape and the wire corpus (no timing asserts)."""

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
from benchmarks.wire import SENDERS, build_corpus
from protocol.constants import ZERO_PREV
from protocol.frame import decode_body
from protocol.kinds import Bet

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
    for key in REQUIRED:
        assert_positive_number(result, key)
    assert result["quick"] is True
    assert result["n_packets"] == 64
    assert set(result["machine"]) >= {"python", "cpus", "pynacl", "msgpack"}
    assert result["machine"]["cpus"] >= 1
    assert "wire:" in done.stderr  # progress goes to stderr, not into the JSON


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
