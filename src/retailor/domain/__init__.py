"""Pure domain types with no I/O: events and their properties, catalog items, customers.

Everything here can be imported by every other package; nothing here imports them.
"""
