"""Decisions: latency at a fixed rate and maximum throughput of POST /v1/decisions.

    .venv/bin/python benchmarks/decisions.py [--seconds 10] [--rate 1000] [--json figures.json]

Starts `retailor serve` (with the ceiling endpoint below) on a fresh data directory and loads a shop through the API: 2,000
items in 40 categories (8 departments), 5,000 customers with ~20 events each over the
last 30 days (sessions of views, cart adds and orders, tastes skewed to one or two
categories, popular items more viewed) and 1,000 anonymous visitors who browsed today;
trains the default recommenders (POST /v1/models/train, a job followed to its end) and
puts 4 offers. Then 3,000
request bodies are generated: 45 % home and 35 % product_detail for known customers, 8 %
cart, 12 % anonymous visitors (half of them seen before), a third asking for one offer.
Each body is sent once first (every answer must be a 200; empty answers and fallbacks
are counted; a sample of the logged decisions gives the engine's own time), then, in the
same run:

1. Open loop at a fixed rate (default 1,000 req/s) for ``--seconds`` after 2 s of
   warm-up, of GET /healthz and then of POST /v1/decisions rotating through the bodies.
   The generator is this script's own (none is installed; wrk2, oha and vegeta are not
   packaged for Debian 12, and Debian's hey paces each worker closed loop, with a single
   body, so it omits what a stall delays): a separate process, asyncio, 32 keep-alive HTTP/1.1
   connections; request i is due at t0 + i/rate and its latency runs from that due time
   to the last byte of the answer, so a slow answer delays the queue and is counted
   (no coordinated omission). A server that cannot keep up is given max(2 s, seconds/2)
   after the last due time; what is unanswered then counts at its age. Target: p99 <=
   10 ms. The /healthz run is both the floor and the check that the generator holds
   the rate (how late its timer fires, its CPU); the table says when the generator
   itself is the bottleneck.
2. Closed loop with wrk (one thread, 64 connections, ``--seconds``): the maximum
   throughput of GET /healthz, of the ceiling and of POST /v1/decisions (a Lua script
   rotating through the same bodies). Target: decisions >= 40 % of /healthz. The
   ceiling is POST /bench/ceiling, an endpoint the server gets only in this benchmark
   (``_ceiling_server.py``): the same key check, body read, request decoding and answer
   encoding as a decision, with the same bodies, but a fixed answer of the median size
   instead of the engine. It is what decisions would reach if the engine cost nothing,
   and decisions / ceiling is the share of the request path the engine leaves.

Every answer's status is checked (non-2xx are counted and reported; any makes the exit
status 1). Each phase also reports the server process's CPU (in cores) and the share of
the machine's CPU the hypervisor stole, which on these shared 2-core machines can reach a
third under load and then inflates every tail. Targets are for 2 cores, where the server
and the load generator share the machine. Run by hand; never a test.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _open_loop import open_loop, percentiles, raw_requests
from _server import Server, Usage, env_note, need_wrk, start_server, write_json, wrk

HEALTH = 'wrk.method = "GET"\nwrk.path = "/healthz"\n'
DEPARTMENTS = {
    "Apparel": ["Tops", "Trousers", "Dresses", "Shoes", "Accessories"],
    "Home": ["Kitchen", "Bedding", "Bath", "Lighting", "Storage"],
    "Electronics": ["Phones", "Audio", "Computers", "Cameras", "Cables"],
    "Beauty": ["Skincare", "Makeup", "Hair", "Fragrance", "Nails"],
    "Grocery": ["Snacks", "Drinks", "Pantry", "Breakfast", "Frozen"],
    "Sports": ["Running", "Cycling", "Fitness", "Outdoor", "Swimming"],
    "Toys": ["Puzzles", "Building", "Dolls", "Games", "Baby"],
    "Garden": ["Tools", "Plants", "Furniture", "Watering", "Barbecue"],
}
CATEGORIES = [(dept, cat) for dept, cats in DEPARTMENTS.items() for cat in cats]
ITEMS, CUSTOMERS, ANONYMOUS, BODIES = 2_000, 5_000, 1_000, 3_000
OFFERS: dict[str, dict[str, Any]] = {
    "ten-percent": {"name": "10 % off", "kind": "percent_off", "value": 10},
    "five-off": {
        "name": "5 off",
        "kind": "amount_off",
        "value": 5,
        "budget": 100_000,
        "frequency_cap": {"per_day": 50},
    },
    "free-shipping": {"name": "Free shipping", "kind": "free_shipping", "cost": 4.5},
    "double-points": {"name": "Double points", "kind": "points_multiplier", "value": 2},
}
P99_TARGET_MS = 10.0
RATIO_TARGET = 0.40
WARMUP_S = 2.0
OPEN_CONNECTIONS = 32
WRK_CONNECTIONS = 64
WRK_PHASES = ("healthz", "ceiling", "decisions")


# --- the shop ---------------------------------------------------------------------------


class Shop:
    """A seeded catalog, event history and request mix."""

    def __init__(self, seed: int = 11) -> None:
        self.rng = random.Random(seed)
        self.now = datetime.now(UTC)
        self.items: list[dict[str, Any]] = []
        self.by_category: list[list[str]] = [[] for _ in CATEGORIES]
        self.weights: list[list[float]] = [[] for _ in CATEGORIES]
        for i in range(ITEMS):
            c = i % len(CATEGORIES)
            dept, cat = CATEGORIES[c]
            item_id = f"sku-{i:05d}"
            price = round(min(400.0, self.rng.lognormvariate(3.2, 0.8)), 2)
            self.items.append(
                {
                    "item_id": item_id,
                    "name": f"{cat} {i}",
                    "category": [dept, cat],
                    "brand": f"{dept[:3]}-brand-{self.rng.randrange(8)}",
                    "price": price,
                    "cost": round(price * self.rng.uniform(0.4, 0.7), 2),
                    "stock": 0 if self.rng.random() < 0.03 else self.rng.randint(1, 500),
                }
            )
            rank = len(self.by_category[c]) + 1
            self.by_category[c].append(item_id)
            self.weights[c].append(1.0 / rank)  # Zipf-like popularity within a category
        self.taste = [
            self.rng.sample(range(len(CATEGORIES)), self.rng.choice((1, 2, 2)))
            for _ in range(CUSTOMERS)
        ]

    def item(self, categories: list[int]) -> str:
        c = (
            self.rng.choice(categories)
            if self.rng.random() < 0.75
            else self.rng.randrange(len(CATEGORIES))
        )
        return self.rng.choices(self.by_category[c], self.weights[c])[0]

    def events(self) -> list[dict[str, Any]]:
        """Sessions of 3-8 events per customer (about 20 events each), then anonymous
        visitors' sessions today."""
        out: list[dict[str, Any]] = []
        for c in range(CUSTOMERS):
            who = {"customer_id": f"c{c}"}
            wanted = self.rng.randint(12, 28)
            s = 0
            while wanted > 0:
                size = min(wanted, self.rng.randint(3, 8))
                out.extend(self._session(f"c{c}-s{s}", who, self.taste[c], size, days=30))
                wanted -= size
                s += 1
        for a in range(ANONYMOUS):
            taste = self.rng.sample(range(len(CATEGORIES)), 1)
            who = {"anonymous_id": f"anon-{a}"}
            out.extend(self._session(f"anon-{a}-s0", who, taste, self.rng.randint(3, 6), days=1))
        return out

    def _session(
        self, session: str, who: dict[str, str], taste: list[int], size: int, days: int
    ) -> list[dict[str, Any]]:
        start = self.now - timedelta(seconds=self.rng.uniform(3_600, days * 86_400))
        channel = "web" if self.rng.random() < 0.7 else "app"
        carted: list[str] = []
        out: list[dict[str, Any]] = []
        for k in range(size):
            base = {
                "event_id": f"{session}-e{k}",
                "timestamp": (start + timedelta(seconds=70 * k)).isoformat(),
                "session_id": session,
                "channel": channel,
                **who,
            }
            last = k == size - 1
            if last and "customer_id" in who and (carted or self.rng.random() < 0.2):
                bought = carted or [self.item(taste)]
                lines = [
                    {"item_id": i, "quantity": self.rng.randint(1, 2), "price": self._price(i)}
                    for i in dict.fromkeys(bought)
                ]
                props: dict[str, Any] = {"order_id": f"o-{session}", "lines": lines}
                out.append({**base, "type": "order_completed", "properties": props})
            elif (carted and self.rng.random() < 0.25) or (not carted and self.rng.random() < 0.15):
                item = carted[-1] if carted and self.rng.random() < 0.3 else self.item(taste)
                carted.append(item)
                props = {"item_id": item, "quantity": 1}
                out.append({**base, "type": "product_added", "properties": props})
            else:
                props = {"item_id": self.item(taste)}
                out.append({**base, "type": "product_viewed", "properties": props})
        return out

    def _price(self, item_id: str) -> float:
        return float(self.items[int(item_id[4:])]["price"])

    def bodies(self, n: int = BODIES) -> list[bytes]:
        """Decision requests: who, where, with which context, and whether one offer."""
        out = []
        for _ in range(n):
            roll = self.rng.random()
            request: dict[str, Any] = {}
            context: dict[str, Any] = {"channel": "web" if self.rng.random() < 0.7 else "app"}
            if roll < 0.88:
                c = self.rng.randrange(CUSTOMERS)
                request["customer_id"] = f"c{c}"
                taste = self.taste[c]
            else:
                known = self.rng.random() < 0.5
                request["anonymous_id"] = (
                    f"anon-{self.rng.randrange(ANONYMOUS)}"
                    if known
                    else f"visitor-{self.rng.randrange(10**9)}"
                )
                taste = [self.rng.randrange(len(CATEGORIES))]
            if roll < 0.45 or (roll >= 0.88 and self.rng.random() < 0.5):
                request["placement"] = "home"
            elif roll < 0.80 or roll >= 0.88:
                request["placement"] = "product_detail"
                context["item_id"] = self.item(taste)
            else:
                request["placement"] = "cart"
                context["cart"] = list(
                    dict.fromkeys(self.item(taste) for _ in range(self.rng.randint(1, 3)))
                )
            request["context"] = context
            request["offers"] = 1 if self.rng.random() < 1 / 3 else 0
            out.append(json.dumps(request, separators=(",", ":")).encode())
        return out


def load(server: Server, shop: Shop, console: Console) -> dict[str, Any]:
    """Catalog, events, trained models and offers into ``server``; what it took."""
    figures: dict[str, Any] = {}
    headers = {"Authorization": f"Bearer {server.key}"}
    with httpx.Client(base_url=server.url, headers=headers, timeout=1_800) as client:
        with console.status("catalog"):
            r = client.put("/v1/catalog/items", json={"items": shop.items})
            r.raise_for_status()
        figures["items"] = len(shop.items)
        events = shop.events()
        accepted = 0
        started = time.perf_counter()
        with console.status(f"{len(events):,} events"):
            for i in range(0, len(events), 5_000):
                r = client.post("/v1/events", json={"events": events[i : i + 5_000]})
                if r.status_code != 200:
                    raise SystemExit(f"events refused: {r.status_code} {r.text[:500]}")
                accepted += r.json()["accepted"]
        figures["events"] = len(events)
        figures["events_accepted"] = accepted
        figures["events_s"] = round(time.perf_counter() - started, 2)
        started = time.perf_counter()
        with console.status("training the default models"):
            r = client.post("/v1/models/train")
            if r.status_code != 202:
                raise SystemExit(f"training refused: {r.status_code} {r.text[:500]}")
            job = r.json()
            while job["status"] not in ("succeeded", "failed"):  # a job: follow it
                time.sleep(0.5)
                job = client.get(r.headers["location"]).json()
            if job["status"] != "succeeded":
                raise SystemExit(f"training failed: {job['error']}")
        figures["train_s"] = round(time.perf_counter() - started, 1)
        figures["models"] = {
            m["name"]: {"version": m["version"], "activated": m["activated"], "gate": m["gate"]}
            for m in job["result"]["models"]
        }
        for offer_id, offer in OFFERS.items():
            client.put(f"/v1/offers/{offer_id}", json=offer).raise_for_status()
        figures["offers"] = len(OFFERS)
    return figures


def preflight(server: Server, bodies: list[bytes], asks: list[int]) -> tuple[dict[str, Any], bytes]:
    """Every body once: statuses, what the answers hold, and the engine's own time from a
    sample of the logged decisions (GET /v1/decisions/{id}); and an answer of the median
    size."""
    headers = {"Authorization": f"Bearer {server.key}", "Content-Type": "application/json"}
    statuses: Counter[int] = Counter()
    fallbacks: Counter[str] = Counter()
    problems: list[str] = []
    empty = personalized = offered = asked = 0
    sizes: list[int] = []
    answers: list[bytes] = []
    ids: list[str] = []
    wall: list[float] = []
    with httpx.Client(base_url=server.url, headers=headers, timeout=30) as client:
        for body, wants in zip(bodies, asks, strict=True):
            started = time.perf_counter()
            r = client.post("/v1/decisions", content=body)
            wall.append((time.perf_counter() - started) * 1000)
            statuses[r.status_code] += 1
            if r.status_code != 200:
                if len(problems) < 3:
                    problems.append(f"{r.status_code}: {r.text[:300]}")
                continue
            answer = r.json()
            answers.append(r.content)
            ids.append(answer["decision_id"])
            sizes.append(len(answer["items"]))
            empty += not answer["items"]
            personalized += bool(answer["personalized"])
            fallbacks[answer.get("fallback") or "none"] += 1
            asked += wants
            offered += bool(wants and answer["offers"])
        engine = []
        for decision_id in random.Random(3).sample(ids, min(300, len(ids))):
            r = client.get(f"/v1/decisions/{decision_id}")
            if r.status_code == 200:
                engine.append(r.json()["decision"]["latency_ms"])
    answers.sort(key=len)
    return {
        "requests": len(bodies),
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "problems": problems,
        "empty_answers": empty,
        "mean_items": round(float(np.mean(sizes)), 2) if sizes else 0.0,
        "personalized_share": round(personalized / max(1, len(ids)), 3),
        "fallbacks": dict(fallbacks.most_common()),
        "offers_asked": asked,
        "offers_given": offered,
        "sequential_ms": percentiles(np.array(wall)),
        "engine_ms": percentiles(np.array(engine)) if engine else {},
        "answer_bytes": percentiles(np.array([len(a) for a in answers])),
    }, answers[len(answers) // 2] if answers else b""


def asks_offer(body: bytes) -> int:
    return int(json.loads(body).get("offers") or 0)


# --- wrk -----------------------------------------------------------------------------------


def rotating(key: str, bodies: list[bytes], path: str = "/v1/decisions") -> str:
    """Lua for wrk: POST ``path``, each request the next of ``bodies``."""
    listed = ",\n".join(f"[==[{b.decode()}]==]" for b in bodies)
    return f"""
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer {key}"
local bodies = {{
{listed}
}}
local requests = {{}}
for i, body in ipairs(bodies) do
  requests[i] = wrk.format("POST", "{path}", nil, body)
end
local n = 0
request = function()
  n = n % #requests + 1
  return requests[n]
end
"""


# --- the report ----------------------------------------------------------------------------


def verdict(ok: bool) -> str:
    return "[green]met[/]" if ok else "[bold red]NOT met[/]"


def report(console: Console, figures: dict[str, Any], rate: float, seconds: int) -> int:
    """Print the table; the number of failed or non-2xx requests."""
    health, decide = figures["open_healthz"], figures["open_decisions"]
    wrk_h, wrk_c, wrk_d = figures["wrk_healthz"], figures["wrk_ceiling"], figures["wrk_decisions"]
    cpu = figures["cpu"]
    table = Table(
        "measure",
        "result",
        "p50 / p99 / p99.9 / max ms",
        "target",
        "",
        "server CPU; steal",
        title=f"Decisions ({figures['machine']}, {seconds} s each)",
    )

    def spread(p: dict[str, float]) -> str:
        if not p:
            return "none"
        return f"{p['p50']:.2f} / {p['p99']:.2f} / {p['p99.9']:.2f} / {p['max']:.1f}"

    def used(phase: str) -> str:
        u = cpu[phase]
        return f"{u['server_cores']:.2f} cores; {u['steal']:.0%}"

    def open_row(label: str, f: dict[str, Any], phase: str, target: str, mark: str) -> None:
        result = f"{f['achieved_per_s']:,.0f} req/s answered, {f['non_2xx']} non-2xx"
        table.add_row(label, result, spread(f["latency_ms"]), target, mark, used(phase))
        if f["unfinished"]:
            table.add_row(
                "  could not keep up",
                f"{f['unfinished']:,} of {f['requests']:,} unanswered at the end (counted "
                f"at their age); {f['answered_per_s']:,.0f} req/s answered over the run",
                "",
                "",
                "",
                "",
            )

    open_row(f"open loop {rate:,.0f} req/s: GET /healthz", health, "open_healthz", "", "")
    met_p99 = (
        decide["latency_ms"]["p99"] <= P99_TARGET_MS
        and decide["non_2xx"] == 0
        and decide["unfinished"] == 0
    )
    open_row(
        f"open loop {rate:,.0f} req/s: POST /v1/decisions",
        decide,
        "open_decisions",
        f"p99 <= {P99_TARGET_MS:.0f} ms",
        verdict(met_p99),
    )
    table.add_row(
        "  of which queued for a free connection",
        f"max {decide['max_in_flight']} of {decide['connections']} in flight, "
        f"backlog up to {decide['max_backlog']:,}",
        spread(decide["wait_for_connection_ms"]),
        "",
        "",
        "",
    )
    table.add_row(
        "  of which on the wire (write to answer)", "", spread(decide["service_ms"]), "", "", ""
    )
    # the check is the /healthz run: there the server leaves the generator a core
    late = health["timer_late_ms"]["p99"]
    gen_cpu = max(health["generator_cpu"], decide["generator_cpu"])
    if gen_cpu > 0.8 or (health["achieved_per_s"] < 0.98 * rate and health["max_in_flight"] < 4):
        mark = "[bold red]generator-bound[/]"
    elif late > 2.0:
        mark = "[yellow]late: CPU contention[/]"
    else:
        mark = "[green]holds the rate[/]"
    table.add_row(
        "  generator on /healthz: timer lateness",
        f"CPU {health['generator_cpu']:.0%} of a core ({decide['generator_cpu']:.0%} on "
        f"decisions, timer p99 {decide['timer_late_ms']['p99']:.1f} ms there)",
        spread(health["timer_late_ms"]),
        "p99 <= 2 ms, CPU <= 80 %",
        mark,
        "",
    )
    table.add_row(
        f"wrk {WRK_CONNECTIONS} conn.: GET /healthz",
        f"{wrk_h['requests_per_s']:,.0f} req/s, {wrk_h['errors']} errors",
        f"{wrk_h['p50_ms']:.2f} / {wrk_h['p99_ms']:.2f} (closed loop)",
        "",
        "",
        used("wrk_healthz"),
    )
    table.add_row(
        f"wrk {WRK_CONNECTIONS} conn.: POST /bench/ceiling (the decision request path, no engine)",
        f"{wrk_c['requests_per_s']:,.0f} req/s, {wrk_c['errors']} errors; "
        f"{figures['ceiling_ratio']:.3f} of /healthz",
        f"{wrk_c['p50_ms']:.2f} / {wrk_c['p99_ms']:.2f} (closed loop)",
        "",
        "",
        used("wrk_ceiling"),
    )
    ratio = figures["throughput_ratio"]
    met_ratio = ratio >= RATIO_TARGET and wrk_d["errors"] == 0
    table.add_row(
        f"wrk {WRK_CONNECTIONS} conn.: POST /v1/decisions",
        f"{wrk_d['requests_per_s']:,.0f} req/s, {wrk_d['errors']} errors; {ratio:.3f} of "
        f"/healthz, {figures['ceiling_share']:.3f} of the ceiling",
        f"{wrk_d['p50_ms']:.2f} / {wrk_d['p99_ms']:.2f} (closed loop)",
        f">= {RATIO_TARGET:.2f} of /healthz",
        verdict(met_ratio),
        used("wrk_decisions"),
    )
    pre = figures["preflight"]
    table.add_row(
        f"pre-flight: each of {pre['requests']:,} bodies once",
        f"statuses {pre['statuses']}, {pre['empty_answers']} empty, "
        f"{pre['personalized_share']:.0%} personalized, {pre['mean_items']:.1f} items, "
        f"offers in {pre['offers_given']}/{pre['offers_asked']} asked",
        f"{spread(pre['engine_ms'])} (engine)",
        "all 200",
        verdict(pre["statuses"] == {"200": pre["requests"]}),
        used("preflight"),
    )
    table.add_row("  answered one at a time (httpx)", "", spread(pre["sequential_ms"]), "", "", "")
    shop = figures["shop"]
    activated = sum(m["activated"] for m in shop["models"].values())
    table.add_row(
        "the shop",
        f"{shop['items']:,} items, {CUSTOMERS:,} customers, {shop['events_accepted']:,} "
        f"events, {activated}/{len(shop['models'])} models, {shop['offers']} offers",
        f"trained in {shop['train_s']:.1f} s",
        "",
        "",
        "",
    )
    console.print(table)
    console.print(f"fallbacks in the pre-flight: {pre['fallbacks']}")
    for problem in pre["problems"]:
        console.print(f"[red]{problem}[/]")
    if gen_cpu > 0.8:
        console.print(
            "[bold red]the open-loop generator used most of a core: it may be the bottleneck[/]"
        )
    if health["achieved_per_s"] < 0.98 * rate:
        console.print(f"[bold red]/healthz was not answered at {rate:,.0f} req/s[/]")
    steal = max(u["steal"] for u in cpu.values())
    if steal > 0.05:
        console.print(
            f"[yellow]the hypervisor took up to {steal:.0%} of this machine's CPU during a phase "
            "(steal): tail latencies and throughput are worse than on a quiet machine[/]"
        )
    load = figures["load_average"]
    console.print(
        f"1-minute load average: {load['before']:.2f} before the run, {load['after']:.2f} at "
        "the end (this run's own processes included)"
    )
    return int(
        decide["non_2xx"]
        + health["non_2xx"]
        + wrk_h["errors"]
        + wrk_d["errors"]
        + wrk_c["errors"]
        + pre["requests"]
        - pre["statuses"].get("200", 0)
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=int, default=10, help="length of each measurement")
    parser.add_argument("--rate", type=float, default=1_000.0, help="open-loop requests/s")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    need_wrk()
    console = Console(width=172)
    load_before = os.getloadavg()[0]
    work = Path(tempfile.mkdtemp(prefix="retailor-wrk-"))
    shop = Shop()
    bodies = shop.bodies()
    figures: dict[str, Any] = {"machine": env_note()}
    server = start_server("admin", script=Path(__file__).resolve().parent / "_ceiling_server.py")
    spawn = multiprocessing.get_context("spawn")
    try:
        with ProcessPoolExecutor(max_workers=1, mp_context=spawn) as generator:
            generator.submit(int, 0).result()  # start the process before measuring
            figures["shop"] = load(server, shop, console)
            usage: dict[str, dict[str, float]] = {}
            figures["cpu"] = usage
            with (
                console.status(f"pre-flight: {len(bodies):,} decisions, one by one"),
                Usage(server.process.pid) as used,
            ):
                figures["preflight"], answer = preflight(
                    server, bodies, [asks_offer(b) for b in bodies]
                )
            httpx.put(
                f"{server.url}/bench/ceiling",
                content=answer,
                headers={"Authorization": f"Bearer {server.key}"},
            ).raise_for_status()
            usage["preflight"] = used.figures
            for name, requests in (
                ("healthz", raw_requests(server.url, "GET", "/healthz", server.key, [])),
                (
                    "decisions",
                    raw_requests(server.url, "POST", "/v1/decisions", server.key, bodies),
                ),
            ):
                with (
                    console.status(f"open loop at {args.rate:,.0f} req/s: {name}"),
                    Usage(server.process.pid) as used,
                ):
                    figures[f"open_{name}"] = generator.submit(
                        open_loop,
                        server.url,
                        requests,
                        args.rate,
                        args.seconds,
                        WARMUP_S,
                        OPEN_CONNECTIONS,
                    ).result()
                usage[f"open_{name}"] = used.figures
                time.sleep(2)  # let the server finish what the open loop left in flight
        for name, script in (
            ("healthz", HEALTH),
            ("ceiling", rotating(server.key, bodies, "/bench/ceiling")),
            ("decisions", rotating(server.key, bodies)),
        ):
            with (
                console.status(f"wrk, {WRK_CONNECTIONS} connections: {name}"),
                Usage(server.process.pid) as used,
            ):
                figures[f"wrk_{name}"] = wrk(
                    server.url, script, args.seconds, WRK_CONNECTIONS, work
                )
            usage[f"wrk_{name}"] = used.figures
    finally:
        server.stop()
    figures["load_average"] = {"before": load_before, "after": os.getloadavg()[0]}
    figures["targets"] = {"p99_ms": P99_TARGET_MS, "throughput_ratio": RATIO_TARGET}
    rps = {name: figures[f"wrk_{name}"]["requests_per_s"] for name in WRK_PHASES}
    figures["throughput_ratio"] = round(rps["decisions"] / rps["healthz"], 3)
    figures["ceiling_ratio"] = round(rps["ceiling"] / rps["healthz"], 3)
    figures["ceiling_share"] = round(rps["decisions"] / rps["ceiling"], 3)
    failed = report(console, figures, args.rate, args.seconds)
    write_json(args.json, figures)
    if failed:
        console.print(f"[bold red]{failed} requests failed or got a non-2xx answer[/]")
        raise SystemExit(1)


if __name__ == "__main__":
    main()
