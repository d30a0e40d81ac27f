import { createHash, timingSafeEqual } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Logger } from "pino";
import type { Registry } from "prom-client";

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

/**
 * Whether `Authorization` is `Bearer <token>`, compared in constant time: both sides are hashed
 * first, so neither the token's characters nor its length show in the time the check takes.
 */
export function bearerMatches(header: string | undefined, token: string): boolean {
  const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header ?? "");
  const given = createHash("sha256")
    .update(match?.[1] ?? "")
    .digest();
  const expected = createHash("sha256").update(token).digest();
  return timingSafeEqual(given, expected) && match !== null;
}
