/**
 * Webhooks first: while deliveries arrive in a burst, this process's workers wait before they
 * start a job, so the answers GitHub waits for (10 s, then the delivery is lost) are not queued
 * behind job work on the same event loop and, on the embedded database, the same database thread.
 *
 * A burst is `busyPerSecond` deliveries or more over the last `windowMs`. A job waits until the
 * burst is over; under load that never lets up, one job of the process starts every
 * `maxDeferMs`, so work still moves (a trickle), and the backlog shows on `/health`.
 */
export interface IntakeOptions {
  /** Deliveries per second from which the web path has priority (default 50). */
  busyPerSecond?: number;
  /** The window the rate is measured over (default 250 ms). */
  windowMs?: number;
  /** While a burst lasts, one waiting job starts this often (default every 2 s). */
  maxDeferMs?: number;
  now?: () => number;
}

export interface IntakeStats {
  /** Deliveries counted since the process started. */
  deliveries: number;
  /** Job starts that waited for a burst, and how long they waited in all. */
  deferredJobs: number;
  deferredMs: number;
}

export class IntakePressure {
  readonly #windowMs: number;
  readonly #maxDeferMs: number;
  readonly #now: () => number;
  /** The arrival times of the last `busyPerSecond × windowMs` deliveries, as a ring. */
  readonly #ring: number[];
  #next = 0;
  /** When the last job started during the burst, or when the burst began. */
  #trickled = Number.NEGATIVE_INFINITY;
  #stats: IntakeStats = { deliveries: 0, deferredJobs: 0, deferredMs: 0 };

  constructor(options: IntakeOptions = {}) {
    this.#windowMs = options.windowMs ?? 250;
    this.#maxDeferMs = options.maxDeferMs ?? 2_000;
    this.#now = options.now ?? Date.now;
    const size = Math.max(1, Math.ceil(((options.busyPerSecond ?? 50) * this.#windowMs) / 1000));
    this.#ring = new Array<number>(size).fill(Number.NEGATIVE_INFINITY);
  }

  /** A webhook delivery arrived (counted before its signature is checked: an attack is load too). */
  arrived(): void {
    const wasBusy = this.busy();
    this.#ring[this.#next] = this.#now();
    this.#next = (this.#next + 1) % this.#ring.length;
    this.#stats.deliveries++;
    if (!wasBusy && this.busy()) this.#trickled = this.#now(); // a burst begins: the first trickle is one interval in
  }

  /** True while the last window saw a burst: the oldest of the last `size` arrivals is recent. */
  busy(): boolean {
    return this.#now() - this.#ring[this.#next]! < this.#windowMs;
  }

  /**
   * Resolves at once when there is no burst; otherwise when it ends, or when this job is the one
   * that may start in this `maxDeferMs` of the burst.
   */
  async whenCalm(sleep: (ms: number) => Promise<void> = defaultSleep): Promise<void> {
    if (!this.busy()) return;
    const started = this.#now();
    const step = Math.max(1, Math.floor(this.#windowMs / 2));
    while (this.busy()) {
      const sinceTrickle = this.#now() - this.#trickled;
      if (sinceTrickle >= this.#maxDeferMs) {
        this.#trickled = this.#now();
        break;
      }
      await sleep(Math.min(step, this.#maxDeferMs - sinceTrickle));
    }
    this.#stats.deferredJobs++;
    this.#stats.deferredMs += this.#now() - started;
  }

  stats(): IntakeStats {
    return { ...this.#stats };
  }
}

function defaultSleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
