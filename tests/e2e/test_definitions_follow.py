"""A definition stored by one process reaches every running server without a restart:
servers on one PostgreSQL database, and a server whose data directory another process
writes definitions into."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import httpx

from retailor.storage.files.definitions import FileDefinitionStore
from tests.conftest import LiveServer, start_server, stop_server

PLACEMENT = {"sources": [{"source": "popular"}], "k": 3}
OFFER = {"kind": "percent_off", "value": 15}
SEGMENT = {"all": [{"trait": "order_count", "op": "gte", "value": 2}]}


def eventually(check: Callable[[], bool], seconds: float = 30.0) -> bool:
    """Whether ``check`` holds within ``seconds`` (a generous bound, not a measure)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.1)
    return check()


def status(server: LiveServer, path: str) -> int:
    return httpx.get(f"{server.url}{path}", headers=server.admin(), timeout=10).status_code


def reads(server: LiveServer, path: str) -> dict[str, object]:
    answer = httpx.get(f"{server.url}{path}", headers=server.admin(), timeout=10)
    return dict(answer.json()) if answer.status_code == 200 else {}


def offer_value(server: LiveServer, offer_id: str) -> object:
    offer = reads(server, f"/v1/offers/{offer_id}").get("offer")
    return offer.get("value") if isinstance(offer, dict) else None


def test_servers_on_one_database_take_up_each_others_definitions(
    postgres_dsn: str, tmp_path: Path
) -> None:
    first = start_server(tmp_path / "host-a", storage_dsn=postgres_dsn)
    second = start_server(tmp_path / "host-b", storage_dsn=postgres_dsn)
    try:
        with httpx.Client(base_url=first.url, headers=first.admin(), timeout=10) as client:
            assert client.put("/v1/placements/promo", json=PLACEMENT).status_code == 200
            assert client.put("/v1/offers/fifteen", json=OFFER).status_code == 200
            assert client.put("/v1/segments/regulars", json=SEGMENT).status_code == 200
        assert eventually(lambda: offer_value(second, "fifteen") == 15)
        assert eventually(lambda: status(second, "/v1/placements/promo") == 200)
        placement = reads(second, "/v1/placements/promo")["placement"]
        assert isinstance(placement, dict) and placement["k"] == 3
        assert eventually(lambda: status(second, "/v1/segments/regulars") == 200)
        assert reads(second, "/v1/segments/regulars")["definition"] == SEGMENT

        with httpx.Client(base_url=second.url, headers=second.admin(), timeout=10) as client:
            assert client.delete("/v1/offers/fifteen").status_code == 204
            assert client.delete("/v1/placements/promo").status_code == 204
            changed = {**OFFER, "value": 20}
            assert client.put("/v1/offers/twenty", json=changed).status_code == 200
        assert eventually(lambda: status(first, "/v1/offers/twenty") == 200)
        assert eventually(lambda: status(first, "/v1/offers/fifteen") == 404)
        assert eventually(lambda: status(first, "/v1/placements/promo") == 404)
    finally:
        stop_server(first)
        stop_server(second)


def test_a_server_takes_up_definitions_written_into_its_data_directory(tmp_path: Path) -> None:
    server = start_server(tmp_path / "data")
    try:
        elsewhere = FileDefinitionStore(tmp_path / "data")  # as a command would
        elsewhere.put("offer", "fifteen", OFFER)
        elsewhere.put("placement", "home", PLACEMENT)
        elsewhere.put("segment", "regulars", SEGMENT)
        assert eventually(lambda: status(server, "/v1/offers/fifteen") == 200)
        assert eventually(lambda: reads(server, "/v1/placements/home").get("default") is False)
        assert eventually(lambda: status(server, "/v1/segments/regulars") == 200)
        elsewhere.delete("placement", "home")
        elsewhere.put("offer", "fifteen", {**OFFER, "value": 30})
        assert eventually(lambda: reads(server, "/v1/placements/home").get("default") is True)
        assert eventually(lambda: offer_value(server, "fifteen") == 30)
    finally:
        stop_server(server)
