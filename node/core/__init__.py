"""The node's sans-IO core: what a node knows and decides.

The log, dedup, hold-back, waits and pulls, forks, the ledger and its verdicts, the craps rules
engine (``craps/``), the table engine and its agent (``tables/``), and the node core that drives
them all: links, the gossip router, anti-entropy and the defence (``node.py``).  Plain functions and classes that take
``now`` and bytes and return what happened: no sockets, files, clocks or randomness, and no import
of ``node.drivers``.
"""
