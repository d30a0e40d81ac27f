/**
 * The Probot app: wires each webhook to its handler and adds the health endpoint. No logic
 * lives here; handlers receive their dependencies.
 */
import type { ApplicationFunction } from "probot";
import type { Database } from "./db/database.js";
import type { DeliveryStore } from "./queue/deliveries.js";
import { enqueueDelivery } from "./queue/enqueue.js";
import type { Delivery } from "./queue/deliveries.js";
import { EDIT_DEBOUNCE_SECONDS, QUEUE, type TriggerJob } from "./queue/jobs.js";
import type { JobQueue } from "./queue/queue.js";
import { healthHandler } from "./server/health.js";
import { onIssueChanged } from "./webhooks/issues-changed.js";
import { onIssuesLabeled } from "./webhooks/issues-labeled.js";
import { onIssueComment } from "./webhooks/issue-comment.js";

export interface AppDeps {
  db: Database;
  queue: JobQueue;
  deliveries: DeliveryStore;
}

export function tollgateApp(deps: AppDeps): ApplicationFunction {
  return (app, { addHandler }) => {
    addHandler(healthHandler(deps.db, deps.queue, app.log));
    const enqueue = (delivery: Delivery, job: TriggerJob) =>
      enqueueDelivery(deps.deliveries, deps.queue, delivery, {
        queue: QUEUE.trigger,
        data: job,
        // edits of one issue are folded together; a label or a close is acted on at once
        ...(job.kind === "edited" ? { debounce: { key: `${job.repository.id}#${job.issue.number}`, seconds: EDIT_DEBOUNCE_SECONDS } } : {}),
      });
    app.on("issues.labeled", onIssuesLabeled(enqueue));
    app.on("issue_comment.created", onIssueComment((delivery, job) => enqueueDelivery(deps.deliveries, deps.queue, delivery, { queue: QUEUE.command, data: job })));
    app.on(["issues.edited", "issues.unlabeled", "issues.closed"], onIssueChanged(enqueue));
  };
}
