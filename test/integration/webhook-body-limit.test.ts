import { createHmac } from "node:crypto";
import { request, type ClientRequest } from "node:http";
import nock from "nock";
import type { Server } from "probot";
import { openServices, type Services } from "../../src/app/services.js";
import { startServer } from "../../src/app/server.js";
import { loadEnv } from "../../src/config/env.js";
import { WEBHOOK_BODY_LIMIT } from "../../src/server/body-limit.js";
import { APP_ID, WEBHOOK_SECRET } from "../helpers/app.js";
import { freePort, freshDatabase } from "../helpers/db.js";
import { TEST_PRIVATE_KEY } from "../helpers/keys.js";
import { captureLog } from "../helpers/log.js";
import { issuesLabeled } from "../helpers/webhooks.js";

const MB = 1024 * 1024;
const OVERSIZED = 30 * MB;
const CHUNK = Buffer.alloc(64 * 1024, 0x20); // one buffer, written again and again: the client keeps no copy

const sign = (body: Buffer | string) => `sha256=${createHmac("sha256", WEBHOOK_SECRET).update(body).digest("hex")}`;

interface Sent {
  status: number;
  body: string;
  /** Bytes the client handed to the socket before it saw the answer (or the connection closed). */
  written: number;
  /** Whether the client wrote the whole body. */
  finished: boolean;
  /** Whether the server closed the connection after its answer (the client never does). */
  closed: boolean;
  /** From the start of the request to the end of the answer. */
  ms: number;
  /**
   * The highest `process.memoryUsage().arrayBuffers` seen while the request ran, minus the value
   * before: what a body's chunks cost (Buffers). The heap and RSS move too much with the garbage
   * collector's timing to tell a few MB apart.
   */
  arrayBuffersGrowth: number;
}

/**
 * POSTs `total` bytes to the webhook path over a real connection, a chunk at a time, yielding to
 * the event loop between chunks so the in-process server reads as the client writes. Stops writing
 * as soon as the answer arrives. The server runs in this process: the memory it uses is sampled
 * here every few milliseconds.
 */
function send(port: number, total: number, options: { chunked: boolean; signature?: string; body?: Buffer }): Promise<Sent> {
  const base = process.memoryUsage().arrayBuffers;
  let peak = base;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().arrayBuffers)), 2);
  const started = Date.now();
  return new Promise<Sent>((resolve, reject) => {
    let written = 0;
    let answer: { status: number; body: string; ms: number } | undefined;
    let closed = false;
    let settled = false;
    const timers: NodeJS.Timeout[] = [];
    const later = (fn: () => void, ms: number) => timers.push(setTimeout(fn, ms));
    const settle = (error?: Error) => {
      if (settled) return;
      settled = true;
      clearInterval(sampler);
      timers.forEach(clearTimeout);
      req.destroy();
      if (!answer) return reject(error ?? new Error(`no answer after ${written} bytes`));
      resolve({
        ...answer,
        written,
        finished: written >= total,
        closed,
        arrayBuffersGrowth: peak - base,
      });
    };
    const req = request({
      host: "127.0.0.1",
      port,
      method: "POST",
      path: "/api/github/webhooks",
      agent: false,
      headers: {
        "content-type": "application/json",
        "x-github-event": "issues",
        "x-github-delivery": `big-${options.chunked ? "chunked" : "length"}-${total}`,
        "x-hub-signature-256": options.signature ?? "sha256=" + "0".repeat(64),
        ...(options.chunked ? {} : { "content-length": String(total) }),
      },
    });
    req.on("response", (res) => {
      const parts: Buffer[] = [];
      res.on("data", (part: Buffer) => parts.push(part));
      res.on("end", () => {
        answer = { status: res.statusCode ?? 0, body: Buffer.concat(parts).toString(), ms: Date.now() - started };
        later(() => settle(), 1000); // a connection still open by then is left open by the server
      });
      res.on("error", (error) => settle(error));
    });
    // EPIPE or ECONNRESET once the server has closed: an answer still being read finishes first
    req.on("error", (error) => later(() => settle(error), 50));
    req.on("close", () => {
      closed = true;
      later(() => settle(), 50);
    });
    const write = async () => {
      const next = (from: number) =>
        options.body?.subarray(from, from + CHUNK.length) ?? CHUNK.subarray(0, Math.min(CHUNK.length, total - from));
      while (written < total && !answer && !req.destroyed) {
        const part = next(written);
        written += part.length;
        if (!req.write(part)) await drained(req);
        await new Promise((r) => setImmediate(r));
      }
      if (!answer && !req.destroyed) req.end();
    };
    write().catch((error: Error) => settle(error));
  });
}

/** Until the request can take more, or is closed. */
function drained(req: ClientRequest): Promise<void> {
  return new Promise((resolve) => {
    const go = () => {
      req.off("drain", go).off("close", go);
      resolve();
    };
    req.on("drain", go).on("close", go);
  });
}

describe("the webhook endpoint's body limit", () => {
  let services: Services;
  let server: Server;
  const captured = captureLog();

  beforeAll(async () => {
    nock.disableNetConnect();
    nock.enableNetConnect(/^127\.0\.0\.1/);
    const env = loadEnv({
      APP_ID: String(APP_ID),
      PRIVATE_KEY: TEST_PRIVATE_KEY,
      WEBHOOK_SECRET,
      PORT: String(await freePort()),
      HOST: "127.0.0.1",
    });
    services = await openServices(await freshDatabase("pglite"), captured.log, { maintenance: false });
    server = await startServer(env, env.github!, services, captured.log);
  });
  afterAll(async () => {
    await server.stop();
    await services.close(1000).catch(() => undefined);
    nock.enableNetConnect();
  });

  const deliveries = async () => (await services.db.query<{ id: string }>("SELECT id FROM deliveries ORDER BY id")).rows.map((r) => r.id);

  it("is GitHub's 25 MB payload cap", () => {
    expect(WEBHOOK_BODY_LIMIT).toBe(25 * MB);
  });

  it("answers 413 at once to a content-length over the limit, without reading the body", async () => {
    const sent = await send(server.port, OVERSIZED, { chunked: false });
    expect(sent.status).toBe(413);
    expect(JSON.parse(sent.body)).toEqual({ error: expect.stringMatching(/too large/i) });
    expect(sent).toMatchObject({ finished: false, closed: true });
    // Buffering the body would take 30 MB; the answer comes before the client has sent much at all.
    expect(sent.written).toBeLessThan(8 * MB);
    expect(sent.arrayBuffersGrowth).toBeLessThan(8 * MB);
  });

  it("answers 413 to a chunked body as soon as it passes the limit, and closes the connection", async () => {
    const sent = await send(server.port, OVERSIZED, { chunked: true });
    expect(sent).toMatchObject({ status: 413, finished: false, closed: true });
    expect(sent.written).toBeGreaterThan(WEBHOOK_BODY_LIMIT); // it counted the bytes up to the limit
    expect(sent.written).toBeLessThan(OVERSIZED);
    // At most the limit is kept while counting (buffering the whole body would take 30 MB and more).
    expect(sent.arrayBuffersGrowth).toBeLessThan(OVERSIZED);
  });

  it("still takes a signed delivery, with a content-length or chunked", async () => {
    const payload = JSON.stringify(issuesLabeled("ai-ready"));
    const withLength = await fetch(`http://127.0.0.1:${server.port}/api/github/webhooks`, {
      method: "POST",
      body: payload,
      headers: {
        "content-type": "application/json",
        "x-github-event": "issues",
        "x-github-delivery": "signed-length",
        "x-hub-signature-256": sign(payload),
      },
    });
    expect(withLength.status).toBe(200);
    // about 1 MB, in many chunks: JSON allows the trailing spaces, the signature covers them
    const body = Buffer.concat([Buffer.from(payload), Buffer.alloc(MB, 0x20)]);
    const chunked = await send(server.port, body.length, { chunked: true, body, signature: sign(body) });
    expect(chunked).toMatchObject({ status: 200, finished: true });
    expect(await deliveries()).toEqual(["big-chunked-" + body.length, "signed-length"]);
  });

  it("leaves the other routes alone", async () => {
    expect((await fetch(`http://127.0.0.1:${server.port}/health`)).status).toBe(200);
    expect((await fetch(`http://127.0.0.1:${server.port}/api/github/webhooks`)).status).toBe(404);
  });
});
