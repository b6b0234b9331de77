"""CI runs the README's test command: each command of it is run by ``.ci/run``."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_ci_runs_every_command_of_the_readme_test_command() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    (command,) = [b for b in re.findall(r"```sh\n(.*?)\n```", readme, re.DOTALL) if "pytest" in b]
    script = (ROOT / ".ci" / "run").read_text(encoding="utf-8").replace(" -q ", " ")
    lines = {line.strip() for line in script.splitlines()}
    for part in command.split(" && "):
        if "pytest" in part:  # each test run is a line of its own, its status checked after it
            assert part in lines, f".ci/run does not run {part!r}"
        else:  # the install
            assert part in script, f".ci/run does not run {part!r}"
