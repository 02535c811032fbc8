"""Bulk import of files (CSV, gzipped CSV, JSONL, Parquet) with three presets: ``events``
(native events, one per row or line), ``transactions`` (one row per order line, turned
into ``order_completed`` and ``order_refunded`` events) and ``catalog`` (items).

Files are read with DuckDB; broken lines and invalid rows are kept in the quarantine with
the reason, never dropped. Event ids are derived from the data, so re-importing the same
file adds nothing.
"""
