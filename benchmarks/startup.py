"""Start-up time of the command line, next to Python's own start-up.

    .venv/bin/python benchmarks/startup.py [--runs 15] [--json]

Runs ``python -m retailor --help`` (and a few commands' own help, and ``keys list``), each
as a fresh process, and keeps the best of ``--runs`` wall times: the best is the least
disturbed by other work on the machine. The peer, timed in the same run the same way, is
``python -c pass``: what any Python command costs before it does anything. The target for
``retailor --help`` is 0.3 s; the ratio to it is printed.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_SECONDS = 0.3


def best_of(argv: list[str], runs: int) -> float:
    """The shortest wall time of ``runs`` runs of ``argv``, each checked to succeed."""
    best = float("inf")
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
        best = min(best, time.perf_counter() - started)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, help="processes per command")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    args = parser.parse_args()

    python = [sys.executable]
    retailor = [sys.executable, "-m", "retailor"]
    with tempfile.TemporaryDirectory() as tmp:
        cases = {
            "python -c pass (the peer)": [*python, "-c", "pass"],
            "retailor --help": [*retailor, "--help"],
            "retailor import --help": [*retailor, "import", "--help"],
            "retailor keys --help": [*retailor, "keys", "--help"],
            "retailor keys list": [*retailor, "keys", "list", "--data", str(Path(tmp) / "d")],
        }
        seconds = {name: best_of(argv, args.runs) for name, argv in cases.items()}
    peer = seconds["python -c pass (the peer)"]
    if args.json:
        print(json.dumps({"runs": args.runs, "seconds": seconds, "target": TARGET_SECONDS}))
        return
    print(f"best of {args.runs} runs each")
    print(f"{'command':<28} {'wall':>8} {'less python':>12}")
    for name, wall in seconds.items():
        print(f"{name:<28} {wall * 1000:>6.0f} ms {(wall - peer) * 1000:>9.0f} ms")
    helped = seconds["retailor --help"]
    print(
        f"retailor --help: {helped:.3f} s against the {TARGET_SECONDS} s target "
        f"({helped / TARGET_SECONDS:.2f} of it)"
    )


if __name__ == "__main__":
    main()
