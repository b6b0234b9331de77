"""The table engine: TABLES.md plugged into the judge step through ``TableEngine``.

Player packets go to :mod:`.player`; host table packets run their steps on table state
(:mod:`.steps`), then their money follows (:mod:`.money`).  A packet's table effects are a
:class:`~.journal.Change`, made in the state as the packet is judged: the judge's caller then
keeps it (:meth:`TablesEngine.apply`) or drops it (:meth:`TablesEngine.discard`), and a late
fork takes it back exactly (:meth:`TablesEngine.unapply`).  No clock, socket or randomness.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final, TypeGuard, TypeVar

from node.core.ledger import (
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
from protocol.kinds import Record as Value  # plain classes with Final fields, equal by value

from .journal import Change, Staged, make, unmake
from .money import host_money
from .player import judge_create, judge_player
from .state import BINDINGS, TABLES, Table, Tables
from .steps import HostRun, run_host

__all__ = ["TablesEngine", "tables_of"]

_C = TypeVar("_C")

try:  # only mypyc reads it; mypy_extensions comes with mypy, which compiles this module
    from mypy_extensions import mypyc_attr
except ImportError:  # pragma: no cover - a pure install without mypy: the decorator does nothing

    def mypyc_attr(*_names: str, **_flags: bool) -> Callable[[_C], _C]:  # type: ignore[misc]
        return lambda cls: cls


HostBody = Seat | RollOpen | Void | GameEnd
BoundBody = Leave | Cancel | Bet | Reveal
_BOUND_TYPES: Final = frozenset((Leave, Cancel, Bet, Reveal))
_HOST_TYPES: Final = frozenset((Seat, RollOpen, Void, GameEnd))


# By the body's exact type (bodies are final classes): compiled, a set lookup, where
# isinstance with a tuple of classes is a call into the interpreter's generic isinstance.
def _bound(body: object) -> TypeGuard[BoundBody]:
    """A player packet bound to a table by its sender's join (T names the host's nonce)."""
    return type(body) in _BOUND_TYPES


def _hosted(body: object) -> TypeGuard[HostBody]:
    """A host table packet."""
    return type(body) in _HOST_TYPES


def tables_of(state: LedgerState) -> Tables:
    tables = state.tables
    assert isinstance(tables, Tables)
    return tables


class _KeptRun(Value):
    """A host packet's state run, kept for the engine's next calls on that packet.

    The replica asks a host packet's ``dependencies`` before judging it, then ``judge``: two
    runs of the same steps on the same state.  A run reads only its packet, the network id,
    its table object and that table's entries of the ``named``, ``answered`` and ``heads``
    maps; those entries change only in a change that also puts a new table object (a host
    packet of that table, or its unmake), since a table is never changed in place once in the
    state.  So while the same state (``base``, the engine's part of one network's state) holds
    the same table object, the run of the same packet is the same, and it is made once.  A kept
    run's writes are undone (a run for ``dependencies`` changes nothing); a judge makes them
    again (:meth:`~.journal.Staged.redo`) and stages its money after them."""

    def __init__(
        self, packet: Packet, base: Tables, table: Table | None, run: HostRun | Reason
    ) -> None:
        self.packet: Final = packet
        self.base: Final = base
        self.table: Final = table
        self.run: Final = run


@mypyc_attr(allow_interpreted_subclasses=True)
class TablesEngine:
    """TABLES.md v1.6 on the ledger (``node.core.ledger.TableEngine``).  Compiled, and open to
    interpreted subclasses (tests derive engines that change one step).

    ``judge`` makes the packet's table effects in the state as it judges them (reading its own
    writes is then a plain lookup), and the caller settles them before anything else reads
    the state or the engine is called again: :meth:`apply` keeps them, :meth:`discard` takes
    them back.  ``dependencies`` changes nothing."""

    def __init__(self) -> None:
        self._kept: _KeptRun | None = None
        self._pending: Change | None = None
        """The change of the last judgment, made and not yet kept or discarded, ..."""
        self._pending_in: Tables | None = None
        """... in this state."""

    def empty(self) -> TablesState:
        return Tables()

    def decode(self, encoded: list[object]) -> TablesState:
        return Tables.decode(encoded)

    def apply(self, state: LedgerState, effects: TableEffects) -> None:
        assert isinstance(effects, Change)
        tables = tables_of(state)
        if effects is self._pending:
            made = self._pending_in is tables  # as it was judged (else on a copy)
            self._pending = self._pending_in = None
            if made:
                return
        self._settled()
        make(tables, effects)

    def discard(self, state: LedgerState, effects: TableEffects) -> None:
        assert isinstance(effects, Change)
        if effects is self._pending:
            tables = self._pending_in
            self._pending = self._pending_in = None
            if tables is not None:
                unmake(tables, effects)

    def unapply(self, state: LedgerState, effects: TableEffects) -> None:
        assert isinstance(effects, Change)
        self._settled()
        unmake(tables_of(state), effects)

    def _settled(self) -> None:
        """Raise unless the last judgment was kept or discarded: the state would hold its
        effects unaccounted for."""
        if self._pending is not None:
            raise RuntimeError("a judgment's table effects were neither applied nor discarded")

    # ------------------------------------------------------------------ dependencies

    def dependencies(self, state: LedgerState, sender: bytes, packet: Packet) -> tuple[Dep, ...]:
        """What a packet names through game state: a player packet's T on the host of its
        binding; for a host packet, the highest nonce its refs name of each key, resolved
        against the state at the step that reads them (its own table's state, with its
        predecessor judged).  The highest is enough: a chain is judged in order, and a fork
        below it is a fork below what the packet names."""
        self._settled()
        body = packet.body
        tables = tables_of(state)
        if _bound(body):
            host = tables.maps[BINDINGS].get((sender, body.game))
            return () if host is None else ((host, body.table, None),)
        if _hosted(body):
            run = self._host_run(state, packet, body)
            if isinstance(run, HostRun):
                return tuple([(key, nonce, None) for key, nonce in run.named.items()])
        return ()

    # ------------------------------------------------------------------ judge

    def judge(
        self, state: LedgerState, packet: Packet, h: bytes, spendable: int | None
    ) -> Judgment:
        self._settled()
        body = packet.body
        sender, nonce = packet.sender, packet.nonce
        staged: Staged | None = None
        try:
            if isinstance(body, Create):
                staged = Staged(tables_of(state))
                judgment = judge_create(state, staged, sender, nonce, h, body, spendable)
            elif isinstance(body, Join) or _bound(body):
                staged = Staged(tables_of(state))
                judgment = judge_player(state, staged, sender, nonce, h, body, spendable, gain)
            elif _hosted(body):
                if spendable is None:
                    return Judgment(Reason.UNFUNDED)
                run = self._host_run(state, packet, body)
                if isinstance(run, Reason):
                    return Judgment(run)
                if run.fault is not None:
                    return Judgment(run.fault.reason)
                staged = run.staged.redo()
                judgment = self._judge_host(staged, sender, nonce, run)
            else:
                return Judgment(Reason.MALFORMED)
        except BaseException:
            if staged is not None:
                staged.undo()
            raise
        table = judgment.table
        if isinstance(table, Change):
            self._pending = table
            self._pending_in = staged.base
        else:  # refused before it wrote anything
            staged.undo()
        return judgment

    def _host_run(self, state: LedgerState, packet: Packet, body: HostBody) -> HostRun | Reason:
        """The packet's state run (:meth:`_run`), its writes undone, made once per packet and
        table object (:class:`_KeptRun`)."""
        tables = tables_of(state)
        table: Table | None = tables.maps[TABLES].get((packet.sender, body.game))
        kept = self._kept
        if (
            kept is not None
            and kept.packet is packet
            and kept.base is tables
            and kept.table is table
        ):
            return kept.run
        staged = Staged(tables)
        try:
            run = self._run(state, staged, packet, body)
        finally:
            staged.undo()
        self._kept = _KeptRun(packet, tables, table, run)
        return run

    def _run(
        self, state: LedgerState, staged: Staged, packet: Packet, body: HostBody
    ) -> HostRun | Reason:
        """The packet's state run over a working copy of its table, or why it has none."""
        table: Table | None = staged.get(TABLES, (packet.sender, body.game))
        if table is None:
            return Reason.NO_GAME
        if table.ended:
            return Reason.GAME_ENDED
        run = HostRun(table.copy(), staged, packet.nonce, state.genesis.network_id)
        run_host(run, body)
        return run

    def _judge_host(self, staged: Staged, host: bytes, nonce: int, run: HostRun) -> Judgment:
        """An Applied host packet: its run's writes made again (``staged``), then its money."""
        before: Table = staged.get(TABLES, run.key)
        staged.put(TABLES, run.key, run.table)
        paid = host_money(staged, before, nonce, run.events, run.named)
        credits = tuple((account, host, nonce, amount) for account, amount in paid.items())
        acks = _acks(run.named, host)
        return Judgment(Reason.APPLIED, Effects(credits=credits, acks=acks), staged.change())


def _acks(named: dict[bytes, int], sender: bytes) -> tuple[tuple[bytes, int], ...]:
    """What a host packet acknowledges: the highest nonce it names of each other key."""
    return tuple(sorted([(key, nonce) for key, nonce in named.items() if key != sender]))
