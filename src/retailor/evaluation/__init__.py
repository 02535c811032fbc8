"""Offline evaluation: time splits without leakage, ranking metrics, the peers Retailor is
measured against (``implicit`` ALS with library defaults, global popularity, the
customer's own most-bought list), next-item evaluation on sessions, reports and plots."""
