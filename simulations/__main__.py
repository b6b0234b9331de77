"""``python -m simulations``: run a gossip scenario on virtual time and print its report as
JSON (``--compare``: Plumtree and flooding on the same seed)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from simulations.gossip import Scenario, compare, run


def main(argv: Sequence[str] | None = None) -> int:
    defaults = Scenario()
    parser = argparse.ArgumentParser(
        prog="python -m simulations",
        description="Simulate a mesh of node cores on virtual time, in one process: a random "
        "mesh, transfers signed by random nodes, loss, a partition, churn. Prints how long "
        "until every node held every packet and how many copies the mesh sent (JSON).",
    )
    parser.add_argument("--nodes", type=int, default=defaults.nodes, help="default %(default)s")
    parser.add_argument(
        "--degree", type=float, default=defaults.degree, help="mean links per node (%(default)s)"
    )
    parser.add_argument(
        "--packets", type=int, default=defaults.packets, help="transfers signed (%(default)s)"
    )
    parser.add_argument(
        "--interval",
        type=float,
        default=defaults.interval,
        help="virtual seconds between two transfers (%(default)s)",
    )
    parser.add_argument("--latency", type=float, default=defaults.latency, help="seconds")
    parser.add_argument("--jitter", type=float, default=defaults.jitter, help="seconds")
    parser.add_argument("--loss", type=float, default=defaults.loss, help="per datagram, 0 … 1")
    parser.add_argument(
        "--duplicate", type=float, default=defaults.duplicate, help="per datagram, 0 … 1"
    )
    parser.add_argument(
        "--partition",
        type=float,
        default=defaults.partition,
        help="seconds the mesh is cut in two halves from the first packet (0: never)",
    )
    parser.add_argument(
        "--churn",
        type=float,
        default=defaults.churn,
        help="share of the nodes stopped while the packets are signed (0 … 1)",
    )
    parser.add_argument(
        "--prune-after",
        type=int,
        default=defaults.prune_after,
        help="Plumtree: useless pushes in a row that prune a link (%(default)s)",
    )
    parser.add_argument("--seed", type=int, default=defaults.seed, help="default %(default)s")
    parser.add_argument(
        "--limit", type=float, default=defaults.limit, help="virtual seconds to wait at most"
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--flood", action="store_true", help="gossip by flooding (the baseline)")
    mode.add_argument(
        "--compare", action="store_true", help="Plumtree and flooding, on the same seed"
    )
    parser.add_argument(
        "--no-shared-verify",
        action="store_true",
        help="every node checks every signature itself (slower; the verdicts are the same)",
    )
    args = parser.parse_args(argv)
    try:
        scenario = Scenario(
            nodes=args.nodes,
            degree=args.degree,
            packets=args.packets,
            interval=args.interval,
            latency=args.latency,
            jitter=args.jitter,
            loss=args.loss,
            duplicate=args.duplicate,
            flood=args.flood,
            prune_after=args.prune_after,
            partition=args.partition,
            churn=args.churn,
            seed=args.seed,
            limit=args.limit,
            shared_verify=not args.no_shared_verify,
        )
    except ValueError as exc:
        parser.error(str(exc))
    result = compare(scenario) if args.compare else run(scenario).to_json()
    json.dump(result, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
