"""Training time and peak memory of every default model at growing data sizes.

    .venv/bin/python benchmarks/training.py [--sizes 100000,300000,1000000] [--json]

Each size runs in its own process on a seeded synthetic shop (customers with category
tastes, sessions of views, cart adds and baskets; about 1 customer per 20 interactions
and 1 item per 100), and times the real training job: every default model scored on a
30-day holdout and refitted on everything, the blend's ranker included, artifacts saved.
Peak memory is the process's maximum resident set. The target on 2 cores is 60 s for
all models on 1M interactions; the ratio to it is printed.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa

TARGET_SECONDS = 60.0


def synthetic(n: int, seed: int = 0) -> pa.Table:
    rng = np.random.default_rng(seed)
    customers, items = max(n // 20, 50), max(n // 100, 100)
    categories = 40
    item_category = rng.integers(0, categories, items)
    by_category = [np.flatnonzero(item_category == c) for c in range(categories)]
    by_category = [c if c.size else np.arange(items) for c in by_category]
    taste = rng.integers(0, categories, customers)
    per_session = 5
    sessions = n // per_session
    who = rng.integers(0, customers, sessions)
    start = rng.uniform(0, 180 * 86_400, sessions) + 1.7e9
    rows_user = np.repeat(who, per_session)
    rows_session = np.repeat(np.arange(sessions), per_session)
    cat = np.where(rng.random(n) < 0.7, taste[rows_user], rng.integers(0, categories, n))
    item = np.array([by_category[c][rng.integers(0, by_category[c].size)] for c in cat])
    kind = rng.choice(np.array(["view", "cart", "purchase"]), n, p=[0.75, 0.12, 0.13])
    ts = np.repeat(start, per_session) + np.tile(np.arange(per_session) * 60.0, sessions)
    basket = np.where(kind == "purchase", np.char.add("o", rows_session.astype(str)), None)
    return pa.table({
        "user_id": np.char.add("c", rows_user.astype(str)),
        "item_id": np.char.add("i", item.astype(str)),
        "kind": kind,
        "timestamp": ts,
        "session_id": np.char.add("s", rows_session.astype(str)),
        "basket_id": pa.array(basket.tolist(), pa.string()),
    })  # fmt: skip


def one(n: int) -> dict[str, object]:
    from retailor.models.families import DEFAULT_MODELS
    from retailor.models.interactions import Interactions, ItemAttributes
    from retailor.models.training import train_models
    from retailor.storage.files.models import FileModelRegistry

    table = synthetic(n)
    ids = sorted(set(table.column("item_id").to_pylist()))
    attributes = {
        i: ItemAttributes(
            category=("shop", f"cat{hash(i) % 40}"), name=f"item {i}", price=1.0 + hash(i) % 90
        )
        for i in ids
    }
    data = Interactions.from_arrow(table, attributes)
    seconds: dict[str, float] = {}
    last = time.perf_counter()

    def progress(message: str, step: int, total: int) -> None:
        nonlocal last
        if message.endswith(": holdout") or message == "done":
            now = time.perf_counter()
            if step > 0:
                seconds[DEFAULT_MODELS_SORTED[step - 1]] = round(now - last, 2)
            last = now

    DEFAULT_MODELS_SORTED = sorted(DEFAULT_MODELS, key=lambda m: m == "blend")
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        train_models(data, FileModelRegistry(Path(tmp)), DEFAULT_MODELS, progress=progress)
    total = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"interactions": n, "customers": data.n_users, "items": data.n_items,
            "seconds": round(total, 1), "peak_rss_mb": round(peak_mb), "per_model_seconds": seconds}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="100000,300000,1000000")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one(args.one)))
        return
    results = []
    for n in (int(s) for s in args.sizes.split(",")):
        done = subprocess.run(
            [sys.executable, __file__, "--one", str(n)], capture_output=True, text=True, check=True
        )
        result = json.loads(done.stdout.strip().splitlines()[-1])
        results.append(result)
        if not args.json:
            print(
                f"{n:>9,} interactions ({result['customers']:,} customers, {result['items']:,} items): "
                f"{result['seconds']:6.1f} s, peak {result['peak_rss_mb']:,} MB, "
                f"{result['seconds'] / TARGET_SECONDS:.2f} of the 60 s budget"
            )
            slowest = sorted(result["per_model_seconds"].items(), key=lambda kv: -kv[1])[:4]
            print("           slowest: " + ", ".join(f"{k} {v} s" for k, v in slowest))
    if args.json:
        print(json.dumps(results))


if __name__ == "__main__":
    main()
