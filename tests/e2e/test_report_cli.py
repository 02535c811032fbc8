"""``retailor report``: recompute, report as JSON, CSV and a table, export Parquet, bad
options, and the help, on a data directory whose logs hold a decision and an order."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow.dataset as ds

from retailor.domain.decisions import DecisionRecord, FeedbackRecord
from retailor.domain.events import Event, EventType
from retailor.storage.factory import open_storage
from retailor.storage.schema import events_to_table
from tests.conftest import start_server, stop_server

T0 = datetime(2025, 6, 1, 12, tzinfo=UTC)
RANGE = ("--from", "2025-06-01", "--to", "2025-06-02")


def retailor(data: Path, *args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "retailor", *map(str, args), "--data", str(data)],
        capture_output=True,
        text=True,
        timeout=300,
    )


def _seed(data: Path) -> None:
    data.mkdir()
    storage = open_storage(f"duckdb://{data / 'retailor.duckdb'}", data)
    try:
        for n, placement in enumerate(("home", "cart")):
            storage.decisions.append(
                [DecisionRecord(decision_id=f"d{n}", at=T0 + timedelta(minutes=n),
                                placement=placement, customer="c1", anonymous_id=None,
                                context={"channel": "web"}, items=[f"i{n}"], sources=[],
                                offers=[], model_versions={"als": 2}, personalized=True,
                                fallback=None, latency_ms=1.0)]
            )  # fmt: skip
        storage.decisions.add_feedback(
            [FeedbackRecord(decision_id="d0", at=T0 + timedelta(minutes=5), type="clicked",
                            item_id="i0", offer_id=None, value=None, source="api")]
        )  # fmt: skip
        at = T0 + timedelta(hours=3)
        order = Event(event_id="e1", type=EventType.ORDER_COMPLETED, timestamp=at, received_at=at,
                      customer_id="c1", properties={"order_id": "x1", "lines": [
                          {"item_id": "i0", "quantity": 1, "price": 12.5}]})  # fmt: skip
        storage.events.append(events_to_table([order]))
    finally:
        storage.close()


def test_recompute_report_and_export(tmp_path: Path) -> None:
    data = tmp_path / "data"
    _seed(data)
    done = retailor(data, "report", "--recompute", *RANGE, "--by", "placement", "--json")
    assert done.returncode == 0, done.stderr
    assert "recomputed 2 decisions" in done.stderr
    body = json.loads(done.stdout)
    rows = {row["placement"]: row for row in body["rows"]}
    assert rows["home"]["clicks"] == 1 and rows["home"]["orders"] == 1
    assert rows["home"]["attributed_revenue"] == 12.5 and rows["cart"]["orders"] == 0
    assert body["totals"]["decisions"] == 2

    as_csv = retailor(data, "report", *RANGE, "--interval", "day", "--csv")
    assert as_csv.returncode == 0, as_csv.stderr
    header, row = as_csv.stdout.splitlines()
    assert header.startswith("period,decisions,impressions") and ",2," in row

    table = retailor(data, "report", *RANGE, "--by", "placement,model_version")
    assert table.returncode == 0, table.stderr
    assert "als:2" in table.stdout and "total" in table.stdout

    target = tmp_path / "warehouse"
    exported = retailor(data, "report", "export", target, *RANGE)
    assert exported.returncode == 0, exported.stderr
    assert (target / "decisions" / "day=2025-06-01").is_dir()
    lines = ds.dataset(target / "lines", format="parquet", partitioning="hive").to_table()
    assert lines.column("decision_id").to_pylist() == ["d0"]
    again = retailor(data, "report", "export", target, *RANGE)
    assert again.returncode == 2 and "not an empty directory" in again.stderr


def test_bad_options_say_what_is_wrong(tmp_path: Path) -> None:
    data = tmp_path / "data"
    _seed(data)
    bad = retailor(data, "report", "--by", "colour")
    assert bad.returncode == 2 and "unknown dimension 'colour'" in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1  # one line, however narrow the terminal
    far = retailor(data, "report", "--to", "9999-12-31")
    assert far.returncode == 2 and "to must be between" in far.stderr
    assert "Traceback" not in far.stderr
    backwards = retailor(data, "report", "--from", "2025-06-05", "--to", "2025-06-01")
    assert backwards.returncode == 2 and "must be before" in backwards.stderr
    both = retailor(data, "report", "--json", "--csv")
    assert both.returncode == 2 and "one of --json and --csv" in both.stderr


def test_help_names_the_metrics_dimensions_and_examples() -> None:
    shown = subprocess.run(
        [sys.executable, "-m", "retailor", "report", "--help"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert shown.returncode == 0
    for word in ("--recompute", "--by", "campaign", "revenue per decision", "export", "--csv"):
        assert word in shown.stdout


def test_through_the_server_running_on_the_data_directory(tmp_path: Path) -> None:
    data = tmp_path / "data"
    _seed(data)
    server = start_server(data)
    try:
        done = retailor(data, "report", "--recompute", *RANGE, "--by", "placement", "--json")
        assert done.returncode == 0, done.stderr
        assert "going through the server" in done.stderr
        rows = {row["placement"]: row for row in json.loads(done.stdout)["rows"]}
        assert rows["home"]["attributed_revenue"] == 12.5
        target = tmp_path / "out"
        exported = retailor(data, "report", "export", target, *RANGE)
        assert exported.returncode == 0, exported.stderr
        orders = ds.dataset(target / "orders", format="parquet", partitioning="hive").to_table()
        assert orders.column("order_id").to_pylist() == ["x1"]
    finally:
        stop_server(server)
