-- Experiments: their definitions (and the global holdout's) join the definition store;
-- the first exposure of each unit to each phase of an experiment is kept (the first
-- insert wins); a decision records whether its unit was held out of personalization
-- (NULL when no holdout was configured). Existing decisions get it from their JSON.
ALTER TABLE definitions DROP CONSTRAINT definitions_kind_check;
ALTER TABLE definitions ADD CONSTRAINT definitions_kind_check
    CHECK (kind IN ('placement', 'offer', 'segment', 'experiment', 'holdout'));
CREATE TABLE exposures (
    experiment_id text COLLATE "C" NOT NULL,
    phase integer NOT NULL,
    unit text COLLATE "C" NOT NULL,
    variant text NOT NULL,
    first_exposure_at timestamptz NOT NULL,
    PRIMARY KEY (experiment_id, phase, unit)
);
CREATE INDEX exposures_by_time ON exposures (experiment_id, first_exposure_at);
ALTER TABLE decisions ADD COLUMN holdout boolean;
UPDATE decisions SET holdout = (record ->> 'holdout')::boolean
WHERE record ->> 'holdout' IS NOT NULL;
