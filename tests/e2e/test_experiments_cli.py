"""``retailor experiments put|list|show|delete`` straight on a data directory (no server):
what it stores is what a server then decides with."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from retailor.settings import Settings
from retailor.storage.factory import open_storage


def retailor(data: Path, *args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "retailor", *map(str, args), "--data", str(data)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "COLUMNS": "200"},
    )


def test_experiments_from_the_command_line(tmp_path: Path) -> None:
    data = tmp_path / "data"
    good = tmp_path / "hero.yaml"
    good.write_text(
        "placements: [home]\ncontrol: a\nvariants:\n"
        "  - {id: a, weight: 0.5}\n  - {id: b, weight: 0.5, personalized: false}\n"
    )
    saved = retailor(data, "experiments", "put", "hero", good)
    assert saved.returncode == 0, saved.stderr
    assert "running, phase 1" in saved.stdout
    listed = retailor(data, "experiments", "list")
    assert "hero" in listed.stdout and "phase 1" in listed.stdout and "b 0.5" in listed.stdout
    shown = retailor(data, "experiments", "show", "hero")
    assert json.loads(shown.stdout)["control"] == "a"

    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"placements": ["home"], "control": "a",
                               "variants": [{"id": "a", "weight": 0.7}, {"id": "b", "weight": 0.7}]}))  # fmt: skip
    refused = retailor(data, "experiments", "put", "other", bad)
    assert refused.returncode != 0 and "sum to" in refused.stderr
    assert "Traceback" not in refused.stderr
    overlap = retailor(data, "experiments", "put", "twin", good)
    assert overlap.returncode != 0 and "already runs" in overlap.stderr

    settings = Settings(data_dir=data)
    storage = open_storage(settings.storage_dsn, data)
    try:
        assert [d.id for d in storage.definitions.all("experiment")] == ["hero"]
    finally:
        storage.close()
    assert retailor(data, "experiments", "delete", "hero").returncode == 0
    gone = retailor(data, "experiments", "show", "hero")
    assert gone.returncode != 0 and "no experiment" in gone.stderr


def test_results_to_a_date_takes_that_whole_day_as_the_api_does(tmp_path: Path) -> None:
    data = tmp_path / "data"
    good = tmp_path / "hero.yaml"
    good.write_text(
        "placements: [home]\ncontrol: a\nvariants:\n"
        "  - {id: a, weight: 0.5}\n  - {id: b, weight: 0.5}\n"
    )
    assert retailor(data, "experiments", "put", "hero", good).returncode == 0
    shown = retailor(data, "experiments", "results", "hero", "--to", "2026-03-31", "--json")
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["window"]["to"] == "2026-04-01T00:00:00Z"
    timed = retailor(data, "experiments", "results", "hero", "--to", "2026-03-31T12:00:00+02:00",
                     "--json")  # fmt: skip
    assert json.loads(timed.stdout)["window"]["to"] == "2026-03-31T10:00:00Z"
    bad = retailor(data, "experiments", "results", "hero", "--to", "2026-13-01")
    assert bad.returncode == 2 and "--to" in bad.stderr and "Traceback" not in bad.stderr
