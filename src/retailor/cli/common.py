"""What the commands share: the data directory option, settings, and reaching the data —
directly, or through the server that holds it.

Every command imports this module, so it imports nothing heavy: the errors it turns into
messages come from small modules of their own, and the storage adapters (DuckDB, Arrow) or
the HTTP client are imported only when ``reach_data`` opens one or the other.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click
from rich.console import Console

from retailor.api.runfile import RunInfo, read_run_file
from retailor.ingest.bulk.options import ImportInputError
from retailor.problem import RetailorError
from retailor.settings import Settings, SettingsError, load_settings
from retailor.storage.errors import DataDirLockedError, StorageUnavailableError
from retailor.storage.factory import Storage, UnknownBackendError, open_storage
from retailor.storage.permissions import make_private_dir

if TYPE_CHECKING:
    from retailor.client import Client

console = Console(stderr=True)
#: Results; written to a pipe or a file, tables get room instead of a terminal's 80 columns.
out = Console() if sys.stdout.isatty() else Console(width=200)

F = TypeVar("F", bound=Callable[..., Any])

data_option = click.option(
    "--data",
    "data_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Data directory (default: $RETAILOR_DATA_DIR or ./data). Created on first use.",
)
config_option = click.option(
    "--config",
    "config_file",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    default=None,
    help="A TOML settings file (see docs/operations.md).",
)


def settings_from(
    data_dir: Path | None, config_file: Path | None = None, **overrides: Any
) -> Settings:
    return load_settings(config_file, {"data_dir": data_dir, **overrides})


def friendly_errors(func: F) -> F:
    """Turn the errors a user can fix into a one-line message and exit code 2."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except (
            ImportInputError,
            SettingsError,
            DataDirLockedError,
            UnknownBackendError,
            StorageUnavailableError,
        ) as exc:
            console.print(f"[bold red]error:[/] {exc}", soft_wrap=True)
            sys.exit(2)
        except RetailorError as exc:
            console.print(f"[bold red]error from the server:[/] {exc}", soft_wrap=True)
            sys.exit(1)
        except OSError as exc:
            if exc.filename is None:
                raise  # not about a path the user gave: keep the traceback for a bug report
            console.print(
                f"[bold red]error:[/] cannot use {exc.filename}: {exc.strerror or exc}. "
                "Check the path (--data) and its permissions.",
                soft_wrap=True,
            )
            sys.exit(2)

    return wrapper  # type: ignore[return-value]


@dataclass
class Target:
    """The data, reached either directly (``storage``) or through a running server (``client``)."""

    storage: Storage | None = None
    client: Client | None = None
    server: RunInfo | None = None


@contextmanager
def reach_data(settings: Settings) -> Iterator[Target]:
    """Open the data directory, or go through the server that is running on it."""
    server = read_run_file(settings.data_dir)
    if server is not None:
        from retailor.client import Client

        client = Client(server.url, server.token)
        try:
            client.health()
        except RetailorError:
            client.close()
            raise DataDirLockedError(settings.data_dir, server.pid) from None
        console.print(
            f"[dim]going through the server running on this data directory ({server.url})[/]"
        )
        try:
            yield Target(client=client, server=server)
        finally:
            client.close()
        return
    make_private_dir(settings.data_dir)
    storage = open_storage(settings.storage_dsn, settings.data_dir)
    try:
        yield Target(storage=storage)
    finally:
        storage.close()


#: The largest definition file a command reads (a definition needs a few kilobytes).
MAX_DEFINITION_FILE_BYTES = 1 << 20


def read_definition_file(
    file: Path, what: str, max_bytes: int = MAX_DEFINITION_FILE_BYTES
) -> dict[str, Any]:
    """The mapping a JSON or YAML definition ``file`` of at most ``max_bytes`` holds
    (``what`` names the kind, for the messages); a ``ClickException`` saying what is
    wrong otherwise."""
    import msgspec
    import yaml

    size = file.stat().st_size
    if size > max_bytes:
        raise click.ClickException(
            f"{file} has {size:,} bytes; a definition has at most {max_bytes:,}"
        )
    try:
        text = file.read_text(encoding="utf-8")
        definition = (
            yaml.safe_load(text)
            if file.suffix.lower() in (".yaml", ".yml")
            else msgspec.json.decode(text)
        )
    except (yaml.YAMLError, msgspec.DecodeError, UnicodeDecodeError) as exc:
        raise click.ClickException(f"{file} does not parse: {exc}") from None
    except RecursionError:
        raise click.ClickException(f"{file} nests lists and mappings too deeply") from None
    if not isinstance(definition, dict):
        raise click.ClickException(f"{file} must hold one mapping (a {what} definition)")
    return definition
