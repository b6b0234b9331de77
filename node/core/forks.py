"""Fork proofs and the forward cone a late one must judge again.

A :class:`Fork` holds the two kept versions of ``(sender, nonce)`` (the two smallest full
hashes); :func:`keep_two` decides which versions stay.  :class:`Dependents` indexes judged
packets by the senders they name, so :meth:`Dependents.cone` finds every judged packet whose
verdict may read a forker's packets from the fork on, without walking the history.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from node.core.log import Chain, Entry
from protocol.constants import MAX_NONCE

__all__ = ["Dependents", "Fork", "keep_two"]


@dataclass(slots=True)
class Fork:
    """A fork proof. It is *accepted* (judged, in the state, persisted, served) once the
    forker's chain is judged up to the nonce before the fork; until then it is local."""

    nonce: int
    versions: list[Entry]
    accepted: bool = False


def keep_two(versions: list[Entry], entry: Entry) -> tuple[list[Entry], list[Entry]]:
    """``versions`` with ``entry`` added: the two smallest full hashes kept, the rest displaced."""
    ranked = sorted([*versions, entry], key=lambda e: e.full_hash)
    return ranked[:2], ranked[2:]


class _Line:
    """The judged packets naming one sender, and the nonce each names: two parallel lists,
    not a pair per packet (a pair holding an entry is one more object the collector keeps
    walking for as long as the log lives)."""

    __slots__ = ("entries", "nonces")

    def __init__(self) -> None:
        self.nonces: list[int] = []
        self.entries: list[Entry] = []


class Dependents:
    """Judged packets by each sender they name, with the nonce named."""

    __slots__ = ("_by_named",)

    def __init__(self) -> None:
        self._by_named: dict[bytes, _Line] = {}

    def add(self, entry: Entry) -> None:
        """Index a judged packet by what it names (its own sender's packets excepted: its own
        chain orders them already)."""
        sender = entry.sender
        by_named = self._by_named
        for named, nonce, _ in entry.deps:
            if named != sender:
                line = by_named.get(named)
                if line is None:
                    line = by_named[named] = _Line()
                line.nonces.append(nonce)
                line.entries.append(entry)

    def cone(
        self, chains: dict[bytes, Chain], hwm: Callable[[bytes], int], sender: bytes, nonce: int
    ) -> list[Entry]:
        """The judged packets (not taken back) whose verdicts may read ``sender``'s packets from
        ``nonce`` on: those that name them, their senders' later packets, and so on."""
        low: dict[bytes, int] = {}
        cone: list[Entry] = []
        stack = [(sender, nonce)]
        while stack:
            who, n = stack.pop()
            before = low.get(who)
            if before is not None and before <= n:
                continue
            low[who] = n
            hi = before if before is not None else MAX_NONCE + 1
            chain = chains.get(who)
            if chain is not None:  # the forker's chain ends below the fork already
                cone.extend(chain.entries[n - 1 : min(hi - 1, hwm(who))])
            line = self._by_named.get(who)
            if line is not None:
                for named, dependent in zip(line.nonces, line.entries, strict=True):
                    if n <= named < hi and not dependent.removed:
                        stack.append((dependent.sender, dependent.nonce))
        return cone
