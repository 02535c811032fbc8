-- The live event rate counts events by the time the server received them
-- (EventLog.arrivals): an index on received_at lets it read the last hour alone.
CREATE INDEX events_by_arrival ON events (received_at);
