"""The DefinitionStore contract, against every adapter: memory, the files of a data
directory (the embedded default) and PostgreSQL. Where processes share definitions (files,
PostgreSQL), a write through one view is seen by another's ``changed_since``, another
process's included."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from retailor.domain.ids import InvalidIdError
from retailor.storage.base import DefinitionStore
from retailor.storage.factory import open_storage
from retailor.storage.files.definitions import FileDefinitionStore
from retailor.storage.memory.definitions import MemoryDefinitionStore

#: Opens one more view of the same definitions, as another process would (memory: the
#: same store, since nothing else can see it).
OpenDefinitions = Callable[[], DefinitionStore]
#: Python that opens a view of the same definitions in another process, by backend.
OPENING = {
    "files": "FileDefinitionStore(Path({data!r}))",
    "postgres": "open_storage({dsn!r}, Path({data!r})).definitions",
}

HOME = {"sources": [{"source": "trending", "weight": 1.0}], "k": 8}
TEN_OFF = {"kind": "percent_off", "value": 10}
LOYAL = {"all": [{"trait": "order_count", "op": ">=", "value": 3}], "name": "Loyal"}


@pytest.fixture(params=["memory", "files", "postgres"])
def open_definitions(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[OpenDefinitions]:
    if request.param == "memory":
        store = MemoryDefinitionStore()
        yield lambda: store
        return
    if request.param == "files":
        yield lambda: FileDefinitionStore(tmp_path / "data")
        return
    dsn = request.getfixturevalue("postgres_dsn")
    opened = []

    def open_view() -> DefinitionStore:
        storage = open_storage(dsn, tmp_path / "data")
        opened.append(storage)
        return storage.definitions

    yield open_view
    for storage in opened:
        storage.close()


@pytest.fixture
def backend(request: pytest.FixtureRequest, open_definitions: OpenDefinitions) -> str:
    """The backend under test; the tests that take it run only where processes share
    definitions (not memory)."""
    name: str = request.node.callspec.params["open_definitions"]
    if name == "memory":
        pytest.skip("memory definitions belong to one process")
    return name


def test_put_get_all_and_delete(open_definitions: OpenDefinitions) -> None:
    store = open_definitions()
    assert store.all("placement") == [] and store.get("placement", "home") is None
    before = datetime.now(UTC)
    home = store.put("placement", "home", HOME)
    assert (home.kind, home.id, home.document) == ("placement", "home", HOME)
    assert before - timedelta(seconds=1) <= home.updated_at <= datetime.now(UTC)
    assert store.get("placement", "home") == home
    store.put("placement", "cart", {"sources": [{"source": "popular"}]})
    store.put("offer", "home", TEN_OFF)  # the same id in another kind is another definition
    assert [s.id for s in store.all("placement")] == ["cart", "home"]
    assert [(s.id, s.document) for s in store.all("offer")] == [("home", TEN_OFF)]
    assert store.all("segment") == []
    replaced = store.put("placement", "home", {"sources": [{"source": "new"}]})
    assert store.get("placement", "home") == replaced != home
    assert store.delete("placement", "home") is True
    assert store.get("placement", "home") is None
    assert store.delete("placement", "home") is False
    assert [s.id for s in store.all("placement")] == ["cart"]
    assert store.get("offer", "home") is not None


def test_documents_come_back_as_given(open_definitions: OpenDefinitions) -> None:
    store = open_definitions()
    document = {
        "z": 1,
        "a": [1.5, -2, 10**15, None, True, "é ✓ 中"],
        "nul": "a\u0000b",
        "nested": {"y": {}, "x": []},
    }
    stored = store.put("segment", "odd", document)
    for again in (stored, store.get("segment", "odd"), open_definitions().all("segment")[0]):
        assert again is not None
        assert again.document == document
        assert list(again.document) == ["z", "a", "nul", "nested"]
        assert list(again.document["nested"]) == ["y", "x"]


def test_invalid_ids_and_kinds_are_refused_before_anything_is_written(
    open_definitions: OpenDefinitions,
) -> None:
    store = open_definitions()
    for bad in ("", "../up", "a/b", ".hidden", "x" * 129, "line\n", "sp ace"):
        with pytest.raises(InvalidIdError, match="invalid offer id"):
            store.put("offer", bad, TEN_OFF)
        with pytest.raises(InvalidIdError):
            store.get("offer", bad)
        with pytest.raises(InvalidIdError):
            store.delete("offer", bad)
    with pytest.raises(ValueError, match="unknown definition kind"):
        store.put("widget", "w", {})
    with pytest.raises(ValueError, match="unknown definition kind"):
        store.all("widget")
    assert store.revision() == 0
    assert store.all("offer") == []
    assert store.put("offer", "A.b_c-9", TEN_OFF).id == "A.b_c-9"


def test_every_write_takes_a_higher_revision(open_definitions: OpenDefinitions) -> None:
    store = open_definitions()
    assert store.revision() == 0
    first = store.put("placement", "home", HOME)
    assert first.revision > 0 and store.revision() == first.revision
    second = store.put("placement", "home", HOME)
    assert second.revision > first.revision
    assert store.get("placement", "home") == second
    assert store.delete("placement", "cart") is False
    assert store.revision() == second.revision  # deleting nothing writes nothing
    assert store.delete("placement", "home")
    deleted_at = store.revision()
    assert deleted_at > second.revision
    third = store.put("segment", "loyal", LOYAL)
    assert third.revision > deleted_at
    assert open_definitions().revision() == third.revision


def test_changed_since_names_what_was_written_and_deleted(
    open_definitions: OpenDefinitions,
) -> None:
    store = open_definitions()
    empty = store.changed_since(0)
    assert (empty.revision, empty.changed, empty.deleted) == (0, [], [])
    store.put("placement", "home", HOME)
    store.put("offer", "ten", TEN_OFF)
    start = store.changed_since(0)
    assert sorted((s.kind, s.id) for s in start.changed) == [
        ("offer", "ten"),
        ("placement", "home"),
    ]
    assert start.deleted == [] and start.revision == store.revision()
    mark = start.revision
    store.put("segment", "loyal", {"all": []})
    store.put("segment", "loyal", LOYAL)  # written twice: reported once, as it is now
    store.delete("offer", "ten")
    store.put("offer", "gone", TEN_OFF)
    store.delete("offer", "gone")
    later = store.changed_since(mark)
    assert [(s.kind, s.id, s.document) for s in later.changed] == [("segment", "loyal", LOYAL)]
    assert later.changed[0] == store.get("segment", "loyal")
    assert sorted(later.deleted) == [("offer", "gone"), ("offer", "ten")]
    assert later.revision == store.revision() > mark
    nothing = store.changed_since(later.revision)
    assert (nothing.revision, nothing.changed, nothing.deleted) == (later.revision, [], [])
    everything = store.changed_since(0)
    assert sorted((s.kind, s.id) for s in everything.changed) == [
        ("placement", "home"),
        ("segment", "loyal"),
    ]


def test_another_view_sees_a_write_through_changed_since(
    open_definitions: OpenDefinitions, backend: str
) -> None:
    server, cli = open_definitions(), open_definitions()
    mark = server.changed_since(0).revision
    written = cli.put("offer", "ten", TEN_OFF)
    seen = server.changed_since(mark)
    assert seen.changed == [written] and seen.revision == written.revision
    assert server.get("offer", "ten") == written
    assert cli.delete("offer", "ten")
    gone = server.changed_since(seen.revision)
    assert (gone.changed, gone.deleted) == ([], [("offer", "ten")])
    assert server.revision() == gone.revision > seen.revision


def test_another_process_write_is_seen(
    request: pytest.FixtureRequest, open_definitions: OpenDefinitions, backend: str, tmp_path: Path
) -> None:
    server = open_definitions()
    server.put("placement", "home", HOME)
    mark = server.revision()
    dsn = request.getfixturevalue("postgres_dsn") if backend == "postgres" else ""
    opening = OPENING[backend].format(dsn=dsn, data=str(tmp_path / "data"))
    script = textwrap.dedent(
        f"""
        from pathlib import Path
        from retailor.storage.factory import open_storage
        from retailor.storage.files.definitions import FileDefinitionStore
        store = {opening}
        store.put("segment", "loyal", {LOYAL!r})
        store.delete("placement", "home")
        """
    )
    subprocess.run([sys.executable, "-c", script], check=True, timeout=60)
    seen = server.changed_since(mark)
    assert [(s.kind, s.id, s.document) for s in seen.changed] == [("segment", "loyal", LOYAL)]
    assert seen.deleted == [("placement", "home")]
    assert seen.revision == server.revision() > mark
    assert server.all("placement") == []
