"""Consent over HTTP: a PUT is a consent_updated event like any other, the GET reads the
state now and the history from the log, and withdrawn customers are left out of exports."""

from __future__ import annotations

from typing import Any

from retailor.domain.access import Scope
from retailor.privacy.keys import create_key
from tests.conftest import AppHarness


def put(
    app: AppHarness, who: str, body: dict[str, Any], headers: dict[str, str] | None = None
) -> Any:
    return app.client.put(f"/v1/customers/{who}/consent", json=body, headers=headers or app.admin())


def test_put_then_get_history_newest_first(app: AppHarness) -> None:
    _, serve = create_key(app.storage.keys, Scope.SERVE)
    backend = {"Authorization": f"Bearer {serve}"}
    first = put(app, "ada", {"purpose": "marketing_email", "granted": True, "source": "checkout",
                             "timestamp": "2026-03-01T10:00:00Z"}, backend)  # fmt: skip
    assert first.status_code == 200, first.text
    assert first.json()["customer_id"] == "ada" and first.json()["duplicate"] is False
    assert first.json()["consent"] == {
        "marketing_email": {"granted": True, "at": "2026-03-01T10:00:00Z"}
    }
    later = put(app, "ada", {"consents": [{"purpose": "marketing_email", "granted": False},
                                          {"purpose": "analytics", "granted": True}],
                             "source": "preference_center", "timestamp": "2026-03-02T09:00:00Z"},
                backend)  # fmt: skip
    assert later.status_code == 200, later.text
    # a retry of the same update stores nothing new
    again = put(app, "ada", {"consents": [{"purpose": "marketing_email", "granted": False},
                                          {"purpose": "analytics", "granted": True}],
                             "source": "preference_center", "timestamp": "2026-03-02T09:00:00Z"},
                backend)  # fmt: skip
    assert (
        again.json()["duplicate"] is True and again.json()["event_id"] == later.json()["event_id"]
    )
    got = app.client.get("/v1/customers/ada/consent", headers=app.admin())
    assert got.status_code == 200, got.text
    body = got.json()
    assert body["consent"] == {
        "analytics": {"granted": True, "at": "2026-03-02T09:00:00Z"},
        "marketing_email": {"granted": False, "at": "2026-03-02T09:00:00Z"},
    }
    assert [(h["purpose"], h["granted"], h["source"], h["at"]) for h in body["history"]] == [
        ("analytics", True, "preference_center", "2026-03-02T09:00:00Z"),
        ("marketing_email", False, "preference_center", "2026-03-02T09:00:00Z"),
        ("marketing_email", True, "checkout", "2026-03-01T10:00:00Z"),
    ]
    # the event is in the customer's timeline like any other
    events = app.client.get("/v1/customers/ada/events", headers=app.admin()).json()["events"]
    assert [e["type"] for e in events] == ["consent_updated", "consent_updated"]
    assert events[0]["properties"] == {
        "purposes": {"marketing_email": False, "analytics": True},
        "source": "preference_center",
    }
    # a view key reads, but does not write
    _, view = create_key(app.storage.keys, Scope.VIEW)
    viewer = {"Authorization": f"Bearer {view}"}
    assert app.client.get("/v1/customers/ada/consent", headers=viewer).status_code == 200
    assert put(app, "ada", {"purpose": "analytics", "granted": False}, viewer).status_code == 403
    assert app.client.get("/v1/customers/ada/consent", headers=backend).status_code == 403


def test_bad_updates_and_unknown_customers_are_problems(app: AppHarness) -> None:
    for body in (
        {"purpose": "telepathy", "granted": True},
        {"purpose": "analytics"},
        {},
        {"purpose": "analytics", "granted": True, "consents": [{"purpose": "analytics", "granted": True}]},
        {"purpose": None, "granted": True},
        {"consents": []},
        {"purpose": "analytics", "granted": True, "timestamp": "2999-01-01T00:00:00Z"},
        {"purpose": "analytics", "granted": True, "colour": "red"},
    ):  # fmt: skip
        got = put(app, "ada", body)
        assert got.status_code == 422, (body, got.text)
        assert got.headers["content-type"].startswith("application/problem+json")
    raw = app.client.put("/v1/customers/ada/consent", content=b"{", headers=app.admin())
    assert raw.status_code == 400
    assert app.client.get("/v1/customers/nobody/consent", headers=app.admin()).status_code == 404
    assert (
        put(app, "email:nobody@example.com", {"purpose": "analytics", "granted": True}).status_code
        == 404
    )
    assert (
        app.client.get("/v1/customers/ada", headers=app.admin()).status_code == 404
    )  # nothing stored


def test_put_equals_a_posted_consent_updated_event(app: AppHarness) -> None:
    login = {"event_id": "i1", "type": "identify", "customer_id": "bob", "anonymous_id": "v-bob",
             "properties": {"traits": {"email": "bob@example.com"}}}  # fmt: skip
    posted = {"event_id": "c-amy", "type": "consent_updated", "customer_id": "amy",
              "timestamp": "2026-03-01T10:00:00Z", "channel": "web",
              "properties": {"purposes": {"personalization": False, "marketing_sms": True},
                             "source": "banner"}}  # fmt: skip
    sent = app.client.post("/v1/events", json={"events": [login, posted]}, headers=app.ingest())
    assert sent.status_code == 200, sent.text
    got = put(app, "email:bob@example.com", {"consents": [{"purpose": "personalization", "granted": False},
                                                         {"purpose": "marketing_sms", "granted": True}],
                                            "source": "banner", "channel": "web",
                                            "timestamp": "2026-03-01T10:00:00Z"})  # fmt: skip
    assert got.status_code == 200, got.text
    assert got.json()["customer_id"] == "bob"
    amy = app.client.get("/v1/customers/amy", headers=app.admin()).json()
    bob = app.client.get("/v1/customers/bob", headers=app.admin()).json()
    assert amy["consent"] == bob["consent"] == {"marketing_sms": True, "personalization": False}
    assert amy["consent_at"] == bob["consent_at"]

    def consent_event(who: str) -> dict[str, Any]:
        events = app.client.get(f"/v1/customers/{who}/events", headers=app.admin()).json()["events"]
        (found,) = [e for e in events if e["type"] == "consent_updated"]
        return {
            k: v for k, v in found.items() if k not in ("event_id", "customer_id", "received_at")
        }

    assert consent_event("bob") == consent_event("amy")
    # decisions see it: no personalization for either
    for who in ("amy", "bob"):
        answer = app.client.post("/v1/decisions", json={"placement": "home", "customer_id": who},
                                 headers=app.admin()).json()  # fmt: skip
        assert answer["personalized"] is False, answer
