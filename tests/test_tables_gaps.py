"""Where the table engine differs from TABLES.md v1.6: each test states the normative rule and
is marked ``xfail(strict=True)`` until the engine follows it (docs/GAME.md, "Where the engine
differs from TABLES.md").  A fix makes the test pass, and the strict marker then fails: remove
it with the fix.
"""

from __future__ import annotations

import pytest

from node.core.tables.engine import tables_of
from node.core.verdicts import Reason
from protocol.bets import BetType
from protocol.constants import CRAP
from tests.table_factory import Scene, entry, small_params


@pytest.mark.xfail(
    strict=True,
    reason="steps.run_void raises named_upto, so a void's copies count as seeing (§1, §6)",
)
def test_the_first_roll_open_naming_a_leaver_after_a_void_sees_its_leave() -> None:
    """§1: a request at c is seen by the first Applied seat/roll_open naming P at m ≥ c; a
    void is neither.  §6: the seeing packet releases P's pending bets, and frees P's bond when
    it neither lists P's seat in ``leaves`` nor finds it leaving."""
    scene = Scene()
    scene.create(params=small_params(chain_n=256))
    for name in ("p", "q"):
        scene.join(name)
    scene.seat(["p", "q"])
    for name in ("p", "q"):
        scene.bet(name, entry(BetType.Pass, 10 * CRAP))
    scene.roll_open([scene.included("p"), scene.included("q")])
    scene.bet("p", entry(BetType.Field, 10 * CRAP))
    pending = (scene.party("p").pub, scene.party("p").chain.nonce, 0)
    assert scene.leave("p") is Reason.APPLIED
    scene.reveal("p")  # p's reveal, after its leave, is what the void copies
    assert scene.void([scene.seat_of("q")]) is Reason.APPLIED
    scene.bet("p", entry(BetType.Field, 5 * CRAP))
    assert scene.roll_open([scene.included("p")]) is Reason.APPLIED  # names p above its leave
    tables = tables_of(scene.replica.state)
    assert pending not in tables.map("escrow")  # released by the seeing roll_open
    assert tables.map("bonds")[(scene.table().key, scene.seat_of("p"))].freed
