"""Compiled or interpreted: the guard that keeps stale compiled modules from running.

``setup.py`` compiles the hot path with mypyc and writes ``manifest.json`` here: the SHA-256 of
each source it compiled, or why it compiled nothing.  Python prefers an extension to the ``.py``
beside it, so in an editable checkout an edit would silently keep running the old compiled code;
importing this package (``protocol`` does, first) makes every module of :data:`PACKAGES` load
from source unless the manifest matches all the sources and ``BITCRAPS_PURE=1`` is not set.
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

__all__ = ["MANIFEST", "PACKAGES", "StaleNativeWarning", "guard", "status"]

PACKAGES: Final = ("protocol", "node")
"""The packages whose modules the guard governs (every compiled module is in one)."""
ROOT: Final = Path(__file__).resolve().parent.parent
"""The directory holding this package and those of :data:`PACKAGES`."""
MANIFEST: Final = Path(__file__).resolve().with_name("manifest.json")
"""Written by ``setup.py``: ``{"modules": {name: sha256 of its source}}``, plus ``"pure"`` or
``"failed"`` (why nothing was compiled); see docs/BUILD.md."""


class StaleNativeWarning(UserWarning):
    """Compiled modules exist but do not match their sources: the sources run instead."""


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


def _decide(manifest: Path, root: Path, forced_pure: bool) -> str:
    """The decision for the modules under ``root``, with the finder that enforces it installed
    first on ``sys.meta_path``."""
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
            stale = [name for name, sha in recorded.items() if _sha256(root, name) != sha]
            if stale:
                reason = f"pure: {', '.join(stale)} changed since the native build"
                warnings.warn(
                    f"bitcraps: {reason}; running the Python sources"
                    " (rebuild with `pip install -e .`)",
                    StaleNativeWarning,
                    stacklevel=2,
                )
            else:
                reason, allowed = "compiled", list(recorded)
    sys.meta_path.insert(0, _SourceFirst(allowed, root))
    return reason


def _sha256(root: Path, name: str) -> str:
    try:
        return hashlib.sha256((root / (name.replace(".", "/") + ".py")).read_bytes()).hexdigest()
    except OSError:
        return ""


_DECISION: Final = _decide(MANIFEST, ROOT, os.environ.get("BITCRAPS_PURE") == "1")


def guard() -> str:
    """Why the hot path runs as it does: ``"compiled"``, or ``"pure: <why>"``."""
    return _DECISION


def status() -> dict[str, str]:
    """What runs: ``{"native": guard(), module: "compiled" | "python" | "not loaded"}`` for
    every module the build compiled, and for each optional C extension it built whether it
    runs (``"compiled"``) or its Python fallback does (``"python"``)."""
    out = {"native": _DECISION}
    try:
        record = json.loads(MANIFEST.read_text())
        compiled, optional = list(record["modules"]), list(record.get("optional", {}))
    except (OSError, ValueError, KeyError, TypeError):
        return out
    for name in compiled:
        module = sys.modules.get(name)
        if module is None:
            out[name] = "not loaded"
        else:
            out[name] = "python" if str(module.__file__).endswith(".py") else "compiled"
    pure = os.environ.get("BITCRAPS_PURE") == "1"  # the fallbacks then run, loaded or not
    for name in optional:
        out[name] = "compiled" if name in sys.modules and not pure else "python"
    return out
