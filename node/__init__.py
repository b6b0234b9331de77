"""What a BitCraps Mesh node knows and decides.

The log and ledger replica, hold-back, gossip, store, the Trio daemon that wires them to
transports, the control API and the CLI.  The core stays sans-IO; only the daemon and the CLI
touch sockets, files and clocks.
"""

import protocol  # noqa: F401  (its import runs the compiled-module guard first)
