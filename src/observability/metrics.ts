/**
 * A process's Prometheus metrics, in a registry of their own (never prom-client's global one:
 * tests start several apps in one process, each with its own metrics).
 *   - web (`tollgate start`): what the database says (src/observability/database-metrics.ts),
 *     the webhook acknowledgement time, and the GenAI histograms of its in-process workers;
 *   - worker (`tollgate worker`): the GenAI histograms of the calls it makes.
 */
import { Histogram, Registry } from "prom-client";
import { GenAiMetrics } from "./genai-metrics.js";
import { registerDatabaseMetrics, type MetricsDatabase } from "./database-metrics.js";
import type { Semconv } from "./semconv.js";

export type { MetricsDatabase } from "./database-metrics.js";

export interface TollgateMetrics {
  readonly registry: Registry;
  readonly genAi: GenAiMetrics;
  /** The web process's time from a webhook request to its response; absent in a worker. */
  readonly webhookAck?: Histogram<"code">;
}

/**
 * GitHub waits 10 s for an answer before it counts a delivery as failed
 * (https://docs.github.com/en/webhooks/using-webhooks/best-practices-for-using-webhooks#respond-within-10-seconds):
 * the buckets reach there, finely below a second, where an acknowledgement should be.
 */
const ACK_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export function createMetrics(options: { semconv: Semconv; web?: MetricsDatabase }): TollgateMetrics {
  const registry = new Registry();
  const genAi = new GenAiMetrics(registry, options.semconv);
  if (!options.web) return { registry, genAi };
  registerDatabaseMetrics(registry, options.web);
  const webhookAck = new Histogram({
    name: "tollgate_webhook_ack_seconds",
    help: "Time from a webhook request to Tollgate's response, by HTTP status code.",
    labelNames: ["code"],
    buckets: ACK_BUCKETS,
    registers: [registry],
  });
  return { registry, genAi, webhookAck };
}
