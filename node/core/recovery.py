"""Learning this node's own history from its peers after it lost its data but kept its key
(DESIGN.md §4, durability): the rule, without the store that keeps the flag.

A node in recovery signs nothing until :data:`RECOVERY_PEERS` distinct peers have shown it its
own packets.  Sans-IO: the caller feeds the peers' reports and keeps the flag durable.
"""

from __future__ import annotations

from typing import Final

from node.core.replica import Replica

__all__ = ["RECOVERY_PEERS", "Recovery"]

RECOVERY_PEERS: Final = 3
"""Distinct peers that must show a node which lost its data its own HWM and head (DESIGN.md,
durability) before it signs again."""


class Recovery:
    """Where a node that lost its data stands in learning its own history from peers.

    ``reports`` maps each peer to the ``(HWM, cumulative hash prefix)`` of this node's key it
    reported (the key's entry of that peer's anti-entropy summary, ``Replica.summary``, after a
    full round).  A report *confirms* once this replica has judged its own packets up to that
    HWM and its cumulative hash there starts with the reported prefix (a report of HWM 0, a
    peer that knows none of them, confirms at once).  Recovery is done when
    :data:`RECOVERY_PEERS` distinct peers confirm and none reports an HWM beyond this replica's.
    A peer whose prefix differs holds another version of one of this key's packets: it never
    confirms, and its fork proof, once it arrives as frames, stops this key signing for good.
    """

    __slots__ = ("reports",)

    def __init__(self) -> None:
        self.reports: dict[bytes, tuple[int, bytes]] = {}

    def confirmed(self, replica: Replica, me: bytes) -> int:
        """How many peers' reports this replica's own chain confirms."""
        count = 0
        for hwm, prefix in self.reports.values():
            if hwm == 0:  # the peer knows no packet of this key: consistent with any chain
                count += 1
                continue
            chain = replica.chain_hash(me, hwm)
            if chain is not None and chain.startswith(prefix):
                count += 1
        return count

    def ahead(self, replica: Replica, me: bytes) -> int:
        """The highest HWM a peer reported for this key, if above this replica's; else 0."""
        top = max((hwm for hwm, _ in self.reports.values()), default=0)
        return top if top > replica.hwm(me) else 0

    def done(self, replica: Replica, me: bytes) -> bool:
        """Enough peers confirm and none is ahead."""
        return self.confirmed(replica, me) >= RECOVERY_PEERS and not self.ahead(replica, me)

    def waiting(self, replica: Replica, me: bytes) -> str:
        """One line for a refusal to sign while recovering."""
        ahead = self.ahead(replica, me)
        return (
            "this node lost its data and is learning its own history from peers: "
            f"{self.confirmed(replica, me)} of {RECOVERY_PEERS} confirmed"
            + (f", own packets up to {ahead} still missing" if ahead else "")
            + "; it signs nothing until then"
        )
