"""The HTTP API: routes per resource, authentication by scoped keys, RFC 9457 errors, OpenAPI.

``build_app(ctx, shutdown)`` builds the ASGI application over the parts the server role
built (``retailor.runtime.server``); ``serve_app`` runs it on granian in this process.
Only ``retailor.runtime`` and ``retailor.cli`` import this package.
"""
