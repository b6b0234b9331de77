"""``python -m benchmarks``: run the registered benchmarks and print one JSON object.

Owns the command line and the merge: every module's flat figures go to the top level of one
object (a key two modules both return is an error), beside ``machine``, ``quick`` and the
seconds each module took.  Progress goes to stderr; stdout holds only the result.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import sys
import time
from collections.abc import Sequence
from importlib import metadata
from typing import Any

import native
from benchmarks import REGISTRY, Figures, load
from node.drivers.runtime import tune_gc

__all__ = ["collect", "machine", "main", "render"]

_RESERVED = frozenset({"machine", "quick", "benchmarks", "seconds"})


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(terse=True),
        "cpu": _cpu_model(),
        "cpus": os.cpu_count(),
        "pynacl": _version("pynacl"),
        "msgpack": _version("msgpack"),
        "native": native.guard(),
        "gc_thresholds": "/".join(str(t) for t in gc.get_threshold()),
    }


def _cpu_model() -> str:
    """The processor's model name (Linux's ``/proc/cpuinfo``), else what ``platform`` says:
    figures from two virtual machines compare only as ratios, and this tells them apart."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                name, _, value = line.partition(":")
                if name.strip() == "model name":
                    return value.strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _version(distribution: str) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "unknown"


def collect(names: Sequence[str], quick: bool, size: int | None = None) -> dict[str, Any]:
    """Run the benchmarks ``names`` in order and merge their figures into one object."""
    tune_gc()  # the node daemon's collector settings (node/drivers/runtime.py)
    result: dict[str, Any] = {"machine": machine(), "quick": quick, "benchmarks": list(names)}
    seconds: dict[str, float] = {}
    for name in names:
        module = load(name)
        _progress(f"{name}: start")
        start = time.perf_counter()
        figures: Figures = module.run(quick, size, _progress)
        seconds[name] = round(time.perf_counter() - start, 2)
        _progress(f"{name}: done in {seconds[name]:.1f} s")
        clash = (figures.keys() & result.keys()) | (figures.keys() & _RESERVED)
        if clash:
            raise RuntimeError(f"benchmark {name!r} repeats key(s) {sorted(clash)}")
        result.update(figures)
    result["seconds"] = seconds
    return result


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def render(result: dict[str, Any]) -> str:
    """A human-readable table of ``result``: rates with separators, ratios to three places."""
    lines: list[str] = []
    width = max((len(key) for key in result), default=0)
    for key, value in result.items():
        if isinstance(value, dict):
            continue
        if isinstance(value, float) and key.endswith("_per_s"):
            text = f"{value:>14,.0f} /s"
        elif isinstance(value, float):
            text = f"{value:>14.3f}"
        else:
            text = f"{value!s:>14}"
        lines.append(f"{key:<{width}}  {text}")
    seconds = result.get("seconds", {})
    lines.append("")
    lines.append("seconds: " + ", ".join(f"{name} {took:.1f}" for name, took in seconds.items()))
    lines.append("machine: " + ", ".join(f"{k} {v}" for k, v in result["machine"].items()))
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the command line, run, print; return the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Run the node's benchmarks; each figure beside its baseline, in one run.",
    )
    parser.add_argument(
        "--quick", action="store_true", help="short run: smaller work sizes, fewer rounds"
    )
    parser.add_argument("--json", action="store_true", help="print only the JSON object on stdout")
    parser.add_argument(
        "--only",
        choices=sorted(REGISTRY),
        metavar="NAME",
        help=f"run one benchmark (one of: {', '.join(REGISTRY)})",
    )
    parser.add_argument(
        "--packets",
        type=int,
        metavar="N",
        help="work size for every benchmark (wire: packets in the corpus); for smoke tests",
    )
    args = parser.parse_args(argv)
    if args.packets is not None and args.packets < 1:
        parser.error(f"--packets must be at least 1, got {args.packets}")
    names = [args.only] if args.only else list(REGISTRY)
    result = collect(names, args.quick, args.packets)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(render(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
