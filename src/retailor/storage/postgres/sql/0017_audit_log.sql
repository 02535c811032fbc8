-- Who did which admin or privacy action, on what (a salted hash), and how it ended
-- (AuditLog), shared by every worker. ``seq`` keeps the order of entries appended at the
-- same moment.
CREATE TABLE audit_log (
    seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    "at" timestamptz NOT NULL,
    key_id text COLLATE "C",
    action text COLLATE "C" NOT NULL,
    target_hash text COLLATE "C",
    status integer NOT NULL
);
CREATE INDEX audit_log_by_time ON audit_log ("at" DESC, seq DESC);
