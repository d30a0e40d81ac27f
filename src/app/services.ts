import type { Logger } from "pino";
import type { AppEnv } from "../config/env.js";
import type { Database } from "../db/database.js";
import { migrate } from "../db/migrate.js";
import { openDatabase } from "../db/open.js";
import { RunStore } from "../pipeline/runs.js";
import { DeliveryStore } from "../queue/deliveries.js";
import { JobQueue } from "../queue/queue.js";

export interface Services {
  db: Database;
  queue: JobQueue;
  deliveries: DeliveryStore;
  runs: RunStore;
  /** Stops taking jobs, lets the ones in hand finish (up to `timeoutMs`), closes the database. */
  close(timeoutMs?: number): Promise<void>;
}

/** Opens the database, applies migrations (Tollgate's and the queue's) and starts the queue. */
export async function openServices(env: AppEnv, log: Logger, db?: Database): Promise<Services> {
  const database = db ?? (await openDatabase(env, log));
  try {
    const applied = await migrate(database);
    if (applied.length) log.info({ applied }, "database migrated");
    const queue = new JobQueue(database, log.child({ name: "queue" }));
    await queue.start();
    return {
      db: database,
      queue,
      deliveries: new DeliveryStore(database),
      runs: new RunStore(database),
      async close(timeoutMs = 30_000) {
        try {
          await queue.stop(timeoutMs);
        } finally {
          await database.close();
        }
      },
    };
  } catch (error) {
    await database.close().catch(() => undefined);
    throw error;
  }
}
