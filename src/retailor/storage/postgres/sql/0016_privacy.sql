-- Erasure requests with their receipts (the identifier asked about is kept only while
-- the request waits or runs), and the suppression list: salted hashes of erased
-- people's identifiers, refused at ingest, with a revision that grows whenever the list
-- changes (what other workers poll to reload it).
CREATE TABLE erasures (
    erasure_id text COLLATE "C" PRIMARY KEY,
    status text NOT NULL CHECK (status IN ('pending', 'running', 'done', 'failed')),
    target_hash text NOT NULL,
    requested_at timestamptz NOT NULL,
    finished_at timestamptz,
    receipt json NOT NULL,
    error text,
    identifier text
);
CREATE INDEX erasures_waiting ON erasures (requested_at, erasure_id)
    WHERE status IN ('pending', 'failed');
CREATE TABLE suppressions (
    hash text COLLATE "C" PRIMARY KEY,
    suppressed_at timestamptz NOT NULL
);
CREATE TABLE suppression_revision (
    single boolean PRIMARY KEY DEFAULT true CHECK (single),
    revision bigint NOT NULL
);
INSERT INTO suppression_revision (single, revision) VALUES (true, 0);
-- The highest version number each model was ever given: a removed version's number is
-- never given again (ModelRegistry.delete), even when it was the newest.
CREATE TABLE model_numbers (
    name text PRIMARY KEY,
    last integer NOT NULL
);
INSERT INTO model_numbers (name, last) SELECT name, max(version) FROM model_versions GROUP BY name;
