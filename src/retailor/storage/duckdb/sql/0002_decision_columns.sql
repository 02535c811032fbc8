-- The decision log gets the columns later analysis filters and groups by, beside the
-- whole record as JSON (the same columns as in PostgreSQL), and an index on the decision
-- id for look-ups by id. Existing decisions get their columns from their JSON record.
-- The table is rebuilt rather than altered: DuckDB adds no column with a NOT NULL
-- constraint to a table. (A later change of this table drops the index first: DuckDB
-- alters no table an index depends on.)
CREATE TABLE decisions_with_columns (
    decision_id VARCHAR NOT NULL,
    "at" TIMESTAMPTZ NOT NULL,
    placement VARCHAR NOT NULL,
    channel VARCHAR,
    store_id VARCHAR,
    customer VARCHAR,
    anonymous_id VARCHAR,
    items VARCHAR[] NOT NULL,
    offer_ids VARCHAR[] NOT NULL,
    model_versions JSON NOT NULL,
    personalized BOOLEAN NOT NULL,
    fallback VARCHAR,
    latency_ms DOUBLE NOT NULL,
    experiment_id VARCHAR,
    experiment_variant VARCHAR,
    record VARCHAR NOT NULL
);
INSERT INTO decisions_with_columns
SELECT
    decision_id,
    "at",
    placement,
    record ->> '$.context.channel',
    record ->> '$.context.store_id',
    customer,
    record ->> '$.anonymous_id',
    coalesce(json_extract_string(record, '$.items[*]'), []),
    coalesce(json_extract_string(record, '$.offers[*].offer_id'), []),
    coalesce(record -> '$.model_versions', '{}'),
    coalesce((record ->> '$.personalized')::BOOLEAN, false),
    record ->> '$.fallback',
    coalesce((record ->> '$.latency_ms')::DOUBLE, 0),
    record ->> '$.experiment.experiment_id',
    record ->> '$.experiment.variant',
    record
FROM decisions
ORDER BY "at", decision_id;
DROP TABLE decisions;
ALTER TABLE decisions_with_columns RENAME TO decisions;
CREATE INDEX decisions_by_id ON decisions (decision_id);
