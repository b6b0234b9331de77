"""The compiled-module guard: stale or unwanted compiled code never runs in place of the source.

``native`` decides once per process, when ``protocol`` first imports it; these tests call its
decision function on a scratch tree, and check the live decision against the files loaded.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

import native
from native import StaleNativeWarning, _decide, _SourceFirst
from protocol import acyclic, hashing

NATIVE_MODULES = ("protocol.wire", "protocol.frame", "node.core.ledger", "node.drivers.store")
"""A scratch tree's compiled modules (the real list is ``setup.py``'s)."""


def _tree(root: Path) -> Path:
    """Sources of every native module under ``root`` and a manifest that matches them."""
    modules = {}
    for name in NATIVE_MODULES:
        path = root / (name.replace(".", "/") + ".py")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"NAME = {name!r}\n")
        modules[name] = hashlib.sha256(path.read_bytes()).hexdigest()
    manifest = root / "manifest.json"
    manifest.write_text(json.dumps({"group": "g", "modules": modules}))
    return manifest


@pytest.fixture
def meta_path(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """A private, empty ``sys.meta_path``: a decision's finder never leaks into this process
    (and this process's own decision, e.g. under BITCRAPS_PURE=1, is not in the way)."""
    paths: list[object] = []
    monkeypatch.setattr(sys, "meta_path", paths)
    return paths


def _sources_win(finder: object, root: Path, names: tuple[str, ...] = NATIVE_MODULES) -> bool:
    """True when ``finder`` loads each of ``names`` from its ``.py`` file under ``root``."""
    assert isinstance(finder, _SourceFirst)
    for name in names:
        spec = finder.find_spec(name, None)
        if spec is None or spec.origin != str(root / (name.replace(".", "/") + ".py")):
            return False
    return True


def test_without_a_manifest_the_sources_load(tmp_path: Path, meta_path: list[object]) -> None:
    _tree(tmp_path).unlink()
    assert _decide(tmp_path / "manifest.json", tmp_path, False) == "pure: not compiled at install"
    assert _sources_win(meta_path[0], tmp_path)  # a stray extension module never loads


def test_matching_sources_let_the_compiled_modules_load(
    tmp_path: Path, meta_path: list[object]
) -> None:
    manifest = _tree(tmp_path)
    assert _decide(manifest, tmp_path, False) == "compiled"
    finder = meta_path[0]
    assert isinstance(finder, _SourceFirst)
    assert all(finder.find_spec(name, None) is None for name in NATIVE_MODULES)


def test_a_leftover_extension_of_a_module_no_longer_compiled_never_loads(
    tmp_path: Path, meta_path: list[object]
) -> None:
    manifest = _tree(tmp_path)
    (tmp_path / "node" / "drivers" / "durable.py").write_text("NAME = 'node.drivers.durable'\n")
    assert _decide(manifest, tmp_path, False) == "compiled"
    assert _sources_win(meta_path[0], tmp_path, ("node.drivers.durable",))
    assert meta_path[0].find_spec("node", None) is None  # type: ignore[attr-defined]


def test_an_edited_source_sends_every_native_module_to_its_source(
    tmp_path: Path, meta_path: list[object]
) -> None:
    manifest = _tree(tmp_path)
    edited = tmp_path / "node" / "core" / "ledger.py"
    edited.write_text(edited.read_text() + "# edited\n")
    with pytest.warns(StaleNativeWarning, match=r"node\.core\.ledger changed"):
        reason = _decide(manifest, tmp_path, False)
    assert reason.startswith("pure: node.core.ledger changed")
    assert _sources_win(meta_path[0], tmp_path)  # all or none: the group calls itself directly


def test_bitcraps_pure_forces_the_sources_without_a_warning(
    tmp_path: Path, meta_path: list[object], recwarn: pytest.WarningsRecorder
) -> None:
    manifest = _tree(tmp_path)
    assert _decide(manifest, tmp_path, True) == "pure: BITCRAPS_PURE=1"
    assert _sources_win(meta_path[0], tmp_path)
    assert not [w for w in recwarn if issubclass(w.category, StaleNativeWarning)]


def test_a_corrupt_manifest_counts_as_no_build(tmp_path: Path, meta_path: list[object]) -> None:
    manifest = _tree(tmp_path)
    manifest.write_text("{not json")
    assert _decide(manifest, tmp_path, False) == "pure: not compiled at install"
    assert _sources_win(meta_path[0], tmp_path)


def test_status_reports_what_actually_loaded() -> None:
    import node.drivers.driver  # noqa: F401, PLC0415 (loads every native module)

    status = native.status()
    compiled = status.pop("native") == "compiled"
    for name, runs in status.items():
        assert runs == ("compiled" if compiled else "python"), (name, status)


def test_bitcraps_pure_in_a_fresh_process_runs_the_sources() -> None:
    code = "import node.drivers.driver, native, json; print(json.dumps(native.status()))"
    env = {"BITCRAPS_PURE": "1", "PATH": ""}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    status = json.loads(out.stdout)
    assert status.pop("native") in {"pure: BITCRAPS_PURE=1", "pure: not compiled at install"}
    assert all(runs == "python" for runs in status.values()), status


def test_a_failed_build_is_reported_as_such(tmp_path: Path, meta_path: list[object]) -> None:
    manifest = _tree(tmp_path)
    manifest.write_text(json.dumps({"modules": {}, "failed": "mypyc: SystemExit(1)"}))
    assert _decide(manifest, tmp_path, False) == (
        "pure: the native build failed (mypyc: SystemExit(1))"
    )
    assert _sources_win(meta_path[0], tmp_path)
    manifest.write_text(json.dumps({"modules": {}, "pure": "BITCRAPS_PURE=1 at install"}))
    assert _decide(manifest, tmp_path, False) == "pure: BITCRAPS_PURE=1 at install"


def test_this_install_did_not_fail_to_compile() -> None:
    """An install on a machine with a C compiler compiles the hot path, or records why not;
    a silent fallback (a type error mypyc refuses, a broken build environment) fails here.
    Without a C compiler the pure-Python install is the intended outcome."""
    decision = native.guard()
    if decision.startswith("pure: the native build failed") and not _c_compiler():
        pytest.skip(f"no C compiler on this machine: {decision}")
    assert not decision.startswith("pure: the native build failed"), decision


def _c_compiler() -> bool:
    compiler = (sysconfig.get_config_var("CC") or "cc").split()[0]
    return shutil.which(compiler) is not None


OPTIONAL = {
    "protocol._sha256": (hashing, Path("/usr/include/openssl/evp.h")),
    "protocol._acyclic": (acyclic, None),
}
"""Each optional C extension: the module that wraps it, and the header it needs beyond
Python's own (without which the install may skip it)."""


@pytest.mark.parametrize("extension", sorted(OPTIONAL))
def test_an_optional_extension_the_install_built_runs(extension: str) -> None:
    """A built extension is used (a silent fallback fails here); an install that could not
    build it says why in the manifest, and that only on a machine without its header."""
    if not native.MANIFEST.is_file():
        pytest.skip("no native build in this install")
    outcome = json.loads(native.MANIFEST.read_text()).get("optional", {}).get(extension)
    if outcome is None:
        pytest.skip("this install compiled nothing (pure Python)")
    wrapper, header = OPTIONAL[extension]
    if outcome == "compiled":
        assert wrapper.NATIVE or os.environ.get("BITCRAPS_PURE") == "1"
    else:
        assert header is not None and not header.exists(), outcome
