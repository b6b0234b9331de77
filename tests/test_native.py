"""The compiled-module guard: stale or unwanted compiled code never runs in place of the source.

``protocol.native`` decides once per process; these tests call its decision function on a
scratch tree, and check the live decision against the files actually loaded.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from protocol import native
from protocol.native import NATIVE_MODULES, StaleNativeWarning, _decide, _SourceFirst


def _tree(root: Path) -> Path:
    """Sources of every native module under ``root`` and a manifest that matches them."""
    modules = {}
    for name in NATIVE_MODULES:
        path = root / (name.replace(".", "/") + ".py")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"NAME = {name!r}\n")
        modules[name] = hashlib.sha256(path.read_bytes()).hexdigest()
    manifest = root / "native.json"
    manifest.write_text(json.dumps({"group": "g", "modules": modules}))
    return manifest


@pytest.fixture
def meta_path(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """A private, empty ``sys.meta_path``: a decision's finder never leaks into this process
    (and this process's own decision, e.g. under BITCRAPS_PURE=1, is not in the way)."""
    paths: list[object] = []
    monkeypatch.setattr(sys, "meta_path", paths)
    return paths


def test_without_a_manifest_nothing_is_compiled(tmp_path: Path, meta_path: list[object]) -> None:
    assert _decide(tmp_path / "native.json", tmp_path, False) == "pure: not compiled at install"
    assert not any(isinstance(f, _SourceFirst) for f in meta_path)


def test_matching_sources_let_the_compiled_modules_load(
    tmp_path: Path, meta_path: list[object]
) -> None:
    manifest = _tree(tmp_path)
    assert _decide(manifest, tmp_path, False) == "compiled"
    assert not any(isinstance(f, _SourceFirst) for f in meta_path)


def test_an_edited_source_sends_every_native_module_to_its_source(
    tmp_path: Path, meta_path: list[object]
) -> None:
    manifest = _tree(tmp_path)
    edited = tmp_path / "node" / "ledger.py"
    edited.write_text(edited.read_text() + "# edited\n")
    with pytest.warns(StaleNativeWarning, match=r"node\.ledger changed"):
        reason = _decide(manifest, tmp_path, False)
    assert reason.startswith("pure: node.ledger changed")
    finder = meta_path[0]
    assert isinstance(finder, _SourceFirst)
    for name in NATIVE_MODULES:  # all or none: the group calls itself directly
        spec = finder.find_spec(name, None)
        assert spec is not None and spec.origin == str(tmp_path / (name.replace(".", "/") + ".py"))
    assert finder.find_spec("protocol.kinds", None) is None


def test_bitcraps_pure_forces_the_sources_without_a_warning(
    tmp_path: Path, meta_path: list[object], recwarn: pytest.WarningsRecorder
) -> None:
    manifest = _tree(tmp_path)
    assert _decide(manifest, tmp_path, True) == "pure: BITCRAPS_PURE=1"
    assert isinstance(meta_path[0], _SourceFirst)
    assert not [w for w in recwarn if issubclass(w.category, StaleNativeWarning)]


def test_a_corrupt_manifest_counts_as_no_build(tmp_path: Path, meta_path: list[object]) -> None:
    manifest = tmp_path / "native.json"
    manifest.write_text("{not json")
    assert _decide(manifest, tmp_path, False) == "pure: not compiled at install"


def test_status_reports_what_actually_loaded() -> None:
    import node.replica  # noqa: F401, PLC0415 (loads every native module)

    status = native.status()
    compiled = status["native"] == "compiled"
    for name in NATIVE_MODULES:
        assert status[name] == ("compiled" if compiled else "python"), (name, status)


def test_bitcraps_pure_in_a_fresh_process_runs_the_sources() -> None:
    code = "import node.replica, protocol.native as n, json; print(json.dumps(n.status()))"
    env = {"BITCRAPS_PURE": "1", "PATH": ""}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    status = json.loads(out.stdout)
    assert status["native"] in {"pure: BITCRAPS_PURE=1", "pure: not compiled at install"}
    assert all(status[name] == "python" for name in NATIVE_MODULES)


def test_a_failed_build_is_reported_as_such(tmp_path: Path, meta_path: list[object]) -> None:
    manifest = tmp_path / "native.json"
    manifest.write_text(json.dumps({"modules": {}, "failed": "mypyc: SystemExit(1)"}))
    assert _decide(manifest, tmp_path, False) == (
        "pure: the native build failed (mypyc: SystemExit(1))"
    )
    manifest.write_text(json.dumps({"modules": {}, "pure": "BITCRAPS_PURE=1 at install"}))
    assert _decide(manifest, tmp_path, False) == "pure: BITCRAPS_PURE=1 at install"
    assert not meta_path


def test_this_install_did_not_fail_to_compile() -> None:
    """An install on a machine with a C compiler compiles the hot path, or records why not;
    a silent fallback (a type error mypyc refuses, a broken build environment) fails here."""
    decision = native.guard()
    assert not decision.startswith("pure: the native build failed"), decision
