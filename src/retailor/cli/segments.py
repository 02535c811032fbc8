"""``retailor segments put|list|export``."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
import msgspec

from retailor.api.runfile import read_run_file
from retailor.cli.common import (
    console,
    data_option,
    friendly_errors,
    out,
    reach_data,
    read_definition_file,
    settings_from,
)
from retailor.client import Client
from retailor.domain.ids import InvalidIdError
from retailor.privacy.consent import PURPOSES
from retailor.profiles.segment_export import (
    DEFAULT_PURPOSE,
    contactable,
    csv_chunks,
    export_row,
)
from retailor.profiles.segments import MAX_DEFINITION_BYTES, SegmentError, parse
from retailor.storage.base import DefinitionStore
from retailor.storage.factory import definition_store


@contextmanager
def _store(data_dir: Path | None) -> Iterator[DefinitionStore]:
    settings = settings_from(data_dir)
    with definition_store(settings.storage_dsn, settings.data_dir) as store:
        yield store


@click.group()
def segments() -> None:
    """Segments of the customer base, defined over traits and events in time windows."""


@segments.command("put")
@click.argument("segment_id")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@data_option
@friendly_errors
def put(segment_id: str, file: Path, data_dir: Path | None) -> None:
    """Create or replace SEGMENT_ID from a JSON or YAML FILE (see docs/profiles.md). When a
    server runs on the data directory the definition goes through it (it keeps definitions
    in memory and builds their event counts)."""
    definition = read_definition_file(file, "segment", MAX_DEFINITION_BYTES)
    try:
        parse(definition)
        server = read_run_file(settings_from(data_dir).data_dir)
        if server is None:
            with _store(data_dir) as store:
                store.put("segment", segment_id, definition)
        else:
            with Client(server.url, server.token) as client:
                client.put_segment(segment_id, definition)
    except (SegmentError, InvalidIdError) as exc:
        raise click.ClickException(f"{file}: {exc}") from None
    click.echo(
        f"segment {segment_id} saved; its members: retailor segments export {segment_id} --output FILE"
    )


@segments.command("list")
@data_option
@friendly_errors
def list_segments(data_dir: Path | None) -> None:
    """The defined segments."""
    with _store(data_dir) as store:
        for stored in store.all("segment"):
            out.print(f"[bold]{stored.id}[/]  {msgspec.json.encode(stored.document).decode()}")


@contextmanager
def _opened(path: str) -> Iterator[Any]:
    if path == "-":
        yield sys.stdout
    else:
        with open(path, "w", newline="") as handle:
            yield handle


@segments.command("export")
@click.argument("segment_id")
@data_option
@click.option("--output", "-o", required=True, help="CSV file to write (- for standard output).")
@click.option(
    "--purpose",
    type=click.Choice(PURPOSES),
    default=DEFAULT_PURPOSE,
    show_default=True,
    help="What the export is for: customers who withdrew this purpose are left out "
    "(marketing: any marketing purpose; with consent_required, also those who never gave it).",
)
@friendly_errors
def export(segment_id: str, data_dir: Path | None, output: str, purpose: str) -> None:
    """Write the members of SEGMENT_ID as CSV for an email or ads tool:
    customer_id, email (when the customer gave one), order_count, revenue, rfm_segment,
    predicted_value_12m, churn_risk. Only the customers who may be contacted for
    --purpose are written."""
    from retailor.runtime.command import command_services

    settings = settings_from(data_dir)
    rows: list[dict[str, Any]] = []
    with reach_data(settings) as target:
        if target.client is not None:
            offset: int | None = 0
            while offset is not None:
                page = target.client.segment_customers(segment_id, offset, purpose=purpose)
                rows += [export_row(c["customer_id"], c["traits"]) for c in page["customers"]]
                offset = page["next_offset"]
        else:
            assert target.storage is not None
            with command_services(settings, target.storage) as services:
                membership = services.segments.members(segment_id)
                if membership is None:
                    raise click.ClickException(
                        f"no segment {segment_id!r}: retailor segments put {segment_id} FILE"
                    )
                kept = contactable(
                    services.profiles,
                    membership.members,
                    purpose,
                    required=settings.consent_required,
                )
                for key in kept:
                    view = services.profiles.view(key)
                    if view is not None:
                        rows.append(export_row(key, view.traits))
    with _opened(output) as handle:
        for chunk in csv_chunks(rows):
            handle.write(chunk)
    console.print(
        f"{len(rows):,} customers of {segment_id} who may be contacted for {purpose} "
        f"written to {output}"
    )
