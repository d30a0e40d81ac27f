/**
 * The outbox: the webhook path records each delivery with the job it becomes (one statement, in
 * groups: src/queue/intake-writer.ts) and answers GitHub; this sends the recorded jobs to the
 * queue, in the transaction that marks them sent, so a job is sent once, or stays recorded until
 * it is. Idle, the web path waits for its jobs to be sent before it answers, as it always did; in
 * a burst it answers after the record alone, and the jobs follow when the burst is over, or every
 * 2 s while it lasts (`soon`), 50 to a transaction. What a crash left unsent is sent at the next
 * start, and a periodic pass picks up what any process left.
 */
import type { Logger } from "pino";
import { ping, type Database, type Queryable } from "../db/database.js";
import type { ClaimedJob, DeliveryStore } from "../stores/deliveries.js";
import { QUEUE, type QueueName } from "./jobs.js";
import type { JobQueue } from "./queue.js";

export interface OutboxOptions {
  /** A pass over what is left unsent, this often (default 5 s), once `start`ed. */
  sweepMs?: number;
  /** In a burst, recorded jobs are sent once it is over, looked at this often (default 250 ms)... */
  burstDelayMs?: number;
  /** ...or after this long while it lasts (default 2 s), so other processes' workers get them. */
  maxBurstDelayMs?: number;
  /** Whether deliveries still arrive in a burst (src/queue/intake.ts); never, by default. */
  busy?: () => boolean;
  /** How the burst delay is waited out (tests end it when they choose). */
  wait?: (ms: number) => Promise<void>;
}

/**
 * Jobs sent in one transaction at most; more take another, after the requests that came in
 * meanwhile were read. On the embedded database a transaction holds the process's thread, and
 * the webhook path's records wait for it: small ones keep that wait to a few ms.
 */
const BATCH = 50;

export class Outbox {
  readonly #sweepMs: number;
  readonly #burstDelayMs: number;
  readonly #maxBurstDelayMs: number;
  readonly #busy: () => boolean;
  readonly #wait: (ms: number) => Promise<void>;
  /** The pass in progress or done, and the one asked for after it (not started yet). */
  #current: Promise<number> = Promise.resolve(0);
  #next: Promise<number> | undefined;
  #soon = false;
  #sweep: NodeJS.Timeout | undefined;
  #stopped = false;
  #started = false;

  constructor(
    private readonly db: Database,
    private readonly deliveries: DeliveryStore,
    private readonly queue: JobQueue,
    private readonly log: Logger,
    options: OutboxOptions = {},
  ) {
    this.#sweepMs = options.sweepMs ?? 5_000;
    this.#burstDelayMs = options.burstDelayMs ?? 250;
    this.#maxBurstDelayMs = options.maxBurstDelayMs ?? 2_000;
    this.#busy = options.busy ?? (() => false);
    this.#wait = options.wait ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  }

  /**
   * Sends every job recorded before this call (and any recorded meanwhile): resolves, when they
   * are, with how many were taken (sent, or set aside as unsendable). Calls while a pass runs
   * share the next one.
   */
  send(): Promise<number> {
    if (this.#next) return this.#next;
    const next = this.#current.then(
      () => this.#pass(),
      () => this.#pass(),
    );
    this.#next = next;
    this.#current = next;
    return next;
  }

  /** Sends the recorded jobs once the burst is over (or `maxBurstDelayMs` on), with those recorded until then. */
  soon(): void {
    if (this.#soon || this.#stopped) return;
    this.#soon = true;
    void (async () => {
      let waited = 0;
      do {
        await this.#wait(this.#burstDelayMs);
        waited += this.#burstDelayMs;
      } while (this.#busy() && waited < this.#maxBurstDelayMs && !this.#stopped);
      this.#soon = false;
      if (!this.#stopped) this.send().catch(() => undefined); // logged in the pass; the rows stay for the next
    })();
  }

  /** Sends what is left now (a crash's leftovers), then every `sweepMs`. */
  start(): void {
    this.#stopped = false;
    this.#started = true;
    const pass = () => void this.send().catch(() => undefined);
    pass();
    this.#sweep = setInterval(pass, this.#sweepMs);
    this.#sweep.unref();
  }

  /**
   * Stops the timers and, where it was started (a web process), sends what was recorded, so a
   * clean stop leaves nothing behind; what a slow database leaves is sent at the next start.
   */
  async stop(timeoutMs = 5_000): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#sweep);
    if (!this.#started) return;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)));
    await Promise.race([this.send().catch(() => undefined), late]);
    clearTimeout(timer);
  }

  async #pass(): Promise<number> {
    this.#next = undefined; // what is recorded from here on waits for the next pass
    let sent = 0;
    try {
      for (;;) {
        const batch = await this.#batch(BATCH).catch((error: unknown) => this.#isolate(error));
        sent += batch;
        if (batch < BATCH) return sent;
        await new Promise((resolve) => setImmediate(resolve));
      }
    } catch (error) {
      this.log.error({ reason: errorText(error), sent }, "recorded webhook jobs could not be queued: they stay recorded and are retried");
      throw error;
    }
  }

  /**
   * One transaction: takes up to `limit` recorded jobs, sends them, marks them sent. A job that
   * cannot be sent fails the whole batch, which is rolled back; `claimed` says which were in it.
   */
  async #batch(limit: number, claimed: string[] = []): Promise<number> {
    const woken: Array<{ queue: QueueName; afterSeconds: number }> = [];
    const count = await this.deliveries.takeUnsent(limit, async (jobs, tx) => {
      claimed.push(...jobs.map((j) => j.deliveryId));
      const unknown = jobs.find((j) => !QUEUES.has(j.queue));
      if (unknown) throw new UnknownQueueError(`the queue "${unknown.queue}" does not exist in this version of Tollgate`);
      for (const queue of new Set(jobs.filter((j) => !j.fold).map((j) => j.queue as QueueName))) {
        const plain = jobs.filter((j) => !j.fold && j.queue === queue);
        await this.queue.sendMany(
          queue,
          plain.map((j) => ({ data: j.data, id: j.id! })),
          tx,
        );
        woken.push({ queue, afterSeconds: 0 });
      }
      // in key order, so that two processes' passes take pg-boss's singleton keys in the same order
      for (const job of jobs.filter((j) => j.fold).sort((a, b) => foldKey(a).localeCompare(foldKey(b)))) {
        const afterSeconds = await this.#sendFolding(tx, job);
        if (afterSeconds !== undefined) woken.push({ queue: job.queue as QueueName, afterSeconds });
      }
      return jobs.length;
    });
    for (const { queue, afterSeconds } of woken) this.queue.wake(queue, afterSeconds);
    return count;
  }

  /**
   * A batch failed: its jobs are sent one at a time, so the others do not wait on one that
   * cannot be sent. That one, when the fault is the job's (data the queue refuses, a queue this
   * version does not have) and not the database's or the connection's, is set aside: its delivery
   * fails with the reason, where the operator sees it, and its job data is kept. Any other error
   * is rethrown and the jobs stay recorded for the next pass. Returns how many were taken.
   */
  async #isolate(cause: unknown): Promise<number> {
    this.log.warn({ reason: errorText(cause) }, "a batch of recorded webhook jobs could not be queued: sending them one at a time");
    let taken = 0;
    for (let i = 0; i < BATCH; i++) {
      const claimed: string[] = [];
      try {
        if ((await this.#batch(1, claimed)) === 0) break;
      } catch (error) {
        if (claimed.length !== 1 || !isTheJobsFault(error)) throw error;
        await ping(this.db); // throws when the database is the fault after all
        await this.deliveries.unsendable(claimed[0]!, `its job could not be queued: ${errorText(error)}`);
        this.log.error(
          { delivery: claimed[0], reason: errorText(error) },
          "a recorded webhook job cannot be queued: its delivery is marked failed",
        );
      }
      taken++;
    }
    return taken;
  }

  /** A job that folds into one already waiting: sends it, or records its delivery as folded. When sent, its delay. */
  async #sendFolding(tx: Queryable, job: ClaimedJob): Promise<number | undefined> {
    const queue = job.queue as QueueName;
    if (job.fold && "once" in job.fold) {
      const { key, afterSeconds } = job.fold.once;
      if (await this.queue.sendOnce(queue, job.data, key, afterSeconds, tx)) return afterSeconds;
      await this.deliveries.finish(job.deliveryId, "ignored", "folded into the job already waiting for the same pull request", { tx });
      return undefined;
    }
    const { key, seconds } = (job.fold as { debounce: { key: string; seconds: number } }).debounce;
    if (await this.queue.sendDebounced(queue, job.data, key, seconds, tx)) return 0;
    await this.deliveries.finish(job.deliveryId, "ignored", "debounced: a job for the same issue is already planned", { tx });
    return undefined;
  }
}

const QUEUES = new Set<string>(Object.values(QUEUE));

class UnknownQueueError extends Error {
  override name = "UnknownQueueError";
}

const foldKey = (job: ClaimedJob) => `${job.queue} ${job.fold && ("once" in job.fold ? job.fold.once.key : job.fold.debounce.key)}`;

/**
 * Whether an error sending one job is that job's fault: data or a class of it the queue refuses
 * (pg-boss's argument checks; PostgreSQL's data exceptions 22, integrity violations 23), or a
 * queue that does not exist. Timeouts, lost connections and full disks are not: retried later.
 */
function isTheJobsFault(error: unknown): boolean {
  if (error instanceof UnknownQueueError) return true;
  const { name, code } = error as { name?: string; code?: string };
  return name === "AssertionError" || code === "ERR_ASSERTION" || /^2[23]/.test(code ?? "");
}

/** An error's message alone: a database error carries its statement's parameters, webhook content the log need not hold. */
const errorText = (error: unknown) => (error as Error)?.message ?? String(error);
