/**
 * The `rate_limits` table: the rate limiter's buckets for each model, shared by every worker
 * process on one PostgreSQL. An update reads the model's row with `FOR UPDATE`, changes it and
 * writes it back in one transaction, on the database's clock, so two workers never take the same
 * room in a bucket (src/llm/rate-limiter.ts).
 */
import type { Database } from "../db/database.js";
import type { LimiterStore } from "../llm/rate-limiter.js";
import type { ModelLimits } from "../llm/token-bucket.js";

/**
 * A model not seen yet: no bucket, not blocked (token-bucket.ts's `emptyLimits`, written out so
 * that this store imports only the limiter's types: the limiter's folder uses the stores).
 */
const NOT_SEEN: ModelLimits = { buckets: {}, blockedUntil: 0 };

export class PgLimiterStore implements LimiterStore {
  constructor(private readonly db: Database) {}

  update<T>(model: string, change: (limits: ModelLimits, now: number) => T): Promise<T> {
    return this.db.transaction(async (tx) => {
      await tx.query("INSERT INTO rate_limits (model, state) VALUES ($1, $2) ON CONFLICT (model) DO NOTHING", [
        model,
        JSON.stringify(NOT_SEEN),
      ]);
      const { rows } = await tx.query<{ state: ModelLimits; now: number }>(
        "SELECT state, (extract(epoch FROM clock_timestamp()) * 1000)::float8 AS now FROM rate_limits WHERE model = $1 FOR UPDATE",
        [model],
      );
      const limits = rows[0]!.state;
      const result = change(limits, Number(rows[0]!.now));
      await tx.query("UPDATE rate_limits SET state = $2, updated_at = now() WHERE model = $1", [model, JSON.stringify(limits)]);
      return result;
    });
  }
}
