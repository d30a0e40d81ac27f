-- The rate limiter's token buckets per model (src/llm/token-bucket.ts), shared by every worker
-- process on this database: each call takes from them in a transaction that holds the row.
CREATE TABLE rate_limits (
  model       text PRIMARY KEY,
  state       jsonb NOT NULL,
  updated_at  timestamptz NOT NULL DEFAULT now()
);
