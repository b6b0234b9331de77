"""Real ``bitcraps node`` processes on loopback for the tests, driven through the daemon's
TEST-ONLY debug hook (``BITCRAPS_DEBUG_SOCKET``) until the control API exists.

:class:`Daemon` starts one process (port 0 unless told, no discovery), waits until its hook
answers, and talks to it; :func:`wait_for` polls a condition.  Every wait has a deadline.
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
        self.socket_path = data_dir.parent / f"{name}.sock"
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
        """Spawn and wait until the hook answers; learn the identity and the bound port."""
        self.socket_path.unlink(missing_ok=True)
        process = self.spawn()
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise DaemonFailed(f"{self.name} exited {process.returncode}: {self.log()}")
            if self.socket_path.exists():
                try:
                    status = self.status()
                except OSError:
                    time.sleep(0.05)
                    continue
                self.identity = status["identity"]
                self.address = (status["address"][0], status["address"][1])
                self.port = self.address[1]
                return self
            time.sleep(0.05)
        raise DaemonFailed(f"{self.name} did not start: {self.log()}")

    def log(self) -> str:
        try:
            return self.log_path.read_text()[-4000:]
        except OSError:
            return ""

    def ask(self, request: dict[str, Any], timeout: float = 10.0) -> dict[str, Any]:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout)
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

    def status(self) -> dict[str, Any]:
        return self.ask({"op": "status"})

    def transfer(self, to: str, amount: int, acks: list[list[object]] | None = None) -> str:
        """Issue a transfer; the frame (hex) once committed."""
        answer = self.ask({"op": "transfer", "to": to, "amount": amount, "acks": acks or []})
        if "error" in answer:
            raise DaemonFailed(f"{self.name}: {answer['error']}")
        value: str = answer["value"]
        return value

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
