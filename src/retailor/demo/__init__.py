"""The demo: a small slice of a real retailer's history (shipped in ``data/``) plus web
browsing around its orders, loaded into a running server through its public API."""
