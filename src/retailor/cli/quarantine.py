"""``retailor quarantine list``."""

from __future__ import annotations

from pathlib import Path

import click
import msgspec
from rich.table import Table

from retailor.cli.common import data_option, friendly_errors, out, reach_data, settings_from


@click.group()
def quarantine() -> None:
    """Rejected input, kept with the reason and the raw payload."""


@quarantine.command("list")
@data_option
@click.option("--limit", type=click.IntRange(1, 1000), default=20, show_default=True)
@click.option("--offset", type=click.IntRange(0), default=0)
@click.option("--source", default=None, help="Only from this source, e.g. http:/v1/events.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per rejection.")
@friendly_errors
def list_rejections(
    data_dir: Path | None, limit: int, offset: int, source: str | None, as_json: bool
) -> None:
    """The newest rejections first, with why each was rejected."""
    settings = settings_from(data_dir)
    with reach_data(settings) as target:
        if target.storage is not None:
            store = target.storage.quarantine
            total = store.count(source=source)
            items = [
                msgspec.to_builtins(r)
                for r in store.list(limit=limit, offset=offset, source=source)
            ]
        else:
            assert target.client is not None
            page = target.client.quarantine(limit=limit, offset=offset, source=source)
            total, items = page["total"], page["items"]
    if as_json:
        for item in items:
            click.echo(msgspec.json.encode(item))
        return
    table = Table(
        "received", "source", "event id", "reason", "payload", title=f"{total:,} rejected in all"
    )
    for item in items:
        payload = item["payload"]
        table.add_row(
            str(item["received_at"])[:19],
            item["source"],
            item.get("event_id") or "",
            item["reason"],
            payload if len(payload) <= 80 else payload[:77] + "...",
        )
    out.print(table)
