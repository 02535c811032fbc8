"""PostgreSQL ``EventLog``: the ``events`` table partitioned by month, and ``event_ids``.

Idempotency on ``event_id`` alone. A unique key of a partitioned table must contain the
partition key, so ``UNIQUE (event_id, "timestamp")`` would store one id twice when it
came back with another timestamp (a client's retry with a clock that moved). The ids
therefore live in their own unpartitioned table, ``event_ids`` (the id is its primary
key). An append claims its ids there with ``INSERT ... ON CONFLICT DO NOTHING RETURNING``
and copies into ``events`` only the rows whose id it claimed, in the same transaction:
an id is stored once even when workers append it at the same moment (the second waits
for the first to commit, then finds the id taken), and a failed append claims nothing.
Ids are claimed in sorted order, so that two appends never wait for each other in a
cycle. Each append that stores rows takes the next position from the one-row
``event_position`` table (``UPDATE … RETURNING``) after claiming its ids: the row lock
makes appends from every worker take positions in the order they commit, with no gap, and
the rows get it as their default from a transaction-local setting. The events table itself keeps its partitions small and lets a time range read
only the months it covers; it has no unique key.

Appends are fast because they are set-wise: one statement claims the ids of the whole
batch (an array parameter), and the new rows go in with ``COPY`` as CSV that Arrow
writes in C++. A month's partition is created when its first event arrives, as a
table of its own then attached: attaching takes a lock that neither reads nor inserts
wait for, so a long scan (a training run) never holds up ingestion.

Erasure and retention delete rows in one statement that also frees their ids in
``event_ids``; nothing is renumbered and ``event_position`` stays, so the events left
keep their positions and a removed position is never given again.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
from psycopg import sql

from retailor.domain.events import Event
from retailor.domain.privacy import Subject
from retailor.storage.base import AppendResult, EventLog
from retailor.storage.dedupe import first_occurrences
from retailor.storage.postgres.database import PostgresDatabase
from retailor.storage.schema import EVENT_COLUMNS, EVENT_SCHEMA, row_to_event

_COLUMNS = ", ".join(f'"{c}"' for c in EVENT_COLUMNS)
_COPY = f"COPY events ({_COLUMNS}) FROM STDIN (FORMAT csv)"
_CSV = pa_csv.WriteOptions(include_header=False)  # strings quoted: "" is empty, nothing NULL
#: Claims the ids given (sorted) and returns those the log already held: the claimed ones
#: are the usual case, so they are not sent back.
_CLAIM = (
    "WITH given AS (SELECT unnest(%b::text[]) AS event_id), "
    "claimed AS (INSERT INTO event_ids (event_id) SELECT event_id FROM given "
    "ON CONFLICT DO NOTHING RETURNING event_id) "
    "SELECT event_id FROM given WHERE event_id NOT IN (SELECT event_id FROM claimed)"
)
_NEXT_POSITION = "UPDATE event_position SET position = position + 1 RETURNING position"
_SET_POSITION = "SELECT set_config('retailor.position', %s, true)"
_PARTITION_LOCK = (
    "SELECT pg_advisory_xact_lock(hashtext('retailor.partitions:' || current_schema()))"
)
_ATTACHED = (
    "SELECT 1 FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
    "WHERE i.inhparent = 'events'::regclass AND c.relname = %s"
)


def month_keys(timestamps: pa.ChunkedArray) -> set[int]:
    """The months (``year * 12 + month - 1``, in UTC) that ``timestamps`` fall in."""
    keys = pc.add(pc.multiply(pc.year(timestamps), 12), pc.subtract(pc.month(timestamps), 1))
    return {int(k) for k in pc.unique(keys).to_pylist()}


def _partition(key: int) -> tuple[str, str, str]:
    """The name of a month's partition and its bounds (inclusive, exclusive) as text."""
    year, month = divmod(key, 12)
    upper_year, upper_month = divmod(key + 1, 12)
    return (
        f"events_p{year:04d}{month + 1:02d}",
        f"{year:04d}-{month + 1:02d}-01 00:00:00+00",
        f"{upper_year:04d}-{upper_month + 1:02d}-01 00:00:00+00",
    )


class PostgresEventLog(EventLog):
    """Events in a ``PostgresDatabase`` (see the module docstring for the design)."""

    def __init__(self, db: PostgresDatabase) -> None:
        self._db = db
        self._months: set[int] = set()  # months whose partition is known to exist
        self._months_lock = threading.Lock()

    def append(self, table: pa.Table) -> AppendResult:
        table = table.cast(EVENT_SCHEMA)
        firsts, repeated = first_occurrences(table)
        if firsts.num_rows == 0:
            return AppendResult(accepted=0, duplicates=repeated)
        self._ensure_partitions(month_keys(firsts.column("timestamp")))
        ids = sorted(firsts.column("event_id").to_pylist())
        with self._db.connection() as conn, conn.transaction():
            held = [row[0] for row in conn.execute(_CLAIM, [ids]).fetchall()]
            new = firsts
            if held:
                taken = pc.is_in(firsts.column("event_id"), value_set=pa.array(held, pa.string()))
                new = firsts.filter(pc.invert(taken))
            position = None
            if new.num_rows:
                buffer = io.BytesIO()
                pa_csv.write_csv(_naive_utc(new), buffer, _CSV)
                row = conn.execute(_NEXT_POSITION).fetchone()
                assert row is not None
                position = int(row[0])
                conn.execute(_SET_POSITION, [str(position)])
                with conn.cursor().copy(_COPY) as copy:
                    copy.write(buffer.getbuffer())
        if not held and not repeated:
            return AppendResult(accepted=new.num_rows, position=position)
        return AppendResult(
            accepted=new.num_rows, duplicates=_duplicates(table, set(held)), position=position
        )

    def position(self) -> int:
        with self._db.connection() as conn:
            row = conn.execute("SELECT position FROM event_position").fetchone()
        return int(row[0]) if row else 0

    def read_after(
        self, position: int | None, upto: int, *, batch_size: int = 65_536
    ) -> Iterator[pa.RecordBatch]:
        low = -1 if position is None else position
        yield from self._read(
            f"SELECT {_COLUMNS} FROM events WHERE position > %s AND position <= %s "
            "ORDER BY position, received_at, event_id",
            [low, upto],
            batch_size,
        )

    def _read(self, query: str, params: list[Any], batch_size: int) -> Iterator[pa.RecordBatch]:
        """Stream the rows of ``query`` through a server-side cursor, in batches."""
        with (
            self._db.connection() as conn,
            conn.transaction(),
            conn.cursor(name="retailor_events") as cur,
        ):
            cur.itersize = batch_size
            cur.execute(query, params)
            while rows := cur.fetchmany(batch_size):
                yield rows_to_batch(rows)

    def _ensure_partitions(self, months: set[int]) -> None:
        """Create and attach the partitions of ``months`` that do not exist yet."""
        missing = months - self._months
        if not missing:
            return
        with self._months_lock, self._db.connection() as conn:
            for key in sorted(missing - self._months):
                name, lower, upper = _partition(key)
                with conn.transaction():
                    conn.execute(_PARTITION_LOCK)  # one creator at a time, across workers
                    if conn.execute(_ATTACHED, [name]).fetchone() is None:
                        conn.execute(
                            sql.SQL(
                                "CREATE TABLE {} (LIKE events INCLUDING DEFAULTS INCLUDING CONSTRAINTS)"
                            ).format(sql.Identifier(name))
                        )
                        conn.execute(
                            sql.SQL(
                                "ALTER TABLE events ATTACH PARTITION {} FOR VALUES FROM ({}) TO ({})"
                            ).format(sql.Identifier(name), sql.Literal(lower), sql.Literal(upper))
                        )
                self._months.add(key)

    def scan(
        self,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        customer_id: str | None = None,
        types: Sequence[str] | None = None,
        batch_size: int = 65_536,
    ) -> Iterator[pa.RecordBatch]:
        where: list[str] = ["TRUE"]
        params: list[Any] = []
        if start is not None:
            where.append('"timestamp" >= %s')
            params.append(start)
        if end is not None:
            where.append('"timestamp" < %s')
            params.append(end)
        if customer_id is not None:
            where.append("customer_id = %s")
            params.append(customer_id)
        if types:
            where.append("type = ANY(%s)")
            params.append(list(types))
        yield from self._read(
            f"SELECT {_COLUMNS} FROM events WHERE {' AND '.join(where)} "
            'ORDER BY "timestamp", received_at',
            params,
            batch_size,
        )

    def timeline(
        self, identifiers: str | Sequence[str], limit: int, types: Sequence[str] | None = None
    ) -> list[Event]:
        wanted = [identifiers] if isinstance(identifiers, str) else list(identifiers)
        typed = "" if types is None else "AND type = ANY(%(types)s) "
        with self._db.connection() as conn:
            rows = conn.execute(
                f"SELECT {_COLUMNS} FROM events "
                f"WHERE (customer_id = ANY(%(ids)s) OR anonymous_id = ANY(%(ids)s)) {typed}"
                'ORDER BY "timestamp" DESC, received_at DESC LIMIT %(limit)s',
                {"ids": wanted, "limit": limit, "types": list(types or ())},
            ).fetchall()
        return [row_to_event(dict(zip(EVENT_COLUMNS, row, strict=True))) for row in rows]

    def count(self) -> int:
        with self._db.connection() as conn:
            row = conn.execute("SELECT count(*) FROM events").fetchone()
        return int(row[0]) if row else 0

    def arrivals(self, start: datetime, end: datetime) -> list[tuple[datetime, int]]:
        with self._db.connection() as conn:
            rows = conn.execute(
                "SELECT date_trunc('minute', received_at AT TIME ZONE 'UTC') AS minute, "
                "count(*) FROM events WHERE received_at >= %s AND received_at < %s "
                "GROUP BY minute ORDER BY minute",
                [start, end],
            ).fetchall()
        return [(minute.replace(tzinfo=UTC), int(n)) for minute, n in rows]

    def visitors(
        self, start: datetime, end: datetime, interval: str | None = None
    ) -> list[tuple[datetime | None, str | None, str | None]]:
        if interval not in (None, "hour", "day"):
            raise ValueError(f"interval must be hour or day, not {interval!r}")
        period = (
            f"""date_trunc('{interval}', "timestamp" AT TIME ZONE 'UTC')"""
            if interval
            else "NULL::timestamp"
        )
        with self._db.connection() as conn:
            rows = conn.execute(
                f"SELECT DISTINCT {period} AS period, customer_id, anonymous_id FROM events "
                'WHERE "timestamp" >= %s AND "timestamp" < %s '
                "ORDER BY period, customer_id NULLS FIRST, anonymous_id NULLS FIRST",
                [start, end],
            ).fetchall()
        return [(None if p is None else p.replace(tzinfo=UTC), c, a) for p, c, a in rows]

    def erase(self, subject: Subject) -> int:
        where, params = naming(subject)
        return self._delete(where, params)

    def expire(self, event_type: str, before: datetime) -> int:
        return self._delete('type = %s AND "timestamp" < %s', [event_type, before])

    def _delete(self, where: str, params: list[Any]) -> int:
        """Delete the events matching ``where`` and free their ids, in one statement;
        the rows left keep their positions (nothing is renumbered)."""
        with self._db.connection() as conn:
            row = conn.execute(
                f"WITH gone AS (DELETE FROM events WHERE {where} RETURNING event_id), "
                "freed AS (DELETE FROM event_ids WHERE event_id IN (SELECT event_id FROM gone)) "
                "SELECT count(*) FROM gone",
                params,
            ).fetchone()
        return int(row[0]) if row else 0


def naming(subject: Subject) -> tuple[str, list[Any]]:
    """The condition on ``events`` rows of ``subject``'s events (see ``EventLog.erase``):
    an id in an id column, or a needle inside the properties or the context (JSON text,
    searched with ``strpos``: no pattern characters to escape)."""
    clauses = ["customer_id = ANY(%s) OR anonymous_id = ANY(%s)"]
    params: list[Any] = [list(subject.ids), list(subject.ids)]
    for needle in subject.needles():
        clauses.append("strpos(properties, %s) > 0 OR strpos(context, %s) > 0")
        params += [needle, needle]
    return " OR ".join(clauses), params


def _duplicates(table: pa.Table, held: set[str]) -> list[str]:
    """The ids of ``table``, in its order, that were not stored: every occurrence of an id
    the log ``held`` already, and every occurrence after the first of one it stored now."""
    stored: set[str] = set()
    duplicates: list[str] = []
    for event_id in table.column("event_id").to_pylist():
        if event_id in held or event_id in stored:
            duplicates.append(event_id)
        else:
            stored.add(event_id)
    return duplicates


def _naive_utc(table: pa.Table) -> pa.Table:
    """``table`` with its timestamps without a time zone (the same instants in UTC, the
    connection's zone): Arrow writes those as CSV several times faster."""
    for name in ("timestamp", "received_at"):
        index = table.schema.get_field_index(name)
        table = table.set_column(index, name, table.column(name).cast(pa.timestamp("us")))
    return table


def rows_to_batch(rows: list[tuple[Any, ...]]) -> pa.RecordBatch:
    """Rows of ``EVENT_COLUMNS`` as one Arrow batch of ``EVENT_SCHEMA``."""
    columns = zip(*rows, strict=True)
    return pa.RecordBatch.from_arrays(
        [pa.array(values, type=f.type) for values, f in zip(columns, EVENT_SCHEMA, strict=True)],
        schema=EVENT_SCHEMA,
    )
