"""Node cores on virtual time: many cores in one process, one clock, one event heap.

Each node is a :class:`~node.core.node.NodeCore` over a plain replica (no store: a Persist is
acknowledged at once and kept in ``committed``, which a restart replays).  Datagrams travel
over directional :class:`~transports.conditions.Link` s (loss, duplication, reordering,
latency, bandwidth) and :class:`~transports.conditions.Partitions`.  Deterministic from its
seed: the same scenario gives the same events, verdicts and counts.

Signatures are checked as the cores ask (``Verify`` actions).  With ``shared_verify`` a frame's
verdict is computed once for the whole mesh and reused by every node that receives the same
bytes (DESIGN.md §8 allows it; a report must say so); the daemon never skips its own checks.

``frames_sent`` counts the copies of DESIGN.md §8: every transmission that carries a full
ledger frame (an own packet, a relay, a pull's answer or an anti-entropy push);
``datagrams_sent`` counts every transmission.
"""

from __future__ import annotations

import heapq
import itertools
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import cast

import nacl.signing

from node.core.events import FORK_KEPT, JUDGED
from node.core.log import Entry
from node.core.node import (
    Command,
    Connect,
    Issue,
    MarkSent,
    NodeConfig,
    NodeCore,
    Persist,
    Reply,
    Transmit,
    Verify,
)
from node.core.policy import TablePolicy
from node.core.replica import Replica, Verdicts, verify_batch
from protocol.constants import LEDGER_MARKER
from protocol.errors import Rejected
from protocol.frame import Envelope
from protocol.genesis import LOCAL, Genesis
from protocol.kinds import Body
from transports.conditions import PERFECT, Link, LinkConditions, Partitions

__all__ = ["Mesh", "PolicyFactory", "SimNode", "judged_frames"]

Address = tuple[str, int]
PolicyFactory = Callable[[nacl.signing.SigningKey], TablePolicy]
"""Makes a node's table policy from its key (again at each restart: nothing else is kept)."""


@dataclass
class SimNode:
    """One node: its core, what it committed, and the replies to its commands."""

    name: str
    address: Address
    core: NodeCore
    committed: list[Persist] = field(default_factory=list)
    replies: dict[int, Reply] = field(default_factory=dict)
    sent_own: list[bytes] = field(default_factory=list)
    up: bool = True

    @property
    def replica(self) -> Replica:
        return self.core.replica

    @property
    def identity(self) -> bytes:
        return self.core.identity

    def digest(self) -> bytes:
        return self.core.replica.digest()


class Mesh:
    """Nodes, links between them and a clock."""

    def __init__(
        self,
        seed: int = 1,
        genesis: Genesis = LOCAL,
        default: LinkConditions = PERFECT,
        config: NodeConfig | None = None,
        audit: bool = False,
        shared_verify: bool = False,
    ) -> None:
        self.seed = seed
        self.audit = audit
        self.genesis = genesis
        self.default = default
        self.config = config
        self.now = 0.0
        self.nodes: list[SimNode] = []
        self.by_address: dict[Address, SimNode] = {}
        self._links: dict[tuple[Address, Address], tuple[Link, random.Random]] = {}
        self._conditions: dict[tuple[Address, Address], LinkConditions] = {}
        self.partitions = Partitions()
        self._heap: list[tuple[float, int, str, object]] = []
        self._seq = 0
        self._timer_at: dict[Address, float] = {}
        self._commands = 0
        self.delivered = 0
        self.frames_sent = 0
        self.datagrams_sent = 0
        self.verified = 0
        """Signatures actually checked (with ``shared_verify``, once per distinct frame)."""
        self.shared_verify = shared_verify
        self._verdicts: dict[bytes, Rejected | None] = {}
        self.on_persist: Callable[[SimNode, Persist], None] | None = None
        self._policies: dict[str, PolicyFactory] = {}

    # ------------------------------------------------------------------ building

    def add(
        self,
        name: str,
        key: nacl.signing.SigningKey | None = None,
        *,
        recovering: bool = False,
        policy: PolicyFactory | None = None,
    ) -> SimNode:
        """A new node (``recovering``: it kept its key but lost its data; ``policy``: its
        table policy, made again from its key when it restarts)."""
        address = ("sim", len(self.nodes) + 1)
        if key is None:
            key = nacl.signing.SigningKey(random.Random(f"{self.seed}/{name}").randbytes(32))
        if policy is not None:
            self._policies[name] = policy
        core = NodeCore(
            Replica(self.genesis, audit=self.audit),
            key,
            random.Random(f"{self.seed}/rng/{name}"),
            self.now,
            config=self.config,
            policy=policy(key) if policy is not None else None,
            recovering=recovering,
        )
        node = SimNode(name, address, core)
        self.nodes.append(node)
        self.by_address[address] = node
        self._pump(node)
        return node

    def restart(self, node: SimNode) -> SimNode:
        """``node`` again at its address, rebuilt from what it committed (its store): the
        judged frames and fork versions, its outbox, its own frames not yet sent."""
        replica = Replica(self.genesis, audit=self.audit)
        frames = [
            event.item.frame
            for persist in node.committed
            for event in persist.events
            if event.what in (JUDGED, FORK_KEPT) and isinstance(event.item, Entry)
        ]
        replica.receive_checked(frames, self.now)
        replica.take_events()
        outbox = [item for persist in node.committed for item in persist.outbox]
        sent = set(node.sent_own)
        policy = self._policies.get(node.name)
        core = NodeCore(
            replica,
            node.core.key,
            random.Random(f"{self.seed}/rng/{node.name}/{self.now}"),
            self.now,
            config=self.config,
            policy=policy(node.core.key) if policy is not None else None,
            outbox_nonce=max((n for n, _ in outbox), default=0),
            unsent=[frame for _, frame in outbox if frame not in sent],
        )
        fresh = SimNode(node.name, node.address, core, list(node.committed))
        fresh.sent_own = list(node.sent_own)
        self.nodes[self.nodes.index(node)] = fresh
        self.by_address[node.address] = fresh
        self._timer_at.pop(node.address, None)
        for other in self.nodes:
            if other is not fresh and other.address in node.core._dials:
                self.command(fresh, Connect(other.address))
        self._pump(fresh)
        return fresh

    def start(self, node: SimNode) -> None:
        """A stopped node runs again, state intact (it was only cut off)."""
        node.up = True
        self._timer_at.pop(node.address, None)
        self._pump(node)

    def inject(self, source: SimNode, destination: SimNode, data: bytes) -> None:
        """Send raw bytes from ``source``'s address, past its core (a misbehaving neighbour)."""
        self._send(source.address, destination.address, data)

    def connect(self, a: SimNode, b: SimNode, conditions: LinkConditions | None = None) -> None:
        """A link between ``a`` and ``b`` (both directions); ``a`` dials ``b``."""
        if conditions is not None:
            self._conditions[(a.address, b.address)] = conditions
            self._conditions[(b.address, a.address)] = conditions
        self.command(a, Connect(b.address))

    def line(self, *nodes: SimNode) -> None:
        for a, b in itertools.pairwise(nodes):
            self.connect(a, b)

    # ------------------------------------------------------------------ driving

    def command(self, node: SimNode, command: Command) -> int:
        self._commands += 1
        node.core.handle_command(self._commands, command, self.now)
        self._pump(node)
        return self._commands

    def issue(self, node: SimNode, body: Body) -> Reply:
        """Issue a body at ``node`` and return the reply (the frame, or an error)."""
        command_id = self.command(node, Issue(body))
        return node.replies[command_id]

    def run(self, seconds: float) -> None:
        """Run the clock forward by ``seconds``."""
        self.run_until(self.now + seconds)

    def run_until(self, end: float) -> None:
        heap = self._heap
        while heap and heap[0][0] <= end:
            at, _, kind, payload = heapq.heappop(heap)
            self.now = max(self.now, at)
            if kind == "deliver":
                source, destination, data = cast(tuple[Address, Address, bytes], payload)
                node = self.by_address.get(destination)
                if node is None or not node.up:
                    continue
                self.delivered += 1
                node.core.receive_datagram(data, source, self.now)
                self._pump(node)
            else:
                node = self.by_address[cast(Address, payload)]
                if self._timer_at.get(node.address) != at or not node.up:
                    continue
                node.core.handle_timer(self.now)
                self._pump(node)
        self.now = max(self.now, end)

    def settle(self, limit: float = 120.0, quiet: float = 15.0) -> None:
        """Run until every digest agrees (checked every second), then ``quiet`` seconds more;
        raise if ``limit`` passes first."""
        end = self.now + limit
        while self.now < end:
            self.run(1.0)
            if len({n.digest() for n in self.nodes if n.up}) == 1:
                self.run(quiet)
                if len({n.digest() for n in self.nodes if n.up}) == 1:
                    return
        raise AssertionError(f"no agreement after {limit} s: {self.describe()}")

    def describe(self) -> str:
        return "; ".join(
            f"{n.name}: {n.digest().hex()[:8]} hwms "
            + ",".join(f"{m.name}={n.replica.hwm(m.identity)}" for m in self.nodes)
            for n in self.nodes
        )

    def partition(self, *groups: Iterable[SimNode]) -> None:
        self.partitions.split(*[[n.address for n in g] for g in groups])

    def heal(self) -> None:
        self.partitions.heal()

    def stop(self, node: SimNode) -> None:
        node.up = False

    # ------------------------------------------------------------------ the driver

    def _pump(self, node: SimNode) -> None:
        core = node.core
        while True:
            actions = core.take_actions()
            if not actions:
                break
            for action in actions:
                if isinstance(action, Transmit):
                    self._send(node.address, action.address, action.data)
                elif isinstance(action, Verify):
                    core.verified(action.job, self._verify(action.envelopes), self.now)
                elif isinstance(action, Persist):
                    node.committed.append(action)
                    if self.on_persist is not None:
                        self.on_persist(node, action)
                    core.persisted(action, self.now)
                elif isinstance(action, MarkSent):
                    node.sent_own.extend(action.frames)
                else:
                    node.replies[action.command_id] = action
        timer = core.get_timer()
        if timer is not None:
            at = max(timer, self.now)  # a timer in the past is due now
            if self._timer_at.get(node.address) != at:
                self._timer_at[node.address] = at
                self._push(at, "timer", node.address)

    def _verify(self, envelopes: list[Envelope]) -> Verdicts:
        if not self.shared_verify:
            self.verified += len(envelopes)
            return verify_batch(envelopes)
        known = self._verdicts
        fresh = [env for env in envelopes if env.full_hash not in known]
        if fresh:
            self.verified += len(fresh)
            for env, verdict in zip(fresh, verify_batch(fresh), strict=True):
                known[env.full_hash] = verdict
        return [known[env.full_hash] for env in envelopes]

    def _send(self, source: Address, destination: Address, data: bytes) -> None:
        self.datagrams_sent += 1
        if data[0] == LEDGER_MARKER:
            self.frames_sent += 1
        if not self.partitions.reachable(source, destination):
            return
        pair = (source, destination)
        got = self._links.get(pair)
        if got is None:
            conditions = self._conditions.get(pair, self.default)
            got = self._links[pair] = (
                Link(conditions),
                random.Random(f"{self.seed}/{source}/{destination}"),
            )
        link, rng = got
        for at in link.transmit(len(data), self.now, rng).arrivals:
            self._push(at, "deliver", (source, destination, data))

    def _push(self, at: float, kind: str, payload: object) -> None:
        self._seq += 1
        heapq.heappush(self._heap, (at, self._seq, kind, payload))


def judged_frames(node: SimNode) -> list[bytes]:
    """Every frame ``node`` committed as judged, in commit order."""
    return [
        event.item.frame
        for persist in node.committed
        for event in persist.events
        if event.what == JUDGED and isinstance(event.item, Entry)
    ]
