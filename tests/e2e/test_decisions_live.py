"""Decisions against a real server process: the async client, read-your-writes over
HTTP, and an offer budget that holds under concurrent redemptions."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

from retailor.client import AsyncClient, Client, RetailorError
from tests.conftest import start_server, stop_server


def test_async_client_events_decisions_feedback_and_profiles(tmp_path: Path) -> None:
    server = start_server(tmp_path / "data")
    try:
        admin = Client(server.url, server.admin_key)
        admin.upsert_items(
            [
                {
                    "item_id": f"sku{i}",
                    "name": f"Thing {i}",
                    "category": "Home > Decor",
                    "price": 9.5,
                }
                for i in range(12)
            ]
        )
        admin.put_placement(
            "recent",
            {"sources": [{"source": "recently_viewed"}], "fallback": ["trending_now"], "k": 4},
        )
        admin.put_offer("ship", {"kind": "free_shipping", "marketing": False})

        async def journey() -> None:
            async with AsyncClient(server.url, server.admin_key) as client:
                now = datetime.now(UTC).isoformat()
                for n in (3, 5, 8):
                    ack = await client.send_events([{"event_id": f"v{n}", "type": "product_viewed", "anonymous_id": "web-1",
                                                     "timestamp": now, "properties": {"item_id": f"sku{n}"}}])  # fmt: skip
                    assert ack["accepted"] == 1
                    got = await client.decide("recent", anonymous_id="web-1", offers=1)
                    assert f"sku{n}" in [
                        i["item_id"] for i in got["items"]
                    ]  # read-your-writes over HTTP
                assert got["offers"][0]["offer_id"] == "ship"
                fed = await client.feedback(got["decision_id"], "redeemed", offer_id="ship")
                assert fed["outcome"] == "counted"
                ranked = await client.rerank(["sku1", "sku3"], anonymous_id="web-1")
                assert {i["item_id"] for i in ranked["items"]} == {"sku1", "sku3"}
                profile = await client.customer("web-1")
                assert profile["traits"]["event_count"] == 3

        asyncio.run(journey())
        # ids travel percent-encoded: "?" and "#" are part of the id, not of the URL
        admin.upsert_items([{"item_id": "odd?id#1", "name": "Odd"}])
        assert admin.get_item("odd?id#1")["name"] == "Odd"
        try:
            admin.get_item("sku1?x")
        except RetailorError as exc:
            assert exc.status == 404 and "sku1?x" in str(exc)
        else:
            raise AssertionError("sku1?x is not sku1")
    finally:
        stop_server(server)


def test_the_client_reports_an_answer_that_is_not_json(tmp_path: Path) -> None:
    import http.server
    import threading

    class NotRetailor(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.send_response(502)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(b"<html>Bad gateway</html>")

        def log_message(self, *args: object) -> None:
            pass

    proxy = http.server.ThreadingHTTPServer(("127.0.0.1", 0), NotRetailor)
    threading.Thread(target=proxy.serve_forever, daemon=True).start()
    try:
        with Client(f"http://127.0.0.1:{proxy.server_address[1]}", "key") as client:
            client.decide("home", customer_id="c1")
    except RetailorError as exc:
        assert exc.status == 502 and "not JSON" in str(exc)
    else:
        raise AssertionError("a proxy's error page must be a RetailorError")
    finally:
        proxy.shutdown()


def test_budget_holds_under_concurrent_http_redemptions(tmp_path: Path) -> None:
    server = start_server(tmp_path / "data")
    try:
        admin = Client(server.url, server.admin_key)
        admin.put_offer(
            "tenner", {"kind": "amount_off", "value": 10, "budget": 95, "marketing": False}
        )
        decisions = [
            admin.decide("cart", customer_id=f"c{n}", offers=1)["decision_id"] for n in range(40)
        ]

        def redeem(decision_id: str) -> int:
            with Client(server.url, server.admin_key) as client:
                try:
                    client.feedback(decision_id, "redeemed", offer_id="tenner")
                    return 200
                except RetailorError as exc:
                    return exc.status

        with ThreadPoolExecutor(16) as pool:
            statuses = list(pool.map(redeem, decisions))
        assert statuses.count(200) == 9 and statuses.count(409) == 31
        state = admin.offer("tenner")
        assert state["redemptions"] == 9 and state["spent"] == 90.0
    finally:
        stop_server(server)
    server = start_server(tmp_path / "data")  # the ledger is rebuilt from the decision log
    try:
        with Client(server.url, server.admin_key) as admin:
            assert admin.offer("tenner")["spent"] == 90.0
            # 90 spent of 95: another 10 would overspend, so the offer is no longer shown
            assert admin.decide("cart", customer_id="late", offers=1)["offers"] == []
    finally:
        stop_server(server)
