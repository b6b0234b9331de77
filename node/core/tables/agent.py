"""The table agent: this node's wallet and honest host, the ``TablePolicy`` the node core runs
(TABLES.md §6, §8; docs/NODE.md § The table agent).

As a **player** it joins (own-funded tables unless the command says ``trust``), bets (never what
its own replica would refuse), reveals by itself for every roll that lists its seat — only at a
seat that copies its own join (T28) — leaves, cancels, and reclaims by itself what becomes
reclaimable.  As a **host** it creates, answers joins and lists leaves by itself, includes bets,
opens rolls on command or on the table's cadence, voids the seats that withhold past the reveal
timeout, and ends.  *What* it signs is :mod:`.policy`'s (``next_host_body``, ``wallet_reveal``,
…); this module decides *when*, and keeps the little that is local.

Chain secrets are never stored: every chain's seed is derived from the node's key as TABLES.md
§3 says (``HMAC-SHA256(K_chain, "BCM/seed/v1" ‖ network_id ‖ role)``, the role naming the
create's or the join's nonce), so a node that restarts — ``kill -9`` included — finds its
tables and seats in its replica and reveals on.  What is local (a table's cadence, an end asked
for) is :meth:`TableAgent.settings`, which the driver keeps.  Sans-IO: every call is given
``now``; it reads no clock and needs no randomness.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, TypeAlias

import nacl.signing

from node.core.craps.dice import WalletChain, chain_key, chain_seed, create_role, join_role
from node.core.log import Entry
from node.core.replica import Replica
from node.core.verdicts import PlayerError
from protocol.constants import HASH_LEN
from protocol.frame import FrameCodec
from protocol.kinds import (
    Bet,
    Body,
    Cancel,
    Create,
    GameEnd,
    Join,
    Leave,
    RollOpen,
    Seat,
)

from .commands import (
    CancelBets,
    CreateTable,
    EndGame,
    JoinTable,
    LeaveTable,
    OpenRoll,
    PlaceBets,
    SetCadence,
)
from .params import malformed_create
from .policy import (
    HostIntent,
    OwnJoin,
    create_own_funded,
    held_reveals,
    next_host_body,
    seat_is_own,
    table_view,
    unavailable_bets,
    wallet_bet,
    wallet_reclaim,
    wallet_reveal,
    withholders,
)
from .state import JOIN_INDEX, ItemStatus, JoinRecord, Table, TableKey, Tables

__all__ = ["AgentConfig", "TableAgent"]

log = logging.getLogger("bitcraps.tables")

_Role: TypeAlias = tuple[str, TableKey]
"""What a body returned by the agent is for: ``("host" | "wallet" | "reclaim", table)``."""

RECLAIM_UPTO: Final = 1
"""The ``upto`` of a cancel the wallet signs by itself to reclaim while it still plays: a bet
needs an earlier join, so no bet has nonce 1 and such a cancel takes back no pending bet."""


@dataclass(frozen=True, slots=True)
class AgentConfig:
    """The agent's timers."""

    reveal_timeout: float = 30.0
    """Seconds a host waits for the reveals of an open roll — from when it saw the roll open —
    before it voids the seats that withheld (TABLES.md §4, void)."""
    retry: float = 2.0
    """Seconds before a timed step this node could not sign (recovering, an own packet
    waiting) is tried again."""

    def __post_init__(self) -> None:
        for name in ("reveal_timeout", "retry"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"{name} is a positive number of seconds, not {value!r}")


@dataclass(slots=True)
class _Hosted:
    """A running table this node hosts."""

    game: bytes
    chain: WalletChain
    roll_every: float | None
    intent: HostIntent
    last_roll: float
    """When this agent last signed a roll_open here (or began hosting the table)."""
    wanted: bool = False
    """A roll asked for by command waits for a seat packet to go first."""
    opened: tuple[int, float] | None = None
    """The open roll's k and when this agent first saw it open (the void timer starts)."""
    due: float | None = None
    """When a timed step (a void, a roll on cadence, a retry) is next tried."""
    dirty: bool = True
    """A packet that may change the next move was accepted since the last look."""


@dataclass(slots=True)
class _Joined:
    """This key's latest join at a table, with the chain it committed to."""

    host: bytes
    game: bytes
    own: OwnJoin
    chain: WalletChain
    reclaimed_at: int = 0
    """The host nonce T of the last reclaim this wallet signed by itself (one per T)."""
    due: float | None = None
    """When a packet this node could not sign (recovering, an own packet waiting) is tried
    again."""
    dirty: bool = True

    @property
    def key(self) -> TableKey:
        return (self.host, self.game)


@dataclass(slots=True)
class _Saved:
    """A hosted table's local settings, as kept by the driver."""

    roll_every: float | None = None
    intent: HostIntent = HostIntent.PLAY


class TableAgent:
    """The wallet and the honest host of one node (a ``node.core.policy.TablePolicy``).

    ``key`` is the node's identity: only ``K_chain`` is kept from it, the key every chain seed
    is derived from.  ``settings`` are what :meth:`settings` returned before a restart (the
    driver keeps them); ``config`` the timers.
    """

    def __init__(
        self,
        key: nacl.signing.SigningKey,
        *,
        config: AgentConfig | None = None,
        settings: bytes | None = None,
    ) -> None:
        self.identity = bytes(key.verify_key)
        self._k_chain = chain_key(bytes(key))
        self.config = config if config is not None else AgentConfig()
        self._saved: dict[bytes, _Saved] = _load_settings(settings)
        self._hosted: dict[bytes, _Hosted] = {}
        self._joined: dict[TableKey, _Joined] = {}
        self._creating: dict[int, CreateTable] = {}
        """Own nonce → the create command about to be signed at it (for its settings)."""
        self._codec: FrameCodec | None = None
        """Reads the game id of a create just signed (set by the first create command)."""
        self._scanned = 0
        """Own packets looked at so far (tables created, joins made)."""
        self._started = False
        """The own chain has been looked at once (until then the timer is due at once)."""
        self._roles: dict[int, _Role] = {}
        """id(body) → what it is for, for the bodies handed to the core and not yet signed."""
        self.settings_version = 0
        """Bumped whenever :meth:`settings` changes (the driver saves it then)."""

    # ================================================================== the TablePolicy

    def accepted(self, entries: Sequence[Entry], replica: Replica, now: float) -> None:
        """Note which tables the accepted packets touch: own packets, packets of the hosts this
        node plays with, and player packets bound to a table it hosts."""
        tables = _tables(replica)
        if tables is None:
            return
        self._sync(replica, now)
        records = tables.map("records")
        hosts = {joined.host for joined in self._joined.values()}
        me = self.identity
        for entry in entries:
            sender = entry.sender
            if sender == me:
                self._touch_all()
                continue
            if sender in hosts:
                for joined in self._joined.values():
                    if joined.host == sender:
                        joined.dirty = True
            record = records.get((sender, entry.nonce))
            if record is not None and record.host == me:
                hosted = self._hosted.get(record.game)
                if hosted is not None:
                    hosted.dirty = True

    def due(self, replica: Replica, now: float) -> Sequence[Body]:
        """What to sign now: reveals owed and reclaims (as a player), then, as a host, join
        answers, leaves, voids past the reveal timeout, rolls asked for or on cadence, ends."""
        if _tables(replica) is None:
            return ()
        self._sync(replica, now)
        out: list[Body] = []
        for joined in list(self._joined.values()):
            if joined.dirty or (joined.due is not None and joined.due <= now):
                joined.dirty, joined.due = False, None
                wallet = self._wallet_step(replica, joined)
                if wallet is not None:
                    body, role = wallet
                    self._roles[id(body)] = (role, joined.key)
                    out.append(body)
        for hosted in list(self._hosted.values()):
            if hosted.dirty or (hosted.due is not None and hosted.due <= now):
                hosted.dirty = False
                host = self._host_step(replica, hosted, now)
                if host is not None:
                    self._roles[id(host)] = ("host", (self.identity, hosted.game))
                    out.append(host)
        return out

    def command(self, command: object, replica: Replica, now: float) -> Sequence[Body]:
        """A table command (:mod:`.commands`): the bodies to sign now, or ``PlayerError`` with
        one readable line."""
        if _tables(replica) is None:
            raise PlayerError("this node's replica has no table engine")
        self._sync(replica, now)
        if isinstance(command, CreateTable):
            return self._create(replica, command)
        if isinstance(command, OpenRoll):
            return self._open_roll(replica, command)
        if isinstance(command, SetCadence):
            hosted = self._host(replica, command.game)
            hosted.roll_every = command.roll_every
            hosted.due = now
            self._changed()
            return ()
        if isinstance(command, EndGame):
            return self._end(replica, command, now)
        if isinstance(command, JoinTable):
            return self._join(replica, command)
        if isinstance(command, PlaceBets):
            return self._bet(replica, command)
        if isinstance(command, LeaveTable):
            joined = self._joined_at(replica, command.host, command.game)
            return self._wallet(Leave(command.game, replica.hwm(command.host)), joined)
        if isinstance(command, CancelBets):
            joined = self._joined_at(replica, command.host, command.game)
            upto = command.upto if command.upto is not None else replica.hwm(self.identity)
            return self._wallet(
                Cancel(command.game, replica.hwm(command.host), max(upto, 1)), joined
            )
        raise PlayerError(f"not a table command: {type(command).__name__}")

    def signed(self, body: Body, frame: bytes | None, error: str | None, now: float) -> None:
        """What became of a body: note a roll (cadence), a reclaim (once per host nonce), or
        schedule another try of a timed step the node could not sign."""
        role, key = self._roles.pop(id(body), ("", (b"", b"")))
        if error is not None:
            log.info("table %s: %s not signed: %s", key[1].hex(), type(body).__name__, error)
            if isinstance(body, Create):
                self._creating.clear()  # the only create not yet judged: this one
            retry = now + self.config.retry
            hosted = self._hosted.get(key[1]) if role == "host" else None
            if hosted is not None:
                hosted.due = retry
            joined = self._joined.get(key) if role in ("wallet", "reclaim") else None
            if joined is not None:
                joined.due = retry
            return
        if isinstance(body, Create) and frame is not None and self._codec is not None:
            # the table's settings are kept from now on: before its create is even committed
            envelope = self._codec.open(frame)
            command = self._creating.pop(envelope.nonce, None)
            if command is not None:
                self._saved[envelope.full_hash[:HASH_LEN]] = _Saved(command.roll_every)
                self._changed()
        hosted = self._hosted.get(key[1]) if role == "host" else None
        if hosted is not None and isinstance(body, (RollOpen, GameEnd)):
            hosted.wanted = False
            if isinstance(body, RollOpen):
                hosted.last_roll = now
        joined = self._joined.get(key)
        if joined is not None and role == "reclaim" and isinstance(body, Cancel):
            joined.reclaimed_at = body.table

    def next_timer(self) -> float | None:
        """The earliest timed step: a void, a roll on cadence, a retry (or at once, to find
        this node's tables in its replica after a restart)."""
        if not self._started:
            return -math.inf
        due = [hosted.due for hosted in self._hosted.values() if hosted.due is not None]
        due.extend(joined.due for joined in self._joined.values() if joined.due is not None)
        return min(due) if due else None

    # ================================================================== reading

    def settings(self) -> bytes:
        """The local settings of the tables this node hosts (cadence, an end asked for), for
        the driver to keep and give back after a restart."""
        saved = dict(self._saved)
        for game, hosted in self._hosted.items():
            saved[game] = _Saved(hosted.roll_every, hosted.intent)
        return json.dumps(
            {
                game.hex(): {"roll_every": s.roll_every, "intent": s.intent.value}
                for game, s in sorted(saved.items())
            },
            sort_keys=True,
        ).encode()

    def describe(self, replica: Replica) -> list[dict[str, object]]:
        """The tables this node hosts or sits at, as plain values (for a status command)."""
        if _tables(replica) is None:
            return []
        out: list[dict[str, object]] = []
        for game, hosted in sorted(self._hosted.items()):
            row = self._describe(replica, self.identity, game)
            if row is not None:
                row.update(
                    role="host",
                    roll_every=hosted.roll_every,
                    intent=hosted.intent.value,
                )
                out.append(row)
        for key, joined in sorted(self._joined.items()):
            row = self._describe(replica, *key)
            if row is not None:
                table = _table(replica, *key)
                assert table is not None
                row.update(
                    role="player",
                    seat=table.seat_of(self.identity),
                    own_seat=seat_is_own(table, self.identity, joined.own),
                    join_nonce=joined.own.nonce,
                )
                out.append(row)
        return out

    def _describe(self, replica: Replica, host: bytes, game: bytes) -> dict[str, object] | None:
        view = table_view(replica, host, game)
        table = _table(replica, host, game)
        if view is None or table is None:
            return None
        held = held_reveals(replica, table)
        return {
            "host": host.hex(),
            "game": game.hex(),
            "own_funded": view.own_funded,
            "backed": view.backed,
            "k": view.k,
            "open": view.open,
            "ended": view.ended,
            "early": view.early,
            "closed": view.closed,
            "host_left": view.host_left,
            "cover": view.cover,
            "host_bond_left": view.host_bond_left,
            "risk": view.risk,
            "bank_money": view.bank_money,
            "point": table.craps.point,
            "seats": [
                {
                    "seat": s.seat,
                    "key": s.key.hex(),
                    "left": s.left,
                    "leaving": s.leaving,
                    "bond": s.bond,
                    "own": s.own,
                    "live": s.live,
                }
                for s in view.seats
            ],
            "revealed": sorted(held),
            "waiting_for": list(withholders(table, held)),
        }

    # ================================================================== own packets

    def _sync(self, replica: Replica, now: float) -> None:
        """Look at own packets judged since the last look: a create that made a table (this
        node hosts it), a join (this key's latest at that table).  After a restart this walks
        the whole own chain once, and the tables and seats are found again."""
        me = self.identity
        top = replica.hwm(me)
        self._started = True
        if top <= self._scanned:
            return
        tables = _tables(replica)
        assert tables is not None
        network_id = replica.genesis.network_id
        for nonce in range(self._scanned + 1, top + 1):
            entry = replica.judged(me, nonce)
            if entry is None:
                continue
            table: Table | None = tables.map("tables").get((me, entry.h))
            if table is not None and table.create_nonce == nonce:
                if table.ended:
                    self._saved.pop(table.game, None)
                else:
                    self._start_hosting(table, nonce, network_id, now)
            record = tables.map("records").get((me, nonce))
            if isinstance(record, JoinRecord):
                join = Join(record.game, record.host, record.table, record.head, record.chain_n)
                chain = self._chain(
                    network_id, join_role(record.host, record.game, nonce), record.chain_n
                )
                if chain.head == record.head:
                    own = OwnJoin(nonce, entry.h, join)
                    self._joined[(record.host, record.game)] = _Joined(
                        record.host, record.game, own, chain
                    )
        self._scanned = top

    def _start_hosting(self, table: Table, nonce: int, network_id: bytes, now: float) -> None:
        saved = self._saved.pop(table.game, None) or _Saved()
        chain = self._chain(network_id, create_role(nonce), table.params.chain_n)
        self._hosted[table.game] = _Hosted(
            table.game, chain, saved.roll_every, saved.intent, last_roll=now
        )
        self._changed()

    def _chain(self, network_id: bytes, role: bytes, length: int) -> WalletChain:
        """The chain this key derives for ``role`` (TABLES.md §3): nothing stored."""
        return WalletChain(chain_seed(self._k_chain, network_id, role), length)

    def _touch_all(self) -> None:
        for joined in self._joined.values():
            joined.dirty = True
        for hosted in self._hosted.values():
            hosted.dirty = True

    def _changed(self) -> None:
        self.settings_version += 1

    # ================================================================== the host

    def _host(self, replica: Replica, game: bytes) -> _Hosted:
        hosted = self._hosted.get(game)
        if hosted is None:
            raise PlayerError(f"this node hosts no running table {game.hex()}")
        table = _table(replica, self.identity, game)
        if table is None or table.ended:
            self._stop_hosting(game)
            raise PlayerError(f"table {game.hex()} has ended")
        return hosted

    def _stop_hosting(self, game: bytes) -> None:
        if self._hosted.pop(game, None) is not None:
            self._changed()

    def _host_step(self, replica: Replica, hosted: _Hosted, now: float) -> Body | None:
        """The host's next packet by itself: join answers and leaves at once; a void once the
        reveal timeout has passed; a roll when asked for or on cadence; an end as asked (or
        forced: chain spent, host bond short, wound down)."""
        me, game = self.identity, hosted.game
        table = _table(replica, me, game)
        if table is None:
            return None
        if table.ended or replica.fork_point(me):
            self._stop_hosting(game)
            return None
        hosted.due = None
        held = {}
        if table.open:
            if hosted.opened is None or hosted.opened[0] != table.k:
                hosted.opened = (table.k, now)
            held = held_reveals(replica, table)
            if withholders(table, held):
                deadline = hosted.opened[1] + self.config.reveal_timeout
                if now < deadline:
                    hosted.due = deadline
                    return None
                move = next_host_body(
                    replica, me, game, hosted.chain, reveals=held, waited=True, intent=hosted.intent
                )
                if move.body is None:
                    log.info("table %s: no void: %s", game.hex(), move.why)
                    hosted.due = now + self.config.retry
                return move.body
        else:
            hosted.opened = None
        move = next_host_body(replica, me, game, hosted.chain, reveals=held, intent=hosted.intent)
        body = move.body
        if body is None:
            hosted.wanted = False  # a roll asked for that cannot be (nothing at stake now)
        elif isinstance(body, RollOpen):
            every = hosted.roll_every
            if not hosted.wanted and (every is None or now < hosted.last_roll + every):
                hosted.due = None if every is None else hosted.last_roll + every
                return None
        if body is not None:
            log.debug("table %s: %s (%s)", game.hex(), type(body).__name__, move.why)
        return body

    def _create(self, replica: Replica, command: CreateTable) -> Sequence[Body]:
        probe = Create(command.params, command.bankroll, bytes(32), command.bank)
        why = malformed_create(probe, self.identity, replica.genesis)
        if why is not None:
            raise PlayerError(f"not a well-formed table: {why}")
        nonce = replica.logged_top(self.identity)[0] + 1
        chain = self._chain(replica.genesis.network_id, create_role(nonce), command.params.chain_n)
        body = Create(command.params, command.bankroll, chain.head, command.bank)
        self._creating[nonce] = command
        if self._codec is None:
            self._codec = FrameCodec(replica.genesis.network_id)
        return [body]

    def _open_roll(self, replica: Replica, command: OpenRoll) -> Sequence[Body]:
        hosted = self._host(replica, command.game)
        table = _table(replica, self.identity, command.game)
        assert table is not None
        held = held_reveals(replica, table)
        missing = withholders(table, held)
        if missing:
            raise PlayerError(
                f"roll {table.k} waits for the reveals of seats {list(missing)} "
                f"(withholders are voided {self.config.reveal_timeout:g} s after it opened)"
            )
        move = next_host_body(
            replica, self.identity, command.game, hosted.chain, reveals=held, intent=hosted.intent
        )
        if move.body is None:
            raise PlayerError(f"no roll: {move.why}")
        if isinstance(move.body, Seat):
            hosted.wanted = True  # the roll follows the seat packet by itself
        self._roles[id(move.body)] = ("host", (self.identity, command.game))
        return [move.body]

    def _end(self, replica: Replica, command: EndGame, now: float) -> Sequence[Body]:
        hosted = self._host(replica, command.game)
        hosted.intent = HostIntent.WIND_DOWN if command.wind_down else HostIntent.END
        self._changed()
        hosted.due = now  # the next step runs at once, and on every packet until it ends
        if command.wind_down:
            return ()
        table = _table(replica, self.identity, command.game)
        assert table is not None
        held = held_reveals(replica, table)
        if withholders(table, held):
            return ()  # it ends once the roll's reveals are in, or after voiding withholders
        move = next_host_body(
            replica, self.identity, command.game, hosted.chain, reveals=held, intent=hosted.intent
        )
        if not isinstance(move.body, GameEnd):
            log.info("table %s: not ended yet: %s", command.game.hex(), move.why)
            return ()  # asked for: it ends at the first packet that may
        self._roles[id(move.body)] = ("host", (self.identity, command.game))
        return [move.body]

    # ================================================================== the wallet

    def _joined_at(self, replica: Replica, host: bytes, game: bytes) -> _Joined:
        joined = self._joined.get((host, game))
        if joined is None:
            raise PlayerError(f"this key has not joined table {game.hex()} of {host.hex()[:16]}")
        return joined

    def _wallet(self, body: Body, joined: _Joined) -> Sequence[Body]:
        self._roles[id(body)] = ("wallet", joined.key)
        return [body]

    def _wallet_step(self, replica: Replica, joined: _Joined) -> tuple[Body, str] | None:
        """The wallet's packet by itself: the reveal it owes, else a reclaim (once per host
        nonce) of what is reclaimable — after the table's end or its host's fork, at a seat
        that is not its own join (T28), or items past their window."""
        me = self.identity
        table = _table(replica, joined.host, joined.game)
        if table is None:
            return None
        move = wallet_reveal(replica, me, joined.own, joined.chain)
        if move.body is not None:
            return move.body, "wallet"
        over = bool(table.ended or replica.fork_point(joined.host))
        if over and not _escrowed(replica, table, me):
            del self._joined[joined.key]  # nothing left there: forget the table
            return None
        if replica.hwm(joined.host) == joined.reclaimed_at:
            return None
        reclaim = wallet_reclaim(replica, me, joined.own)
        if reclaim.body is None:
            return None
        body = reclaim.body
        if not over and seat_is_own(table, me, joined.own) is not False:
            body = Cancel(joined.game, body.table, RECLAIM_UPTO)  # cancel no pending bet
        log.info("table %s: %s", joined.game.hex(), reclaim.why)
        return body, "reclaim"

    def _join(self, replica: Replica, command: JoinTable) -> Sequence[Body]:
        me, host, game = self.identity, command.host, command.game
        table = _table(replica, host, game)
        if table is None:
            raise PlayerError(f"no table {game.hex()} of host {host.hex()[:16]} is known here")
        if host == me:
            raise PlayerError("a host does not join its own table")
        if table.ended:
            raise PlayerError("the table has ended")
        if replica.fork_point(host):
            raise PlayerError("the host's chain is forked: the table is closed")
        if not command.trust and not create_own_funded(replica, table):
            raise PlayerError(
                "the table's create is not own-funded: its bank could be undone by a fork "
                "(join with trust to sit there anyway)"
            )
        if table.seat_of(me) is not None:
            raise PlayerError("this key is already seated at that table")
        joined = self._joined.get((host, game))
        if joined is not None and _join_pending(replica, table, me, joined.own.nonce):
            raise PlayerError(
                f"this key's join (nonce {joined.own.nonce}) still waits for the host's answer"
            )
        if len(table.seats) >= table.params.max_players - 1:
            raise PlayerError("no seat is free")
        nonce = replica.logged_top(me)[0] + 1
        chain = self._chain(
            replica.genesis.network_id, join_role(host, game, nonce), command.chain_n
        )
        body = Join(game, host, replica.hwm(host), chain.head, command.chain_n)
        self._roles[id(body)] = ("wallet", (host, game))
        return [body]

    def _bet(self, replica: Replica, command: PlaceBets) -> Sequence[Body]:
        joined = self._joined_at(replica, command.host, command.game)
        table = _table(replica, command.host, command.game)
        assert table is not None
        unavailable = set(unavailable_bets(table.params))
        for entry in command.bets:
            if entry.code in unavailable:
                raise PlayerError(
                    f"{entry.code.name} is unavailable at this table: its risk at min_bet "
                    "exceeds the bond"
                )
        me = self.identity
        if table.seat_of(me) is None and not _join_pending(replica, table, me, joined.own.nonce):
            raise PlayerError("this key has no seat at that table and no join waiting")
        body = Bet(command.game, replica.hwm(command.host), command.bets)
        why = wallet_bet(replica, me, body, joined.own)
        if why is not None:
            raise PlayerError(why)
        return self._wallet(body, joined)


# --------------------------------------------------------------------------- helpers


def _tables(replica: Replica) -> Tables | None:
    tables = replica.state.tables
    return tables if isinstance(tables, Tables) else None


def _table(replica: Replica, host: bytes, game: bytes) -> Table | None:
    tables = _tables(replica)
    found: Table | None = None if tables is None else tables.map("tables").get((host, game))
    return found


def _join_pending(replica: Replica, table: Table, key: bytes, nonce: int) -> bool:
    """``key``'s join at ``nonce`` is escrowed, unanswered and within its window."""
    tables = _tables(replica)
    assert tables is not None
    if (table.key, key, nonce) in tables.map("answered"):
        return False
    escrow = tables.escrow_of((key, nonce, JOIN_INDEX))
    return (
        escrow is not None
        and escrow.status is ItemStatus.PENDING
        and replica.hwm(table.host) <= escrow.window_end
    )


def _escrowed(replica: Replica, table: Table, key: bytes) -> bool:
    """``key`` still has an item escrowed, or a seat, at ``table``."""
    tables = _tables(replica)
    assert tables is not None
    return bool(tables.map("owned").get((table.key, key))) or table.seat_of(key) is not None


def _load_settings(raw: bytes | None) -> dict[bytes, _Saved]:
    """The settings :meth:`TableAgent.settings` wrote (unreadable ones are dropped)."""
    if not raw:
        return {}
    try:
        data = json.loads(raw)
        out = {}
        for game_hex, value in data.items():
            every = value.get("roll_every")
            out[bytes.fromhex(game_hex)] = _Saved(
                None if every is None else float(every), HostIntent(value.get("intent", "play"))
            )
        return out
    except (ValueError, TypeError, AttributeError) as exc:
        log.warning("table settings unreadable (%s): hosting with the defaults", exc)
        return {}
