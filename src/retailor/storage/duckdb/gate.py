"""A shared/exclusive gate: many threads use the database at once; a rewrite of its file
waits for them, and holds new ones until it is done."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator


class SwapGate:
    """Shared holds are reentrant per thread (a thread streaming batches may run other
    statements meanwhile) and are not held back by a waiting exclusive holder when the
    thread already holds one; other threads wait while an exclusive holder waits or
    runs, so a rewrite is never starved by a steady stream of short statements."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._shared: dict[int, int] = {}
        self._exclusive: int | None = None
        self._waiting = 0

    @contextlib.contextmanager
    def shared(self) -> Iterator[None]:
        me = threading.get_ident()
        with self._cond:
            if me not in self._shared and self._exclusive != me:
                while self._exclusive is not None or self._waiting:
                    self._cond.wait()
            self._shared[me] = self._shared.get(me, 0) + 1
        try:
            yield
        finally:
            with self._cond:
                left = self._shared[me] - 1
                if left:
                    self._shared[me] = left
                else:
                    del self._shared[me]
                    self._cond.notify_all()

    @contextlib.contextmanager
    def exclusive(self) -> Iterator[None]:
        me = threading.get_ident()
        with self._cond:
            self._waiting += 1
            try:
                while self._exclusive is not None or any(t != me for t in self._shared):
                    self._cond.wait()
            finally:
                self._waiting -= 1
            self._exclusive = me
        try:
            yield
        finally:
            with self._cond:
                self._exclusive = None
                self._cond.notify_all()
