"""Typed settings, read from ``RETAILOR_*`` environment variables and an optional TOML file.

Precedence, lowest first: defaults, ``<data dir>/retailor.toml``, a file given with
``--config`` (or ``RETAILOR_CONFIG``), environment variables, command-line options.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Annotated, Any

import msgspec

from retailor.domain.access import RateLimit, RateLimitError, Scope
from retailor.domain.events import EventType

#: A length of time that must be positive.
Seconds = Annotated[float, msgspec.Meta(gt=0)]

#: Where everything is kept unless told otherwise.
DEFAULT_DATA_DIR = Path("data")


class SettingsError(ValueError):
    """A settings file or variable is invalid; the message says which and why."""


class Settings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Everything a Retailor process can be told."""

    data_dir: Path = DEFAULT_DATA_DIR
    storage: str = ""
    state: str = ""
    host: str = "127.0.0.1"
    port: int = 8000
    max_batch_events: int = 10_000
    max_body_bytes: int = 5 * 1024 * 1024
    header_timeout_seconds: Seconds = 10.0
    body_timeout_seconds: Seconds = 60.0
    body_stall_timeout_seconds: Seconds = 10.0
    max_future_seconds: int = 24 * 3600
    timeline_max: int = 1_000
    log_level: str = "info"
    identity_salt: str = ""
    max_customers_per_device: int = 3
    profiles_in_ingest: bool = True
    retrain_minutes: float = 60.0
    models_refresh_seconds: float = 1.0
    consent_required: bool = False
    decision_timeout_ms: float = 50.0
    offer_policy: str = "vowpal"
    offer_reward: str = "redemption"
    reward_window_seconds: float = 3600.0
    reward_scale: float = 100.0
    policy_seed: int = 0
    feed_hold_seconds: Seconds = 60.0
    snapshot_minutes: Seconds = 5.0
    #: how far behind now the report facts fold decisions (a decision reaches the log a
    #: moment after it is made)
    report_settle_seconds: Annotated[float, msgspec.Meta(ge=0)] = 10.0
    #: how often the background role looks at every segment's size (a sample is kept a
    #: day, and whenever the size changed)
    segment_size_seconds: Seconds = 60.0
    #: days each event type is kept (``[retention_days]`` in retailor.toml, e.g.
    #: ``page_viewed = 90``); a type not named is kept for ever. Applied once a day by the
    #: background role.
    retention_days: dict[str, Annotated[float, msgspec.Meta(gt=0)]] = msgspec.field(
        default_factory=dict
    )
    #: the rate limit of keys of each scope that have none of their own (``100/s``,
    #: ``6000/min``, ``100/s burst 300``; empty: none)
    rate_limit_ingest: str = ""
    rate_limit_serve: str = ""
    rate_limit_view: str = ""
    rate_limit_admin: str = ""

    def __post_init__(self) -> None:
        try:
            self.rate_limits()
        except RateLimitError as exc:
            raise ValueError(str(exc)) from None
        unknown = sorted(set(self.retention_days) - {t.value for t in EventType})
        if unknown:
            raise ValueError(
                f"retention_days names no event type: {', '.join(unknown)} (the types are "
                f"{', '.join(t.value for t in EventType)})"
            )

    def rate_limits(self) -> dict[Scope, RateLimit]:
        """The default rate limit of each scope that has one."""
        texts = {
            Scope.INGEST: self.rate_limit_ingest,
            Scope.SERVE: self.rate_limit_serve,
            Scope.VIEW: self.rate_limit_view,
            Scope.ADMIN: self.rate_limit_admin,
        }
        return {scope: RateLimit.parse(text) for scope, text in texts.items() if text.strip()}

    @property
    def storage_dsn(self) -> str:
        """The storage DSN: ``duckdb:///<data dir>/retailor.duckdb`` unless set."""
        return self.storage or f"duckdb://{(self.data_dir / 'retailor.duckdb').resolve()}"


_ENV_PREFIX = "RETAILOR_"


def load_settings(
    config_file: Path | None = None,
    overrides: dict[str, Any] | None = None,
    environ: dict[str, str] | None = None,
) -> Settings:
    """Build settings from defaults, files, the environment and ``overrides`` (non-None values)."""
    env = dict(os.environ if environ is None else environ)
    values: dict[str, Any] = {}
    cli = {k: v for k, v in (overrides or {}).items() if v is not None}
    data_dir = (
        cli.get("data_dir")
        or env.get(_ENV_PREFIX + "DATA_DIR")
        or env.get("RETAILOR_DATA")
        or DEFAULT_DATA_DIR  # the default directory has its own file too
    )
    default_file = Path(data_dir) / "retailor.toml"
    if default_file.exists():
        values.update(_read_toml(default_file))
    config = config_file or (
        Path(env[_ENV_PREFIX + "CONFIG"]) if env.get(_ENV_PREFIX + "CONFIG") else None
    )
    if config is not None:
        values.update(_read_toml(config))
    fields = set(Settings.__struct_fields__)
    for key, raw in env.items():
        if key.startswith(_ENV_PREFIX):
            name = key[len(_ENV_PREFIX) :].lower()
            if name == "data":
                name = "data_dir"
            if name in fields:
                values[name] = raw
    values.update(cli)
    if "data_dir" in values:
        if not isinstance(values["data_dir"], str | os.PathLike):
            raise SettingsError(
                f"invalid setting: data_dir must be a path, got {values['data_dir']!r}"
            )
        values["data_dir"] = Path(values["data_dir"])
    try:
        return msgspec.convert(values, Settings, strict=False)
    except msgspec.ValidationError as exc:
        raise SettingsError(f"invalid setting: {exc}") from exc


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except FileNotFoundError as exc:
        raise SettingsError(f"settings file {path} does not exist") from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise SettingsError(f"settings file {path} is not valid TOML: {exc}") from exc
    section = data.get("retailor", data)
    if not isinstance(section, dict):
        raise SettingsError(f"settings file {path}: [retailor] must be a table of settings")
    return section
