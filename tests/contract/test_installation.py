"""The InstallationStore contract, against every adapter: memory, the files of a data
directory (the embedded default) and PostgreSQL. Where processes share the installation
(files, PostgreSQL), views opened apart racing to create a value all end with the first
one stored; and the identity salt built on it is the same for every worker of a shared
database, each with its own data directory."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from retailor.identity.salt import SALT_NAME, SaltMismatchError, load_or_create_salt
from retailor.storage.base import InstallationStore
from retailor.storage.factory import Storage, open_storage
from retailor.storage.files.installation import FileInstallationStore
from retailor.storage.memory.installation import MemoryInstallationStore

#: Opens one more view of the same installation, as another process would (memory: the
#: same store, since nothing else can see it).
OpenInstallation = Callable[[], InstallationStore]


@pytest.fixture(params=["memory", "files", "postgres"])
def open_installation(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[OpenInstallation]:
    if request.param == "memory":
        store = MemoryInstallationStore()
        yield lambda: store
        return
    if request.param == "files":
        yield lambda: FileInstallationStore(tmp_path / "data")
        return
    dsn = request.getfixturevalue("postgres_dsn")
    opened: list[Storage] = []

    def open_view() -> InstallationStore:
        # each view on a data directory of its own: workers on different hosts
        storage = open_storage(dsn, tmp_path / f"host-{len(opened)}")
        opened.append(storage)
        return storage.installation

    yield open_view
    for storage in opened:
        storage.close()


def test_the_first_value_stored_wins(open_installation: OpenInstallation) -> None:
    store = open_installation()
    assert store.get("identity.salt") is None
    assert store.get_or_create("identity.salt", "first") == "first"
    assert store.get_or_create("identity.salt", "second") == "first"
    assert store.get("identity.salt") == "first"
    assert open_installation().get("identity.salt") == "first"
    assert store.get("other") is None
    assert store.get_or_create("other", "x") == "x"


def test_names_and_values_outside_the_contract_are_refused(
    open_installation: OpenInstallation,
) -> None:
    store = open_installation()
    for name in ("", "Salt", "../escape", "a/b", "x" * 65, "ünicode"):
        with pytest.raises(ValueError, match="name"):
            store.get_or_create(name, "value")
        with pytest.raises(ValueError, match="name"):
            store.get(name)
    with pytest.raises(ValueError, match="empty"):
        store.get_or_create("salt", "")
    assert store.get("salt") is None


def test_views_racing_to_create_all_end_with_one_value(
    open_installation: OpenInstallation,
) -> None:
    views = [open_installation() for _ in range(6)]
    results: list[str] = []
    start = threading.Barrier(len(views))

    def create(i: int, view: InstallationStore) -> None:
        start.wait()
        results.append(view.get_or_create("race", f"value-{i}"))

    threads = [threading.Thread(target=create, args=(i, v)) for i, v in enumerate(views)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == len(views) and len(set(results)) == 1
    assert all(v.get("race") == results[0] for v in views)


def test_workers_sharing_a_database_hash_with_one_salt(postgres_dsn: str, tmp_path: Path) -> None:
    first = open_storage(postgres_dsn, tmp_path / "host-a")
    second = open_storage(postgres_dsn, tmp_path / "host-b")
    try:
        salt = load_or_create_salt(first.installation, shared=True)
        assert load_or_create_salt(second.installation, shared=True) == salt
        assert second.installation.get(SALT_NAME) == salt
        # none of it in the data directories: another host would not see it
        assert not (tmp_path / "host-a" / SALT_NAME).exists()
        # a configured salt equal to the stored one is fine; another one is refused
        assert load_or_create_salt(second.installation, salt, shared=True) == salt
        with pytest.raises(SaltMismatchError, match="identity_salt"):
            load_or_create_salt(second.installation, "not-the-same", shared=True)
    finally:
        first.close()
        second.close()


def test_a_configured_salt_is_stored_for_the_workers_that_have_none(
    postgres_dsn: str, tmp_path: Path
) -> None:
    first = open_storage(postgres_dsn, tmp_path / "host-a")
    second = open_storage(postgres_dsn, tmp_path / "host-b")
    try:
        assert load_or_create_salt(first.installation, "configured", shared=True) == "configured"
        assert load_or_create_salt(second.installation, shared=True) == "configured"
    finally:
        first.close()
        second.close()


def test_one_process_data_keeps_its_salt_in_the_data_directory(tmp_path: Path) -> None:
    store = FileInstallationStore(tmp_path / "data")
    salt = load_or_create_salt(store)
    assert (tmp_path / "data" / SALT_NAME).read_text() == salt
    assert load_or_create_salt(FileInstallationStore(tmp_path / "data")) == salt
    assert (tmp_path / "data" / SALT_NAME).stat().st_mode & 0o777 == 0o600
    # a configured salt wins over the file there (one process: nobody else hashes)
    assert load_or_create_salt(store, "configured") == "configured"


def test_the_shared_salt_starts_from_a_data_directory_salt_of_before(
    postgres_dsn: str, tmp_path: Path
) -> None:
    storage = open_storage(postgres_dsn, tmp_path / "host-a")
    try:
        salt = load_or_create_salt(storage.installation, shared=True, earlier="kept-before")
        assert salt == "kept-before"
        assert load_or_create_salt(storage.installation, shared=True, earlier="other") == salt
    finally:
        storage.close()
