-- The last position the log gave, kept when events are removed (erasure, retention):
-- the newest events may be among them, and the next append must not take their
-- positions again (a reader that saw them has moved past them).
CREATE TABLE event_position (
    single BOOLEAN PRIMARY KEY,
    position BIGINT NOT NULL
);
