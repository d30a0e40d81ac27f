/**
 * The live runs list: server-sent events. One poll per process (not per browser) reads the runs
 * that are active or changed since the last poll, and each open list gets those it may see.
 * Polling runs only while someone is watching.
 */
import type { ServerResponse } from "node:http";
import type { Logger } from "pino";
import type { Access } from "../stores/dashboard.js";
import type { DashboardRunStore, RunListRow } from "../stores/dashboard-runs.js";
import { runRow } from "./runs-list.js";

interface Watcher {
  res: ServerResponse;
  access: Access;
}

export const LIVE_POLL_MS = 2000;
/** A comment line now and then, so proxies do not close a quiet stream. */
const KEEPALIVE_EVERY = 15;

export class LiveRuns {
  readonly #watchers = new Set<Watcher>();
  #timer: NodeJS.Timeout | undefined;
  #since = new Date(0);
  #polls = 0;
  #sent = new Map<string, string>();

  constructor(
    private readonly runs: Pick<DashboardRunStore, "changedSince">,
    private readonly web: string,
    private readonly log: Logger,
    private readonly options: { pollMs?: number; now?: () => Date; timers?: boolean } = {},
  ) {}

  get watching(): number {
    return this.#watchers.size;
  }

  watch(res: ServerResponse, access: Access): void {
    res.writeHead(200, {
      "content-type": "text/event-stream",
      "cache-control": "no-store",
      connection: "keep-alive",
      "x-accel-buffering": "no",
    });
    res.write("retry: 5000\n\n");
    const watcher = { res, access };
    this.#watchers.add(watcher);
    res.on("close", () => {
      this.#watchers.delete(watcher);
      if (this.#watchers.size === 0) this.stop();
    });
    if (this.options.timers !== false && !this.#timer) {
      this.#since = this.#now();
      this.#timer = setInterval(() => void this.poll(), this.options.pollMs ?? LIVE_POLL_MS);
      this.#timer.unref();
    }
  }

  /** Reads what changed and sends it; the timer calls it, and tests call it directly. */
  async poll(): Promise<void> {
    if (this.#watchers.size === 0) return;
    const started = this.#now();
    let rows: RunListRow[];
    try {
      // a little overlap, so a change committed during the last poll is not missed
      rows = await this.runs.changedSince({ all: true, who: "live" }, new Date(this.#since.getTime() - 5000));
    } catch (error) {
      this.log.warn({ err: error }, "dashboard: the live runs list could not be read");
      return;
    }
    this.#since = started;
    this.#polls += 1;
    for (const row of rows) {
      const view = runRow(row, this.web, started);
      const cells = { status: view.status, phase: view.phase, rounds: String(view.rounds), cost: view.cost, duration: view.duration };
      const data = JSON.stringify({ id: row.id, cells });
      if (this.#sent.get(row.id) === data) continue;
      this.#sent.set(row.id, data);
      for (const w of this.#watchers)
        if (w.access.all || w.access.repositories.includes(row.repositoryId)) w.res.write(`event: run\ndata: ${data}\n\n`);
    }
    if (this.#sent.size > 5000) this.#sent.clear();
    if (this.#polls % KEEPALIVE_EVERY === 0) for (const w of this.#watchers) w.res.write(": keep-alive\n\n");
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  close(): void {
    this.stop();
    for (const w of this.#watchers) w.res.end();
    this.#watchers.clear();
  }

  #now(): Date {
    return this.options.now?.() ?? new Date();
  }
}
