"""``retailor keys create|list|revoke``; creating and revoking are recorded in the audit
log (``keys.create``, ``keys.revoke``, with the key id hashed)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click
import msgspec
from rich.table import Table

from retailor.cli.audit import record_action
from retailor.cli.common import data_option, friendly_errors, out, settings_from
from retailor.domain.access import Scope
from retailor.privacy.keys import create_key, hash_secret
from retailor.storage.base import KeyStore
from retailor.storage.factory import key_store
from retailor.storage.permissions import make_private_dir


@contextmanager
def _store(data_dir: Path | None) -> Iterator[KeyStore]:
    """The keys of the storage the settings name (the data directory's key file, or the
    PostgreSQL database)."""
    settings = settings_from(data_dir)
    make_private_dir(settings.data_dir)
    with key_store(settings.storage_dsn, settings.data_dir) as store:
        yield store


@click.group()
def keys() -> None:
    """API keys. An ingest key may only send events (safe in a web page); a serve key asks
    for decisions, recommendations and re-ranking and sends feedback (for your web and app
    back ends); a view key is read-only, for people (the dashboard at /dashboard, reports,
    experiment results); an admin key may do everything. Keys take effect in a running
    server within a second."""


@keys.command("create")
@data_option
@click.option(
    "--scope",
    type=click.Choice([s.value for s in Scope]),
    required=True,
    help="ingest: send events only; serve: decisions, recommendations, re-ranking and "
    "feedback; view: read-only, the dashboard and reports; admin: everything.",
)
@click.option("--name", default="", help="A label to recognise the key by.")
@friendly_errors
def create(data_dir: Path | None, scope: str, name: str) -> None:
    """Create a key and print it. It is shown only this once: store it safely."""
    with _store(data_dir) as store:
        key, secret = create_key(store, Scope(scope), name)
    click.echo(secret)
    record_action(settings_from(data_dir), "keys.create", key.key_id)


@keys.command("list")
@data_option
@click.option("--json", "as_json", is_flag=True, help="One JSON object per key.")
@friendly_errors
def list_keys(data_dir: Path | None, as_json: bool) -> None:
    """List keys (their ids and scopes; secrets are never stored)."""
    with _store(data_dir) as store:
        found = store.all()
    if as_json:
        for key in found:
            click.echo(
                msgspec.json.encode(
                    {k: v for k, v in msgspec.to_builtins(key).items() if k != "secret_hash"}
                )
            )
        return
    table = Table("key id", "scope", "name", "created", "revoked")
    for key in found:
        table.add_row(
            key.key_id,
            key.scope.value,
            key.name,
            key.created_at.isoformat(timespec="seconds"),
            "yes" if key.revoked else "",
        )
    out.print(table)


@keys.command("revoke")
@data_option
@click.argument("key_id")
@friendly_errors
def revoke(data_dir: Path | None, key_id: str) -> None:
    """Revoke the key with KEY_ID (as shown by ``keys list``), or the key itself."""
    with _store(data_dir) as store:
        whole = store.find(hash_secret(key_id))  # the secret was given instead of its id
        if whole is not None:
            key_id = whole.key_id
        revoked = store.revoke(key_id)
    record_action(settings_from(data_dir), "keys.revoke", key_id, 200 if revoked else 404)
    if not revoked:
        raise click.ClickException(f"no key with id {key_id!r}; see: retailor keys list")
    click.echo(f"revoked {key_id}")
