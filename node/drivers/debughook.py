"""TEST-ONLY hook of the daemon for what the control API (node/drivers/control.py) leaves out:
raw operations no user makes.

Enabled only when ``BITCRAPS_DEBUG_SOCKET`` names a path: a Unix socket (0600) taking one JSON
object per line and answering one per line.  Operations: ``publish`` (a ``frame`` signed
elsewhere, in hex: how the tests put a forking key's two versions on two daemons) and
``connect`` (``address``).  It drives the daemon through the node core's commands, never the
core's internals.  Not for people: the control API is (tables included).
"""

from __future__ import annotations

import json
import logging
import os
import socket
from pathlib import Path
from typing import Final

import trio

from node.core.node import Command, Connect, Publish
from node.drivers.driver import NodeDriver
from transports.addresses import parse_address

__all__ = ["ENV", "serve_debug"]

ENV: Final = "BITCRAPS_DEBUG_SOCKET"
MAX_LINE: Final = 64 * 1024

log = logging.getLogger("bitcraps.debug")


async def serve_debug(
    driver: NodeDriver, path: Path, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
) -> None:
    """Serve the hook at ``path`` until cancelled."""
    path.unlink(missing_ok=True)
    sock = trio.socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    await sock.bind(str(path))
    os.chmod(path, 0o600)
    sock.listen(8)
    listener = trio.SocketListener(sock)
    log.warning("test-only debug hook listening on %s", path)
    task_status.started()

    async def session(stream: trio.SocketStream) -> None:
        await _session(driver, stream)

    try:
        await trio.serve_listeners(session, [listener])
    finally:
        path.unlink(missing_ok=True)


async def _session(driver: NodeDriver, stream: trio.abc.Stream) -> None:
    buffer = b""
    async with stream:
        while True:
            try:
                chunk = await stream.receive_some(65536)
            except trio.BrokenResourceError:
                return
            if not chunk:
                return
            buffer += chunk
            while b"\n" in buffer:
                line, buffer = buffer.split(b"\n", 1)
                try:
                    answer = await _handle(driver, json.loads(line))
                except (ValueError, KeyError, TypeError, LookupError) as exc:
                    answer = {"error": f"{type(exc).__name__}: {exc}"}
                await stream.send_all(json.dumps(answer).encode() + b"\n")
            if len(buffer) > MAX_LINE:
                return


async def _handle(driver: NodeDriver, request: dict[str, object]) -> dict[str, object]:
    op = request["op"]
    command: Command
    if op == "publish":
        command = Publish(bytes.fromhex(str(request["frame"])))
    elif op == "connect":
        command = Connect(parse_address(str(request["address"])))
    else:
        raise ValueError(f"unknown op {op!r} (the control API has the rest)")
    reply = await driver.request(command)
    if reply.error is not None:
        return {"error": reply.error}
    value = reply.value
    if isinstance(value, list):
        return {"value": [v.hex() if isinstance(v, bytes) else v for v in value]}
    return {"value": value.hex() if isinstance(value, bytes) else value}
