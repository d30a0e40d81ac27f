import type { Logger } from "pino";
import type { Database } from "../db/database.js";
import { migrate } from "../db/migrate.js";
import type { IntakePressure } from "../queue/intake.js";
import { JobQueue, type JobQueueOptions } from "../queue/queue.js";
import { Outbox, type OutboxOptions } from "../queue/outbox.js";
import { openStores, type Stores } from "../stores/index.js";

export interface Services extends Stores {
  db: Database;
  queue: JobQueue;
  /** Sends the jobs the webhook path records (src/queue/outbox.ts); `start()` it where webhooks are received. */
  outbox: Outbox;
  /** The process's webhook intake, when it has a web server (src/queue/intake.ts). */
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
  // `intake`: the web server's count of deliveries; `workersYield`: this process's workers wait for its bursts
  options: JobQueueOptions & { intake?: IntakePressure; workersYield?: boolean; outbox?: OutboxOptions } = {},
): Promise<Services> {
  try {
    const applied = await migrate(database);
    if (applied.length) log.info({ applied }, "database migrated");
    const { intake, workersYield, outbox: outboxOptions, ...queueOptions } = options;
    const queue = new JobQueue(database, log.child({ name: "queue" }), { ...queueOptions, intake: workersYield ? intake : undefined });
    await queue.start();
    const stores = openStores(database);
    const outbox = new Outbox(database, stores.deliveries, queue, log.child({ name: "outbox" }), {
      busy: intake && (() => intake.busy()),
      ...outboxOptions,
    });
    return {
      db: database,
      queue,
      outbox,
      intake,
      ...stores,
      async close(timeoutMs = 25_000) {
        try {
          await outbox.stop(); // what the webhook path recorded goes to the queue first
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
