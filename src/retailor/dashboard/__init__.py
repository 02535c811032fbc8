"""The dashboard: server-rendered HTML pages for people (managers, merchandisers), served
by the same server under ``/dashboard``.

It owns the pages (one module each, registered with :func:`retailor.dashboard.pages.page`
and listed in the navigation, :data:`retailor.dashboard.pages.NAV`), their Jinja
templates (autoescaped, every one) and static files (CSS, the page script and the vendored
charting library, served under content-hashed URLs), and the security of the pages:
login with an ``admin`` or ``view`` key, sessions in HMAC-signed cookies any worker can
verify, CSRF tokens on every form, a strict Content Security Policy. It reads the same
services the HTTP API reads, handed to it by the server role in a
:class:`~retailor.dashboard.context.DashboardContext`, and computes every figure through
the same functions the API answers with (``analytics.reports``, ``analytics.activity``),
so a page and the API agree. It imports no ``api`` module and builds no service: the
server role (``retailor.runtime.server``) builds it and mounts it. See
``docs/dashboard.md``.
"""
