-- Retailor's truth in PostgreSQL. JSON documents are kept as text where the adapter must
-- give them back exactly as given (event properties and context, catalog attributes),
-- as json elsewhere (queryable with ->, ->>). The ids that keys and indexes compare
-- byte by byte use the "C" collation: fast, and the same under every locale.

-- The event log, partitioned by month of "timestamp". Partitions are created and
-- attached by the adapter as events of a new month arrive (events_pYYYYMM).
CREATE TABLE events (
    event_id text COLLATE "C" NOT NULL,
    type text NOT NULL,
    "timestamp" timestamptz NOT NULL,
    received_at timestamptz NOT NULL,
    customer_id text COLLATE "C",
    anonymous_id text COLLATE "C",
    channel text,
    store_id text,
    session_id text,
    decision_id text,
    properties text NOT NULL,
    context text NOT NULL
) PARTITION BY RANGE ("timestamp");
CREATE INDEX events_by_time ON events ("timestamp", received_at);
CREATE INDEX events_by_customer ON events (customer_id) WHERE customer_id IS NOT NULL;
CREATE INDEX events_by_anonymous ON events (anonymous_id) WHERE anonymous_id IS NOT NULL;

-- Every event id the log holds: the idempotency key. A unique key of the partitioned
-- table would have to include "timestamp", which would let one id be stored twice with two
-- timestamps; this table is claimed in the transaction that inserts the events.
CREATE TABLE event_ids (
    event_id text COLLATE "C" PRIMARY KEY
);

CREATE TABLE catalog (
    item_id text PRIMARY KEY,
    name text,
    category text[] NOT NULL DEFAULT '{}',
    brand text,
    price double precision,
    cost double precision,
    stock bigint,
    attributes text NOT NULL DEFAULT '{}',
    created_at timestamptz,
    updated_at timestamptz
);

-- The payload is the rejected input as it came, which may hold any character (NUL
-- included, which text refuses): UTF-8 bytes.
CREATE TABLE quarantine (
    quarantine_id text PRIMARY KEY,
    received_at timestamptz NOT NULL,
    source text NOT NULL,
    reason text NOT NULL,
    payload bytea NOT NULL,
    event_id text,
    "index" bigint
);
CREATE INDEX quarantine_newest ON quarantine (received_at DESC, quarantine_id DESC);
CREATE INDEX quarantine_by_source ON quarantine (source, received_at DESC, quarantine_id DESC);

CREATE TABLE api_keys (
    key_id text PRIMARY KEY,
    scope text NOT NULL,
    secret_hash text NOT NULL UNIQUE,
    created_at timestamptz NOT NULL,
    name text NOT NULL DEFAULT '',
    revoked boolean NOT NULL DEFAULT false
);

-- One row per decision: the columns analysis filters and groups by, and the whole record.
CREATE TABLE decisions (
    decision_id text COLLATE "C" PRIMARY KEY,
    "at" timestamptz NOT NULL,
    placement text NOT NULL,
    channel text,
    store_id text,
    customer text,
    anonymous_id text,
    items text[] NOT NULL,
    offer_ids text[] NOT NULL,
    model_versions json NOT NULL,
    personalized boolean NOT NULL,
    fallback text,
    latency_ms double precision NOT NULL,
    record json NOT NULL
);
CREATE INDEX decisions_by_time ON decisions ("at", decision_id);
CREATE INDEX decisions_by_customer ON decisions (customer, "at") WHERE customer IS NOT NULL;

CREATE TABLE decision_feedback (
    feedback_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    decision_id text NOT NULL,
    "at" timestamptz NOT NULL,
    type text NOT NULL,
    item_id text,
    offer_id text,
    value double precision,
    source text NOT NULL
);
CREATE INDEX decision_feedback_by_decision ON decision_feedback (decision_id, "at");
CREATE INDEX decision_feedback_by_time ON decision_feedback ("at", feedback_id);

-- Model versions with their parameters, metrics and fitted bytes: workers on different
-- hosts share no disk.
CREATE TABLE model_versions (
    name text NOT NULL,
    version integer NOT NULL,
    created_at timestamptz NOT NULL,
    params json NOT NULL,
    metrics json NOT NULL,
    artifact bytea,
    PRIMARY KEY (name, version)
);
CREATE TABLE model_active (
    name text PRIMARY KEY,
    version integer NOT NULL,
    FOREIGN KEY (name, version) REFERENCES model_versions (name, version)
);
