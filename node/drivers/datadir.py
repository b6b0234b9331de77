"""A node's data directory: where its key, store and lock live, and the lock that keeps a second
daemon out.

Layout: ``identity.key`` (the key, 0600), ``ledger.sqlite3`` (the store), ``node.lock`` (held
with ``flock`` while a daemon runs; it holds that daemon's pid), ``control.sock`` (the control
API's Unix socket, 0600, while a daemon runs).  The directory is created 0700.
The lock is released by the kernel when the process dies, ``kill -9`` included.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import Final

__all__ = ["DataDir", "DataDirError", "default_data_dir"]

KEY_FILE: Final = "identity.key"
STORE_FILE: Final = "ledger.sqlite3"
LOCK_FILE: Final = "node.lock"
CONTROL_FILE: Final = "control.sock"


class DataDirError(Exception):
    """The data directory cannot be used (one line saying why)."""


def default_data_dir() -> Path:
    """``$BITCRAPS_HOME``, else ``~/.bitcraps``."""
    home = os.environ.get("BITCRAPS_HOME")
    return Path(home) if home else Path.home() / ".bitcraps"


class DataDir:
    """One data directory; :meth:`lock` before using it, :meth:`unlock` when done."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.key_path = path / KEY_FILE
        self.store_path = path / STORE_FILE
        self.lock_path = path / LOCK_FILE
        self.control_path = path / CONTROL_FILE
        self._fd: int | None = None

    def lock(self) -> None:
        """Create the directory if needed and take its lock; raise :class:`DataDirError` naming
        the holder's pid when another daemon has it."""
        try:
            self.path.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise DataDirError(
                f"cannot use the data directory {self.path}: {exc.strerror}"
            ) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 32).decode(errors="replace").strip()
            os.close(fd)
            who = f" (pid {holder})" if holder.isdigit() else ""
            raise DataDirError(
                f"the data directory {self.path} is in use by another bitcraps node{who}"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd

    def unlock(self) -> None:
        """Release the lock (idempotent)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
