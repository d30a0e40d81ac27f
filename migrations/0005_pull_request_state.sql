-- What became of a run's pull request: closed, or merged (so cost per merged PR can be reported).
ALTER TABLE runs ADD COLUMN pr_state text CHECK (pr_state IN ('open', 'closed', 'merged'));
ALTER TABLE runs ADD COLUMN pr_closed_at timestamptz;
