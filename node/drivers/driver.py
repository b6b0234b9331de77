"""The Trio driver of a node core: the few lines between a transport, a store and the core.

:class:`NodeDriver` feeds the core each received batch, runs its timer, sends what it asks to
send, checks signatures where it asks (the worker process, or on its own thread), commits each
Persist
through a :class:`Journal` before acknowledging it, and answers commands.  It knows nothing of
ledgers or gossip; the simulator is the same loop on a virtual clock.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from typing import Protocol

import trio

from node.core.node import (
    Command,
    MarkSent,
    NodeCore,
    Persist,
    Reply,
    Transmit,
    Verify,
)
from node.core.replica import Verdicts, verify_batch
from node.drivers.durable import DurableReplica
from node.drivers.verifyworker import VerifyWorker
from protocol.constants import LEDGER_MARKER
from transports.base import Transport, TransportError

__all__ = ["Journal", "NodeDriver", "StoreJournal"]

log = logging.getLogger("bitcraps.node")


class Journal(Protocol):
    """Where a Persist is committed (the store), and own frames marked sent."""

    def persist(self, persist: Persist) -> None: ...

    def mark_sent(self, frames: list[bytes]) -> None: ...


class StoreJournal:
    """The daemon's journal: the durable replica's SQLite store.  Own frames go to the outbox
    first (each its own transaction, before any transport sees them), then the events in one
    group commit."""

    def __init__(self, durable: DurableReplica) -> None:
        self.durable = durable

    def persist(self, persist: Persist) -> None:
        store = self.durable.store
        for nonce, frame in persist.outbox:
            store.outbox_put(nonce, frame)
        self.durable.commit_events(persist.events)
        if persist.recovered:
            self.durable.recovered()

    def mark_sent(self, frames: list[bytes]) -> None:
        self.durable.mark_sent(frames)


class NodeDriver:
    """Runs ``core`` on ``transport``: ``await nursery.start(driver.run)``.  ``journal`` None
    commits nothing (a node without a store); ``worker`` None checks signatures on this
    thread (the simulator shares its checks; a test wants no process)."""

    def __init__(
        self,
        core: NodeCore,
        transport: Transport,
        *,
        journal: Journal | None = None,
        worker: VerifyWorker | None = None,
    ) -> None:
        self.core = core
        self.transport = transport
        self.journal = journal
        self.worker = worker
        self.verified_inline = 0
        self.verified_in_worker = 0
        self._waiting: dict[int, tuple[trio.Event, list[Reply]]] = {}
        self._commands = 0
        self.send_errors = 0
        self.datagrams_in = 0
        self.bytes_in = 0
        self.datagrams_out = 0
        self.bytes_out = 0
        self.frames_out = 0
        """Ledger frames sent (own packets, relays, answers to pulls); the rest of what goes
        out is link messages."""
        self.observers: list[Callable[[Persist], None]] = []
        """Called with every Persist once the journal committed it (a wallet index, metrics),
        before the core hears of it."""

    async def run(
        self, *, task_status: trio.TaskStatus[NodeDriver] = trio.TASK_STATUS_IGNORED
    ) -> None:
        """Receive, time and verify until cancelled (or the transport closes)."""
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._timers)
            if self.worker is not None:
                await nursery.start(self.worker.run, self._worker_done)
            self.pump()
            task_status.started(self)
            await self._receive()
            nursery.cancel_scope.cancel()

    async def request(self, command: Command) -> Reply:
        """Hand ``command`` to the core; wait for its reply."""
        self._commands += 1
        command_id = self._commands
        done = trio.Event()
        box: list[Reply] = []
        self._waiting[command_id] = (done, box)
        self.core.handle_command(command_id, command, trio.current_time())
        self.pump()
        await done.wait()
        return box[0]

    def command_nowait(self, command: Command) -> None:
        """Hand ``command`` to the core; its reply is dropped."""
        self._commands += 1
        self.core.handle_command(self._commands, command, trio.current_time())
        self.pump()

    # ------------------------------------------------------------------ the loops

    async def _receive(self) -> None:
        core = self.core
        while True:
            try:
                batch = await self.transport.receive_batch()
            except trio.ClosedResourceError:
                return
            now = trio.current_time()
            self.datagrams_in += len(batch)
            size = 0
            for address, data in batch:
                size += len(data)
                if core.awaiting is not None:
                    self.pump()
                core.receive_datagram(data, address, now)
            self.bytes_in += size
            self.pump()

    async def _timers(self) -> None:
        core = self.core
        while True:
            deadline = core.get_timer()
            await trio.sleep_until(deadline if deadline is not None else math.inf)
            core.handle_timer(trio.current_time())
            self.pump()

    def _worker_done(self, job: int, verdicts: Verdicts) -> None:
        self.verified_in_worker += len(verdicts)
        self.core.verified(job, verdicts, trio.current_time())
        self.pump()

    def pump(self) -> None:
        """Carry out everything the core asks, until it asks nothing more."""
        core = self.core
        while True:
            actions = core.take_actions()
            if not actions:
                return
            for action in actions:
                if type(action) is Transmit:
                    data = action.data
                    try:
                        self.transport.send(action.address, data)
                    except (TransportError, trio.ClosedResourceError) as exc:
                        self.send_errors += 1
                        log.debug("send to %s failed: %s", action.address, exc)
                    else:
                        self.datagrams_out += 1
                        self.bytes_out += len(data)
                        if data[0] == LEDGER_MARKER:
                            self.frames_out += 1
                elif type(action) is Verify:
                    if self.worker is not None:
                        self.worker.submit(action.job, action.envelopes)
                    else:
                        self.verified_inline += len(action.envelopes)
                        core.verified(
                            action.job, verify_batch(action.envelopes), trio.current_time()
                        )
                elif type(action) is Persist:
                    if self.journal is not None:
                        self.journal.persist(action)
                    for observe in self.observers:
                        observe(action)
                    core.persisted(action, trio.current_time())
                elif type(action) is MarkSent:
                    if self.journal is not None:
                        self.journal.mark_sent(action.frames)
                elif type(action) is Reply:
                    waiting = self._waiting.pop(action.command_id, None)
                    if waiting is not None:
                        waiting[1].append(action)
                        waiting[0].set()
