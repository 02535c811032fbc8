"""What an import is asked to do: its kind, the file's format, column renames and the
other options, and the error for a request that cannot be met. Reading files needs Arrow;
this module does not, so a command can declare and check its options without it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

KINDS = ("events", "transactions", "catalog", "customers")
FORMATS = ("csv", "jsonl", "parquet")


class ImportInputError(ValueError):
    """The file cannot be imported as asked; the message says what to do."""


@dataclass
class ImportOptions:
    fmt: str | None = None
    mapping: dict[str, str] | None = None
    timestamp_format: str | None = None
    channel: str | None = None
    max_future: timedelta = timedelta(hours=24)


def parse_mapping(pairs: Sequence[str]) -> dict[str, str]:
    """``["order_id=InvoiceNo", ...]`` (or comma-separated pairs) as ``{target: source}``."""
    mapping: dict[str, str] = {}
    for pair in (p.strip() for chunk in pairs for p in chunk.split(",")):
        if not pair:
            continue
        target, sep, source = pair.partition("=")
        if not sep or not target.strip() or not source.strip():
            raise ImportInputError(f"--map takes target=source pairs, got {pair!r}")
        mapping[target.strip()] = source.strip()
    return mapping
