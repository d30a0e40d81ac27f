import type { Logger } from "pino";
import type { Database } from "../db/database.js";
import { migrate } from "../db/migrate.js";
import type { IntakePressure } from "../queue/intake.js";
import { JobQueue, type JobQueueOptions } from "../queue/queue.js";
import { openStores, type Stores } from "../stores/index.js";

export interface Services extends Stores {
  db: Database;
  queue: JobQueue;
  /** The process's webhook intake, when it has a web server and workers both (src/queue/intake.ts). */
  intake?: IntakePressure;
  /** Stops taking jobs, lets the ones in hand finish (up to `timeoutMs`), closes the database. */
  close(timeoutMs?: number): Promise<void>;
}

/**
 * Applies the migrations (Tollgate's and the queue's) on an open database and starts the queue.
 * The services own the database from here: `close()` closes it.
 */
export async function openServices(
  database: Database,
  log: Logger,
  queueOptions: JobQueueOptions & { intake?: IntakePressure } = {},
): Promise<Services> {
  try {
    const applied = await migrate(database);
    if (applied.length) log.info({ applied }, "database migrated");
    const queue = new JobQueue(database, log.child({ name: "queue" }), queueOptions);
    await queue.start();
    return {
      db: database,
      queue,
      intake: queueOptions.intake,
      ...openStores(database),
      async close(timeoutMs = 25_000) {
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
