-- Snapshots of state derived from the event log, each at a log position, so that a new
-- worker loads the newest one and reads only the appends after it.
CREATE TABLE snapshots (
    kind text NOT NULL,
    position bigint NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    data bytea NOT NULL,
    PRIMARY KEY (kind, position)
);
