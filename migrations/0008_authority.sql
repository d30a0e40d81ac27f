-- Who authorised a run: the labeller with write access (also for a run an edit re-gated), the
-- `/approve`r or `/retry`er, the reviewers a revision answers. NULL for runs from before.
ALTER TABLE runs ADD COLUMN authorized_by text;

-- Answers Tollgate gives at most once in a while on an issue: to a person without access (the
-- subject is their login), or the notice that edits re-run the gate too often (the subject is
-- `:gate-limit`, which no login can be). Every refusal counts; `answered_at` is the last answer.
CREATE TABLE refusals (
  repository_id  bigint NOT NULL,
  issue_number   integer NOT NULL,
  subject        text NOT NULL,
  refused        integer NOT NULL DEFAULT 1,
  answered_at    timestamptz NOT NULL DEFAULT now(),
  last_at        timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (repository_id, issue_number, subject)
);

-- Edits that re-ran the gate, counted per issue for the rate limit.
CREATE INDEX runs_by_issue_time ON runs (repository_id, issue_number, created_at);
