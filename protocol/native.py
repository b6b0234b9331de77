"""Compiled or interpreted: which hot-path modules run as mypyc-compiled C, and a stale guard.

An install may compile the modules in :data:`NATIVE_MODULES` with mypyc (``setup.py``), which
writes ``native.json``: the SHA-256 of each source it compiled, or why it compiled nothing
(``BITCRAPS_PURE=1``, or the build failed).  Python prefers a compiled
module to its ``.py`` file, so after an edit (or a ``git pull``) in an editable checkout the
old compiled code would silently keep running.  :func:`guard`, run when ``protocol`` or
``node`` is first imported, compares the manifest with the sources; if any differs, or
``BITCRAPS_PURE=1`` is set, it makes all of them load from source (they are compiled as one
group and call each other directly, so it is all or none) and warns once.  This module itself
is never compiled.
"""

from __future__ import annotations

import hashlib
import importlib.abc
import importlib.machinery
import importlib.util
import json
import os
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import Final

__all__ = ["NATIVE_MODULES", "StaleNativeWarning", "guard", "status"]

NATIVE_MODULES: Final = (
    "protocol.wire",
    "protocol.checkers",
    "protocol.frame",
    "node.core.dedup",
    "node.core.holdback",
    "node.core.ledger",
    "node.core.log",
    "node.core.events",
    "node.core.forks",
    "node.core.waits",
    "node.core.pulls",
    "node.core.replica",
    "node.drivers.store",
)
"""The modules ``setup.py`` compiles (keep the two lists equal)."""

ROOT: Final = Path(__file__).resolve().parent.parent
"""The directory holding the ``protocol`` and ``node`` packages."""
MANIFEST: Final = Path(__file__).resolve().with_name("native.json")


class StaleNativeWarning(UserWarning):
    """Compiled modules exist but do not match their sources: the sources run instead."""


PACKAGES: Final = ("protocol", "node")
"""The packages whose modules the guard governs."""


class _SourceFirst(importlib.abc.MetaPathFinder):
    """Loads every module of :data:`PACKAGES` from its ``.py`` file, except those in
    ``compiled`` (then the normal machinery finds their extension): leftovers of an older
    build, or a build whose sources changed, never load."""

    def __init__(self, compiled: Sequence[str], root: Path) -> None:
        self.compiled = frozenset(compiled)
        self.root = root

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None,
        target: ModuleType | None = None,
    ) -> importlib.machinery.ModuleSpec | None:
        package, dot, _ = fullname.partition(".")
        if not dot or package not in PACKAGES or fullname in self.compiled:
            return None
        source = self.root / (fullname.replace(".", "/") + ".py")
        if not source.is_file():
            return None
        return importlib.util.spec_from_file_location(fullname, source)


_state: dict[str, str] = {}


def guard() -> str:
    """Decide once per process whether the compiled modules may load; return why (see
    :func:`status`)."""
    if "decision" not in _state:
        loaded = [name for name in NATIVE_MODULES if name in sys.modules]
        forced = os.environ.get("BITCRAPS_PURE") == "1"
        _state["decision"] = _decide(MANIFEST, ROOT, forced, loaded)
    return _state["decision"]


def _decide(manifest: Path, root: Path, forced_pure: bool, loaded: Sequence[str] = ()) -> str:
    """The decision for the native modules under ``root``, with the finder that enforces it;
    ``loaded`` are those already imported (then it is too late to choose; cannot happen
    through the package imports)."""
    allowed: list[str] = []
    try:
        record = json.loads(manifest.read_text())
        recorded: dict[str, str] = record["modules"]
    except (OSError, ValueError, KeyError, TypeError):
        reason = "pure: not compiled at install"
    else:
        if record.get("failed"):
            reason = f"pure: the native build failed ({record['failed']})"
        elif record.get("pure") or not recorded:
            reason = f"pure: {record.get('pure') or 'nothing compiled at install'}"
        elif forced_pure:
            reason = "pure: BITCRAPS_PURE=1"
        else:
            stale = [n for n in NATIVE_MODULES if recorded.get(n) != _digest(root, n)]
            if stale:
                reason = f"pure: {', '.join(stale)} changed since the native build"
                warnings.warn(
                    f"bitcraps: {reason}; running the Python sources"
                    " (rebuild with `pip install -e .`)",
                    StaleNativeWarning,
                    stacklevel=3,
                )
            else:
                reason, allowed = "compiled", list(NATIVE_MODULES)
    if loaded and not allowed:
        return f"{reason} (but {', '.join(loaded)} already loaded)"
    sys.meta_path.insert(0, _SourceFirst(allowed, root))
    return reason


def _digest(root: Path, name: str) -> str:
    try:
        return hashlib.sha256((root / (name.replace(".", "/") + ".py")).read_bytes()).hexdigest()
    except OSError:
        return ""


def status() -> dict[str, str]:
    """What runs: ``{"native": decision, module: "compiled" | "python" | "not loaded"}``, and
    whether the optional C extensions ``protocol._sha256`` and ``protocol._slots`` run."""
    out = {"native": guard()}
    from protocol import digest, slots  # noqa: PLC0415 (after the guard decided)

    out["protocol._sha256"] = "compiled" if digest.NATIVE else "hashlib"
    out["protocol._slots"] = "compiled" if slots.NATIVE else "python"
    for name in NATIVE_MODULES:
        module = sys.modules.get(name)
        if module is None:
            out[name] = "not loaded"
        else:
            out[name] = "python" if str(module.__file__).endswith(".py") else "compiled"
    return out
