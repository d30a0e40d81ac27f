/**
 * The embedded database runs one statement at a time, on this process's thread. Queued in the
 * order they were issued, a webhook's two writes would wait behind every statement the workers
 * issued before them. Here statements wait in two lanes instead: what runs inside `asIntake()`
 * (the webhook path) goes before everything else, and one statement (or one transaction) is
 * handed to the database at a time. PostgreSQL needs none of this: it has a connection pool.
 */
import { AsyncLocalStorage } from "node:async_hooks";

const intake = new AsyncLocalStorage<true>();

/** Runs `fn` (and everything it awaits) as webhook intake: its statements go first. */
export function asIntake<T>(fn: () => T): T {
  return intake.run(true, fn);
}

export class PriorityLanes {
  readonly #first: Array<() => void> = [];
  readonly #rest: Array<() => void> = [];
  #busy = false;

  /** Runs `task` when it is its turn: intake's turn comes before any other waiting task. */
  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.#busy) await new Promise<void>((resolve) => (intake.getStore() ? this.#first : this.#rest).push(resolve));
    this.#busy = true;
    try {
      return await task();
    } finally {
      const next = this.#first.shift() ?? this.#rest.shift();
      if (next) next();
      else this.#busy = false;
    }
  }
}
