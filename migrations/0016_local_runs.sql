-- Local runs are first-class runs. Each `tollgate run` issue file (or `tollgate eval` task) is an
-- issue of its own: a stable number per local repository, found again by this key. A local run
-- beats like a worker's (runs.heartbeat_at), so the next local run can tell one still going from
-- one whose process stopped, and closes the latter as failed instead of being blocked by it.
ALTER TABLE runs ADD COLUMN local_issue text;
CREATE INDEX runs_local_issue ON runs (repository_id, local_issue) WHERE local_issue IS NOT NULL;
