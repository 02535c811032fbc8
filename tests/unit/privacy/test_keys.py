"""Creating, rotating and describing keys, and noting their use."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from retailor.domain.access import RateLimit, RateLimitError, Scope
from retailor.privacy.keys import (
    SECRET_PATTERN,
    KeyOptionsError,
    RotationError,
    create_key,
    hash_secret,
    looks_like_secret,
    parse_duration,
    rotate_key,
)
from retailor.privacy.usage import KeyUsage
from retailor.storage.memory.keys import MemoryKeyStore

#: The pattern as docs/security.md gives it to secret scanners.
DOCUMENTED = r"rk_(ingest|serve|view|admin)_[A-Za-z0-9_-]{43}"


@pytest.mark.parametrize("scope", list(Scope))
def test_every_created_key_matches_the_scanner_pattern(scope: Scope) -> None:
    store = MemoryKeyStore()
    for _ in range(200):
        _, secret = create_key(store, scope)
        assert re.fullmatch(DOCUMENTED, secret), secret
        assert re.fullmatch(SECRET_PATTERN, secret) and looks_like_secret(secret)
        assert secret.startswith(f"rk_{scope.value}_")
    # found inside other text, as a scanner finds it
    assert re.search(DOCUMENTED, f'API_KEY="{secret}"\n')
    assert not looks_like_secret(secret[:-1])


def test_the_documented_pattern_is_the_codes() -> None:
    docs = Path(__file__).resolve().parents[3] / "docs" / "security.md"
    assert f"`{DOCUMENTED}`" in docs.read_text()


def test_origins_only_on_ingest_keys_and_only_origins() -> None:
    store = MemoryKeyStore()
    key, _ = create_key(
        store, Scope.INGEST, allowed_origins=["https://Shop.example", "https://shop.example"]
    )
    assert key.allowed_origins == ("https://shop.example",)
    with pytest.raises(KeyOptionsError, match="only ingest keys"):
        create_key(store, Scope.SERVE, allowed_origins=["https://shop.example"])
    for bad in ("https://shop.example/", "shop.example", "*", "https://shop.example/path", "null"):
        with pytest.raises(KeyOptionsError, match="scheme://host"):
            create_key(store, Scope.INGEST, allowed_origins=[bad])


def test_rotation_copies_the_settings_and_ends_the_old_key_after_the_overlap() -> None:
    store = MemoryKeyStore()
    then = datetime(2026, 1, 1, tzinfo=UTC)
    old, old_secret = create_key(
        store, Scope.INGEST, "web", expires_at=then + timedelta(days=90),
        allowed_origins=["https://shop.example"], rate_limit=RateLimit(per_second=5, burst=10),
        now=then,
    )  # fmt: skip
    now = then + timedelta(days=80)
    new, secret, ended = rotate_key(store, old.key_id, timedelta(hours=24), now=now)
    assert secret != old_secret and store.find(hash_secret(secret)) == new
    assert (new.scope, new.name, new.allowed_origins, new.rate_limit) == (
        old.scope, old.name, old.allowed_origins, old.rate_limit,
    )  # fmt: skip
    assert new.rotated_from == old.key_id
    assert new.expires_at == now + timedelta(days=90)  # the same lifetime, from now
    assert ended.expires_at == now + timedelta(hours=24)
    assert store.find(hash_secret(old_secret)) == ended
    # an overlap past the old key's own end leaves its end
    _, _, again = rotate_key(store, old.key_id, timedelta(days=30), now=now)
    assert again.expires_at == now + timedelta(hours=24)


def test_rotation_refuses_unknown_and_revoked_keys_and_takes_expired_ones() -> None:
    store = MemoryKeyStore()
    with pytest.raises(RotationError, match="no key"):
        rotate_key(store, "key_nope", timedelta(0))
    revoked, _ = create_key(store, Scope.SERVE)
    store.revoke(revoked.key_id)
    with pytest.raises(RotationError, match="revoked"):
        rotate_key(store, revoked.key_id, timedelta(0))
    past = datetime(2020, 1, 1, tzinfo=UTC)
    expired, _ = create_key(store, Scope.SERVE, expires_at=past, now=past - timedelta(days=1))
    new, _, old = rotate_key(store, expired.key_id, timedelta(hours=1))
    assert old.expires_at == past and new.expires_at is not None and new.usable(datetime.now(UTC))


def test_durations_and_rate_limits_read_as_written() -> None:
    assert parse_duration("90d") == timedelta(days=90)
    assert parse_duration("24h") == timedelta(hours=24)
    assert parse_duration("2s") == timedelta(seconds=2)
    with pytest.raises(ValueError, match="90d"):
        parse_duration("ninety days")
    assert RateLimit.parse("5/s burst 5") == RateLimit(per_second=5, burst=5)
    assert RateLimit.parse("6000/min") == RateLimit(per_second=100, burst=100)
    assert RateLimit.parse("1/h") == RateLimit(per_second=1 / 3600, burst=1)
    assert RateLimit.parse(RateLimit.parse("100/s burst 300").describe()).burst == 300
    for bad in ("", "100", "0/s", "100/day", "-1/s", "5/s burst 0"):
        with pytest.raises(RateLimitError):
            RateLimit.parse(bad)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_keys_use_is_written_at_most_once_a_minute() -> None:
    store = MemoryKeyStore()
    key, _ = create_key(store, Scope.INGEST)
    other, _ = create_key(store, Scope.SERVE)
    clock = Clock()
    usage = KeyUsage(store, every_seconds=60, clock=clock)
    assert usage.seen(key.key_id)  # the first use: a write is due
    usage.flush()
    first = store.all()[0].last_used_at
    assert first is not None
    for _ in range(100):
        clock.now += 0.5
        assert not usage.seen(key.key_id)  # within the minute: nothing to write
    assert usage.seen(other.key_id)  # another key has its own minute
    usage.flush()
    assert store.all()[0].last_used_at == first
    clock.now += 11
    assert usage.seen(key.key_id)
    usage.flush()
    later = store.all()[0].last_used_at
    assert later is not None and later > first
