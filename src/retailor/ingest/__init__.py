"""Every way events come in: the native JSON format, the Segment tracking API, bulk files.

Input is validated into ``domain.events.Event``; rejected input goes to the quarantine
with its reason. The group-commit ``writer`` makes an acknowledged event durable and
deduplicated by ``event_id``.
"""
