"""What the replica says about one key's money, for the control API: balance, pending credits
and how many neighbours hold the packets they come from, history, and the verdicts a late fork
revised.

:class:`Wallet` keeps an index of the judged packets that name this node's key (its own, and
others' that carry the key: transfers to it, table packets seating it), fed by every committed
Persist, so a history costs what it shows, not a scan of the replica.  It reads the replica and
never changes it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Final

from node.core.events import FORK_KEPT, JUDGED, Revision
from node.core.log import Entry
from node.core.node import NodeCore, Persist
from node.core.tables.policy import at_tables
from node.core.verdicts import Reason
from node.drivers.tableview import bet_name
from protocol.errors import PacketError
from protocol.frame import FrameCodec, decode_body
from protocol.kinds import (
    Ack,
    Bet,
    Body,
    Cancel,
    Create,
    GameEnd,
    Join,
    Kind,
    Leave,
    Reveal,
    RollOpen,
    Seat,
    Transfer,
    Void,
)

__all__ = ["HISTORY_LIMIT", "Wallet", "faucet_due", "pending_acks"]

HISTORY_LIMIT: Final = 1000
"""Most history items one call returns."""

Key = tuple[bytes, int, bytes]
_INDEXED: Final = (JUDGED, FORK_KEPT)


def _kind_name(kind: int) -> str:
    try:
        return Kind(kind).name.lower()
    except ValueError:
        return f"kind {kind}"


class Wallet:
    """Balance and history of keys as this node's replica sees them (its own key by default).

    ``revisions`` gives every verdict a late fork changed, oldest first (the daemon's store
    keeps them across restarts; by default the replica's own list since it started)."""

    def __init__(
        self, core: NodeCore, revisions: Callable[[], Sequence[Revision]] | None = None
    ) -> None:
        self.core = core
        self.me = core.identity
        self._codec = FrameCodec(core.replica.genesis.network_id)
        self._revisions = revisions if revisions is not None else lambda: core.replica.revisions
        self._mine: dict[Key, Entry] = {}
        for entry in core.replica.judged_in_order():
            if self.me in entry.frame:
                self._mine[entry.key] = entry

    def observe(self, persist: Persist) -> None:
        """A committed Persist: index what it judged that names this key (a driver observer)."""
        me = self.me
        for event in persist.events:
            what, item = event.what, event.item
            if what in _INDEXED and isinstance(item, Entry) and me in item.frame:
                self._mine[item.key] = item

    # ------------------------------------------------------------------ balance

    def balance(self, key: bytes | None = None) -> dict[str, object]:
        """Spendable, held, pending credits (each with the neighbours known to hold the paying
        packet), HWM, fork point, and the revised verdicts that concern ``key``."""
        key = self.me if key is None else key
        replica = self.core.replica
        state = replica.state
        account = state.accounts.get(key)
        pending: list[dict[str, object]] = []
        held = at_tables(replica, key)
        revised = self._revised_index()
        if account is not None:
            for creditor, line in sorted(account.lines.items()):
                for nonce, amount in line.pending:
                    item: dict[str, object] = {
                        "from": creditor.hex(),
                        "nonce": nonce,
                        "amount": amount,
                        "holders": self.core.holders(creditor, nonce),
                    }
                    rev = revised.get((creditor, nonce))
                    if rev is not None:
                        item["revised"] = _revision_json(rev)
                    pending.append(item)
        return {
            "key": key.hex(),
            "own": key == self.me,
            "spendable": account.spendable if account is not None else 0,
            "faucet": faucet_due(self.core, key),
            "held": sum(held.values()),
            "at_tables": held,
            "pending": pending,
            "pending_total": sum(int(str(p["amount"])) for p in pending),
            "hwm": replica.hwm(key),
            "fork": replica.fork_point(key),
            "neighbours": self.core.links.count_up(),
            "revised": [_revision_json(r) for r in self.revisions_of(key)],
        }

    def revisions_of(self, key: bytes) -> list[Revision]:
        """The revised verdicts of ``key``'s own packets and of packets that name it (when
        this replica still holds their frame), oldest first."""
        out = []
        indexed = {(k[0], k[1]): entry for k, entry in self._mine.items()}
        for rev in self._revisions():
            if rev.sender == key:
                out.append(rev)
                continue
            entry = self.core.replica.judged(rev.sender, rev.nonce)
            if entry is None:  # a packet the fork took out of the log: the index keeps it
                entry = indexed.get((rev.sender, rev.nonce))
            if entry is not None and key in entry.frame:
                out.append(rev)
        return out

    def _revised_index(self) -> dict[tuple[bytes, int], Revision]:
        return {(r.sender, r.nonce): r for r in self._revisions()}

    # ------------------------------------------------------------------ history

    def history(self, limit: int = 50) -> tuple[list[dict[str, object]], bool]:
        """This key's packets and the packets paying it, newest first (at most ``limit``), and
        whether there are more."""
        revised = self._revised_index()
        entries = sorted(self._mine.values(), key=lambda e: e.seq, reverse=True)
        out: list[dict[str, object]] = []
        more = False
        for entry in entries:
            item = self._item(entry, revised.get((entry.sender, entry.nonce)))
            if item is None:
                continue
            if len(out) == limit:
                more = True
                break
            out.append(item)
        return out, more

    def _item(self, entry: Entry, rev: Revision | None) -> dict[str, object] | None:
        me = self.me
        replica = self.core.replica
        own = entry.sender == me
        body: Body | None = None
        try:
            envelope = self._codec.open(entry.frame)
        except PacketError:
            return None  # cannot happen for a judged frame
        try:
            body = decode_body(envelope).body
        except PacketError:
            body = None
        if not own and not isinstance(body, Transfer) and (body is None or isinstance(body, Ack)):
            return None  # another key's ack of our packet, or its malformed packet
        if not own and isinstance(body, Transfer) and body.to != me:
            return None  # a transfer that only acknowledges one of ours
        fork = replica.fork_point(entry.sender)
        removed = entry.removed or (fork and entry.nonce >= fork)
        reason = entry.reason
        if removed or (fork and entry.nonce == fork):
            reason = Reason.EQUIVOCATED
        item: dict[str, object] = {
            "sender": entry.sender.hex(),
            "nonce": entry.nonce,
            "kind": _kind_name(envelope.kind),
            "direction": "out" if own else "in",
            "verdict": reason.label if reason is not None else "unjudged",
            "holders": self.core.holders(entry.sender, entry.nonce),
        }
        if isinstance(body, Transfer):
            item["to"] = body.to.hex()
            item["amount"] = body.amount
            if not own:
                account = replica.state.accounts.get(me)
                line = account.lines.get(entry.sender) if account is not None else None
                applied = reason is Reason.APPLIED
                if not applied:
                    item["credit"] = "none"
                elif line is not None and entry.nonce <= line.watermark:
                    item["credit"] = "spendable"
                else:
                    item["credit"] = "pending"
        if isinstance(body, Create):
            item["game"] = envelope.full_hash[:8].hex()  # a table's id is its create's h
        elif isinstance(
            body, Join | Leave | Cancel | Bet | Reveal | Seat | RollOpen | Void | GameEnd
        ):
            item["game"] = body.game.hex()
        if isinstance(body, Bet):
            item["bets"] = [[bet_name(int(e.code), e.come_point), e.amount] for e in body.bets]
        if isinstance(body, Reveal | RollOpen | Void):
            item["k"] = body.k
        if isinstance(body, Transfer | Ack):
            acks = body.acks
            if acks:
                item["acks"] = [[ref.sender.hex(), ref.nonce] for ref in acks]
        genesis = replica.genesis
        if own and entry.nonce == 1 and genesis.play_money and fork != 1:
            item["mint"] = genesis.faucet_amount
        if rev is not None:
            item["revised"] = _revision_json(rev)
        return item


def _revision_json(rev: Revision) -> dict[str, object]:
    return {
        "sender": rev.sender.hex(),
        "nonce": rev.nonce,
        "before": rev.before.label,
        "after": rev.after.label,
    }


def faucet_due(core: NodeCore, key: bytes) -> int:
    """What ``key``'s first packet will mint on a play-money network: the faucet amount while
    it has signed nothing (and no fork took its mint back), else 0."""
    replica = core.replica
    genesis = replica.genesis
    sender = replica.state.senders.get(key)
    if genesis.play_money and (sender is None or not sender.minted) and replica.hwm(key) == 0:
        return genesis.faucet_amount
    return 0


def pending_acks(core: NodeCore, limit: int) -> list[tuple[bytes, int]]:
    """What an own packet can acknowledge to make this node's pending credits spendable: per
    creditor (most pending first), its highest pending nonce, at most ``limit`` of them."""
    account = core.replica.state.accounts.get(core.identity)
    if account is None:
        return []
    lines = []
    for creditor, line in account.lines.items():
        pending = line.pending
        if pending and core.replica.judged(creditor, pending[-1][0]) is not None:
            lines.append((sum(a for _, a in pending), creditor, pending[-1][0]))
    lines.sort(reverse=True)
    return [(creditor, nonce) for _, creditor, nonce in lines[:limit]]
