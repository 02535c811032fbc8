"""Recommenders end to end: train through a running server, answer over HTTP, stay fresh
from the stream, batch-score for campaigns, and evaluate offline on a history file."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from retailor.client import Client
from tests.conftest import SHARED_DATASETS, start_server, stop_server

CATEGORIES = ("garden", "kitchen", "toys")


def retailor(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "retailor", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=600,
    )


def history(now: datetime) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Thirty customers over sixty days; each likes one category and rebuys a favourite."""
    items = [
        {"item_id": f"sku{i}", "name": f"{CATEGORIES[i % 3]} thing {i}", "category": ["home", CATEGORIES[i % 3]],
         "brand": f"b{i % 4}", "price": 4.0 + i}
        for i in range(24)
    ]  # fmt: skip
    events: list[dict[str, Any]] = []
    for c in range(30):
        liked = [i for i in range(24) if i % 3 == c % 3]
        for visit in range(6):
            at = now - timedelta(days=60 - visit * 10 - c % 7)
            viewed = [liked[(c + visit + n) % len(liked)] for n in range(3)]
            for n, i in enumerate(viewed):
                events.append({"event_id": f"v{c}-{visit}-{n}", "type": "product_viewed", "customer_id": f"c{c}",
                               "session_id": f"s{c}-{visit}", "timestamp": (at + timedelta(minutes=n)).isoformat(),
                               "properties": {"item_id": f"sku{i}"}})  # fmt: skip
            lines = [{"item_id": f"sku{liked[c % len(liked)]}", "quantity": 1, "price": 5.0},
                     {"item_id": f"sku{viewed[1]}", "quantity": 1, "price": 7.0}]  # fmt: skip
            events.append({"event_id": f"o{c}-{visit}", "type": "order_completed", "customer_id": f"c{c}",
                           "session_id": f"s{c}-{visit}", "timestamp": (at + timedelta(minutes=9)).isoformat(),
                           "properties": {"order_id": f"o{c}-{visit}", "lines": lines}})  # fmt: skip
    return items, events


def wait_for(check: Any, seconds: float = 15.0) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.25)
    return check()


def test_train_serve_refresh_and_batch_score(tmp_path: Path) -> None:
    server = start_server(tmp_path / "data")
    try:
        client = Client(server.url, server.admin_key)
        items, events = history(datetime.now(UTC))
        assert client.upsert_items(items)["created"] == len(items)
        assert client.send_events(events)["accepted"] == len(events)

        # before any training, the blend already answers from the live popularity model
        early = wait_for(
            lambda: client.recommendations("c1")["items"] and client.recommendations("c1")
        )
        assert early and early["model"] in ("popularity", "trending")

        trained = retailor("train", "--data", server.data_dir, "--models",
                           "popularity,trending,item_item,buy_again,content,als,blend", "--json")  # fmt: skip
        assert trained.returncode == 0, trained.stderr
        runs = [json.loads(line) for line in trained.stdout.splitlines()]
        assert {r["name"] for r in runs} >= {"blend", "content", "item_item"}
        assert all(r["activated"] for r in runs), runs

        known = client.recommendations("c1", k=5)
        assert known["model"] == "blend" and known["version"] == 1
        assert len(known["items"]) == 5 and all(i["source"] for i in known["items"])
        cold = client.recommendations("someone-new", k=5)
        assert len(cold["items"]) == 5, "an unknown customer gets the cold-start answer"
        excluded = {i["item_id"] for i in known["items"][:2]}
        again = client.recommendations("c1", k=5, exclude=sorted(excluded))
        assert not excluded & {i["item_id"] for i in again["items"]}
        assert client.similar_items("sku0")["items"]
        for model in ("blend", "item_item", "content"):
            shown = client.recommendations(
                anonymous_id="zz", model=model, items=["sku0"], session_items=["sku1", "sku2"]
            )
            assert not {"sku0", "sku1", "sku2"} & {i["item_id"] for i in shown["items"]}, model

        # a new item: trending and content-based answers know it within seconds
        client.upsert_items([{**items[0], "item_id": "fresh", "name": items[0]["name"]}])
        now = datetime.now(UTC)
        burst = [{"event_id": f"f{n}", "type": "product_viewed", "customer_id": f"c{n}",
                  "timestamp": (now + timedelta(seconds=n)).isoformat(), "properties": {"item_id": "fresh"}}
                 for n in range(25)]  # fmt: skip
        client.send_events(burst)

        def trending_has_it() -> bool:
            got = client.recommendations(model="trending", k=3)
            return "fresh" in {i["item_id"] for i in got["items"]}

        assert wait_for(trending_has_it), "the new item did not trend within 15 s"

        def content_has_it() -> bool:
            got = client.similar_items("sku0", model="content", k=3)
            return "fresh" in {i["item_id"] for i in got["items"]}

        assert wait_for(content_has_it), "the new item did not reach content-based answers"

        wanted = tmp_path / "customers.csv"
        wanted.write_text("customer_id\nc1\nnot-a-customer\n")
        out = tmp_path / "campaign.csv"
        done = retailor(
            "recommend",
            "--data",
            server.data_dir,
            "--customers",
            wanted,
            "--k",
            "4",
            "--output",
            out,
        )
        assert done.returncode == 0, done.stderr
        rows = list(csv.DictReader(out.open()))
        assert list(rows[0]) == ["customer_id", "rank", "item_id", "score", "source"]
        assert [r["rank"] for r in rows if r["customer_id"] == "not-a-customer"] == [
            "1",
            "2",
            "3",
            "4",
        ]
        assert len([r for r in rows if r["customer_id"] == "c1"]) == 4

        listed = retailor("models", "list", "--data", server.data_dir)
        assert listed.returncode == 0 and "blend" in listed.stdout
        shown = retailor("models", "show", "blend", "--data", server.data_dir, "--json")
        assert json.loads(shown.stdout)["metrics"]["holdout"]["ndcg@10"] >= 0
        bad = httpx.get(f"{server.url}/v1/recommendations", params={"model": "nope"},
                        headers=server.admin())  # fmt: skip
        assert bad.status_code == 404 and bad.headers["content-type"].startswith(
            "application/problem+json"
        )
    finally:
        stop_server(server)

    everyone = tmp_path / "everyone.csv"
    done = retailor(
        "recommend", "--data", tmp_path / "data", "--all", "--k", "3", "--output", everyone
    )
    assert done.returncode == 0, done.stderr
    assert len({r["customer_id"] for r in csv.DictReader(everyone.open())}) >= 30


def orders_file(path: Path) -> None:
    lines = ["InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID"]
    start = datetime(2024, 1, 1)
    for c in range(60):
        for k in range(8):
            day = start + timedelta(days=k * 12 + c % 9)
            for item in (c % 10, 10 + (c + k) % 5, 20 + k % 3):
                lines.append(f"{c}-{k},{item},THING {item},2,{day:%Y-%m-%d %H:%M},1.5,{1000 + c}.0")
    lines.append(f"C9-9,3,THING 3,-2,{start:%Y-%m-%d %H:%M},1.5,1003.0")
    path.write_text("\n".join(lines) + "\n")


def test_evaluate_reports_every_metric_and_draws_a_plot(tmp_path: Path) -> None:
    file = tmp_path / "orders.csv"
    orders_file(file)
    plot = tmp_path / "scores.png"
    done = retailor("evaluate", "--interactions", file, "--test-days", "20", "--k", "5,10",
                    "--models", "most_bought,popularity,item_item,implicit_als,global_popularity",
                    "--json", "--plot", plot)  # fmt: skip
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["mode"] == "customers" and report["split"]["test_customers"] > 0
    for name in ("most_bought", "popularity", "item_item", "implicit_als", "global_popularity"):
        for metric in ("precision", "recall", "ndcg", "map", "hr", "mrr", "coverage", "novelty"):
            for k in (5, 10):
                assert (
                    0
                    <= report["models"][name][f"{metric}@{k}"]
                    <= (100 if metric == "novelty" else 1)
                )
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    missing = retailor("evaluate", "--interactions", tmp_path / "nope.csv")
    assert missing.returncode != 0 and "Traceback" not in missing.stderr
    no_test = retailor("evaluate", "--interactions", file, "--test-days", "0")
    assert no_test.returncode == 2 and "test-days" in no_test.stderr
    # other column names, renamed with --map
    header, *rows = file.read_text().splitlines()
    renamed = tmp_path / "renamed.csv"
    renamed.write_text("\n".join([header.replace("CustomerID", "Shopper"), *rows]) + "\n")
    mapped = retailor("evaluate", "--interactions", renamed, "--test-days", "20", "--k", "5",
                      "--models", "popularity", "--map", "user_id=Shopper", "--json")  # fmt: skip
    assert mapped.returncode == 0, mapped.stderr
    assert json.loads(mapped.stdout)["split"]["test_customers"] == report["split"]["test_customers"]


ONLINE_RETAIL = SHARED_DATASETS / "online-retail" / "online_retail.csv.gz"
YOOCHOOSE = SHARED_DATASETS / "yoochoose-100k"


@pytest.mark.skipif(not ONLINE_RETAIL.exists(), reason="../shared/datasets not present")
def test_blend_beats_the_peers_on_online_retail() -> None:
    done = retailor("evaluate", "--interactions", ONLINE_RETAIL, "--test-days", "30", "--k", "10",
                    "--models", "blend,most_bought,implicit_als,global_popularity", "--json")  # fmt: skip
    assert done.returncode == 0, done.stderr
    m = json.loads(done.stdout)["models"]
    for metric in ("ndcg@10", "recall@10"):
        assert m["blend"][metric] >= 1.10 * m["implicit_als"][metric], metric
        assert m["blend"][metric] >= 1.10 * m["global_popularity"][metric], metric
        assert m["blend"][metric] >= 1.05 * m["most_bought"][metric], metric


@pytest.mark.skipif(not YOOCHOOSE.exists(), reason="../shared/datasets not present")
def test_session_model_beats_the_peers_on_yoochoose() -> None:
    done = retailor("evaluate", "--interactions", YOOCHOOSE / "yoochoose-clicks-100k_train_full.txt",
                    "--test", YOOCHOOSE / "yoochoose-clicks-100k_test.txt", "--k", "20",
                    "--models", "session_knn,implicit_als,global_popularity", "--json")  # fmt: skip
    assert done.returncode == 0, done.stderr
    m = json.loads(done.stdout)["models"]
    for metric in ("hr@20", "mrr@20"):
        assert m["session_knn"][metric] > m["implicit_als"][metric]
        assert m["session_knn"][metric] > m["global_popularity"][metric]
