"""A simulated retailer whose shoppers react to what Retailor shows them.

``world`` draws a seeded retailer (catalog, stores, customers with hidden tastes and
hidden responses to offers); ``shop`` keeps the shop's stock, registrations and the
records it writes; ``shopper`` is how one shopper behaves in one visit; ``arms`` says what
each experiment arm shows; ``driver`` runs the days against Retailor's public API (over
HTTP, or in-process through the same ASGI app) and records each visit (``outcome``);
``report`` turns what happened into per-arm figures with confidence intervals, the
bandit's regret and a plot.
The simulator uses Retailor only as a client would.
"""
