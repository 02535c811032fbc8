-- Every append gets the next position of the log (EventLog contract); events stored
-- before positions existed have none (NULL) and come first when the log is read from
-- the very start.
ALTER TABLE events ADD COLUMN position BIGINT;
