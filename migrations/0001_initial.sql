-- Tollgate's first schema. Later changes come as new numbered files; never edit an applied one.

-- The job queue's (pg-boss) schema, created here under the migration lock: when two processes
-- start at once, pg-boss's own installer races on creating the schema itself, but not on
-- anything inside an existing one.
CREATE SCHEMA IF NOT EXISTS pgboss;

-- Every webhook delivery Tollgate acted on, keyed by X-GitHub-Delivery (unchanged on redelivery).
CREATE TABLE deliveries (
  id              text PRIMARY KEY,
  event           text NOT NULL,
  action          text,
  installation_id bigint,
  repository      text,
  sender          text,
  job_id          uuid,
  status          text NOT NULL DEFAULT 'received'
                  CHECK (status IN ('received', 'done', 'ignored', 'failed')),
  detail          text,
  received_at     timestamptz NOT NULL DEFAULT now(),
  finished_at     timestamptz
);

-- One run per trigger: an issue run (gate → … → publish) or a revision of a PR.
CREATE TABLE runs (
  id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  kind               text NOT NULL DEFAULT 'issue' CHECK (kind IN ('issue', 'revise')),
  delivery_id        text REFERENCES deliveries (id),
  installation_id    bigint NOT NULL,
  repository_id      bigint NOT NULL,
  owner              text NOT NULL,
  repo               text NOT NULL,
  issue_number       integer NOT NULL,
  pr_number          integer,
  status             text NOT NULL DEFAULT 'queued',
  ticket_type        text,
  budget_usd_micros  bigint,
  iterations         integer NOT NULL DEFAULT 0,
  error              text,
  created_at         timestamptz NOT NULL DEFAULT now(),
  started_at         timestamptz,
  finished_at        timestamptz,
  updated_at         timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX runs_delivery_once ON runs (delivery_id) WHERE delivery_id IS NOT NULL;
-- At most one active run per issue.
CREATE UNIQUE INDEX runs_one_active_per_issue ON runs (repository_id, issue_number)
  WHERE status IN ('queued', 'running');
CREATE INDEX runs_by_repo ON runs (owner, repo, created_at);

-- One row per phase attempt, with its checkpointed output.
CREATE TABLE phases (
  id           bigserial PRIMARY KEY,
  run_id       uuid NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  name         text NOT NULL,
  iteration    integer NOT NULL DEFAULT 0,
  attempt      integer NOT NULL DEFAULT 1,
  status       text NOT NULL DEFAULT 'running'
               CHECK (status IN ('running', 'succeeded', 'failed', 'cancelled')),
  output       jsonb,
  error        text,
  started_at   timestamptz NOT NULL DEFAULT now(),
  finished_at  timestamptz,
  UNIQUE (run_id, name, iteration, attempt)
);

-- One row per model call, successful or not. Token columns are NULL where the provider did not
-- say (never an invented 0); cost is in integer micro-dollars, NULL when the price is unknown.
CREATE TABLE llm_calls (
  id                     bigserial PRIMARY KEY,
  run_id                 uuid REFERENCES runs (id) ON DELETE SET NULL,
  installation_id        bigint,
  phase                  text NOT NULL,
  agent                  text,
  iteration              integer NOT NULL DEFAULT 0,
  attempt                integer NOT NULL DEFAULT 1,
  provider               text NOT NULL DEFAULT 'anthropic',
  tier                   text,
  model                  text NOT NULL,
  status                 text NOT NULL CHECK (status IN ('ok', 'error')),
  input_tokens           integer,
  output_tokens          integer,
  cache_write_5m_tokens  integer,
  cache_write_1h_tokens  integer,
  cache_read_tokens      integer,
  cost_usd_micros        bigint,
  latency_ms             integer NOT NULL,
  stop_reason            text,
  request_id             text,
  prompt_id              text,
  prompt_sha256          text,
  error                  text,
  raw_usage              jsonb,
  created_at             timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX llm_calls_by_run ON llm_calls (run_id, phase);
CREATE INDEX llm_calls_by_day ON llm_calls (installation_id, created_at);

-- Commands the agents and the verify phase ran.
CREATE TABLE commands (
  id            bigserial PRIMARY KEY,
  run_id        uuid REFERENCES runs (id) ON DELETE CASCADE,
  phase         text NOT NULL,
  agent         text,
  argv          jsonb NOT NULL,
  cwd           text,
  exit_code     integer,
  signal        text,
  timed_out     boolean NOT NULL DEFAULT false,
  duration_ms   integer NOT NULL,
  output_bytes  integer,
  created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX commands_by_run ON commands (run_id);
