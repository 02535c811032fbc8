"""PostgreSQL adapters: the truth (events, catalog, quarantine, keys, decision log, model
registry, definitions) in one database that every worker on every host shares.

``database.py`` holds the connection pool and applies the numbered migrations in ``sql/``;
one module per port holds its adapter.
"""
