"""House edges computed by the engine itself: a Markov chain over the game state, solved exactly.

States are a model table's live bets (and the point when one of them reads it); each of the 21
kinds of roll moves them through :func:`.settle.settle_roll`; strongly connected components are
solved in rationals, sinks first.  A seeded simulation cross-checks the chain.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING, Final, TypeAlias

from protocol.bets import PLACEMENT, BetType, Phase
from protocol.constants import CRAP

from .bettypes import SPECS, WAYS
from .dice import Roll
from .outcome import Outcome, Settlement
from .placement import BetRequest, Limits, place
from .settle import settle_roll
from .table import BetId, LiveBet, TableState

__all__ = ["ROLLS", "house_edge", "simulate_edge", "starting_tables"]

ROLLS: Final[tuple[tuple[Fraction, Roll], ...]] = tuple(
    (Fraction(1 if a == b else 2, 36), Roll(a, b)) for a in range(1, 7) for b in range(a, 7)
)
"""The 21 kinds of roll and their probabilities."""

_TARGET: Final[BetId] = (0,)
_BACKED: Final[BetId] = (1,)
_OWNER: Final = 1
_STAKE: Final = CRAP * math.lcm(*(r.denominator for s in SPECS.values() for r in s.pays.values()))
"""A stake whose every payout is exact (so the chain ignores rounding, as BET_RULES asks) and at
least the odds minimum."""
_NO_LIMITS: Final = Limits(1, _STAKE)

Key: TypeAlias = tuple[int | None, tuple[LiveBet, ...]]


def _placed(state: TableState, bet_id: BetId, request: BetRequest) -> TableState:
    found = place(state, bet_id, _OWNER, request, _NO_LIMITS)
    if not isinstance(found, LiveBet):  # pragma: no cover - the model tables always allow it
        raise AssertionError(f"cannot place {request} on the model table: {found.label}")
    return state


def _roll_of(total: int) -> Roll:
    return Roll(total // 2, total - total // 2)


def starting_tables(bet_type: BetType) -> list[tuple[Fraction, TableState]]:
    """Fresh model tables with one ``bet_type`` bet just placed (id ``(0,)``), weighted.

    A come-out or any-phase bet starts on a fresh come-out table.  A point-phase bet starts on
    each point n with weight ways(n)/24, how often n is set; an odds bet the same, behind its
    line or come bet (id ``(1,)``) on n.
    """
    placement = PLACEMENT[bet_type]
    if placement.backs is None:
        request = BetRequest(bet_type, _STAKE)
        if placement.phase is not Phase.POINT:
            return [(Fraction(1), _placed(TableState(), _TARGET, request))]
        return [
            (Fraction(WAYS[n], 24), _placed(TableState(point=n), _TARGET, request))
            for n in (4, 5, 6, 8, 9, 10)
        ]
    tables: list[tuple[Fraction, TableState]] = []
    for n in (4, 5, 6, 8, 9, 10):
        if placement.backs in (BetType.Pass, BetType.DontPass):
            state = _placed(TableState(), _BACKED, BetRequest(placement.backs, _STAKE))
        else:  # a Come or DontCome on a table at point 4 (8 when n is 4), moving to n
            state = TableState(point=8 if n == 4 else 4)
            _placed(state, _BACKED, BetRequest(placement.backs, _STAKE))
        settle_roll(state, _roll_of(n))
        come_point = None if placement.backs in (BetType.Pass, BetType.DontPass) else n
        _placed(state, _TARGET, BetRequest(bet_type, _STAKE, come_point))
        tables.append((Fraction(WAYS[n], 24), state))
    return tables


def _key(state: TableState) -> Key:
    """The chain state: the live bets, and the point only when one of them reads it."""
    reads = any(SPECS[bet.type].reads_phase for bet in state.bets)
    return (state.point if reads else None, tuple(state.bets))


def _table(key: Key) -> TableState:
    return TableState(point=key[0], bets=list(key[1]))


def _result(settlement: Settlement) -> Fraction:
    """The target's result per unit staked: profit on a win, −1 on a loss, 0 on a push."""
    if settlement.outcome is Outcome.WIN:
        return Fraction(settlement.profit, settlement.bet.stake)
    if settlement.outcome is Outcome.LOSE:
        return Fraction(-1)
    return Fraction(0)


@dataclass(slots=True)
class _Node:
    ends: Fraction  # Σ probability × result over the rolls that end the bet
    goes: dict[Key, Fraction]  # next chain state → probability


def _node(key: Key) -> _Node:
    node = _Node(Fraction(0), {})
    for chance, roll in ROLLS:
        state = _table(key)
        result = settle_roll(state, roll)
        mine = [s for s in result.settlements if s.bet.id == _TARGET]
        if mine:
            node.ends += chance * _result(mine[0])
        else:
            after = _key(state)
            node.goes[after] = node.goes.get(after, Fraction(0)) + chance
    return node


def _explore(starts: list[Key]) -> dict[Key, _Node]:
    chain: dict[Key, _Node] = {}
    todo = list(starts)
    while todo:
        key = todo.pop()
        if key in chain:
            continue
        chain[key] = node = _node(key)
        todo.extend(after for after in node.goes if after not in chain)
    return chain


def _components(chain: dict[Key, _Node]) -> Iterator[list[Key]]:
    """Tarjan's strongly connected components, iteratively; sinks come out first."""
    index: dict[Key, int] = {}
    low: dict[Key, int] = {}
    stack: list[Key] = []
    on_stack: set[Key] = set()
    counter = 0
    for root, node in chain.items():
        if root in index:
            continue
        work: list[tuple[Key, Iterator[Key]]] = [(root, iter(node.goes))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            key, successors = work[-1]
            for after in successors:
                if after not in index:
                    index[after] = low[after] = counter
                    counter += 1
                    stack.append(after)
                    on_stack.add(after)
                    work.append((after, iter(chain[after].goes)))
                    break
                if after in on_stack:
                    low[key] = min(low[key], index[after])
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[key])
                if low[key] == index[key]:
                    component: list[Key] = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == key:
                            break
                    yield component


def _solve(component: list[Key], chain: dict[Key, _Node], value: dict[Key, Fraction]) -> None:
    """Exact values of one component, its successors outside it already known:
    x = ends + Σ p × x_next, by Gaussian elimination over rationals."""
    at = {key: i for i, key in enumerate(component)}
    size = len(component)
    rows: list[list[Fraction]] = []
    for key in component:
        node = chain[key]
        row = [Fraction(0)] * (size + 1)
        row[at[key]] += 1
        constant = node.ends
        for after, chance in node.goes.items():
            if after in at:
                row[at[after]] -= chance
            else:
                constant += chance * value[after]
        row[size] = constant
        rows.append(row)
    for col in range(size):
        pivot = next(r for r in range(col, size) if rows[r][col] != 0)
        rows[col], rows[pivot] = rows[pivot], rows[col]
        lead = rows[col][col]
        rows[col] = [x / lead for x in rows[col]]
        for r in range(size):
            factor = rows[r][col]
            if r != col and factor != 0:
                rows[r] = [x - factor * y for x, y in zip(rows[r], rows[col], strict=True)]
    for key in component:
        value[key] = rows[at[key]][size]


def house_edge(bet_type: BetType) -> Fraction:
    """The exact house edge of ``bet_type``: expected loss per unit staked, per bet made (a push
    is a bet made with result 0), placed on a fresh table (BET_RULES' last section)."""
    starts = [(weight, _key(state)) for weight, state in starting_tables(bet_type)]
    chain = _explore([key for _, key in starts])
    value: dict[Key, Fraction] = {}
    for component in _components(chain):
        _solve(component, chain, value)
    return -sum((weight * value[key] for weight, key in starts), Fraction(0))


if TYPE_CHECKING:
    import random


def simulate_edge(bet_type: BetType, bets: int, rng: random.Random) -> tuple[float, float]:
    """The house edge of ``bet_type`` by playing ``bets`` bets to their end with dice from
    ``rng``: (mean loss per unit staked, its standard error)."""
    if bets < 2:
        raise ValueError(f"a simulation needs at least 2 bets, not {bets}")
    tables = starting_tables(bet_type)
    weights = [float(weight) for weight, _ in tables]
    results: list[float] = []
    for _ in range(bets):
        state = rng.choices(tables, weights)[0][1].copy()
        while True:
            roll = Roll(rng.randint(1, 6), rng.randint(1, 6))
            mine = [s for s in settle_roll(state, roll).settlements if s.bet.id == _TARGET]
            if mine:
                results.append(-float(_result(mine[0])))
                break
    return statistics.fmean(results), statistics.stdev(results) / math.sqrt(bets)


def render_edge_table(edges: dict[BetType, Fraction]) -> str:
    """The source of ``edge_table.py`` for ``edges`` (one exact fraction per bet type)."""
    lines = [
        '"""The house edge of every bet type, exact: generated by ``python scripts/gen_edges.py``.',
        "",
        "Computed by :func:`node.core.craps.edges.house_edge` (a Markov chain over the engine's",
        "own settlement), stored because Replay's chain takes most of a minute; the tests",
        "recompute every entry from the engine and fail when this file drifts.  Do not edit by",
        "hand.",
        '"""',
        "",
        "from __future__ import annotations",
        "",
        "from collections.abc import Mapping",
        "from fractions import Fraction",
        "from types import MappingProxyType",
        "from typing import Final",
        "",
        "from protocol.bets import BetType",
        "",
        '__all__ = ["EDGES"]',
        "",
        "EDGES: Final[Mapping[BetType, Fraction]] = MappingProxyType(",
        "    {",
    ]
    for bet in BetType:
        edge = edges[bet]
        text = f"{edge.numerator}/{edge.denominator}"
        if len(text) <= 60:
            lines.append(f'        BetType.{bet.name}: Fraction("{text}"),')
            continue
        lines.append(f"        BetType.{bet.name}: Fraction(")
        width = 84  # what fits in 100 columns at this indent, as ruff format keeps it
        lines.extend(f'            "{text[i : i + width]}"' for i in range(0, len(text), width))
        lines.append("        ),")
    lines += ["    }", ")", ""]
    return "\n".join(lines)
