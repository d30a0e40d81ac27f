import type { Logger } from "pino";
import pRetry from "p-retry";
import type { AppEnv } from "../config/env.js";
import type { Database } from "./database.js";
import { openPostgres } from "./pg.js";
import { openPglite } from "./pglite.js";
import { RetryableError } from "../errors.js";

/**
 * Opens the database the environment names: Postgres when `DATABASE_URL` is set, the embedded
 * PGlite otherwise. An unreachable Postgres is retried with backoff and a log line per try.
 */
export async function openDatabase(
  env: Pick<AppEnv, "database" | "dbConnectAttempts">,
  log: Logger,
  options: { minTimeoutMs?: number } = {},
): Promise<Database> {
  const config = env.database;
  if (config.kind === "pglite") {
    log.info({ dataDir: config.dataDir }, "using the embedded database (set DATABASE_URL to use PostgreSQL)");
    return openPglite(config.dataDir);
  }
  const db = openPostgres(config.url, { onError: (error) => log.warn({ err: error }, "an idle PostgreSQL connection failed") });
  const where = describe(config.url);
  try {
    // Rewrapped so that p-retry sees an Error of this realm whatever the driver threw.
    const probe = () =>
      db.query("SELECT 1").catch((e: unknown) => Promise.reject(new Error(String((e as Error)?.message ?? e), { cause: e })));
    await pRetry(probe, {
      retries: env.dbConnectAttempts - 1,
      minTimeout: options.minTimeoutMs ?? 500,
      maxTimeout: 8000,
      onFailedAttempt: ({ error, attemptNumber, retriesLeft }) => {
        log.warn(
          `PostgreSQL at ${where} is not reachable (try ${attemptNumber} of ${env.dbConnectAttempts}): ${error.message}${retriesLeft > 0 ? "; retrying" : ""}`,
        );
      },
    });
  } catch (error) {
    await db.close().catch(() => undefined);
    throw new DatabaseUnavailableError(
      `PostgreSQL at ${where} is not reachable after ${env.dbConnectAttempts} tries: ${(error as Error).message}`,
    );
  }
  return db;
}

export class DatabaseUnavailableError extends RetryableError {
  override name = "DatabaseUnavailableError";
}

/** host:port/database, never the password. */
function describe(url: string): string {
  const u = new URL(url);
  return `${u.hostname}:${u.port || 5432}${u.pathname}`;
}
