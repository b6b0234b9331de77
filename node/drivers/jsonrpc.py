"""The control API's error codes (docs/API.md), shared by its server and its client.

JSON-RPC 2.0's own codes, then ours in the range the spec leaves to implementations.  Nothing
here imports Trio: the ``bitcraps`` client commands start without the daemon's stack.
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "BUSY",
    "INTERNAL_ERROR",
    "INVALID_PARAMS",
    "INVALID_REQUEST",
    "METHOD_NOT_FOUND",
    "PARSE_ERROR",
    "REFUSED",
    "UNKNOWN_PEER",
    "UNKNOWN_TABLE",
]

PARSE_ERROR: Final = -32700
"""The request line is not JSON."""
INVALID_REQUEST: Final = -32600
"""Not a JSON-RPC 2.0 request (or a batch too large, or a line over the size limit)."""
METHOD_NOT_FOUND: Final = -32601
INVALID_PARAMS: Final = -32602
"""A param missing, unknown, of the wrong type or out of range; nothing was done."""
INTERNAL_ERROR: Final = -32603
"""A fault of the daemon (logged with its traceback); nothing is known to have been done."""
REFUSED: Final = -32000
"""The node will not do it: the ledger would refuse the packet, it is recovering, … (one line)."""
UNKNOWN_PEER: Final = -32001
"""A key this node has never seen (no packet, no account, no link)."""
BUSY: Final = -32002
"""Too many control connections at once."""
UNKNOWN_TABLE: Final = -32003
"""No table this node knows has that game id (or prefix)."""
