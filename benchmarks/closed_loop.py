"""Closed-loop benchmark: Retailor's lift over popularity, random and no recommendations,
and its offer bandit's regret against an oracle, on the simulated retailer.

Runs ``retailor simulate --json`` once per seed (in-process, or over HTTP against a
server it starts with ``--http``) and prints, per seed, revenue per visitor of each arm
with its 95 % interval, the ratio to the popularity arm, and the bandit's regret in the
first and last third of the experiment. Each ratio is against a peer arm of the same run.

    .venv/bin/python benchmarks/closed_loop.py                 # default scale, seeds 7 8 9
    .venv/bin/python benchmarks/closed_loop.py --scale small --seeds 1 2
    .venv/bin/python benchmarks/closed_loop.py --http --seeds 7
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _server import Server, start_server


def run(scale: str, seed: int, url: str | None, key: str | None) -> dict[str, Any]:
    args = [sys.executable, "-m", "retailor", "simulate", "--scale", scale, "--seed", str(seed),
            "--json"]  # fmt: skip
    if url and key:
        args += ["--url", url, "--key", key, "--concurrency", "16"]
    result = subprocess.run(
        args, capture_output=True, text=True, env={**os.environ, "RETAILOR_NO_PROGRESS": "1"}
    )
    if result.returncode != 0:
        raise SystemExit(f"simulate failed:\n{result.stderr}")
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def figure(f: dict[str, Any]) -> str:
    return f"{f['mean']:.2f} ({f['ci95'][0]:.2f}-{f['ci95'][1]:.2f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", default="default")
    parser.add_argument("--seeds", type=int, nargs="+", default=[7, 8, 9])
    parser.add_argument("--http", action="store_true", help="drive a real server over HTTP")
    args = parser.parse_args()
    print("| seed | mode | Retailor | popularity | random | none | vs popularity | "
          "bandit regret first / last third | random offer regret | time |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|---|")
    for seed in args.seeds:
        server: Server | None = None
        try:
            if args.http:
                server = start_server(env={"RETAILOR_REWARD_WINDOW_SECONDS": "3"})
            report = run(args.scale, seed, server.url if server else None,
                         server.key if server else None)  # fmt: skip
        finally:
            if server:
                server.stop()
        arms = report["arms"]
        lift = report["lift"]["popularity"]
        regret = report["offers"]["regret"]
        random_regret = report["offers"]["arms"]["random"]["regret_per_offer"]["mean"]
        print(
            f"| {seed} | {report['mode']} | {figure(arms['retailor']['revenue_per_visitor'])} "
            f"| {figure(arms['popularity']['revenue_per_visitor'])} "
            f"| {figure(arms['random']['revenue_per_visitor'])} "
            f"| {figure(arms['none']['revenue_per_visitor'])} "
            f"| {lift['revenue_per_visitor_ratio']:.2f}x "
            f"({lift['ratio_ci95'][0]:.2f}-{lift['ratio_ci95'][1]:.2f}; arms' intervals "
            f"{'overlap' if lift['intervals_overlap'] else 'apart'}) "
            f"| {regret['first_third_mean']:.3f} / {regret['last_third_mean']:.3f} "
            f"({'falling' if regret['falling'] else 'no clear fall'}) "
            f"| {random_regret:.3f} | {report['elapsed_seconds']:.0f} s |",
            flush=True,
        )


if __name__ == "__main__":
    main()
