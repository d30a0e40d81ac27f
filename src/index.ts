/**
 * The Probot app: wires each webhook to its handler and adds the health endpoint. No logic
 * lives here; handlers receive their dependencies.
 */
import type { ApplicationFunction } from "probot";
import type { Database } from "./db/database.js";
import type { DeliveryStore } from "./queue/deliveries.js";
import { enqueueDelivery } from "./queue/enqueue.js";
import { QUEUE } from "./queue/jobs.js";
import type { JobQueue } from "./queue/queue.js";
import { healthHandler } from "./server/health.js";
import { onIssuesLabeled } from "./webhooks/issues-labeled.js";

export interface AppDeps {
  db: Database;
  queue: JobQueue;
  deliveries: DeliveryStore;
}

export function tollgateApp(deps: AppDeps): ApplicationFunction {
  return (app, { addHandler }) => {
    addHandler(healthHandler(deps.db, deps.queue, app.log));
    app.on(
      "issues.labeled",
      onIssuesLabeled((delivery, job) => enqueueDelivery(deps.deliveries, deps.queue, delivery, { queue: QUEUE.trigger, data: job })),
    );
  };
}
