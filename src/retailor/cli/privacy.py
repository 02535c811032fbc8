"""``retailor privacy erase|status|export|lift``: a person's erasure and the receipt of
what it removed, everything about a person as one zip, and accepting an erased person's
events again."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING

import click

from retailor.cli.common import console, data_option, friendly_errors, reach_data, settings_from

if TYPE_CHECKING:
    from retailor.runtime.services import Services


@click.group()
def privacy() -> None:
    """Access and erasure requests: export a person's data, erase them, lift suppression.

    An erasure removes the person from every store so that no byte of their identifiers
    remains, and their identifiers are refused at ingest until the suppression is lifted.
    See docs/privacy.md."""


@privacy.command("erase")
@click.argument("identifier")
@click.option("--no-wait", is_flag=True, help="Print the request's id and return at once.")
@data_option
@friendly_errors
def erase(identifier: str, no_wait: bool, data_dir: Path | None) -> None:
    """Erase the person IDENTIFIER names (with every identifier of their cluster) and
    print the receipt: rows removed per store.

    IDENTIFIER is a customer or visitor id, or email:ADDRESS, phone:NUMBER,
    loyalty_card:NUMBER, payment_token:TOKEN. Through a running server the request is
    queued and this waits until its background role has run it."""
    settings = settings_from(data_dir)
    with reach_data(settings) as target:
        if target.client is not None:
            record = target.client.request_erasure(identifier)
            while not no_wait and record["status"] in ("pending", "running"):
                time.sleep(0.2)
                record = target.client.erasure(record["erasure_id"])
            if record["status"] == "failed":
                raise click.ClickException(
                    f"erasure {record['erasure_id']} failed: {record['error']} (it is retried)"
                )
        else:
            from retailor.privacy.erasure import receipt_json
            from retailor.runtime.command import command_services

            assert target.storage is not None
            with (
                console.status("erasing, then rewriting the stores"),
                command_services(settings, target.storage) as services,
            ):
                record = receipt_json(services.eraser.erase_now(identifier))
                _audit(services, "privacy.erase", identifier)
    click.echo(json.dumps(record, indent=2))


@privacy.command("status")
@click.argument("erasure_id")
@data_option
@friendly_errors
def status(erasure_id: str, data_dir: Path | None) -> None:
    """An erasure's status and receipt (ERASURE_ID as ``erase`` printed it)."""
    settings = settings_from(data_dir)
    with reach_data(settings) as target:
        if target.client is not None:
            record = target.client.erasure(erasure_id)
        else:
            from retailor.privacy.erasure import receipt_json

            assert target.storage is not None
            found = target.storage.privacy.get_erasure(erasure_id)
            if found is None:
                raise click.ClickException(f"no erasure {erasure_id!r}")
            record = receipt_json(found)
    click.echo(json.dumps(record, indent=2))


@privacy.command("export")
@click.argument("identifier")
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="The zip file to write (JSON lines, one file per kind of record).",
)
@data_option
@friendly_errors
def export(identifier: str, output: Path, data_dir: Path | None) -> None:
    """Write everything about the person IDENTIFIER names to a zip: events, profile,
    identities, merges, consent history, decisions and feedback, segments, experiment
    assignments, quarantined payloads.

    IDENTIFIER is a customer or visitor id, or email:ADDRESS, phone:NUMBER,
    loyalty_card:NUMBER, payment_token:TOKEN."""
    settings = settings_from(data_dir)
    with reach_data(settings) as target:
        if target.client is not None:
            archive = target.client.export_subject(identifier)
        else:
            from retailor.privacy.export import export_subject
            from retailor.runtime.command import command_services

            assert target.storage is not None
            with command_services(settings, target.storage) as services:
                s = services.storage
                archive, _ = export_subject(
                    identifier,
                    services.profiles,
                    services.segments,
                    s.events,
                    s.quarantine,
                    s.decisions,
                    s.exposures,
                )
                _audit(services, "privacy.export", identifier)
    output.write_bytes(archive)
    console.print(f"wrote {output} ({len(archive):,} bytes)")


@privacy.command("retention")
@data_option
@friendly_errors
def retention(data_dir: Path | None) -> None:
    """Apply the retention now: remove the events older than their type's retention_days
    (retailor.toml, e.g. a [retention_days] table with page_viewed = 90), as the
    background role does once a day, and print the events removed per type."""
    settings = settings_from(data_dir)
    if not settings.retention_days:
        raise click.ClickException(
            "no retention is set: add a [retention_days] table to retailor.toml, "
            "e.g. page_viewed = 90"
        )
    with reach_data(settings) as target:
        if target.client is not None:
            removed = target.client.apply_retention()
        else:
            from retailor.runtime.command import command_services

            assert target.storage is not None
            with command_services(settings, target.storage) as services:
                removed = {"removed": services.retention.apply()}
                _audit(services, "privacy.retention", None)
    click.echo(json.dumps(removed, indent=2))


@privacy.command("lift")
@click.argument("identifier")
@data_option
@friendly_errors
def lift(identifier: str, data_dir: Path | None) -> None:
    """Accept the events of IDENTIFIER again (an erased person's identifiers are refused
    at ingest until this)."""
    settings = settings_from(data_dir)
    with reach_data(settings) as target:
        if target.client is not None:
            target.client.lift_suppression(identifier)
        else:
            from retailor.privacy.suppression import Suppression
            from retailor.runtime.command import command_services

            assert target.storage is not None
            with command_services(settings, target.storage) as services:
                hash_ = Suppression(services.storage.privacy, services.profiles.salt).hash_of(
                    identifier
                )
                lifted = services.storage.privacy.lift(hash_)
                _audit(services, "privacy.lift", identifier, 200 if lifted else 404)
                if not lifted:
                    raise click.ClickException("this identifier is not suppressed")
    console.print(f"{identifier}: its events are accepted again")


def _audit(services: Services, action: str, target: str | None, status: int = 200) -> None:
    """Record a command's own action in the audit log (through a server, the server
    records the calls it answers)."""
    from retailor.cli.audit import CLI_KEY_ID
    from retailor.privacy.audit import audit_entry

    entry = audit_entry(
        services.profiles.salt, key_id=CLI_KEY_ID, action=action, target=target, status=status
    )
    services.storage.audit.append([entry])
