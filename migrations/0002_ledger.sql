-- The token ledger: what the metered model client needs beyond the first schema.

-- All cache-write tokens, also when the provider does not split them by TTL.
ALTER TABLE llm_calls ADD COLUMN cache_write_tokens integer;
-- The failure class (rate_limit, overloaded, spend_limit, …) of an attempt that failed.
ALTER TABLE llm_calls ADD COLUMN error_kind text;
ALTER TABLE llm_calls ADD COLUMN streamed boolean NOT NULL DEFAULT false;

-- Rollups over a period across every installation (`tollgate report`).
CREATE INDEX llm_calls_by_time ON llm_calls (created_at);
