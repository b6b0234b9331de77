"""simulations/: the gossip scenario on virtual time (simulations/gossip.py) and its command,
``python -m simulations``.  Small meshes, so each run takes well under a second."""

from __future__ import annotations

import json
import random
from dataclasses import replace

import pytest

from simulations.__main__ import main
from simulations.gossip import Report, Scenario, compare, links_of, run

SMALL = Scenario(nodes=40, packets=30, seed=7)


def _virtual(report: Report) -> dict[str, object]:
    """A report without its wall-clock figures."""
    out = report.to_json()
    del out["wall_s"], out["events_per_s"]
    return out


def test_the_random_mesh_is_connected_with_the_mean_degree_asked() -> None:
    edges = links_of(50, 4.0, random.Random(3))
    assert len(edges) == 100 and len(set(edges)) == 100
    assert all(a < b for a, b in edges)
    reached, frontier = {0}, [0]
    while frontier:
        node = frontier.pop()
        for a, b in edges:
            for here, there in ((a, b), (b, a)):
                if here == node and there not in reached:
                    reached.add(there)
                    frontier.append(there)
    assert reached == set(range(50))


def test_every_node_gets_every_packet_over_lossy_duplicating_links() -> None:
    report = run(replace(SMALL, loss=0.1, duplicate=0.1))
    assert report.complete_s is not None and report.complete_nodes == SMALL.nodes
    assert report.digests_agree
    assert report.spread_max_s is not None and report.spread_max_s <= report.complete_s


def test_flooding_sends_a_copy_over_every_link_but_the_source_and_plumtree_fewer() -> None:
    """With no loss, a flooded packet crosses every link once each way but towards the node
    it came from: 2 × links − nodes + 1 copies (anti-entropy may add a few).  Plumtree's
    eager links tend to a tree: after 60 packets it has sent about half of that."""
    scenario = replace(SMALL, packets=60)
    result = compare(scenario)
    flood, plumtree = result["flood"], result["plumtree"]
    assert isinstance(flood, dict) and isinstance(plumtree, dict)
    per_packet = 2 * flood["links"] - scenario.nodes + 1
    assert per_packet * scenario.packets <= flood["copies"] <= per_packet * scenario.packets * 1.01
    assert plumtree["complete_nodes"] == flood["complete_nodes"] == scenario.nodes
    assert plumtree["copies"] < 0.6 * flood["copies"]
    assert result["flood_vs_plumtree_copies"] == pytest.approx(
        flood["copies_per_packet"] / plumtree["copies_per_packet"], abs=0.001
    )


def test_a_partition_delays_the_packets_until_it_heals() -> None:
    report = run(replace(SMALL, partition=8.0))
    assert report.complete_s is not None and report.complete_s >= 8.0
    assert report.complete_nodes == SMALL.nodes and report.digests_agree


def test_nodes_stopped_while_the_packets_are_signed_catch_up_once_started() -> None:
    report = run(replace(SMALL, churn=0.25))
    assert report.complete_s is not None and report.complete_nodes == SMALL.nodes
    assert report.digests_agree


def test_the_same_seed_gives_the_same_report() -> None:
    scenario = replace(SMALL, loss=0.05, jitter=0.02)
    assert _virtual(run(scenario)) == _virtual(run(scenario))
    assert _virtual(run(replace(scenario, seed=8))) != _virtual(run(scenario))


def test_shared_verification_checks_each_frame_once_and_changes_nothing_else() -> None:
    shared = run(SMALL)
    alone = run(replace(SMALL, shared_verify=False))
    assert shared.signatures_checked == SMALL.packets
    assert alone.signatures_checked > shared.signatures_checked
    different = {k for k, v in _virtual(shared).items() if _virtual(alone)[k] != v}
    assert different == {"scenario", "signatures_checked"}


def test_a_scenario_refuses_values_out_of_range() -> None:
    for bad in ({"nodes": 1}, {"loss": 1.0}, {"degree": 0.5}, {"packets": 0}, {"jitter": -1}):
        with pytest.raises(ValueError):
            Scenario(**bad)  # type: ignore[arg-type]


def test_the_command_prints_the_report_as_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--nodes", "12", "--packets", "4", "--seed", "3"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["complete_nodes"] == 12 and report["scenario"]["packets"] == 4
    assert main(["--nodes", "12", "--packets", "4", "--compare"]) == 0
    both = json.loads(capsys.readouterr().out)
    assert set(both) == {"plumtree", "flood", "flood_vs_plumtree_copies"}
    with pytest.raises(SystemExit) as exit_info:
        main(["--nodes", "1"])
    assert exit_info.value.code == 2
    assert "at least 2 nodes" in capsys.readouterr().err
