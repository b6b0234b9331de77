"""Real ``bitcraps node`` processes on loopback for the tests, driven through the control API
(JSON-RPC on the data directory's socket, with the CLI's own client: money, mesh and tables), and
through the daemon's TEST-ONLY debug hook (``BITCRAPS_DEBUG_SOCKET``) only for what no user does:
publishing a frame signed elsewhere.

:class:`Daemon` starts one process (port 0 unless told, no discovery), waits until its control
API answers, and talks to it; :func:`wait_for` polls a condition.  Every wait has a deadline.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from node.drivers.client import ClientError, ControlClient

ROOT = Path(__file__).resolve().parents[1]
START_TIMEOUT = 20.0


class DaemonFailed(AssertionError):
    pass


class Daemon:
    """One ``bitcraps node`` process."""

    def __init__(
        self,
        name: str,
        data_dir: Path,
        *,
        peers: tuple[tuple[str, int], ...] = (),
        port: int = 0,
        extra: tuple[str, ...] = (),
        env: dict[str, str] | None = None,
    ) -> None:
        self.name = name
        self.data_dir = data_dir
        self.peers = peers
        self.port = port
        self.extra = extra
        self.env = env or {}
        self.socket_path = data_dir.parent / f"{name}.debug.sock"
        self.client = ControlClient(data_dir)
        self.log_path = data_dir.parent / f"{name}.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.identity = ""
        self.address: tuple[str, int] = ("127.0.0.1", port)

    def command(self) -> list[str]:
        cmd = [
            sys.executable,
            "-m",
            "node.drivers.cli",
            "node",
            "--data-dir",
            str(self.data_dir),
            "--listen",
            f"127.0.0.1:{self.port}",
            "--no-discovery",
            "--log-level",
            "debug",
        ]
        for host, port in self.peers:
            cmd += ["--peer", f"{host}:{port}"]
        return cmd + list(self.extra)

    def spawn(self) -> subprocess.Popen[bytes]:
        env = {**os.environ, "BITCRAPS_DEBUG_SOCKET": str(self.socket_path), **self.env}
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            self.command(), cwd=ROOT, env=env, stdout=log, stderr=log, stdin=subprocess.DEVNULL
        )
        log.close()
        return self.process

    def start(self) -> Daemon:
        """Spawn and wait until the control API answers; learn the identity and the port."""
        self.socket_path.unlink(missing_ok=True)
        process = self.spawn()
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise DaemonFailed(f"{self.name} exited {process.returncode}: {self.log()}")
            try:
                status = self.status()
            except ClientError:
                time.sleep(0.05)
                continue
            self.identity = status["identity"]
            host, _, port = status["address"].rpartition(":")
            self.address = (host, int(port))
            self.port = self.address[1]
            return self
        raise DaemonFailed(f"{self.name} did not start: {self.log()}")

    def log(self) -> str:
        try:
            return self.log_path.read_text()[-4000:]
        except OSError:
            return ""

    def call(self, method: str, params: dict[str, Any] | None = None) -> Any:
        """A control API method's result (raises the client's errors)."""
        return self.client.call(method, params)

    def status(self) -> dict[str, Any]:
        result: dict[str, Any] = self.call("status")
        return result

    def hwm(self, sender: str) -> int:
        """The HWM of ``sender``'s chain here."""
        value: int = self.call("balance", {"key": sender})["hwm"]
        return value

    def fork(self, sender: str) -> int:
        """``sender``'s fork point here (0: none)."""
        value: int = self.call("balance", {"key": sender})["fork"]
        return value

    def digest(self) -> str:
        value: str = self.call("state_digest")["digest"]
        return value

    def neighbours(self) -> int:
        value: int = self.status()["neighbours"]
        return value

    def transfer(self, to: str, amount: int) -> dict[str, Any]:
        """Issue a transfer (acknowledging what pays this node, as the API does); its result
        once committed."""
        try:
            result: dict[str, Any] = self.call(
                "transfer", {"to": to, "amount": amount, "allow_unknown": True}
            )
        except ClientError as exc:
            raise DaemonFailed(f"{self.name}: {exc}") from None
        return result

    def publish(self, frame: bytes) -> dict[str, Any]:
        """TEST-ONLY: hand the daemon a frame signed elsewhere (the debug hook)."""
        return self._hook({"op": "publish", "frame": frame.hex()})

    def table(self, game: str) -> dict[str, Any]:
        """This node's view of table ``game`` (the control API's ``game_show``)."""
        shown: dict[str, Any] = self.call("game_show", {"game": game, "rolls": 0})
        return shown

    def games(self) -> list[dict[str, Any]]:
        """The tables this node has seen (``games``)."""
        rows: list[dict[str, Any]] = self.call("games")["tables"]
        return rows

    def play(self, method: str, **params: Any) -> dict[str, Any]:
        """A table method's result, or :class:`DaemonFailed` with the node's one line."""
        try:
            result: dict[str, Any] = self.call(method, params)
        except ClientError as exc:
            raise DaemonFailed(f"{self.name}: {exc}") from None
        return result

    def _hook(self, request: dict[str, Any]) -> dict[str, Any]:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(10.0)
            sock.connect(str(self.socket_path))
            sock.sendall(json.dumps(request).encode() + b"\n")
            data = b""
            while not data.endswith(b"\n"):
                chunk = sock.recv(1 << 20)
                if not chunk:
                    raise OSError("hook closed")
                data += chunk
        answer: dict[str, Any] = json.loads(data)
        return answer

    def send_signal(self, signum: signal.Signals) -> None:
        assert self.process is not None
        self.process.send_signal(signum)

    def stop(self, signum: signal.Signals = signal.SIGTERM, timeout: float = 10.0) -> int:
        """Signal the process and wait for it; its exit status."""
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(signum)
        return self.process.wait(timeout=timeout)

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)


def wait_for(
    condition: Callable[[], bool], timeout: float = 30.0, every: float = 0.2, what: str = ""
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout} s waiting for {what or condition}")
