"""The ``transactions`` preset: one row per order line becomes order events.

Rows of an order with positive quantities become one ``order_completed`` event; rows
with negative quantities, or with a status such as ``cancelled`` or ``returned``, become
one ``order_refunded`` event for that order id. A row without a customer is a guest
order, kept under ``anonymous_id = guest-<order_id>``. Columns the preset does not use
are kept on each line. Identifier columns read as floats (``17850.0``) keep their
integral form (``17850``). Everything runs as one vectorized DuckDB query.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import duckdb
import numpy as np
import pyarrow as pa

from retailor.domain.events import Channel
from retailor.domain.ids import MAX_ID_LENGTH, REFUSED_RANGES
from retailor.ingest.bulk.source import ImportInputError, Source, quote, resolve_columns
from retailor.storage.schema import EVENT_COLUMNS, EVENT_SCHEMA

WANTED: dict[str, tuple[str, ...]] = {
    "order_id": (
        "invoiceno",
        "invoice_no",
        "invoice",
        "orderid",
        "order",
        "transaction_id",
        "basket_id",
    ),
    "customer_id": ("customerid", "customer", "user_id", "userid", "member_id", "client_id"),
    "item_id": ("stockcode", "stock_code", "sku", "product_id", "productid", "item", "article_id"),
    "quantity": ("qty", "units", "amount_units"),
    "price": ("unitprice", "unit_price", "item_price", "sale_price"),
    "timestamp": (
        "invoicedate",
        "invoice_date",
        "order_date",
        "datetime",
        "date",
        "time",
        "ts",
        "created_at",
    ),
    "store_id": ("store", "shop_id", "storeid"),
    "channel": ("sales_channel",),
    "status": ("order_status",),
}
#: The characters ids may not hold, as an RE2 class body (DuckDB's strings are valid UTF-8,
#: so surrogates cannot occur).
RE2_REFUSED = "".join(
    f"\\x{{{low:x}}}-\\x{{{high:x}}}"
    for low, high in REFUSED_RANGES
    if low < 0xD800 or low > 0xDFFF
)
REQUIRED = ("order_id", "item_id", "quantity", "price", "timestamp")
TIMESTAMP_FORMATS = (
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%dT%H:%M:%S",
    "%m/%d/%Y %H:%M",
    "%m/%d/%Y %H:%M:%S",
    "%Y-%m-%d",
)
REFUND_STATUSES = ("cancelled", "canceled", "refunded", "returned", "cancellation")

ID_MACRO = """
CREATE OR REPLACE MACRO retailor_id(x) AS CASE
    WHEN x IS NULL OR trim(CAST(x AS VARCHAR)) = '' THEN NULL
    WHEN CAST(x AS VARCHAR) LIKE '%.0%' AND regexp_full_match(trim(CAST(x AS VARCHAR)), '-?[0-9]+\\.0+')
        THEN regexp_replace(trim(CAST(x AS VARCHAR)), '\\.0+$', '')
    ELSE trim(CAST(x AS VARCHAR)) END;
CREATE OR REPLACE MACRO retailor_id_refused(x) AS x IS NOT NULL
    AND (length(x) > MAX_ID_LENGTH OR regexp_matches(x, '[RE2_REFUSED]'));
""".replace("MAX_ID_LENGTH", str(MAX_ID_LENGTH)).replace("RE2_REFUSED", RE2_REFUSED)


def transactions_to_events(
    con: duckdb.DuckDBPyConnection,
    source: Source,
    received_at: datetime,
    *,
    max_future: timedelta,
    timestamp_format: str | None = None,
    default_channel: str | None = None,
) -> tuple[pa.Table, pa.Table]:
    """The events of the file (``EVENT_SCHEMA``) and its rejected rows (line, reason, payload)."""
    cols = resolve_columns(source.columns, WANTED, REQUIRED, "transactions")
    con.execute(ID_MACRO)
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SET preserve_insertion_order = false")  # lines are ordered by _line explicitly
    src = source.table.append_column("_line", pa.array(np.arange(1, source.table.num_rows + 1)))
    extras = [c for c in source.columns if c not in cols.values()]
    formats = [timestamp_format] if timestamp_format else list(TIMESTAMP_FORMATS)
    if timestamp_format:
        try:
            con.execute("SELECT TRY_STRPTIME('2026-01-01', ?)", [timestamp_format])
        except duckdb.Error as exc:
            raise ImportInputError(
                f"--timestamp-format {timestamp_format!r} is not a strptime format ({exc}); "
                "for example --timestamp-format '%d/%m/%Y %H:%M'"
            ) from None

    def col(name: str) -> str:
        return quote(cols[name]) if name in cols else "NULL"

    channels = ", ".join(f"'{c.value}'" for c in Channel)
    default = f"'{default_channel}'" if default_channel else "NULL"
    latest = received_at + max_future
    parsed_ts = (
        f"CASE WHEN TRY_CAST({col('timestamp')} AS TIMESTAMPTZ) IS NOT NULL "
        f"THEN TRY_CAST({col('timestamp')} AS TIMESTAMPTZ) "
        f"ELSE CAST(TRY_STRPTIME(CAST({col('timestamp')} AS VARCHAR), {formats!r}) AS TIMESTAMPTZ) END"
        if not timestamp_format
        else f"CAST(TRY_STRPTIME(CAST({col('timestamp')} AS VARCHAR), {formats!r}) AS TIMESTAMPTZ)"
    )
    raw_cols = ", ".join(
        f"CAST({quote(c)} AS VARCHAR) AS {quote('_src_' + c)}" for c in source.columns
    )
    originals = ", ".join(f"{_sql_str(c)}, {quote('_src_' + c)}" for c in source.columns)
    extra_cols = "".join(f", {quote('_src_' + c)}" for c in extras)

    def raw(name: str) -> str:
        return quote("_src_" + cols[name])

    con.register("_src", src)
    try:
        con.execute(
            f"""
            CREATE OR REPLACE TEMP TABLE _lines AS
            WITH typed AS (
                SELECT _line,
                    retailor_id({col("order_id")}) AS order_id,
                    retailor_id({col("customer_id")}) AS customer_id,
                    retailor_id({col("item_id")}) AS item_id,
                    retailor_id({col("store_id")}) AS store_id,
                    COALESCE(NULLIF(lower(trim(CAST({col("channel")} AS VARCHAR))), ''), {default}) AS channel,
                    lower(trim(CAST({col("status")} AS VARCHAR))) AS status,
                    TRY_CAST({col("quantity")} AS DOUBLE) AS q,
                    TRY_CAST({col("price")} AS DOUBLE) AS p,
                    {parsed_ts} AS ts,
                    {raw_cols}
                FROM _src
            ),
            checked AS (
                SELECT *,
                    CASE
                        WHEN order_id IS NULL THEN 'missing order_id'
                        WHEN item_id IS NULL THEN 'missing item_id'
                        WHEN retailor_id_refused(order_id) OR retailor_id_refused(customer_id)
                            OR retailor_id_refused(item_id) OR retailor_id_refused(store_id)
                            THEN 'an id holds a control or invisible format character, or is longer than {MAX_ID_LENGTH} characters'
                        WHEN q IS NULL THEN 'quantity ' || coalesce('''' || {raw("quantity")} || '''', 'missing') || ' is not a number'
                        WHEN q = 0 OR isnan(q) OR isinf(q) THEN 'quantity must not be 0'
                        WHEN p IS NULL THEN 'price ' || coalesce('''' || {raw("price")} || '''', 'missing') || ' is not a number'
                        WHEN p < 0 OR isnan(p) OR isinf(p) THEN 'price must not be negative, got ' || {raw("price")}
                        WHEN ts IS NULL THEN 'timestamp ' || coalesce('''' || {raw("timestamp")} || '''', 'missing')
                            || ' is not a date-time (use --timestamp-format)'
                        WHEN ts > TIMESTAMPTZ '{latest.isoformat()}' THEN 'timestamp ' || {raw("timestamp")}
                            || ' is too far in the future'
                        WHEN ts < TIMESTAMPTZ '1970-01-01 00:00:00+00' THEN 'timestamp ' || {raw("timestamp")} || ' is before 1970'
                        WHEN channel IS NOT NULL AND channel NOT IN ({channels}) THEN 'unknown channel ' || channel
                    END AS reason
                FROM typed
            )
            SELECT _line, order_id, customer_id, item_id, store_id, channel, status, q, p, ts, reason,
                CASE WHEN q < 0 OR status IN {REFUND_STATUSES!r} THEN 'refund' ELSE 'order' END AS kind,
                CASE WHEN reason IS NOT NULL THEN CAST(json_object({originals}) AS VARCHAR) END AS payload
                {extra_cols}
            FROM checked
            """
        )
        rejected = con.sql(
            "SELECT _line AS line, reason, payload FROM _lines WHERE reason IS NOT NULL ORDER BY _line"
        ).to_arrow_table()
        whole = con.execute(
            "SELECT coalesce(bool_and(q = trunc(q) AND abs(q) < 1e15), true) FROM _lines WHERE reason IS NULL"
        ).fetchall()
        quantity = "CAST(abs(q) AS BIGINT)" if whole[0][0] else "abs(q)"
        extra_fields = "".join(f", {quote(c)} := {quote('_src_' + c)}" for c in extras)
        events = con.sql(
            f"""
            WITH lines AS (
                SELECT kind, order_id, _line, customer_id, store_id, channel, ts, status,
                    abs(q) * p AS amount,
                    struct_pack(item_id := item_id, quantity := {quantity}, price := p{extra_fields}) AS line
                FROM _lines WHERE reason IS NULL
            )
            SELECT
                'txn-' || kind || '-' || substr(md5(order_id), 1, 24) AS event_id,
                CASE kind WHEN 'order' THEN 'order_completed' ELSE 'order_refunded' END AS type,
                min(ts) AS timestamp,
                TIMESTAMPTZ '{received_at.isoformat()}' AS received_at,
                any_value(customer_id) AS customer_id,
                CASE WHEN any_value(customer_id) IS NULL THEN 'guest-' || order_id END AS anonymous_id,
                any_value(channel) AS channel,
                any_value(store_id) AS store_id,
                NULL::VARCHAR AS session_id,
                NULL::VARCHAR AS decision_id,
                '{{"order_id":' || to_json(order_id)
                    || ',"lines":' || CAST(to_json(list_transform(list_sort(list(struct_pack(n := _line, l := line))), lambda x: x.l)) AS VARCHAR)
                    || CASE kind
                        WHEN 'order' THEN ',"revenue":' || CAST(to_json(sum(amount)) AS VARCHAR)
                        ELSE ',"amount":' || CAST(to_json(sum(amount)) AS VARCHAR)
                            || ',"cancelled":' || CAST(to_json(coalesce(bool_or(status IN {REFUND_STATUSES!r}), false)) AS VARCHAR)
                    END || '}}' AS properties,
                '{{"source":"import:transactions"}}' AS context
            FROM lines
            GROUP BY kind, order_id
            """
        ).to_arrow_table()
    finally:
        con.execute("DROP TABLE IF EXISTS _lines")
        con.unregister("_src")
    return events.select(list(EVENT_COLUMNS)).cast(EVENT_SCHEMA), rejected


def _sql_str(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"
