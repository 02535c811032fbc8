-- How many customers each segment held over time (SegmentSizeStore): a sample a day
-- and one whenever the size changed, written by the background role.
CREATE TABLE segment_sizes (
    segment_id VARCHAR NOT NULL,
    "at" TIMESTAMPTZ NOT NULL,
    size BIGINT NOT NULL,
    PRIMARY KEY (segment_id, "at")
);
