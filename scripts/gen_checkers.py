"""Write ``protocol/checkers.py``, the generated body checkers, from the schemas in
``protocol/kinds.py``.  ``python scripts/gen_checkers.py [--check]`` from the repo root; run it
after changing any body's ``SCHEMA`` (a test fails until then)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Final

ROOT: Final = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ["BITCRAPS_PURE"] = "1"  # render from the sources, whatever is compiled

from protocol.kinds import BODY_TYPES  # noqa: E402
from protocol.schema import render_checkers  # noqa: E402

TARGET: Final = ROOT / "protocol" / "checkers.py"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail if the file is out of date")
    args = parser.parse_args(argv)
    source = render_checkers(BODY_TYPES)
    current = TARGET.read_text() if TARGET.exists() else ""
    if args.check:
        if current != source:
            print(f"{TARGET.relative_to(ROOT)} is out of date: run {Path(__file__).name}")
            return 1
        return 0
    if current != source:
        TARGET.write_text(source)
        print(f"wrote {TARGET.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
