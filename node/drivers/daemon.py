"""``bitcraps node``: one node daemon in the foreground, under Trio (DESIGN.md §7).

It locks its data directory, loads (or creates) its identity key, rebuilds its replica (with the
table engine) from the store, and runs the node core — with the table agent as its table policy,
its settings kept in the store — over one UDP socket, with signatures checked in a worker process,
LAN discovery by multicast beacons unless turned off, static peers dialled for ever, the control
API on a Unix socket in the data directory, metrics on a loopback port if asked, and
SIGINT/SIGTERM stopping it in order (exit 0).  Each service is started with
``nursery.start``; errors a person can fix are :class:`DaemonError`, one line.
"""

from __future__ import annotations

import json
import logging
import random
import signal
import struct
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Final

import nacl.signing
import trio

from node.core.node import Connect, NodeConfig, NodeCore, Persist
from node.core.tables import TablesEngine
from node.core.tables.agent import AgentConfig, TableAgent
from node.drivers.control import ControlError, ControlServer
from node.drivers.datadir import DataDir, DataDirError
from node.drivers.debughook import serve_debug
from node.drivers.driver import NodeDriver, StoreJournal
from node.drivers.durable import DurableReplica
from node.drivers.keyfile import KeyFileError, load_or_create
from node.drivers.methods import METHODS, NodeContext, NodeInfo
from node.drivers.metrics import METRICS_HOST, Metrics, serve_metrics
from node.drivers.runtime import tune_gc
from node.drivers.store import Store, StoreError
from node.drivers.tableview import TableLog
from node.drivers.verifyworker import VerifyWorker
from node.drivers.wallet import Wallet
from protocol.genesis import LOCAL, Genesis
from transports.addresses import format_address
from transports.base import Address, TransportError
from transports.discovery import Beacon, Discovery, DiscoveryConfig
from transports.udp import UdpConfig, UdpTransport

__all__ = ["DaemonError", "NodeOptions", "RunningNode", "TableJournal", "main_node", "run_node"]

log = logging.getLogger("bitcraps.daemon")

BEACON: Final = struct.Struct(">4sH32s")
"""The discovery payload: network prefix, UDP port, public key (an unauthenticated hint)."""
PEERS_FLAG: Final = "known_peers"
"""Store flag: the addresses of the links that were up (JSON), said hello to after a restart."""
MAX_KNOWN_PEERS: Final = 32
PEERS_EVERY: Final = 1.0
"""Seconds between two looks at the links up (the flag is written only when they change)."""
TABLES_FLAG: Final = "table_settings"
"""Store flag: the table agent's local settings (each hosted table's cadence, an end asked for)."""


class DaemonError(Exception):
    """The daemon cannot start (one line saying why)."""


@dataclass(frozen=True, slots=True)
class NodeOptions:
    """What ``bitcraps node`` was asked to do."""

    data_dir: Path
    listen: Address = ("0.0.0.0", 47187)
    peers: tuple[Address, ...] = ()
    genesis: Genesis = LOCAL
    discovery: bool = True
    discovery_config: DiscoveryConfig = field(default_factory=DiscoveryConfig)
    passphrase: bytes | None = None
    metrics_port: int | None = None
    """Serve Prometheus metrics on 127.0.0.1 at this port (0: a free one; None: not at all)."""
    debug_socket: Path | None = None
    """TEST-ONLY hook (``BITCRAPS_DEBUG_SOCKET``), until the control API exists."""
    config: NodeConfig = field(default_factory=NodeConfig)
    tables: AgentConfig = field(default_factory=AgentConfig)
    """The table agent's timers (the reveal timeout)."""
    process_verifier: bool = True


_ANY_ADDRESS: Final = "0.0.0.0"


def _beacon_config(options: NodeOptions) -> DiscoveryConfig:
    """Discovery on the interface the node listens on, when it listens on one address: a
    beacon's source address is where peers send their hello, so beacons from another
    interface (a node on 127.0.0.1 beaconing from the LAN address) would lead nowhere."""
    config = options.discovery_config
    host = options.listen[0]
    if config.interface == _ANY_ADDRESS and host != _ANY_ADDRESS:
        return replace(config, interface=host)
    return config


@dataclass(slots=True)
class RunningNode:
    """What ``run_node`` reports once it is up."""

    driver: NodeDriver
    address: Address
    identity: bytes
    discovery: Discovery | None = None
    control: Path | None = None
    metrics: Address | None = None


async def run_node(
    options: NodeOptions, *, task_status: trio.TaskStatus[RunningNode] = trio.TASK_STATUS_IGNORED
) -> None:
    """Run one node until cancelled; raise :class:`DaemonError` if it cannot start."""
    datadir = DataDir(options.data_dir)
    try:
        datadir.lock()
        key, created = load_or_create(datadir.key_path, options.passphrase)
    except (DataDirError, KeyFileError) as exc:
        datadir.unlock()
        raise DaemonError(str(exc)) from None
    try:
        store_existed = datadir.store_path.exists()
        try:
            store = Store(datadir.store_path, options.genesis.network_id)
        except StoreError as exc:
            raise DaemonError(str(exc)) from None
        try:
            lost = not created and not store_existed  # a kept key without its store
            await _run(options, datadir, store, key, lost_data=lost, task_status=task_status)
        finally:
            store.close()
    finally:
        datadir.unlock()


async def _run(
    options: NodeOptions,
    datadir: DataDir,
    store: Store,
    key: nacl.signing.SigningKey,
    *,
    lost_data: bool,
    task_status: trio.TaskStatus[RunningNode],
) -> None:
    genesis = options.genesis
    durable = DurableReplica(
        genesis,
        store,
        key,
        lost_data=lost_data,
        clock=trio.current_time,
        engine=TablesEngine(),  # every replica of the mesh judges table packets alike
    )
    identity = bytes(key.verify_key)
    agent = TableAgent(key, config=options.tables, settings=store.flag(TABLES_FLAG))
    core = NodeCore(
        durable.replica,
        key,
        random.SystemRandom(),
        trio.current_time(),
        config=options.config,
        policy=agent,
        recovering=durable.recovering,
        outbox_nonce=store.own_nonce(),
        unsent=durable.resend,
    )
    journal = TableJournal(durable, agent)
    worker = VerifyWorker() if options.process_verifier else None
    async with trio.open_nursery() as nursery:
        host, port = options.listen
        try:
            udp = await nursery.start(UdpTransport(UdpConfig(host, port)).run)
        except (OSError, TransportError) as exc:
            raise DaemonError(f"cannot listen on {format_address(options.listen)}: {exc}") from None
        driver = NodeDriver(core, udp, journal=journal, worker=worker)
        started = trio.current_time()
        await nursery.start(driver.run)
        wallet = Wallet(core, durable.revisions)
        tables = TableLog(core)
        metrics = Metrics(driver, tables)
        driver.observers += [wallet.observe, tables.observe, metrics.observe]
        metrics_address: Address | None = None
        if options.metrics_port is not None:
            try:
                metrics_address = await nursery.start(serve_metrics, metrics, options.metrics_port)
            except OSError as exc:
                raise DaemonError(
                    f"cannot serve metrics on {METRICS_HOST}:{options.metrics_port}: {exc.strerror}"
                ) from None
        info = NodeInfo(
            genesis.name,
            genesis.network_id,
            datadir.path,
            datadir.control_path,
            metrics_address,
            started,
        )
        server = ControlServer(
            METHODS, NodeContext(driver, wallet, metrics, info, tables), observe=metrics.api
        )
        try:
            await nursery.start(server.serve, datadir.control_path)
        except ControlError as exc:
            raise DaemonError(str(exc)) from None
        for peer in options.peers:
            try:
                address = await udp.resolve(peer)
            except (OSError, TransportError) as exc:
                log.warning("peer %s not dialled: %s", format_address(peer), exc)
                continue
            driver.command_nowait(Connect(address))
        for address in _known_peers(store):  # the neighbours of the last run: a few hellos
            driver.command_nowait(Connect(address, static=False))
        nursery.start_soon(_remember_peers, core, store)
        nursery.start_soon(_keep_settings, journal)
        disco: Discovery | None = None
        if options.discovery:
            payload = BEACON.pack(genesis.network_id[:4], udp.local_address[1], identity)
            try:
                disco = await nursery.start(Discovery(payload, _beacon_config(options)).run)
            except (OSError, TransportError) as exc:
                log.warning("LAN discovery off: %s", exc)
            else:
                nursery.start_soon(_beacons, driver, disco, genesis.network_id[:4], identity)
        if options.debug_socket is not None:
            await nursery.start(serve_debug, driver, options.debug_socket)
        log.info(
            "node %s on network %s (%s) listening on %s, data in %s, control socket %s%s%s",
            identity.hex()[:16],
            genesis.name,
            genesis.network_id[:4].hex(),
            format_address(udp.local_address),
            datadir.path,
            datadir.control_path,
            f", metrics on http://{format_address(metrics_address)}/metrics"
            if metrics_address is not None
            else "",
            ", recovering its own history from peers" if core.recovering else "",
        )
        task_status.started(
            RunningNode(
                driver,
                udp.local_address,
                identity,
                disco,
                datadir.control_path,
                metrics_address,
            )
        )


class TableJournal(StoreJournal):
    """The store journal, keeping the table agent's settings as well: saved (when changed)
    before the packets of each commit, so a table command's settings are in the store before
    anything it signed, and every second for a change that signs nothing."""

    def __init__(self, durable: DurableReplica, agent: TableAgent) -> None:
        super().__init__(durable)
        self.agent = agent
        self._version = agent.settings_version

    def persist(self, persist: Persist) -> None:
        self.save_settings()
        super().persist(persist)

    def save_settings(self) -> None:
        if self.agent.settings_version != self._version:
            self._version = self.agent.settings_version
            self.durable.store.set_flag(TABLES_FLAG, self.agent.settings())


async def _keep_settings(journal: TableJournal) -> None:
    try:
        while True:
            await trio.sleep(PEERS_EVERY)
            journal.save_settings()
    finally:
        journal.save_settings()


def _known_peers(store: Store) -> list[Address]:
    raw = store.flag(PEERS_FLAG)
    try:
        return [(str(h), int(p)) for h, p in json.loads(raw or b"[]")][:MAX_KNOWN_PEERS]
    except (ValueError, TypeError):
        return []


async def _remember_peers(core: NodeCore, store: Store) -> None:
    """Keep the addresses of the links up in the store, so a restart says hello to them at
    once (a neighbour that only dials out would otherwise wait for their next message)."""
    saved = store.flag(PEERS_FLAG)
    try:
        while True:
            await trio.sleep(PEERS_EVERY)
            saved = _save_peers(core, store, saved)
    finally:
        _save_peers(core, store, saved)


def _save_peers(core: NodeCore, store: Store, saved: bytes | None) -> bytes | None:
    addresses = sorted({link.address for link in core.links.up()})[:MAX_KNOWN_PEERS]
    if not addresses:
        return saved
    value = json.dumps([list(a) for a in addresses]).encode()
    if value != saved:
        store.set_flag(PEERS_FLAG, value)
    return value


async def _beacons(driver: NodeDriver, disco: Discovery, prefix: bytes, me: bytes) -> None:
    """A beacon is a hint: its source address and advertised port get a hello, nothing more."""
    while True:
        beacon: Beacon = await disco.receive()
        if len(beacon.payload) != BEACON.size:
            continue
        their_prefix, port, key = BEACON.unpack(beacon.payload)
        if their_prefix != prefix or key == me or port == 0:
            continue
        driver.command_nowait(Connect((beacon.source[0], port), static=False))


def main_node(options: NodeOptions) -> int:
    """Run the daemon in the foreground until SIGINT or SIGTERM; the exit status.  Raises
    :class:`DaemonError` when it cannot start."""
    tune_gc()
    try:
        return trio.run(_main, options)
    except BaseExceptionGroup as group:
        errors = _daemon_errors(group)
        if errors:
            raise errors[0] from None
        raise


def _daemon_errors(group: BaseExceptionGroup[BaseException]) -> list[DaemonError]:
    out: list[DaemonError] = []
    for exc in group.exceptions:
        if isinstance(exc, DaemonError):
            out.append(exc)
        elif isinstance(exc, BaseExceptionGroup):
            out.extend(_daemon_errors(exc))
    return out


async def _main(options: NodeOptions) -> int:
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async with trio.open_nursery() as nursery:
            await nursery.start(run_node, options)
            async for signum in signals:
                log.info("%s: stopping", signal.Signals(signum).name)
                nursery.cancel_scope.cancel()
                break
    log.info("stopped")
    return 0
