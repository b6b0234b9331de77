"""A gossip scenario on virtual time: a random mesh of node cores, transfers issued by random
nodes, loss, a partition, churn; how long until every node holds every packet, and how many
copies of each packet the mesh sent to get there (Plumtree, or flooding as the baseline).

Each run is deterministic from its seed: the same scenario gives the same report, but for its
wall-clock figures.
"""

from __future__ import annotations

import random
import statistics
import time
from collections import Counter
from dataclasses import asdict, dataclass, replace
from typing import Final

from node.core.events import JUDGED
from node.core.log import Entry
from node.core.node import NodeConfig, Persist
from protocol.constants import CRAP
from protocol.kinds import Transfer
from simulations.mesh import Mesh, SimNode
from transports.conditions import LinkConditions

__all__ = ["Report", "Scenario", "compare", "links_of", "run"]

WARM_UP: Final = 120.0
"""Virtual seconds at most for the links to come up before the first packet (handshakes lost
to loss are tried again, after 1 s, 2 s, 4 s, …)."""
CHECK_EVERY: Final = 0.05
"""Virtual seconds between two looks at who holds every packet."""


@dataclass(frozen=True, slots=True)
class Scenario:
    """What to simulate.  Times are virtual seconds."""

    nodes: int = 100
    degree: float = 4.0
    """Mean links per node: a random spanning tree, then random links up to this mean."""
    packets: int = 20
    """Transfers, each signed by a node drawn at random."""
    interval: float = 0.1
    """Between two transfers."""
    latency: float = 0.02
    jitter: float = 0.01
    loss: float = 0.0
    duplicate: float = 0.0
    flood: bool = False
    """Gossip by flooding (the baseline) instead of Plumtree."""
    prune_after: int = NodeConfig().prune_after
    """Plumtree: useless pushes in a row that prune a link (``NodeConfig.prune_after``)."""
    partition: float = 0.0
    """For this long from the first packet, the mesh is cut in two halves (0: never)."""
    churn: float = 0.0
    """This share of the nodes (never a sender) is stopped from the first packet until the
    last one is signed, then started again: it catches up by anti-entropy."""
    seed: int = 1
    limit: float = 600.0
    """Virtual seconds after the first packet before giving up."""
    shared_verify: bool = True
    """Check each distinct frame's signature once for the whole mesh (DESIGN.md §8)."""

    def __post_init__(self) -> None:
        if self.nodes < 2:
            raise ValueError(f"a mesh needs at least 2 nodes, got {self.nodes}")
        if not 1.0 <= self.degree <= self.nodes - 1:
            raise ValueError(f"degree must be in 1 … nodes - 1, got {self.degree}")
        if self.prune_after < 1:
            raise ValueError(f"prune_after must be at least 1, got {self.prune_after}")
        if self.packets < 1:
            raise ValueError(f"packets must be at least 1, got {self.packets}")
        for name in ("loss", "duplicate", "churn"):
            if not 0.0 <= getattr(self, name) < 1.0:
                raise ValueError(f"{name} must be in [0, 1), got {getattr(self, name)}")
        for name in ("interval", "latency", "jitter", "partition"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative, got {getattr(self, name)}")
        if self.limit <= 0:
            raise ValueError(f"limit must be positive, got {self.limit}")


@dataclass(frozen=True, slots=True)
class Report:
    """What a run found.  ``complete_s`` is None when some node still lacked a packet at the
    limit.  Copies are transmissions carrying a full ledger frame (DESIGN.md §8), counted
    from the first packet until every node held every packet (or the limit)."""

    scenario: Scenario
    links: int
    complete_s: float | None
    """From the first packet until the last node held every packet."""
    complete_nodes: int
    spread_mean_s: float | None
    spread_max_s: float | None
    """Per packet, from its signing until every node held it: the mean and the longest (None
    when some packet never reached every node)."""
    digests_agree: bool
    copies: int
    copies_per_packet: float
    copies_per_packet_per_node: float
    datagrams: int
    """Every transmission in the same span, link messages included."""
    signatures_checked: int
    wall_s: float
    events_per_s: float
    """Datagrams delivered per wall-clock second, over the whole run."""

    def to_json(self) -> dict[str, object]:
        out = asdict(self)
        out["scenario"] = asdict(self.scenario)
        return out


def links_of(nodes: int, degree: float, rng: random.Random) -> list[tuple[int, int]]:
    """A connected random graph: each node after the first links to one before it (a random
    spanning tree), then random pairs are added until the mean degree is ``degree``."""
    edges: set[tuple[int, int]] = set()
    for i in range(1, nodes):
        edges.add((rng.randrange(i), i))
    wanted = min(round(nodes * degree / 2), nodes * (nodes - 1) // 2)
    while len(edges) < wanted:
        a, b = sorted(rng.sample(range(nodes), 2))
        edges.add((a, b))
    return sorted(edges)


def run(scenario: Scenario) -> Report:
    """Simulate ``scenario`` and report."""
    started = time.perf_counter()
    rng = random.Random(f"{scenario.seed}/scenario")
    conditions = LinkConditions(
        latency=scenario.latency,
        jitter=scenario.jitter,
        loss=scenario.loss,
        duplicate=scenario.duplicate,
    )
    mesh = Mesh(
        seed=scenario.seed,
        default=conditions,
        config=NodeConfig(flood=scenario.flood, prune_after=scenario.prune_after),
        shared_verify=scenario.shared_verify,
    )
    nodes = [mesh.add(f"n{i}") for i in range(scenario.nodes)]
    edges = links_of(scenario.nodes, scenario.degree, rng)
    wanted = Counter[int]()
    for a, b in edges:
        mesh.connect(nodes[a], nodes[b])
        wanted.update((a, b))
    warm_end = mesh.now + WARM_UP
    while mesh.now < warm_end and any(
        n.core.links.count_up() < wanted[i] for i, n in enumerate(nodes)
    ):
        mesh.run(CHECK_EVERY * 10)

    judged: Counter[str] = Counter()
    holders: Counter[tuple[bytes, int]] = Counter()
    spread: dict[tuple[bytes, int], float] = {}
    """Per packet: from its signing until the last node judged it."""
    signed: dict[tuple[bytes, int], float] = {}

    def count(node: SimNode, persist: Persist) -> None:
        for event in persist.events:
            entry = event.item
            if event.what == JUDGED and isinstance(entry, Entry):
                judged[node.name] += 1
                key = (entry.sender, entry.nonce)
                holders[key] += 1
                if holders[key] == scenario.nodes:
                    spread[key] = mesh.now - signed[key]

    mesh.on_persist = count
    senders = [rng.randrange(scenario.nodes) for _ in range(scenario.packets)]
    stopped = _churned(scenario, senders, rng)
    halves = (nodes[: scenario.nodes // 2], nodes[scenario.nodes // 2 :])
    start = mesh.now
    frames0, datagrams0, checked0 = mesh.frames_sent, mesh.datagrams_sent, mesh.verified
    if scenario.partition > 0:
        mesh.partition(*halves)
    for i in stopped:
        mesh.stop(nodes[i])
    for k, i in enumerate(senders):
        payee = nodes[(i + 1 + rng.randrange(scenario.nodes - 1)) % scenario.nodes]
        signed[(nodes[i].identity, nodes[i].replica.hwm(nodes[i].identity) + 1)] = mesh.now
        reply = mesh.issue(nodes[i], Transfer(payee.identity, CRAP, ()))
        if reply.error is not None:
            raise RuntimeError(f"{nodes[i].name} could not sign transfer {k}: {reply.error}")
        if k < len(senders) - 1:
            _advance(mesh, scenario, start, mesh.now + scenario.interval)
    for i in stopped:
        mesh.start(nodes[i])
    end = start + scenario.limit
    complete_s: float | None = None
    while mesh.now < end:
        if all(judged[n.name] >= scenario.packets for n in nodes):
            complete_s = mesh.now - start
            break
        _advance(mesh, scenario, start, mesh.now + CHECK_EVERY)
    copies = mesh.frames_sent - frames0
    complete = sum(1 for n in nodes if judged[n.name] >= scenario.packets)
    whole = len(spread) == scenario.packets
    wall = time.perf_counter() - started
    return Report(
        scenario=scenario,
        links=len(edges),
        complete_s=None if complete_s is None else round(complete_s, 3),
        complete_nodes=complete,
        spread_mean_s=round(statistics.fmean(spread.values()), 3) if whole else None,
        spread_max_s=round(max(spread.values()), 3) if whole else None,
        digests_agree=len({n.digest() for n in nodes}) == 1,
        copies=copies,
        copies_per_packet=round(copies / scenario.packets, 2),
        copies_per_packet_per_node=round(copies / scenario.packets / scenario.nodes, 3),
        datagrams=mesh.datagrams_sent - datagrams0,
        signatures_checked=mesh.verified - checked0,
        wall_s=round(wall, 3),
        events_per_s=round(mesh.delivered / wall, 1),
    )


def compare(scenario: Scenario) -> dict[str, object]:
    """The scenario with Plumtree and with flooding, on the same seed, and the ratio of their
    copies per packet (flooding's over Plumtree's)."""
    plumtree = run(replace(scenario, flood=False))
    flood = run(replace(scenario, flood=True))
    return {
        "plumtree": plumtree.to_json(),
        "flood": flood.to_json(),
        "flood_vs_plumtree_copies": round(
            flood.copies_per_packet / max(plumtree.copies_per_packet, 1e-9), 3
        ),
    }


def _churned(scenario: Scenario, senders: list[int], rng: random.Random) -> list[int]:
    """The nodes stopped while the packets are signed: ``churn`` of them, never a sender."""
    others = sorted(set(range(scenario.nodes)) - set(senders))
    count = min(len(others), round(scenario.nodes * scenario.churn))
    return sorted(rng.sample(others, count))


def _advance(mesh: Mesh, scenario: Scenario, start: float, until: float) -> None:
    """Run the clock to ``until``, healing the partition when its time is up."""
    heal_at = start + scenario.partition
    if scenario.partition > 0 and mesh.now < heal_at <= until:
        mesh.run_until(heal_at)
        mesh.heal()
    mesh.run_until(until)
