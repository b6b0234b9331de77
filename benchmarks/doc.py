"""``python -m benchmarks.doc``: write the figures table of ``docs/BENCHMARKS.md`` from a run.

The table is a rendering of ``docs/benchmarks.json``, the committed output of one full
``python -m benchmarks --json``: each headline figure, its value, the limit it is measured
against in the same run, their ratio (best rounds, and paired where the benchmark pairs them)
and its target, then the work sizes and the machine.  ``--run`` makes a new full run first;
``--check`` fails while the document differs from the rendering (``tests/test_benchmarks_doc.py``
does the same).  The rest of the document is written by hand.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from benchmarks.ledger import FULL_TARGET, JUDGE_TARGET
from benchmarks.tables import JUDGE_TARGET as TABLES_TARGET

__all__ = ["BEGIN", "DOC", "END", "RESULT", "ROWS", "main", "render", "splice"]

ROOT: Final = Path(__file__).resolve().parents[1]
DOC: Final = ROOT / "docs" / "BENCHMARKS.md"
RESULT: Final = ROOT / "docs" / "benchmarks.json"
BEGIN: Final = "<!-- figures:begin: written by python -m benchmarks.doc, do not edit -->"
END: Final = "<!-- figures:end -->"


@dataclass(frozen=True, slots=True)
class Row:
    """One line of the table: ``figure`` beside ``limit``, measured in the same run."""

    group: str
    figure: str
    limit: str | None = None
    ratio: str | None = None
    """The run's own ratio key; without one (and with a limit) the ratio is computed."""
    paired: str | None = None
    target: str | None = None
    """How the target reads, e.g. ``≥ 0.85``; the pass/fail comes from ``met``."""
    met: str | None = None
    """A key that is true when the target is met."""


ROWS: Final[tuple[Row, ...]] = (
    Row("wire", "ingest_per_s", "raw_verify_per_s", "ingest_vs_verify", "ingest_vs_verify_paired"),
    Row(
        "wire",
        "decode_per_s",
        "raw_msgpack_unpack_per_s",
        "decode_vs_unpack",
        "decode_vs_unpack_paired",
    ),
    Row(
        "wire", "dedup_drop_per_s", "raw_verify_per_s", "dedup_vs_verify", "dedup_vs_verify_paired"
    ),
    Row("wire", "sign_per_s", "raw_sign_per_s", "sign_vs_raw_sign", "sign_vs_raw_sign_paired"),
    Row(
        "ledger",
        "judge_per_s",
        "judge_raw_verify_per_s",
        "judge_vs_verify",
        "judge_vs_verify_paired",
        f"≥ {JUDGE_TARGET:,} /s",
        "judge_target_met",
    ),
    Row("ledger", "judge_default_gc_per_s", "judge_per_s"),
    Row("ledger", "judge_open_decode_per_s"),
    Row("ledger", "judge_replica_step_per_s"),
    Row("ledger", "judge_only_per_s"),
    Row(
        "ledger",
        "full_ingest_per_s",
        "ledger_raw_verify_per_s",
        "full_ingest_vs_verify",
        "full_ingest_vs_verify_paired",
        f"≥ {FULL_TARGET}",
        "full_ingest_target_met",
    ),
    Row(
        "ledger",
        "full_ingest_per_s",
        "ledger_lean_verify_per_s",
        "full_ingest_vs_lean_verify",
        "full_ingest_vs_lean_verify_paired",
    ),
    Row(
        "ledger", "ledger_lean_verify_per_s", "ledger_raw_verify_per_s", "ledger_lean_vs_raw_verify"
    ),
    Row(
        "ledger",
        "full_ingest_2core_per_s",
        "ledger_raw_verify_per_s",
        "full_ingest_2core_vs_verify",
        "full_ingest_2core_vs_verify_paired",
    ),
    Row(
        "ledger",
        "ledger_raw_verify_2threads_per_s",
        "ledger_raw_verify_per_s",
        "ledger_verify_cores",
    ),
    Row("ledger", "rejudge_fork_at_1_s", "rejudge_fresh_ingest_s", "rejudge_vs_fresh_ingest"),
    *(
        Row(
            "floods",
            f"flood_{case}_rss_growth_mb",
            "flood_budget_mb",
            target="within the budget",
            met=f"flood_{case}_within_budget",
        )
        for case in ("far_ahead", "unresolvable", "far_reference", "fork_versions")
    ),
    Row("floods", "late_fork_s", "late_fork_one_packet_s", "late_fork_vs_one_packet"),
    Row(
        "udp",
        "udp_transport_per_s",
        "udp_plain_recv_per_s",
        "udp_transport_vs_plain",
        "udp_transport_vs_plain_paired",
    ),
    Row(
        "udp",
        "udp_transport_unbatched_per_s",
        "udp_plain_recv_per_s",
        "udp_transport_unbatched_vs_plain",
    ),
    Row("rules", "rules_settled_per_s", "rules_raw_verify_per_s", "rules_settled_vs_verify"),
    Row(
        "tables",
        "tables_judge_per_s",
        "tables_raw_verify_per_s",
        "tables_judge_vs_verify",
        "tables_judge_vs_verify_paired",
        f"≥ {TABLES_TARGET:,} /s",
        "tables_judge_target_met",
    ),
    Row(
        "tables",
        "tables_judge_only_per_s",
        "tables_raw_verify_per_s",
        "tables_judge_only_vs_verify",
    ),
    Row("tables", "tables_resident_judge_per_s", "tables_judge_per_s"),
    Row("tables", "tables_resident_gc_share"),
    Row("tables", "tables_resident_gc_longest_ms"),
    Row("tables", "tables_per_packet_us"),
    *(Row("tables", f"tables_{kind}_us") for kind in ("bet", "reveal", "roll_open")),
    Row("sim", "sim_events_per_s", "sim_raw_verify_per_s", "sim_events_vs_verify"),
    Row("sim", "sim_spread_mean_s"),
    Row(
        "sim",
        "sim_flood_copies_per_packet_per_node",
        "sim_copies_per_packet_per_node",
        "sim_flood_vs_plumtree_copies",
    ),
)
"""The table, in order.  Every key must be in the run (a missing one is an error)."""

WORK: Final[dict[str, tuple[str, ...]]] = {
    "wire": ("n_packets", "senders", "rounds", "raw_verify_noise"),
    "ledger": (
        "ledger_n_packets",
        "ledger_identities",
        "ledger_refused_share",
        "ledger_judge_rounds",
        "ledger_full_rounds",
        "ledger_batch",
        "judge_noise",
        "ledger_raw_verify_noise",
        "full_ingest_cpu_cores",
        "full_ingest_2core_cpu_cores",
        "rejudge_cone_size",
        "rejudge_per_packet_us",
    ),
    "floods": ("flood_far_ahead_packets", "late_fork_history", "late_fork_rejudged"),
    "udp": ("udp_burst", "udp_rounds", "udp_mean_batch", "udp_batching_gain"),
    "rules": ("rules_n_rolls", "rules_live_bets_per_roll", "rules_settled_per_roll"),
    "tables": (
        "tables_n_packets",
        "tables_n_tables",
        "tables_n_reveal",
        "tables_n_bet",
        "tables_n_roll_open",
        "tables_n_void",
        "tables_roll_open_entries_mean",
        "tables_live_bets_per_roll",
        "tables_included_live_share",
        "tables_roll_open_base_us",
        "tables_roll_open_per_entry_us",
        "tables_bet_share",
        "tables_reveal_share",
        "tables_roll_open_share",
        "tables_judge_noise",
        "tables_resident_packets",
        "tables_resident_tracked_per_packet",
    ),
    "sim": (
        "sim_nodes",
        "sim_packets",
        "sim_links",
        "sim_rounds",
        "sim_wall_s",
        "sim_signatures_checked",
    ),
}
"""Per group, the run's size and noise, printed under the table."""


def _value(key: str, value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if key.endswith("_per_s"):
        return f"{value:,.0f} /s"
    if key.endswith("_mb"):
        return f"{value:,.1f} MiB"
    if key.endswith("_s"):
        return f"{value * 1e3:,.2f} ms" if value < 1 else f"{value:,.2f} s"
    return _number(value)


def _number(value: Any) -> str:
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.1f}" if abs(value) >= 10 else f"{value:.3f}"
    return str(value)


def _get(result: dict[str, Any], key: str) -> Any:
    if key not in result:
        raise KeyError(f"the run has no {key!r}: rerun it (python -m benchmarks.doc --run)")
    return result[key]


def render(result: dict[str, Any]) -> str:
    """The generated part of the document: the table, the work sizes and the machine."""
    lines = [
        "| group | figure | value | measured against | ratio | paired | target |",
        "| --- | --- | ---: | --- | ---: | ---: | --- |",
    ]
    for row in ROWS:
        value = _get(result, row.figure)
        against = ratio = paired = target = ""
        if row.limit is not None:
            limit = _get(result, row.limit)
            against = f"`{row.limit}` {_value(row.limit, limit)}"
            ratio = _number(_get(result, row.ratio) if row.ratio else round(value / limit, 4))
        if row.paired is not None:
            paired = _number(_get(result, row.paired))
        if row.target is not None:
            met = _get(result, row.met) if row.met is not None else None
            target = row.target if met is None else f"{row.target}: {'met' if met else 'not met'}"
        lines.append(
            f"| {row.group} | `{row.figure}` | {_value(row.figure, value)} | {against} "
            f"| {ratio} | {paired} | {target} |"
        )
    lines.append("")
    for group, keys in WORK.items():
        if group not in result.get("benchmarks", ()):
            continue
        sizes = ", ".join(f"`{key}` {_number(_get(result, key))}" for key in keys)
        lines.append(f"- {group}: {sizes}.")
    seconds = ", ".join(f"{name} {took:.0f} s" for name, took in result["seconds"].items())
    lines.append(f"- seconds per benchmark: {seconds}{' (`--quick`)' if result['quick'] else ''}.")
    machine = ", ".join(f"{key} `{value}`" for key, value in result["machine"].items())
    lines.append(f"- machine: {machine}.")
    return "\n".join(lines) + "\n"


def splice(document: str, result: dict[str, Any]) -> str:
    """``document`` with the text between the markers replaced by :func:`render`."""
    head, begin, rest = document.partition(BEGIN)
    _, end, tail = rest.partition(END)
    if not begin or not end:
        raise ValueError(f"{DOC.name} must hold the two markers {BEGIN!r} and {END!r}")
    return f"{head}{BEGIN}\n\n{render(result)}\n{END}{tail}"


def load(path: Path = RESULT) -> dict[str, Any]:
    """The committed run."""
    result: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return result


def main(argv: Sequence[str] | None = None) -> int:
    """Rewrite the table from docs/benchmarks.json (after a new full run with ``--run``)."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.doc", description=main.__doc__)
    parser.add_argument(
        "--run",
        action="store_true",
        help="first run `python -m benchmarks --json` (a full run, minutes) into the JSON",
    )
    parser.add_argument("--check", action="store_true", help="fail if the table is out of date")
    args = parser.parse_args(argv)
    if args.run:
        done = subprocess.run(
            [sys.executable, "-m", "benchmarks", "--json"],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
            check=True,
        )
        json.loads(done.stdout)  # one JSON object, or fail before overwriting the committed run
        RESULT.write_text(done.stdout, encoding="utf-8")
    current = DOC.read_text(encoding="utf-8")
    wanted = splice(current, load())
    if args.check:
        if current != wanted:
            print(f"{DOC.name} is out of date: run python -m benchmarks.doc", file=sys.stderr)
            return 1
        return 0
    if current != wanted:
        DOC.write_text(wanted, encoding="utf-8")
        print(f"wrote {DOC.relative_to(ROOT)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
