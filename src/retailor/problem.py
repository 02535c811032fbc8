"""``RetailorError``: a Retailor server's problem document (RFC 9457), or its absence, as
an exception. ``retailor.client`` raises it; it lives apart from the client so that code
which only catches it (the command line) imports no HTTP library."""

from __future__ import annotations

from typing import Any


class RetailorError(Exception):
    """The server answered with a problem document (or could not be reached)."""

    def __init__(self, status: int, problem: dict[str, Any]) -> None:
        super().__init__(f"{status}: {problem.get('detail') or problem.get('title') or problem}")
        self.status = status
        self.problem = problem
