"""Write ``node/core/craps/edge_table.py``, the exact house edge of every bet type, from the rules
engine (``node.core.craps.edges.house_edge``).  ``python scripts/gen_edges.py [--check]`` from the
repo root; run it after changing a pay table or a settlement rule (a test fails until then).  Takes
about a minute: Replay's chain has over 100,000 states."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Final

ROOT: Final = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from node.core.craps.edges import house_edge, render_edge_table  # noqa: E402
from protocol.bets import BetType  # noqa: E402

TARGET: Final = ROOT / "node" / "core" / "craps" / "edge_table.py"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail if the file is out of date")
    args = parser.parse_args(argv)
    edges = {}
    for bet in BetType:
        start = time.perf_counter()
        edges[bet] = house_edge(bet)
        took = time.perf_counter() - start
        if took > 1:
            print(f"{bet.name}: {took:.0f} s", file=sys.stderr)
    source = render_edge_table(edges)
    current = TARGET.read_text(encoding="utf-8") if TARGET.exists() else ""
    if args.check:
        if current != source:
            print(f"{TARGET} is out of date: run {Path(__file__).name}")
            return 1
        return 0
    if current != source:
        TARGET.write_text(source, encoding="utf-8")
        print(f"wrote {TARGET}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
