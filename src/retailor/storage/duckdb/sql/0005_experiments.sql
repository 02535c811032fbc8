-- The first exposure of each unit to each phase of an experiment (the first insert
-- wins), and whether a decision's unit was held out of personalization (NULL when no
-- holdout was configured; existing decisions get it from their JSON record). The index
-- on the decision id is dropped while the table changes: DuckDB alters no table an index
-- depends on.
CREATE TABLE exposures (
    experiment_id VARCHAR NOT NULL,
    phase INTEGER NOT NULL,
    unit VARCHAR NOT NULL,
    variant VARCHAR NOT NULL,
    first_exposure_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (experiment_id, phase, unit)
);
DROP INDEX decisions_by_id;
ALTER TABLE decisions ADD COLUMN holdout BOOLEAN;
UPDATE decisions SET holdout = (record ->> '$.holdout')::BOOLEAN
WHERE record ->> '$.holdout' IS NOT NULL;
CREATE INDEX decisions_by_id ON decisions (decision_id);
