-- Placement, offer and segment definitions, shared by every worker. A deletion keeps the
-- row with a NULL document (a tombstone), so that the workers polling for changes learn
-- of it. Each write takes the next revision; writers take turns on an advisory lock
-- until they commit, so revisions become visible in order and a poller that has seen
-- revision r has seen every write up to r. The document is json, not jsonb: it comes
-- back as given (keys in order, a \u0000 in a string accepted).
CREATE TABLE definitions (
    kind text NOT NULL CHECK (kind IN ('placement', 'offer', 'segment')),
    id text COLLATE "C" NOT NULL,
    document json,
    updated_at timestamptz NOT NULL,
    revision bigserial NOT NULL,
    PRIMARY KEY (kind, id)
);
CREATE INDEX definitions_by_revision ON definitions (revision);
