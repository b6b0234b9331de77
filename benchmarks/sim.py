"""Simulator benchmark: the gossip scenario of ``simulations/gossip.py`` (node cores on virtual
time, signatures checked once per frame for the whole mesh), timed on the wall clock, beside raw
Ed25519 verify measured in the same run; and what the scenario finds, Plumtree against flooding.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Final

import nacl.signing

from benchmarks import Figures, Timer, raw_verify
from simulations.gossip import Report, Scenario
from simulations.gossip import run as run_scenario

__all__ = ["FULL", "QUICK", "run"]

SEED: Final = 20_261_207
VERIFY_CORPUS: Final = 1_024
"""Signatures in the raw verify baseline."""


@dataclass(frozen=True, slots=True)
class Plan:
    """How much work one run does."""

    nodes: int
    packets: int
    rounds: int


QUICK: Final = Plan(nodes=50, packets=20, rounds=2)
FULL: Final = Plan(nodes=200, packets=100, rounds=3)


def _checks() -> list[tuple[nacl.signing.VerifyKey, bytes, bytes]]:
    rng = random.Random(SEED)
    out = []
    for _ in range(VERIFY_CORPUS):
        key = nacl.signing.SigningKey(rng.randbytes(32))
        message = rng.randbytes(150)
        out.append((key.verify_key, message, key.sign(message).signature))
    return out


def run(
    quick: bool,
    size: int | None = None,
    progress: Callable[[str], None] | None = None,
) -> Figures:
    """Run the scenario ``rounds`` times (the fastest counts) and raw verify after each."""
    plan = QUICK if quick else FULL
    say = progress if progress is not None else (lambda _message: None)
    scenario = Scenario(nodes=plan.nodes, packets=plan.packets if size is None else size)
    scenario = replace(scenario, seed=SEED)
    checks = _checks()
    verify = Timer(len(checks), len(checks), 0.001)
    verify.add("sim_raw_verify", lambda lo, hi: raw_verify(checks[lo:hi]))
    verify.warm_up()
    best: Report | None = None
    for i in range(plan.rounds):
        say(f"sim: {scenario.nodes} nodes, {scenario.packets} packets, round {i + 1}")
        report = run_scenario(scenario)
        if report.complete_s is None:
            raise RuntimeError(f"the scenario did not complete: {report}")
        if best is None or report.wall_s < best.wall_s:
            best = report
        verify.repeat(1)
    assert best is not None
    say("sim: the same scenario flooded")
    flood = run_scenario(replace(scenario, flood=True))
    verify_per_s = verify.samples["sim_raw_verify"].best
    return {
        "sim_nodes": scenario.nodes,
        "sim_packets": scenario.packets,
        "sim_links": best.links,
        "sim_rounds": plan.rounds,
        "sim_events_per_s": best.events_per_s,
        "sim_raw_verify_per_s": round(verify_per_s, 1),
        "sim_events_vs_verify": round(best.events_per_s / verify_per_s, 3),
        "sim_wall_s": best.wall_s,
        "sim_signatures_checked": best.signatures_checked,
        "sim_spread_mean_s": best.spread_mean_s if best.spread_mean_s is not None else -1.0,
        "sim_copies_per_packet_per_node": best.copies_per_packet_per_node,
        "sim_flood_copies_per_packet_per_node": flood.copies_per_packet_per_node,
        "sim_flood_vs_plumtree_copies": round(flood.copies_per_packet / best.copies_per_packet, 3),
    }
