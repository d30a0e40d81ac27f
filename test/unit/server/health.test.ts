import { jest } from "@jest/globals";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Database } from "../../../src/db/database.js";
import type { JobQueue } from "../../../src/queue/queue.js";
import { healthHandler } from "../../../src/server/health.js";
import { captureLog } from "../../helpers/log.js";

/** A `/health` request against stand-ins for the database and the queue; returns the parsed answer. */
async function get(handler: ReturnType<typeof healthHandler>): Promise<Record<string, unknown>> {
  let body = "";
  const res = { writeHead: () => ({ end: (text: string) => void (body = text) }) } as unknown as ServerResponse;
  await handler({ method: "GET", url: "/health" } as IncomingMessage, res);
  return JSON.parse(body) as Record<string, unknown>;
}

it("/health reads the dependency cache's size once per 30 s, not on every probe", async () => {
  const db = { kind: "pglite", query: async () => ({ rows: [{ "?column?": 1 }] }) } as unknown as Database;
  const queue = { stats: async () => [] } as unknown as JobQueue;
  let reads = 0;
  const cache = { stats: async () => ({ entries: ++reads, bytes: 0, maxBytes: 1 }) };
  const handler = healthHandler({ db, queue, log: captureLog().log, cache });
  const now = jest.spyOn(Date, "now");
  now.mockReturnValue(1_000_000);
  expect((await get(handler)).dependencyCache).toEqual({ entries: 1, bytes: 0, maxBytes: 1 });
  now.mockReturnValue(1_029_000);
  expect((await get(handler)).dependencyCache).toEqual({ entries: 1, bytes: 0, maxBytes: 1 });
  now.mockReturnValue(1_031_000);
  expect((await get(handler)).dependencyCache).toEqual({ entries: 2, bytes: 0, maxBytes: 1 });
  now.mockRestore();
});

it("/health reports the last catch-up sweep when there is one, and nothing before", async () => {
  const db = { kind: "pglite", query: async () => ({ rows: [{ "?column?": 1 }] }) } as unknown as Database;
  const queue = { stats: async () => [] } as unknown as JobQueue;
  const last: { report?: { lastRunAt: string; redelivered: number; skipped: number; failed: number; error?: string } } = {};
  const handler = healthHandler({ db, queue, log: captureLog().log, catchUp: () => last.report });
  expect(await get(handler)).not.toHaveProperty("catchUp");
  last.report = { lastRunAt: "2025-06-01T12:00:00.000Z", redelivered: 3, skipped: 1, failed: 0, error: "GitHub answered HTTP 500" };
  expect((await get(handler)).catchUp).toEqual(last.report);
  expect((await get(handler)).status).toBe("ok"); // informative: never a reason for a 503
});
