"""docs/GAME.md: its bet tables are exactly what the engine generates now (so the documented
payouts, exposures and house edges cannot drift), and they name every bet type."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

from node.core.craps.catalog import catalog
from protocol.bets import BetType

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "GAME.md"


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "gen_game_doc", ROOT / "scripts" / "gen_game_doc.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("gen_game_doc", module)
    spec.loader.exec_module(module)
    return module


gen = _generator()


def test_game_doc_bet_tables_are_what_the_engine_generates_now() -> None:
    text = DOC.read_text(encoding="utf-8")
    assert gen.splice(text) == text
    assert gen.main(["--check"]) == 0


def test_game_doc_has_one_row_per_bet_type_with_its_edge() -> None:
    text = DOC.read_text(encoding="utf-8")
    rows = [line for line in text.splitlines() if line.startswith("| ") and line[2].isdigit()]
    assert [int(row.split("|")[1]) for row in sorted(rows, key=lambda r: int(r.split("|")[1]))] == [
        int(bet) for bet in BetType
    ]
    fire = next(row for row in rows if "`fire`" in row)
    assert "20.763%" in fire and "stake × 999" in fire


def test_check_mode_fails_when_the_doc_drifts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stale = tmp_path / "GAME.md"
    stale.write_text(
        DOC.read_text(encoding="utf-8").replace("stake × 999", "stake × 998"), encoding="utf-8"
    )
    monkeypatch.setattr(gen, "TARGET", stale)
    assert gen.main(["--check"]) == 1
    assert gen.main([]) == 0
    assert gen.main(["--check"]) == 0
    assert stale.read_text(encoding="utf-8") == DOC.read_text(encoding="utf-8")


def test_splice_refuses_a_doc_without_its_markers() -> None:
    with pytest.raises(ValueError, match="markers"):
        gen.splice("# The game\n")


def test_catalog_names_each_bet_once() -> None:
    assert [info.type for info in catalog()] == list(BetType)
