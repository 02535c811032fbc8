"""The privacy calls of the synchronous client (``Client`` inherits them): erasure
requests and their receipts, lifting a suppression, retention now, a person's export,
consent and the audit log."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import httpx
import msgspec

from retailor.problem import RetailorError


class PrivacyCalls:
    """Calls made over the client's connection (``_http``) and its ``_call``."""

    _http: httpx.Client
    _call: Callable[..., Any]

    def request_erasure(self, identifier: str) -> dict[str, Any]:
        """Ask for a person's erasure; the answer has ``erasure_id`` and ``status``."""
        body = msgspec.json.encode({"identifier": identifier})
        return self._call("POST", "/v1/privacy/erasures", body=body)  # type: ignore[no-any-return]

    def erasure(self, erasure_id: str) -> dict[str, Any]:
        """An erasure's ``status`` and, once ``done``, its ``receipt``."""
        path = f"/v1/privacy/erasures/{quote(erasure_id, safe='')}"
        return self._call("GET", path)  # type: ignore[no-any-return]

    def lift_suppression(self, identifier: str) -> dict[str, Any]:
        """Accept a suppressed identifier's events again."""
        path = f"/v1/privacy/suppressions/{quote(identifier, safe='')}"
        return self._call("DELETE", path)  # type: ignore[no-any-return]

    def apply_retention(self) -> dict[str, Any]:
        """Apply the retention now; ``{"removed": {type: events}}``."""
        return self._call("POST", "/v1/privacy/retention")  # type: ignore[no-any-return]

    def export_subject(self, identifier: str) -> bytes:
        """The zip of everything about the person ``identifier`` names."""
        path = f"/v1/privacy/subjects/{quote(identifier, safe='')}/export"
        try:
            response = self._http.get(path)
        except httpx.HTTPError as exc:
            raise RetailorError(0, {"detail": f"cannot reach the server: {exc}"}) from None
        if response.status_code >= 400:
            from retailor.client import _answer

            _answer(response, False)
        return response.content

    def consent(self, identifier: str) -> dict[str, Any]:
        """A customer's consent now per purpose (``consent``) and its ``history``."""
        return self._call("GET", f"/v1/customers/{quote(identifier, safe='')}/consent")  # type: ignore[no-any-return]

    def put_consent(self, identifier: str, body: dict[str, Any]) -> dict[str, Any]:
        """Record consent given or withdrawn (``{"purpose", "granted", "source"}`` or
        ``{"consents": [...], "source"}``), as a ``consent_updated`` event."""
        path = f"/v1/customers/{quote(identifier, safe='')}/consent"
        return self._call("PUT", path, body=msgspec.json.encode(body))  # type: ignore[no-any-return]

    # --- the audit log ---------------------------------------------------------------

    def audit(self, **params: Any) -> list[dict[str, Any]]:
        """Audit entries, newest first (``limit``, ``since``, ``action``, ``key_id``,
        ``target``)."""
        wanted = {k: v for k, v in params.items() if v is not None}
        return self._call("GET", "/v1/audit", params=wanted)["entries"]  # type: ignore[no-any-return]

    def record_action(self, action: str, target: str | None, status: int = 200) -> dict[str, Any]:
        """Record an action of the command line (the server's control token only)."""
        body = msgspec.json.encode({"action": action, "target": target, "status": status})
        return self._call("POST", "/v1/audit", body=body)  # type: ignore[no-any-return]

    # --- training: a job the server runs in the background ------------------------------
