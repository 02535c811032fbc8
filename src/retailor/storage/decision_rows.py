"""A decision record as the row the SQL decision logs keep: the columns later analysis
filters and groups by, then the whole record as JSON (what ``get`` and ``scan`` read)."""

from __future__ import annotations

from typing import Any

import msgspec

from retailor.domain.decisions import DecisionRecord

#: The columns of the ``decisions`` table, in the order of ``decision_row``.
DECISION_COLUMNS = (
    "decision_id",
    "at",
    "placement",
    "channel",
    "store_id",
    "customer",
    "anonymous_id",
    "items",
    "offer_ids",
    "model_versions",
    "personalized",
    "fallback",
    "latency_ms",
    "experiment_id",
    "experiment_variant",
    "holdout",
    "record",
)
_encode = msgspec.json.Encoder().encode


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def decision_row(record: DecisionRecord) -> tuple[Any, ...]:
    """The values of ``DECISION_COLUMNS`` for one record (JSON columns as text)."""
    context, experiment = record.context, record.experiment
    return (
        record.decision_id,
        record.at,
        record.placement,
        _text(context.get("channel")),
        _text(context.get("store_id")),
        record.customer,
        record.anonymous_id,
        record.items,
        [offer.offer_id for offer in record.offers],
        _encode(record.model_versions).decode(),
        record.personalized,
        record.fallback,
        record.latency_ms,
        experiment.experiment_id if experiment else None,
        experiment.variant if experiment else None,
        record.holdout,
        _encode(record).decode(),
    )
