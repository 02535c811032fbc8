"""schemathesis hooks: the rules of the API that JSON Schema cannot state, applied to the
requests schemathesis generates so that a request the document allows is one the server
takes. ``schemathesis.toml`` loads this file for ``schemathesis run``; the fuzz test loads
the same configuration.

Each rule is in the document's words (descriptions) and in the server's checks:

- times relative to the server's clock: an event (a consent update too) happened at most
  a day ahead of it and not before 1970 (``EventValidator``); feedback is from the last
  365 days; the audit log's ``since`` is between 1900 and 9000;
- periods end after they start (``starts_at`` < ``ends_at``, offers and placement rules);
- a frequency cap's ``per_day`` is at most its ``per_week``; a match's ``price_min`` is at
  most its ``price_max``;
- an experiment's placements exist, each once; its variants have distinct ids and weights
  summing to 1; its control is one of them.
- a report's ``from`` is before its ``to`` (and at most 3660 days before), its ``by``
  names each dimension once (a customer's decisions take the same range).

Only values the schema allows are changed, and only into other values it allows, so a
request that breaks the schema elsewhere still does.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import schemathesis

_TIMED_EVENTS = {
    ("POST", "/v1/events"): ("events", ("timestamp",)),
    **{
        ("POST", f"/v1/{kind}"): ("batch", ("timestamp", "originalTimestamp", "sentAt"))
        for kind in ("track", "identify", "page", "screen", "alias", "batch")
    },
}


def _a_time(value: Any) -> bool:
    """A time the schema allows (RFC 3339 text or an epoch number)."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int | float):
        return value >= 0
    if isinstance(value, str):
        try:
            msgspec.convert(value, datetime)
        except msgspec.ValidationError:
            return False
        return True
    return False


def _now_like(value: Any, now: datetime) -> Any:
    """``now`` in the form of ``value`` (text, or epoch seconds)."""
    return now.isoformat() if isinstance(value, str) else int(now.timestamp())


def _set_times(item: Any, fields: tuple[str, ...], now: datetime) -> None:
    if isinstance(item, dict):
        for name in fields:
            if _a_time(item.get(name)):
                item[name] = _now_like(item[name], now)


def _events(body: Any, batch_key: str, fields: tuple[str, ...]) -> None:
    now = datetime.now(UTC)
    _set_times(body, fields, now)
    if isinstance(body, dict) and isinstance(body.get(batch_key), list):
        for item in body[batch_key]:
            _set_times(item, fields, now)


def _ordered(item: Any, low: str, high: str, key: Callable[[Any], Any]) -> None:
    """``item[low]`` <= ``item[high]`` (strictly below for times), when both are given."""
    if not isinstance(item, dict) or item.get(low) is None or item.get(high) is None:
        return
    try:
        first, second = key(item[low]), key(item[high])
    except (TypeError, ValueError, msgspec.ValidationError):
        return
    if first > second:
        item[low], item[high] = item[high], item[low]
    elif first == second and key is _instant:
        item[high] = (first + timedelta(days=1)).isoformat()


def _instant(value: Any) -> datetime:
    if not isinstance(value, str):
        raise TypeError(value)
    at = msgspec.convert(value, datetime)
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(value)
    return float(value)


def _offer(body: Any) -> None:
    if isinstance(body, dict):
        _ordered(body.get("schedule"), "starts_at", "ends_at", _instant)
        _ordered(body.get("frequency_cap"), "per_day", "per_week", _number)


def _placement(body: Any) -> None:
    rules = body.get("rules") if isinstance(body, dict) else None
    for rule in rules if isinstance(rules, list) else ():
        if isinstance(rule, dict):
            _ordered(rule.get("when"), "starts_at", "ends_at", _instant)
            _ordered(rule.get("match"), "price_min", "price_max", _number)


def _experiment(body: Any) -> None:
    if not isinstance(body, dict):
        return
    if isinstance(body.get("placements"), list) and body["placements"]:
        body["placements"] = ["home"]
    variants = body.get("variants")
    if not isinstance(variants, list) or not all(isinstance(v, dict) for v in variants):
        return
    for i, variant in enumerate(variants):
        if isinstance(variant.get("id"), str):
            variant["id"] = f"{variant['id'][:120]}{i}"  # distinct, still letters and digits
        if isinstance(variant.get("placement"), dict):
            _placement(variant["placement"])
    weights = [v.get("weight") for v in variants]
    if all(isinstance(w, int | float) and not isinstance(w, bool) for w in weights):
        total = sum(weights)
        for variant, weight in zip(variants, weights, strict=True):
            variant["weight"] = weight / total if total else 0.0
        if not total:
            variants[0]["weight"] = 1.0
    if isinstance(variants[0].get("id"), str) and "control" in body:
        body["control"] = variants[0]["id"]


def _feedback(body: Any) -> None:
    _set_times(body, ("timestamp",), datetime.now(UTC))


_BY_OPERATION: dict[tuple[str, str], Callable[[Any], None]] = {
    **{
        key: (lambda body, batch=batch, fields=fields: _events(body, batch, fields))
        for key, (batch, fields) in _TIMED_EVENTS.items()
    },
    ("PUT", "/v1/offers/{offer_id}"): _offer,
    ("PUT", "/v1/placements/{placement_id}"): _placement,
    ("POST", "/v1/feedback"): _feedback,
    ("PUT", "/v1/experiments/{experiment_id}"): _experiment,
    ("PUT", "/v1/customers/{customer_id}/consent"): _feedback,  # an event's time
}


_REPORTS = {("GET", "/v1/reports"), ("POST", "/v1/reports/recompute"),
            ("POST", "/v1/reports/export"), ("GET", "/v1/reports/activity")}  # fmt: skip
_REPORTS.add(("GET", "/v1/customers/{customer_id}/decisions"))  # the same range
_REPORTS |= {("GET", "/v1/quarantine/summary"), ("GET", "/v1/segments/{segment_id}/sizes")}


def _report_query(query: dict[str, Any]) -> None:
    """A range that ends after it starts, within the last days; each dimension once."""
    now = datetime.now(UTC)
    if isinstance(query.get("from"), str):
        query["from"] = (now - timedelta(days=2)).isoformat()
    if isinstance(query.get("to"), str):
        query["to"] = now.isoformat()
    if isinstance(query.get("by"), str):
        query["by"] = ",".join(dict.fromkeys(query["by"].split(",")))


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    operation = (case.operation.method.upper(), case.operation.path)
    rule = _BY_OPERATION.get(operation)
    if rule is not None and not isinstance(case.body, schemathesis.core.NotSet):
        rule(case.body)
    if operation in _REPORTS and isinstance(case.query, dict):
        _report_query(case.query)
    audit = operation == ("GET", "/v1/audit") and isinstance(case.query, dict)
    if audit and isinstance(case.query.get("since"), str):
        case.query["since"] = (datetime.now(UTC) - timedelta(days=2)).isoformat()
    if operation == ("GET", "/v1/experiments/{experiment_id}/results") and isinstance(
        case.query, dict
    ):
        _report_query(case.query)  # its ``to`` within the range times may take
