/**
 * A `tollgate worker` process's own /metrics (TOLLGATE_WORKER_METRICS_PORT): the GenAI histograms
 * of the model calls it makes, which no other process sees. The same operator token protects it
 * (or TOLLGATE_METRICS_PUBLIC=1 opens it), as the web process's.
 */
import { createServer, type Server } from "node:http";
import type { Logger } from "pino";
import { metricsHandler, type MetricsAccess } from "../server/metrics.js";
import type { TollgateMetrics } from "./metrics.js";

export interface MetricsServer {
  port: number;
  close(): Promise<void>;
}

export async function serveMetrics(
  metrics: TollgateMetrics,
  options: MetricsAccess & { port: number; host?: string; log: Logger },
): Promise<MetricsServer> {
  const handle = metricsHandler(metrics.registry, { token: options.token, public: options.public, log: options.log });
  const server: Server = createServer((req, res) => {
    handle(req, res).then(
      (answered) => answered || res.writeHead(404, { "content-type": "text/plain; charset=utf-8" }).end("404 Not Found: try /metrics\n"),
      (error: unknown) => {
        options.log.warn({ err: error }, "metrics request failed");
        if (!res.headersSent) res.writeHead(500).end();
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : options.port;
  options.log.info({ port }, "worker metrics at /metrics");
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections(); // a scraper's keep-alive connection would hold the close
      }),
  };
}
