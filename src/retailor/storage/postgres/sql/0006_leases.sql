-- Leases of background work (scheduled retraining and the like): one row per lease, held
-- by one process until expires_at, which is always computed by the database's clock
-- (now()), so processes on hosts whose clocks differ agree on who holds what.
CREATE TABLE leases (
    name text COLLATE "C" PRIMARY KEY,
    holder text NOT NULL,
    expires_at timestamptz NOT NULL
);
