-- A run being carried out keeps a heartbeat; a run whose heartbeat stops is taken over by a
-- new job (`restarts` + 1), and only the worker holding the current `lease` may go on with it.
ALTER TABLE runs ADD COLUMN heartbeat_at timestamptz;
ALTER TABLE runs ADD COLUMN lease uuid;
ALTER TABLE runs ADD COLUMN restarts integer NOT NULL DEFAULT 0;
CREATE INDEX runs_heartbeat ON runs (heartbeat_at) WHERE status = 'running' AND heartbeat_at IS NOT NULL;
