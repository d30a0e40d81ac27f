/**
 * `tollgate start` sweeps for missed deliveries once it listens: the compiled CLI in a child
 * process, against a fake GitHub (Enterprise Server, on loopback) that lists one failed delivery
 * and, asked to redeliver it, sends it to the app as GitHub would.
 */
import { createHmac } from "node:crypto";
import { createServer, type Server } from "node:http";
import { freePort } from "../helpers/db.js";
import { eventually } from "../helpers/eventually.js";
import { TEST_PRIVATE_KEY } from "../helpers/keys.js";
import { tollgate } from "../helpers/cli.js";
import { issuesLabeled } from "../helpers/webhooks.js";

const SECRET = "cli-catch-up-secret";

describe("tollgate start's catch-up", () => {
  let github: Server;
  const seen: string[] = [];
  let appUrl = "";
  const payload = JSON.stringify({ ...issuesLabeled("ai-ready"), installation: { id: 1 } });

  beforeAll(async () => {
    github = createServer((req, res) => {
      seen.push(`${req.method} ${req.url}`);
      const json = (status: number, body: unknown) =>
        res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
      if (req.method === "GET" && req.url?.startsWith("/api/v3/app/hook/deliveries")) {
        const failed = { id: 41, guid: "missed-1", delivered_at: new Date().toISOString(), redelivery: false, status: "timed out" };
        return json(200, [
          { ...failed, duration: 10, status_code: 0, event: "issues", action: "labeled", installation_id: 1, repository_id: 1 },
        ]);
      }
      if (req.method === "POST" && req.url === "/api/v3/app/hook/deliveries/41/attempts") {
        json(202, {});
        // GitHub sends the event again, with its original delivery id
        void fetch(appUrl, {
          method: "POST",
          body: payload,
          headers: {
            "content-type": "application/json",
            "x-github-event": "issues",
            "x-github-delivery": "missed-1",
            "x-hub-signature-256": `sha256=${createHmac("sha256", SECRET).update(payload).digest("hex")}`,
          },
        }).then((r) => seen.push(`delivered ${r.status}`));
        return;
      }
      json(404, { message: "Not Found" });
    });
    await new Promise<void>((resolve) => github.listen(0, "127.0.0.1", resolve));
  });
  afterAll(() => new Promise<void>((resolve) => github.close(() => resolve())));

  it("lists the app's deliveries when it starts, has GitHub send the missed one again, and reports it on /health", async () => {
    const port = await freePort();
    appUrl = `http://127.0.0.1:${port}/api/github/webhooks`;
    const child = tollgate(["start"], {
      APP_ID: "123",
      PRIVATE_KEY: TEST_PRIVATE_KEY,
      WEBHOOK_SECRET: SECRET,
      ANTHROPIC_API_KEY: "test-anthropic-key",
      LOG_FORMAT: "json",
      PORT: String(port),
      HOST: "127.0.0.1",
      GHE_HOST: `127.0.0.1:${(github.address() as { port: number }).port}`,
      GHE_PROTOCOL: "http",
    });
    try {
      await eventually(async () => seen.includes("delivered 200"), 60_000);
      expect(seen.filter((s) => s.startsWith("GET /api/v3/app/hook/deliveries"))).toHaveLength(1);
      // one redelivery asked for (the worker handling the redelivered event may also ask for a token)
      expect(seen.filter((s) => s.startsWith("POST /api/v3/app/hook/"))).toEqual(["POST /api/v3/app/hook/deliveries/41/attempts"]);
      const health = await eventually(async () => {
        const body = (await (await fetch(`http://127.0.0.1:${port}/health`)).json()) as { catchUp?: { redelivered: number } };
        return body.catchUp && body;
      });
      expect(health.catchUp).toMatchObject({ redelivered: 1, failed: 0 });
    } finally {
      child.proc.kill("SIGTERM");
      expect(await child.exit).toBe(0);
    }
    expect(child.stdout()).toContain('"msg":"asked GitHub to redeliver a missed webhook"');
    expect(child.stdout()).toContain('"guid":"missed-1"');
  });
});
