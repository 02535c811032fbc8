-- A snapshot is kept in parts of at most a few megabytes (one row each): a client reads
-- and writes it part by part, so no connection ever holds the whole snapshot (hundreds of
-- megabytes for a large history) in its buffers for the rest of its life. Snapshots are
-- derived state: those kept whole before are dropped (the next is taken within minutes;
-- meanwhile a new worker folds the log).
DROP TABLE snapshots;
CREATE TABLE snapshots (
    kind text NOT NULL,
    position bigint NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    bytes bigint NOT NULL,
    parts integer NOT NULL,
    PRIMARY KEY (kind, position)
);
CREATE TABLE snapshot_parts (
    kind text NOT NULL,
    position bigint NOT NULL,
    part integer NOT NULL,
    data bytea NOT NULL,
    PRIMARY KEY (kind, position, part),
    FOREIGN KEY (kind, position) REFERENCES snapshots (kind, position) ON DELETE CASCADE
);
