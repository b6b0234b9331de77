"""The control API in-process (node/drivers/control.py, methods.py, wallet.py): JSON-RPC 2.0
errors against the server over in-memory streams, then every method against node cores run by
the Trio driver over the memory network, all on Trio's MockClock (no sleeps: events and the
clock's autojump).  The CLI against real daemons is tests/test_cli_daemon.py."""

from __future__ import annotations

import itertools
import json
import random
import stat
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import trio
import trio.testing

from node.core.node import Connect, NodeCore, Publish
from node.core.replica import Replica
from node.drivers.control import (
    BUSY,
    INTERNAL_ERROR,
    INVALID_PARAMS,
    INVALID_REQUEST,
    METHOD_NOT_FOUND,
    PARSE_ERROR,
    REFUSED,
    UNKNOWN_PEER,
    ControlError,
    ControlServer,
    Param,
    Registry,
    RpcError,
    int_param,
)
from node.drivers.driver import NodeDriver
from node.drivers.methods import METHODS, NodeContext, NodeInfo
from node.drivers.metrics import Metrics
from node.drivers.wallet import Wallet
from protocol.constants import CRAP
from protocol.genesis import LOCAL
from tests.ledger_factory import Chain, signing_key
from transports.conditions import LinkConditions
from transports.memory import MemoryNetwork

# --------------------------------------------------------------------------- the protocol


class Ctx:
    def __init__(self) -> None:
        self.release = trio.Event()
        self.calls: list[str] = []


REGISTRY: Registry[Ctx] = Registry()


@REGISTRY.method("echo", Param("n", int_param(0, 10)), Param("tag", str, "x"))
async def echo(ctx: Ctx, params: dict[str, Any]) -> object:
    ctx.calls.append("echo")
    return params


@REGISTRY.method("refuse")
async def refuse(ctx: Ctx, params: dict[str, Any]) -> object:
    raise RpcError(REFUSED, "no", {"reason": "because"})


@REGISTRY.method("crash")
async def crash(ctx: Ctx, params: dict[str, Any]) -> object:
    raise ZeroDivisionError("a bug")


@REGISTRY.method("slow")
async def slow(ctx: Ctx, params: dict[str, Any]) -> object:
    await ctx.release.wait()
    return "done"


class Conn:
    """The client end of one in-memory connection to the server."""

    def __init__(self, stream: trio.abc.Stream) -> None:
        self.stream = stream
        self.buffer = b""

    async def send(self, data: bytes | object) -> None:
        raw = data if isinstance(data, bytes) else json.dumps(data).encode()
        await self.stream.send_all(raw + b"\n")

    async def receive(self) -> Any:
        while b"\n" not in self.buffer:
            chunk = await self.stream.receive_some(65536)
            if not chunk:
                raise EOFError("closed")
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        return json.loads(line)

    async def call(self, method: str, params: object = None, rid: object = 1) -> Any:
        request: dict[str, object] = {"jsonrpc": "2.0", "id": rid, "method": method}
        if params is not None:
            request["params"] = params
        await self.send(request)
        return await self.receive()

    async def closed(self) -> bool:
        return await self.stream.receive_some(1) == b""


@asynccontextmanager
async def served(
    server: ControlServer[Any],
) -> AsyncIterator[Callable[[], Awaitable[Conn]]]:
    async with trio.open_nursery() as nursery:

        async def connect() -> Conn:
            client, end = trio.testing.memory_stream_pair()
            nursery.start_soon(server.session, end)
            return Conn(client)

        yield connect
        nursery.cancel_scope.cancel()


def code(answer: Any) -> int:
    value: int = answer["error"]["code"]
    return value


async def test_a_call_gets_its_result_with_its_id() -> None:
    with trio.fail_after(5):
        async with served(ControlServer(REGISTRY, Ctx())) as connect:
            conn = await connect()
            assert await conn.call("echo", {"n": 3}, rid="abc") == {
                "jsonrpc": "2.0",
                "id": "abc",
                "result": {"n": 3, "tag": "x"},
            }
            assert (await conn.call("echo", [4, "y"]))["result"] == {"n": 4, "tag": "y"}


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (b"{not json", PARSE_ERROR),
        (b'{"jsonrpc": "2.0", "id": 1, "method": "echo", "params": {"n": NaN}}', PARSE_ERROR),
        (b"42", INVALID_REQUEST),
        (b'{"id": 1, "method": "echo"}', INVALID_REQUEST),
        (b'{"jsonrpc": "2.0", "id": 1, "method": 7}', INVALID_REQUEST),
        (b'{"jsonrpc": "2.0", "id": 1.5, "method": "echo"}', INVALID_REQUEST),
        (b'{"jsonrpc": "2.0", "id": 1, "method": "echo", "extra": 1}', INVALID_REQUEST),
        (b"[]", INVALID_REQUEST),
        (b'{"jsonrpc": "2.0", "id": 1, "method": "nope"}', METHOD_NOT_FOUND),
        (b'{"jsonrpc": "2.0", "id": 1, "method": "echo"}', INVALID_PARAMS),
        (b'{"jsonrpc": "2.0", "id": 1, "method": "echo", "params": {"n": "3"}}', INVALID_PARAMS),
        (b'{"jsonrpc": "2.0", "id": 1, "method": "echo", "params": {"n": 11}}', INVALID_PARAMS),
        (b'{"jsonrpc": "2.0", "id": 1, "method": "echo", "params": {"n": true}}', INVALID_PARAMS),
        (b'{"jsonrpc": "2.0", "id": 1, "method": "echo", "params": {"n": 1, "x": 2}}', -32602),
        (b'{"jsonrpc": "2.0", "id": 1, "method": "echo", "params": [1, "a", 3]}', INVALID_PARAMS),
        (b'{"jsonrpc": "2.0", "id": 1, "method": "echo", "params": 5}', INVALID_PARAMS),
        (b'{"jsonrpc": "2.0", "id": 1, "method": "refuse"}', REFUSED),
        (b'{"jsonrpc": "2.0", "id": 1, "method": "crash"}', INTERNAL_ERROR),
    ],
)
async def test_every_bad_request_is_an_error_and_the_connection_goes_on(
    line: bytes, expected: int
) -> None:
    ctx = Ctx()
    with trio.fail_after(5):
        async with served(ControlServer(REGISTRY, ctx)) as connect:
            conn = await connect()
            await conn.send(line)
            answer = await conn.receive()
            assert code(answer) == expected
            assert isinstance(answer["error"]["message"], str) and answer["error"]["message"]
            assert (await conn.call("echo", {"n": 1}))["result"]["n"] == 1  # still served
    assert ctx.calls == ["echo"]  # nothing ran for the bad request


async def test_errors_name_what_is_wrong() -> None:
    with trio.fail_after(5):
        async with served(ControlServer(REGISTRY, Ctx())) as connect:
            conn = await connect()
            unknown = await conn.call("nope")
            assert "no method 'nope'" in unknown["error"]["message"]
            assert "echo" in unknown["error"]["message"]
            missing = await conn.call("echo", {})
            assert missing["error"]["message"] == "echo needs param 'n'"
            extra = await conn.call("echo", {"n": 1, "colour": 2})
            assert "no param 'colour'" in extra["error"]["message"]
            refused = await conn.call("refuse")
            assert refused["error"] == {
                "code": REFUSED,
                "message": "no",
                "data": {"reason": "because"},
            }


async def test_notifications_get_no_answer_and_a_batch_answers_each_call() -> None:
    ctx = Ctx()
    with trio.fail_after(5):
        async with served(ControlServer(REGISTRY, ctx)) as connect:
            conn = await connect()
            await conn.send({"jsonrpc": "2.0", "method": "echo", "params": {"n": 1}})
            await conn.send({"jsonrpc": "2.0", "method": "crash"})  # a notification: silent
            batch = [
                {"jsonrpc": "2.0", "id": 1, "method": "echo", "params": {"n": 2}},
                {"jsonrpc": "2.0", "method": "echo", "params": {"n": 3}},
                {"jsonrpc": "2.0", "id": 2, "method": "nope"},
                5,
            ]
            await conn.send(batch)
            answers = await conn.receive()
            assert [a["id"] for a in answers] == [1, 2, None]
            assert answers[0]["result"]["n"] == 2
            assert [code(a) for a in answers[1:]] == [METHOD_NOT_FOUND, INVALID_REQUEST]
            assert ctx.calls == ["echo", "echo", "echo"]
            await conn.send([{"jsonrpc": "2.0", "method": "echo", "params": {"n": 1}}])
            assert (await conn.call("echo", {"n": 9}))["result"]["n"] == 9  # no empty answer
            big = [
                {"jsonrpc": "2.0", "id": i, "method": "echo", "params": {"n": 1}} for i in range(33)
            ]
            await conn.send(big)
            assert code(await conn.receive()) == INVALID_REQUEST


async def test_a_request_over_the_size_limit_is_refused_and_the_connection_closed() -> None:
    with trio.fail_after(5):
        async with served(ControlServer(REGISTRY, Ctx(), max_request=1024)) as connect:
            conn = await connect()
            await conn.stream.send_all(b"[" + b" " * 2000)  # no newline yet
            answer = await conn.receive()
            assert code(answer) == INVALID_REQUEST and "1024 bytes" in answer["error"]["message"]
            assert await conn.closed()


async def test_connections_beyond_the_limit_are_answered_busy() -> None:
    server = ControlServer(REGISTRY, Ctx(), max_connections=2)
    with trio.fail_after(5):
        async with served(server) as connect:
            first, second = await connect(), await connect()
            assert (await first.call("echo", {"n": 1}))["result"]
            assert (await second.call("echo", {"n": 1}))["result"]
            third = await connect()
            assert code(await third.receive()) == BUSY
            assert await third.closed()
            await first.stream.aclose()
            while server.connections > 1:
                await trio.testing.wait_all_tasks_blocked()
            fourth = await connect()
            assert (await fourth.call("echo", {"n": 2}))["result"]["n"] == 2


async def test_a_slow_call_holds_up_only_its_own_connection() -> None:
    ctx = Ctx()
    with trio.fail_after(5):
        async with served(ControlServer(REGISTRY, ctx)) as connect:
            waiting, other = await connect(), await connect()
            await waiting.send({"jsonrpc": "2.0", "id": 1, "method": "slow"})
            await trio.testing.wait_all_tasks_blocked()
            assert (await other.call("echo", {"n": 5}))["result"]["n"] == 5
            ctx.release.set()
            assert (await waiting.receive())["result"] == "done"


async def test_an_idle_connection_is_closed(autojump_clock: trio.testing.MockClock) -> None:
    with trio.fail_after(1000):
        async with served(ControlServer(REGISTRY, Ctx(), idle_timeout=60)) as connect:
            conn = await connect()
            assert (await conn.call("echo", {"n": 1}))["result"]
            start = trio.current_time()
            assert await conn.closed()
            assert trio.current_time() - start == pytest.approx(60)


async def test_the_socket_is_0600_replaces_a_stale_file_and_is_removed_on_exit(
    tmp_path: Path,
) -> None:
    path = tmp_path / "control.sock"
    path.write_text("left from a crash")
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            await nursery.start(ControlServer(REGISTRY, Ctx()).serve, path)
            assert stat.S_ISSOCK(path.stat().st_mode)
            assert path.stat().st_mode & 0o777 == 0o600
            client = await trio.open_unix_socket(str(path))
            conn = Conn(client)
            assert (await conn.call("echo", {"n": 7}))["result"]["n"] == 7
            await client.aclose()
            nursery.cancel_scope.cancel()
    assert not path.exists()


async def test_a_socket_path_too_long_for_unix_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / ("d" * 120) / "control.sock"
    with pytest.raises(ControlError, match="more than a Unix socket allows"):
        await ControlServer(REGISTRY, Ctx()).serve(path)


# --------------------------------------------------------------------------- the methods


class Node:
    def __init__(self, driver: NodeDriver, conn: Conn) -> None:
        self.driver = driver
        self.conn = conn

    @property
    def key(self) -> str:
        return self.driver.core.identity.hex()

    async def ok(self, method: str, params: object = None) -> Any:
        answer = await self.conn.call(method, params)
        assert "result" in answer, answer
        return answer["result"]

    async def error(self, method: str, params: object = None) -> dict[str, Any]:
        answer = await self.conn.call(method, params)
        assert "error" in answer, answer
        error: dict[str, Any] = answer["error"]
        return error


async def until(predicate: Callable[[], bool], limit: float = 120.0) -> None:
    with trio.fail_after(limit):
        while not predicate():
            await trio.sleep(0.25)


@asynccontextmanager
async def mesh(count: int) -> AsyncIterator[list[Node]]:
    """``count`` nodes in a line over a memory network, each with a control connection."""
    net = MemoryNetwork(seed=5, default=LinkConditions(latency=0.01))
    async with trio.open_nursery() as nursery:
        nodes = []
        for i in range(count):
            core = NodeCore(
                Replica(LOCAL), signing_key(f"control-{i}"), random.Random(i), trio.current_time()
            )
            driver = NodeDriver(core, net.endpoint())
            await nursery.start(driver.run)
            wallet = Wallet(core)
            metrics = Metrics(driver)
            driver.observers += [wallet.observe, metrics.observe]
            info = NodeInfo(LOCAL.name, LOCAL.network_id, started=trio.current_time())
            server = ControlServer(
                METHODS, NodeContext(driver, wallet, metrics, info), observe=metrics.api
            )
            client, end = trio.testing.memory_stream_pair()
            nursery.start_soon(server.session, end)
            nodes.append(Node(driver, Conn(client)))
        for left, right in itertools.pairwise(nodes):
            await left.driver.request(Connect(right.driver.transport.local_address))
        await until(lambda: all(n.driver.core.links.count_up() >= 1 for n in nodes))
        await until(lambda: nodes[1].driver.core.links.count_up() == min(2, count - 1))
        yield nodes
        nursery.cancel_scope.cancel()


async def test_status_and_state_digest_describe_the_node(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with mesh(2) as (a, b):
        status = await a.ok("status")
        assert status["identity"] == a.key
        assert status["network"] == {"name": "local", "id": LOCAL.network_id.hex()}
        assert status["neighbours"] == 1 and status["hwm"] == 0 and not status["recovering"]
        assert status["spendable"] == 0 and status["faucet"] == LOCAL.faucet_amount
        digest = await a.ok("state_digest")
        assert digest["digest"] == status["digest"] == (await b.ok("state_digest"))["digest"]
        assert digest["supply"] == 0


async def test_a_transfer_moves_money_and_the_payee_sees_a_pending_credit_then_spends_it(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with mesh(3) as (a, b, c):
        sent = await a.ok("transfer", {"to": b.key, "amount": 1000 * CRAP})
        assert sent["nonce"] == 1 and sent["to"] == b.key and sent["acks"] == []
        assert sent["spendable"] == 99_000 * CRAP  # the faucet's 100,000 less 1,000
        await until(lambda: b.driver.core.replica.hwm(a.driver.core.identity) == 1)
        balance = await b.ok("balance")
        assert balance["spendable"] == 0 and balance["pending_total"] == 1000 * CRAP
        assert balance["faucet"] == 100_000 * CRAP  # b's first packet is still to come
        [credit] = balance["pending"]
        assert credit["from"] == a.key and credit["nonce"] == 1 and credit["holders"] == 1
        # b's transfer acknowledges a's credit: it can spend the faucet and the credit
        back = await b.ok("transfer", {"to": a.key[:12], "amount": 100_500 * CRAP})
        assert back["acks"] == [[a.key, 1]] and back["spendable"] == 500 * CRAP
        after = await b.ok("balance")
        assert after["pending"] == [] and after["faucet"] == 0 and after["spendable"] == 500 * CRAP
        history = await b.ok("history")
        assert [(i["direction"], i["kind"], i["nonce"]) for i in history["items"]] == [
            ("out", "transfer", 1),
            ("in", "transfer", 1),
        ]
        assert history["items"][0]["mint"] == 100_000 * CRAP
        assert history["items"][1]["credit"] == "spendable"
        # another key's balance, as b's replica sees it
        seen = await b.ok("balance", {"key": a.key})
        assert not seen["own"] and seen["hwm"] == 1 and seen["spendable"] == 99_000 * CRAP
        await until(lambda: c.driver.core.replica.hwm(b.driver.core.identity) == 1)
        assert (await a.ok("state_digest"))["digest"] == (await c.ok("state_digest"))["digest"]


async def test_a_refused_transfer_signs_nothing(autojump_clock: trio.testing.MockClock) -> None:
    async with mesh(2) as (a, b):
        for amount in (0, -1, "5", 1.5, True, 2**64):
            error = await a.error("transfer", {"to": b.key, "amount": amount})
            assert error["code"] == INVALID_PARAMS
        unknown = await a.error("transfer", {"to": "ab" * 32, "amount": 1})
        assert unknown["code"] == UNKNOWN_PEER and unknown["data"] == {"key": "ab" * 32}
        assert (await a.error("transfer", {"to": "abababab", "amount": 1}))["code"] == UNKNOWN_PEER
        assert (await a.error("transfer", {"to": a.key, "amount": 1}))["code"] == INVALID_PARAMS
        assert (await a.error("transfer", {"to": "xyz", "amount": 1}))["code"] == INVALID_PARAMS
        poor = await a.error("transfer", {"to": b.key, "amount": 100_001 * CRAP})
        assert poor["code"] == REFUSED
        assert poor["data"] == {
            "reason": "insufficient",
            "spendable": 100_000 * CRAP,
            "amount": 100_001 * CRAP,
        }
        assert "100001 CRAP is more than the 100000 CRAP" in poor["message"]
        assert a.driver.core.replica.hwm(a.driver.core.identity) == 0  # no nonce burnt
        paid = await a.ok("transfer", {"to": "cd" * 32, "amount": 1, "allow_unknown": True})
        assert paid["nonce"] == 1


async def test_ping_peers_and_stats(autojump_clock: trio.testing.MockClock) -> None:
    async with mesh(3) as (a, b, c):
        answer = await a.ok("ping", {"ttl": 2})
        assert answer["neighbours"] == 1
        assert [(r["key"], r["hops"]) for r in answer["answers"]] == [(b.key, 1), (c.key, 2)]
        assert 0 < answer["answers"][0]["ms"] < answer["answers"][1]["ms"]
        near = await a.ok("ping", {"ttl": 1})
        assert [r["key"] for r in near["answers"]] == [b.key]
        assert (await a.error("ping", {"ttl": 0}))["code"] == INVALID_PARAMS
        peers = await b.ok("peers")
        assert sorted(p["key"] for p in peers["peers"]) == sorted([a.key, c.key])
        assert all(p["mode"] in ("eager", "lazy") and p["score"] == 0 for p in peers["peers"])
        await a.ok("transfer", {"to": b.key, "amount": 5})
        await until(lambda: c.driver.core.replica.hwm(a.driver.core.identity) == 1)
        stats = await b.ok("stats")
        assert stats["bitcraps_packets_judged_total"] == {"kind=transfer,verdict=applied": 1}
        assert stats["bitcraps_frames_forwarded_total"] >= 1
        assert stats["bitcraps_datagrams_received_total"] > 0
        assert stats["bitcraps_links_up"] == 2
        assert set(stats["bitcraps_peer_score"]) == {
            f"peer={a.key[:16]}",
            f"peer={c.key[:16]}",
        }
        assert "queue=unverified" in stats["bitcraps_queue_depth"]
        assert "method=ping" not in stats["bitcraps_api_request_seconds_count"]  # b was not pinged
        own = await a.ok("stats")
        assert own["bitcraps_api_request_seconds_count"]["method=ping"] == 3
        assert own["bitcraps_issue_seconds_count"] == 1


async def test_a_late_fork_marks_the_effects_it_revised(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """LEDGER.md §6's example: a payer forks after a's transfer spent its credit."""
    async with mesh(2) as (a, b):
        me = a.driver.core.identity
        alice = Chain("control-forker")
        other = alice.branch(0)
        paid = alice.transfer(me, 1000 * CRAP)
        other.transfer(b"\x07" * 32, 5)
        reply = await a.driver.request(Publish(paid))
        assert reply.value == "queued"
        await until(lambda: a.driver.core.replica.hwm(alice.pub) == 1)
        spent = await a.ok("transfer", {"to": b.key, "amount": 100_500 * CRAP})
        assert spent["acks"] == [[alice.pub.hex(), 1]]
        await a.driver.request(Publish(other.frames[0]))
        await until(lambda: a.driver.core.replica.fork_point(alice.pub) == 1)
        balance = await a.ok("balance")
        assert {
            "sender": a.key,
            "nonce": 1,
            "before": "applied",
            "after": "refused(insufficient)",
        } in balance["revised"]
        history = await a.ok("history")
        mine = next(i for i in history["items"] if i["direction"] == "out")
        assert mine["verdict"] == "refused(insufficient)"
        assert mine["revised"] == {
            "sender": a.key,
            "nonce": 1,
            "before": "applied",
            "after": "refused(insufficient)",
        }
        theirs = next(i for i in history["items"] if i["direction"] == "in")
        assert theirs["verdict"] == "refused(equivocated)" and theirs["credit"] == "none"
