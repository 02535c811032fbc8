-- Who did which admin or privacy action, on what (a salted hash), and how it ended
-- (AuditLog). ``seq`` keeps the order of entries appended at the same moment.
CREATE SEQUENCE audit_log_seq;
CREATE TABLE audit_log (
    seq BIGINT PRIMARY KEY DEFAULT nextval('audit_log_seq'),
    "at" TIMESTAMPTZ NOT NULL,
    key_id VARCHAR,
    action VARCHAR NOT NULL,
    target_hash VARCHAR,
    status INTEGER NOT NULL
);
