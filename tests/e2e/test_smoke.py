import httpx

from tests.conftest import LiveServer, event


def test_live_server_accepts_an_event(live_server: LiveServer) -> None:
    r = httpx.post(
        f"{live_server.url}/v1/events", json=event("smoke-1"), headers=live_server.ingest()
    )
    assert r.status_code == 200, r.text
    assert r.json() == {"accepted": 1, "duplicates": 0, "rejected": []}
