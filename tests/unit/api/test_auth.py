"""The Authenticator over an in-memory key store, in a small app: who is calling is left on
``request.state.key_id``, and expiry, rate limits and last uses are checked and noted."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.testclient import TestClient

from retailor.api.auth import CONTROL_KEY_ID, Authenticator
from retailor.api.problems import ProblemError, handle_problem
from retailor.domain.access import RateLimit, Scope
from retailor.privacy.keys import create_key
from retailor.privacy.usage import KeyUsage
from retailor.storage.memory.keys import MemoryKeyStore
from retailor.storage.memory.rate_limits import MemoryRateLimiter

CONTROL = "control-token-for-tests"


def client_over(auth: Authenticator) -> TestClient:
    async def who(request: Request) -> Response:
        try:
            scope = await auth.require(request, Scope.INGEST)
        finally:
            seen = request.state.key_id
        return JSONResponse({"key_id": seen, "scope": scope.value})

    app = Starlette(routes=[Route("/who", who)], exception_handlers={ProblemError: handle_problem})
    return TestClient(app)


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def test_the_key_id_is_left_on_the_request() -> None:
    keys = MemoryKeyStore()
    key, secret = create_key(keys, Scope.INGEST)
    client = client_over(Authenticator(keys, CONTROL))
    assert client.get("/who", headers=bearer(secret)).json() == {
        "key_id": key.key_id, "scope": "ingest",
    }  # fmt: skip
    assert client.get("/who", headers=bearer(CONTROL)).json()["key_id"] == CONTROL_KEY_ID
    assert client.get("/who", headers=bearer("rk_ingest_unknown")).status_code == 401


def test_an_expired_key_is_a_401_that_says_how_to_replace_it() -> None:
    keys = MemoryKeyStore()
    past = datetime.now(UTC) - timedelta(seconds=1)
    key, secret = create_key(keys, Scope.INGEST, expires_at=past, now=past - timedelta(days=1))
    answer = client_over(Authenticator(keys)).get("/who", headers=bearer(secret))
    assert answer.status_code == 401
    assert answer.json()["title"] == "API key expired"
    assert f"retailor keys rotate {key.key_id}" in answer.json()["detail"]
    assert "invalid_token" in answer.headers["www-authenticate"]


def test_own_limits_come_before_the_scopes_default() -> None:
    keys = MemoryKeyStore()
    _, own = create_key(keys, Scope.INGEST, rate_limit=RateLimit(per_second=0.001, burst=2))
    _, plain = create_key(keys, Scope.INGEST)
    auth = Authenticator(
        keys, CONTROL, limiter=MemoryRateLimiter(),
        default_limits={Scope.INGEST: RateLimit(per_second=0.001, burst=1)},
    )  # fmt: skip
    client = client_over(auth)
    assert [client.get("/who", headers=bearer(own)).status_code for _ in range(3)] == [
        200, 200, 429,
    ]  # fmt: skip
    assert [client.get("/who", headers=bearer(plain)).status_code for _ in range(2)] == [200, 429]
    refused = client.get("/who", headers=bearer(plain))
    assert int(refused.headers["retry-after"]) >= 1
    assert refused.headers["content-type"] == "application/problem+json"
    # the control token has no limit
    assert all(client.get("/who", headers=bearer(CONTROL)).status_code == 200 for _ in range(5))


def test_a_use_is_written_behind_the_answer() -> None:
    keys = MemoryKeyStore()
    key, secret = create_key(keys, Scope.INGEST)
    usage = KeyUsage(keys)
    with client_over(Authenticator(keys, usage=usage)) as client:
        assert client.get("/who", headers=bearer(secret)).status_code == 200
    usage.flush()  # whatever the background flush had not written yet
    [stored] = keys.all()
    assert stored.key_id == key.key_id and stored.last_used_at is not None
