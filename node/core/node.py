"""The node core: one sans-IO state machine per node (DESIGN.md §1, §5).

Theory of operation (docs/NODE.md has the diagram).  Events go in, each with ``now``:

    receive_datagram(data, address, now)   a datagram from a link
    handle_timer(now)                      at get_timer()
    handle_command(command_id, command, now)
    verified(job, verdicts, now)           the signature checks a Verify action asked for
    persisted(persist, now)                the commit a Persist action asked for

and actions come out of ``take_actions()``: ``Transmit`` a datagram, ``Verify`` signatures
(anywhere: a worker process, or inline), ``Persist`` what the replica accepted (the driver
commits it, then calls ``persisted``; until then the core takes no other event), ``MarkSent``
own frames, ``Reply`` to a command.  Nothing judged is forwarded, served or reported before its
Persist is acknowledged: that is DESIGN.md's "accepted = committed".  The core holds the
replica, the link table, the Plumtree router, anti-entropy, the defence and the table policy;
it never reads a clock, a socket or a random source it was not given.
"""

from __future__ import annotations

import builtins
import logging
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final, Protocol

import nacl.exceptions
import nacl.signing

from node.core.antientropy import Summary, narrow, offer, opening, probes, respond
from node.core.defence import Bans, Bounded, TokenBucket
from node.core.events import FORK_KEPT, JUDGED, WANTED, Event
from node.core.links import Address, Dial, Link, LinkLimits, LinkTable
from node.core.log import Entry
from node.core.policy import NoTables, TablePolicy
from node.core.pulls import Want as Pull
from node.core.recovery import Recovery
from node.core.replica import Replica, Verdicts
from node.core.signer import sign_next
from node.core.verdicts import Outcome, PlayerError
from protocol.constants import HOLDBACK_WINDOW, LEDGER_MARKER, LINK_MARKER_MIN, SIGNATURE_LEN
from protocol.errors import LinkError, Rejected, UnknownDatagram
from protocol.frame import Envelope
from protocol.kinds import Body
from protocol.link import (
    CHALLENGE_LEN,
    MAX_SPANS,
    MAX_WANTS,
    AeEntry,
    Announce,
    Bisect,
    Digest,
    Graft,
    Hello,
    LinkMessage,
    Ping,
    Pong,
    Proof,
    Prune,
    Ranges,
    Span,
    Want,
    WantItem,
    decode_link,
    encode_link,
    hello_signed,
    ping_signed,
    pong_signed,
)

__all__ = [
    "Action",
    "Command",
    "Connect",
    "Issue",
    "MarkSent",
    "MeshPing",
    "NodeConfig",
    "NodeCore",
    "Persist",
    "Publish",
    "Random",
    "Reply",
    "TableCommand",
    "Transmit",
    "Verify",
]

log = logging.getLogger("bitcraps.node")

SERVE_PER_ITEM: Final = HOLDBACK_WINDOW
"""Frames one want item is answered with, at most (the receiver's window)."""
LOCAL: Final[Address] = ("local", 0)
"""Where a published frame comes from: no link (it is relayed to every eager link)."""
MAX_PINGS: Final = 16
"""Own mesh pings waiting for their answers (a command beyond that is refused)."""
MAX_UNSENT: Final = 1024
"""Own frames kept to send when the first link comes up (beyond: anti-entropy serves them)."""
_DROPPED: Final = Outcome.DROPPED  # an enum member is a class lookup each time, its value
_REJECTED: Final = Outcome.REJECTED  # a descriptor call and its hash an interpreted one
_JUDGED: Final = Outcome.JUDGED
_JUDGED_KEY: Final = Outcome.JUDGED.value


class Random(Protocol):
    """The random source the core is given (``random.Random`` in tests and the simulator,
    ``random.SystemRandom`` in the daemon: hello challenges must be unpredictable)."""

    def getrandbits(self, k: int, /) -> int: ...

    def random(self) -> float: ...


@dataclass(frozen=True, slots=True)
class NodeConfig:
    """Every parameter of the core, with its default; the bound of each table is here."""

    tick: float = 0.25
    """Housekeeping period: announcements, grafts, anti-entropy schedule, dialling, timeouts."""
    # links
    max_links: int = 64
    """Neighbours up at once."""
    max_pending: int = 64
    """Handshakes in progress (a new one evicts the oldest)."""
    handshake_timeout: float = 10.0
    link_timeout: float = 35.0
    """An up link silent this long is dropped (anti-entropy keeps every link talking)."""
    dial_first: float = 1.0
    dial_max: float = 30.0
    """Hellos to a configured peer: after 1 s, then twice as long each time up to 30 s."""
    max_dials: int = 256
    """Addresses being dialled (configured peers and hints)."""
    hint_tries: int = 3
    """Hellos sent to an address only hinted (discovery) before giving up."""
    hello_rate: float = 50.0
    hello_burst: float = 50.0
    """Hellos answered per second from strangers together (each answer costs a signature)."""
    # gossip
    flood: bool = False
    """Gossip by flooding, the baseline Plumtree is measured against (DESIGN.md §8): every
    link stays eager (a duplicate prunes nothing, a Prune is ignored), so a relayed packet
    goes to every neighbour but the one it came from."""
    prune_after: int = 5
    """Duplicate pushes in a row on a link, with no new packet from it between them, that
    prune it: one duplicate may come from two senders' packets crossing, and pruning on it
    splits the eager links of a mesh with many senders into pieces (simulations/gossip.py)."""
    graft_timeout: float = 0.5
    """After an announcement, how long to wait for an eager push before pulling."""
    pull_retry: float = 2.0
    pull_retry_max: float = 30.0
    max_chases: int = 4096
    """Senders being pulled up to an announced or reconciled nonce."""
    max_sources: int = 32_768
    """Remembered links of recent frames (where a frame came from, where a sender was seen)."""
    max_recent: int = 65_536
    """Signatures of accepted frames remembered to drop exact copies unparsed (a duplicate
    not among them is found by the replica, after the envelope is opened)."""
    # anti-entropy
    ae_interval: float = 10.0
    """Rounds per link: every 10 s (±20 %), and at once on every new link."""
    ae_retry: float = 1.0
    """A round cut short by its push budget is followed by another after this."""
    ae_round_budget: int = 32 * 1024
    ae_round_rate: float = 32 * 1024
    """Bytes of ranges messages sent to one link: at most 32 KB at once, 32 KB/s (cut into
    datagrams); what does not fit is one fingerprint, split in a later round."""
    push_limit: int = HOLDBACK_WINDOW
    """Frames pushed per sender in one answer (the rest is announced and pulled)."""
    push_budget: int = 256 * 1024
    """Bytes of frames pushed in answer to one anti-entropy message."""
    # defence
    link_rate: float = 20_000.0
    link_burst: float = 40_000.0
    """Datagrams per second from one link (over: dropped, a rate penalty)."""
    link_origin_rate: float = 2_000.0
    link_origin_burst: float = 512.0
    """Frames per second per (link, claimed origin), taken before the signature (over: dropped)."""
    max_link_origins: int = 1024
    """(link, origin) buckets per link."""
    origin_rate: float = 2_000.0
    origin_burst: float = 1_024.0
    """New frames per second per origin, charged after the signature verifies."""
    max_origins: int = 65_536
    control_rate: float = 200.0
    control_burst: float = 400.0
    """Anti-entropy, bisect, ping and pong messages per second per link."""
    serve_rate: float = 4_000_000.0
    serve_burst: float = 1_000_000.0
    """Bytes per second of frames served (wants, grafts) to one link."""
    penalty_rejected: float = 1.0
    """Per Rejected frame, malformed link message or bad proof."""
    penalty_rate: float = 0.01
    """Per datagram over the link's rate."""
    penalty_threshold: float = 50.0
    penalty_half_life: float = 30.0
    ban_seconds: float = 60.0
    max_bans: int = 1024
    # verification
    max_verify_jobs: int = 3
    """Verify actions in flight (the driver pipelines them)."""
    verify_batch: int = 256
    """Frames per Verify action, at most (a verdict that bans a flooder comes back soon)."""
    max_unverified: int = 4096
    """Frames waiting for a signature check (beyond: dropped, counted ``backlog``)."""
    max_unverified_per_link: int = 1024
    """Of those, from one link (a flooding neighbour cannot crowd out the others)."""
    # mesh ping
    ping_rate: float = 1.0
    ping_burst: float = 4.0
    """Pings per second per origin."""
    ping_wait: float = 2.0
    """A mesh ping's answer collects the pongs that arrive within this."""
    max_ping_routes: int = 1024
    """Pings remembered (seen, and the link to route each pong back on)."""

    def limits(self) -> LinkLimits:
        return LinkLimits(
            self.link_rate,
            self.link_burst,
            self.link_origin_rate,
            self.link_origin_burst,
            self.max_link_origins,
            self.control_rate,
            self.control_burst,
            self.serve_rate,
            self.serve_burst,
            self.penalty_half_life,
            self.ae_round_rate,
            self.ae_round_budget,
        )


# --------------------------------------------------------------------------- commands


@dataclass(frozen=True, slots=True)
class Issue:
    """Sign and publish one own packet; the reply is its frame once committed."""

    body: Body


@dataclass(frozen=True, slots=True)
class Connect:
    """Open a link to ``address``: a configured peer (``static``: redialled for ever) or a hint."""

    address: Address
    static: bool = True


@dataclass(frozen=True, slots=True)
class Publish:
    """Take a frame signed elsewhere (a wallet, a test) as if a neighbour had sent it: checked,
    judged and relayed like any other.  The reply says whether it was taken to be checked."""

    frame: bytes


@dataclass(frozen=True, slots=True)
class MeshPing:
    """Ping the mesh up to ``ttl`` hops; the reply lists ``(responder hex, hops, seconds)``
    for each pong that arrived within ``ping_wait``, seconds counted from the ping."""

    ttl: int = 8


@dataclass(frozen=True, slots=True)
class TableCommand:
    """A table command for the table policy (open a roll, join, bet, …)."""

    payload: builtins.object  # spelled so for mypyc (a dataclass field of a builtin type)


Command = Issue | Connect | Publish | MeshPing | TableCommand


# --------------------------------------------------------------------------- actions


@dataclass(frozen=True, slots=True)
class Transmit:
    """Send ``data`` to ``address``."""

    address: Address
    data: bytes


@dataclass(frozen=True, slots=True)
class Verify:
    """Check these signatures and call ``verified(job, verdicts, now)``."""

    job: int
    envelopes: list[Envelope]


@dataclass(frozen=True, slots=True)
class Persist:
    """Commit, in one transaction: own frames to the outbox (first), then the replica's events
    (``Store.stage_events``), and clear the recovery flag if ``recovered``; then call
    ``persisted(persist, now)`` before any other event."""

    ticket: int
    events: list[Event]
    outbox: list[tuple[int, bytes]]
    recovered: bool = False


@dataclass(frozen=True, slots=True)
class MarkSent:
    """Own frames a transport has taken: record them sent (not re-sent after a restart)."""

    frames: list[bytes]


@dataclass(frozen=True, slots=True)
class Reply:
    """The answer to command ``command_id``: ``value``, or ``error`` (one readable line)."""

    command_id: int
    value: builtins.object = None  # (see TableCommand.payload)
    error: str | None = None


Action = Transmit | Verify | Persist | MarkSent | Reply


@dataclass(slots=True)
class _Chase:
    """Pulling a sender up to ``target`` from ``sources`` (most recent first, at most 4)."""

    target: int
    sources: list[Address]
    graft: bool
    due: float
    interval: float
    asked: int = 0


@dataclass(slots=True)
class _PingWait:
    command_id: int
    started: float
    deadline: float
    answers: list[tuple[str, int, float]] = field(default_factory=list)


@dataclass(slots=True)
class _AfterCommit:
    entries: list[Entry] = field(default_factory=list)
    own: list[bytes] = field(default_factory=list)
    replies: list[tuple[int, object]] = field(default_factory=list)


# --------------------------------------------------------------------------- the core


class NodeCore:
    """A node: replica, links, router, anti-entropy, defence and table policy.

    ``replica`` is the node's (rebuilt) replica; ``key`` its identity; ``rng`` its random
    source; ``policy`` the table policy (none by default).  ``recovering``: the node lost its
    data and must learn its own history from peers before it signs.  ``outbox_nonce``: the
    highest own nonce in the outbox; ``unsent``: own frames to re-send (after a restart).
    """

    def __init__(
        self,
        replica: Replica,
        key: nacl.signing.SigningKey,
        rng: Random,
        now: float,
        *,
        config: NodeConfig | None = None,
        policy: TablePolicy | None = None,
        recovering: bool = False,
        outbox_nonce: int = 0,
        unsent: Sequence[bytes] = (),
    ) -> None:
        self.config = c = config if config is not None else NodeConfig()
        self.replica = replica
        self.key = key
        self.identity = bytes(key.verify_key)
        self.network_id = replica.genesis.network_id
        self.prefix = self.network_id[:4]
        self._codec = replica._codec  # the replica's codec: one memo of checked sender keys
        self._rng = rng
        self.policy: TablePolicy = policy if policy is not None else NoTables()
        self._recovery: Recovery | None = Recovery() if recovering else None
        self._outbox_nonce = max(outbox_nonce, replica.logged_top(self.identity)[0])
        self._limits = c.limits()
        self.links = LinkTable(c.max_links, c.max_pending)
        self._dials: dict[Address, Dial] = {}  # at most max_dials
        self._bans = Bans(c.max_bans)
        self._hello_bucket = TokenBucket(c.hello_rate, c.hello_burst, now)
        self._origins: Bounded[bytes, TokenBucket] = Bounded(c.max_origins)
        self._ping_buckets: Bounded[bytes, TokenBucket] = Bounded(c.max_ping_routes)
        self._ping_routes: Bounded[tuple[bytes, int], Address] = Bounded(c.max_ping_routes)
        self._pings: dict[int, _PingWait] = {}  # own pings awaiting pongs, at most MAX_PINGS
        self._from: Bounded[bytes, Address] = Bounded(c.max_sources)
        self._recent: dict[bytes, None] = {}
        """Signatures of recently accepted frames, oldest first (at most max_recent): a copy of
        these very bytes is a duplicate before anything is parsed."""
        self._sources: Bounded[bytes, Address] = Bounded(c.max_sources)  # by full hash
        self._chases: dict[bytes, _Chase] = {}  # at most max_chases
        self._unverified: dict[Address, deque[Envelope]] = {}
        """Frames waiting for a signature check, per link (at most max_unverified_per_link
        each, max_unverified in all); a Verify takes them round robin across links."""
        self._unverified_count = 0
        self._checking: set[bytes] = set()
        """Full hashes of the frames unverified and in flight (a full hash names the sender,
        the nonce and the body)."""
        self._jobs: dict[int, tuple[list[Envelope], list[Address]]] = {}
        """Verify jobs in flight, each frame beside the link it came from (max_verify_jobs)."""
        self._next_job = 1
        self._staged: list[Event] = []
        self._staged_outbox: list[tuple[int, bytes]] = []
        self._after = _AfterCommit()
        self._recovered = False
        self._awaiting: Persist | None = None
        self._ticket = 0
        self._actions: list[Action] = []
        self._unsent: list[bytes] = list(unsent)[-MAX_UNSENT:]
        self._summary: Summary | None = None
        self._next_tick = now
        self._now = now
        self.counters: dict[str, int] = {}

    # ================================================================== events in

    def receive_datagram(self, data: bytes, address: Address, now: float) -> None:
        """One datagram from ``address``."""
        self._enter(now)
        if self._bans.address(address, now):
            self._count("dropped_banned")
            return
        link = self.links.get(address)
        if not data:
            self._count("dropped_empty")
            return
        first = data[0]
        if first >= LINK_MARKER_MIN:
            try:
                msg = decode_link(data)
            except LinkError as exc:
                self._count("link_malformed")
                log.debug("malformed link message from %s: %s", _addr(address), exc)
                if link is not None and link.up:
                    self._penalise(
                        link, self.config.penalty_rejected, "malformed link message", now
                    )
                return
            if isinstance(msg, Hello):
                self._on_hello(address, msg, now)
            elif isinstance(msg, Proof):
                self._on_proof(address, msg, now)
            elif link is None or not link.up:
                self._stranger(address, now)
            elif self._admit(link, now):
                self._on_link_message(link, msg, now)
        elif first == LEDGER_MARKER:
            if link is None or not link.up:
                self._stranger(address, now)
            elif self._admit(link, now):
                if data[-SIGNATURE_LEN:] in self._recent:  # these very bytes were accepted
                    self._count("duplicate")
                    self._duplicate(address, now)
                else:
                    self._on_frame(link, data, now)
        else:
            self._count("dropped_unknown_datagram")
            if link is not None and link.up:
                error = UnknownDatagram(f"first byte 0x{first:02x}")
                self._penalise(link, self.config.penalty_rejected, str(error), now)
        self._leave()

    def handle_timer(self, now: float) -> None:
        """Run what is due at ``now`` (call at :meth:`get_timer`)."""
        self._enter(now)
        replica_due = self.replica.next_timer()
        if replica_due is not None and replica_due <= now:
            self.replica.handle_timer(now)
            self._collect(now)
        if now >= self._next_tick:
            self._next_tick = now + self.config.tick
            self._tick(now)
        policy_due = self.policy.next_timer()
        if policy_due is not None and policy_due <= now:
            self._run_policy(self.policy.due(self.replica, now), now)
        self._leave()

    def handle_command(self, command_id: int, command: Command, now: float) -> None:
        """A local command; its answer is a :class:`Reply` action."""
        self._enter(now)
        if isinstance(command, Issue):
            try:
                frame = self._issue(command.body, now)
            except PlayerError as exc:
                self._actions.append(Reply(command_id, error=str(exc)))
            else:
                self._after.replies.append((command_id, frame))
        elif isinstance(command, Connect):
            self._dial(command.address, command.static, now)
            self._actions.append(Reply(command_id, value=True))
        elif isinstance(command, Publish):
            self._actions.append(Reply(command_id, *self._publish(command.frame, now)))
        elif isinstance(command, MeshPing):
            self._ping(command_id, command.ttl, now)
        else:
            try:
                bodies = self.policy.command(command.payload, self.replica, now)
            except (PlayerError, ValueError) as exc:
                self._actions.append(Reply(command_id, error=str(exc)))
            else:
                frames, error = self._run_command(bodies, now)
                if error is not None:  # what was signed before it still goes out
                    self._actions.append(Reply(command_id, error=error))
                elif not frames:  # nothing to commit first
                    self._actions.append(Reply(command_id, value=frames))
                else:
                    self._after.replies.append((command_id, frames))
        self._leave()

    def verified(self, job: int, verdicts: Verdicts | None, now: float) -> None:
        """The signature verdicts of Verify ``job``, in order (None: all good)."""
        self._enter(now)
        envelopes, addresses = self._jobs.pop(job)
        checking = self._checking
        for env in envelopes:
            checking.discard(env.full_hash)
        c = self.config
        origins = self._origins
        good: list[Envelope] = []
        sources: list[Address] = []
        for i, env in enumerate(envelopes):
            error = verdicts[i] if verdicts is not None else None
            if error is not None:
                self._count("rejected_" + type(error).__name__)
                link = self.links.get(addresses[i])
                if link is not None and link.up:
                    self._penalise(link, c.penalty_rejected, type(error).__name__, now)
                continue
            bucket = origins.get(env.sender)
            if bucket is None:
                bucket = TokenBucket(c.origin_rate, c.origin_burst, now)
                origins.put(env.sender, bucket)
            if not bucket.take(now):
                self._count("dropped_origin_rate")
                continue
            good.append(env)
            sources.append(addresses[i])
        if good:
            results = self.replica.take_verified(good, now)
            counters = self.counters
            senders_seen: list[tuple[bytes, Address]] = []
            packets_seen: list[tuple[bytes, Address]] = []
            for env, address, result in zip(good, sources, results, strict=True):
                outcome, why = result.outcome, result.why
                key = why or (_JUDGED_KEY if outcome is _JUDGED else outcome.value)
                counters[key] = counters.get(key, 0) + 1
                if outcome is _DROPPED:
                    if why == "duplicate":
                        self._duplicate(address, now)
                elif outcome is not _REJECTED:
                    senders_seen.append((env.sender, address))
                    packets_seen.append((env.full_hash, address))
                    first = self.links.get(address)
                    if first is not None:
                        first.wasted = 0
            self._from.put_all(senders_seen)
            self._sources.put_all(packets_seen)
            self._collect(now)
        self._leave()

    def persisted(self, persist: Persist, now: float) -> None:
        """Persist ``persist`` is committed: what it accepted may now be forwarded and served."""
        if persist is not self._awaiting:
            raise RuntimeError(f"persist {persist.ticket} is not the one awaited")
        self._awaiting = None
        self._enter(now)
        after, self._after = self._after, _AfterCommit()
        if after.entries:
            ups = list(self.links.up())  # relaying sends; it neither opens nor drops a link
            for entry in after.entries:
                self._accepted(entry, ups, now)
        if after.own:
            self._send_own(after.own)
        for command_id, frame in after.replies:
            self._actions.append(Reply(command_id, value=frame))
        if self._recovery is not None and after.entries:
            self._check_recovered()
        if after.entries:
            self.policy.accepted(after.entries, self.replica, now)
            self._run_policy(self.policy.due(self.replica, now), now)
        self._leave()

    # ================================================================== actions out

    def take_actions(self) -> list[Action]:
        """Everything to do, in order.  A :class:`Persist` is always last: commit it and call
        :meth:`persisted` before anything else."""
        if self._awaiting is None:
            self._start_verify()
        actions, self._actions = self._actions, []
        return actions

    def get_timer(self) -> float | None:
        """When :meth:`handle_timer` must next be called."""
        due = self._next_tick
        for other in (self.replica.next_timer(), self.policy.next_timer()):
            if other is not None and other < due:
                due = other
        return due

    # ================================================================== reading

    def status(self) -> dict[str, object]:
        """What a person (or a test) wants to see: identity, digest, links, counters."""
        me = self.identity
        return {
            "identity": me.hex(),
            "digest": self.replica.digest().hex(),
            "hwm": self.replica.hwm(me),
            "spendable": self.replica.spendable(me),
            "recovering": self._recovery is not None,
            "links": [
                {
                    "key": lk.key.hex() if lk.key else None,
                    "address": f"{lk.address[0]}:{lk.address[1]}",
                    "eager": lk.eager,
                }
                for lk in self.links.all()
                if lk.up
            ],
            "counters": dict(self.counters),
        }

    def queues(self) -> dict[str, int]:
        """How much waits in each of the core's queues (every one bounded in ``NodeConfig``):
        frames for a signature check, frames being checked, senders being chased, own pings
        awaiting pongs, own frames waiting for a link, addresses being dialled."""
        return {
            "unverified": self._unverified_count,
            "verifying": sum(len(envelopes) for envelopes, _ in self._jobs.values()),
            "chases": len(self._chases),
            "pings": len(self._pings),
            "unsent": len(self._unsent),
            "dials": len(self._dials),
        }

    def holders(self, sender: bytes, nonce: int) -> int:
        """How many neighbours are known to hold the judged packet ``(sender, nonce)`` (0 if
        it is not judged here): its sender when linked, those whose last anti-entropy digest
        matched after it was judged here, and for this node's own packets those whose digest
        reported its chain at or past ``nonce``.  A lower bound: neighbours only, as of their
        last round (every ``ae_interval``)."""
        entry = self.replica.judged(sender, nonce)
        if entry is None:
            return 0
        own = sender == self.identity
        return sum(
            1
            for link in self.links.up()
            if link.key == sender or link.synced > entry.seq or (own and link.yours >= nonce)
        )

    @property
    def recovering(self) -> bool:
        return self._recovery is not None

    @property
    def awaiting(self) -> Persist | None:
        """The Persist to acknowledge before any other event (None: none)."""
        return self._awaiting

    # ================================================================== plumbing

    def _enter(self, now: float) -> None:
        if self._awaiting is not None:
            raise RuntimeError(
                f"persist {self._awaiting.ticket} must be committed (persisted) before any "
                "other event"
            )
        self._now = max(self._now, now)

    def _leave(self) -> None:
        if self._staged or self._staged_outbox or self._recovered:
            self._ticket += 1
            persist = Persist(self._ticket, self._staged, self._staged_outbox, self._recovered)
            self._staged, self._staged_outbox, self._recovered = [], [], False
            self._awaiting = persist
            self._actions.append(persist)

    def _count(self, key: str, n: int = 1) -> None:
        self.counters[key] = self.counters.get(key, 0) + n

    def _send(self, address: Address, msg: LinkMessage) -> None:
        self._actions.append(Transmit(address, encode_link(msg)))

    def _collect(self, now: float) -> None:
        """Take the replica's events: pulls go out now, the rest waits for the commit."""
        pulls: list[Pull] = []
        for event in self.replica.take_events():
            what, item = event.what, event.item
            if what == WANTED:
                assert isinstance(item, Pull)
                pulls.append(item)
                continue
            self._staged.append(event)
            if what in (JUDGED, FORK_KEPT):
                assert isinstance(item, Entry)
                self._after.entries.append(item)
            self._summary = None
        if pulls:
            self._route_pulls(pulls, now)

    def _start_verify(self) -> None:
        queues = self._unverified
        if not queues or len(self._jobs) >= self.config.max_verify_jobs:
            return
        job = self._next_job
        self._next_job += 1
        size = self.config.verify_batch
        envelopes: list[Envelope] = []
        addresses: list[Address] = []
        if len(queues) == 1:  # one link: its frames in order
            address, queue = next(iter(queues.items()))
            take = min(size, len(queue))
            envelopes = [queue.popleft() for _ in range(take)]
            addresses = [address] * take
            if not queue:
                del queues[address]
        while queues and len(envelopes) < size:
            for address in list(queues):  # round robin: a flood cannot crowd out the rest
                queue = queues[address]
                envelopes.append(queue.popleft())
                addresses.append(address)
                if not queue:
                    del queues[address]
                if len(envelopes) == size:
                    break
        self._unverified_count -= len(envelopes)
        self._jobs[job] = (envelopes, addresses)
        self._actions.append(Verify(job, envelopes))

    # ================================================================== handshakes

    def _challenge(self) -> bytes:
        return self._rng.getrandbits(8 * CHALLENGE_LEN).to_bytes(CHALLENGE_LEN, "big")

    def _dial(self, address: Address, static: bool, now: float) -> None:
        link = self.links.get(address)
        if link is not None and link.up:
            return
        dial = self._dials.get(address)
        if dial is None:
            if len(self._dials) >= self.config.max_dials:
                hints = [a for a, d in self._dials.items() if not d.static]
                if not hints:
                    return
                del self._dials[hints[0]]
            dial = self._dials[address] = Dial(static, now, self.config.dial_first)
        dial.static = dial.static or static
        self._hello(address, now)
        dial.tries += 1
        dial.due = now + dial.interval
        dial.interval = min(2 * dial.interval, self.config.dial_max)

    def _hello(self, address: Address, now: float) -> None:
        link = self.links.pending(address, self._challenge(), now, self._limits)
        self._send(address, Hello(self.prefix, self.identity, link.challenge))

    def _stranger(self, address: Address, now: float) -> None:
        """Traffic from an address with no link up: it may be a neighbour that knows us from
        before a restart.  Say hello (a hint, a few tries); take nothing else from it."""
        self._count("dropped_not_linked")
        if address not in self._dials:
            self._dial(address, False, now)

    def _on_hello(self, address: Address, msg: Hello, now: float) -> None:
        if msg.prefix != self.prefix:
            self._count("hello_other_network")
            return
        if msg.key == self.identity:
            self._count("hello_self")
            self._dials.pop(address, None)
            return
        if self._bans.key(msg.key, now) or not self._codec.acceptable(msg.key):
            self._count("hello_refused")
            return
        link = self.links.get(address)
        if link is None or not link.up:
            if not self._hello_bucket.take(now):
                self._count("hello_rate")
                return
        elif not self._admit(link, now) or not link.control.take(now):
            self._count("hello_rate")  # each answer costs a signature: a neighbour's too
            return
        link = self.links.pending(address, self._challenge(), now, self._limits)
        link.claimed = msg.key
        if link.up and link.key == msg.key:
            # the neighbour restarted: it lost its state of this link
            link.eager = True
            link.next_ae = now
        self._proof(link, msg.challenge, msg.key)

    def _proof(self, link: Link, answer: bytes, peer: bytes) -> None:
        signed = hello_signed(self.network_id, answer, link.challenge, self.identity, peer)
        signature = self.key.sign(signed).signature
        link.answered = answer
        self._send(
            link.address, Proof(self.prefix, self.identity, link.challenge, answer, signature)
        )

    def _on_proof(self, address: Address, msg: Proof, now: float) -> None:
        link = self.links.get(address)
        if msg.prefix != self.prefix or msg.key == self.identity:
            self._count("proof_refused")
            return
        if link is None or msg.answer != link.challenge:
            self._count("proof_stale")
            return
        if self._bans.key(msg.key, now) or not self._codec.acceptable(msg.key):
            self._count("proof_refused")
            return
        signed = hello_signed(self.network_id, msg.answer, msg.challenge, msg.key, self.identity)
        try:
            nacl.signing.VerifyKey(msg.key).verify(signed, msg.signature)
        except (nacl.exceptions.BadSignatureError, ValueError):
            self._count("proof_bad_signature")
            if link.up:
                self._penalise(link, self.config.penalty_rejected, "bad hello proof", now)
            return
        if link.answered != msg.challenge:
            self._proof(link, msg.challenge, msg.key)
        if link.up and link.key == msg.key:
            return
        self._link_up(link, msg.key, now)

    def _link_up(self, link: Link, key: bytes, now: float) -> None:
        other = self.links.by_key(key)
        if other is not None and other is not link:
            # a fresh proof from a new address: the key's holder is there now (a restart on
            # another port, a new network address); one link per key
            self._link_down(other, f"moved to {_addr(link.address)}")
        if not self.links.promote(link, key):
            self._count("link_table_full")
            self.links.remove(link)
            return
        link.since = link.last_rx = now
        link.eager = True
        # anti-entropy on every new link: the side with the smaller key opens it at once (two
        # rounds crossing would push the same packets twice), the other one a round later
        link.next_ae = now if self.identity < key else now + self.config.ae_interval
        dial = self._dials.get(link.address)
        if dial is not None:
            dial.tries = 0
            dial.interval = self.config.dial_first
            dial.key = key
        self._count("links_up")
        log.info("link up: %s at %s", key.hex()[:16], _addr(link.address))
        if self._unsent:
            frames, self._unsent = self._unsent, []
            for frame in frames:
                self._actions.append(Transmit(link.address, frame))
            self._actions.append(MarkSent(frames))

    def _link_down(self, link: Link, why: str) -> None:
        self.links.remove(link)
        if link.key is not None:
            self._count("links_down")
            log.info("link down: %s at %s (%s)", link.key.hex()[:16], _addr(link.address), why)
        dial = self._dials.get(link.address)
        if dial is not None:
            if dial.static:
                dial.due = self._now + dial.interval
            else:
                del self._dials[link.address]

    # ================================================================== defence

    def _admit(self, link: Link, now: float) -> bool:
        """The link's datagram bucket; an up link's traffic keeps it alive."""
        link.last_rx = now
        if link.rx.take(now):
            return True
        self._count("dropped_link_rate")
        self._penalise(link, self.config.penalty_rate, "over its datagram rate", now)
        return False

    def _penalise(self, link: Link, amount: float, why: str, now: float) -> None:
        score = link.score.add(amount, now)
        log.debug("penalty %.2f to %s: %s (score %.2f)", amount, link, why, score)
        if score >= self.config.penalty_threshold and link.up:
            c = self.config
            self._bans.ban(link.address, link.key, now + c.ban_seconds)
            self._count("banned")
            log.warning(
                "dropped neighbour %s at %s for %.0f s: score %.1f (last: %s)",
                link.key.hex()[:16] if link.key else "?",
                _addr(link.address),
                c.ban_seconds,
                score,
                why,
            )
            self._link_down(link, "banned")
            self._drop_unverified(link.address)
            dial = self._dials.get(link.address)
            if dial is not None:
                dial.due = now + c.ban_seconds

    # ================================================================== ledger frames

    def _on_frame(self, link: Link, data: bytes, now: float) -> None:
        replica = self.replica
        try:
            env = self._codec.open(data)
        except Rejected as exc:
            self._count("rejected_" + type(exc).__name__)
            self._penalise(link, self.config.penalty_rejected, type(exc).__name__, now)
            return
        sender, nonce = env.sender, env.nonce
        fork = replica.fork_point(sender)
        if fork and nonce > fork:
            self._count("above_fork")
            return
        if env.full_hash in self._checking or replica.known(sender, nonce, env.full_hash):
            self._count("duplicate")
            self._duplicate(link.address, now)
            return
        if nonce > replica.hwm(sender) + replica.window:
            self._count("beyond_window")
            return
        if not link.origin_bucket(sender, now).take(now):
            self._count("dropped_link_origin_rate")
            return
        self._wait_for_check(env, link.address)

    def _publish(self, data: bytes, now: float) -> tuple[object, str | None]:
        try:
            env = self._codec.open(data)
        except Rejected as exc:
            return None, f"rejected {type(exc).__name__}: {exc}"
        if env.full_hash in self._checking or self.replica.known(
            env.sender, env.nonce, env.full_hash
        ):
            return "duplicate", None
        if env.nonce > self.replica.hwm(env.sender) + self.replica.window:
            return None, f"nonce {env.nonce} is beyond the hold-back window of its sender"
        if not self._wait_for_check(env, LOCAL):
            return None, "too many frames wait for a signature check; try again later"
        return "queued", None

    def _wait_for_check(self, env: Envelope, address: Address) -> bool:
        queue = self._unverified.get(address)
        if self._unverified_count >= self.config.max_unverified or (
            queue is not None and len(queue) >= self.config.max_unverified_per_link
        ):
            self._count("dropped_backlog")
            return False
        if queue is None:
            queue = self._unverified[address] = deque()
        queue.append(env)
        self._unverified_count += 1
        self._checking.add(env.full_hash)
        return True

    def _drop_unverified(self, address: Address) -> None:
        """Forget the frames of ``address`` still waiting for a signature check."""
        queue = self._unverified.pop(address, None)
        if queue is not None:
            self._unverified_count -= len(queue)
            for env in queue:
                self._checking.discard(env.full_hash)

    def _duplicate(self, address: Address, now: float) -> None:
        """Plumtree: ``prune_after`` pushes in a row on an eager link that brought nothing new
        prune it (a pull's answer does not count)."""
        link = self.links.get(address)
        if link is None or not link.up or not link.eager or now < link.pulled_until:
            return
        if self.config.flood:
            return
        link.wasted += 1
        if link.wasted < self.config.prune_after:
            return
        link.wasted = 0
        link.eager = False
        self._count("prunes_sent")
        self._send(address, Prune())

    def _accepted(self, entry: Entry, ups: list[Link], now: float) -> None:
        """A packet committed: relay it (Plumtree) to the ``ups`` links and move any chase of
        its sender on."""
        sender, nonce = entry.sender, entry.nonce
        frame = entry.frame
        recent = self._recent
        recent[frame[-SIGNATURE_LEN:]] = None
        if len(recent) > self.config.max_recent:
            del recent[next(iter(recent))]
        if sender != self.identity:
            source = self._sources.pop(entry.full_hash)  # two versions: two sources
            fork = self.replica.fork_point(sender) == nonce
            pushed = 0
            for link in ups:
                if link.address == source:
                    continue
                if link.eager or fork:
                    self._actions.append(Transmit(link.address, frame))
                    pushed += 1
                elif not link.queue_announce(sender, nonce):
                    self._count("announce_dropped")
            if pushed:
                self._count("forwarded", pushed)
        chase = self._chases.get(sender)
        if chase is not None:
            hwm = self.replica.hwm(sender)
            if hwm >= chase.target or self.replica.fork_point(sender):
                del self._chases[sender]
            elif chase.asked and hwm >= chase.asked:
                chase.interval = self.config.pull_retry
                chase.due = now
                self._pull(sender, chase, now)

    def _send_own(self, frames: list[bytes]) -> None:
        links = list(self.links.up())
        if not links:
            self._unsent = (self._unsent + frames)[-MAX_UNSENT:]
            return
        for frame in frames:
            for link in links:
                self._actions.append(Transmit(link.address, frame))
        self._actions.append(MarkSent(frames))

    # ================================================================== own packets

    def _issue(self, body: Body, now: float) -> bytes:
        recovery = self._recovery
        if recovery is not None and not self._check_recovered():
            raise PlayerError(recovery.waiting(self.replica, self.identity))
        nonce, frame = sign_next(self.replica, self.key, self._codec, body, self._outbox_nonce)
        self._outbox_nonce = nonce
        self._staged_outbox.append((nonce, frame))
        replica = self.replica
        replica.receive_checked([frame], now)
        self._after.own.append(frame)
        self._collect(now)
        return frame

    def _run_policy(self, bodies: Sequence[Body], now: float) -> list[bytes]:
        frames = []
        for body in bodies:
            try:
                frame = self._issue(body, now)
            except PlayerError as exc:
                self.policy.signed(body, None, str(exc), now)
            else:
                frames.append(frame)
                self.policy.signed(body, frame, None, now)
        return frames

    def _run_command(self, bodies: Sequence[Body], now: float) -> tuple[list[bytes], str | None]:
        """A table command's bodies, signed in order up to the first this node will not sign:
        the frames, and that one's reason (the command's error)."""
        frames: list[bytes] = []
        for body in bodies:
            try:
                frame = self._issue(body, now)
            except PlayerError as exc:
                self.policy.signed(body, None, str(exc), now)
                return frames, str(exc)
            frames.append(frame)
            self.policy.signed(body, frame, None, now)
        return frames, None

    def _check_recovered(self) -> bool:
        recovery = self._recovery
        if recovery is None:
            return True
        if not recovery.done(self.replica, self.identity):
            return False
        self._recovery = None
        self._recovered = True
        log.info(
            "own history recovered: HWM %d confirmed by %d peers; signing resumes",
            self.replica.hwm(self.identity),
            len(recovery.reports),
        )
        return True

    # ================================================================== link messages

    def _on_link_message(self, link: Link, msg: LinkMessage, now: float) -> None:
        if isinstance(msg, Prune):
            if link.eager:
                self._count("prunes_received")
            link.eager = self.config.flood
        elif isinstance(msg, Graft):
            link.eager = True
            self._count("grafts_received")
            self._serve(link, [WantItem(s.sender, s.lo, s.hi) for s in msg.spans], now)
        elif isinstance(msg, Want):
            self._serve(link, list(msg.items), now)
        elif isinstance(msg, Announce):
            self._on_announce(link, msg, now)
        elif not link.control.take(now):
            self._count("dropped_control_rate")
            self._penalise(link, self.config.penalty_rate, "over its control rate", now)
        elif isinstance(msg, Digest):
            self._on_digest(link, msg, now)
        elif isinstance(msg, Ranges):
            self._on_ranges(link, msg, now)
        elif isinstance(msg, Bisect):
            self._on_bisect(link, msg, now)
        elif isinstance(msg, Ping):
            self._on_ping(link, msg, now)
        elif isinstance(msg, Pong):
            self._on_pong(link, msg, now)

    def _serve(self, link: Link, items: list[WantItem], now: float) -> None:
        replica = self.replica
        for item in items:
            for frame in replica.serve(Pull(item.sender, item.lo, item.hi, item.h), SERVE_PER_ITEM):
                if not link.serve.take(now, len(frame)):
                    self._count("serve_throttled")
                    return
                self._actions.append(Transmit(link.address, frame))
                self._count("served")

    def _on_announce(self, link: Link, msg: Announce, now: float) -> None:
        replica = self.replica
        for span in msg.spans:
            sender = span.sender
            if replica.fork_point(sender) or span.hi <= replica.logged_top(sender)[0]:
                continue
            self._chase(sender, span.hi, link.address, True, now + self.config.graft_timeout)

    # ------------------------------------------------------------------ pulling

    def _chase(self, sender: bytes, target: int, source: Address, graft: bool, due: float) -> None:
        """Pull ``sender`` up to ``target``, from ``source`` first, starting at ``due``."""
        chase = self._chases.get(sender)
        if chase is None:
            if len(self._chases) >= self.config.max_chases:
                self._count("chase_dropped")
                return
            chase = self._chases[sender] = _Chase(
                target, [source], graft, due, self.config.pull_retry
            )
            return
        chase.target = max(chase.target, target)
        if source in chase.sources:
            chase.sources.remove(source)
        chase.sources.insert(0, source)
        del chase.sources[4:]
        chase.due = min(chase.due, due)

    def _pull(self, sender: bytes, chase: _Chase, now: float) -> None:
        replica = self.replica
        hwm = replica.hwm(sender)
        top = replica.logged_top(sender)[0]
        hi = min(chase.target, hwm + replica.window)
        chase.due = now + chase.interval
        if top >= hi:
            return  # logged, waiting to be judged
        while chase.sources:
            link = self.links.get(chase.sources[0])
            if link is not None and link.up:
                break
            chase.sources.pop(0)
        else:
            del self._chases[sender]
            return
        chase.asked = hi
        link.pulled_until = now + self.config.pull_retry
        if chase.graft:
            link.eager = True
            self._count("grafts_sent")
            self._send(link.address, Graft((Span(sender, top + 1, hi),)))
        else:
            self._send(link.address, Want((WantItem(sender, top + 1, hi),)))

    def _route_pulls(self, pulls: list[Pull], now: float) -> None:
        """The replica's pulls (gaps before held packets, versions named by hash): to the link
        the sender was last seen on, else a link that announced it, else any up link."""
        by_link: dict[Address, list[WantItem]] = {}
        ups = list(self.links.up())
        if not ups:
            return
        for i, pull in enumerate(pulls):
            address = self._from.peek(pull.sender)
            link = self.links.get(address) if address is not None else None
            if link is None or not link.up:
                chase = self._chases.get(pull.sender)
                link = None
                if chase is not None:
                    for a in chase.sources:
                        candidate = self.links.get(a)
                        if candidate is not None and candidate.up:
                            link = candidate
                            break
                if link is None:
                    link = ups[(self.counters.get("pulls_sent", 0) + i) % len(ups)]
            by_link.setdefault(link.address, []).append(
                WantItem(pull.sender, pull.lo, pull.hi, pull.h)
            )
        for address, items in by_link.items():
            link = self.links.get(address)
            if link is not None:
                link.pulled_until = now + self.config.pull_retry
            for start in range(0, len(items), MAX_WANTS):
                self._send(address, Want(tuple(items[start : start + MAX_WANTS])))
            self._count("pulls_sent", len(items))

    # ------------------------------------------------------------------ anti-entropy

    def summary(self) -> Summary:
        if self._summary is None:
            self._summary = Summary.of(self.replica)
        return self._summary

    def _entry_for(self, key: bytes | None) -> tuple[int, bytes, bytes]:
        entry = self.summary().by_key.get(key) if key is not None else None
        return (entry.n, entry.a, entry.b) if entry is not None else (0, b"", b"")

    def _start_round(self, link: Link, now: float) -> None:
        c = self.config
        link.next_ae = now + c.ae_interval * (0.8 + 0.4 * self._rng.random())
        count, fp = self.summary().digest()
        session = self._rng.getrandbits(32)
        link.ae_session, link.ae_seq = session, self.replica.next_seq
        self._count("ae_rounds")
        self._send(
            link.address, Digest(session, False, False, count, fp, self._entry_for(link.key))
        )

    def _on_digest(self, link: Link, msg: Digest, now: float) -> None:
        hwm, a, b = msg.yours
        link.yours = 0 if b else hwm
        if self._recovery is not None and link.key is not None and not b:
            self._recovery.reports[link.key] = (hwm, a)
            self._check_recovered()
        if msg.reply:
            if msg.match and msg.session == link.ae_session:  # it held what this round covered
                link.synced = max(link.synced, link.ae_seq)
            return
        count, fp = self.summary().digest()
        match = count == msg.count and fp == msg.fingerprint
        if match:  # it holds everything judged here
            link.synced = max(link.synced, self.replica.next_seq)
        self._send(
            link.address, Digest(msg.session, True, match, count, fp, self._entry_for(link.key))
        )
        if not match:
            for start, items in opening(self.summary()):
                self._send(link.address, Ranges(msg.session, start, tuple(items)))

    def _on_ranges(self, link: Link, msg: Ranges, now: float) -> None:
        budget = max(0, int(link.ae_bytes.available(now)))
        replies, diffs = respond(self.summary(), msg.start, msg.items, budget)
        for start, items in replies:
            data = encode_link(Ranges(msg.session, start, tuple(items)))
            link.ae_bytes.spend(now, len(data))
            self._actions.append(Transmit(link.address, data))
        budget = self.config.push_budget
        for diff in diffs:
            budget = self._reconcile(link, diff.sender, diff.theirs, budget, now)
        if budget <= 0:
            link.next_ae = min(link.next_ae, now + self.config.ae_retry)

    def _reconcile(
        self, link: Link, sender: bytes, theirs: AeEntry | None, budget: int, now: float
    ) -> int:
        """One sender whose entries differ: push what the peer lacks (within ``budget``
        bytes), pull what this side lacks, bisect equal HWMs with different hashes."""
        replica = self.replica
        t16 = (sender, theirs.n, theirs.a, theirs.b) if theirs is not None else None
        got = offer(replica, sender, t16)
        frames = got.frames
        fork = replica.fork_point(sender)
        forked = replica.fork_frames(sender) if fork else []
        prefix = [f for f in frames if f not in forked]
        pushed = 0
        for frame in [*forked, *prefix[: self.config.push_limit]]:
            if budget <= 0:
                break
            budget -= len(frame)
            pushed += 1
            self._actions.append(Transmit(link.address, frame))
        self._count("ae_pushed", pushed)
        rest = len(prefix) - max(0, pushed - len(forked))
        if rest > 0:  # announced: the peer pulls the rest at its own pace
            top = fork - 1 if fork else replica.hwm(sender)
            self._send(link.address, Announce((Span(sender, top - rest + 1, top),)))
        if got.bisect:
            hwm = replica.hwm(sender)
            self._count("bisects_started")
            self._send(link.address, Bisect(sender, 1, hwm, probes(replica, sender, 1, hwm)))
        if theirs is not None and not fork and (theirs.b or theirs.n > replica.hwm(sender)):
            self._chase(sender, theirs.n, link.address, False, now)
            chase = self._chases.get(sender)
            if chase is not None:
                self._pull(sender, chase, now)
        return budget

    def _on_bisect(self, link: Link, msg: Bisect, now: float) -> None:
        step = narrow(self.replica, msg)
        if step is None:
            return
        if isinstance(step, Bisect):
            self._send(link.address, step)
            return
        self._count("bisects_found")
        frame = self.replica.frame_of(msg.sender, step)
        if frame is not None:
            self._actions.append(Transmit(link.address, frame))
        link.pulled_until = now + self.config.pull_retry
        self._send(link.address, Want((WantItem(msg.sender, step, step),)))

    # ------------------------------------------------------------------ mesh ping

    def _ping(self, command_id: int, ttl: int, now: float) -> None:
        if len(self._pings) >= MAX_PINGS:
            self._actions.append(Reply(command_id, error=f"{MAX_PINGS} pings already wait"))
            return
        ttl = max(1, min(ttl, 0xFF))
        ping_id = self._rng.getrandbits(32)
        signature = self.key.sign(ping_signed(self.network_id, self.identity, ping_id)).signature
        self._pings[ping_id] = _PingWait(command_id, now, now + self.config.ping_wait)
        self._ping_routes.put((self.identity, ping_id), ("", 0))
        for link in self.links.up():
            self._send(link.address, Ping(self.identity, ping_id, ttl, signature))

    def _on_ping(self, link: Link, msg: Ping, now: float) -> None:
        key = (msg.origin, msg.ping_id)
        if msg.origin == self.identity or key in self._ping_routes:
            return
        c = self.config
        bucket = self._ping_buckets.setdefault(
            msg.origin, lambda: TokenBucket(c.ping_rate, c.ping_burst, now)
        )
        if not bucket.take(now):
            self._count("dropped_ping_rate")
            return
        try:
            nacl.signing.VerifyKey(msg.origin).verify(
                ping_signed(self.network_id, msg.origin, msg.ping_id), msg.signature
            )
        except (nacl.exceptions.BadSignatureError, ValueError):
            self._penalise(link, c.penalty_rejected, "badly signed ping", now)
            return
        self._ping_routes.put(key, link.address)
        signed = pong_signed(self.network_id, msg.origin, msg.ping_id, self.identity)
        signature = self.key.sign(signed).signature
        self._send(link.address, Pong(msg.origin, msg.ping_id, self.identity, 0, signature))
        if msg.ttl > 1:
            for other in self.links.up():
                if other is not link:
                    self._send(
                        other.address, Ping(msg.origin, msg.ping_id, msg.ttl - 1, msg.signature)
                    )

    def _on_pong(self, link: Link, msg: Pong, now: float) -> None:
        if msg.origin == self.identity:
            wait = self._pings.get(msg.ping_id)
            if wait is None:
                return
            signed = pong_signed(self.network_id, msg.origin, msg.ping_id, msg.responder)
            try:
                nacl.signing.VerifyKey(msg.responder).verify(signed, msg.signature)
            except (nacl.exceptions.BadSignatureError, ValueError):
                self._count("pong_bad_signature")
                return
            wait.answers.append((msg.responder.hex(), msg.hops + 1, now - wait.started))
            return
        back = self._ping_routes.peek((msg.origin, msg.ping_id))
        target = self.links.get(back) if back is not None else None
        if target is not None and target.up and msg.hops < 0xFF:
            self._send(
                target.address,
                Pong(msg.origin, msg.ping_id, msg.responder, msg.hops + 1, msg.signature),
            )

    # ================================================================== housekeeping

    def _tick(self, now: float) -> None:
        c = self.config
        for link in self.links.all():
            if link.up:
                if now - link.last_rx > c.link_timeout:
                    self._link_down(link, f"silent for {c.link_timeout:.0f} s")
                    continue
                announcements = link.take_announcements()
                for start in range(0, len(announcements), MAX_SPANS):
                    chunk = announcements[start : start + MAX_SPANS]
                    self._send(link.address, Announce(tuple(Span(*s) for s in chunk)))
                if now >= link.next_ae:
                    self._start_round(link, now)
            elif now - link.since > c.handshake_timeout:
                self.links.remove(link)
        for address, dial in list(self._dials.items()):
            linked = self.links.get(address)
            if linked is not None and linked.up:
                continue
            if dial.key is not None and self.links.by_key(dial.key) is not None:
                continue  # that neighbour is up at another address
            if not dial.static and dial.tries >= c.hint_tries:
                del self._dials[address]
                continue
            if now >= dial.due and not self._bans.address(address, now):
                self._dial(address, dial.static, now)
        for sender, chase in list(self._chases.items()):
            if now >= chase.due:
                if chase.asked and chase.sources:  # no progress: ask the next source
                    chase.sources.append(chase.sources.pop(0))
                chase.interval = min(2 * chase.interval, c.pull_retry_max)
                self._pull(sender, chase, now)
        for ping_id, wait in list(self._pings.items()):
            if now >= wait.deadline:
                del self._pings[ping_id]
                self._actions.append(Reply(wait.command_id, value=wait.answers))


def _addr(address: Address) -> str:
    return f"{address[0]}:{address[1]}"
