import type { IncomingMessage, ServerResponse } from "node:http";
import type { Logger } from "pino";
import type { Registry } from "prom-client";
import { bearerMatches } from "./bearer.js";

export const METRICS_PATH = "/metrics";

/**
 * `GET /metrics`: the registry in Prometheus's text format. With an operator token
 * (TOLLGATE_DASHBOARD_TOKEN) the request must carry it as `Authorization: Bearer <token>`;
 * otherwise 401. When the database cannot be read the answer is 503, the reason in the log.
 */
export function metricsHandler(registry: Registry, options: { token?: string; log: Logger }) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<boolean> => {
    if (req.method !== "GET" || req.url?.split("?")[0] !== METRICS_PATH) return false;
    if (options.token !== undefined && !bearerMatches(req.headers.authorization, options.token)) {
      res
        .writeHead(401, {
          "www-authenticate": 'Bearer realm="tollgate"',
          "content-type": "text/plain; charset=utf-8",
          "cache-control": "no-store",
        })
        .end("401 Unauthorized: send the operator token as Authorization: Bearer <token>\n");
      return true;
    }
    let body: string;
    try {
      body = await registry.metrics();
    } catch (error) {
      options.log.warn({ err: error }, "metrics could not be read");
      res.writeHead(503, { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store" }).end("503 metrics unavailable\n");
      return true;
    }
    res.writeHead(200, { "content-type": registry.contentType, "cache-control": "no-store" }).end(body);
    return true;
  };
}
