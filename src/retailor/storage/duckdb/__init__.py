"""The embedded default: every store in one DuckDB file under the data directory.

One process owns the file. Each thread gets its own cursor on the shared database
instance (DuckDB connections are not shared across threads).
"""
