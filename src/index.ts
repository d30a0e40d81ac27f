/**
 * The Probot app: wires each webhook to its handler and adds the health and metrics endpoints. No logic
 * lives here; handlers receive their dependencies.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { ApplicationFunction } from "probot";
import type { Database } from "./db/database.js";
import type { DeliveryStore } from "./stores/deliveries.js";
import { IntakeWriter } from "./queue/intake-writer.js";
import type { Delivery } from "./stores/deliveries.js";
import { EDIT_DEBOUNCE_SECONDS, QUEUE, type TriggerJob } from "./queue/jobs.js";
import type { JobQueue } from "./queue/queue.js";
import type { Outbox } from "./queue/outbox.js";
import type { IntakePressure } from "./queue/intake.js";
import { healthHandler } from "./server/health.js";
import { metricsHandler } from "./server/metrics.js";
import type { TollgateMetrics } from "./observability/metrics.js";
import type { CacheStats } from "./setup/cache.js";
import type { CatchUpReport } from "./webhooks/catch-up.js";
import { GITHUB_EVENT_AGE, type EventAge } from "./webhooks/replay.js";
import { onIssueChanged } from "./webhooks/issues-changed.js";
import { onIssuesLabeled } from "./webhooks/issues-labeled.js";
import { onIssueComment } from "./webhooks/issue-comment.js";
import { onPullRequestActivity } from "./webhooks/pull-request.js";

export interface AppDeps {
  db: Database;
  queue: JobQueue;
  deliveries: DeliveryStore;
  /** Sends the jobs the webhook path records (src/queue/outbox.ts). */
  outbox: Outbox;
  /** This process's webhook intake: in a burst, deliveries are answered once recorded (src/queue/intake.ts). */
  intake?: Pick<IntakePressure, "busy" | "stats">;
  /** The dependency cache, whose size `/health` reports. */
  cache?: { stats(): Promise<CacheStats> };
  /** The dashboard's routes (src/dashboard/handler.ts), when the server has them. */
  dashboard?: (req: IncomingMessage, res: ServerResponse) => Promise<boolean>;
  /** How long a PR's revision waits for more review comments before it starts (default 30 s). */
  reviewWaitSeconds?: number;
  /** This app's Prometheus metrics, served at `/metrics`. */
  metrics?: TollgateMetrics;
  /** The operator token (TOLLGATE_DASHBOARD_TOKEN), which `/metrics` asks for; without it, `/metrics` is refused. */
  metricsToken?: string;
  /** TOLLGATE_METRICS_PUBLIC=1: `/metrics` is served to anyone, without the token. */
  metricsPublic?: boolean;
  /** What the last catch-up sweep did (src/app/catch-up.ts), which `/health` reports. */
  catchUp?: () => CatchUpReport | undefined;
  /**
   * How old an event may be and still be acted on (src/webhooks/replay.ts): as long as GitHub keeps
   * deliveries (3 days; 7 on Enterprise Server), and the clock it is measured on.
   */
  eventAge?: EventAge;
}

export function tollgateApp(deps: AppDeps): ApplicationFunction {
  return (app, { addHandler }) => {
    addHandler(healthHandler({ ...deps, log: app.log }));
    if (deps.metrics)
      addHandler(metricsHandler(deps.metrics.registry, { token: deps.metricsToken, public: deps.metricsPublic, log: app.log }));
    if (deps.dashboard) addHandler(deps.dashboard);
    // the webhook path's writes, in groups when deliveries come in a burst (src/queue/intake-writer.ts)
    const writer = new IntakeWriter(deps.deliveries, deps.outbox, app.log, () => deps.intake?.busy() ?? false);
    const enqueue = (delivery: Delivery, job: TriggerJob) =>
      writer.enqueue(delivery, {
        queue: QUEUE.trigger,
        data: job,
        // edits of one issue are folded together; a label or a close is acted on at once
        fold:
          job.kind === "edited"
            ? { debounce: { key: `${job.repository.id}#${job.issue.number}`, seconds: EDIT_DEBOUNCE_SECONDS } }
            : undefined,
      });
    const age = deps.eventAge ?? GITHUB_EVENT_AGE;
    app.on("issues.labeled", onIssuesLabeled(enqueue, age));
    app.on(
      ["pull_request_review.submitted", "pull_request_review_comment.created", "pull_request.closed"],
      onPullRequestActivity(
        (delivery, job) =>
          writer.enqueue(delivery, {
            queue: QUEUE.revise,
            data: job,
            // one waiting revision per PR; a close is its own job, at once
            fold: {
              once:
                job.kind === "review"
                  ? { key: `${job.repository.id}#${job.pr.number}`, afterSeconds: deps.reviewWaitSeconds ?? 30 }
                  : { key: delivery.id, afterSeconds: 0 },
            },
          }),
        age,
      ),
    );
    app.on(
      "issue_comment.created",
      onIssueComment((delivery, job) => writer.enqueue(delivery, { queue: QUEUE.command, data: job }), age),
    );
    app.on(["issues.edited", "issues.unlabeled", "issues.closed"], onIssueChanged(enqueue, age));
  };
}
