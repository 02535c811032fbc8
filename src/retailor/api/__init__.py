"""The HTTP API: routes per resource, authentication by scoped keys, RFC 9457 errors, OpenAPI.

``create_app(settings)`` builds the ASGI application; ``serve`` runs it on granian in
this process. Nothing else in Retailor imports this package.
"""
