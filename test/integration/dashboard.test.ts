/**
 * The dashboard over HTTP, on both databases: who may read it (the operator token, a person
 * signed in with GitHub through the app's OAuth client, nobody else), what each page says about
 * seeded runs, the ledger's CSV, bad filters answered on the page, and the live list's events.
 * GitHub's OAuth and REST endpoints are played by nock with the network disabled.
 */
import { createServer, request, type Server } from "node:http";
import nock from "nock";
import { PRICE_OVERRIDES } from "../../src/llm/prices.js";
import { PriceBook } from "../../src/llm/pricing.js";
import type { Database } from "../../src/db/database.js";
import { BudgetStore } from "../../src/stores/budget.js";
import { dashboardHandler } from "../../src/dashboard/handler.js";
import { DashboardAuth } from "../../src/dashboard/auth.js";
import { SessionStore } from "../../src/stores/sessions.js";
import { describeEachDb, freshDatabase } from "../helpers/db.js";
import { captureLog } from "../helpers/log.js";

const NOW = new Date("2026-11-30T12:00:00Z");
const TOKEN = "operator-token-0123456789abcdef0123456789abcdef";
const OAUTH = { clientId: "Iv1.dashboardclient", clientSecret: "dashboard-client-secret-0000000000000000" };
const at = (hoursAgo: number) => new Date(NOW.getTime() - hoursAgo * 3600_000).toISOString();

async function seed(db: Database) {
  const run = async (
    repo: string,
    repositoryId: number,
    installation: number,
    issue: number,
    status: string,
    type: string,
    hoursAgo: number,
  ) =>
    (
      await db.query<{ id: string }>(
        `INSERT INTO runs (installation_id, repository_id, owner, repo, issue_number, status, ticket_type, created_at, started_at, finished_at, updated_at, iterations)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $8::timestamptz + interval '5 minutes', $8::timestamptz + interval '5 minutes', 1) RETURNING id`,
        [installation, repositoryId, repo.split("/")[0], repo.split("/")[1], issue, status, type, at(hoursAgo)],
      )
    ).rows[0]!.id;
  const call = (runId: string, installation: number, phase: string, model: string, hoursAgo: number, cost: number, cacheRead = 0) =>
    db.query(
      `INSERT INTO llm_calls (run_id, installation_id, phase, model, tier, status, latency_ms, input_tokens, output_tokens, cache_write_tokens,
         cache_write_5m_tokens, cache_write_1h_tokens, cache_read_tokens, cost_usd_micros, created_at, stop_reason)
       VALUES ($1, $2, $3, $4, $5, 'ok', 900, 1000, 200, 0, 0, 0, $6, $7, $8, 'end_turn')`,
      [runId, installation, phase, model, phase === "gate" || phase === "plan" ? "deep" : "standard", cacheRead, cost, at(hoursAgo)],
    );
  const phase = (runId: string, name: string, iteration: number, startMin: number, endMin: number) =>
    db.query(
      `INSERT INTO phases (run_id, name, iteration, status, started_at, finished_at) VALUES ($1, $2, $3, 'succeeded', $4::timestamptz + make_interval(mins => $5), $4::timestamptz + make_interval(mins => $6))`,
      [runId, name, iteration, at(2), startMin, endMin],
    );
  const shipped = await run("octo/app", 10, 1, 1, "succeeded", "bug", 2);
  const held = await run("octo/app", 10, 1, 2, "needs_spec", "bug", 1);
  const secret = await run("secret/vault", 20, 2, 3, "succeeded", "feature", 3);
  await call(shipped, 1, "gate", "claude-opus-4-7", 2, 10_000);
  await call(shipped, 1, "plan", "claude-opus-4-7", 2, 40_000, 5_000);
  await call(shipped, 1, "execute", "claude-sonnet-4-6", 2, 30_000, 20_000);
  await call(held, 1, "gate", "claude-opus-4-7", 1, 8_000);
  await call(secret, 2, "execute", "claude-sonnet-4-6", 24 * 10, 500_000); // ten days ago
  for (const [name, from, to] of [
    ["gate", 0, 1],
    ["setup", 1, 2],
    ["plan", 2, 3],
    ["execute", 3, 4],
    ["verify", 4, 5],
  ] as const)
    await phase(shipped, name, 0, from, to);
  await db.query(
    `INSERT INTO commands (run_id, phase, agent, argv, exit_code, duration_ms) VALUES ($1, 'verify', NULL, '["node","--test","test/"]', 0, 1200)`,
    [shipped],
  );
  await db.query(
    `INSERT INTO agent_events (run_id, phase, agent, turn, tool, input, output, duration_ms)
     VALUES ($1, 'execute', 'execute/greeting', 1, 'read_file', '{"path":"src/greet.js"}', 'token ghp_abcdefghijklmnopqrstuvwxyz0123456789 <script>alert(1)</script>', 3)`,
    [shipped],
  );
  return { shipped, held, secret };
}

describeEachDb("the dashboard on %s", (kind) => {
  let db: Database;
  let server: Server;
  let base: string;
  let ids: Awaited<ReturnType<typeof seed>>;
  let handler: ReturnType<typeof dashboardHandler>;
  const captured = captureLog("info");

  beforeAll(async () => {
    nock.disableNetConnect();
    nock.enableNetConnect(/^127\.0\.0\.1/);
    db = await freshDatabase(kind);
    ids = await seed(db);
    handler = dashboardHandler({
      db,
      budget: new BudgetStore(db),
      prices: new PriceBook(PRICE_OVERRIDES),
      log: captured.log,
      githubApiUrl: "https://api.github.com",
      oauth: OAUTH,
      token: TOKEN,
      dailyCapMicros: 50_000_000,
      now: () => NOW,
      live: { timers: false },
    });
    server = createServer((req, res) => void handler(req, res).then((done) => done || res.writeHead(404).end()));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  afterAll(async () => {
    handler.live.close();
    await new Promise((resolve) => server.close(resolve));
    await db.close();
    nock.enableNetConnect();
  });
  afterEach(() => {
    expect(nock.pendingMocks()).toEqual([]);
    nock.cleanAll();
  });

  const asOperator = { authorization: `Bearer ${TOKEN}` };
  const get = (path: string, headers: Record<string, string> = asOperator) => fetch(`${base}${path}`, { headers, redirect: "manual" });
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the pages' JSON, checked field by field below
  const json = async (path: string, headers?: Record<string, string>): Promise<any> => (await get(path, headers)).json();

  it("lets in the operator token and nobody else", async () => {
    const page = await get("/dashboard", { accept: "text/html" });
    expect([page.status, page.headers.get("location")]).toEqual([302, "/dashboard/login"]);
    expect((await get("/dashboard/runs?format=json", {})).status).toBe(401);
    const wrong = await get("/dashboard", { authorization: "Bearer not-the-token" });
    expect([wrong.status, wrong.headers.get("www-authenticate")]).toEqual([401, 'Bearer realm="tollgate"']);
    const ok = await get("/dashboard");
    expect(ok.status).toBe(200);
    expect(ok.headers.get("content-security-policy")).toContain("script-src 'self'");
    expect(ok.headers.get("x-frame-options")).toBe("DENY");
    expect((await fetch(`${base}/dashboard/runs`, { method: "DELETE", headers: asOperator })).status).toBe(405);
  });

  it("sums the overview from the pre-aggregates: spend windows, budgets, outcomes, what the gate saved", async () => {
    const o = await json("/dashboard?format=json");
    expect(o.windows).toEqual({ today: 88_000, week: 88_000, month: 588_000 });
    expect(o.budgets).toEqual([
      { installation: 1, capMicros: 50_000_000, spentMicros: 88_000, remainingMicros: 49_912_000, usedPct: 0 },
      { installation: 2, capMicros: 50_000_000, spentMicros: 0, remainingMicros: 50_000_000, usedPct: 0 },
    ]);
    expect(o.outcomes).toEqual([
      { status: "succeeded", runs: 2 },
      { status: "needs_spec", runs: 1 },
    ]);
    // one bug held back × the median finished bug run (the shipped one: 80,000 µ$); the gate cost 8,000 µ$ on it
    expect(o.gate).toEqual({
      rows: [{ ticketType: "bug", heldBack: 1, gateMicros: 8_000, medianMicros: 80_000, finishedRuns: 1, savedMicros: 80_000 }],
      savedMicros: 80_000,
      gateMicros: 8_000,
    });
    const byPhase = o.charts.find((c: { id: string }) => c.id === "spend-by-phase");
    expect(byPhase.labels).toHaveLength(30);
    expect(byPhase.labels.at(-1)).toBe("2026-11-30");
    expect(byPhase.datasets.map((d: { label: string; data: number[] }) => [d.label, d.data.at(-1)])).toEqual([
      ["execute", 0.03],
      ["plan", 0.04],
      ["gate", 0.018],
    ]);
    expect(o.cache.sharePct).toBeCloseTo((100 * 25_000) / (5 * 1000 + 25_000), 5);
    expect(o.tiering.deepModel).toBe("claude-opus-4-7");
  });

  it("lists runs with filters, names a bad filter on the page, and pages by keyset", async () => {
    const all = await json("/dashboard/runs?format=json");
    expect(all.map((r: { issueNumber: number }) => r.issueNumber)).toEqual([2, 1, 3]);
    const held = await json("/dashboard/runs?format=json&status=needs_spec");
    expect(held.map((r: { id: string }) => r.id)).toEqual([ids.held]);
    const one = await json("/dashboard/runs?format=json&repository=octo/app&type=bug&since=2026-11-30&until=2026-11-30");
    expect(one).toHaveLength(2);
    expect(one[1]).toMatchObject({ issueUrl: "https://github.com/octo/app/issues/1", cost: "$0.0800", duration: "5m 0s", rounds: 1 });
    const older = await json(`/dashboard/runs?format=json&before=${at(2)}_${ids.shipped}`);
    expect(older.map((r: { id: string }) => r.id)).toEqual([ids.secret]);
    const bad = await get("/dashboard/runs?status=exploded");
    expect(bad.status).toBe(400);
    expect(await bad.text()).toContain("&quot;exploded&quot; is not a run status");
  });

  it("shows a run: the timeline's bars with their cost, the calls, the commands, masked transcripts, the cost table", async () => {
    const response = await get(`/dashboard/runs/${ids.shipped}`);
    const html = await response.text();
    expect(response.status).toBe(200);
    expect(html.match(/<li class="bar /g)).toHaveLength(5);
    expect(html).toContain('data-phase="plan" data-round="0" data-cost-micros="40000"');
    expect(html).toContain("<code>node --test test/</code>");
    expect(html).not.toContain("ghp_abcdefghijklmnopqrstuvwxyz0123456789");
    expect(html).not.toContain("<script>alert(1)</script>");
    expect(html).toContain("&lt;script&gt;alert(1)&lt;/script&gt;");
    expect(html).toMatch(/<td><strong>Total<\/strong><\/td>/);
    expect(html).toContain('data-figure="run-total">$0.0800<');
    expect((await get("/dashboard/runs/00000000-0000-0000-0000-000000000000")).status).toBe(404);
    expect((await get("/dashboard/runs/not-a-uuid")).status).toBe(404);
  });

  it("rolls the ledger up like `tollgate report`, and downloads it as CSV", async () => {
    const csv = await get("/dashboard/ledger?by=repo&since=2026-11-01&until=2026-11-30&format=csv");
    expect(csv.headers.get("content-type")).toBe("text/csv; charset=utf-8");
    expect(csv.headers.get("content-disposition")).toBe('attachment; filename="tollgate-ledger-2026-11-01-2026-11-30.csv"');
    const lines = (await csv.text()).trim().split("\n");
    expect(lines[0]).toMatch(/^repo,calls,/);
    expect(lines.slice(1).map((l) => l.split(",")[0])).toEqual(["octo/app", "secret/vault"]);
    const bad = await get("/dashboard/ledger?by=planet");
    expect([bad.status, (await bad.text()).includes("&quot;planet&quot; is not a dimension")]).toEqual([400, true]);
  });

  it("signs a person in with GitHub, who then sees only the repositories GitHub says they can access", async () => {
    const start = await get("/dashboard/login/github", {});
    expect(start.status).toBe(302);
    const authorize = new URL(start.headers.get("location")!);
    expect(`${authorize.origin}${authorize.pathname}`).toBe("https://github.com/login/oauth/authorize");
    expect(authorize.searchParams.get("client_id")).toBe(OAUTH.clientId);
    const state = authorize.searchParams.get("state")!;
    const stateCookie = start.headers.get("set-cookie")!.split(";")[0]!;

    // a callback whose state is not this browser's is refused before GitHub is asked
    const forged = await get(`/dashboard/oauth/callback?code=abc&state=${"0".repeat(40)}`, { cookie: stateCookie });
    expect(forged.status).toBe(400);

    nock("https://github.com")
      .post("/login/oauth/access_token", (body) => body.code === "good-code" && body.client_secret === OAUTH.clientSecret)
      .reply(200, { access_token: "ghu_personsusertoken000000000000000000", token_type: "bearer", scope: "" });
    nock("https://api.github.com")
      .get("/user")
      .reply(200, { login: "mona", id: 42 })
      .get("/user/installations")
      .query(true)
      .reply(200, { total_count: 1, installations: [{ id: 1, account: { login: "octo" } }] })
      .get("/user/installations/1/repositories")
      .query(true)
      .reply(200, { total_count: 1, repositories: [{ id: 10, full_name: "octo/app" }] });
    const back = await get(`/dashboard/oauth/callback?code=good-code&state=${state}`, { cookie: stateCookie });
    expect([back.status, back.headers.get("location")]).toEqual([302, "/dashboard"]);
    const session = back.headers.getSetCookie().find((c) => c.startsWith("tollgate_session="))!;
    expect(session).toMatch(/HttpOnly/i);
    expect(session).toMatch(/SameSite=Lax/i);
    const cookie = { cookie: session.split(";")[0]! };

    const runs = await json("/dashboard/runs?format=json", cookie);
    expect(runs.map((r: { repo: string }) => r.repo)).toEqual(["app", "app"]);
    expect((await get(`/dashboard/runs/${ids.secret}`, cookie)).status).toBe(404);
    const o = await json("/dashboard?format=json", cookie);
    expect(o.windows.month).toBe(88_000);
    expect(o.budgets.map((b: { installation: number }) => b.installation)).toEqual([1]);
    const csv = await (await get("/dashboard/ledger?by=repo&format=csv", cookie)).text();
    expect(csv).not.toContain("secret/vault");
    const page = await (await get("/dashboard", { ...cookie, accept: "text/html" })).text();
    expect(page).toContain("<small>mona</small>");

    // signing out ends the session on the server, not just in the browser
    const out = await fetch(`${base}/dashboard/logout`, { method: "POST", headers: cookie, redirect: "manual" });
    expect(out.status).toBe(303);
    expect((await get("/dashboard/runs?format=json", cookie)).status).toBe(401);
  });

  /** The sign-in's state cookie as a browser reaching this server by `host` gets it. */
  const stateCookieFor = (headers: Record<string, string>) =>
    new Promise<string>((resolve, reject) => {
      const { port } = server.address() as { port: number };
      request({ host: "127.0.0.1", port, path: "/dashboard/login/github", headers }, (res) => {
        res.resume();
        resolve(String(res.headers["set-cookie"]?.[0]));
      })
        .on("error", reject)
        .end();
    });

  it("sends its cookies Secure unless the browser is on this machine over plain http", async () => {
    // behind a TLS proxy without TOLLGATE_PUBLIC_URL: the Host is public, the hop to us plain http
    expect(await stateCookieFor({ host: "tollgate.example.com" })).toMatch(/;\s*Secure/i);
    expect(await stateCookieFor({ host: "localhost:3000", "x-forwarded-proto": "https" })).toMatch(/;\s*Secure/i);
    expect(await stateCookieFor({ host: "localhost:3000", forwarded: "for=1.2.3.4;proto=https" })).toMatch(/;\s*Secure/i);
    // a browser on this machine: no TLS to ask for
    for (const host of ["localhost:3000", "127.0.0.1:3000", "[::1]:3000", "tollgate.localhost"])
      expect(await stateCookieFor({ host })).not.toMatch(/Secure/i);
    expect(captured.lines().some((l) => String(l.msg).startsWith("dashboard: sign-in cookies are Secure except"))).toBe(true);

    // TOLLGATE_PUBLIC_URL decides for plain-http requests: https is Secure, an explicit http:// is not
    const cookieWith = (publicUrl: string, headers: Record<string, string>) => {
      const auth = new DashboardAuth({
        sessions: new SessionStore(db),
        log: captured.log,
        githubApiUrl: "https://api.github.com",
        oauth: OAUTH,
        publicUrl,
      });
      let setCookie = "";
      const res = { writeHead: (_: number, h: Record<string, string>) => void (setCookie = h["set-cookie"]!), end: () => undefined };
      auth.startSignIn({ headers, socket: {} } as never, res as never);
      return setCookie;
    };
    expect(cookieWith("https://tollgate.example.com", { host: "localhost:3000" })).toMatch(/;\s*Secure/i);
    expect(cookieWith("http://tollgate.internal", { host: "tollgate.internal" })).not.toMatch(/Secure/i);
    expect(cookieWith("http://tollgate.internal", { host: "tollgate.internal", "x-forwarded-proto": "https" })).toMatch(/;\s*Secure/i);
    expect(captured.lines().some((l) => String(l.msg).startsWith("dashboard: TOLLGATE_PUBLIC_URL is plain http"))).toBe(true);
  });

  it("streams changes of the runs a watcher may see, and only those", async () => {
    const controller = new AbortController();
    const stream = await fetch(`${base}/dashboard/runs/events`, { headers: asOperator, signal: controller.signal });
    expect(stream.headers.get("content-type")).toBe("text/event-stream");
    const reader = stream.body!.getReader();
    const decoder = new TextDecoder();
    let text = "";
    while (!text.includes("retry:")) text += decoder.decode((await reader.read()).value);
    await db.query("UPDATE runs SET status = 'running', updated_at = now() WHERE id = $1", [ids.held]);
    await handler.live.poll();
    while (!text.includes(ids.held)) text += decoder.decode((await reader.read()).value);
    const event = text.split("\n\n").find((e) => e.includes(ids.held))!;
    expect(event).toMatch(/^event: run\ndata: /);
    expect(JSON.parse(event.split("data: ")[1]!).cells.status).toBe("running");
    controller.abort();
    await db.query("UPDATE runs SET status = 'needs_spec' WHERE id = $1", [ids.held]);
  });
});
