/**
 * The dashboard in a real headless browser (Debian's Chromium, driven by playwright-core), after
 * a whole scripted run: the overview, the runs list and the run page load without a console
 * error, show the run with the same total as the PR's cost table, draw their charts, and the
 * timeline has a bar for every phase the run went through. A person signed in with GitHub who
 * cannot access the repository does not see the run. Each page's screenshot is written (laptop,
 * and the overview on a phone): to docs/dashboard/ with TOLLGATE_SCREENSHOTS=1, to commit when
 * the pages change; otherwise to a temporary folder, so a test run leaves the tree as it was.
 */
import { mkdirSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { createServer, type Server } from "node:http";
import { fileURLToPath } from "node:url";
import nock from "nock";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import { dashboardHandler } from "../../src/dashboard/handler.js";
import { formatUsd } from "../../src/llm/money.js";
import { cacheUse, MAX_BREAKPOINTS } from "../../src/llm/prompt-cache.js";
import { PRICE_OVERRIDES } from "../../src/llm/prices.js";
import { PriceBook } from "../../src/llm/pricing.js";
import { captureLog } from "../helpers/log.js";
import { RUN_OWNER, RUN_REPO, scriptedRun, type ScriptedRun } from "../helpers/scripted-run.js";

const CHROMIUM = "/usr/bin/chromium";
const SHOTS =
  process.env.TOLLGATE_SCREENSHOTS === "1"
    ? fileURLToPath(new URL("../../docs/dashboard/", import.meta.url))
    : `${mkdtempSync(path.join(tmpdir(), "tollgate-shots-"))}/`;
const TOKEN = "operator-token-browser-0123456789abcdef01234567";
const OAUTH = { clientId: "Iv1.browserclient", clientSecret: "browser-client-secret-00000000000000000000" };

describe("the dashboard in a browser, after a scripted run", () => {
  const captured = captureLog("info");
  let run: ScriptedRun;
  let server: Server;
  let base: string;
  let browser: Browser;
  let handler: ReturnType<typeof dashboardHandler>;

  beforeAll(async () => {
    nock.disableNetConnect();
    nock.enableNetConnect(/^127\.0\.0\.1/);
    run = await scriptedRun("pglite", captured.log);
    handler = dashboardHandler({
      db: run.app.services.db,
      budget: run.app.services.budget,
      prices: new PriceBook(PRICE_OVERRIDES),
      log: captured.log,
      githubApiUrl: "https://api.github.com",
      oauth: OAUTH,
      token: TOKEN,
      dailyCapMicros: 50_000_000,
    });
    server = createServer((req, res) => void handler(req, res).then((done) => done || res.writeHead(404).end()));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    });
    mkdirSync(SHOTS, { recursive: true });
  }, 90_000);
  afterAll(async () => {
    await browser?.close();
    handler?.live.close();
    await new Promise((resolve) => server?.close(resolve));
    await run?.close();
    nock.enableNetConnect();
  });

  it("ran on requests the API takes: never more than four cache breakpoints", () => {
    // (the run the pages show is a whole pipeline: gate, plan, execute, review; every request it sent)
    expect(run.model.requests.length).toBeGreaterThanOrEqual(5);
    for (const { route, request } of run.model.requests)
      expect([route, cacheUse(request).breakpoints <= MAX_BREAKPOINTS]).toEqual([route, true]);
  });

  /** A page that fails the test on any console error or uncaught exception. */
  async function open(context: BrowserContext, path: string): Promise<{ page: Page; errors: string[] }> {
    const page = await context.newPage();
    const errors: string[] = [];
    page.on("console", (m) => void (m.type() === "error" && errors.push(m.text())));
    page.on("pageerror", (e) => errors.push(e.message));
    const response = await page.goto(`${base}${path}`, { waitUntil: "networkidle" });
    expect(response?.status()).toBe(200);
    return { page, errors };
  }

  /** The total of the PR body's cost table, as GitHub shows it. */
  const prTotal = () => /\| \*\*Total\*\* \|.*\| \*\*(\$[\d,.]+)\*\* \| \*\*[^|]+\*\* \|/.exec(run.prBody)![1]!;

  it("shows the run on the overview, the runs list and its own page, with the PR's total and a bar per phase", async () => {
    const context = await browser.newContext({
      extraHTTPHeaders: { authorization: `Bearer ${TOKEN}` },
      viewport: { width: 1280, height: 900 },
    });
    try {
      const overview = await open(context, "/dashboard");
      // every chart was drawn by Chart.js
      const charts = await overview.page.$$eval("canvas", (canvases) => {
        const chart = (globalThis as unknown as { Chart: { getChart(canvas: unknown): unknown } }).Chart;
        return canvases.map((canvas) => Boolean(chart.getChart(canvas)));
      });
      expect(charts).toEqual([true, true, true, true]);
      const today = await overview.page.getAttribute('[data-figure="today"]', "data-micros");
      expect(formatUsd(Number(today), { precise: true })).toBe(prTotal());
      await overview.page.screenshot({ path: `${SHOTS}overview.png`, fullPage: true });
      expect(overview.errors).toEqual([]);

      const list = await open(context, "/dashboard/runs");
      const row = list.page.locator(`tr[data-run="${run.run.id}"]`);
      expect(await row.locator('[data-cell="status"]').textContent()).toBe("succeeded");
      expect(await row.locator('[data-cell="cost"]').textContent()).toBe(prTotal());
      expect(await row.locator("a", { hasText: `${RUN_OWNER}/${RUN_REPO}#1` }).getAttribute("href")).toBe(
        `https://github.com/${RUN_OWNER}/${RUN_REPO}/issues/1`,
      );
      await list.page.screenshot({ path: `${SHOTS}runs.png`, fullPage: true });
      expect(list.errors).toEqual([]);

      const detail = await open(context, `/dashboard/runs/${run.run.id}`);
      expect(await detail.page.textContent('[data-figure="run-total"]')).toBe(prTotal());
      // the cost table's total row, as on the PR
      expect(await detail.page.locator(".cost-table tr", { hasText: "Total" }).locator("td").nth(7).textContent()).toBe(prTotal());
      // and its lines (iterations and budget, caching, tiering), word for word
      const lines = await detail.page.$$eval(".cost-table p", (ps) => ps.map((p) => p.textContent!));
      expect(lines.length).toBeGreaterThanOrEqual(3);
      for (const line of lines) expect(run.prBody).toContain(line);
      const phases = (
        await run.app.services.db.query<{ name: string }>("SELECT DISTINCT name FROM phases WHERE run_id = $1 ORDER BY name", [run.run.id])
      ).rows.map((r) => r.name);
      const bars = await detail.page.$$eval("li.bar", (gs) => gs.map((g) => g.getAttribute("data-phase")!));
      expect([...new Set(bars)].sort()).toEqual(phases);
      expect(phases).toEqual(expect.arrayContaining(["gate", "plan", "execute", "verify", "review"]));
      await detail.page.locator("details.transcript summary").first().click();
      await detail.page.screenshot({ path: `${SHOTS}run.png`, fullPage: true });
      expect(detail.errors).toEqual([]);
    } finally {
      await context.close();
    }
  }, 60_000);

  it("is readable on a phone", async () => {
    const context = await browser.newContext({
      extraHTTPHeaders: { authorization: `Bearer ${TOKEN}` },
      viewport: { width: 390, height: 844 },
      isMobile: true,
      deviceScaleFactor: 2,
    });
    try {
      const { page, errors } = await open(context, "/dashboard");
      // nothing is wider than the screen: the page does not scroll sideways
      expect(await page.evaluate<number>("document.documentElement.scrollWidth")).toBeLessThanOrEqual(390);
      await page.screenshot({ path: `${SHOTS}overview-phone.png`, fullPage: true });
      expect(errors).toEqual([]);
    } finally {
      await context.close();
    }
  }, 30_000);

  it("hides the run from a person who cannot access its repository on GitHub", async () => {
    const context = await browser.newContext();
    try {
      // GitHub's authorize page, played here: it sends the browser back with a code and the state
      await context.route("https://github.com/login/oauth/authorize**", (route) => {
        const url = new URL(route.request().url());
        return route.fulfill({
          status: 302,
          headers: { location: `${url.searchParams.get("redirect_uri")}?code=outsider-code&state=${url.searchParams.get("state")}` },
        });
      });
      const oauth = nock("https://github.com").post("/login/oauth/access_token").reply(
        200,
        {
          // the shape GitHub answers for a GitHub App's user token that expires
          access_token: "ghu_outsidertoken0000000000000000000000",
          expires_in: 28800,
          refresh_token: "ghr_outsiderrefresh000000000000000000000000000000000000000000000000000000000",
          refresh_token_expires_in: 15811200,
          scope: "",
          token_type: "bearer",
        },
        { date: new Date().toUTCString() },
      );
      const api = nock("https://api.github.com")
        .get("/user")
        .reply(200, { login: "outsider", id: 7 })
        .get("/user/installations")
        .query(true)
        .reply(200, { total_count: 1, installations: [{ id: 99 }] })
        .get("/user/installations/99/repositories")
        .query(true)
        .reply(200, { total_count: 1, repositories: [{ id: 555, full_name: "elsewhere/other" }] });
      const login = await context.newPage();
      await login.goto(`${base}/dashboard/login`);
      await login.click("text=Sign in with GitHub");
      await login.waitForURL(`${base}/dashboard`, { timeout: 10_000 }).catch(async (e) => {
        throw new Error(`${e.message} at ${login.url()}: ${await login.textContent("main")}`);
      });
      expect(await login.textContent("nav .who")).toBe("outsider");
      expect([oauth.isDone(), api.isDone()]).toEqual([true, true]);

      const list = await open(context, "/dashboard/runs");
      expect(await list.page.locator(`tr[data-run="${run.run.id}"]`).count()).toBe(0);
      expect(await list.page.textContent("table.runs tbody")).toContain("No run matches.");
      const direct = await context.newPage();
      expect((await direct.goto(`${base}/dashboard/runs/${run.run.id}`))?.status()).toBe(404);
      expect(list.errors).toEqual([]);
    } finally {
      await context.close();
    }
  }, 30_000);
});
