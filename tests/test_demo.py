"""``bitcraps demo``, the README's first command, as a newcomer runs it: real daemons on loopback
play a table end to end and agree (a shorter run than the default dozen rolls); Ctrl-C stops
it with its daemons and removes its files."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.daemons import ROOT

DEMO = [sys.executable, "-m", "node.drivers.cli", "demo"]


def _data_dir(text: str) -> Path:
    match = re.search(r"data in (\S+), seed", text)
    assert match, text
    return Path(match.group(1))


def test_the_demo_plays_a_table_across_three_daemons_and_they_agree() -> None:
    started = time.monotonic()
    run = subprocess.run(
        [*DEMO, "--rolls", "4", "--seed", "11"],
        check=False, cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    out = run.stdout
    assert "started 3 daemons" in out and "p1 joins: seat 1" in out and "p2 joins: seat 2" in out
    assert re.search(r"roll +1: \d-\d = +\d+", out)
    assert "p2 leaves the table" in out and "the table has ended" in out
    assert "digests agree on all 3 nodes" in out and "conserved" in out
    assert not _data_dir(out).exists()
    assert time.monotonic() - started < 60


def test_ctrl_c_stops_the_demo_its_daemons_and_removes_its_files() -> None:
    process = subprocess.Popen(
        [*DEMO, "--rolls", "200", "--nodes", "3"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert process.stdout is not None
    seen = ""
    for line in process.stdout:  # the first roll shows the game is on
        seen += line
        if line.startswith("roll "):
            break
    process.send_signal(signal.SIGINT)
    rest, err = process.communicate(timeout=30)
    assert process.returncode == 130, seen + rest + err
    assert "interrupted" in rest and "Traceback" not in err
    assert not _data_dir(seen).exists()
