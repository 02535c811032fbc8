"""``retailor audit``: the audit log, newest first; and ``record_action``, how the other
commands (``keys create|revoke``) put their actions in it — through the server that
holds the data directory (``POST /v1/audit`` with its control token), else straight into
the storage's ``AuditLog``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
import msgspec
from rich.table import Table

from retailor.cli.common import data_option, friendly_errors, out, reach_data, settings_from
from retailor.settings import Settings

#: The key id the command line's entries carry (as ``POST /v1/audit`` records them).
CLI_KEY_ID = "cli"


def record_action(settings: Settings, action: str, target: str | None, status: int = 200) -> None:
    """Record a command's ``action`` about ``target`` (hashed with the installation's
    salt; 200 done, 404 no such target) in the audit log of ``settings``' data."""
    with reach_data(settings) as reached:
        if reached.client is not None:
            reached.client.record_action(action, target, status)
            return
        from retailor.privacy.audit import audit_entry
        from retailor.runtime.services import identity_salt

        assert reached.storage is not None
        salt = identity_salt(settings, reached.storage)
        reached.storage.audit.append(
            [audit_entry(salt, key_id=CLI_KEY_ID, action=action, target=target, status=status)]
        )


@click.command()
@data_option
@click.option("--limit", default=100, show_default=True, type=click.IntRange(1, 10_000),
              help="How many entries.")  # fmt: skip
@click.option("--since", default=None, help="Only entries at or after a date or ISO 8601 time.")
@click.option("--action", default=None,
              help="Only actions that start with this, e.g. 'PUT /v1/segments' or 'keys.'.")  # fmt: skip
@click.option("--key-id", default=None, help="Only the actions of this key (control, cli, key_…).")
@click.option("--target", default=None,
              help="Only the actions about this id (hashed as the entries are).")  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="One JSON object per entry.")
@friendly_errors
def audit(
    data_dir: Path | None,
    limit: int,
    since: str | None,
    action: str | None,
    key_id: str | None,
    target: str | None,
    as_json: bool,
) -> None:
    """The audit log: who did which admin or privacy action, newest first. Every change
    made with an admin key, every call of the privacy and audit endpoints, every read of
    a customer's data, and the command line's key changes; targets are shown as salted
    hashes only (--target ID finds the entries about an id)."""
    from retailor.analytics.reports import ReportError, parse_when

    settings = settings_from(data_dir)
    if since is not None:
        try:
            parse_when(since, "--since", end=False)
        except ReportError as exc:
            raise click.BadParameter(str(exc), param_hint="--since") from None
    params: dict[str, Any] = {"limit": limit, "since": since, "action": action,
                              "key_id": key_id, "target": target}  # fmt: skip
    with reach_data(settings) as reached:
        if reached.client is not None:
            entries = reached.client.audit(**params)
        else:
            entries = _read(settings, reached.storage, params)
    if as_json:
        for entry in entries:
            click.echo(msgspec.json.encode(entry))
        return
    table = Table("at", "key id", "action", "target hash", "status")
    for e in entries:
        table.add_row(str(e["at"]), e["key_id"] or "", e["action"], e["target_hash"] or "",
                      str(e["status"]))  # fmt: skip
    out.print(table)


def _read(settings: Settings, storage: Any, params: dict[str, Any]) -> list[dict[str, Any]]:
    from retailor.analytics.reports import parse_when
    from retailor.privacy.audit import target_hash
    from retailor.runtime.services import identity_salt

    found = storage.audit.list(
        params["limit"],
        since=None
        if params["since"] is None
        else parse_when(params["since"], "--since", end=False),
        action=params["action"],
        key_id=params["key_id"],
        target_hash=None
        if params["target"] is None
        else target_hash(params["target"], identity_salt(settings, storage)),
    )
    return [{**msgspec.to_builtins(e), "at": e.at.isoformat()} for e in found]
