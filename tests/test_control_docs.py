"""docs/API.md documents every method the daemon serves, with every param; the systemd unit
(contrib/bitcraps.service) keeps what docs/RUNNING.md promises of it."""

from __future__ import annotations

import configparser
import re
from pathlib import Path

from node.drivers.methods import METHODS

ROOT = Path(__file__).resolve().parents[1]


def test_every_method_and_param_is_in_the_api_doc() -> None:
    text = (ROOT / "docs" / "API.md").read_text()
    headings = re.findall(r"^### `(\w+)`$", text, re.MULTILINE)
    assert sorted(headings) == METHODS.names()
    for method in METHODS.methods():
        section = text.split(f"### `{method.name}`", 1)[1].split("\n### ", 1)[0]
        for param in method.params:
            assert f"| `{param.name}` |" in section, (method.name, param.name)
        if not method.params:
            assert "Params: none" in section, method.name


def test_the_systemd_unit_runs_a_dedicated_user_in_its_state_directory() -> None:
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.optionxform = str  # type: ignore[assignment,method-assign]
    unit.read(ROOT / "contrib" / "bitcraps.service")
    service = unit["Service"]
    assert service["User"] == "bitcraps" and service["StateDirectory"] == "bitcraps"
    assert service["Restart"] == "on-failure"
    assert "--data-dir /var/lib/bitcraps node" in service["ExecStart"]
    assert service["CapabilityBoundingSet"] == "" and service["NoNewPrivileges"] == "yes"
    assert service["ProtectSystem"] == "strict"
    assert set(service["RestrictAddressFamilies"].split()) == {"AF_INET", "AF_INET6", "AF_UNIX"}
    assert unit["Install"]["WantedBy"] == "multi-user.target"
