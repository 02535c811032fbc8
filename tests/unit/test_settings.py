from __future__ import annotations

from pathlib import Path

import pytest

from retailor.settings import SettingsError, load_settings


def test_defaults_file_environment_and_overrides(tmp_path: Path) -> None:
    data = tmp_path / "d"
    data.mkdir()
    (data / "retailor.toml").write_text("port = 9000\nmax_batch_events = 50\n")
    extra = tmp_path / "extra.toml"
    extra.write_text("[retailor]\nhost = '0.0.0.0'\nport = 9100\n")
    env = {"RETAILOR_PORT": "9200", "RETAILOR_DATA_DIR": str(data)}
    s = load_settings(extra, {"max_future_seconds": 60}, environ=env)
    assert (s.data_dir, s.host, s.port, s.max_batch_events, s.max_future_seconds) == (
        data,
        "0.0.0.0",
        9200,
        50,
        60,
    )
    assert s.storage_dsn == f"duckdb://{(data / 'retailor.duckdb').resolve()}"
    assert load_settings(None, {"port": 1}, environ=env).port == 1


def test_bad_settings_say_what_is_wrong(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="port"):
        load_settings(None, None, environ={"RETAILOR_PORT": "eighty"})
    bad = tmp_path / "bad.toml"
    bad.write_text("port = [")
    with pytest.raises(SettingsError, match="not valid TOML"):
        load_settings(bad, None, environ={})
    unknown = tmp_path / "unknown.toml"
    unknown.write_text("prot = 1")
    with pytest.raises(SettingsError, match="prot"):
        load_settings(unknown, None, environ={})


def test_the_default_data_directory_has_its_settings_file_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "retailor.toml").write_text("[retailor]\nport = 8952\n")
    assert load_settings(environ={}).port == 8952
