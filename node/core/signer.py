"""The rules this node signs its own packets by (DESIGN.md §4): an honest node names only
packets its replica has judged, never signs a nonce twice, and refuses to sign what its own
replica would refuse at player level (one readable line instead of a burnt nonce).

:func:`sign_next` is shared by the durable replica and the node core; the caller commits the
frame to its outbox before any transport sees it.  Sans-IO: signing is a pure function of the
key and the bytes.
"""

from __future__ import annotations

import nacl.signing

from node.core.replica import Replica
from node.core.verdicts import PlayerError, Reason
from protocol.frame import FrameCodec
from protocol.kinds import Body, ExtRef

__all__ = ["check_refs", "sign_next"]


def sign_next(
    replica: Replica,
    key: nacl.signing.SigningKey,
    codec: FrameCodec,
    body: Body,
    committed: int,
) -> tuple[int, bytes]:
    """Check ``body`` as this key's next packet and sign it: ``(nonce, frame)``.

    ``committed`` is the highest own nonce committed to the outbox.  Raises
    :class:`PlayerError` (signing nothing) when this key has forked, while an own packet still
    waits (logged but not judged, or in the outbox but not accepted), when the body names a
    packet this replica has not judged, or when the replica would refuse it.
    """
    me = bytes(key.verify_key)
    if replica.fork_point(me):
        raise PlayerError("this key has forked (equivocated); it can sign nothing more")
    logged, prev = replica.logged_top(me)
    if logged > replica.hwm(me):
        raise PlayerError(
            f"own packet {replica.hwm(me) + 1} still waits for a dependency; try again later"
        )
    if committed > logged:
        raise PlayerError(
            f"own packet {logged + 1} is in the outbox but not yet accepted; try again later"
        )
    nonce = logged + 1
    check_refs(replica, me, body, nonce)
    verdict = replica.check(me, body)
    if verdict.reason is not Reason.APPLIED:
        raise PlayerError(
            f"the ledger would refuse this packet: {verdict.reason.label}"
            f" (spendable {replica.spendable(me)})"
        )
    return nonce, codec.seal(key, nonce, prev, body)


def check_refs(replica: Replica, me: bytes, body: Body, nonce: int) -> None:
    """An honest node names only packets it has judged, by their h (its own included)."""
    for ref in body.references():
        if type(ref) is not ExtRef:
            continue
        if ref.sender == me and ref.nonce >= nonce:
            raise PlayerError(f"cannot acknowledge own packet {ref.nonce}: this packet is {nonce}")
        entry = replica.judged(ref.sender, ref.nonce)
        if entry is None or entry.h != ref.h:
            raise PlayerError(
                f"cannot acknowledge ({ref.sender.hex()[:8]}, {ref.nonce}): "
                "this node has not judged that packet"
            )
