"""The link table: every neighbour this node talks to, what it knows of each, and the limits.

A link is an address.  It is *pending* until the neighbour's hello proof verifies, then *up*
with the neighbour's key; no traffic but a hello or a proof is taken from a link that is not up.
Each up link carries its Plumtree mode (eager or lazy) and announcement queue, its token
buckets, its decaying score and its anti-entropy schedule.  Addresses to open links to (static
peers, discovery hints) are dialled with back-off.  Every table here is bounded; the bound is
written beside it.  Sans-IO: time comes in as ``now``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Final

from node.core.defence import Bounded, Score, TokenBucket

__all__ = ["Address", "Dial", "Link", "LinkLimits", "LinkTable"]

Address = tuple[str, int]
"""Where a datagram comes from or goes to (a transport's address: host and port on UDP)."""

ANNOUNCE_SENDERS: Final = 256
"""Senders with announcements queued on one lazy link between two heartbeats (more: dropped,
anti-entropy recovers them)."""


@dataclass(frozen=True, slots=True)
class LinkLimits:
    """Rates and sizes of one link's buckets and score (see ``NodeConfig``)."""

    rate: float
    burst: float
    origin_rate: float
    origin_burst: float
    max_origins: int
    control_rate: float
    control_burst: float
    serve_rate: float
    serve_burst: float
    half_life: float
    ae_rate: float
    ae_burst: float


class Link:
    """One neighbour, by address."""

    __slots__ = (
        "address",
        "ae_bytes",
        "ae_seq",
        "ae_session",
        "announce",
        "answered",
        "challenge",
        "claimed",
        "control",
        "eager",
        "key",
        "last_rx",
        "limits",
        "next_ae",
        "origins",
        "pulled_until",
        "rx",
        "score",
        "serve",
        "since",
        "synced",
        "wasted",
        "yours",
    )

    def __init__(self, address: Address, challenge: bytes, now: float, limits: LinkLimits) -> None:
        self.address = address
        self.limits = limits
        self.key: bytes | None = None
        """The neighbour's key once its proof verified (the link is up)."""
        self.claimed: bytes | None = None
        """The key its hello claimed (not trusted until its proof verifies)."""
        self.challenge = challenge
        """My challenge for this neighbour to sign."""
        self.answered: bytes | None = None
        """The last challenge of theirs I answered with a proof."""
        self.since = now
        self.last_rx = now
        self.eager = True
        """Plumtree: relayed packets are pushed to an eager link, announced to a lazy one."""
        self.wasted = 0
        """Plumtree: pushes in a row that brought nothing new (a new packet resets it)."""
        self.announce: dict[bytes, list[list[int]]] = {}
        """Per sender, nonce spans to announce at the next heartbeat (lazy links; at most
        :data:`ANNOUNCE_SENDERS` senders)."""
        self.next_ae = now
        self.pulled_until = 0.0
        """Until then, duplicates from this link answer a pull of ours: no prune."""
        self.rx = TokenBucket(limits.rate, limits.burst, now)
        self.control = TokenBucket(limits.control_rate, limits.control_burst, now)
        self.serve = TokenBucket(limits.serve_rate, limits.serve_burst, now)
        self.ae_bytes = TokenBucket(limits.ae_rate, limits.ae_burst, now)
        """Bytes of ranges messages this side may send the neighbour (its round budget)."""
        self.origins: Bounded[bytes, TokenBucket] = Bounded(limits.max_origins)
        """Per claimed origin, frames taken before their signature is checked."""
        self.score = Score(limits.half_life)
        self.ae_session = -1
        self.ae_seq = 0
        """The session of this side's last anti-entropy round on the link, and the replica's
        judged-order position when it started."""
        self.synced = 0
        """The neighbour holds every packet judged here before this judged-order position:
        set when an anti-entropy digest found both summaries equal."""
        self.yours = 0
        """The HWM of this node's own chain in the neighbour's summary, as its last digest
        said (0: none said, or a fork)."""

    @property
    def up(self) -> bool:
        return self.key is not None

    def origin_bucket(self, origin: bytes, now: float) -> TokenBucket:
        bucket = self.origins.get(origin)
        if bucket is None:
            limits = self.limits
            bucket = TokenBucket(limits.origin_rate, limits.origin_burst, now)
            self.origins.put(origin, bucket)
        return bucket

    def queue_announce(self, sender: bytes, nonce: int) -> bool:
        """Queue ``(sender, nonce)`` for the next announcement; False when the queue is full."""
        spans = self.announce.get(sender)
        if spans is None:
            if len(self.announce) >= ANNOUNCE_SENDERS:
                return False
            self.announce[sender] = [[nonce, nonce]]
            return True
        last = spans[-1]
        if last[0] <= nonce <= last[1]:
            return True
        if nonce == last[1] + 1:
            last[1] = nonce
        elif len(spans) < 4:
            spans.append([nonce, nonce])
        else:  # one span wide enough: the receiver pulls only what it lacks
            last[0], last[1] = min(last[0], nonce), max(last[1], nonce)
        return True

    def take_announcements(self) -> list[tuple[bytes, int, int]]:
        out = [(s, lo, hi) for s, spans in self.announce.items() for lo, hi in spans]
        self.announce = {}
        return out

    def __repr__(self) -> str:
        who = self.key.hex()[:8] if self.key else "pending"
        return f"Link({who} at {self.address[0]}:{self.address[1]})"


@dataclass(slots=True)
class Dial:
    """An address to open a link to: a configured peer (retried for ever, with back-off) or a
    hint (discovery, or a stranger that spoke to us as if linked: a few tries)."""

    static: bool
    due: float
    interval: float
    tries: int = 0
    key: bytes | None = None
    """The key last proven at this address: not dialled while that key is up elsewhere."""


class LinkTable:
    """Links by address and up links by key.  At most ``max_links`` up and ``max_pending``
    pending (a new handshake evicts the oldest pending one)."""

    __slots__ = ("_by_address", "_by_key", "max_links", "max_pending")

    def __init__(self, max_links: int, max_pending: int) -> None:
        self.max_links = max_links
        self.max_pending = max_pending
        self._by_address: dict[Address, Link] = {}
        self._by_key: dict[bytes, Link] = {}

    def get(self, address: Address) -> Link | None:
        return self._by_address.get(address)

    def by_key(self, key: bytes) -> Link | None:
        return self._by_key.get(key)

    def up(self) -> Iterator[Link]:
        return iter(list(self._by_key.values()))

    def count_up(self) -> int:
        return len(self._by_key)

    def all(self) -> list[Link]:
        return list(self._by_address.values())

    def pending(self, address: Address, challenge: bytes, now: float, limits: LinkLimits) -> Link:
        """The link at ``address``, made pending if there is none."""
        link = self._by_address.get(address)
        if link is not None:
            return link
        waiting = [lk for lk in self._by_address.values() if not lk.up]
        if len(waiting) >= self.max_pending:
            oldest = min(waiting, key=lambda lk: lk.since)
            del self._by_address[oldest.address]
        link = self._by_address[address] = Link(address, challenge, now, limits)
        return link

    def promote(self, link: Link, key: bytes) -> bool:
        """Mark ``link`` up with ``key``; False (nothing changed) when the table is full."""
        if link.key == key:
            return True
        if link.key is not None:
            self._by_key.pop(link.key, None)
        elif len(self._by_key) >= self.max_links:
            return False
        link.key = key
        self._by_key[key] = link
        return True

    def remove(self, link: Link) -> None:
        self._by_address.pop(link.address, None)
        if link.key is not None and self._by_key.get(link.key) is link:
            del self._by_key[link.key]
