"""Logging in and out: ``GET /dashboard/login`` shows a form with one field, ``key``;
``POST`` checks it (an admin or view key) and starts a session; ``POST
/dashboard/logout`` (with the session's CSRF token) ends it."""

from __future__ import annotations

from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from retailor.dashboard.rendering import render
from retailor.dashboard.sessions import (
    CSRF_FIELD,
    LOGIN_COOKIE,
    PREFIX,
    SESSION_COOKIE,
    SessionSigner,
    new_nonce,
    safe_next,
)

#: The longest form body the login and logout forms take.
MAX_FORM_BYTES = 8192


def _cookie_flags(request: Request) -> dict[str, object]:
    """HttpOnly, SameSite=Strict, Path=/dashboard; Secure over https."""
    return {
        "httponly": True,
        "samesite": "strict",
        "path": PREFIX,
        "secure": request.url.scheme == "https",
    }


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _login_page(request: Request, next_url: str, error: str | None = None,
                status: int = 200) -> Response:  # fmt: skip
    """The login form with a fresh CSRF nonce (its cookie and its token)."""
    signer: SessionSigner = request.app.state.signer
    nonce = new_nonce()
    response = render(
        request, "login.html", status=status, title="Log in", next=next_url, error=error,
        login_csrf=signer.csrf_token("login:" + nonce),
    )  # fmt: skip
    response.set_cookie(LOGIN_COOKIE, nonce, max_age=3600, **_cookie_flags(request))  # type: ignore[arg-type]
    return response


async def login_form(request: Request) -> Response:
    """The login form (a page that needs a session sends people here with ``next``)."""
    return _login_page(request, safe_next(request.query_params.get("next")))


async def _form(request: Request) -> dict[str, str] | None:
    """The fields of a posted HTML form (``application/x-www-form-urlencoded``, at most
    :data:`MAX_FORM_BYTES`); None for anything else."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/x-www-form-urlencoded":
        return None
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            return None
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, max_num_fields=16)
    except (UnicodeDecodeError, ValueError):
        return None
    return dict(pairs)


async def login_submit(request: Request) -> Response:
    """Check the key; on success a session cookie and a 303 to ``next``."""
    state = request.app.state
    signer: SessionSigner = state.signer
    form = await _form(request) or {}
    next_url = safe_next(form.get("next"))
    nonce = request.cookies.get(LOGIN_COOKIE, "")
    if not nonce or not signer.check_csrf("login:" + nonce, form.get(CSRF_FIELD)):
        return _login_page(
            request, next_url,
            "The form expired or was not sent from this page. Enter the key again.", 403,
        )  # fmt: skip
    client = _client(request)
    wait = state.limiter.retry_after(client)
    if wait:
        response = _login_page(
            request, next_url,
            f"Too many failed attempts from your address: try again in {wait} s.", 429,
        )  # fmt: skip
        response.headers["Retry-After"] = str(wait)
        return response
    key, problem = await state.keys.login(form.get("key", ""))
    if key is None:
        state.limiter.failed(client)
        return _login_page(request, next_url, problem or "This key was not accepted.", 401)
    response = RedirectResponse(next_url, status_code=303)
    response.set_cookie(SESSION_COOKIE, signer.issue(key.key_id, key.scope.value),
                        **_cookie_flags(request))  # type: ignore[arg-type]  # fmt: skip
    response.delete_cookie(LOGIN_COOKIE, path=PREFIX, httponly=True, samesite="strict")
    return response


async def logout(request: Request) -> Response:
    """End the session; the form must carry its CSRF token (403 otherwise)."""
    signer: SessionSigner = request.app.state.signer
    session = signer.verify(request.cookies.get(SESSION_COOKIE))
    form = await _form(request) or {}
    if session is None:
        return RedirectResponse(f"{PREFIX}/login", status_code=303)
    if not signer.check_csrf(session.session_id, form.get(CSRF_FIELD)):
        request.state.session, request.state.csrf = session, signer.csrf_token(session.session_id)
        return render(
            request, "error.html", status=403, title="Refused",
            message="This form was not sent from a page of this dashboard (its CSRF token is "
            "missing or wrong). Use the Log out button of a page.",
        )  # fmt: skip
    response = RedirectResponse(f"{PREFIX}/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path=PREFIX, httponly=True, samesite="strict")
    return response
