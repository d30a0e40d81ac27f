-- Authority binds the text. An issue edit's delivery records the issue and a hash of the text the
-- edit produced, so a job that finds the issue changed since its own event can tell whose edit
-- made the text it is about to gate (src/jobs/text-authority.ts).
ALTER TABLE deliveries ADD COLUMN issue_number integer;
ALTER TABLE deliveries ADD COLUMN text_sha256 text;
CREATE INDEX deliveries_issue_text ON deliveries (repository, issue_number, text_sha256) WHERE text_sha256 IS NOT NULL;

-- A run a label started records the label event it consumed (GitHub's issue event id): the same
-- label event cannot start two runs, whatever delivery carries it.
ALTER TABLE runs ADD COLUMN label_event_id bigint;
CREATE UNIQUE INDEX runs_label_event_once ON runs (repository_id, label_event_id) WHERE label_event_id IS NOT NULL;
