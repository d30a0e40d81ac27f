// A local stand-in for Anthropic's Messages API with a fixed requests-per-minute limit, kept as a
// token bucket the way Anthropic's is (continuous refill, `-reset` = when the bucket is full
// again). Every answer carries the `anthropic-ratelimit-requests-*` headers; past the limit it
// answers 429 `rate_limit_error` with `retry-after`. Used by bench/limiter.mjs and by the
// limiter's multi-process test (test/integration/limiter-workers.test.ts).
import { createServer } from "node:http";

/**
 * Starts the fake API on a free port of 127.0.0.1. `requestsPerMinute` is the bucket's capacity,
 * refilled at that many a minute; it starts full. Returns its URL, what it saw, and `close`.
 */
export async function startFakeAnthropic({ requestsPerMinute, latencyMs = 20 }) {
  const ratePerMs = requestsPerMinute / 60_000;
  let tokens = requestsPerMinute;
  let at = Date.now();
  const seen = { accepted: [], rejected: 0 };
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (chunk) => (body += chunk));
    req.on("end", () => {
      const now = Date.now();
      tokens = Math.min(requestsPerMinute, tokens + ratePerMs * (now - at));
      at = now;
      const ok = tokens >= 1;
      if (ok) tokens -= 1;
      const headers = {
        "content-type": "application/json",
        "request-id": `req_fake_${seen.accepted.length + seen.rejected}`,
        "anthropic-ratelimit-requests-limit": String(requestsPerMinute),
        "anthropic-ratelimit-requests-remaining": String(Math.floor(tokens)),
        "anthropic-ratelimit-requests-reset": new Date(now + (requestsPerMinute - tokens) / ratePerMs).toISOString(),
      };
      if (!ok) {
        seen.rejected++;
        const retryAfter = Math.max(1, Math.ceil((1 - tokens) / ratePerMs / 1000));
        res.writeHead(429, { ...headers, "retry-after": String(retryAfter) });
        res.end(
          JSON.stringify({
            type: "error",
            error: { type: "rate_limit_error", message: "Number of requests has exceeded your rate limit" },
          }),
        );
        return;
      }
      seen.accepted.push(now);
      const model = (() => {
        try {
          return JSON.parse(body).model;
        } catch {
          return "claude-haiku-4-5";
        }
      })();
      setTimeout(() => {
        res.writeHead(200, headers);
        res.end(
          JSON.stringify({
            id: `msg_fake_${seen.accepted.length}`,
            type: "message",
            role: "assistant",
            model,
            content: [{ type: "text", text: "ok" }],
            stop_reason: "end_turn",
            stop_sequence: null,
            usage: { input_tokens: 12, output_tokens: 3, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 },
          }),
        );
      }, latencyMs);
    });
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    seen,
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}
