-- Budgets that cannot be overrun. Before a model call, its worst case is reserved here (in the
-- database, so every worker and every parallel unit sees the others' calls in flight); the
-- ledger row of the call settles it. A reservation never settled (the worker died mid-call)
-- stays counted as spent.
CREATE TABLE budget_reservations (
  id               bigserial PRIMARY KEY,
  run_id           uuid,
  installation_id  bigint,
  phase            text NOT NULL,
  micros           bigint NOT NULL CHECK (micros >= 0),
  created_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX budget_reservations_by_run ON budget_reservations (run_id);
CREATE INDEX budget_reservations_by_installation ON budget_reservations (installation_id, created_at);

-- What the call had reserved: a call whose cost is unknown (no usage reported) counts as this.
ALTER TABLE llm_calls ADD COLUMN reserved_usd_micros bigint;

-- The operator's caps for one installation (`tollgate caps`), over the environment's defaults.
CREATE TABLE installation_caps (
  installation_id   bigint PRIMARY KEY,
  daily_usd_micros  bigint CHECK (daily_usd_micros > 0),
  run_usd_micros    bigint CHECK (run_usd_micros > 0),
  updated_at        timestamptz NOT NULL DEFAULT now()
);
