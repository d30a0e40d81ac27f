/**
 * How long GitHub waits for Tollgate's answer to a webhook: the time from the request to the
 * end of the response on the webhook path, in the web process. It wraps the whole webhook
 * middleware (the body limit included), so a refused or oversized delivery counts too.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Histogram } from "prom-client";
import { webhookPost } from "../server/webhook-path.js";

type NodeHandler = (req: IncomingMessage, res: ServerResponse) => Promise<unknown>;

export function timeWebhookAck(handler: NodeHandler, path: string, histogram: Histogram<"code">): NodeHandler {
  const isWebhook = webhookPost(path);
  return (req, res) => {
    if (isWebhook(req)) {
      const started = process.hrtime.bigint();
      // "finish": the whole answer was handed to the connection (a request cut off never answers)
      res.once("finish", () => histogram.observe({ code: String(res.statusCode) }, Number(process.hrtime.bigint() - started) / 1e9));
    }
    return handler(req, res);
  };
}
