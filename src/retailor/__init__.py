"""Retailor: an open-source, real-time retail personalization engine.

The package is laid out by responsibility (see docs/architecture.md): ``domain`` holds
pure types, ``storage`` the ports and their adapters, ``ingest`` every way events come
in, ``privacy`` keys and scopes, ``api`` the HTTP server and ``cli`` the command line.
"""

__version__ = "0.1.0"
