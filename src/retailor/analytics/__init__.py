"""Retailor's measurement layer: pure rules (no I/O, no storage adapters) that turn what
was decided, shown, clicked, ordered, refunded and redeemed into attributed and engaged
revenue. ``attribution.py`` owns which decision an order line's revenue goes to."""
