/**
 * Catch-up after downtime: GitHub records a delivery that failed (the app was down, or took over
 * 10 s) and never retries it. At start and then every few minutes, the web process lists the
 * app's recent deliveries and asks GitHub to send again the failed ones it never recorded
 * (src/webhooks/catch-up.ts decides which). A redelivery keeps its X-GitHub-Delivery, so one
 * that arrives twice still makes one job, and the handlers check the issue as it is now.
 */
import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import type { ProbotOctokit } from "probot";
import type { Logger } from "pino";
import type { AppEnv, GitHubAppCredentials } from "../config/env.js";
import { deliveryPages, HookRateLimitError, redeliver, type DeliveryAttempt } from "../github/hook-deliveries.js";
import type { Octokit } from "../github/issues.js";
import type { DeliveryStore } from "../stores/deliveries.js";
import { appProbot } from "./workers.js";
import type { LeaseStore } from "../stores/leases.js";
import { failedEvents, pastWindow, planCatchUp, type CatchUpReport } from "../webhooks/catch-up.js";

export interface CatchUpOptions {
  /** How far back to look (TOLLGATE_CATCHUP_HOURS); 0 turns catch-up off. */
  lookbackHours: number;
  /** Between sweeps (default 10 minutes). */
  intervalMs?: number;
  /** Redeliveries asked for in one sweep (default 100): a long outage is caught up over several. */
  maxRedeliveries?: number;
  /** Pages of 100 deliveries listed in one sweep (default 20). */
  maxPages?: number;
  /** Between two redeliveries (default 500 ms), so a backlog does not arrive as one burst. */
  spacingMs?: number;
  /** With several web processes, one sweeps at a time and the others skip (src/stores/leases.ts). */
  lease?: SweepLease;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

export interface SweepLease {
  /** True when this process may sweep now: no other process is sweeping or has just swept. */
  claim(): Promise<boolean>;
  /** The sweep is over: the others skip for a short while more. */
  release(): Promise<void>;
}

/** A sweep is claimed for this long: a process that dies sweeping frees it then. */
const CLAIM_SECONDS = 300;
/** After a sweep, the other processes' timers (set at about the same time) skip theirs for this long. */
const QUIET_SECONDS = 60;

/** The catch-up's lease on the `leases` table, held by this process. */
export function sweepLease(leases: Pick<LeaseStore, "claim" | "hold">): SweepLease {
  const holder = `${hostname()}:${process.pid}:${randomUUID()}`;
  return {
    claim: () => leases.claim("catch-up", holder, CLAIM_SECONDS),
    release: () => leases.hold("catch-up", holder, QUIET_SECONDS),
  };
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());
/** The one process there is: no lease to take. */
const alone: SweepLease = { claim: async () => true, release: async () => undefined };
/** The longest shutdown waits for a sweep in progress. */
const STOP_WAIT_MS = 1_000;

/** The app's own Octokit (its JWT: no installation), which the deliveries endpoints take. */
export function appOctokit(
  credentials: GitHubAppCredentials,
  env: Pick<AppEnv, "githubApiUrl">,
  log: Logger,
  Octokit?: typeof ProbotOctokit,
): () => Promise<Octokit> {
  const probot = appProbot(credentials, env, log, Octokit);
  return async () => (await probot.auth()) as Octokit;
}

export class CatchUp {
  #report: CatchUpReport | undefined;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<CatchUpReport> | undefined;
  #stopping = false;
  /** After a rate-limit answer: no sweep before this time. */
  #notBefore = 0;
  readonly #o: Required<CatchUpOptions>;

  constructor(
    private readonly app: () => Promise<Octokit>,
    private readonly deliveries: Pick<DeliveryStore, "recorded">,
    private readonly log: Logger,
    options: CatchUpOptions,
  ) {
    this.#o = { intervalMs: 600_000, maxRedeliveries: 100, maxPages: 20, spacingMs: 500, now: Date.now, sleep, lease: alone, ...options };
  }

  /** What the last sweep did, for /health (undefined before the first, or when catch-up is off). */
  report(): CatchUpReport | undefined {
    return this.#report;
  }

  /** Sweeps now, then every interval; the timer never keeps the process alive. */
  start(): void {
    if (this.#o.lookbackHours <= 0) return void this.log.info("catch-up of missed webhook deliveries is off (TOLLGATE_CATCHUP_HOURS=0)");
    const tick = () => void this.sweep().catch((error: unknown) => this.log.error({ err: error }, "catch-up sweep failed"));
    tick();
    this.#timer = setInterval(tick, this.#o.intervalMs).unref();
  }

  /**
   * Stops the timer and ends a sweep in progress at its next redelivery. Shutdown waits for that
   * sweep at most STOP_WAIT_MS: a request to a GitHub that does not answer (Octokit retries it)
   * must not hold SIGTERM, and a sweep left unfinished loses nothing (the next start sweeps again).
   */
  async stop(): Promise<void> {
    this.#stopping = true;
    clearInterval(this.#timer);
    if (this.#running) await Promise.race([this.#running.catch(() => undefined), sleep(STOP_WAIT_MS)]);
  }

  /** One sweep (a sweep already running is waited for, not doubled). */
  sweep(): Promise<CatchUpReport> {
    this.#running ??= this.#sweep().finally(() => (this.#running = undefined));
    return this.#running;
  }

  async #sweep(): Promise<CatchUpReport> {
    const now = this.#o.now();
    if (now < this.#notBefore) {
      this.log.info({ until: new Date(this.#notBefore).toISOString() }, "catch-up waits for GitHub's rate limit");
      return this.#report!;
    }
    const report: CatchUpReport = { lastRunAt: new Date(now).toISOString(), redelivered: 0, skipped: 0, failed: 0 };
    if (!(await this.#o.lease.claim())) {
      this.log.info("another Tollgate process is sweeping for missed deliveries, or just did: this one skips its sweep");
      this.#report = { ...report, sweptElsewhere: true };
      return this.#report;
    }
    try {
      const app = await this.app();
      const since = new Date(now - this.#o.lookbackHours * 3_600_000);
      const attempts = await this.#list(app, since);
      const recorded = await this.deliveries.recorded([...failedEvents(attempts, since).keys()]);
      const plan = planCatchUp(attempts, recorded, since, this.#o.maxRedeliveries);
      report.skipped = Object.values(plan.skipped).reduce((a, b) => a + b, 0);
      await this.#redeliver(app, plan.redeliver, report);
      this.log.info({ ...report, skippedBy: plan.skipped, listed: attempts.length }, "catch-up of missed webhook deliveries");
    } catch (error) {
      report.error = this.#failure(error);
    } finally {
      await this.#o.lease.release().catch((error: unknown) => this.log.warn({ err: error }, "the catch-up lease could not be released"));
    }
    this.#report = report;
    return report;
  }

  /** The attempts in the window, newest first, page by page until one reaches before `since`. */
  async #list(app: Octokit, since: Date): Promise<DeliveryAttempt[]> {
    const attempts: DeliveryAttempt[] = [];
    let pages = 0;
    for await (const page of deliveryPages(app, this.#o.maxPages, this.#o.now)) {
      attempts.push(...page);
      pages++;
      if (pastWindow(page, since)) return attempts;
    }
    if (pages >= this.#o.maxPages)
      this.log.warn({ pages }, "catch-up listed its most pages without reaching the look-back: older deliveries wait for a quieter sweep");
    return attempts;
  }

  async #redeliver(app: Octokit, attempts: DeliveryAttempt[], report: CatchUpReport): Promise<void> {
    for (const [i, a] of attempts.entries()) {
      if (this.#stopping) return;
      if (i > 0 && this.#o.spacingMs > 0) await this.#o.sleep(this.#o.spacingMs);
      try {
        await redeliver(app, a.id, this.#o.now);
        report.redelivered++;
        this.log.info(
          { guid: a.guid, event: a.event, action: a.action, failedWith: a.status },
          "asked GitHub to redeliver a missed webhook",
        );
      } catch (error) {
        if (error instanceof HookRateLimitError) throw error; // the rest waits for the next sweep
        report.failed++;
        this.log.warn({ guid: a.guid, status: (error as { status?: number }).status }, "GitHub refused to redeliver a webhook");
      }
    }
  }

  /** The error as /health may show it (public: a status and a reason, never a header or token). */
  #failure(error: unknown): string {
    if (error instanceof HookRateLimitError) {
      this.#notBefore = error.retryAt.getTime();
      this.log.warn({ status: error.status, until: error.retryAt.toISOString() }, "catch-up stopped by GitHub's rate limit");
      return error.message;
    }
    const status = (error as { status?: number }).status;
    this.log.error({ status, message: (error as Error).message }, "catch-up of missed webhook deliveries failed");
    return status ? `GitHub answered HTTP ${status}` : "the deliveries could not be read (see the log)";
  }
}
