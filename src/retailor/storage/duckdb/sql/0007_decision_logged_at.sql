-- When each decision was stored (``DecisionLog.logged_between``): the report facts read
-- the log in the order it was written, so that a decision made "in the past" (a replay
-- with a timestamp) is folded all the same. Existing decisions count as logged at their
-- time. The index on the decision id is dropped while the table changes: DuckDB alters
-- no table an index depends on. (No index on the stamp: rows are appended in about its
-- order, so DuckDB's min/max zone maps already skip what a read does not need.)
DROP INDEX decisions_by_id;
ALTER TABLE decisions ADD COLUMN logged_at TIMESTAMPTZ;
UPDATE decisions SET logged_at = "at";
CREATE INDEX decisions_by_id ON decisions (decision_id);
