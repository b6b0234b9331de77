"""The control API's server: JSON-RPC 2.0 over a Unix socket in the data directory (DESIGN.md
§7, docs/API.md), one JSON value per line each way.

A :class:`Registry` holds the methods, one function each with its declared params (the node's
are in :mod:`node.drivers.methods`; a table method is one more decorated function).  Every
request is checked before any method runs: a malformed request, an unknown method or a bad
param is a JSON-RPC error and nothing is done; a method that raises :class:`RpcError` answers
with it; anything else is logged and answered as an internal error — never a crash of the
daemon.  Requests on one connection are answered in order; connections run side by side, so a
slow method (a mesh ping) holds up only its own caller.  Sizes and connections are bounded.
It knows nothing of nodes: the context is whatever the methods take.
"""

from __future__ import annotations

import json
import logging
import os
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Generic, TypeVar

import trio

from node.drivers.jsonrpc import (
    BUSY,
    INTERNAL_ERROR,
    INVALID_PARAMS,
    INVALID_REQUEST,
    METHOD_NOT_FOUND,
    PARSE_ERROR,
    REFUSED,
    UNKNOWN_PEER,
    UNKNOWN_TABLE,
)

__all__ = [
    "BUSY",
    "INTERNAL_ERROR",
    "INVALID_PARAMS",
    "INVALID_REQUEST",
    "MAX_BATCH",
    "MAX_CONNECTIONS",
    "MAX_REQUEST",
    "METHOD_NOT_FOUND",
    "PARSE_ERROR",
    "REFUSED",
    "UNKNOWN_PEER",
    "UNKNOWN_TABLE",
    "ControlError",
    "ControlServer",
    "Method",
    "Param",
    "Registry",
    "RpcError",
    "bool_param",
    "int_param",
]

log = logging.getLogger("bitcraps.control")

MAX_REQUEST: Final = 64 * 1024
"""Bytes of one request line (a longer one is answered with an error and the connection closed)."""
MAX_CONNECTIONS: Final = 32
"""Control connections served at once (one more is answered BUSY and closed)."""
MAX_BATCH: Final = 32
"""Requests in one batch."""
IDLE_TIMEOUT: Final = 600.0
"""A connection that sends nothing for this long is closed."""
SUN_PATH_MAX: Final = 107
"""Bytes of a Unix socket path (Linux's sun_path, less its terminating zero)."""

C = TypeVar("C")
Params = dict[str, Any]
Handler = Callable[[C, Params], Awaitable[object]]


class ControlError(Exception):
    """The control socket cannot be served (one line saying why)."""


class RpcError(Exception):
    """A JSON-RPC error: ``code``, one readable line, optional ``data``."""

    def __init__(self, code: int, message: str, data: object = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data

    def to_json(self) -> dict[str, object]:
        error: dict[str, object] = {"code": self.code, "message": self.message}
        if self.data is not None:
            error["data"] = self.data
        return error


REQUIRED: Final[object] = object()


@dataclass(frozen=True, slots=True)
class Param:
    """One param of a method: its name, how its JSON value is checked and converted (``parse``
    raises ``ValueError`` or ``TypeError`` with a line naming what is wrong), its default
    (:data:`REQUIRED`: none), and one line for docs/API.md and ``bitcraps`` help."""

    name: str
    parse: Callable[[Any], object]
    default: object = REQUIRED
    doc: str = ""


@dataclass(frozen=True, slots=True)
class Method(Generic[C]):
    """One method: its name, the coroutine that runs it, its params and a one-line summary."""

    name: str
    handler: Handler[C]
    params: tuple[Param, ...] = ()
    summary: str = ""

    def bind(self, params: object) -> Params:
        """Check ``params`` (an object by name, an array by position, or absent) against the
        declared ones; the converted values, defaults filled in.  Raises :class:`RpcError`
        (INVALID_PARAMS) naming the first param that is wrong."""
        declared = {p.name: p for p in self.params}
        given: dict[str, object]
        if params is None:
            given = {}
        elif isinstance(params, list):
            if len(params) > len(self.params):
                raise RpcError(
                    INVALID_PARAMS,
                    f"{self.name} takes at most {len(self.params)} params, not {len(params)}",
                )
            given = {p.name: value for p, value in zip(self.params, params, strict=False)}
        elif isinstance(params, dict):
            unknown = sorted(set(params) - set(declared))
            if unknown:
                takes = ", ".join(declared) or "none"
                raise RpcError(
                    INVALID_PARAMS, f"{self.name} has no param {unknown[0]!r} (it takes: {takes})"
                )
            given = params
        else:
            raise RpcError(INVALID_PARAMS, "params must be an object or an array")
        out: Params = {}
        for p in self.params:
            if p.name not in given:
                if p.default is REQUIRED:
                    raise RpcError(INVALID_PARAMS, f"{self.name} needs param {p.name!r}")
                out[p.name] = p.default
                continue
            try:
                out[p.name] = p.parse(given[p.name])
            except (ValueError, TypeError) as exc:
                raise RpcError(INVALID_PARAMS, f"param {p.name!r}: {exc}") from None
        return out


class Registry(Generic[C]):
    """The methods a server answers, by name."""

    def __init__(self) -> None:
        self._methods: dict[str, Method[C]] = {}

    def add(self, method: Method[C]) -> None:
        if method.name in self._methods:
            raise ValueError(f"method {method.name!r} is already registered")
        self._methods[method.name] = method

    def method(
        self, name: str, *params: Param, summary: str = ""
    ) -> Callable[[Handler[C]], Handler[C]]:
        """Register the decorated coroutine ``(context, params) -> result`` as ``name``."""

        def register(handler: Handler[C]) -> Handler[C]:
            doc = summary or (handler.__doc__ or "").strip().split("\n")[0]
            self.add(Method(name, handler, params, doc))
            return handler

        return register

    def get(self, name: str) -> Method[C] | None:
        return self._methods.get(name)

    def methods(self) -> list[Method[C]]:
        """Every method, by name."""
        return [self._methods[name] for name in sorted(self._methods)]

    def names(self) -> list[str]:
        return sorted(self._methods)


# --------------------------------------------------------------------------- param parsers


def int_param(lo: int, hi: int) -> Callable[[Any], int]:
    """An integer in ``lo..hi`` (a JSON number without a fraction; not a boolean)."""

    def parse(value: Any) -> int:
        if type(value) is not int:
            raise TypeError(f"expected an integer, got {_json_type(value)}")
        if not lo <= value <= hi:
            raise ValueError(f"{value} is out of range {lo}..{hi}")
        return value

    return parse


def bool_param(value: Any) -> bool:
    """true or false."""
    if type(value) is not bool:
        raise TypeError(f"expected true or false, got {_json_type(value)}")
    return value


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return f"the number {value!r}"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


# --------------------------------------------------------------------------- the server


@dataclass(slots=True)
class ControlServer(Generic[C]):
    """Serves ``registry`` with ``context`` on a Unix socket: ``await nursery.start(
    server.serve, path)``."""

    registry: Registry[C]
    context: C
    max_connections: int = MAX_CONNECTIONS
    max_request: int = MAX_REQUEST
    idle_timeout: float = IDLE_TIMEOUT
    observe: Callable[[str, float], None] | None = None
    """Called with a method's name and the seconds it took (metrics)."""
    connections: int = 0
    served: int = field(default=0)

    async def serve(
        self, path: Path, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
    ) -> None:
        """Listen on ``path`` (0600; a stale socket file there is replaced — the caller holds
        the data directory's lock) until cancelled; the file is removed on the way out."""
        encoded = os.fsencode(path)
        if len(encoded) > SUN_PATH_MAX:
            raise ControlError(
                f"the control socket path {path} is {len(encoded)} bytes, more than a Unix "
                f"socket allows ({SUN_PATH_MAX}): use a shorter --data-dir"
            )
        sock = trio.socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            path.unlink(missing_ok=True)
            old = os.umask(0o177)  # created 0600: never readable by others, not even briefly
            try:
                await sock.bind(str(path))
            finally:
                os.umask(old)
            os.chmod(path, 0o600)
            sock.listen(16)
        except OSError as exc:
            sock.close()
            raise ControlError(f"cannot serve the control socket {path}: {exc.strerror}") from None
        listener = trio.SocketListener(sock)
        task_status.started()
        try:
            await trio.serve_listeners(self.session, [listener])
        finally:
            with trio.CancelScope(shield=True):
                path.unlink(missing_ok=True)

    async def session(self, stream: trio.abc.Stream) -> None:
        """One connection: request lines in, response lines out, in order."""
        async with stream:
            if self.connections >= self.max_connections:
                error = RpcError(
                    BUSY,
                    f"the node serves {self.max_connections} control connections at once; "
                    "try again",
                )
                await _send(stream, _error(None, error))
                return
            self.connections += 1
            try:
                await self._lines(stream)
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                pass  # the client went away
            except Exception:  # a bug here must not take the daemon down
                log.exception("control connection failed")
            finally:
                self.connections -= 1

    async def _lines(self, stream: trio.abc.Stream) -> None:
        buffer = bytearray()
        while True:
            newline = buffer.find(b"\n")
            if newline < 0:
                if len(buffer) > self.max_request:
                    error = RpcError(
                        INVALID_REQUEST, f"a request is at most {self.max_request} bytes"
                    )
                    await _send(stream, _error(None, error))
                    return
                chunk: bytes | bytearray = b""
                with trio.move_on_after(self.idle_timeout):
                    chunk = await stream.receive_some(65536)
                if not chunk:
                    return  # closed, or idle too long
                buffer += chunk
                continue
            line = bytes(buffer[:newline])
            del buffer[: newline + 1]
            if len(line) > self.max_request:
                error = RpcError(INVALID_REQUEST, f"a request is at most {self.max_request} bytes")
                await _send(stream, _error(None, error))
                return
            if not line.strip():
                continue
            answer = await self.handle(line)
            if answer is not None:
                await _send(stream, answer)

    async def handle(self, line: bytes) -> object:
        """The answer to one request line (a response, a list of them, or None when nothing
        is to be sent back: notifications only)."""
        try:
            request = json.loads(line, parse_constant=_no_constant)
        except (ValueError, UnicodeDecodeError, RecursionError) as exc:
            return _error(None, RpcError(PARSE_ERROR, f"not JSON: {exc}"))
        if isinstance(request, list):
            if not request:
                return _error(None, RpcError(INVALID_REQUEST, "an empty batch"))
            if len(request) > MAX_BATCH:
                return _error(
                    None, RpcError(INVALID_REQUEST, f"a batch has at most {MAX_BATCH} requests")
                )
            answers = [await self._one(item) for item in request]
            kept = [a for a in answers if a is not None]
            return kept or None
        return await self._one(request)

    async def _one(self, request: object) -> dict[str, object] | None:
        if not isinstance(request, dict):
            return _error(None, RpcError(INVALID_REQUEST, "a request is a JSON object"))
        rid = request.get("id")
        if "id" in request and not _valid_id(rid):
            error = RpcError(INVALID_REQUEST, "id must be a string, an integer or null")
            return _error(None, error)
        notification = "id" not in request
        if request.get("jsonrpc") != "2.0":
            return _error(rid, RpcError(INVALID_REQUEST, 'a request has "jsonrpc": "2.0"'))
        name = request.get("method")
        if not isinstance(name, str):
            return _error(rid, RpcError(INVALID_REQUEST, "method must be a string"))
        extra = sorted(set(request) - {"jsonrpc", "method", "params", "id"})
        if extra:
            return _error(rid, RpcError(INVALID_REQUEST, f"unknown member {extra[0]!r}"))
        method = self.registry.get(name)
        if method is None:
            known = ", ".join(self.registry.names())
            return _error(rid, RpcError(METHOD_NOT_FOUND, f"no method {name!r} (known: {known})"))
        started = trio.current_time()
        try:
            params = method.bind(request.get("params"))
            result = await method.handler(self.context, params)
        except RpcError as exc:
            answer = None if notification else _error(rid, exc)
        except Exception as exc:
            log.exception("control method %s failed", name)
            error = RpcError(INTERNAL_ERROR, f"internal error in {name}: {type(exc).__name__}")
            answer = None if notification else _error(rid, error)
        else:
            answer = None if notification else {"jsonrpc": "2.0", "id": rid, "result": result}
        self.served += 1
        if self.observe is not None:
            self.observe(name, trio.current_time() - started)
        return answer


def _valid_id(rid: object) -> bool:
    return rid is None or isinstance(rid, str) or (type(rid) is int)


def _no_constant(name: str) -> object:
    raise ValueError(f"{name} is not JSON")


def _error(rid: object, error: RpcError) -> dict[str, object]:
    return {"jsonrpc": "2.0", "id": rid, "error": error.to_json()}


async def _send(stream: trio.abc.Stream, answer: object) -> None:
    try:
        text = json.dumps(answer, separators=(",", ":"), default=_default, allow_nan=False)
    except (TypeError, ValueError) as exc:
        log.error("a control answer is not JSON: %s", exc)
        error = RpcError(INTERNAL_ERROR, "internal error: the answer is not JSON")
        text = json.dumps(_error(None, error))
    await stream.send_all(text.encode() + b"\n")


def _default(value: object) -> object:
    if isinstance(value, bytes):
        return value.hex()
    raise TypeError(f"{type(value).__name__} is not JSON")
