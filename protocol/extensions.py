"""The choice between an optional C extension and its Python fallback (docs/BUILD.md).

The install builds each hand-written extension if it can (``setup.py``'s ``OPTIONAL``) and
records the outcome in the ``native`` manifest; a module that wraps one asks :func:`optional`
for the extension's function, which gives the fallback when the extension was not built or
``BITCRAPS_PURE=1`` selects the sources.
"""

from __future__ import annotations

import importlib
import os
from typing import TypeVar

__all__ = ["optional"]

_F = TypeVar("_F")


def optional(module: str, name: str, fallback: _F) -> tuple[_F, bool]:
    """``module.name`` and True when the extension ``module`` is built and wanted, else
    ``fallback`` and False."""
    if os.environ.get("BITCRAPS_PURE") == "1":
        return fallback, False
    try:
        extension = importlib.import_module(module)
    except ImportError:
        return fallback, False
    chosen: _F = getattr(extension, name)
    return chosen, True
