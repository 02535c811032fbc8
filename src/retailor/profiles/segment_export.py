"""A segment's members as CSV for an email or ads tool — the one format
``retailor segments export`` writes and the dashboard's segments page streams:
customer_id, email (when the customer gave one), order_count, revenue, rfm_segment,
predicted_value_12m, churn_risk.

>>> export_row("c1", {"order_count": 2, "revenue": 30.0, "attributes": {"email": "a@b.c"}})["email"]
'a@b.c'
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from typing import Any

COLUMNS = (
    "customer_id",
    "email",
    "order_count",
    "revenue",
    "rfm_segment",
    "predicted_value_12m",
    "churn_risk",
)
#: rows written per chunk when streaming
CHUNK_ROWS = 500


def export_row(key: str, traits: dict[str, Any]) -> dict[str, Any]:
    """One customer's CSV row from their computed traits."""
    rfm = traits.get("rfm") or {}
    clv = traits.get("clv") or {}
    return {
        "customer_id": key,
        "email": (traits.get("attributes") or {}).get("email", ""),
        "order_count": traits.get("order_count"),
        "revenue": traits.get("revenue"),
        "rfm_segment": rfm.get("segment", ""),
        "predicted_value_12m": clv.get("predicted_value_12m", ""),
        "churn_risk": clv.get("churn_risk", ""),
    }


def csv_chunks(rows: Iterable[dict[str, Any]], chunk_rows: int = CHUNK_ROWS) -> Iterator[str]:
    """The CSV text of ``rows`` (header first), a few hundred rows at a time, exactly as
    ``csv.DictWriter`` writes it to a file opened with ``newline=""``."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS)
    writer.writeheader()
    for written, row in enumerate(rows, 1):
        writer.writerow(row)
        if written % chunk_rows == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()
