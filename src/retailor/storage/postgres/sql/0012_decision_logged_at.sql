-- When each decision was stored (``DecisionLog.logged_between``): the report facts read
-- the log in the order it was written, so that a decision made "in the past" (a replay
-- with a timestamp) is folded all the same. Existing decisions count as logged at their
-- time; a writer that names no stamp (one still running the previous version during an
-- upgrade) gets the database's time.
ALTER TABLE decisions ADD COLUMN logged_at timestamptz;
UPDATE decisions SET logged_at = "at";
ALTER TABLE decisions ALTER COLUMN logged_at SET DEFAULT now();
ALTER TABLE decisions ALTER COLUMN logged_at SET NOT NULL;
CREATE INDEX decisions_by_logged ON decisions (logged_at, decision_id);
