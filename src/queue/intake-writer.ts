/**
 * The webhook path's writes, committed in groups. Each delivery that Tollgate acts on is recorded
 * with the job it becomes (the outbox: src/queue/outbox.ts); in a burst, one statement for many
 * rows costs about what one row does (on the embedded database, 2–3 ms a statement however
 * many rows it writes: bench notes in docs/benchmarks.md). The deliveries that arrive while a
 * group is being written form the next group, so an idle server writes each delivery at once and
 * a busy one writes them together.
 *
 * Idle, a group's jobs are sent before its deliveries are answered; in a burst the answer goes
 * after the record alone (durable: a crash leaves the jobs to the next start), and the jobs
 * follow within the outbox's burst delay, many to a statement.
 */
import type { Logger } from "pino";
import type { Delivery, DeliveryStore, JobFold } from "../stores/deliveries.js";
import { jobIdForDelivery } from "./job-id.js";
import type { QueueName } from "./jobs.js";
import type { Outbox } from "./outbox.js";

/** `recorded`: the delivery is recorded and its job sent or on its way; `duplicate`: it was recorded before. */
export type EnqueueResult = "recorded" | "duplicate";

export interface IntakeJob {
  queue: QueueName;
  data: object;
  /** Folds into a job already waiting (edits debounced, one revision per PR) instead of a job of its own. */
  fold?: JobFold;
}

interface Pending {
  delivery: Delivery;
  job: IntakeJob;
  resolve: (result: EnqueueResult) => void;
  reject: (error: unknown) => void;
}

/** Larger groups wait for the next statement: a statement's parameters stay small. */
const MAX_GROUP = 200;

export class IntakeWriter {
  #waiting: Pending[] = [];
  #writing = false;

  /** `busy`: whether deliveries arrive in a burst now (src/queue/intake.ts); never, by default. */
  constructor(
    private readonly deliveries: DeliveryStore,
    private readonly outbox: Outbox,
    private readonly log: Logger,
    private readonly busy: () => boolean = () => false,
  ) {}

  /** Records the delivery with its job, in the next group. */
  enqueue(delivery: Delivery, job: IntakeJob): Promise<EnqueueResult> {
    return new Promise((resolve, reject) => {
      this.#waiting.push({ delivery, job, resolve, reject });
      if (this.#writing) return;
      this.#writing = true;
      setImmediate(() => void this.#drain());
    });
  }

  /**
   * Writes the waiting deliveries, a group at a time. Each group is taken after the requests
   * that are ready have been read (setImmediate runs after the event loop's I/O callbacks): on the
   * embedded database a statement runs on this thread, so without that pause the deliveries that
   * arrived during a write would only be read after the next one had started, one by one.
   */
  async #drain(): Promise<void> {
    try {
      while (this.#waiting.length > 0) {
        const group = this.#waiting.splice(0, MAX_GROUP);
        await this.#write(group);
        await new Promise((resolve) => setImmediate(resolve));
      }
    } finally {
      this.#writing = false;
    }
  }

  async #write(group: Pending[]): Promise<void> {
    let answers: Array<"new" | "seen">;
    try {
      answers = await this.deliveries.recordMany(group.map((p) => ({ delivery: p.delivery, job: outboxJob(p) })));
    } catch (error) {
      if (group.length === 1) return group[0]!.reject(error);
      // one bad delivery must not fail the others: each is written alone, and fails alone
      // the message alone: a database error carries the statement's parameters, the group's webhook content
      this.log.warn(
        { reason: (error as Error)?.message, deliveries: group.length },
        "a group of webhook writes failed: writing them one by one",
      );
      for (const p of group) await this.#write([p]);
      return;
    }
    if (answers.includes("new")) {
      if (this.busy()) this.outbox.soon();
      else await this.#sent(); // recorded, so answered all the same if the jobs are late: the outbox logs it and tries again
    }
    group.forEach((p, i) => p.resolve(answers[i] === "new" ? "recorded" : "duplicate"));
  }

  /**
   * The outbox's pass, for at most SEND_WAIT_MS: a pass also sends what other processes or a
   * crash left recorded, and the deliveries behind this group are not written until it ends.
   */
  async #sent(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<void>((resolve) => (timer = setTimeout(resolve, SEND_WAIT_MS)));
    await Promise.race([this.outbox.send().catch(() => undefined), late]);
    clearTimeout(timer);
  }
}

/** How long an idle server waits for its deliveries' jobs to be sent before it answers. */
const SEND_WAIT_MS = 1_000;

function outboxJob(p: Pending) {
  const { queue, data, fold } = p.job;
  return { queue, data, fold, id: fold ? null : jobIdForDelivery(p.delivery.id) };
}
