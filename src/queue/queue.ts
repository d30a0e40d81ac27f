import PgBoss from "pg-boss";
import type { Logger } from "pino";
import { bossDatabase } from "../db/boss-adapter.js";
import type { Database, Queryable } from "../db/database.js";
import { QueueInspection, type QueueStats } from "../stores/queue-inspection.js";
import type { IntakePressure } from "./intake.js";
import { QUEUE, RETRY, RUN_EXPIRE_SECONDS, RUN_RETRY, type QueueName } from "./jobs.js";

const QUEUE_SETUP_LOCK = 7_146_830_298;

export interface JobQueueOptions {
  /** Run pg-boss maintenance (expiry, archiving) in this process. */
  maintenance?: boolean;
  /** Retry policy of the work queues (tests shorten the delays). */
  retry?: { retryLimit: number; retryDelay: number; retryBackoff: boolean };
  /** The run queue's retry policy (default RUN_RETRY). */
  runRetry?: { retryLimit: number; retryDelay: number; retryBackoff: boolean };
  /** This process's webhook intake: while it is in a burst, a fetched job waits before it starts (src/queue/intake.ts). */
  intake?: Pick<IntakePressure, "whenCalm">;
}

export interface JobContext<T> {
  id: string;
  data: T;
  /** 0 on the first try. */
  retryCount: number;
  retryLimit: number;
  /** True when a failure of this try is final. */
  lastTry: boolean;
}

export type JobHandler<T> = (job: JobContext<T>) => Promise<void>;

export type { QueueStats } from "../stores/queue-inspection.js";

/**
 * The job queue: pg-boss on Tollgate's own database. Web and worker processes open one each;
 * with PostgreSQL, any number of processes on any number of machines share the work.
 */
export class JobQueue {
  readonly #boss: PgBoss;
  readonly #log: Logger;
  readonly #db: Database;
  readonly #inspect: QueueInspection;
  readonly #retry: NonNullable<JobQueueOptions["retry"]>;
  readonly #runRetry: JobQueueOptions["runRetry"];
  readonly #intake: JobQueueOptions["intake"];
  /** This process's workers, by queue: a job sent here wakes them instead of waiting for a poll. */
  readonly #local = new Map<QueueName, string[]>();
  readonly #timers = new Set<NodeJS.Timeout>();
  #started = false;

  constructor(db: Database, log: Logger, options: JobQueueOptions = {}) {
    this.#log = log;
    this.#db = db;
    this.#inspect = new QueueInspection(db);
    this.#retry = options.retry ?? RETRY;
    this.#runRetry = options.runRetry;
    this.#intake = options.intake;
    this.#boss = new PgBoss({
      db: bossDatabase(db),
      schema: "pgboss",
      supervise: options.maintenance ?? true,
      schedule: false,
      migrate: true,
    });
    this.#boss.on("error", (error) => this.#log.error({ err: error }, "job queue error"));
  }

  async start(): Promise<void> {
    // Processes starting together would deadlock creating the same queues: one at a time.
    await this.#db.exclusive(QUEUE_SETUP_LOCK, async () => {
      await this.#boss.start();
      await this.#ensureQueue(QUEUE.dead, {});
      await this.#ensureQueue(QUEUE.trigger, { ...this.#retry, expireInSeconds: 15 * 60, deadLetter: QUEUE.dead });
      await this.#ensureQueue(QUEUE.command, { ...this.#retry, expireInSeconds: 15 * 60, deadLetter: QUEUE.dead });
      await this.#ensureQueue(QUEUE.revise, { ...this.#retry, policy: "short", expireInSeconds: 15 * 60, deadLetter: QUEUE.dead });
      await this.#ensureQueue(QUEUE.run, { ...(this.#runRetry ?? RUN_RETRY), expireInSeconds: RUN_EXPIRE_SECONDS, deadLetter: QUEUE.dead });
    });
    this.#started = true;
  }

  async #ensureQueue(name: QueueName, options: Omit<PgBoss.Queue, "name">): Promise<void> {
    if (await this.#boss.getQueue(name)) await this.#boss.updateQueue(name, { name, ...options });
    else await this.#boss.createQueue(name, { name, ...options });
  }

  /** Sends a job; a job with the same id already queued is kept and `false` returned. */
  async send<T extends object>(name: QueueName, data: T, id: string): Promise<boolean> {
    const sent = (await this.#boss.send(name, data, { id })) !== null;
    if (sent) this.#wake(name);
    return sent;
  }

  /**
   * Sends jobs in one statement; a job whose id is already queued is kept. In the caller's
   * transaction `tx`, the caller wakes the workers once it commits (`wake`).
   */
  async sendMany<T extends object>(name: QueueName, jobs: Array<{ data: T; id: string }>, tx?: Queryable): Promise<void> {
    if (jobs.length === 0) return;
    await this.#boss.insert(
      jobs.map((j) => ({ name, id: j.id, data: j.data })),
      tx ? { db: bossDatabase(tx) } : {},
    );
    if (!tx) this.#wake(name);
  }

  /**
   * Sends a job to start after `seconds`, unless a job with the same key is still waiting in this
   * queue (a queue with the `short` policy): returns false when it was folded into that one.
   */
  async sendOnce<T extends object>(name: QueueName, data: T, key: string, seconds: number, tx?: Queryable): Promise<boolean> {
    const sent =
      (await this.#boss.send(name, data, { singletonKey: key, startAfter: seconds, ...(tx && { db: bossDatabase(tx) }) })) !== null;
    if (sent && !tx) this.#wake(name, seconds);
    return sent;
  }

  /**
   * Sends a job unless one with the same key is already planned in this window of `seconds`
   * or the next (pg-boss's debounce); returns false when it was folded into such a job.
   */
  async sendDebounced<T extends object>(name: QueueName, data: T, key: string, seconds: number, tx?: Queryable): Promise<boolean> {
    const sent = (await this.#boss.sendDebounced(name, data, tx ? { db: bossDatabase(tx) } : {}, seconds, key)) !== null;
    if (sent && !tx) this.#wake(name);
    return sent;
  }

  /** Wakes this process's idle workers of a queue, now or when a delayed job falls due (after `send…` in a transaction). */
  wake(name: QueueName, afterSeconds = 0): void {
    this.#wake(name, afterSeconds);
  }

  /**
   * Wakes this process's idle workers of a queue (now, or when a delayed job falls due), so a
   * job sent by this process starts at once; other processes find it at their next poll. A
   * worker in the middle of a job fetches again as soon as it finishes.
   */
  #wake(name: QueueName, afterSeconds = 0): void {
    const notify = () => {
      for (const id of this.#local.get(name) ?? []) this.#boss.notifyWorker(id);
    };
    if (afterSeconds <= 0) return notify();
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      notify();
    }, afterSeconds * 1000);
    timer.unref();
    this.#timers.add(timer);
  }

  /**
   * Fails the queue's active jobs so that they are retried now rather than when they expire.
   * Only for a process that knows no other process works the queue: with the embedded
   * database (one process per data folder), every job still active at start-up was cut off by
   * a crash.
   */
  async retryOrphans(name: QueueName): Promise<string[]> {
    const ids = await this.#inspect.activeIds(name);
    for (const id of ids) await this.#boss.fail(name, id, { message: "the process running this job stopped (found at start-up)" });
    return ids;
  }

  /** Runs `task` every `ms` until the queue stops (a failed run is logged, and tried at the next tick). */
  every(ms: number, task: () => Promise<unknown>): void {
    const timer = setInterval(() => {
      task().catch((error: unknown) => this.#log.error({ err: error }, "a periodic queue task failed"));
    }, ms);
    timer.unref();
    this.#timers.add(timer);
  }

  /**
   * Starts `concurrency` polling workers on a queue. A worker that finished a job fetches the next
   * at once: pg-boss would otherwise wait out its polling interval after every job, and a backlog
   * would drain at one job a second per worker. It sleeps only when a fetch finds nothing.
   */
  async work<T>(name: QueueName, concurrency: number, handler: JobHandler<T>, pollingIntervalSeconds = 1): Promise<void> {
    for (let i = 0; i < concurrency; i++) {
      const worker: { id?: string } = {};
      worker.id = await this.#boss.work<T>(name, { includeMetadata: true, batchSize: 1, pollingIntervalSeconds }, async ([job]) => {
        if (!job) return;
        try {
          await this.#intake?.whenCalm();
          await handler({
            id: job.id,
            data: job.data,
            retryCount: job.retryCount,
            retryLimit: job.retryLimit,
            lastTry: job.retryCount >= job.retryLimit,
          });
        } finally {
          if (worker.id && this.#started) this.#boss.notifyWorker(worker.id); // there may be more: look again now
        }
      });
      this.#local.set(name, [...(this.#local.get(name) ?? []), worker.id]);
    }
  }

  /** Jobs per queue and state, in one query (the health endpoint calls this). */
  stats(): Promise<QueueStats[]> {
    return this.#inspect.stats();
  }

  /** The state of one job (tests, `tollgate` diagnostics). */
  async job(name: QueueName, id: string) {
    return this.#boss.getJobById(name, id, { includeArchive: true });
  }

  /**
   * Stops taking jobs and waits up to `timeoutMs` for the ones in hand to finish; a job still
   * running after that is failed by the queue, which counts as one of its tries: it is retried
   * by a worker later, or dead-lettered if that was its last.
   */
  async stop(timeoutMs = 25_000): Promise<void> {
    if (!this.#started) return;
    this.#started = false;
    for (const timer of this.#timers) clearInterval(timer); // clears timeouts too
    this.#timers.clear();
    this.#local.clear();
    await this.#boss.stop({ graceful: true, wait: true, timeout: timeoutMs, close: false });
  }
}
