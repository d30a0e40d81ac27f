/**
 * How long GitHub waits for Tollgate's answer to a webhook: the time from the request to the
 * end of the response on the webhook path, in the web process. It wraps the whole webhook
 * middleware (the body limit included), so a refused or oversized delivery counts too.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Histogram } from "prom-client";

type NodeHandler = (req: IncomingMessage, res: ServerResponse) => Promise<unknown>;

export function timeWebhookAck(handler: NodeHandler, path: string, histogram: Histogram<"code">): NodeHandler {
  const webhookPath = trimSlashes(path);
  return (req, res) => {
    if (req.method === "POST" && pathOf(req.url) === webhookPath) {
      const started = process.hrtime.bigint();
      // "finish": the whole answer was handed to the connection (a request cut off never answers)
      res.once("finish", () => histogram.observe({ code: String(res.statusCode) }, Number(process.hrtime.bigint() - started) / 1e9));
    }
    return handler(req, res);
  };
}

function pathOf(url: string | undefined): string | undefined {
  try {
    return trimSlashes(new URL(url ?? "", "http://localhost").pathname);
  } catch {
    return undefined;
  }
}

function trimSlashes(path: string): string {
  return path.replace(/\/+$/, "") || "/";
}
