"""The DuckDB swap gate: statements run side by side; a rewrite waits for those under way,
holds new ones until it is done, and is not starved by a stream of them; a thread that
holds the gate (a stream of batches) may run more statements meanwhile."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from retailor.storage.duckdb.database import DuckDBDatabase
from retailor.storage.duckdb.gate import SwapGate


def test_a_rewrite_waits_for_the_statement_under_way_and_holds_the_next() -> None:
    gate = SwapGate()
    order: list[str] = []
    inside = threading.Event()

    def reader() -> None:
        with gate.shared():
            inside.set()
            time.sleep(0.2)
            order.append("read done")

    def rewriter() -> None:
        inside.wait()
        with gate.exclusive():
            order.append("rewrite")
            time.sleep(0.1)

    def late_reader() -> None:
        inside.wait()
        time.sleep(0.05)  # arrives while the rewrite waits
        with gate.shared():
            order.append("late read")

    threads = [threading.Thread(target=f) for f in (reader, rewriter, late_reader)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(5)
    assert order == ["read done", "rewrite", "late read"]


def test_a_thread_holding_the_gate_may_take_it_again_while_a_rewrite_waits() -> None:
    gate = SwapGate()
    waiting = threading.Event()
    done: list[str] = []

    def rewriter() -> None:
        waiting.set()
        with gate.exclusive():
            done.append("rewrite")

    with gate.shared():
        thread = threading.Thread(target=rewriter)
        thread.start()
        waiting.wait()
        time.sleep(0.05)
        with gate.shared():  # reentrant: no deadlock behind the waiting rewrite
            done.append("nested")
    thread.join(5)
    assert done == ["nested", "rewrite"]


def test_a_rewritten_file_keeps_every_row_and_every_thread_reads_it(tmp_path: Path) -> None:
    db = DuckDBDatabase(tmp_path / "r.duckdb")
    try:
        db.rows("CREATE TABLE t (i INTEGER, s VARCHAR)")
        db.rows("INSERT INTO t SELECT i, 'row-' || i FROM range(1000) r(i)")
        db.rows("DELETE FROM t WHERE i < 10")
        before, after = db.rewrite()
        assert before > 0 and after > 0
        assert db.rows("SELECT count(*), min(i) FROM t") == [(990, 10)]
        seen: list[int] = []
        thread = threading.Thread(
            target=lambda: seen.append(db.rows("SELECT count(*) FROM t")[0][0])
        )
        thread.start()
        thread.join(5)
        assert seen == [990]
    finally:
        db.close()
