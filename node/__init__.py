"""What a BitCraps Mesh node knows and decides (``node.core``, sans-IO) and what drives it
(``node.drivers``: the store, the durable replica, the verifier, the CLI).  Imports run one way:
drivers → core → protocol.
"""

import protocol  # noqa: F401  (its import runs the compiled-module guard first)
