"""The ModelRegistry contract, against every adapter: files and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from retailor.storage.base import ModelRegistry
from retailor.storage.factory import open_storage
from retailor.storage.files.models import FileModelRegistry

#: Opens one more view of the same registry, as another process would.
OpenRegistry = Callable[[], ModelRegistry]


@pytest.fixture(params=["files", "postgres"])
def open_registry(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[OpenRegistry]:
    """A function that opens a view of one registry (each call a new one, sharing nothing
    in memory with the others)."""
    if request.param == "files":
        yield lambda: FileModelRegistry(tmp_path / "models")
        return
    dsn = request.getfixturevalue("postgres_dsn")
    opened = []

    def open_view() -> ModelRegistry:
        storage = open_storage(dsn, tmp_path)
        opened.append(storage)
        return storage.models

    yield open_view
    for storage in opened:
        storage.close()


def test_versions_are_numbered_and_kept(open_registry: OpenRegistry) -> None:
    registry = open_registry()
    assert registry.names() == [] and registry.versions("als") == []
    assert registry.active("als") is None
    first = registry.save("als", {"factors": 8}, {"ndcg@10": 0.1})
    second = registry.save("als", {"factors": 16}, {"ndcg@10": 0.2, "nested": {"a": [1, 2]}})
    registry.save("popularity", {}, {})
    assert (first.version, second.version) == (1, 2)
    assert [(r.version, r.params) for r in registry.versions("als")] == [
        (1, {"factors": 8}),
        (2, {"factors": 16}),
    ]
    assert registry.versions("als")[1] == second
    assert registry.names() == ["als", "popularity"]
    active = registry.active("als")
    assert active is not None and active.version == 2 and active.metrics == second.metrics


def test_a_version_saved_without_activation_waits(open_registry: OpenRegistry) -> None:
    registry = open_registry()
    registry.save("als", {"factors": 8}, {})
    candidate = registry.save("als", {"factors": 16}, {}, activate=False)
    active = registry.active("als")
    assert candidate.version == 2 and active is not None and active.version == 1
    assert registry.activate("als", 2).params == {"factors": 16}
    active = registry.active("als")
    assert active is not None and active.version == 2


def test_rollback_to_any_version_and_unknown_versions(open_registry: OpenRegistry) -> None:
    registry = open_registry()
    for factors in (8, 16, 32):
        registry.save("als", {"factors": factors}, {})
    assert registry.activate("als", 1).version == 1
    active = registry.active("als")
    assert active is not None and active.params == {"factors": 8}
    with pytest.raises(KeyError):
        registry.activate("als", 9)
    with pytest.raises(KeyError):
        registry.activate("nothing", 1)
    assert len(registry.versions("als")) == 3  # activation overwrites no version


def test_artifacts_come_back_byte_for_byte(open_registry: OpenRegistry) -> None:
    registry = open_registry()
    blob = bytes(range(256)) * 4_096 + b"\x00end"
    registry.save("als", {}, {}, artifact=blob)
    registry.save("als", {}, {})
    assert registry.artifact("als", 1) == blob
    assert registry.artifact("als", 2) is None
    assert registry.artifact("als", 7) is None
    assert registry.artifact("nothing", 1) is None


def test_another_process_sees_saves_without_a_restart(open_registry: OpenRegistry) -> None:
    server, trainer = open_registry(), open_registry()
    assert server.active("als") is None
    trainer.save("als", {"factors": 8}, {}, artifact=b"v1")
    active = server.active("als")
    assert active is not None and active.version == 1
    assert server.artifact("als", 1) == b"v1"
    trainer.save("als", {"factors": 16}, {})
    assert [r.version for r in server.versions("als")] == [1, 2]
    assert server.names() == ["als"]
    server.activate("als", 1)
    rolled_back = trainer.active("als")
    assert rolled_back is not None and rolled_back.version == 1


def test_active_versions_follow_saves_and_rollbacks(open_registry: OpenRegistry) -> None:
    registry, other = open_registry(), open_registry()
    assert other.active_versions() == {}
    registry.save("als", {"factors": 8}, {})
    registry.save("als", {"factors": 16}, {})
    registry.save("popularity", {}, {}, activate=False)
    assert other.active_versions() == {"als": 2}
    registry.activate("popularity", 1)
    registry.activate("als", 1)
    assert other.active_versions() == {"als": 1, "popularity": 1}


def test_delete_removes_a_version_and_its_number_is_never_given_again(
    open_registry: OpenRegistry,
) -> None:
    registry = open_registry()
    for n in range(3):
        registry.save("als", {"n": n}, {}, activate=n == 0, artifact=f"fit {n}".encode())
    assert registry.delete("als", 2) is True
    assert registry.delete("als", 2) is False
    assert registry.delete("als", 9) is False
    assert registry.delete("nothing", 1) is False
    assert [r.version for r in registry.versions("als")] == [1, 3]
    assert registry.artifact("als", 2) is None
    assert registry.delete("als", 3) is True  # the newest: its number stays taken
    other = open_registry()
    assert other.save("als", {"n": 3}, {}, activate=False).version == 4
    assert [r.version for r in other.versions("als")] == [1, 4]
    assert other.artifact("als", 1) == b"fit 0"


def test_the_active_version_cannot_be_deleted(open_registry: OpenRegistry) -> None:
    registry = open_registry()
    registry.save("als", {}, {})
    registry.save("als", {}, {}, activate=False)
    with pytest.raises(ValueError, match="active"):
        registry.delete("als", 1)
    assert [r.version for r in registry.versions("als")] == [1, 2]
    registry.activate("als", 2)
    assert registry.delete("als", 1) is True
    active = open_registry().active("als")
    assert active is not None and active.version == 2
    assert open_registry().active_versions() == {"als": 2}
