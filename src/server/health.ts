import type { IncomingMessage, ServerResponse } from "node:http";
import type { Logger } from "pino";
import { ping, type Database } from "../db/database.js";
import { QUEUE } from "../queue/jobs.js";
import type { JobQueue, QueueStats } from "../queue/queue.js";
import type { CacheStats } from "../setup/cache.js";
import type { CatchUpReport } from "../webhooks/catch-up.js";
import type { DeliveryStore } from "../stores/deliveries.js";
import type { IntakePressure } from "../queue/intake.js";

export const HEALTH_PATH = "/health";
/** How long `/health` reuses the dependency cache's size. */
const CACHE_STATS_MS = 30_000;

export interface HealthSources {
  db: Database;
  queue: JobQueue;
  log: Logger;
  /** How long each probe may take before it counts as failed (default 2 s). */
  timeoutMs?: number;
  /** The dependency cache, whose size is reported. */
  cache?: { stats(): Promise<CacheStats> };
  /** The last sweep for missed deliveries (src/app/catch-up.ts). */
  catchUp?: () => CatchUpReport | undefined;
  /** The recorded jobs not sent to the queue yet (src/queue/outbox.ts), part of the backlog. */
  deliveries?: Pick<DeliveryStore, "unsent">;
  /** This process's webhook intake: deliveries counted, and jobs that waited for a burst. */
  intake?: Pick<IntakePressure, "stats" | "busy">;
}

/**
 * `GET /health`: 200 with the database and queue status when both answer, 503 otherwise.
 * Load balancers and the Docker HEALTHCHECK call it.
 */
export function healthHandler({ db, queue, log, timeoutMs = 2000, cache, catchUp, deliveries, intake }: HealthSources) {
  // the cache's size is read from every entry's file: once per CACHE_STATS_MS, not on every probe
  let stats: { at: number; value: Promise<CacheStats> } | undefined;
  const cacheStats = () => {
    if (!stats || Date.now() - stats.at > CACHE_STATS_MS) stats = { at: Date.now(), value: cache!.stats() };
    const value = stats.value;
    value.catch(() => (stats = undefined)); // a failed read is not kept
    return value;
  };
  return async (req: IncomingMessage, res: ServerResponse): Promise<boolean> => {
    if (req.method !== "GET" || req.url?.split("?")[0] !== HEALTH_PATH) return false;
    const started = Date.now();
    const [database, jobs, deps] = await Promise.all([
      probe(() => ping(db), timeoutMs),
      probe(async () => ({ queues: await queue.stats(), unsent: await deliveries?.unsent() }), timeoutMs),
      cache ? probe(cacheStats, timeoutMs) : undefined,
    ]);
    const ok = database.ok && jobs.ok;
    // The endpoint is public: the reasons (host names, users) go to the log, not the answer.
    if (!ok) log.warn({ database: database.error, queue: jobs.error }, "health check failed");
    const body = {
      status: ok ? "ok" : "unavailable",
      database: { ok: database.ok, kind: db.kind },
      queue: { ok: jobs.ok, ...(jobs.ok ? { queues: jobs.value!.queues, backlog: backlog(jobs.value!.queues, jobs.value!.unsent) } : {}) },
      // the dependency cache of setup steps (src/setup/cache.ts): informative, never a reason for a 503
      ...(deps?.ok ? { dependencyCache: deps.value } : {}),
      ...(intake ? { intake: { burst: intake.busy(), ...intake.stats() } } : {}),
      // the last sweep for missed deliveries (src/app/catch-up.ts): informative too
      ...(catchUp?.() ? { catchUp: catchUp() } : {}),
      ms: Date.now() - started,
    };
    res.writeHead(ok ? 200 : 503, { "content-type": "application/json", "cache-control": "no-store" }).end(JSON.stringify(body));
    return true;
  };
}

/**
 * Jobs due that no worker has taken, over the work queues (dead letters wait for a person, not a
 * worker), and jobs the webhook path recorded that are not in the queue yet (`unsent`).
 */
function backlog(
  queues: QueueStats[],
  unsent: { count: number; oldestSeconds: number } | undefined,
): { waiting: number; oldestWaitingSeconds: number | null; unsent?: number } {
  const work = queues.filter((q) => q.name !== QUEUE.dead);
  const oldest = work.map((q) => q.oldestWaitingSeconds).filter((s): s is number => s !== null);
  if (unsent?.count) oldest.push(unsent.oldestSeconds);
  return {
    waiting: work.reduce((n, q) => n + q.waiting, 0) + (unsent?.count ?? 0),
    oldestWaitingSeconds: oldest.length ? Math.max(...oldest) : null,
    ...(unsent && { unsent: unsent.count }),
  };
}

async function probe<T>(fn: () => Promise<T>, timeoutMs: number): Promise<{ ok: boolean; value?: T; error?: string }> {
  let timer: NodeJS.Timeout | undefined;
  try {
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer in ${timeoutMs} ms`)), timeoutMs);
    });
    return { ok: true, value: await Promise.race([fn(), timeout]) };
  } catch (error) {
    return { ok: false, error: (error as Error).message };
  } finally {
    clearTimeout(timer);
  }
}
