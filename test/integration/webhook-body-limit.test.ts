import { createHmac } from "node:crypto";
import { connect, type Socket } from "node:net";
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
  /**
   * The answer's status; 0 when the connection was reset before the answer reached the client
   * (a server that closes with the client's bytes still unread sends a reset, which can overtake
   * its answer: nothing this server can prevent without reading the body).
   */
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
 * POSTs `total` bytes to the webhook path over a raw TCP connection (nock, active in this file for
 * GitHub, intercepts `http` clients and mishandles a server that answers and closes early), a chunk
 * at a time, yielding to the event loop between chunks so the in-process server reads as the
 * client writes. Stops writing as soon as the answer arrives. The server runs in this process: the
 * memory it uses is sampled here every few milliseconds.
 */
function send(port: number, total: number, options: { chunked: boolean; signature?: string; body?: Buffer }): Promise<Sent> {
  const base = process.memoryUsage().arrayBuffers;
  let peak = base;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().arrayBuffers)), 2);
  const started = Date.now();
  return new Promise<Sent>((resolve, reject) => {
    let written = 0;
    let received = Buffer.alloc(0);
    let answer: { status: number; body: string; ms: number } | undefined;
    let closed = false;
    let settled = false;
    const socket = connect(port, "127.0.0.1");
    const settle = (error?: Error) => {
      if (settled) return;
      settled = true;
      clearInterval(sampler);
      clearTimeout(linger);
      socket.destroy();
      if (!answer && !(closed && written < total)) return reject(error ?? new Error(`no answer after ${written} bytes`));
      answer ??= { status: 0, body: "", ms: Date.now() - started };
      resolve({ ...answer, written, finished: written >= total, closed, arrayBuffersGrowth: peak - base });
    };
    let linger: NodeJS.Timeout | undefined;
    socket.on("data", (data: Buffer) => {
      received = Buffer.concat([received, data]);
      const parsed = parseResponse(received);
      if (parsed && !answer) {
        answer = { ...parsed, ms: Date.now() - started };
        linger = setTimeout(() => settle(), 1000); // a connection still open by then is left open by the server
      }
    });
    // EPIPE or ECONNRESET once the server has closed: the answer, when it came, is what counts
    socket.on("error", () => undefined);
    socket.on("close", () => {
      closed = true;
      setTimeout(() => settle(), 50);
    });
    const head = [
      "POST /api/github/webhooks HTTP/1.1",
      `Host: 127.0.0.1:${port}`,
      "Content-Type: application/json",
      "X-GitHub-Event: issues",
      `X-GitHub-Delivery: big-${options.chunked ? "chunked" : "length"}-${total}`,
      `X-Hub-Signature-256: ${options.signature ?? "sha256=" + "0".repeat(64)}`,
      options.chunked ? "Transfer-Encoding: chunked" : `Content-Length: ${total}`,
      "",
      "",
    ].join("\r\n");
    const put = (data: Buffer | string) => (socket.destroyed ? true : socket.write(data));
    const write = async () => {
      await new Promise((r) => socket.once("connect", r));
      put(head);
      const next = (from: number) =>
        options.body?.subarray(from, from + CHUNK.length) ?? CHUNK.subarray(0, Math.min(CHUNK.length, total - from));
      while (written < total && !answer && !socket.destroyed) {
        const part = next(written);
        written += part.length;
        const ok = options.chunked ? put(`${part.length.toString(16)}\r\n`) && put(part) && put("\r\n") : put(part);
        if (!ok) await drained(socket);
        await new Promise((r) => setImmediate(r));
      }
      if (!answer && !socket.destroyed && options.chunked) put("0\r\n\r\n");
    };
    write().catch(() => undefined); // a write after the server closed: the close settles
  });
}

/** An HTTP/1.1 answer once it is whole: its status and body (by content-length, or chunked). */
function parseResponse(data: Buffer): { status: number; body: string } | undefined {
  const end = data.indexOf("\r\n\r\n");
  if (end < 0) return undefined;
  const head = data.subarray(0, end).toString("latin1");
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1]);
  let rest = data.subarray(end + 4);
  const length = /\r\ncontent-length: *(\d+)/i.exec(head);
  if (length) return rest.length >= Number(length[1]) ? { status, body: rest.subarray(0, Number(length[1])).toString() } : undefined;
  if (!/\r\ntransfer-encoding: *chunked/i.test(head)) return undefined;
  const parts: Buffer[] = [];
  for (;;) {
    const line = rest.indexOf("\r\n");
    if (line < 0) return undefined;
    const size = parseInt(rest.subarray(0, line).toString(), 16);
    if (size === 0) return { status, body: Buffer.concat(parts).toString() };
    if (rest.length < line + 2 + size + 2) return undefined;
    parts.push(rest.subarray(line + 2, line + 2 + size));
    rest = rest.subarray(line + 2 + size + 2);
  }
}

/** Until the socket can take more, or is closed. */
function drained(socket: Socket): Promise<void> {
  return new Promise((resolve) => {
    const go = () => {
      socket.off("drain", go).off("close", go);
      resolve();
    };
    socket.on("drain", go).on("close", go);
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
    expect([413, 0]).toContain(sent.status); // 0: reset before the answer arrived (see Sent)
    if (sent.status === 413) expect(JSON.parse(sent.body)).toEqual({ error: expect.stringMatching(/too large/i) });
    expect(sent).toMatchObject({ finished: false, closed: true });
    // Buffering the body would take 30 MB; the answer comes before the client has sent much at all.
    expect(sent.written).toBeLessThan(8 * MB);
    expect(sent.arrayBuffersGrowth).toBeLessThan(8 * MB);
  });

  it("answers 413 to the headers alone: not one byte of the declared 30 MB body is needed", async () => {
    const socket = connect(server.port, "127.0.0.1");
    let received = Buffer.alloc(0);
    const answer = new Promise<{ status: number; body: string }>((resolve, reject) => {
      socket.on("data", (data: Buffer) => {
        received = Buffer.concat([received, data]);
        const parsed = parseResponse(received);
        if (parsed) resolve(parsed);
      });
      socket.on("error", reject);
    });
    await new Promise((r) => socket.once("connect", r));
    socket.write(
      `POST /api/github/webhooks HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nX-GitHub-Event: issues\r\nX-GitHub-Delivery: headers-only\r\nContent-Length: ${OVERSIZED}\r\n\r\n`,
    );
    const sent = await answer;
    socket.destroy();
    expect(sent.status).toBe(413);
    expect(JSON.parse(sent.body)).toEqual({ error: `Payload too large: a webhook body may have at most ${WEBHOOK_BODY_LIMIT} bytes` });
  });

  it("answers 413 to a chunked body as soon as it passes the limit, and closes the connection", async () => {
    const sent = await send(server.port, OVERSIZED, { chunked: true });
    expect([413, 0]).toContain(sent.status); // 0: reset before the answer arrived (see Sent)
    expect(sent).toMatchObject({ finished: false, closed: true });
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
    // (another event: the same one again would be a replay, recorded once)
    const body = Buffer.concat([Buffer.from(JSON.stringify(issuesLabeled("ai-ready"))), Buffer.alloc(MB, 0x20)]);
    const chunked = await send(server.port, body.length, { chunked: true, body, signature: sign(body) });
    expect(chunked).toMatchObject({ status: 200, finished: true });
    expect(await deliveries()).toEqual(["big-chunked-" + body.length, "signed-length"]);
  });

  it("leaves the other routes alone", async () => {
    expect((await fetch(`http://127.0.0.1:${server.port}/health`)).status).toBe(200);
    expect((await fetch(`http://127.0.0.1:${server.port}/api/github/webhooks`)).status).toBe(404);
  });
});
