/**
 * A size limit on the webhook endpoint's request body, checked before Probot's webhook handler
 * reads the body (it buffers the whole body before it checks the signature, so without this an
 * unsigned POST of any size costs its size in memory).
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import getRawBody from "raw-body";
import { webhookPost } from "./webhook-path.js";

/**
 * GitHub caps webhook payloads at 25 MB and does not deliver a larger one ("Payloads are capped at
 * 25 MB. If an event generates a larger payload, GitHub will not deliver a payload for that
 * webhook event": https://docs.github.com/en/webhooks/webhook-events-and-payloads#payload-cap).
 * A bigger body is not from GitHub. Counted in MiB, the generous reading of "MB".
 */
export const WEBHOOK_BODY_LIMIT = 25 * 1024 * 1024;

/** A Node request handler as Probot's server chains them: true when it answered the request. */
export type NodeHandler = (req: IncomingMessage, res: ServerResponse) => unknown;

/**
 * Wraps the webhook handler so that a POST to `path` whose body is over `limit` bytes gets a 413
 * and a closed connection:
 * - with a `content-length` over the limit, at once, without reading the body;
 * - without one (chunked), after counting the bytes as they arrive: at most `limit` bytes are
 *   kept, and a body within the limit is handed to the webhook handler as `rawBody`, which
 *   `@octokit/webhooks` reads instead of the stream.
 * Every other request goes to `handler` untouched.
 */
export function limitWebhookBody(handler: NodeHandler, path: string, limit = WEBHOOK_BODY_LIMIT) {
  const isWebhook = webhookPost(path);
  return async (req: IncomingMessage, res: ServerResponse): Promise<unknown> => {
    if (!isWebhook(req)) return handler(req, res);
    const declared = req.headers["content-length"];
    if (declared !== undefined) {
      // Node's parser has checked that it is a number and will deliver no more than it says.
      if (Number(declared) > limit) return tooLarge(req, res, limit);
      return handler(req, res);
    }
    const body = await readAtMost(req, limit);
    if (body === "aborted") {
      res.destroy();
      return true;
    }
    if (body === "too large") return tooLarge(req, res, limit);
    return handler(Object.assign(req, { body: {}, rawBody: body }), res);
  };
}

/** 413, and the connection is closed once the answer is out: the rest of the body is not read. */
function tooLarge(req: IncomingMessage, res: ServerResponse, limit: number): true {
  const body = JSON.stringify({ error: `Payload too large: a webhook body may have at most ${limit} bytes` });
  req.pause();
  res.writeHead(413, { "content-type": "application/json", "content-length": Buffer.byteLength(body), connection: "close" }).end(body);
  return true;
}

/** The body, if it ends within `limit` bytes (raw-body stops reading as soon as it is over). */
async function readAtMost(req: IncomingMessage, limit: number): Promise<Buffer | "too large" | "aborted"> {
  try {
    return await getRawBody(req, { limit });
  } catch (error) {
    return (error as { type?: string }).type === "entity.too.large" ? "too large" : "aborted";
  }
}
