"""The daemon's parts that need no network: the key file, the data directory lock, the logs,
the command line of ``bitcraps node``, and the node started in-process over UDP on loopback."""

from __future__ import annotations

import io
import json
import logging
import os
from pathlib import Path

import pytest
import trio

from node.core.node import Connect, Issue, TableCommand
from node.core.tables.agent import TableAgent
from node.core.tables.commands import CreateTable, SetCadence
from node.drivers.cli import main
from node.drivers.daemon import TABLES_FLAG, DaemonError, NodeOptions, _daemon_errors, run_node
from node.drivers.datadir import DataDir, DataDirError
from node.drivers.keyfile import KeyFileError, load_or_create, read_passphrase
from node.drivers.logs import JsonFormatter
from tests.ledger_factory import transfer
from tests.transports.test_discovery import _NO_MULTICAST
from transports.discovery import DiscoveryConfig


def test_a_key_is_created_once_with_mode_0600(tmp_path: Path) -> None:
    path = tmp_path / "identity.key"
    key, created = load_or_create(path)
    assert created and path.stat().st_mode & 0o777 == 0o600
    again, created_again = load_or_create(path)
    assert not created_again and bytes(again) == bytes(key)


def test_a_passphrase_seals_the_key_and_a_wrong_one_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "identity.key"
    key, _ = load_or_create(path, b"open sesame")
    assert bytes(key) not in path.read_bytes()
    assert bytes(load_or_create(path, b"open sesame")[0]) == bytes(key)
    with pytest.raises(KeyFileError, match="wrong passphrase"):
        load_or_create(path, b"open barley")
    with pytest.raises(KeyFileError, match="is encrypted: give --passphrase-file"):
        load_or_create(path)
    data = bytearray(path.read_bytes())
    data[-1] ^= 1
    path.write_bytes(bytes(data))
    with pytest.raises(KeyFileError, match="wrong passphrase"):  # tampering fails the tag
        load_or_create(path, b"open sesame")


def test_a_plain_key_refuses_a_passphrase_and_garbage_is_not_a_key(tmp_path: Path) -> None:
    path = tmp_path / "identity.key"
    load_or_create(path)
    with pytest.raises(KeyFileError, match="not encrypted"):
        load_or_create(path, b"pass")
    path.write_bytes(b"hello")
    with pytest.raises(KeyFileError, match="not a bitcraps identity key file"):
        load_or_create(path)
    secret = tmp_path / "pass"
    secret.write_bytes(b"")
    with pytest.raises(KeyFileError, match="is empty"):
        read_passphrase(secret)
    secret.write_bytes(b"first line\nsecond\n")
    assert read_passphrase(secret) == b"first line"


def test_the_data_dir_lock_names_its_holder(tmp_path: Path) -> None:
    first = DataDir(tmp_path / "d")
    first.lock()
    assert (tmp_path / "d").stat().st_mode & 0o777 == 0o700
    second = DataDir(tmp_path / "d")
    with pytest.raises(
        DataDirError, match=f"in use by another bitcraps node \\(pid {os.getpid()}\\)"
    ):
        second.lock()
    first.unlock()
    second.lock()
    second.unlock()


def test_json_logs_are_one_object_per_line() -> None:
    record = logging.LogRecord("bitcraps.node", logging.INFO, "x", 1, "link up: %s", ("ab",), None)
    line = JsonFormatter().format(record)
    assert "\n" not in line
    obj = json.loads(line)
    assert obj["msg"] == "link up: ab" and obj["level"] == "info" and obj["ts"].endswith("Z")


def test_node_command_errors_are_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["node", "--data-dir", str(tmp_path), "--peer", "nohost:99999"], io.StringIO()) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("bitcraps node:") and "99999" in err[0]
    bad = tmp_path / "genesis.toml"
    bad.write_text("name = 5\n")
    assert main(["node", "--genesis", str(bad)], io.StringIO()) == 1
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


async def test_two_nodes_in_process_over_udp_on_loopback(tmp_path: Path) -> None:
    with trio.fail_after(30):
        async with trio.open_nursery() as nursery:
            options = {
                "listen": ("127.0.0.1", 0),
                "discovery": False,
                "process_verifier": False,
            }
            a = await nursery.start(run_node, NodeOptions(tmp_path / "a", **options))  # type: ignore[arg-type]
            b = await nursery.start(run_node, NodeOptions(tmp_path / "b", **options))  # type: ignore[arg-type]
            await a.driver.request(Connect(b.address))
            while b.driver.core.links.count_up() == 0:
                await trio.sleep(0.02)
            reply = await a.driver.request(Issue(transfer(b.identity, 5)))
            assert reply.error is None
            while b.driver.core.replica.hwm(a.identity) == 0:
                await trio.sleep(0.02)
            assert a.driver.core.replica.digest() == b.driver.core.replica.digest()
            with pytest.raises(DaemonError, match="in use by another bitcraps node"):
                await nursery.start(run_node, NodeOptions(tmp_path / "a", **options))  # type: ignore[arg-type]
            nursery.cancel_scope.cancel()


async def test_two_nodes_find_each_other_by_discovery_beacons(tmp_path: Path) -> None:
    """Two nodes on 127.0.0.1 with discovery on their listen address's interface (no
    interface given): a beacon from the LAN address would send the hello where no node
    listens."""
    if _NO_MULTICAST is not None:
        pytest.skip(_NO_MULTICAST)
    with trio.fail_after(30):
        async with trio.open_nursery() as nursery:
            first = DiscoveryConfig(port=0)
            a = await nursery.start(
                run_node,
                NodeOptions(
                    tmp_path / "a",
                    listen=("127.0.0.1", 0),
                    discovery_config=first,
                    process_verifier=False,
                ),
            )
            assert a.discovery is not None
            second = DiscoveryConfig(port=a.discovery.local_address[1])
            b = await nursery.start(
                run_node,
                NodeOptions(
                    tmp_path / "b",
                    listen=("127.0.0.1", 0),
                    discovery_config=second,
                    process_verifier=False,
                ),
            )
            while a.driver.core.links.by_key(b.identity) is None:  # no --peer: a beacon did it
                await trio.sleep(0.05)
            nursery.cancel_scope.cancel()


async def start_error(options: NodeOptions) -> str:
    """The one line a daemon that cannot start gives (``main_node`` prints it)."""
    try:
        async with trio.open_nursery() as nursery:
            await nursery.start(run_node, options)
            nursery.cancel_scope.cancel()
    except DaemonError as exc:
        return str(exc)
    except BaseExceptionGroup as group:
        [error] = _daemon_errors(group)
        return str(error)
    raise AssertionError("it started")


async def test_a_metrics_port_in_use_or_a_socket_path_too_long_is_one_line(tmp_path: Path) -> None:
    options = {"listen": ("127.0.0.1", 0), "discovery": False, "process_verifier": False}
    with trio.fail_after(30):
        taken = trio.socket.socket()
        await taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        line = await start_error(NodeOptions(tmp_path / "m", metrics_port=port, **options))  # type: ignore[arg-type]
        assert line.startswith(f"cannot serve metrics on 127.0.0.1:{port}: ")
        taken.close()
        deep = tmp_path / ("d" * 110)
        line = await start_error(NodeOptions(deep, **options))  # type: ignore[arg-type]
        assert "more than a Unix socket allows (107): use a shorter --data-dir" in line
        again = DataDir(deep)  # the lock was released on the way out
        again.lock()
        again.unlock()


async def test_the_table_agents_settings_outlive_the_daemon(tmp_path: Path) -> None:
    """A table's cadence is kept in the store: saved before the commit of the create that set
    it, and when the daemon stops for a change that signed nothing; a restarted daemon's agent
    starts from it."""
    options = NodeOptions(
        tmp_path / "host", listen=("127.0.0.1", 0), discovery=False, process_verifier=False
    )
    with trio.fail_after(30):
        async with trio.open_nursery() as nursery:
            node = await nursery.start(run_node, options)
            reply = await node.driver.request(TableCommand(CreateTable(roll_every=4.5)))
            assert reply.error is None and len(reply.value) == 1
            game = node.driver.core.replica.judged(node.identity, 1).h
            store = node.driver.journal.durable.store
            assert json.loads(store.flag(TABLES_FLAG)) == {
                game.hex(): {"roll_every": 4.5, "intent": "play"}
            }
            reply = await node.driver.request(TableCommand(SetCadence(game, 9.0)))
            assert reply.error is None and reply.value == []
            nursery.cancel_scope.cancel()
        async with trio.open_nursery() as nursery:
            node = await nursery.start(run_node, options)
            agent = node.driver.core.policy
            assert isinstance(agent, TableAgent)
            assert json.loads(agent.settings()) == {
                game.hex(): {"roll_every": 9.0, "intent": "play"}
            }
            nursery.cancel_scope.cancel()
