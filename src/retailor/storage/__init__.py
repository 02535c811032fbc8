"""Storage ports (``base``) and their adapters: ``memory``, ``duckdb`` (the embedded default), ``files``.

The event log is the only truth; every other store holds either reference data
(catalog, keys) or projections that can be rebuilt from the log. Adapters are chosen
by a DSN (``duckdb:///path``, ``memory://``) and imported lazily by ``factory``.
"""
