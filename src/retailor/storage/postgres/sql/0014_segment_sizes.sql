-- How many customers each segment held over time (SegmentSizeStore): a sample a day
-- and one whenever the size changed, written by the background role.
CREATE TABLE segment_sizes (
    segment_id text COLLATE "C" NOT NULL,
    "at" timestamptz NOT NULL,
    size bigint NOT NULL,
    PRIMARY KEY (segment_id, "at")
);
