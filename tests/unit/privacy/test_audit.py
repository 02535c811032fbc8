"""The audit recorder: entries queued off the caller's thread, targets hashed, and kept
while the log cannot be written."""

from __future__ import annotations

import threading
from collections.abc import Sequence

from retailor.privacy.audit import AuditRecorder, target_hash
from retailor.storage.audit import AuditEntry
from retailor.storage.memory.audit import MemoryAuditLog


class FlakyLog(MemoryAuditLog):
    """Refuses appends until told to take them."""

    def __init__(self) -> None:
        super().__init__()
        self.up = threading.Event()
        self.refused = 0

    def append(self, entries: Sequence[AuditEntry]) -> None:
        if not self.up.is_set():
            self.refused += 1
            raise ConnectionError("database down")
        super().append(entries)


def test_entries_are_written_with_hashed_targets() -> None:
    log = MemoryAuditLog()
    recorder = AuditRecorder(log, "salt")
    recorder.record(key_id="k", action="GET /v1/customers/{customer_id}", target="ada", status=200)
    recorder.record(key_id=None, action="GET /v1/audit", target=None, status=401)
    assert recorder.flush(10)
    newest, oldest = log.list()
    assert oldest.target_hash == target_hash("ada", "salt") != target_hash("ada", "pepper")
    assert "ada" not in repr(log.list())
    assert newest.target_hash is None and newest.status == 401
    recorder.close()


def test_entries_wait_while_the_log_is_down() -> None:
    log = FlakyLog()
    recorder = AuditRecorder(log, "salt")
    recorder.record(key_id="k", action="keys.create", target="key_1", status=200)
    assert not recorder.flush(0.2) and recorder.unwritten == 1
    log.up.set()
    assert recorder.flush(10) and recorder.unwritten == 0
    assert [e.action for e in log.list()] == ["keys.create"] and log.refused >= 1
    recorder.close()
