"""The control API's client, as the ``bitcraps`` commands use it: one JSON-RPC 2.0 request over
the daemon's Unix socket, one answer (docs/API.md).

Plain blocking sockets: a command is one short request.  Everything that can go wrong is a
:class:`ClientError` with one line saying what and what to do: no daemon on that data
directory, a socket that is not ours to open, a daemon that said no (``code`` from the API).
"""

from __future__ import annotations

import errno
import itertools
import json
import socket
from pathlib import Path
from typing import Any, Final

from node.drivers.datadir import CONTROL_FILE

__all__ = ["ClientError", "ControlClient", "NoDaemon", "RemoteError"]

TIMEOUT: Final = 30.0
"""Seconds to wait for an answer (a mesh ping takes about 2)."""
MAX_ANSWER: Final = 16 * 1024 * 1024


class ClientError(Exception):
    """The request could not be made or answered (one line)."""


class NoDaemon(ClientError):
    """No daemon answers on that data directory."""


class RemoteError(ClientError):
    """The daemon answered with a JSON-RPC error."""

    def __init__(self, code: int, message: str, data: object = None) -> None:
        super().__init__(message)
        self.code = code
        self.data = data


class ControlClient:
    """Talks to the daemon whose data directory is ``data_dir``."""

    _ids = itertools.count(1)

    def __init__(self, data_dir: Path, *, timeout: float = TIMEOUT) -> None:
        self.data_dir = data_dir
        self.path = data_dir / CONTROL_FILE
        self.timeout = timeout

    def call(self, method: str, params: dict[str, Any] | None = None) -> Any:
        """The result of ``method``; raises :class:`ClientError`."""
        rid = next(self._ids)
        request: dict[str, Any] = {"jsonrpc": "2.0", "id": rid, "method": method}
        if params:
            request["params"] = params
        answer = self._exchange(json.dumps(request).encode() + b"\n")
        if not isinstance(answer, dict) or answer.get("id") not in (rid, None):
            raise ClientError(f"the daemon at {self.path} gave an answer that is not JSON-RPC")
        error = answer.get("error")
        if isinstance(error, dict):
            raise RemoteError(
                int(error.get("code", 0)), str(error.get("message", "")), error.get("data")
            )
        return answer.get("result")

    def _exchange(self, data: bytes) -> Any:
        start = f"start one with 'bitcraps --data-dir {self.data_dir} node'"
        if not self.path.exists():
            raise NoDaemon(
                f"no bitcraps node is running with data directory {self.data_dir} "
                f"(no control socket {self.path}); {start}"
            )
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(self.timeout)
            try:
                sock.connect(str(self.path))
            except (ConnectionRefusedError, FileNotFoundError):
                raise NoDaemon(
                    f"no bitcraps node is running with data directory {self.data_dir} "
                    f"(its control socket {self.path} is left from an earlier run); {start}"
                ) from None
            except PermissionError:
                raise ClientError(
                    f"permission denied on the control socket {self.path}: run this as the "
                    "user the node runs as"
                ) from None
            except OSError as exc:
                if exc.errno == errno.ENAMETOOLONG or "too long" in str(exc):
                    raise ClientError(
                        f"the control socket path {self.path} is too long for a Unix socket: "
                        "use a shorter --data-dir"
                    ) from None
                raise ClientError(f"cannot reach the node at {self.path}: {exc}") from None
            try:
                sock.sendall(data)
                buffer = b""
                while not buffer.endswith(b"\n"):
                    chunk = sock.recv(1 << 16)
                    if not chunk:
                        raise ClientError(
                            f"the node at {self.path} closed the connection without answering "
                            "(is it stopping?)"
                        )
                    buffer += chunk
                    if len(buffer) > MAX_ANSWER:
                        raise ClientError("the node's answer is too large")
            except TimeoutError:
                raise ClientError(
                    f"the node at {self.path} did not answer within {self.timeout:.0f} s"
                ) from None
            except OSError as exc:
                raise ClientError(f"lost the node at {self.path}: {exc}") from None
        try:
            return json.loads(buffer)
        except ValueError:
            raise ClientError(f"the node at {self.path} answered with something not JSON") from None
