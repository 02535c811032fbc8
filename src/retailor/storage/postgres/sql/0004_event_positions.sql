-- Every append gets the next position of the log (EventLog contract): one counter row,
-- taken with UPDATE in the append's transaction, so that appends from every worker get
-- positions 1, 2, 3, … in the order they commit, with no gap (a failed append gives its
-- number back). The rows of an append take the position from a transaction-local setting
-- as their default, so the COPY that writes them names no extra column. Events stored
-- before positions existed have position 0.
CREATE TABLE event_position (
    single boolean PRIMARY KEY DEFAULT true CHECK (single),
    position bigint NOT NULL
);
INSERT INTO event_position (single, position) VALUES (true, 0);
ALTER TABLE events ADD COLUMN position bigint NOT NULL
    DEFAULT coalesce(nullif(current_setting('retailor.position', true), '')::bigint, 0);
CREATE INDEX events_by_position ON events (position);
