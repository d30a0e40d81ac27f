/**
 * The `tollgate` command as an operator runs it: the compiled CLI in a child process (built by
 * `pretest`), with a clean environment.
 */
import { copyFileSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import pg from "pg";
import { loadMigrations } from "../../src/db/migrate.js";
import { createPostgresDatabase, freePort, itOnPostgres } from "../helpers/db.js";
import { eventually } from "../helpers/eventually.js";
import { TEST_PRIVATE_KEY } from "../helpers/keys.js";
import { ROOT, tollgate, type Child } from "../helpers/cli.js";

const APP = {
  APP_ID: "123",
  PRIVATE_KEY: TEST_PRIVATE_KEY,
  WEBHOOK_SECRET: "cli-secret",
  ANTHROPIC_API_KEY: "test-anthropic-key",
  LOG_FORMAT: "json",
  LOG_LEVEL: "info",
};

const listening = (child: Child) => eventually(async () => listeningPort(child.stdout()) || child.proc.exitCode !== null, 60_000);

const listeningPort = (text: string) => Number(/Listening on http:\/\/[^:]+:(\d+)/.exec(text)?.[1] ?? 0);

describe("tollgate CLI", () => {
  it.each([
    [{ ...APP, APP_ID: "twelve" }, /^tollgate: APP_ID must be the numeric App ID/],
    [{ ...APP, PRIVATE_KEY: "", PRIVATE_KEY_PATH: "/nonexistent/app.pem" }, /^tollgate: PRIVATE_KEY_PATH could not be read/],
    [{ ...APP, DATABASE_URL: "localhost:5432/tollgate" }, /^tollgate: DATABASE_URL must be a URL like postgres:\/\//],
  ])("exits 1 with one line naming a bad variable (%#)", async (env, expected) => {
    const child = tollgate(["start"], env);
    expect(await child.exit).toBe(1);
    expect(child.stderr()).toMatch(expected);
    expect(child.stderr().trim().split("\n")).toHaveLength(1);
  });

  it("reads .env from the working directory, where the setup flow writes the credentials", async () => {
    const cwd = mkdtempSync(path.join(tmpdir(), "tollgate-dotenv-"));
    writeFileSync(path.join(cwd, ".env"), "APP_ID=from-dotenv\nWEBHOOK_SECRET=x\n");
    const child = tollgate(["start"], {}, cwd);
    expect(await child.exit).toBe(1);
    expect(child.stderr()).toMatch(/^tollgate: APP_ID must be the numeric App ID/);
  });

  it("retries an unreachable PostgreSQL, a log line per try, then exits 1", async () => {
    const child = tollgate(["migrate"], {
      ...APP,
      DATABASE_URL: "postgres://tollgate:pw@127.0.0.1:1/tollgate",
      TOLLGATE_DB_CONNECT_ATTEMPTS: "2",
    });
    expect(await child.exit).toBe(1);
    expect(child.stdout().match(/is not reachable \(try \d of 2\)/g)).toHaveLength(2);
    expect(child.stderr()).toMatch(/^tollgate: PostgreSQL at 127\.0\.0\.1:1\/tollgate is not reachable after 2 tries/);
    expect(child.stdout() + child.stderr()).not.toContain(":pw@");
  });

  itOnPostgres("prints a ledger rollup as JSON on stdout, logs on stderr", async () => {
    const url = await createPostgresDatabase();
    expect(await tollgate(["migrate"], { ...APP, DATABASE_URL: url }).exit).toBe(0);
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    await client.query(
      `INSERT INTO llm_calls (phase, model, status, latency_ms, input_tokens, output_tokens, cost_usd_micros, created_at)
       VALUES ('gate', 'claude-opus-4-7', 'ok', 900, 1000, 100, 7500, now() - interval '1 day'),
              ('gate', 'claude-opus-4-7', 'ok', 900, 1000, 100, 7500, now() - interval '40 days')`,
    );
    await client.end();
    const child = tollgate(["report", "--by", "phase,model", "--format", "json", "--since", "30d"], { ...APP, DATABASE_URL: url });
    expect(await child.exit).toBe(0);
    expect(JSON.parse(child.stdout())).toEqual([
      {
        phase: "gate",
        model: "claude-opus-4-7",
        calls: 1,
        input: 1000,
        cache_write: 0,
        cache_read: 0,
        output: 100,
        cost_usd: 0.0075,
        unknown_cost_calls: 0,
        cost_usd_micros: 7500,
      },
    ]);
    const bad = tollgate(["report", "--by", "colour"], { ...APP, DATABASE_URL: url });
    expect(await bad.exit).toBe(1);
    expect(bad.stderr()).toMatch(/^tollgate: --by "colour" is not a dimension/);
  });

  it("refuses `worker` on the embedded database, saying what to do", async () => {
    const child = tollgate(["worker"], APP);
    expect(await child.exit).toBe(1);
    expect(child.stderr()).toMatch(/^tollgate: DATABASE_URL is not set: separate worker processes need a shared PostgreSQL database/);
  });

  it("refuses to start workers without ANTHROPIC_API_KEY", async () => {
    const { ANTHROPIC_API_KEY: _key, ...withoutKey } = APP;
    const child = tollgate(["start"], withoutKey);
    expect(await child.exit).toBe(1);
    expect(child.stderr()).toMatch(/^tollgate: ANTHROPIC_API_KEY is missing: the workers call the model/);
  });

  it("refuses `start --no-workers` on the embedded database", async () => {
    const child = tollgate(["start", "--no-workers"], APP);
    expect(await child.exit).toBe(1);
    expect(child.stderr()).toMatch(/^tollgate: --no-workers needs DATABASE_URL/);
  });

  itOnPostgres("migrates a PostgreSQL database from two processes at once", async () => {
    const url = await createPostgresDatabase();
    const [a, b] = [tollgate(["migrate"], { ...APP, DATABASE_URL: url }), tollgate(["migrate"], { ...APP, DATABASE_URL: url })];
    const codes = await Promise.all([a.exit, b.exit]);
    if (codes.some((c) => c !== 0)) console.log(a.stdout(), a.stderr(), b.stdout(), b.stderr());
    expect(codes).toEqual([0, 0]);
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    const { rows } = await client.query("SELECT version FROM schema_migrations");
    const boss = await client.query("SELECT count(*)::int AS n FROM pgboss.queue");
    await client.end();
    expect(rows.map((r) => r.version).sort((a, b) => a - b)).toEqual((await loadMigrations()).map((m) => m.version));
    expect(boss.rows[0].n).toBeGreaterThan(0);
  });

  it("starts on the embedded database, serves /health, and stops cleanly on SIGTERM", async () => {
    const cwd = mkdtempSync(path.join(tmpdir(), "tollgate-start-"));
    const child = tollgate(["start"], { ...APP, PORT: String(await freePort()), HOST: "127.0.0.1" }, cwd);
    await listening(child);
    const port = listeningPort(child.stdout());
    const health = await fetch(`http://127.0.0.1:${port}/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: "ok", database: { ok: true, kind: "pglite" } });
    child.proc.kill("SIGTERM");
    expect(await child.exit).toBe(0);
    expect(child.stdout()).toContain('"msg":"stopped"');
    expect(child.stdout()).not.toContain("BEGIN RSA PRIVATE KEY");
  });

  it("serves Probot's setup flow with this repo's app.yml when the app is not registered yet", async () => {
    const cwd = mkdtempSync(path.join(tmpdir(), "tollgate-setup-"));
    copyFileSync(path.join(ROOT, "app.yml"), path.join(cwd, "app.yml"));
    copyFileSync(path.join(ROOT, "package.json"), path.join(cwd, "package.json"));
    const child = tollgate(["start"], { PORT: String(await freePort()), HOST: "127.0.0.1", LOG_FORMAT: "json" }, cwd);
    await listening(child);
    const port = listeningPort(child.stdout());
    const page = await fetch(`http://127.0.0.1:${port}/probot`);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain("Register GitHub App");
    // the manifest posted to GitHub is ours: name, events and permissions
    const manifest = JSON.parse(/name="manifest" id="manifest" value='([^']*)'/.exec(html)![1]!);
    expect(manifest).toMatchObject({
      name: "Tollgate",
      public: false,
      default_permissions: { issues: "write", contents: "write", pull_requests: "write", metadata: "read" },
    });
    expect(manifest.default_events).toContain("pull_request_review_comment");
    child.proc.kill("SIGTERM");
    await child.exit;
  });

  it("refuses a second process on the same embedded database", async () => {
    const cwd = mkdtempSync(path.join(tmpdir(), "tollgate-twice-"));
    const first = tollgate(["start"], { ...APP, PORT: String(await freePort()), HOST: "127.0.0.1" }, cwd);
    await listening(first);
    const second = tollgate(["start"], { ...APP, PORT: String(await freePort()), HOST: "127.0.0.1" }, cwd);
    expect(await second.exit).toBe(1);
    expect(second.stderr()).toMatch(/^tollgate: the embedded database in .* is in use by another Tollgate process/);
    first.proc.kill("SIGTERM");
    expect(await first.exit).toBe(0);
  });

  it("leaves the embedded database to `start`: `migrate` is for PostgreSQL", async () => {
    const child = tollgate(["migrate"], APP);
    expect(await child.exit).toBe(1);
    expect(child.stderr()).toMatch(/^tollgate: DATABASE_URL is not set: `tollgate start` migrates the embedded database itself/);
  });
});
