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
import type { QueueName } from "./jobs.js";
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
   * Sends every job recorded before this call (and any recorded meanwhile): resolves with how
   * many were sent when they are. Calls while a pass runs share the next one.
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
    const pass = () => void this.send().catch(() => undefined);
    pass();
    this.#sweep = setInterval(pass, this.#sweepMs);
    this.#sweep.unref();
  }

  /** Stops the timers and sends what was recorded, so a clean stop leaves nothing behind. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#sweep);
    await this.send().catch(() => undefined);
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
      this.log.error({ err: error, sent }, "recorded webhook jobs could not be queued: they stay recorded and are retried");
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
      for (const queue of new Set(jobs.filter((j) => !j.fold).map((j) => j.queue as QueueName))) {
        const plain = jobs.filter((j) => !j.fold && j.queue === queue);
        await this.queue.sendMany(
          queue,
          plain.map((j) => ({ data: j.data, id: j.id! })),
          tx,
        );
        woken.push({ queue, afterSeconds: 0 });
      }
      for (const job of jobs.filter((j) => j.fold)) {
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
   * cannot be sent. That one, when the database answers otherwise (the fault is the job's, not
   * an outage), is recorded as failed with the reason, where the operator sees it, instead of
   * blocking every job behind it at each pass. Rethrows when the database itself fails.
   */
  async #isolate(cause: unknown): Promise<number> {
    this.log.warn({ err: cause }, "a batch of recorded webhook jobs could not be queued: sending them one at a time");
    let sent = 0;
    for (let i = 0; i < BATCH; i++) {
      const claimed: string[] = [];
      try {
        const one = await this.#batch(1, claimed);
        if (one === 0) break;
        sent++;
      } catch (error) {
        await ping(this.db); // throws when the database is the fault
        if (claimed.length !== 1) throw error;
        const reason = `its job could not be queued: ${(error as Error)?.message ?? error}`;
        await this.deliveries.unsendable(claimed[0]!, reason);
        this.log.error({ err: error, delivery: claimed[0] }, "a recorded webhook job cannot be queued: its delivery is marked failed");
      }
    }
    return sent;
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
