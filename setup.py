"""Build hook: compile the ledger's hot path with mypyc; fall back to pure Python.

Everything else about the package is declared in ``pyproject.toml``.  The modules in
``NATIVE`` are type-checked and compiled to C extensions by mypyc (part of mypy) when a wheel
or an editable install is built; the ``.py`` sources ship beside them and are what runs when
no C compiler is available, when ``BITCRAPS_PURE=1`` is set at build time, or when a source has
changed since the build (the ``native`` package checks the manifest written here at import).

Two small hand-written C extensions are built beside them, each on its own:
``protocol._sha256`` (SHA-256 through OpenSSL's libcrypto, see ``protocol/hashing.py``; it needs
the OpenSSL headers) and ``protocol._acyclic`` (values out of the cycle collector's view, see
``protocol/acyclic.py``).  If one does not build it is skipped, its Python fallback runs, and
the rest of the build goes on.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path
from typing import Any

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

ROOT = Path(__file__).resolve().parent
NATIVE = (
    "protocol/wire.py",
    "protocol/kinds.py",
    "protocol/checkers.py",
    "protocol/frame.py",
    "node/core/dedup.py",
    "node/core/holdback.py",
    "node/core/ledger.py",
    "node/core/log.py",
    "node/core/events.py",
    "node/core/forks.py",
    "node/core/waits.py",
    "node/core/pulls.py",
    "node/core/replica.py",
    "node/core/craps/table.py",
    "node/core/craps/bettypes.py",
    "node/core/craps/outcome.py",
    "node/core/craps/phase.py",
    "node/core/craps/dice.py",
    "node/core/craps/exposure.py",
    "node/core/craps/line.py",
    "node/core/craps/numbers.py",
    "node/core/craps/odds.py",
    "node/core/craps/series.py",
    "node/core/craps/placement.py",
    "node/core/craps/settle.py",
    "node/core/tables/params.py",
    "node/core/tables/state.py",
    "node/core/tables/journal.py",
    "node/core/tables/steps.py",
    "node/core/tables/money.py",
    "node/core/tables/player.py",
    "node/core/tables/engine.py",
    "node/core/defence.py",
    "node/core/links.py",
    "node/core/node.py",
    "node/drivers/store.py",
)
"""The hot path, in dependency order (the manifest records it for the ``native`` guard)."""
OPTIONAL = {
    "protocol._sha256": {"sources": ["protocol/_sha256.c"], "libraries": ["crypto"]},
    "protocol._acyclic": {"sources": ["protocol/_acyclic.c"]},
}
"""Hand-written C extensions built beside the mypyc group (no ``.py``; each optional)."""
GROUP = "bitcraps_native"
MANIFEST = "native/manifest.json"
"""Where the build records what it compiled, read by the ``native`` package at import."""
METADATA_ONLY = {"egg_info", "dist_info", "sdist", "--name", "--version"}


def _say(message: str) -> None:
    print(f"bitcraps build: {message}", file=sys.stderr)


def _record(manifest: Path, **outcome: object) -> None:
    """Write what the build did where ``native`` reads it (see docs/BUILD.md)."""
    manifest.write_text(json.dumps({"group": GROUP, **outcome}, indent=1) + "\n")


def _building() -> bool:
    commands = {arg for arg in sys.argv[1:] if not arg.startswith("-") or arg in METADATA_ONLY}
    return not commands or not commands <= METADATA_ONLY


def _optional_extensions() -> list[Any]:
    return [Extension(name, **spec) for name, spec in OPTIONAL.items()]


def _extensions() -> list[Any]:
    if not _building():
        return []
    manifest = ROOT / MANIFEST
    if os.environ.get("BITCRAPS_PURE") == "1":
        _say("BITCRAPS_PURE=1: pure Python, nothing compiled")
        _record(manifest, modules={}, pure="BITCRAPS_PURE=1 at install")
        return []
    if sys.implementation.name != "cpython":
        _record(manifest, modules={}, pure=f"{sys.implementation.name} runs the sources")
        return []
    try:
        from mypyc.build import mypycify  # noqa: PLC0415 (only needed to build)

        return [
            *mypycify(list(NATIVE), opt_level="3", group_name=GROUP),
            *_optional_extensions(),
        ]
    except (Exception, SystemExit) as exc:  # no mypyc, or it refused the code (it exits)
        _say(f"mypyc unavailable ({exc!r}); installing pure Python")
        _record(manifest, modules={}, failed=f"mypyc: {exc!r}")
        return _optional_extensions()


class BuildNative(build_ext):  # type: ignore[misc]
    """``build_ext`` that never fails the install: without a working C toolchain the
    extensions are dropped and the pure-Python modules are used.  On success it writes the
    manifest of compiled sources into the ``native`` package."""

    def initialize_options(self) -> None:
        super().initialize_options()
        self.optional: dict[str, str] = {}

    def build_extension(self, ext: Any) -> None:
        if ext.name not in OPTIONAL:
            super().build_extension(ext)
            return
        try:  # optional: its Python module falls back to plain Python
            super().build_extension(ext)
        except Exception as exc:  # e.g. no OpenSSL headers
            _say(f"{ext.name} not built ({exc!r}); its Python fallback will run")
            Path(self.get_ext_fullpath(ext.name)).unlink(missing_ok=True)
            self.optional[ext.name] = f"not built: {exc!r}"
        else:
            self.optional[ext.name] = "compiled"

    def run(self) -> None:
        if not self.extensions:
            return
        if all(ext.name in OPTIONAL for ext in self.extensions):  # mypyc unavailable
            super().run()
            return
        try:
            super().run()
        except Exception as exc:  # no compiler, missing headers: ship pure Python
            _say(f"C build failed ({exc!r}); installing pure Python")
            for ext in self.extensions:
                Path(self.get_ext_fullpath(ext.name)).unlink(missing_ok=True)
            self.extensions = []
            _record(ROOT / MANIFEST, modules={}, failed=f"C build: {exc!r}")
            return
        manifest = Path(ROOT if self.inplace else self.build_lib) / MANIFEST
        modules = {
            path[: -len(".py")].replace("/", "."): hashlib.sha256(
                (ROOT / path).read_bytes()
            ).hexdigest()
            for path in NATIVE
        }
        _record(manifest, modules=modules, optional=self.optional)
        if self.inplace:  # extensions of modules no longer compiled: remove (never loaded anyway)
            for path in [*ROOT.glob("protocol/*.so"), *ROOT.glob("node/**/*.so")]:
                relative = path.relative_to(ROOT).parent.parts
                name = ".".join((*relative, path.name.split(".")[0]))
                if name not in modules and name not in OPTIONAL:
                    path.unlink()
                    _say(f"removed {path.relative_to(ROOT)}, left by an older build")
        _say(f"compiled {len(modules)} modules with mypyc; manifest {manifest}")


setup(ext_modules=_extensions(), cmdclass={"build_ext": BuildNative})
