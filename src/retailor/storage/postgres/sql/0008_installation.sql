-- Values an installation fixes once and every worker shares (the identity salt): the
-- first insert of a name wins, and a row is never changed afterwards.
CREATE TABLE installation (
    name text COLLATE "C" PRIMARY KEY,
    value text NOT NULL CHECK (value <> ''),
    created_at timestamptz NOT NULL DEFAULT now()
);
