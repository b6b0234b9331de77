"""docs/BENCHMARKS.md against the committed run it shows (docs/benchmarks.json).

The figures table is exactly the rendering of that run (``python -m benchmarks.doc``), the run
is a full one of every registered benchmark, and the hand-written method names every key the
run holds, so a new or renamed figure cannot go undocumented.  No benchmark runs here.
"""

from __future__ import annotations

import re

from benchmarks import REGISTRY
from benchmarks.doc import BEGIN, DOC, END, ROWS, load, main, render, splice

RESERVED = {"machine", "quick", "benchmarks", "seconds"}


def test_the_figures_table_is_the_rendering_of_the_committed_run() -> None:
    text = DOC.read_text(encoding="utf-8")
    assert splice(text, load()) == text, "run python -m benchmarks.doc"
    assert main(["--check"]) == 0


def test_the_committed_run_is_a_full_run_of_every_registered_benchmark() -> None:
    result = load()
    assert result["quick"] is False
    assert result["benchmarks"] == list(REGISTRY)
    assert set(result["seconds"]) == set(REGISTRY)
    assert {"python", "platform", "cpus", "native", "gc_thresholds"} <= set(result["machine"])


def test_every_row_of_the_table_reads_keys_of_the_run() -> None:
    result = load()
    for row in ROWS:
        for key in (row.figure, row.limit, row.ratio, row.paired, row.met):
            assert key is None or key in result, (row, key)
    assert render(result).count("\n| ") == len(ROWS) + 1  # the header and one line per row


def _named(text: str) -> set[str]:
    """Every backticked key name in ``text``; ``<case>`` inside one stands for any word."""
    return {n for n in re.findall(r"`([a-z0-9_<>]+)`", text) if n.replace("<case>", "")}


def test_the_method_names_every_key_of_the_run() -> None:
    text = DOC.read_text(encoding="utf-8")
    method = text[: text.index(BEGIN)] + text[text.index(END) :]
    patterns = [re.compile(re.escape(n).replace("<case>", "[a-z_]+") + "$") for n in _named(method)]
    missing = [
        key for key in load() if key not in RESERVED and not any(p.match(key) for p in patterns)
    ]
    assert not missing, f"docs/BENCHMARKS.md does not describe {missing}"
