"""The Redis adapters of the hot state every worker shares (``state = "redis://…/N"``):
the connection (``connection.py``) and one module per port. Every key starts with the
namespace the state was opened with, so one Redis database can hold several Retailors
(and the tests one namespace each)."""
