"""``retailor keys create|list|rotate|revoke``; creating, rotating and revoking are
recorded in the audit log (``keys.create``, ``keys.rotate``, ``keys.revoke``, with the key id
hashed)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import click
import msgspec
from rich.table import Table

from retailor.cli.audit import record_action
from retailor.cli.common import data_option, friendly_errors, out, settings_from
from retailor.domain.access import RateLimit, RateLimitError, Scope
from retailor.privacy.keys import (
    KeyOptionsError,
    RotationError,
    create_key,
    hash_secret,
    parse_duration,
    rotate_key,
)
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


def _duration(text: str, option: str) -> timedelta:
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint=option) from None


def _expiry(expires_in: str | None, expires_at: str | None, now: datetime) -> datetime | None:
    """When a new key expires, from ``--expires-in`` or ``--expires-at`` (at most one)."""
    if expires_in and expires_at:
        raise click.UsageError("give --expires-in or --expires-at, not both")
    if expires_in:
        return now + _duration(expires_in, "--expires-in")
    if not expires_at:
        return None
    try:
        at = datetime.fromisoformat(expires_at)
    except ValueError:
        raise click.BadParameter(
            f"{expires_at!r} is not an ISO 8601 time (e.g. 2026-12-31T23:59:00Z)",
            param_hint="--expires-at",
        ) from None
    at = at if at.tzinfo is not None else at.replace(tzinfo=UTC)  # UTC unless told
    if at <= now:
        raise click.BadParameter(f"{expires_at} is not in the future", param_hint="--expires-at")
    return at


def _rate_limit(text: str | None, burst: int | None) -> RateLimit | None:
    if text is None:
        if burst is not None:
            raise click.UsageError("--burst needs --rate-limit")
        return None
    try:
        limit = RateLimit.parse(text)
    except RateLimitError as exc:
        raise click.BadParameter(str(exc), param_hint="--rate-limit") from None
    if burst is not None:
        limit = RateLimit(per_second=limit.per_second, burst=burst)
    return limit


@click.group()
def keys() -> None:
    """API keys. An ingest key may only send events (safe in a web page of the origins it
    allows: --origin); a serve key asks for decisions, recommendations and re-ranking and
    sends feedback (for your web and app back ends); a view key is read-only, for people
    (the dashboard at /dashboard, reports, experiment results); an admin key may do
    everything. Keys take effect in a running server within a second."""


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
@click.option("--expires-in", help="The key stops working after this long: 90d, 24h, 30m.")
@click.option("--expires-at", help="The key stops working at this ISO 8601 time (UTC unless told).")
@click.option(
    "--origin",
    "origins",
    multiple=True,
    help="A web origin (https://shop.example) whose pages may send events with this ingest "
    "key from a browser; repeat for more. Without one the key is for servers only.",
)
@click.option(
    "--rate-limit",
    help="Requests the key may make: 100/s, 6000/min, '100/s burst 300' (default: the "
    "server's rate_limit_<scope> setting, or none).",
)
@click.option(
    "--burst", type=click.IntRange(min=1), help="Requests allowed at once (with --rate-limit)."
)
@friendly_errors
def create(
    data_dir: Path | None,
    scope: str,
    name: str,
    expires_in: str | None,
    expires_at: str | None,
    origins: tuple[str, ...],
    rate_limit: str | None,
    burst: int | None,
) -> None:
    """Create a key and print it. It is shown only this once: store it safely."""
    now = datetime.now(UTC)
    expiry = _expiry(expires_in, expires_at, now)
    limit = _rate_limit(rate_limit, burst)
    with _store(data_dir) as store:
        try:
            key, secret = create_key(
                store, Scope(scope), name, expires_at=expiry, allowed_origins=origins,
                rate_limit=limit, now=now,
            )  # fmt: skip
        except KeyOptionsError as exc:
            raise click.BadParameter(str(exc), param_hint="--origin") from None
    click.echo(secret)
    record_action(settings_from(data_dir), "keys.create", key.key_id)


def _when(at: datetime | None) -> str:
    return at.isoformat(timespec="seconds") if at is not None else ""


@keys.command("list")
@data_option
@click.option("--json", "as_json", is_flag=True, help="One JSON object per key.")
@friendly_errors
def list_keys(data_dir: Path | None, as_json: bool) -> None:
    """List keys: their ids, scopes, when they were created, expire and were last used
    (about once a minute), their origins and rate limits. Secrets are never stored."""
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
    now = datetime.now(UTC)
    table = Table(
        "key id", "scope", "name", "created", "expires", "last used", "origins", "rate limit",
        "state",
    )  # fmt: skip
    for key in found:
        state = "revoked" if key.revoked else "expired" if key.expired(now) else ""
        if not state and key.rotated_from:
            state = f"replaces {key.rotated_from}"
        table.add_row(
            key.key_id,
            key.scope.value,
            key.name,
            _when(key.created_at),
            _when(key.expires_at),
            _when(key.last_used_at),
            " ".join(key.allowed_origins),
            key.rate_limit.describe() if key.rate_limit else "",
            state,
        )
    out.print(table)


def _key_id(store: KeyStore, key_id: str) -> str:
    """The id of the key named by its id, or by its secret itself."""
    whole = store.find(hash_secret(key_id))  # the secret was given instead of its id
    return whole.key_id if whole is not None else key_id


@keys.command("rotate")
@data_option
@click.argument("key_id")
@click.option(
    "--overlap",
    default="24h",
    show_default=True,
    help="How long the old key keeps working beside the new one: 24h, 30m, 0s.",
)
@friendly_errors
def rotate(data_dir: Path | None, key_id: str, overlap: str) -> None:
    """Replace the key KEY_ID with a new key of the same scope, name, origins and rate
    limit (and lifetime, when it has one) and print the new key, once. The old key keeps
    working for the --overlap, so you can switch without an outage."""
    length = _duration(overlap, "--overlap")
    with _store(data_dir) as store:
        try:
            new, secret, old = rotate_key(store, _key_id(store, key_id), length)
        except RotationError as exc:
            raise click.ClickException(str(exc)) from None
    record_action(settings_from(data_dir), "keys.rotate", old.key_id)
    click.echo(secret)
    click.echo(
        f"{new.key_id} replaces {old.key_id}, which stops working at {_when(old.expires_at)}",
        err=True,
    )


@keys.command("revoke")
@data_option
@click.argument("key_id")
@friendly_errors
def revoke(data_dir: Path | None, key_id: str) -> None:
    """Revoke the key with KEY_ID (as shown by ``keys list``), or the key itself."""
    with _store(data_dir) as store:
        key_id = _key_id(store, key_id)
        revoked = store.revoke(key_id)
    record_action(settings_from(data_dir), "keys.revoke", key_id, 200 if revoked else 404)
    if not revoked:
        raise click.ClickException(f"no key with id {key_id!r}; see: retailor keys list")
    click.echo(f"revoked {key_id}")
