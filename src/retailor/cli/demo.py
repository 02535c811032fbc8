"""``retailor demo``."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import click
import msgspec

from retailor.api.runfile import read_run_file
from retailor.cli.common import console, friendly_errors, out, settings_from
from retailor.cli.simulate import print_summary
from retailor.client import Client
from retailor.demo.loader import Say, segment_sample, send_bad_events
from retailor.domain.access import Scope
from retailor.privacy.keys import create_key
from retailor.simulator.runner import DEMO_SERVER_SETTINGS
from retailor.simulator.world import SCALES
from retailor.storage.files.keys import FileKeyStore
from retailor.storage.permissions import make_private_dir

#: The file that marks a directory as the demo's own (the next demo may replace it).
DEMO_MARK = ".retailor-demo"


@click.command()
@click.option(
    "--data",
    "data_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("demo-data"),
    show_default=True,
    help="Data directory for the demo (recreated).",
)
@click.option("--port", type=int, default=8642, show_default=True)
@click.option(
    "--scale",
    type=click.Choice(list(SCALES)),
    default="default",
    show_default=True,
    help="Size of the simulated retailer (tiny and small are quicker).",
)
@click.option(
    "--history",
    is_flag=True,
    help="Instead of the simulation, load a slice of a real retailer's order history "
    "(Online Retail) with browsing around it.",
)
@click.option(
    "--exit",
    "exit_after",
    is_flag=True,
    help="Stop the server once the demo has loaded (for scripts).",
)
@friendly_errors
def demo(data_dir: Path, port: int, scale: str, history: bool, exit_after: bool) -> None:
    """Start a server on a fresh data directory and show Retailor at work.

    By default a simulated retailer (weeks of shoppers who react to what they are shown)
    runs through the HTTP API; the models are trained, and a closed-loop experiment
    compares Retailor with popularity, random items and no recommendations, and its offer
    bandit with random offers and an oracle. With --history a slice of a real retailer's
    history is loaded instead. Then it prints what to try; the server keeps running until
    Ctrl-C."""
    from retailor.demo.loader import load_demo
    from retailor.runtime.server import serve

    if read_run_file(data_dir) is not None:
        raise click.ClickException(f"a server is already running on {data_dir}; stop it first")
    if data_dir.exists() and any(data_dir.iterdir()) and not (data_dir / DEMO_MARK).exists():
        raise click.ClickException(
            f"{data_dir} is not empty and not an earlier demo's data directory; the demo starts "
            "afresh and would delete it. Give --data a new or empty directory."
        )
    shutil.rmtree(data_dir, ignore_errors=True)
    overrides = {} if history else DEMO_SERVER_SETTINGS
    settings = settings_from(data_dir, port=port, **overrides)
    make_private_dir(settings.data_dir)
    (settings.data_dir / DEMO_MARK).write_text(
        "made by retailor demo: the next demo may replace it\n"
    )
    keys = FileKeyStore(settings.data_dir / "keys.json")
    _, admin_key = create_key(keys, Scope.ADMIN, "demo admin")
    _, ingest_key = create_key(keys, Scope.INGEST, "demo web site")
    _, view_key = create_key(keys, Scope.VIEW, "demo dashboard")
    failed: list[BaseException] = []

    def ready(url: str, stop: Callable[[], None]) -> None:
        def run() -> None:
            try:
                console.rule("[bold]Retailor demo")

                def say(line: str) -> None:
                    console.print("  " + line, soft_wrap=True)

                if history:
                    figures = load_demo(url, admin_key, ingest_key, lambda x: say("loaded " + x))
                else:
                    figures = run_simulation_demo(url, admin_key, ingest_key, scale, data_dir, say)
                _explain(url, admin_key, ingest_key, figures, data_dir, not history, exit_after)
                _show_dashboard(url, view_key)
            except BaseException as exc:  # shown, then the server stops
                failed.append(exc)
                console.print(f"[bold red]the demo failed to load:[/] {exc}")
                stop()
                return
            if exit_after:
                stop()

        threading.Thread(target=run, name="demo-loader", daemon=True).start()

    serve(settings, on_ready=ready)
    if failed:
        raise SystemExit(1)


def run_simulation_demo(
    url: str, admin_key: str, ingest_key: str, scale_name: str, data_dir: Path, say: Say
) -> dict[str, object]:
    """Simulate the retailer through the API, print the closed-loop comparison, then show
    profiles, bad input and the Segment endpoint on the simulated shop.

    The simulation is ``retailor simulate --url`` in a process of its own: the shoppers
    and the server each get a core, instead of sharing this process's interpreter."""
    from retailor.simulator.report import plot

    scale = SCALES[scale_name]
    console.print(
        f"  simulating a retailer with {scale.customers:,} customers and {scale.items:,} items: "
        f"{scale.history_days} days of shopping before Retailor, then {scale.days} days in "
        "which shoppers see (and react to) what each experiment arm shows"
    )
    simulation = subprocess.run(
        [sys.executable, "-m", "retailor", "simulate", "--scale", scale_name, "--seed", "7",
         "--url", url, "--concurrency", "16", "--json", "--server-for-simulation"],
        stdout=subprocess.PIPE, text=True, check=False,
        env={**os.environ, "RETAILOR_API_KEY": admin_key},  # not on a command line ps shows
    )  # fmt: skip
    if simulation.returncode != 0:
        raise RuntimeError(f"the simulation failed (exit status {simulation.returncode})")
    report = json.loads(simulation.stdout)
    print_summary(report)
    (data_dir / "simulation.json").write_bytes(msgspec.json.format(msgspec.json.encode(report)))
    plot(report, data_dir / "simulation.png")
    say(f"the full report: {data_dir}/simulation.json, the plot: {data_dir}/simulation.png")
    figures: dict[str, object] = {"customer": "C000001"}
    with Client(url, admin_key) as admin, Client(url, ingest_key) as ingest:
        clv = admin.train("clv")
        say(f"lifetime value model trained on {clv['metrics']['customers']:,} customers")
        segment = admin.put_segment(
            "loyal-buyers", {"all": [{"trait": "order_count", "op": "gte", "value": 2}]}
        )
        say(f"segment loyal-buyers: {segment['size']:,} customers")
        home = admin.decide("home", customer_id="C000001", k=4)
        figures["item"] = home["items"][0]["item_id"] if home["items"] else "SKU-00001"
        figures["segment"] = segment_sample(url, ingest_key, str(figures["item"]))
        say(f"Segment-compatible endpoint: {figures['segment']} events from an app")
        figures["rejected"] = send_bad_events(ingest, "C000001")
        say(
            f"bad input: {figures['rejected']} events rejected with a reason, kept in the quarantine"
        )
    return figures


def _show_dashboard(url: str, view_key: str) -> None:
    """The last lines of the demo: where the dashboard is and a key to open it with."""
    out.print(
        f"""[bold]Dashboard:[/] {url}/dashboard
  log in with this read-only view key: {view_key}
  (create more with: .venv/bin/retailor keys create --scope view --data DIR)""",
        soft_wrap=True,
        highlight=False,
    )


def _explain(
    url: str,
    admin: str,
    ingest: str,
    figures: dict[str, object],
    data_dir: Path,
    simulated: bool,
    exiting: bool,
) -> None:
    customer, item = figures["customer"], figures["item"]
    window = (
        "the\n  # simulation's server gives an offer 3 s to be redeemed before the bandit learns a "
        "zero,\n  # a normal one an hour: RETAILOR_REWARD_WINDOW_SECONDS)"
        if simulated and not exiting  # a server started again has the normal window
        else "the\n  # bandit learns a zero when an offer is not redeemed within an hour: "
        "RETAILOR_REWARD_WINDOW_SECONDS)"
    )
    if exiting:
        running = (
            f"[bold green]The demo is loaded[/] on the data directory {data_dir}/ and its server "
            f"stops now (--exit).\nStart it again with: .venv/bin/retailor serve --data {data_dir}"
            f" --port {url.rsplit(':', 1)[1]}\nthen try what follows."
        )
        stopping = "Ctrl-C stops the server you started."
    else:
        running = f"[bold green]Retailor is running at {url}[/] on the data directory {data_dir}/"
        stopping = "Ctrl-C stops the server."
    out.print(
        f"""
{running}

  keys:  admin  {admin}
         ingest {ingest}   (safe to put in a web page: it can only send events)

Try:
  # send an event (acknowledged once it is on disk; re-sending it is a duplicate)
  curl -s -X POST {url}/v1/events -H 'Authorization: Bearer {ingest}' \\
       -d '{{"event_id":"try-1","type":"product_viewed","customer_id":"{customer}","properties":{{"item_id":"{item}"}}}}'

  # the single customer view: identities, traits (RFM, lifetime value, favourites), segments
  curl -s {url}/v1/customers/{customer} -H 'Authorization: Bearer {admin}'

  # recommendations for this customer (the blend of every model), and what goes with an item
  curl -s '{url}/v1/recommendations?customer_id={customer}&k=5' -H 'Authorization: Bearer {admin}'
  curl -s '{url}/v1/items/{item}/similar?model=fbt&k=5' -H 'Authorization: Bearer {admin}'

  # what this customer should see on the home page now: items with reasons, an offer
  curl -s -X POST {url}/v1/decisions -H 'Authorization: Bearer {admin}' \\
       -d '{{"placement":"home","customer_id":"{customer}","offers":1}}'
  # ... on a product page, for a visitor nobody knows yet
  curl -s -X POST {url}/v1/decisions -H 'Authorization: Bearer {admin}' \\
       -d '{{"placement":"product_detail","anonymous_id":"new-visitor","context":{{"item_id":"{item}"}}}}'
  # tell Retailor the offer was redeemed (use the decision_id and offer_id you got; {window}
  curl -s -X POST {url}/v1/feedback -H 'Authorization: Bearer {admin}' \\
       -d '{{"decision_id":"DECISION_ID","type":"redeemed","offer_id":"OFFER_ID"}}'

  # a segment and its members
  curl -s {url}/v1/segments/loyal-buyers/members -H 'Authorization: Bearer {admin}'

  # a customer's timeline: orders from the history, web browsing, the event you just sent
  curl -s '{url}/v1/customers/{customer}/events?limit=5' -H 'Authorization: Bearer {admin}'

  # a catalog item, and what was rejected and why
  curl -s {url}/v1/catalog/items/{item} -H 'Authorization: Bearer {admin}'
  curl -s {url}/v1/quarantine -H 'Authorization: Bearer {admin}'

  # while the server runs, the CLI goes through it
  .venv/bin/retailor quarantine list --data {data_dir}
  .venv/bin/retailor import transactions MY_ORDERS.csv --data {data_dir}

  API document: {url}/openapi.json    metrics: {url}/metrics
{stopping}
""",
        soft_wrap=True,
    )
