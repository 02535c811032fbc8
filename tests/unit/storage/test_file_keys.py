from __future__ import annotations

from pathlib import Path

from retailor.domain.access import Scope
from retailor.privacy.keys import create_key, hash_secret
from retailor.storage.files.keys import FileKeyStore


def test_a_key_written_by_another_process_is_seen_and_revocation_follows(tmp_path: Path) -> None:
    server_view = FileKeyStore(tmp_path / "keys.json")
    server_view.recheck_seconds = 0.0
    assert server_view.all() == []
    cli_view = FileKeyStore(tmp_path / "keys.json")
    key, secret = create_key(cli_view, Scope.INGEST)
    found = server_view.find(hash_secret(secret))
    assert found is not None and not found.revoked
    assert cli_view.revoke(key.key_id)
    again = server_view.find(hash_secret(secret))
    assert again is not None and again.revoked
    assert (tmp_path / "keys.json").stat().st_mode & 0o777 == 0o600
    assert secret not in (tmp_path / "keys.json").read_text()


def test_a_key_file_written_before_the_key_limits_existed_reads(tmp_path: Path) -> None:
    old = (
        '[{"key_id":"key_ingest_0a1b2c3d","scope":"ingest","secret_hash":"abc",'
        '"created_at":"2025-01-02T03:04:05Z","name":"web","revoked":false}]'
    )
    (tmp_path / "keys.json").write_text(old)
    keys = FileKeyStore(tmp_path / "keys.json")
    found = keys.find("abc")
    assert found is not None and found.key_id == "key_ingest_0a1b2c3d" and found.name == "web"
    assert found.expires_at is None and found.last_used_at is None
    assert found.allowed_origins == () and found.rate_limit is None
    assert found.rotated_from is None
    assert keys.revoke("key_ingest_0a1b2c3d")  # and writes it back in the new form
    again = FileKeyStore(tmp_path / "keys.json").find("abc")
    assert again is not None and again.revoked and again.allowed_origins == ()
