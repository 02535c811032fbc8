"""Running an import: read, convert, validate, and write to a sink — the local stores, or
a running server through its API (``client_sink.ClientSink``, when the server holds the
data directory)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import duckdb
import msgspec
import pyarrow as pa

from retailor.domain.catalog import CatalogPatch
from retailor.domain.events import Event
from retailor.domain.quarantine import Rejection
from retailor.ingest.bulk.catalog import catalog_chunks
from retailor.ingest.bulk.customers import customer_chunks
from retailor.ingest.bulk.events import jsonl_chunks, table_chunks
from retailor.ingest.bulk.options import KINDS, ImportInputError
from retailor.ingest.bulk.options import ImportOptions as ImportOptions  # run_import's argument
from retailor.ingest.bulk.source import detect_format, read_source
from retailor.ingest.bulk.transactions import transactions_to_events
from retailor.ingest.quarantining import rejection
from retailor.ingest.validation import EventValidator
from retailor.storage.schema import events_to_table, table_to_events

WRITE_CHUNK = 50_000


class ImportSummary(msgspec.Struct):
    """What an import did. ``rows`` counts the input rows (or lines) read."""

    kind: str
    file: str
    rows: int
    accepted: int
    duplicates: int
    rejected: int
    seconds: float
    created: int = 0
    updated: int = 0


class Sink(Protocol):
    """Where imported data goes."""

    def write_events(self, events: Sequence[Event] | pa.Table, source: str) -> tuple[int, int, int]:
        """Store events; return (accepted, duplicates, rejected). What it cannot store is
        kept in the quarantine (``source`` says where it came from)."""
        ...

    def keep_rejections(self, rejections: Sequence[Rejection]) -> None: ...

    def write_items(self, patches: Sequence[CatalogPatch], source: str) -> tuple[int, int, int]:
        """Upsert items; return (created, updated, rejected), the rejected quarantined."""
        ...


Progress = Callable[[int, int | None], None]  # (rows done so far, total rows if known)


def run_import(
    kind: str, path: Path, sink: Sink, options: ImportOptions, progress: Progress | None = None
) -> ImportSummary:
    """Import ``path`` as ``kind`` (events, transactions, catalog or customers) into ``sink``."""
    if kind not in KINDS:
        raise ImportInputError(f"unknown import kind {kind!r}; use one of {', '.join(KINDS)}")
    started = time.perf_counter()
    received_at = datetime.now(UTC)
    source_name = f"import:{kind}:{path.name}"
    if not path.exists():
        raise ImportInputError(f"{path} does not exist")
    if not path.is_file():
        raise ImportInputError(f"{path} is not a file")
    fmt = detect_format(path, options.fmt)
    mapping = options.mapping or {}
    report = progress or (lambda done, total: None)
    totals = {"rows": 0, "accepted": 0, "duplicates": 0, "rejected": 0, "created": 0, "updated": 0}

    def keep(rejections: Sequence[Rejection]) -> None:
        if rejections:
            sink.keep_rejections(rejections)
            totals["rejected"] += len(rejections)

    def write(events: Sequence[Event] | pa.Table) -> None:
        accepted, duplicates, rejected = sink.write_events(events, source_name)
        totals["accepted"] += accepted
        totals["duplicates"] += duplicates
        totals["rejected"] += rejected

    if kind == "events" and fmt == "jsonl":
        validator = EventValidator(max_future=options.max_future)
        try:
            for events, rejections, read in jsonl_chunks(
                path, validator, received_at, source_name, mapping
            ):
                keep(rejections)
                write(events)
                totals["rows"] += read
                report(totals["rows"], None)
        except (OSError, EOFError) as exc:
            raise ImportInputError(
                f"reading {path} failed after {totals['rows']:,} lines ({exc}); the lines before "
                "were imported, and importing the file again adds only what is missing"
            ) from None
    else:
        source = read_source(
            path,
            fmt,
            mapping,
            all_strings=kind == "transactions",
            source_name=source_name,
            received_at=received_at,
        )
        keep(source.rejections)
        total = source.table.num_rows + len(source.rejections)
        totals["rows"] = total
        report(0, total)
        if kind == "transactions":
            _transactions(source, options, received_at, source_name, keep, write, report, total)
        elif kind in ("events", "customers"):
            validator = EventValidator(max_future=options.max_future)
            chunks = customer_chunks if kind == "customers" else table_chunks
            done = 0
            for events, rejections, read in chunks(source, validator, received_at, source_name):
                keep(rejections)
                write(events)
                done += read
                report(done, total)
        else:
            done = 0
            for patches, rejections, read in catalog_chunks(source, received_at, source_name):
                keep(rejections)
                created, updated, rejected = sink.write_items(patches, source_name)
                totals["created"] += created
                totals["updated"] += updated
                totals["accepted"] += len(patches) - rejected
                totals["rejected"] += rejected
                done += read
                report(done, total)
    return ImportSummary(
        kind=kind, file=str(path), seconds=round(time.perf_counter() - started, 3), **totals
    )


def _transactions(
    source: Any,
    options: ImportOptions,
    received_at: datetime,
    source_name: str,
    keep: Callable[[Sequence[Rejection]], None],
    write: Callable[[pa.Table], None],
    report: Progress,
    total: int,
) -> None:
    con = duckdb.connect()
    try:
        events, rejected = transactions_to_events(
            con,
            source,
            received_at,
            max_future=options.max_future,
            timestamp_format=options.timestamp_format,
            default_channel=options.channel,
        )
    finally:
        con.close()
    keep(
        [
            rejection(
                source=source_name,
                reason=f"row {row['line']}: {row['reason']}",
                payload=row["payload"],
                received_at=received_at,
                index=row["line"],
            )
            for row in rejected.to_pylist()
        ]
    )
    half = total // 2
    report(half, total)
    written = 0
    for start in range(0, events.num_rows, WRITE_CHUNK):
        chunk = events.slice(start, WRITE_CHUNK)
        write(chunk)
        written += chunk.num_rows
        report(half + (total - half) * written // events.num_rows, total)
    report(total, total)


#: Drops what names an erased (suppressed) person; returns what is left and how many went.
Refuse = Callable[[list[Any]], tuple[list[Any], int]]


class StorageSink:
    """Writes straight to the stores (the data directory is not held by a server).
    ``refuse_events`` and ``refuse_rejections`` drop, before anything is written, the
    events and the rejected input naming a suppressed person: neither stored nor
    quarantined, counted among the rejected."""

    def __init__(
        self,
        storage: Any,
        refuse_events: Refuse | None = None,
        refuse_rejections: Refuse | None = None,
    ) -> None:
        self._storage = storage
        self._refuse_events, self._refuse_rejections = refuse_events, refuse_rejections

    def write_events(self, events: Sequence[Event] | pa.Table, source: str) -> tuple[int, int, int]:
        refused = 0
        if self._refuse_events is not None:
            listed = table_to_events(events) if isinstance(events, pa.Table) else list(events)
            events, refused = self._refuse_events(listed)
        table = events if isinstance(events, pa.Table) else events_to_table(events)
        if table.num_rows == 0:
            return 0, 0, refused
        result = self._storage.events.append(table)
        return result.accepted, len(result.duplicates), refused

    def keep_rejections(self, rejections: Sequence[Rejection]) -> None:
        if self._refuse_rejections is not None:
            rejections, _ = self._refuse_rejections(list(rejections))
        self._storage.quarantine.add(rejections)

    def write_items(self, patches: Sequence[CatalogPatch], source: str) -> tuple[int, int, int]:
        if not patches:
            return 0, 0, 0
        result = self._storage.catalog.upsert(patches, datetime.now(UTC))
        return result.created, result.updated, 0
