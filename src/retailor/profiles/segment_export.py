"""A segment's members as CSV for an email or ads tool — the one format
``retailor segments export`` writes and the dashboard's segments page streams:
customer_id, email (when the customer gave one), order_count, revenue, rfm_segment,
predicted_value_12m, churn_risk — and who of them an export may hold: those who may be
contacted for the export's purpose (:func:`contactable`, by
``privacy.consent.may_contact``; ``marketing`` unless told otherwise).

>>> export_row("c1", {"order_count": 2, "revenue": 30.0, "attributes": {"email": "a@b.c"}})["email"]
'a@b.c'
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from retailor.privacy.consent import MARKETING, may_contact

if TYPE_CHECKING:
    from retailor.profiles.service import ProfileService

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
#: The purpose a segment export is for unless told otherwise: a marketing contact (so a
#: customer who withdrew any marketing purpose is left out).
DEFAULT_PURPOSE = MARKETING


def contactable(
    profiles: ProfileService, keys: Sequence[str], purpose: str, *, required: bool = False
) -> list[str]:
    """The customers of ``keys`` (in their order) who may be contacted for ``purpose``
    (``required``: the installation's ``consent_required``, so that customers who never
    said yes are left out too)."""
    consents = profiles.consents(keys)
    return [
        key
        for key, consent in zip(keys, consents, strict=True)
        if may_contact(consent or {}, purpose, required=required)
    ]


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
