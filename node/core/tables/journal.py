"""One packet's changes to the engine's state: made in place as it is judged, logged, and
taken back exactly.

A :class:`Staged` reads the state and writes it directly, logging each write with what it
replaced, so a packet's steps read their own writes at the cost of a plain lookup.  Its
:class:`Change` is that log, three kinds of operation, each undone by its inverse (last first)
when the judgment is discarded or a late fork takes the packet back:

- sets ``(map, key, old, new)``: a key only packets ordered by dependency write (one table's
  host chain, one sender's own chain, or a packet and what names it), so undoing the later
  ones first restores exactly;
- members ``(map, key, member, added)``: membership of a set that packets of several chains
  change (a key's escrowed items at a table), added or discarded, which commutes;
- counts ``(map, key, delta)``: a counter several chains raise (voids per key), which commutes.

No map takes two kinds of operation, so undoing each kind apart is exact.  Each kind is kept as
one flat tuple of its operations' fields, not a tuple per operation: a change lives as long as
its packet's judgment, and a tuple per operation would be most of the objects a judged packet
keeps.  A change and its tuples are out of the collector's view (:mod:`protocol.acyclic`).
Maps are addressed by their index in :attr:`Tables.maps` (:data:`~.state.MAP_INDEX`), so a
change holds no reference into the state it was judged against.
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
    """A packet's writes to the engine's state, made in place and logged (see the module
    docstring).  Every method names its map by index (:data:`~.state.MAP_INDEX`:
    ``staged.get(ESCROW, key)``).  What it wrote stays in the state until :meth:`undo`, or
    until the change it returns is taken back (:func:`unmake`)."""

    __slots__ = ("_counts", "_maps", "_members", "_sets", "base")

    def __init__(self, base: Tables) -> None:
        self.base = base
        self._maps = base.maps
        """The state's maps (read and written on every operation)."""
        self._sets: list[Any] = []
        self._members: list[Any] | None = None
        """Made on the first (most packets change no set and no counter)."""
        self._counts: list[Any] | None = None

    # -- values ------------------------------------------------------------------------------

    def get(self, name: int, key: Any, default: Any = None) -> Any:
        return self._maps[name].get(key, default)

    def has(self, name: int, key: Any) -> bool:
        return key in self._maps[name]

    def put(self, name: int, key: Any, value: Any) -> None:
        target = self._maps[name]
        size = len(target)
        old = target.setdefault(key, value)  # one lookup for a new key
        if len(target) != size:
            old = MISSING
        elif old is value:
            return
        else:
            target[key] = value
        sets = self._sets
        sets.append(name)
        sets.append(key)
        sets.append(old)
        sets.append(value)

    def delete(self, name: int, key: Any) -> None:
        old = self._maps[name].pop(key, MISSING)
        if old is MISSING:
            return
        sets = self._sets
        sets.append(name)
        sets.append(key)
        sets.append(old)
        sets.append(MISSING)

    # -- sets --------------------------------------------------------------------------------

    def members(self, name: int, key: Any) -> set[Any]:
        """A copy of the set under ``key`` (empty if none)."""
        return set(self._maps[name].get(key, ()))

    def add(self, name: int, key: Any, member: Any) -> None:
        target = self._maps[name]
        present = target.get(key)
        if present is None:
            target[key] = {member}
        elif member in present:
            return
        else:
            present.add(member)
        self._log_member(name, key, member, True)

    def discard(self, name: int, key: Any, member: Any) -> None:
        target = self._maps[name]
        present = target.get(key)
        if present is None or member not in present:
            return
        _discard(target, key, member)
        self._log_member(name, key, member, False)

    def _log_member(self, name: int, key: Any, member: Any, added: bool) -> None:
        members = self._members
        if members is None:
            members = self._members = []
        members.append(name)
        members.append(key)
        members.append(member)
        members.append(added)

    # -- counters ----------------------------------------------------------------------------

    def count(self, name: int, key: Any) -> int:
        value: int = self._maps[name].get(key, 0)
        return value

    def incr(self, name: int, key: Any, delta: int = 1) -> None:
        if not delta:
            return
        _incr(self._maps[name], key, delta)
        counts = self._counts
        if counts is None:
            counts = self._counts = []
        counts.append(name)
        counts.append(key)
        counts.append(delta)

    # -- the change --------------------------------------------------------------------------

    def change(self) -> Change:
        """What it wrote, in order."""
        members, counts = self._members, self._counts
        return Change(
            tuple(self._sets),
            () if members is None else tuple(members),
            () if counts is None else tuple(counts),
        )

    def undo(self) -> None:
        """Take every write back (the log stays, for :meth:`redo`)."""
        unmake(self.base, self.change())

    def redo(self) -> Staged:
        """Make the writes of an undone staged state again; a staged state that goes on from
        them (this one is left as it was)."""
        change = self.change()
        make(self.base, change)
        other = Staged(self.base)
        other._sets = list(change.sets)
        if change.members:
            other._members = list(change.members)
        if change.counts:
            other._counts = list(change.counts)
        return other


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
