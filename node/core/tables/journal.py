"""One packet's changes to the engine's state: staged while it is judged, then made or taken
back exactly.

Judging reads the state and writes nothing: :class:`Staged` keeps what the packet would change
beside the state it reads through.  Its :class:`Change` holds three kinds of operation, each
undone by its inverse when a late fork takes the packet back:

- sets ``(map, key, old, new)``: a key only packets ordered by dependency write (one table's
  host chain, one sender's own chain, or a packet and what names it), so undoing the later
  ones first restores exactly;
- members ``(map, key, member, added)``: membership of a set that packets of several chains
  change (a key's escrowed items at a table), added or discarded, which commutes;
- counts ``(map, key, delta)``: a counter several chains raise (voids per key), which commutes.

Each kind is kept as one flat tuple of its operations' fields, not a tuple per operation: a
change lives as long as its packet's judgment, and a tuple per operation would be most of the
objects a judged packet keeps.  A change and its tuples are out of the collector's view
(:mod:`protocol.acyclic`).  Maps are addressed by their index in :attr:`Tables.maps`
(:data:`~.state.MAP_INDEX`), so a change holds no reference into the state it was judged
against.
"""

from __future__ import annotations

from typing import Any, Final

from protocol.acyclic import untracked as _untracked_imported
from protocol.kinds import Record as Value  # a plain class with Final fields, equal by value

from .state import MAP_INDEX, Tables

__all__ = ["MISSING", "Change", "Staged", "make", "unmake"]

_untracked: Final = _untracked_imported
"""A module constant: compiled, called without a lookup in the module's globals."""


class _Missing:
    """No value under this key (a key the change adds or deletes)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Final = _Missing()


_UNSTAGED: Final = object()
"""Not in the overlay: read the base."""


class Change(Value):
    """A packet's table effects (see the module docstring): ``sets`` flat ``(map, key, old,
    new)`` × n, ``members`` flat ``(map, key, member, added)`` × n, ``counts`` flat ``(map,
    key, delta)`` × n, each map by its index."""

    def __init__(
        self, sets: tuple[Any, ...], members: tuple[Any, ...] = (), counts: tuple[Any, ...] = ()
    ) -> None:
        self.sets: Final = sets
        self.members: Final = members
        self.counts: Final = counts
        # keys and state values, which never reference a change (protocol.acyclic)
        _untracked(self)

    def sets_in(self, name: str) -> list[tuple[Any, Any, Any]]:
        """``(key, old, new)`` of each of its sets in map ``name``, in order."""
        sets = self.sets
        index = MAP_INDEX[name]
        return [
            (sets[i + 1], sets[i + 2], sets[i + 3])
            for i in range(0, len(sets), 4)
            if sets[i] == index
        ]


class Staged:
    """The state as a packet being judged would leave it, without changing it.  Every method
    names its map by index (:data:`~.state.MAP_INDEX`: ``staged.get(ESCROW, key)``)."""

    __slots__ = ("_base", "_counts", "_members", "_overlay", "base")

    def __init__(self, base: Tables) -> None:
        self.base = base
        self._base = base.maps
        """The base's maps (read on every lookup)."""
        self._overlay: list[dict[Any, Any] | None] = [None] * len(self._base)
        """Per map, its staged values (None: nothing staged)."""
        self._members: dict[tuple[int, Any], dict[Any, bool]] | None = None
        """(map, key) → member → True added / False discarded (made on the first)."""
        self._counts: dict[tuple[int, Any], int] | None = None
        """(map, key) → the count's change (made on the first)."""

    def fork(self) -> Staged:
        """A staged state that starts as this one and is written apart from it."""
        other = Staged(self.base)
        other._overlay = [None if over is None else dict(over) for over in self._overlay]
        if self._members is not None:
            other._members = {key: dict(members) for key, members in self._members.items()}
        if self._counts is not None:
            other._counts = dict(self._counts)
        return other

    # -- values ------------------------------------------------------------------------------

    def get(self, name: int, key: Any, default: Any = None) -> Any:
        over = self._overlay[name]
        if over is not None:
            value = over.get(key, _UNSTAGED)
            if value is not _UNSTAGED:
                return default if value is MISSING else value
        return self._base[name].get(key, default)

    def has(self, name: int, key: Any) -> bool:
        over = self._overlay[name]
        if over is not None:
            value = over.get(key, _UNSTAGED)
            if value is not _UNSTAGED:
                return value is not MISSING
        return key in self._base[name]

    def put(self, name: int, key: Any, value: Any) -> None:
        self._over(name)[key] = value

    def delete(self, name: int, key: Any) -> None:
        self._over(name)[key] = MISSING

    def _over(self, name: int) -> dict[Any, Any]:
        """The overlay of map ``name``, made on its first write."""
        over = self._overlay[name]
        if over is None:
            over = self._overlay[name] = {}
        return over

    # -- sets --------------------------------------------------------------------------------

    def members(self, name: int, key: Any) -> set[Any]:
        found = set(self._base[name].get(key, ()))
        changed = None if self._members is None else self._members.get((name, key))
        if changed is not None:
            for member, present in changed.items():
                if present:
                    found.add(member)
                else:
                    found.discard(member)
        return found

    def add(self, name: int, key: Any, member: Any) -> None:
        self._changed_members(name, key)[member] = True

    def discard(self, name: int, key: Any, member: Any) -> None:
        self._changed_members(name, key)[member] = False

    def _changed_members(self, name: int, key: Any) -> dict[Any, bool]:
        at: tuple[Any, ...] = (name, key)
        members = self._members
        if members is None:
            members = self._members = {}
        changed = members.get(at)
        if changed is None:
            changed = members[at] = {}
        return changed

    # -- counters ----------------------------------------------------------------------------

    def count(self, name: int, key: Any) -> int:
        base: int = self._base[name].get(key, 0)
        return base + (0 if self._counts is None else self._counts.get((name, key), 0))

    def incr(self, name: int, key: Any, delta: int = 1) -> None:
        counts = self._counts
        if counts is None:
            counts = self._counts = {}
        counts[(name, key)] = counts.get((name, key), 0) + delta

    # -- the change --------------------------------------------------------------------------

    def change(self) -> Change:
        """What the staged writes change (values written back unchanged left out)."""
        sets: list[Any] = []
        for name, over in enumerate(self._overlay):
            if over is None:
                continue
            base = self._base[name]
            for key, new in over.items():
                old = base.get(key, MISSING)
                if old is not new:
                    sets.append(name)
                    sets.append(key)
                    sets.append(old)
                    sets.append(new)
        members: list[Any] = []
        staged_members = self._members
        if staged_members is not None:
            for (name, key), changed in staged_members.items():
                present = self._base[name].get(key, ())
                for member, added in changed.items():
                    if added != (member in present):
                        members.append(name)
                        members.append(key)
                        members.append(member)
                        members.append(added)
        counts: list[Any] = []
        staged_counts = self._counts
        if staged_counts is not None:
            for (name, key), delta in staged_counts.items():
                if delta:
                    counts.append(name)
                    counts.append(key)
                    counts.append(delta)
        return Change(tuple(sets), tuple(members), tuple(counts))


def _add(target: dict[Any, Any], key: Any, member: Any) -> None:
    members = target.get(key)
    if members is None:
        target[key] = {member}
    else:
        members.add(member)


def _discard(target: dict[Any, Any], key: Any, member: Any) -> None:
    members = target[key]
    members.remove(member)
    if not members:
        del target[key]


def _incr(target: dict[Any, Any], key: Any, delta: int) -> None:
    value = target.get(key, 0) + delta
    if value:
        target[key] = value
    else:
        del target[key]


def _put(target: dict[Any, Any], key: Any, value: Any) -> None:
    """Set ``key`` to ``value``, or delete it for :data:`MISSING`."""
    if value is MISSING:
        del target[key]
    else:
        target[key] = value


def make(tables: Tables, change: Change) -> None:
    """Make every operation of ``change``."""
    maps = tables.maps
    sets = change.sets
    for i in range(0, len(sets), 4):
        _put(maps[sets[i]], sets[i + 1], sets[i + 3])
    members = change.members
    for i in range(0, len(members), 4):
        target = maps[members[i]]
        if members[i + 3]:
            _add(target, members[i + 1], members[i + 2])
        else:
            _discard(target, members[i + 1], members[i + 2])
    counts = change.counts
    for i in range(0, len(counts), 3):
        _incr(maps[counts[i]], counts[i + 1], counts[i + 2])


def unmake(tables: Tables, change: Change) -> None:
    """Take every operation of ``change`` back, last first."""
    maps = tables.maps
    counts = change.counts
    for i in range(len(counts) - 3, -1, -3):
        _incr(maps[counts[i]], counts[i + 1], -counts[i + 2])
    members = change.members
    for i in range(len(members) - 4, -1, -4):
        target = maps[members[i]]
        if members[i + 3]:
            _discard(target, members[i + 1], members[i + 2])
        else:
            _add(target, members[i + 1], members[i + 2])
    sets = change.sets
    for i in range(len(sets) - 4, -1, -4):
        _put(maps[sets[i]], sets[i + 1], sets[i + 2])
