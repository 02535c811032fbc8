-- The experiment a decision took part in and the variant it was given (none outside an
-- experiment), for analysis to filter and group by. Existing decisions get them from
-- their JSON record.
ALTER TABLE decisions ADD COLUMN experiment_id text, ADD COLUMN experiment_variant text;
UPDATE decisions
SET experiment_id = record -> 'experiment' ->> 'experiment_id',
    experiment_variant = record -> 'experiment' ->> 'variant'
WHERE record -> 'experiment' ->> 'experiment_id' IS NOT NULL;
CREATE INDEX decisions_by_experiment ON decisions (experiment_id, experiment_variant, "at")
    WHERE experiment_id IS NOT NULL;
