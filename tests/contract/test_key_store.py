"""The KeyStore contract: in memory, and where keys are shared between processes (the key
file of the embedded default, and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import msgspec
import pytest

from retailor.domain.access import ApiKey, RateLimit, Scope
from retailor.privacy.keys import create_key, hash_secret
from retailor.storage.base import KeyStore
from retailor.storage.factory import open_storage
from retailor.storage.files.keys import FileKeyStore
from retailor.storage.memory.keys import MemoryKeyStore

#: Opens one more view of the same keys, as another process would.
OpenKeys = Callable[[], KeyStore]


@pytest.fixture(params=["memory", "files", "postgres"])
def open_keys(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[OpenKeys]:
    if request.param == "memory":
        only = MemoryKeyStore()
        yield lambda: only
        return
    if request.param == "files":
        yield lambda: FileKeyStore(tmp_path / "keys.json")
        return
    dsn = request.getfixturevalue("postgres_dsn")
    opened = []

    def open_view() -> KeyStore:
        storage = open_storage(dsn, tmp_path)
        opened.append(storage)
        return storage.keys

    yield open_view
    for storage in opened:
        storage.close()


def test_a_key_added_elsewhere_works_at_once(open_keys: OpenKeys) -> None:
    server, cli = open_keys(), open_keys()
    _, before = create_key(cli, Scope.SERVE)
    assert server.find(hash_secret(before)) is not None
    key, secret = create_key(cli, Scope.INGEST, "web")
    found = server.find(hash_secret(secret))
    assert found is not None and found.key_id == key.key_id and found.name == "web"


def test_a_revocation_elsewhere_reaches_a_server_that_rechecks(open_keys: OpenKeys) -> None:
    server, cli = open_keys(), open_keys()
    server.recheck_seconds = 0.0  # type: ignore[attr-defined]
    key, secret = create_key(cli, Scope.ADMIN)
    found = server.find(hash_secret(secret))
    assert found is not None and not found.revoked
    assert cli.revoke(key.key_id)
    again = server.find(hash_secret(secret))
    assert again is not None and again.revoked


def test_keys_are_listed_oldest_first(open_keys: OpenKeys) -> None:
    keys = open_keys()
    now = datetime(2026, 5, 1, tzinfo=UTC)
    for n, age in enumerate((1, 3, 2)):
        keys.add(ApiKey(key_id=f"k{n}", scope=Scope.SERVE, secret_hash=f"h{n}",
                        created_at=now - timedelta(days=age)))  # fmt: skip
    assert [k.key_id for k in open_keys().all()] == ["k1", "k2", "k0"]
    assert open_keys().find("h2") == keys.find("h2")


def test_what_a_store_tells_at_once_is_what_find_tells(open_keys: OpenKeys) -> None:
    server, cli = open_keys(), open_keys()
    key, secret = create_key(cli, Scope.SERVE)
    for secret_hash in (hash_secret(secret), hash_secret("not a key")):
        answered, found = server.find_at_once(secret_hash)
        if answered:
            assert found == server.find(secret_hash)
    # a key just found is told at once
    found = server.find(hash_secret(secret))
    assert server.find_at_once(hash_secret(secret)) == (True, found)
    assert found is not None and found.key_id == key.key_id


def _rechecking(keys: KeyStore) -> KeyStore:
    keys.recheck_seconds = 0.0  # type: ignore[attr-defined]
    return keys


def test_every_field_of_a_key_is_kept(open_keys: OpenKeys) -> None:
    keys = open_keys()
    at = datetime(2026, 5, 1, 12, tzinfo=UTC)
    key = ApiKey(
        key_id="k-full", scope=Scope.INGEST, secret_hash="h-full", created_at=at, name="web",
        expires_at=at + timedelta(days=90), rotated_from="k-old",
        last_used_at=at + timedelta(minutes=5),
        allowed_origins=("https://shop.example", "http://localhost:3000"),
        rate_limit=RateLimit(per_second=2.5, burst=7),
    )  # fmt: skip
    keys.add(key)
    assert open_keys().find("h-full") == key
    assert [k for k in open_keys().all() if k.key_id == "k-full"] == [key]


def test_expire_sets_the_time_unless_the_key_expires_sooner(open_keys: OpenKeys) -> None:
    server, cli = _rechecking(open_keys()), open_keys()
    key, secret = create_key(cli, Scope.SERVE)
    assert server.find(hash_secret(secret)) is not None  # cached before the change
    soon = datetime(2030, 1, 1, tzinfo=UTC)
    assert cli.expire(key.key_id, soon)
    found = server.find(hash_secret(secret))
    assert found is not None and found.expires_at == soon
    assert cli.expire(key.key_id, soon + timedelta(days=1))  # later: the sooner time stays
    assert cli.expire(key.key_id, soon - timedelta(days=1))
    found = server.find(hash_secret(secret))
    assert found is not None and found.expires_at == soon - timedelta(days=1)
    assert msgspec.structs.replace(found, expires_at=None) == key
    assert not cli.expire("no-such-key", soon)


def test_touch_keeps_the_latest_use_of_each_key(open_keys: OpenKeys) -> None:
    keys = open_keys()
    one, secret_one = create_key(keys, Scope.INGEST)
    two, secret_two = create_key(keys, Scope.SERVE)
    at = datetime(2026, 5, 1, 12, tzinfo=UTC)
    keys.touch({one.key_id: at, "no-such-key": at})
    keys.touch({one.key_id: at - timedelta(minutes=1), two.key_id: at + timedelta(seconds=1)})
    keys.touch({})
    view = _rechecking(open_keys())
    found_one, found_two = view.find(hash_secret(secret_one)), view.find(hash_secret(secret_two))
    assert found_one is not None and found_one.last_used_at == at
    assert found_two is not None and found_two.last_used_at == at + timedelta(seconds=1)
    assert msgspec.structs.replace(found_one, last_used_at=None) == one
