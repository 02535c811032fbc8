-- Erasure requests with their receipts (the identifier asked about is kept only while
-- the request waits or runs), and the suppression list: salted hashes of erased
-- people's identifiers, refused at ingest.
CREATE TABLE erasures (
    erasure_id VARCHAR PRIMARY KEY,
    status VARCHAR NOT NULL,
    target_hash VARCHAR NOT NULL,
    requested_at TIMESTAMPTZ NOT NULL,
    finished_at TIMESTAMPTZ,
    receipt VARCHAR NOT NULL,
    error VARCHAR,
    identifier VARCHAR
);
CREATE TABLE suppressions (
    hash VARCHAR PRIMARY KEY,
    suppressed_at TIMESTAMPTZ NOT NULL
);
CREATE TABLE suppression_revision (
    one INTEGER PRIMARY KEY,
    revision BIGINT NOT NULL
);
INSERT INTO suppression_revision VALUES (1, 0);
