import type { IncomingMessage, ServerResponse } from "node:http";
import type { Logger } from "pino";
import type { Registry } from "prom-client";
import { bearerMatches } from "./bearer.js";

export const METRICS_PATH = "/metrics";

export interface MetricsAccess {
  /** The operator token (TOLLGATE_DASHBOARD_TOKEN), asked for as `Authorization: Bearer <token>`. */
  token?: string;
  /** TOLLGATE_METRICS_PUBLIC=1: the operator chose to serve /metrics to anyone, without the token. */
  public?: boolean;
}

const TEXT = { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store" };

/** What the log says once, at start, about who may read /metrics. */
function announce(access: MetricsAccess, log: Logger): void {
  if (access.public) log.warn("/metrics is served to anyone who can reach this port (TOLLGATE_METRICS_PUBLIC=1)");
  else if (access.token === undefined)
    log.warn(
      "/metrics is refused to everyone: set TOLLGATE_DASHBOARD_TOKEN and scrape with it as a bearer token, or set TOLLGATE_METRICS_PUBLIC=1 to serve it without one",
    );
}

/**
 * `GET /metrics`: the registry in Prometheus's text format, for the operator token only
 * (`Authorization: Bearer <token>`, 401 otherwise): the ledger's spend and the installations are
 * not for whoever can reach the webhook port. Without a token configured, 403 says which variable
 * to set; TOLLGATE_METRICS_PUBLIC=1 serves it to anyone. When the database cannot be read the
 * answer is 503, the reason in the log.
 */
export function metricsHandler(registry: Registry, options: MetricsAccess & { log: Logger }) {
  announce(options, options.log);
  return async (req: IncomingMessage, res: ServerResponse): Promise<boolean> => {
    if (req.method !== "GET" || req.url?.split("?")[0] !== METRICS_PATH) return false;
    if (!options.public && options.token === undefined) {
      res
        .writeHead(403, TEXT)
        .end(
          "403 Forbidden: /metrics needs the operator token. Set TOLLGATE_DASHBOARD_TOKEN and send it as Authorization: Bearer <token>, or set TOLLGATE_METRICS_PUBLIC=1 to serve /metrics to anyone.\n",
        );
      return true;
    }
    if (!options.public && !bearerMatches(req.headers.authorization, options.token)) {
      res
        .writeHead(401, { "www-authenticate": 'Bearer realm="tollgate"', ...TEXT })
        .end("401 Unauthorized: send the operator token (TOLLGATE_DASHBOARD_TOKEN) as Authorization: Bearer <token>\n");
      return true;
    }
    let body: string;
    try {
      body = await registry.metrics();
    } catch (error) {
      options.log.warn({ err: error }, "metrics could not be read");
      res.writeHead(503, TEXT).end("503 metrics unavailable\n");
      return true;
    }
    res.writeHead(200, { "content-type": registry.contentType, "cache-control": "no-store" }).end(body);
    return true;
  };
}
