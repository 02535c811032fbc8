"""File-backed adapters for small reference data that CLI commands must be able to
change while the embedded server runs (the server watches the files)."""
