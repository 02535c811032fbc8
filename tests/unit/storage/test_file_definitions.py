"""Definitions as files: a data directory written by earlier releases (no journal) keeps
working, writes keep its layout, and a journal line cut short by a crash loses nothing
written after it."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

import msgspec

from retailor.storage.files.definitions import JOURNAL, FileDefinitionStore

PLACEMENT = {"sources": [{"source": "popular"}], "placement_id": "home"}
OFFER = {"kind": "percent_off", "value": 10}
SEGMENT = {"all": [{"trait": "order_count", "op": "gte", "value": 3}]}
WRITTEN = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)


def write_as_before(data: Path) -> None:
    """The files the definitions of earlier releases left in a data directory."""
    for folder in ("placements", "offers", "segments"):
        (data / folder).mkdir(parents=True)
    (data / "placements" / "home.json").write_bytes(msgspec.json.encode(PLACEMENT))
    (data / "offers" / "ten.json").write_bytes(msgspec.json.encode(OFFER))
    segment = {"segment_id": "loyal", "definition": SEGMENT, "updated_at": WRITTEN.isoformat()}
    (data / "segments" / "loyal.json").write_text(json.dumps(segment))
    (data / "segments" / "notes.txt").write_text("not a definition")
    (data / "offers" / "ten.tmp").write_text("{half a wr")  # a write cut short


def test_a_data_directory_of_an_earlier_release_is_read_as_it_is(tmp_path: Path) -> None:
    write_as_before(tmp_path)
    store = FileDefinitionStore(tmp_path)
    assert store.revision() == 0
    [home] = store.all("placement")
    mtime = os.stat(tmp_path / "placements" / "home.json").st_mtime_ns
    assert (home.document, home.revision) == (PLACEMENT, 0)
    assert abs(home.updated_at.timestamp() * 1e9 - mtime) < 1e4
    assert [(s.id, s.document) for s in store.all("offer")] == [("ten", OFFER)]
    loyal = store.get("segment", "loyal")
    assert loyal is not None and (loyal.document, loyal.updated_at) == (SEGMENT, WRITTEN)
    everything = store.changed_since(0)
    assert sorted((s.kind, s.id) for s in everything.changed) == [
        ("offer", "ten"),
        ("placement", "home"),
        ("segment", "loyal"),
    ]
    assert everything.revision == 0


def test_writes_keep_the_layout_earlier_releases_read(tmp_path: Path) -> None:
    store = FileDefinitionStore(tmp_path)
    placement = store.put("placement", "home", PLACEMENT)
    segment = store.put("segment", "loyal", SEGMENT)
    assert json.loads((tmp_path / "placements" / "home.json").read_text()) == PLACEMENT
    kept = json.loads((tmp_path / "segments" / "loyal.json").read_text())
    assert kept["segment_id"] == "loyal" and kept["definition"] == SEGMENT
    assert datetime.fromisoformat(kept["updated_at"]) == segment.updated_at
    assert store.get("placement", "home") == placement  # the file's time is the write's
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "definitions.journal",
        "definitions.lock",
        "placements",
        "segments",
    ]
    assert os.stat(tmp_path / "placements" / "home.json").st_mode & 0o777 == 0o600
    assert os.stat(tmp_path / JOURNAL).st_mode & 0o777 == 0o600


def test_a_journal_line_cut_short_by_a_crash_is_skipped(tmp_path: Path) -> None:
    writer = FileDefinitionStore(tmp_path)
    first = writer.put("offer", "ten", OFFER)
    with open(tmp_path / JOURNAL, "ab") as journal:
        journal.write(b'{"kind":"offer","id":"tw')  # the process died here
    reader = FileDefinitionStore(tmp_path)
    assert reader.revision() == first.revision
    assert [s.id for s in reader.changed_since(0).changed] == ["ten"]
    second = FileDefinitionStore(tmp_path).put("offer", "twenty", {**OFFER, "value": 20})
    seen = reader.changed_since(first.revision)
    assert seen.changed == [second] and seen.revision == second.revision == reader.revision()
