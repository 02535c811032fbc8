-- Retailor's tables in the embedded DuckDB file. (Files made before migrations existed
-- already hold them: IF NOT EXISTS lets this first step record them as they are.)
CREATE TABLE IF NOT EXISTS events (
    event_id VARCHAR PRIMARY KEY,
    type VARCHAR NOT NULL,
    timestamp TIMESTAMPTZ NOT NULL,
    received_at TIMESTAMPTZ NOT NULL,
    customer_id VARCHAR,
    anonymous_id VARCHAR,
    channel VARCHAR,
    store_id VARCHAR,
    session_id VARCHAR,
    decision_id VARCHAR,
    properties VARCHAR NOT NULL,
    context VARCHAR NOT NULL
);
CREATE TABLE IF NOT EXISTS catalog (
    item_id VARCHAR PRIMARY KEY,
    name VARCHAR,
    category VARCHAR[] NOT NULL,
    brand VARCHAR,
    price DOUBLE,
    cost DOUBLE,
    stock BIGINT,
    attributes VARCHAR NOT NULL,
    created_at TIMESTAMPTZ,
    updated_at TIMESTAMPTZ
);
CREATE TABLE IF NOT EXISTS quarantine (
    quarantine_id VARCHAR PRIMARY KEY,
    received_at TIMESTAMPTZ NOT NULL,
    source VARCHAR NOT NULL,
    reason VARCHAR NOT NULL,
    payload VARCHAR NOT NULL,
    event_id VARCHAR,
    "index" BIGINT
);
CREATE TABLE IF NOT EXISTS decisions (
    decision_id VARCHAR NOT NULL,
    "at" TIMESTAMPTZ NOT NULL,
    placement VARCHAR NOT NULL,
    customer VARCHAR,
    record VARCHAR NOT NULL
);
CREATE TABLE IF NOT EXISTS decision_feedback (
    decision_id VARCHAR NOT NULL,
    "at" TIMESTAMPTZ NOT NULL,
    type VARCHAR NOT NULL,
    item_id VARCHAR,
    offer_id VARCHAR,
    value DOUBLE,
    source VARCHAR NOT NULL
);
