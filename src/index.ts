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
    addHandler(healthHandler(deps.db, deps.queue));

    app.on(
      "issues.labeled",
      onIssuesLabeled((job, event) =>
        enqueueDelivery(
          deps.deliveries,
          deps.queue,
          {
            id: job.deliveryId,
            event: "issues",
            action: event.action,
            installationId: job.installationId,
            repository: `${job.repository.owner}/${job.repository.name}`,
            sender: event.sender,
          },
          { queue: QUEUE.trigger, data: job },
        ),
      ),
    );
  };
}
