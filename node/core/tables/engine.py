"""The table engine: TABLES.md plugged into the judge step through ``TableEngine``.

Player packets go to :mod:`.player`; host table packets run their steps on table state
(:mod:`.steps`), then their money follows (:mod:`.money`).  A packet's table effects are a
:class:`~.journal.Change`, made by :meth:`TablesEngine.apply` and taken back exactly by
:meth:`TablesEngine.unapply`.  No clock, socket or randomness.
"""

from __future__ import annotations

from node.core.ledger import (
    Credit,
    Dep,
    Effects,
    Judgment,
    LedgerState,
    TableEffects,
    TablesState,
    gain,
)
from node.core.verdicts import Reason
from protocol.frame import Packet
from protocol.kinds import (
    Bet,
    Cancel,
    Create,
    GameEnd,
    Join,
    Leave,
    Reveal,
    RollOpen,
    Seat,
    Void,
)

from .journal import Change, Staged, make, unmake
from .money import host_money
from .player import judge_create, judge_player
from .state import Table, Tables
from .steps import HostRun, run_host

__all__ = ["TablesEngine", "tables_of"]

HostBody = Seat | RollOpen | Void | GameEnd
_HOST_KINDS = (Seat, RollOpen, Void, GameEnd)
_BOUND_KINDS = (Leave, Cancel, Bet, Reveal)


def tables_of(state: LedgerState) -> Tables:
    tables = state.tables
    assert isinstance(tables, Tables)
    return tables


class TablesEngine:
    """TABLES.md v1.6 on the ledger (``node.core.ledger.TableEngine``)."""

    def empty(self) -> TablesState:
        return Tables()

    def decode(self, encoded: list[object]) -> TablesState:
        return Tables.decode(encoded)

    def apply(self, state: LedgerState, effects: TableEffects) -> None:
        assert isinstance(effects, Change)
        make(tables_of(state), effects)

    def unapply(self, state: LedgerState, effects: TableEffects) -> None:
        assert isinstance(effects, Change)
        unmake(tables_of(state), effects)

    # ------------------------------------------------------------------ dependencies

    def dependencies(self, state: LedgerState, sender: bytes, packet: Packet) -> tuple[Dep, ...]:
        """What a packet names through game state: a player packet's T on the host of its
        binding; a host packet's seat refs, resolved against the state at the step that
        reads them (its own table's state, with its predecessor judged)."""
        body = packet.body
        tables = tables_of(state)
        if isinstance(body, _BOUND_KINDS):
            host = tables.map("bindings").get((sender, body.game))
            return () if host is None else ((host, body.table, None),)
        if isinstance(body, _HOST_KINDS):
            run = self._run(state, Staged(tables), packet, body)
            if isinstance(run, HostRun):
                return tuple((key, nonce, None) for key, nonce in run.refs)
        return ()

    # ------------------------------------------------------------------ judge

    def judge(
        self, state: LedgerState, packet: Packet, h: bytes, spendable: int | None
    ) -> Judgment:
        body = packet.body
        staged = Staged(tables_of(state))
        sender, nonce = packet.sender, packet.nonce
        if isinstance(body, Create):
            return judge_create(state, staged, sender, nonce, h, body, spendable)
        if isinstance(body, (Join, *_BOUND_KINDS)):
            return judge_player(state, staged, sender, nonce, h, body, spendable, gain)
        if isinstance(body, _HOST_KINDS):
            if spendable is None:
                return Judgment(Reason.UNFUNDED)
            return self._judge_host(state, staged, packet, body)
        return Judgment(Reason.MALFORMED)

    def _run(
        self, state: LedgerState, staged: Staged, packet: Packet, body: HostBody
    ) -> HostRun | Reason:
        """The packet's state run over a working copy of its table, or why it has none."""
        table: Table | None = staged.get("tables", (packet.sender, body.game))
        if table is None:
            return Reason.NO_GAME
        if table.ended:
            return Reason.GAME_ENDED
        run = HostRun(table.copy(), staged, packet.nonce, state.genesis.network_id)
        run_host(run, body)
        return run

    def _judge_host(
        self, state: LedgerState, staged: Staged, packet: Packet, body: HostBody
    ) -> Judgment:
        run = self._run(state, staged, packet, body)
        if isinstance(run, Reason):
            return Judgment(run)
        if run.fault is not None:
            return Judgment(run.fault.reason)
        host, nonce = packet.sender, packet.nonce
        before: Table = staged.get("tables", run.key)
        staged.put("tables", run.key, run.table)
        paid = host_money(staged, before, nonce, run.events, run.refs)
        credits = tuple(Credit(account, host, nonce, amount) for account, amount in paid.items())
        acks = _acks(run.refs, host)
        return Judgment(Reason.APPLIED, Effects(credits=credits, acks=acks), staged.change())


def _acks(refs: list[tuple[bytes, int]], sender: bytes) -> tuple[tuple[bytes, int], ...]:
    best: dict[bytes, int] = {}
    for key, nonce in refs:
        if key != sender and nonce > best.get(key, 0):
            best[key] = nonce
    return tuple(sorted(best.items()))
