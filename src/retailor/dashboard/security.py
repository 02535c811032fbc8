"""What every dashboard response carries (the Content Security Policy and its
companions) and the limit on failed logins per client address.

The policy allows scripts and style sheets from this server alone (``'self'``), no inline
script and no ``<style>`` element or ``style`` attribute in the HTML, so markup smuggled
into data (a product name, a search query, a quarantined payload) can neither run nor
restyle the page; the charting library draws its SVG with presentation attributes and
the CSS object model, which the policy does not govern.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

#: The Content Security Policy of every dashboard response.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
}


class SecurityHeadersMiddleware:
    """Adds :data:`SECURITY_HEADERS` to every HTTP response of the app it wraps (pages,
    redirects, static files, errors), and ``Cache-Control: no-store`` to those that set
    none (pages show figures and customers' data: no cache keeps them)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers[name] = value
                if "cache-control" not in headers:
                    headers["Cache-Control"] = "no-store"
            await send(message)

        await self.app(scope, receive, send_with_headers)


class LoginLimiter:
    """At most ``failures`` failed logins per client address within ``window`` seconds;
    further attempts are refused until the oldest failure leaves the window. Kept per
    process (each worker counts its own)."""

    def __init__(
        self, failures: int = 5, window: float = 60.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._failures, self._window, self._clock = failures, window, clock
        self._seen: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, client: str, now: float) -> deque[float]:
        times = self._seen.setdefault(client, deque())
        while times and now - times[0] >= self._window:
            times.popleft()
        return times

    def retry_after(self, client: str) -> int:
        """Seconds until ``client`` may try again (0: it may now)."""
        with self._lock:
            now = self._clock()
            times = self._recent(client, now)
            if len(times) < self._failures:
                return 0
            return max(1, int(self._window - (now - times[0]) + 0.999))

    def failed(self, client: str) -> None:
        """Count a failed login of ``client``."""
        with self._lock:
            now = self._clock()
            self._recent(client, now).append(now)
            if len(self._seen) > 10_000:  # forget the quiet ones
                for name in [n for n, t in self._seen.items() if not t]:
                    del self._seen[name]
