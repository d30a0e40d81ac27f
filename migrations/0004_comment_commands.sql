-- Every comment command Tollgate acted on (/retry, /cancel, /approve, /budget…), who gave it and
-- what came of it: the audit trail of people steering runs.
CREATE TABLE comment_commands (
  id              bigserial PRIMARY KEY,
  delivery_id     text NOT NULL UNIQUE,
  installation_id bigint NOT NULL,
  owner           text NOT NULL,
  repo            text NOT NULL,
  issue_number    integer NOT NULL,
  comment_id      bigint NOT NULL,
  sender          text NOT NULL,
  command         text NOT NULL,
  run_id          uuid REFERENCES runs (id) ON DELETE SET NULL,
  outcome         text NOT NULL CHECK (outcome IN ('done', 'refused', 'invalid')),
  detail          text,
  created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX comment_commands_by_issue ON comment_commands (owner, repo, issue_number, created_at);
