"""Reading an input file into an Arrow table, with column renames and broken lines kept."""

from __future__ import annotations

import csv
import gzip
import io
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.json as pajson
import pyarrow.parquet as pq

from retailor.domain.quarantine import Rejection
from retailor.ingest.bulk.options import FORMATS
from retailor.ingest.bulk.options import ImportInputError as ImportInputError  # what reading raises
from retailor.ingest.quarantining import rejection
from retailor.ingest.validation import Invalid

T = TypeVar("T")
_DELIMITERS = (",", ";", "\t", "|")


def detect_format(path: Path, declared: str | None) -> str:
    """The file's format: as declared, else from its name (``.csv``, ``.csv.gz``, ``.tsv``,
    ``.jsonl``, ``.ndjson``, ``.json``, ``.parquet``)."""
    if declared:
        if declared not in FORMATS:
            raise ImportInputError(f"unknown format {declared!r}; use one of {', '.join(FORMATS)}")
        return declared
    name = path.name.lower().removesuffix(".gz").removesuffix(".gzip")
    if name.endswith((".csv", ".tsv", ".txt")):
        return "csv"
    if name.endswith((".jsonl", ".ndjson", ".json")):
        return "jsonl"
    if name.endswith((".parquet", ".pq")):
        return "parquet"
    raise ImportInputError(
        f"cannot tell the format of {path.name}; pass --format csv|jsonl|parquet"
    )


@dataclass
class Source:
    """An opened input: its rows as an Arrow table (columns renamed), and broken lines."""

    table: pa.Table
    rejections: list[Rejection] = field(default_factory=list)

    @property
    def columns(self) -> list[str]:
        return list(self.table.column_names)


def quote(identifier: str) -> str:
    """A SQL identifier, quoted."""
    return '"' + identifier.replace('"', '""') + '"'


def read_source(
    path: Path,
    fmt: str,
    mapping: dict[str, str],
    *,
    all_strings: bool,
    source_name: str,
    received_at: datetime,
) -> Source:
    """Read ``path``; rename columns by ``mapping`` (target=source). CSV lines that cannot
    be parsed become rejections; the rest of the file is read all the same."""
    if not path.exists():
        raise ImportInputError(f"{path} does not exist")
    if path.is_dir():
        raise ImportInputError(f"{path} is a directory; give a file")
    broken: list[Rejection] = []
    try:
        if fmt == "csv":
            text = {source for target, source in mapping.items() if is_text_column(target)}
            table = _read_csv(path, all_strings, broken, source_name, received_at, text)
        elif fmt == "jsonl":
            _refuse_null_lines(path)
            table = pajson.read_json(path)
        else:
            table = pq.read_table(path)
    except (pa.ArrowInvalid, OSError, EOFError, UnicodeDecodeError, csv.Error) as exc:
        raise ImportInputError(f"cannot read {path} as {fmt}: {exc}") from None
    columns = list(table.column_names)
    missing = [source for source in mapping.values() if source not in columns]
    if missing:
        raise ImportInputError(
            f"--map names columns the file does not have: {', '.join(missing)}; "
            f"its columns are: {', '.join(columns)}"
        )
    renamed = {source: target for target, source in mapping.items()}
    names = [
        renamed[c] if c in renamed else (c + "_original" if c in mapping else c) for c in columns
    ]
    return Source(table=table.rename_columns(names), rejections=broken)


def _refuse_null_lines(path: Path) -> None:
    """Refuse a JSON lines file with a line that is ``null`` (Arrow's JSON reader, up to at
    least 26.0, crashes the process on one that starts a block instead of raising): every
    line of an import is an object, so such a file is a mistake, said with its line."""
    opener = gzip.open if path.name.lower().endswith((".gz", ".gzip")) else open
    with opener(path, "rb") as handle:
        for number, line in enumerate(handle, start=1):
            if line.strip() == b"null":
                raise ImportInputError(f"{path}: line {number} is null, not a JSON object")


#: Columns read as text from CSV whatever they look like (a leading 0 or + is part of an
#: identifier): identifiers and contact points, by name.
TEXT_COLUMNS = frozenset({
    "id", "sku", "stockcode", "stock_code", "barcode", "ean", "gtin", "upc", "email",
    "phone", "mobile", "loyalty_card", "card_id", "card", "payment_token", "zip", "postcode",
    "postal_code", "invoiceno", "invoice_no", "invoice",
})  # fmt: skip


_ID_PREFIXES = frozenset({
    "customer", "user", "item", "product", "order", "session", "visitor", "client", "member",
    "article", "store", "shop", "transaction", "anonymous", "event", "device",
})  # fmt: skip


def is_text_column(name: str) -> bool:
    """Whether a CSV column holds identifiers: ``*_id``, ``CustomerID``-like names, or a
    name above."""
    lower = name.lower()
    return (
        lower in TEXT_COLUMNS
        or lower.endswith("_id")
        or (lower.endswith("id") and lower[:-2] in _ID_PREFIXES)
    )


def _read_csv(
    path: Path,
    all_strings: bool,
    broken: list[Rejection],
    source_name: str,
    received_at: datetime,
    text_columns: set[str] | frozenset[str] = frozenset(),
) -> pa.Table:
    opener = gzip.open if path.name.lower().endswith((".gz", ".gzip")) else open
    with opener(path, "rb") as raw:
        head = raw.read(64 * 1024)
    first = head.split(b"\n", 1)[0].decode("utf-8-sig").rstrip("\r")
    if not first.strip():
        raise ImportInputError(f"{path} is empty or has no header line")
    delimiter = max(_DELIMITERS, key=first.count)
    header = next(csv.reader(io.StringIO(first), delimiter=delimiter))
    if len(set(header)) != len(header):
        raise ImportInputError(f"{path} repeats column names in its header: {header}")

    invalid: list[tuple[int | None, str, int, int]] = []

    def keep_broken(row: pacsv.InvalidRow) -> str:
        invalid.append((row.number, row.text, row.expected_columns, row.actual_columns))
        return "skip"

    table = pacsv.read_csv(
        path,
        parse_options=pacsv.ParseOptions(delimiter=delimiter, invalid_row_handler=keep_broken),
        convert_options=pacsv.ConvertOptions(
            column_types={
                name: pa.string()
                for name in header
                if all_strings or name in text_columns or is_text_column(name)
            },
            strings_can_be_null=True,
        ),
        read_options=pacsv.ReadOptions(use_threads=True),
    )
    numbers = _line_numbers(path, [line for number, line, *_ in invalid if number is None])
    for number, raw_line, expected, actual in invalid:
        line = number if number is not None else numbers.get(raw_line)
        broken.append(
            rejection(
                source=source_name,
                reason=f"line {line}: expected {expected} columns, found {actual}"
                if line is not None
                else f"expected {expected} columns, found {actual}",
                payload=raw_line,
                received_at=received_at,
                index=line,
            )
        )
    return table


def _line_numbers(path: Path, texts: list[str]) -> dict[str, int]:
    """The line numbers of ``texts`` in the file (the threaded CSV reader does not know
    them); read only when some line was broken."""
    if not texts:
        return {}
    wanted, found = set(texts), {}
    opener = gzip.open if path.name.lower().endswith((".gz", ".gzip")) else open
    with opener(path, "rt", encoding="utf-8", errors="replace", newline="") as handle:
        for number, line in enumerate(handle, start=1):
            text = line.rstrip("\r\n")
            if text in wanted and text not in found:
                found[text] = number
                if len(found) == len(wanted):
                    break
    return found


def resolve_columns(
    columns: list[str], wanted: dict[str, tuple[str, ...]], required: Sequence[str], preset: str
) -> dict[str, str]:
    """Find each wanted column by its name or a known alias (case-insensitive).

    Returns ``{target: column}`` for those found; a missing required one is an error that
    lists the file's columns and shows ``--map``.
    """
    lower = {c.lower(): c for c in columns}
    found: dict[str, str] = {}
    for target, aliases in wanted.items():
        for name in (target, *aliases):
            if name.lower() in lower:
                found[target] = lower[name.lower()]
                break
    missing = [t for t in required if t not in found]
    if missing:
        raise ImportInputError(
            f"the {preset} preset needs column(s) {', '.join(missing)}; the file has "
            f"{', '.join(columns)}. Rename with --map, e.g. --map {missing[0]}=<column>"
        )
    return found


def converted_chunks(
    source: Source,
    convert: Callable[[dict[str, Any]], list[T]],
    *,
    chunk: int,
    received_at: datetime,
    source_name: str,
) -> Iterator[tuple[list[T], list[Rejection], int]]:
    """Convert the rows of ``source`` a chunk at a time; a row whose conversion raises
    ``Invalid`` or ``ValueError`` (msgspec's ``ValidationError``) becomes a rejection that
    says which row and why. Yields (converted, rejections, rows read)."""
    table = source.table
    for start in range(0, table.num_rows, chunk):
        rows = table.slice(start, chunk).to_pylist()
        converted: list[T] = []
        rejected: list[Rejection] = []
        for index, row in enumerate(rows, start=start + 1):
            try:
                converted += convert(row)
            except (Invalid, ValueError) as exc:
                reason = f"row {index}: " + str(exc).replace("at `$.", "at `")
                rejected.append(
                    rejection(
                        source=source_name,
                        reason=reason,
                        payload=row,
                        received_at=received_at,
                        index=index,
                        event_id=_row_event_id(row),
                    )
                )
        yield converted, rejected, len(rows)


def _row_event_id(row: dict[str, Any]) -> str | None:
    """The id a rejected row names for itself, if any (shown with it in the quarantine)."""
    for key in ("event_id", "messageId"):
        value = row.get(key)
        if isinstance(value, str | int) and not isinstance(value, bool) and str(value).strip():
            return str(value).strip()
    return None
