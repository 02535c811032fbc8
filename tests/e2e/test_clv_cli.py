"""`retailor train --models clv`, `retailor models show clv --json`, and CLV among traits."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import httpx

from tests.conftest import start_server, stop_server


def retailor(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "retailor", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=300,
    )


def history(path: Path) -> None:
    """Forty customers buying at different rhythms over a year."""
    lines = ["order_id,customer_id,item_id,quantity,price,timestamp"]
    for c in range(40):
        for k in range(1 + c % 6):
            day = datetime(2025, 1, 1) + timedelta(days=(c * 7 + k * (60 - c)) % 360)
            lines.append(
                f"o{c}-{k},cust{c},sku{k},{1 + k % 3},{5 + c % 4}.5,{day:%Y-%m-%d} 10:00:00"
            )
    path.write_text("\n".join(lines) + "\n")


def test_train_show_and_traits(tmp_path: Path) -> None:
    data = tmp_path / "data"
    file = tmp_path / "orders.csv"
    history(file)
    assert retailor("import", "transactions", file, "--data", data).returncode == 0
    assert retailor("models", "show", "clv", "--data", data).returncode != 0  # not trained yet
    trained = retailor("train", "--data", data, "--models", "clv")
    assert trained.returncode == 0, trained.stderr
    shown = json.loads(retailor("models", "show", "clv", "--data", data, "--json").stdout)
    assert shown["version"] == 1
    assert set(shown["params"]) >= {"r", "alpha", "a", "b", "p", "q", "v"}
    assert shown["metrics"]["customers"] == 40
    server = start_server(data)
    try:
        traits = httpx.get(f"{server.url}/v1/customers/cust5", headers=server.admin()).json()[
            "traits"
        ]
        clv = traits["clv"]
        assert 0 < clv["probability_alive"] <= 1 and clv["expected_purchases_90d"] >= 0
        assert clv["predicted_value_12m"] >= 0 and clv["churn_risk"] == round(
            1 - clv["probability_alive"], 4
        )
        # training again through the running server makes version 2 active
        again = retailor("train", "--data", data)
        assert again.returncode == 0, again.stderr
        assert (
            json.loads(retailor("models", "show", "clv", "--data", data, "--json").stdout)[
                "version"
            ]
            == 2
        )
        r = httpx.get(f"{server.url}/v1/models/clv", headers=server.admin())
        assert r.status_code == 200 and r.json()["version"] == 2
        assert httpx.get(f"{server.url}/v1/models/nope", headers=server.admin()).status_code == 404
    finally:
        stop_server(server)


def test_training_everything_on_a_new_store_reports_each_model(tmp_path: Path) -> None:
    everything = retailor("train", "--data", tmp_path / "data")
    assert everything.returncode == 0, everything.stderr
    assert "trained blend version 1" in everything.stderr + everything.stdout
    assert "clv (lifetime value) not trained" in everything.stderr + everything.stdout
    only_clv = retailor("train", "--data", tmp_path / "data", "--models", "clv")
    assert only_clv.returncode == 1 and "clv not trained" in only_clv.stderr
    nothing = retailor("train", "--data", tmp_path / "data", "--models", ",,")
    assert nothing.returncode == 2 and "names no model" in nothing.stderr
