-- Pre-aggregates of the ledger, kept up to date by a trigger in the same transaction as each
-- `llm_calls` row, so the dashboard and /metrics read sums instead of scanning every call:
--   ledger_daily   one row per UTC day, installation, repository, phase and model;
--   ledger_totals  the same without the day (the Prometheus counters, since the first call);
--   runs           gains the run's own sums (the runs list, the cost by ticket type).
-- Ledger rows are never updated or deleted, so sums only grow.

CREATE TABLE ledger_daily (
  day                    date NOT NULL,
  installation_id        bigint NOT NULL,  -- 0: a call with no installation (the CLI's local runs)
  repository_id          bigint NOT NULL,  -- 0: a call with no run
  repository             text NOT NULL,    -- owner/name; '' for a call with no run
  phase                  text NOT NULL,
  model                  text NOT NULL,
  calls                  integer NOT NULL DEFAULT 0,
  errors                 integer NOT NULL DEFAULT 0,
  input_tokens           bigint NOT NULL DEFAULT 0,
  cache_write_tokens     bigint NOT NULL DEFAULT 0,
  cache_write_1h_tokens  bigint NOT NULL DEFAULT 0,
  cache_read_tokens      bigint NOT NULL DEFAULT 0,
  output_tokens          bigint NOT NULL DEFAULT 0,
  cost_usd_micros        bigint NOT NULL DEFAULT 0,
  unknown_cost_calls     integer NOT NULL DEFAULT 0,
  latency_ms             bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (day, installation_id, repository_id, phase, model)
);

CREATE TABLE ledger_totals (
  installation_id        bigint NOT NULL,
  repository_id          bigint NOT NULL,
  repository             text NOT NULL,
  phase                  text NOT NULL,
  model                  text NOT NULL,
  calls                  bigint NOT NULL DEFAULT 0,
  input_tokens           bigint NOT NULL DEFAULT 0,
  cache_write_tokens     bigint NOT NULL DEFAULT 0,
  cache_read_tokens      bigint NOT NULL DEFAULT 0,
  output_tokens          bigint NOT NULL DEFAULT 0,
  cost_usd_micros        bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (installation_id, repository_id, phase, model)
);

ALTER TABLE runs ADD COLUMN llm_calls integer NOT NULL DEFAULT 0;
ALTER TABLE runs ADD COLUMN cost_usd_micros bigint NOT NULL DEFAULT 0;
ALTER TABLE runs ADD COLUMN unknown_cost_calls integer NOT NULL DEFAULT 0;
ALTER TABLE runs ADD COLUMN tokens bigint NOT NULL DEFAULT 0;
CREATE INDEX runs_by_time ON runs (created_at);
-- The dashboard's live list asks for the runs changed in the last seconds.
CREATE INDEX runs_by_update ON runs (updated_at);

CREATE FUNCTION ledger_aggregate() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  repo_id bigint := 0;
  repo_name text := '';
  run_inst bigint;
  inst bigint := coalesce(NEW.installation_id, 0);
  cache_write bigint := coalesce(NEW.cache_write_tokens, coalesce(NEW.cache_write_5m_tokens, 0) + coalesce(NEW.cache_write_1h_tokens, 0));
  unknown integer := CASE WHEN NEW.cost_usd_micros IS NULL THEN 1 ELSE 0 END;
BEGIN
  IF NEW.run_id IS NOT NULL THEN
    UPDATE runs SET llm_calls = llm_calls + 1,
                    cost_usd_micros = cost_usd_micros + coalesce(NEW.cost_usd_micros, 0),
                    unknown_cost_calls = unknown_cost_calls + unknown,
                    tokens = tokens + coalesce(NEW.input_tokens, 0) + cache_write + coalesce(NEW.cache_read_tokens, 0) + coalesce(NEW.output_tokens, 0)
     WHERE id = NEW.run_id
     RETURNING repository_id, owner || '/' || repo, installation_id INTO repo_id, repo_name, run_inst;
    repo_id := coalesce(repo_id, 0);
    repo_name := coalesce(repo_name, '');
    IF inst = 0 THEN inst := coalesce(run_inst, 0); END IF;
  END IF;
  INSERT INTO ledger_daily AS d (day, installation_id, repository_id, repository, phase, model, calls, errors,
      input_tokens, cache_write_tokens, cache_write_1h_tokens, cache_read_tokens, output_tokens,
      cost_usd_micros, unknown_cost_calls, latency_ms)
  VALUES ((NEW.created_at AT TIME ZONE 'UTC')::date, inst, repo_id, repo_name, NEW.phase, NEW.model, 1,
      CASE WHEN NEW.status = 'error' THEN 1 ELSE 0 END, coalesce(NEW.input_tokens, 0), cache_write,
      coalesce(NEW.cache_write_1h_tokens, 0), coalesce(NEW.cache_read_tokens, 0), coalesce(NEW.output_tokens, 0),
      coalesce(NEW.cost_usd_micros, 0), unknown, NEW.latency_ms)
  ON CONFLICT (day, installation_id, repository_id, phase, model) DO UPDATE SET
      repository = EXCLUDED.repository,
      calls = d.calls + 1,
      errors = d.errors + EXCLUDED.errors,
      input_tokens = d.input_tokens + EXCLUDED.input_tokens,
      cache_write_tokens = d.cache_write_tokens + EXCLUDED.cache_write_tokens,
      cache_write_1h_tokens = d.cache_write_1h_tokens + EXCLUDED.cache_write_1h_tokens,
      cache_read_tokens = d.cache_read_tokens + EXCLUDED.cache_read_tokens,
      output_tokens = d.output_tokens + EXCLUDED.output_tokens,
      cost_usd_micros = d.cost_usd_micros + EXCLUDED.cost_usd_micros,
      unknown_cost_calls = d.unknown_cost_calls + EXCLUDED.unknown_cost_calls,
      latency_ms = d.latency_ms + EXCLUDED.latency_ms;
  INSERT INTO ledger_totals AS t (installation_id, repository_id, repository, phase, model, calls,
      input_tokens, cache_write_tokens, cache_read_tokens, output_tokens, cost_usd_micros)
  VALUES (inst, repo_id, repo_name, NEW.phase, NEW.model, 1, coalesce(NEW.input_tokens, 0), cache_write,
      coalesce(NEW.cache_read_tokens, 0), coalesce(NEW.output_tokens, 0), coalesce(NEW.cost_usd_micros, 0))
  ON CONFLICT (installation_id, repository_id, phase, model) DO UPDATE SET
      repository = EXCLUDED.repository,
      calls = t.calls + 1,
      input_tokens = t.input_tokens + EXCLUDED.input_tokens,
      cache_write_tokens = t.cache_write_tokens + EXCLUDED.cache_write_tokens,
      cache_read_tokens = t.cache_read_tokens + EXCLUDED.cache_read_tokens,
      output_tokens = t.output_tokens + EXCLUDED.output_tokens,
      cost_usd_micros = t.cost_usd_micros + EXCLUDED.cost_usd_micros;
  RETURN NULL;
END
$$;

CREATE TRIGGER llm_calls_aggregate AFTER INSERT ON llm_calls FOR EACH ROW EXECUTE FUNCTION ledger_aggregate();

-- The rows recorded before this migration.
UPDATE runs r SET llm_calls = s.calls, cost_usd_micros = s.cost, unknown_cost_calls = s.unknown, tokens = s.tokens
FROM (SELECT run_id, count(*) AS calls, coalesce(sum(cost_usd_micros), 0) AS cost,
             count(*) FILTER (WHERE cost_usd_micros IS NULL) AS unknown,
             coalesce(sum(coalesce(input_tokens, 0) + coalesce(cache_write_tokens, coalesce(cache_write_5m_tokens, 0) + coalesce(cache_write_1h_tokens, 0))
                          + coalesce(cache_read_tokens, 0) + coalesce(output_tokens, 0)), 0) AS tokens
      FROM llm_calls WHERE run_id IS NOT NULL GROUP BY run_id) s
WHERE r.id = s.run_id;

INSERT INTO ledger_daily (day, installation_id, repository_id, repository, phase, model, calls, errors,
    input_tokens, cache_write_tokens, cache_write_1h_tokens, cache_read_tokens, output_tokens,
    cost_usd_micros, unknown_cost_calls, latency_ms)
SELECT (c.created_at AT TIME ZONE 'UTC')::date, coalesce(c.installation_id, r.installation_id, 0), coalesce(r.repository_id, 0),
       coalesce(r.owner || '/' || r.repo, ''), c.phase, c.model, count(*), count(*) FILTER (WHERE c.status = 'error'),
       coalesce(sum(c.input_tokens), 0),
       coalesce(sum(coalesce(c.cache_write_tokens, coalesce(c.cache_write_5m_tokens, 0) + coalesce(c.cache_write_1h_tokens, 0))), 0),
       coalesce(sum(c.cache_write_1h_tokens), 0), coalesce(sum(c.cache_read_tokens), 0), coalesce(sum(c.output_tokens), 0),
       coalesce(sum(c.cost_usd_micros), 0), count(*) FILTER (WHERE c.cost_usd_micros IS NULL), coalesce(sum(c.latency_ms), 0)
FROM llm_calls c LEFT JOIN runs r ON r.id = c.run_id
GROUP BY 1, 2, 3, 4, 5, 6;

INSERT INTO ledger_totals (installation_id, repository_id, repository, phase, model, calls, input_tokens,
    cache_write_tokens, cache_read_tokens, output_tokens, cost_usd_micros)
SELECT installation_id, repository_id, repository, phase, model, sum(calls), sum(input_tokens), sum(cache_write_tokens),
       sum(cache_read_tokens), sum(output_tokens), sum(cost_usd_micros)
FROM ledger_daily GROUP BY 1, 2, 3, 4, 5;
