"""``retailor import events|transactions|catalog FILE``."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import click
import msgspec
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from retailor.cli.common import (
    console,
    data_option,
    friendly_errors,
    out,
    reach_data,
    settings_from,
)
from retailor.ingest.bulk.options import FORMATS, KINDS, ImportOptions, parse_mapping

if TYPE_CHECKING:
    from retailor.ingest.bulk.client_sink import ClientSink
    from retailor.ingest.bulk.runner import StorageSink
    from retailor.settings import Settings
    from retailor.storage.factory import Storage


@click.command("import")
@click.argument("kind", type=click.Choice(KINDS))
@click.argument("file", type=click.Path(path_type=Path))
@data_option
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default=None,
    help="Input format (default: from the file name).",
)
@click.option(
    "--map",
    "mapping",
    multiple=True,
    help="Rename columns: target=source[,target=source...], e.g. --map order_id=InvoiceNo.",
)
@click.option(
    "--timestamp-format",
    default=None,
    help="strptime format of the timestamp column, e.g. '%d/%m/%Y %H:%M'.",
)
@click.option(
    "--channel",
    default=None,
    help="transactions: channel of rows that do not say (e.g. store, web).",
)
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help='End with one JSON line {"accepted", "duplicates", "rejected"}.',
)
@friendly_errors
def import_file(
    kind: str,
    file: Path,
    data_dir: Path | None,
    fmt: str | None,
    mapping: tuple[str, ...],
    timestamp_format: str | None,
    channel: str | None,
    as_json: bool,
) -> None:
    """Import a file of KIND into the data directory.

    \b
    KIND is one of:
      events        native events, one per JSONL line or CSV/Parquet row
      transactions  one row per order line: order_id, customer_id, item_id, quantity,
                    price, timestamp [, store_id, channel, status]; negative quantities
                    or a cancelled status become refunds; rows without a customer are
                    guest orders
      catalog       one item per row: item_id, name, category, brand, price, cost,
                    stock, created_at; other columns become attributes
      customers     a CRM or loyalty export, one customer per row: customer_id,
                    optional email, phone, loyalty_card, updated_at, consent_<purpose>
                    (yes/no); other columns become profile attributes

    FILE may be CSV (also .csv.gz), JSONL or Parquet. Re-importing a file adds nothing.
    Rejected rows are kept in the quarantine (see: retailor quarantine list).
    """
    from retailor.ingest.bulk.client_sink import ClientSink
    from retailor.ingest.bulk.runner import run_import

    settings = settings_from(data_dir)
    options = ImportOptions(
        fmt=fmt,
        mapping=parse_mapping(mapping),
        timestamp_format=timestamp_format,
        channel=channel,
        max_future=timedelta(seconds=settings.max_future_seconds),
    )
    with reach_data(settings) as target:
        if target.storage is not None:
            sink: StorageSink | ClientSink = _storage_sink(settings, target.storage)
        else:
            sink = ClientSink(target.client)
        with Progress(
            TextColumn(f"importing {kind} from {file.name}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=as_json,
        ) as bar:
            task = bar.add_task("rows", total=None)

            def progress(done: int, total: int | None) -> None:
                bar.update(task, completed=done, total=total)

            summary = run_import(kind, file, sink, options, progress)
    rate = summary.rows / summary.seconds if summary.seconds else 0.0
    console.print(
        f"[bold]{summary.rows:,}[/] rows in {summary.seconds:.2f} s ({rate:,.0f} rows/s): "
        f"[green]{summary.accepted:,} accepted[/], {summary.duplicates:,} duplicates, "
        f"[{'red' if summary.rejected else 'green'}]{summary.rejected:,} rejected[/]"
        + (
            f" ({summary.created:,} items created, {summary.updated:,} updated)"
            if kind == "catalog"
            else ""
        )
    )
    if summary.rejected:
        console.print(
            "see why with: retailor quarantine list" + (f" --data {data_dir}" if data_dir else "")
        )
    if as_json:
        out.print_json(
            msgspec.json.encode(
                {
                    "accepted": summary.accepted,
                    "duplicates": summary.duplicates,
                    "rejected": summary.rejected,
                }
            ).decode(),
            indent=None,
        )


def _storage_sink(settings: Settings, storage: Storage) -> StorageSink:
    """Straight to the stores, refusing what names an erased person (as a server does);
    the suppression list is read once, when it holds anyone."""
    from retailor.ingest.bulk.runner import StorageSink
    from retailor.privacy.suppression import Suppression
    from retailor.runtime.services import identity_salt

    if not storage.privacy.suppressed():
        return StorageSink(storage)
    suppression = Suppression(storage.privacy, identity_salt(settings, storage))
    return StorageSink(storage, suppression.keep, suppression.keep_rejections)
