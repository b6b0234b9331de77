"""The table layer of TABLES.md v1.6, sans-IO: tables, seats, chains and dice, host packets,
requests and table money, plugged into the judge step as :class:`TablesEngine`.

Modules, one per concept: :mod:`.params` (well-formed creates, defaults), :mod:`.state` (table
state and money, kept apart), :mod:`.journal` (a packet's changes, made and taken back),
:mod:`.player` (player-level checks and bindings), :mod:`.steps` (the host-packet steps of §4 on
table state), :mod:`.money` (what moves, clipped to what is backed), :mod:`.engine`.
"""

from __future__ import annotations

from .engine import TablesEngine, tables_of

__all__ = ["TablesEngine", "tables_of"]
