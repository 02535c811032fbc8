"""The CatalogStore, QuarantineStore and KeyStore contracts, against every adapter."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import msgspec

from retailor.domain.access import Scope
from retailor.domain.catalog import CatalogPatch
from retailor.domain.privacy import Subject
from retailor.domain.quarantine import Rejection
from retailor.privacy.keys import create_key, hash_secret
from retailor.storage.factory import Storage

NOW = datetime(2026, 3, 1, tzinfo=UTC)


def patch(**fields: object) -> CatalogPatch:
    return msgspec.convert(fields, CatalogPatch)


def test_catalog_upsert_keeps_fields_not_given(storage: Storage) -> None:
    result = storage.catalog.upsert(
        [
            patch(
                item_id="i1",
                name="Mug",
                category="Home > Kitchen",
                brand="Acme",
                price=4.5,
                cost=2.0,
                stock=10,
                attributes={"color": "red", "size": "M"},
            )
        ],
        NOW,
    )
    assert (result.created, result.updated) == (1, 0)
    later = NOW + timedelta(days=1)
    result = storage.catalog.upsert(
        [patch(item_id="i1", price=3.99, attributes={"size": None, "new": True})], later
    )
    assert (result.created, result.updated) == (0, 1)
    item = storage.catalog.get("i1")
    assert item is not None
    assert (item.name, item.category, item.brand, item.price, item.cost, item.stock) == (
        "Mug",
        ["Home", "Kitchen"],
        "Acme",
        3.99,
        2.0,
        10,
    )
    assert item.attributes == {"color": "red", "new": True}
    assert item.created_at == NOW and item.updated_at == later


def test_a_nul_in_catalog_text_is_kept_or_replaced(storage: Storage) -> None:
    storage.catalog.upsert(
        [patch(item_id="n1", name="a\x00b", brand="\x00", category="x\x00y",
               attributes={"k": "v\x00"})],
        NOW,
    )  # fmt: skip
    item = storage.catalog.get("n1")
    assert item is not None
    if storage.dsn.startswith("postgres"):
        assert (item.name, item.brand) == ("a\ufffdb", "\ufffd")
    else:
        assert (item.name, item.brand) == ("a\x00b", "\x00")
    assert item.attributes == {"k": "v\x00"}


def test_catalog_reads(storage: Storage) -> None:
    storage.catalog.upsert([patch(item_id=f"i{n}", price=float(n)) for n in range(3)], NOW)
    assert storage.catalog.get("missing") is None
    assert set(storage.catalog.get_many(["i0", "i2", "nope"])) == {"i0", "i2"}
    assert [i.item_id for i in storage.catalog.items()] == ["i0", "i1", "i2"]
    assert storage.catalog.count() == 3


def test_catalog_patches_apply_in_order(storage: Storage) -> None:
    storage.catalog.upsert([patch(item_id="i", stock=1), patch(item_id="i", stock=2)], NOW)
    item = storage.catalog.get("i")
    assert item is not None and item.stock == 2


def test_catalog_revisions_name_what_changed(storage: Storage) -> None:
    catalog = storage.catalog
    assert catalog.revision() == 0
    assert catalog.changed_since(0).items == []
    catalog.upsert([patch(item_id="b", price=1.0), patch(item_id="a", price=2.0)], NOW)
    first = catalog.revision()
    assert first > 0
    changes = catalog.changed_since(0)
    assert changes.revision == first
    assert [(i.item_id, i.price) for i in changes.items] == [("a", 2.0), ("b", 1.0)]
    catalog.upsert([], NOW)  # writes nothing, takes no revision
    assert catalog.revision() == first
    assert catalog.changed_since(first).items == []
    catalog.upsert([patch(item_id="b", price=3.0)], NOW)
    catalog.upsert([patch(item_id="c", name="Cup")], NOW)
    second = catalog.revision()
    assert second > first
    changes = catalog.changed_since(first)
    assert changes.revision == second
    assert [(i.item_id, i.price) for i in changes.items] == [("b", 3.0), ("c", None)]
    assert catalog.changed_since(second).items == []
    assert catalog.changed_since(second).revision == second


def rejection(
    n: int, source: str = "http:/v1/events", payload: str = '{"bad": true}', event_id: str = ""
) -> Rejection:
    return Rejection(
        quarantine_id=f"q{n:04d}",
        received_at=NOW + timedelta(seconds=n),
        source=source,
        reason=f"reason {n}",
        payload=payload,
        event_id=event_id or f"e{n}",
        index=n,
    )


def test_quarantine_finds_and_erases_what_names_a_subject(storage: Storage) -> None:
    ann = Subject(ids=("c1",), texts=("ann@example.com",))
    storage.quarantine.add(
        [
            rejection(1, payload='{"traits": {"email": "ann@example.com"}, "bad": 1}'),
            rejection(2, payload='{"customer_id": "c1", "type": 7}'),
            rejection(3, payload="not json at all, from ann@example.com\x00 and more"),
            rejection(4, payload="{}", event_id="c1"),  # an id sent where the event id goes
            rejection(5, payload='{"customer_id": "c12", "mail": "bob@example.com"}'),
            rejection(6, payload='{"customer_id": "xc1"}'),
        ]
    )
    named = storage.quarantine.naming(ann)
    assert [r.quarantine_id for r in named] == ["q0004", "q0003", "q0002", "q0001"]
    assert named[1].payload == "not json at all, from ann@example.com\x00 and more"
    assert storage.quarantine.naming(Subject()) == []
    assert storage.quarantine.erase(ann) == 4
    assert storage.quarantine.erase(ann) == 0
    assert storage.quarantine.naming(ann) == []
    assert [r.quarantine_id for r in storage.quarantine.list()] == ["q0006", "q0005"]
    assert storage.quarantine.count() == 2


def test_quarantine_keeps_everything_newest_first(storage: Storage) -> None:
    storage.quarantine.add([rejection(n) for n in range(5)] + [rejection(9, "import:x")])
    assert storage.quarantine.count() == 6
    assert storage.quarantine.count(source="import:x") == 1
    newest = storage.quarantine.list(limit=3)
    assert [r.quarantine_id for r in newest] == ["q0009", "q0004", "q0003"]
    assert [r.quarantine_id for r in storage.quarantine.list(limit=2, offset=3)] == [
        "q0002",
        "q0001",
    ]
    assert storage.quarantine.list(source="import:x")[0] == rejection(9, "import:x")


def test_keys_are_found_by_hash_and_revoked(storage: Storage) -> None:
    key, secret = create_key(storage.keys, Scope.INGEST, "web")
    assert secret not in key.secret_hash
    found = storage.keys.find(hash_secret(secret))
    assert found is not None and found.scope is Scope.INGEST and not found.revoked
    assert storage.keys.find(hash_secret(secret + "x")) is None
    assert storage.keys.revoke(key.key_id)
    again = storage.keys.find(hash_secret(secret))
    assert again is not None and again.revoked
    assert not storage.keys.revoke("no-such-key")
    assert [k.key_id for k in storage.keys.all()] == [key.key_id]


def test_quarantine_keeps_a_payload_with_any_character(storage: Storage) -> None:
    payload = '{"event_id": "a\x00b", "note": "tab\there, nul \x00, é, 日本, \U0001f600"}'
    kept = msgspec.structs.replace(rejection(1), payload=payload, event_id="a\x00b")
    storage.quarantine.add([kept])
    [found] = storage.quarantine.list()
    assert found.payload == payload
    assert found.event_id is not None and found.event_id.startswith("a")
    assert storage.quarantine.count() == 1


def test_quarantine_keeps_any_id_source_and_index_the_api_takes(storage: Storage) -> None:
    kept = msgspec.structs.replace(
        rejection(1, source="import:\x00 file"), quarantine_id="q\x001", index=2**63 - 1
    )
    storage.quarantine.add([kept])
    [found] = storage.quarantine.list()
    assert found.index == 2**63 - 1 and found.source.startswith("import:")


def test_quarantine_reads_one_reason_and_tallies_hours(storage: Storage) -> None:
    def at(n: int, minutes: int, reason: str) -> Rejection:
        return msgspec.structs.replace(
            rejection(n), received_at=NOW + timedelta(minutes=minutes), reason=reason
        )

    kept = [at(1, 5, "bad type"), at(2, 50, "bad type"), at(3, 61, "no id"),
            at(4, 62, "bad type"), at(5, 200, "no id"), at(6, -1, "no id")]  # fmt: skip
    storage.quarantine.add(kept)
    assert [r.quarantine_id for r in storage.quarantine.list(reason="bad type")] == [
        "q0004", "q0002", "q0001"]  # fmt: skip
    assert [r.quarantine_id for r in storage.quarantine.list(reason="no id", limit=1)] == ["q0005"]
    assert storage.quarantine.count(reason="bad type") == 3
    assert storage.quarantine.count(reason="bad type", source="elsewhere") == 0
    assert storage.quarantine.list(reason="never") == []
    hour = timedelta(hours=1)
    tally = storage.quarantine.tally(NOW, NOW + 3 * hour)
    assert tally == [(NOW, "bad type", 2), (NOW + hour, "bad type", 1), (NOW + hour, "no id", 1)]
    assert all(h.utcoffset() == timedelta(0) for h, _, _ in tally)
    assert storage.quarantine.tally(NOW + 4 * hour, NOW + 5 * hour) == []
