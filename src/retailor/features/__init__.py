"""Real-time features: what each customer, visitor and session did seconds ago (recent
items and categories, decayed; the cart; the last search; the session's length, channel
and store; what was bought) and how each item moves in sliding windows (5 minutes, 1 hour,
24 hours). Updated from stored events in the ingest path, before the events are
acknowledged, and rebuilt from the event log at start."""
