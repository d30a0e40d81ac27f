-- Every tool call an agent made and what it got back: the run's transcript.
CREATE TABLE agent_events (
  id          bigserial PRIMARY KEY,
  run_id      uuid REFERENCES runs (id) ON DELETE CASCADE,
  phase       text NOT NULL,
  agent       text NOT NULL,
  turn        integer NOT NULL,
  tool_use_id text,
  tool        text NOT NULL,
  input       jsonb,
  output      text NOT NULL,
  is_error    boolean NOT NULL DEFAULT false,
  duration_ms integer NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX agent_events_by_run ON agent_events (run_id, agent, turn);
