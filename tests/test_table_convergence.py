"""Convergence with tables (TABLES.md §0; DESIGN.md §4): replicas that end with the same packets
hold the same state, tables included — whatever order, duplication, delay, restarts and late
fork proofs the mesh gave them.

Histories come from :mod:`tests.table_harness`: tables, seats, bets of every category, rolls,
voids, leaves, cancels, reclaims, host forks and creditor forks, all signed for real.  Every
replica audits the supply after each judged packet.  A cover check that reads a global balance
instead of K must break the property; and forking every funder (which flips every verdict that
rests on their credits) must leave table state, listed sets, host verdicts and dice unchanged.
"""

from __future__ import annotations

import logging
import os
from collections import Counter
from random import Random

import pytest
from hypothesis import HealthCheck, Phase, event, example, find, given, settings
from hypothesis import strategies as st

from node.core.craps.bettypes import SPECS
from node.core.ledger import LedgerState
from node.core.replica import Replica
from node.core.tables.engine import TablesEngine, tables_of
from node.core.tables.journal import Staged
from node.core.tables.state import MAPS, TABLES, Table
from node.core.tables.steps import HostRun
from node.core.verdicts import Reason
from protocol.frame import FrameCodec, Packet
from protocol.kinds import Kind, Transfer
from tests.ledger_harness import History, deliver, verdicts
from tests.table_harness import ENGINE, TableHistoryBuilder, table_history

FAST_EXAMPLES = 60
SLOW_EXAMPLES = int(os.environ.get("BITCRAPS_SLOW_EXAMPLES", "600")) // 2
HEALTH = [HealthCheck.too_slow, HealthCheck.data_too_large]
SEEDS = st.integers(0, 2**32 - 1)
HOST_KINDS = {int(Kind.SEAT), int(Kind.ROLL_OPEN), int(Kind.VOID), int(Kind.GAME_END)}
STATE_MAPS = ("named", "released", "heads", "answered", "voided", "rolls")
"""The table-state maps (beside the tables themselves): host packets and copies only."""


@pytest.fixture(autouse=True)
def _quiet_snapshots() -> None:
    # a restart after a late fork finds its newest snapshots stale and says so: expected here
    logging.getLogger("bitcraps.store").setLevel(logging.ERROR)


def converge(history: History, rng: Random, n: int) -> Counter[str]:
    """Feed ``history`` to ``n`` audited replicas in a random order with restarts; assert they
    agree with each other, with the signing order, and with the authors' reference."""
    replicas = [Replica(history.genesis, engine=ENGINE, audit=True) for _ in range(n)]
    stats = deliver(replicas, history.frames, rng, pool=history.pool, restarts=2)
    first = verdicts(replicas[0])
    for i, replica in enumerate(replicas):
        replica.state.audit()
        assert verdicts(replica) == first, f"replica {i}: verdicts"
        assert replica.digest() == replicas[0].digest(), f"replica {i}: digest"
    # The same packets ingested once each, in signing order, make the same state (a restart
    # may lose a held packet that nothing names, so the mesh can end without it).
    codec = FrameCodec(history.genesis.network_id)
    canonical = Replica(history.genesis, engine=ENGINE, audit=True)
    for frame in history.signed:
        env = codec.open(frame)
        if (env.sender, env.nonce, env.full_hash) in first:
            canonical.receive(frame, 0.0)
    assert verdicts(canonical) == first, "mesh vs signing order"
    assert canonical.digest() == replicas[0].digest()
    if not stats["lost"]:
        assert first == verdicts(history.reference)
        assert replicas[0].digest() == history.reference.digest()
    for reason in first.values():
        stats[reason.label] += 1
    return stats


def run_property(examples: int, actions: int) -> Counter[str]:
    seen: Counter[str] = Counter()

    @settings(max_examples=examples, deadline=None, suppress_health_check=HEALTH)
    @given(history_seed=SEEDS, seed=SEEDS, n=st.integers(3, 4))
    # histories that between them make every claim (a rare one, such as a roll_open refused
    # bad_listed, can be missing from the random draws of a fresh run)
    @example(history_seed=5, seed=5, n=3)
    @example(history_seed=154, seed=154, n=3)
    @example(history_seed=181, seed=181, n=4)
    @example(history_seed=0, seed=0, n=3)
    def prop(history_seed: int, seed: int, n: int) -> None:
        history = table_history(history_seed, actions)
        stats = converge(history, Random(seed), n)
        for name in ("restored_from_snapshot", "rejudged", "refused(unbacked)"):
            if stats[name]:
                event(name)
        seen.update(history.claims)
        seen.update(f"verdict:{label}" for label in stats if label.startswith(("applied", "ref")))
        seen["examples"] += 1

    prop()
    return seen


CLAIMS = (
    "create_applied",
    "create_unfunded",
    "join_applied",
    "join_unbacked",
    "seat_applied",
    "bet_applied",
    "bet_insufficient",
    "included",
    "released",
    "roll_open_applied",
    "roll_open_bad_listed",
    "void_applied",
    "leave_applied",
    "cancel_applied",
    "game_end_applied",
    "funder_fork",
    "host_fork",
    "player_fork",
    "invented_chain",
)


def test_tables_converge_whatever_the_order() -> None:
    seen = run_property(FAST_EXAMPLES, 50)
    missing = [name for name in CLAIMS if not seen[name]]
    assert not missing, f"never generated in {seen['examples']} examples: {missing}"


@pytest.mark.slow
def test_tables_converge_long_histories() -> None:
    run_property(SLOW_EXAMPLES, 120)


def test_the_generator_places_bets_of_every_family() -> None:
    families = Counter[str]()
    for seed in range(12):
        history = table_history(seed, 60)
        tables = tables_of(history.reference.state)
        for record in tables.map("records").values():
            for entry in getattr(record, "entries", ()):
                families[entry.code.name] += 1
    missing = {SPECS[b].family.name for b in SPECS} - {
        SPECS[code].family.name for code in SPECS if families[code.name]
    }
    assert not missing


# --------------------------------------------------------------------------- mutation check


class GlobalCoverEngine(TablesEngine):
    """Deliberately wrong: the cover check reads the host's global balance instead of K (a
    value that depends on which of the host's credits arrived first)."""

    def _run(
        self, state: LedgerState, staged: Staged, packet: Packet, body: object
    ) -> HostRun | Reason:
        key = (packet.sender, body.game)  # type: ignore[attr-defined]
        table: Table | None = staged.get(TABLES, key)
        if table is not None:
            wrong = table.copy()
            acc = state.accounts.get(packet.sender)
            wrong.cover = acc.spendable + acc.pending() if acc is not None else 0
            staged.put(TABLES, key, wrong)
        return super()._run(state, staged, packet, body)  # type: ignore[arg-type]


def diverges(case: tuple[int, int]) -> bool:
    history_seed, seed = case
    history = table_history(history_seed, 50)
    replicas = [Replica(history.genesis, engine=GlobalCoverEngine()) for _ in range(3)]
    deliver(replicas, history.frames, Random(seed), pool=history.pool)
    return len({r.digest() for r in replicas}) > 1


def test_a_cover_check_reading_a_global_balance_breaks_convergence() -> None:
    find(
        st.tuples(SEEDS, SEEDS),
        diverges,
        settings=settings(
            max_examples=200,
            deadline=None,
            database=None,
            phases=[Phase.generate],
            suppress_health_check=HEALTH,
        ),
    )


# --------------------------------------------------------------------------- state vs money


def table_state(replica: Replica) -> dict[str, object]:
    """The table-state layer: every table and the state maps (money left out)."""
    tables = tables_of(replica.state)
    out: dict[str, object] = {
        "tables": {key: table.encode() for key, table in tables.map("tables").items()}
    }
    for name in STATE_MAPS:
        out[name] = dict(tables.map(name))
    return out


def host_verdicts(replica: Replica, codec: FrameCodec, frames: list[bytes]) -> dict[object, Reason]:
    found = {}
    for frame in frames:
        env = codec.open(frame)
        if env.body[1] in HOST_KINDS:  # after the array header, the kind (a positive fixint)
            entry = replica.judged(env.sender, env.nonce)
            if entry is not None and entry.full_hash == env.full_hash and entry.judgment:
                found[(env.sender, env.nonce)] = entry.judgment.reason
    return found


@pytest.mark.parametrize("history_seed", range(8))
def test_flipping_every_funded_verdict_leaves_table_state_alone(history_seed: int) -> None:
    """Fork every funder at nonce 1: every transfer from them is Refused(equivocated), so
    every create, join and bet that rested on their credits flips.  Seats, listed sets, the
    dice (the tables' craps state), what each host packet named and its verdict stay."""
    builder = TableHistoryBuilder(Random(history_seed))
    history = builder.build(60)
    codec = builder.codec
    flipped = Replica(history.genesis, engine=ENGINE, audit=True)
    for funder in builder.funders:
        frame = funder.sign(Transfer(builder.hosts[0].pub, 1, ()), nonce=1)
        flipped.receive(frame, 0.0)
    for frame in history.signed:
        flipped.receive(frame, 0.0)
    original = history.reference
    before, after = verdicts(original), verdicts(flipped)
    changed = [k for k in before if after.get(k) != before[k]]
    assert changed, "the funders' forks flipped nothing"
    assert table_state(flipped) == table_state(original)
    assert host_verdicts(flipped, codec, history.signed) == host_verdicts(
        original, codec, history.signed
    )


@pytest.mark.parametrize("history_seed", range(6))
def test_a_snapshot_restores_every_table_map(history_seed: int) -> None:
    history = table_history(history_seed, 60)
    state = history.reference.state
    restored = LedgerState.from_bytes(history.genesis, state.to_bytes(), ENGINE)
    assert restored.digest() == state.digest()
    mine, theirs = tables_of(state), tables_of(restored)
    for name in MAPS:
        assert theirs.map(name) == mine.map(name), name
    assert tables_of(state).map("tables"), "the history made no table"


def test_a_packet_every_restart_lost_leaves_the_mesh_equal_to_what_it_holds() -> None:
    """Seed 207: each replica holds a player's last packet (a leave nothing names) ahead of its
    gap, and restarts lose it; the mesh converges without it, to the state its own packets make
    in signing order."""
    stats = converge(table_history(207, 50), Random(207), 3)
    assert stats["lost_held"]
