/**
 * Resume on PostgreSQL with a real process kill. A second Tollgate process (test/fixtures/
 * worker-child.mjs, the built code) takes the run's job and is SIGKILLed in the middle of
 * execute; this process's run worker notices the stopped heartbeat (src/jobs/run-sweep.ts),
 * takes the run over and finishes it, with one PR, one commit, one comment and no ledger row
 * twice. GitHub is nock in this process; the child reaches it through a small local proxy that
 * replays each of its requests here. Also: a worker that is alive but stalled past the heartbeat
 * threshold loses its lease and lets the run go without touching it again.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import https from "node:https";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import nock from "nock";
import { modelServices } from "../../src/app/model.js";
import { githubFactory, jobDeps, startWorkers } from "../../src/app/workers.js";
import { handleRun } from "../../src/jobs/run.js";
import { sweepStalledRuns } from "../../src/jobs/run-sweep.js";
import { ModelCallError } from "../../src/llm/errors.js";
import type { ModelPort } from "../../src/llm/model.js";
import { agentRoute, RoutedScriptedModel, type ScriptStep } from "../../src/llm/scripted-model.js";
import { jobIdForRun } from "../../src/queue/job-id.js";
import { QUEUE, runJobSchema, type RunJob } from "../../src/queue/jobs.js";
import type { JobResult } from "../../src/queue/worker.js";
import type { RunStore } from "../../src/stores/runs.js";
import { APP_ID, createTestApp, TestOctokit, WEBHOOK_SECRET, type TestApp } from "../helpers/app.js";
import { describeOnPostgres, testDatabaseUrl } from "../helpers/db.js";
import { eventually } from "../helpers/eventually.js";
import { FakeGitHub } from "../helpers/fake-github.js";
import { API } from "../helpers/github.js";
import { git, gitHttpServer, type GitHttpServer } from "../helpers/git.js";
import { approve, CONFIG, done, edit, gate, planOf, project, TITLE, unit } from "../helpers/greeter.js";
import { TEST_PRIVATE_KEY } from "../helpers/keys.js";
import { captureLog } from "../helpers/log.js";
import { INSTALLATION_ID, issuesLabeled } from "../helpers/webhooks.js";

const CHILD = fileURLToPath(new URL("../fixtures/worker-child.mjs", import.meta.url));
const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const O = "Codertocat";
const R = "Hello-World";
const TOKEN = "ghs_killtestinstallationtoken00000000001";
/** The heartbeat settings of every worker here: a run whose heartbeat is 3 s old is taken over, looked for every second. */
const HEARTBEAT = { cancelPollMs: 200, heartbeatStaleSeconds: 3, runSweepSeconds: 1 };
/** Taken over within the threshold plus one sweep interval, plus a generous margin for a busy machine. */
const TAKEOVER_LIMIT_MS = (HEARTBEAT.heartbeatStaleSeconds + HEARTBEAT.runSweepSeconds + 10) * 1000;

beforeAll(() => {
  // the child runs the built code: `npm test` builds it first (pretest); run `npm run build` before jest alone
  if (!existsSync(path.join(ROOT, "dist/jobs/run-sweep.js"))) throw new Error("dist/ has no run sweep: run `npm run build` first");
  nock.disableNetConnect();
  nock.enableNetConnect("127.0.0.1"); // the proxy, the git server; api.github.com stays nock's
});
afterAll(() => nock.enableNetConnect());

/** GitHub for another process: each request is replayed through https.request here, where nock answers. */
interface GitHubProxy {
  url: string;
  /** "METHOD /path" of every request, in order. */
  requests: string[];
  /** Requests nock did not answer (no interceptor): should stay empty. */
  errors: string[];
  close(): Promise<void>;
}

const HOP_BY_HOP = ["host", "connection", "keep-alive", "transfer-encoding", "content-length", "proxy-connection", "upgrade"];
function forwardable(headers: IncomingHttpHeaders): IncomingHttpHeaders {
  const out = { ...headers };
  for (const h of HOP_BY_HOP) delete out[h];
  return out;
}

async function githubProxy(): Promise<GitHubProxy> {
  const requests: string[] = [];
  const errors: string[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks);
      const what = `${req.method} ${req.url}`;
      requests.push(what);
      const upstream = https.request(
        `${API}${req.url}`,
        { method: req.method, headers: { ...forwardable(req.headers), "content-length": String(body.length) } },
        (answer) => {
          const out: Buffer[] = [];
          answer.on("data", (c: Buffer) => out.push(c));
          answer.on("end", () => {
            const data = Buffer.concat(out);
            res.writeHead(answer.statusCode ?? 502, { ...forwardable(answer.headers), "content-length": String(data.length) });
            res.end(data);
          });
        },
      );
      upstream.on("error", (error) => {
        errors.push(`${what}: ${error.message}`);
        if (!res.headersSent) res.writeHead(502, { "content-type": "application/json" });
        res.end(JSON.stringify({ message: `proxy: ${error.message}` }));
      });
      upstream.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    errors,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The child process: a run worker of its own on the same database, killed where its model hangs. */
interface Child {
  proc: ChildProcess;
  /** The routes its model answered, in order (each answer is in the ledger before the agent goes on). */
  answered: string[];
  /** Resolves with the route of the call that never answers, once it is made. */
  hung: Promise<string>;
  stderr: () => string;
  exited: Promise<NodeJS.Signals | number | null>;
}

function spawnChild(input: Record<string, unknown>, dir: string): Child {
  const file = path.join(dir, "input.json");
  writeFileSync(file, JSON.stringify(input));
  const proc = spawn(process.execPath, [CHILD, file], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? "", HOME: dir },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const answered: string[] = [];
  let err = "";
  let pending = "";
  let onHang!: (route: string) => void;
  let onEarlyExit!: (error: Error) => void;
  const hung = new Promise<string>((resolve, reject) => ((onHang = resolve), (onEarlyExit = reject)));
  hung.catch(() => undefined); // awaited by the test; an exit after the kill is expected
  proc.stdout!.on("data", (d: Buffer) => {
    pending += d.toString();
    const lines = pending.split("\n");
    pending = lines.pop()!;
    for (const line of lines) {
      const [tag, event, route] = line.split(" ");
      if (tag !== "@@child") continue;
      if (event === "answered") answered.push(route!);
      if (event === "hang") onHang(route!);
    }
  });
  proc.stderr!.on("data", (d: Buffer) => (err += d.toString()));
  const exited = new Promise<NodeJS.Signals | number | null>((resolve) =>
    proc.on("exit", (code, signal) => {
      onEarlyExit(new Error(`the child exited (${signal ?? code}) before its model hung; its log:\n${err.slice(-6000)}`));
      resolve(signal ?? code);
    }),
  );
  return { proc, answered, hung, stderr: () => err, exited };
}

async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms))),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

describeOnPostgres("a run worker killed on PostgreSQL", () => {
  let app: TestApp;
  let gh: FakeGitHub;
  let server: GitHttpServer;
  let proxy: GitHubProxy | undefined;
  let child: Child | undefined;
  let childDir: string | undefined;
  let bare: string;
  let model: RoutedScriptedModel;
  const captured = captureLog("info");
  /** Hung calls of in-process workers, let go after the database is closed. */
  const zombies: Array<() => void> = [];

  async function start(scripts: Record<string, ScriptStep[]>) {
    bare = project().bare;
    server = await gitHttpServer(bare, TOKEN);
    gh = new FakeGitHub({
      owner: O,
      repo: R,
      issue: 1,
      installationId: INSTALLATION_ID,
      title: TITLE,
      body: "`greet('Ada')` returns `Hello Ada`; it should return `Hi Ada`. The test in test/greet.test.js says so.",
      config: CONFIG(),
      token: TOKEN,
      permissions: { reader: "read" },
    });
    model = new RoutedScriptedModel(scripts);
    app = await createTestApp("postgres", captured.log, { model });
    const payload = issuesLabeled("ai-ready");
    payload.repository.clone_url = server.url;
    payload.repository.default_branch = "main";
    await app.probot.receive({ id: `d-${Math.random()}`, name: "issues", payload: gh.sees(payload) } as never);
    // the gate runs here; the run's job is left for another worker
    await app.startWorkers(1, { queues: [QUEUE.trigger, QUEUE.dead] });
  }

  /** This process's GitHub and model, as createTestApp builds them (requests checked against the OpenAPI description). */
  const github = () =>
    githubFactory(
      { appId: APP_ID, privateKey: TEST_PRIVATE_KEY, webhookSecret: WEBHOOK_SECRET },
      { githubApiUrl: API },
      captured.log,
      TestOctokit.plugin(app.github.plugin),
    );
  const models = (port: ModelPort) => modelServices({ anthropic: {}, prices: [] }, app.services.db, port);

  /** This process's run worker, with the short heartbeat settings (its sweep takes stalled runs over). */
  const startRunWorker = () =>
    startWorkers(app.services, github(), captured.log, models(model), {
      concurrency: 1,
      pollingIntervalSeconds: 0.5,
      dataDir: app.dataDir,
      queues: [QUEUE.run],
      ...HEARTBEAT,
    });

  const db = () => app.services.db;
  const run = async () =>
    (
      await db().query<{
        id: string;
        status: string;
        restarts: number;
        iterations: number;
        pr_number: number | null;
        error: string | null;
      }>("SELECT id, status, restarts, iterations, pr_number, error FROM runs")
    ).rows[0];
  const finished = () =>
    eventually(async () => {
      const r = await run();
      return r && !["queued", "running"].includes(r.status) && r;
    }, 90_000);
  const ledger = async (runId: string) =>
    (await db().query<{ phase: string; status: string }>("SELECT phase, status FROM llm_calls WHERE run_id = $1 ORDER BY id", [runId]))
      .rows;
  const phases = async (runId: string) =>
    (
      await db().query<{ name: string; attempt: number; status: string; error: string | null }>(
        "SELECT name, attempt, status, error FROM phases WHERE run_id = $1 ORDER BY id",
        [runId],
      )
    ).rows;
  const branchLog = () => git(bare, "log", "--format=%an|%s", "tollgate/issue-1").trim().split("\n");
  const createdRunJob = () =>
    eventually(
      async () =>
        (
          await db().query<{ id: string; data: RunJob }>("SELECT id, data FROM pgboss.job WHERE name = $1 AND state = 'created'", [
            QUEUE.run,
          ])
        ).rows[0],
      60_000,
    );

  async function expectOneOfEverything(runId: string) {
    expect(gh.pulls).toHaveLength(1);
    expect(gh.pulls[0]).toMatchObject({ title: TITLE, draft: false, head: "tollgate/issue-1", base: "main" });
    expect(gh.comments.filter((c) => c.user.type === "Bot")).toHaveLength(1);
    expect(gh.sticky).toContain("pull request #100 is ready for review");
    expect(branchLog()).toEqual([`tollgate[bot]|${TITLE} (#1)`, "Human|initial"]);
    expect(
      git(bare, "branch", "--list")
        .trim()
        .split("\n")
        .map((b) => b.replace(/^[* ]+/, "")),
    ).toEqual(["main", "tollgate/issue-1"]);
    expect(git(bare, "show", "tollgate/issue-1:src/greet.js")).toContain('return "Hi " + name;');
    expect((await run())!.id).toBe(runId);
  }

  afterEach(async () => {
    if (child && child.proc.exitCode === null && child.proc.signalCode === null) child.proc.kill("SIGKILL");
    await child?.exited;
    child = undefined;
    await app?.close();
    for (const release of zombies.splice(0)) release();
    await proxy?.close();
    proxy = undefined;
    await server?.close();
    if (childDir) rmSync(childDir, { recursive: true, force: true });
    childDir = undefined;
    nock.cleanAll();
    expect(app.github.errors).toEqual([]);
    const runsDir = path.join(app.dataDir, "runs");
    expect(existsSync(runsDir) ? readdirSync(runsDir) : []).toEqual([]); // this process's run folders are gone
  });

  it("SIGKILL in the middle of execute: another process takes the run over after the heartbeat threshold and finishes it, nothing twice", async () => {
    await start({
      gate,
      // the redone execute phase and what follows; the plan is the child's checkpoint
      "execute/greeting": [edit("src/greet.js", '"Hello "', '"Hi "'), done("Changed.")],
      review: [approve],
    });
    const job = await createdRunJob(); // the gate passed: the run's job waits for a run worker

    proxy = await githubProxy();
    childDir = mkdtempSync(path.join(tmpdir(), "tollgate-child-"));
    const { rows } = await db().query<{ name: string }>("SELECT current_database() AS name");
    child = spawnChild(
      {
        databaseUrl: testDatabaseUrl(rows[0]!.name),
        githubApiUrl: proxy.url,
        appId: APP_ID,
        privateKey: TEST_PRIVATE_KEY,
        webhookSecret: WEBHOOK_SECRET,
        dataDir: childDir,
        // the child plans, and its execute agent's 2nd call never answers
        scripts: { plan: planOf([unit("greeting", ["src/greet.js"])]), "execute/greeting": [edit("src/greet.js", '"Hello "', '"Hi "')] },
        hangAt: { route: "execute/greeting", n: 2 },
        worker: HEARTBEAT,
      },
      childDir,
    );
    const hungRoute = await withTimeout(child.hung, 120_000, "the child's execute agent making its 2nd call").catch((error: Error) => {
      throw new Error(`${error.message}\nthe child's log:\n${child!.stderr().slice(-6000)}`);
    });
    expect(hungRoute).toBe("execute/greeting");
    const heartbeat = (
      await db().query<{ restarts: number; age: number }>(
        "SELECT restarts, extract(epoch FROM now() - heartbeat_at)::float8 AS age FROM runs WHERE id = $1",
        [job.data.runId],
      )
    ).rows[0]!;
    expect(heartbeat.restarts).toBe(0);
    expect(heartbeat.age).toBeLessThan(HEARTBEAT.heartbeatStaleSeconds); // the child was beating

    // the kill
    child.proc.kill("SIGKILL");
    const killedAt = Date.now();
    expect(await child.exited).toBe("SIGKILL");
    expect(child.answered).toEqual(["plan", "plan", "execute/greeting"]);
    expect(proxy.requests.length).toBeGreaterThan(0); // the child's GitHub was this process's nock

    // this process's run worker notices the stopped heartbeat and resumes the run
    await startRunWorker();
    const takenOverMs = await eventually(async () => ((await run())!.restarts >= 1 ? Date.now() - killedAt : undefined), 60_000);
    const resumedMs = await eventually(
      async () => ((await phases(job.data.runId)).some((p) => p.name === "execute" && p.attempt === 2) ? Date.now() - killedAt : undefined),
      60_000,
    );
    const r = await finished();
    const finishedMs = Date.now() - killedAt;
    console.log(
      `Resume delay after SIGKILL on PostgreSQL (heartbeatStaleSeconds ${HEARTBEAT.heartbeatStaleSeconds}, runSweepSeconds ${HEARTBEAT.runSweepSeconds}, cancelPollMs ${HEARTBEAT.cancelPollMs}): ` +
        `taken over after ${(takenOverMs / 1000).toFixed(1)} s, execute resumed after ${(resumedMs / 1000).toFixed(1)} s, run finished after ${(finishedMs / 1000).toFixed(1)} s`,
    );
    expect(takenOverMs).toBeLessThan(TAKEOVER_LIMIT_MS);
    expect(takenOverMs).toBeGreaterThanOrEqual((HEARTBEAT.heartbeatStaleSeconds - 1) * 1000); // not before the heartbeat went stale

    expect(r).toMatchObject({ status: "succeeded", restarts: 1, iterations: 1, pr_number: 100, error: null });
    expect(model.remaining).toEqual({ gate: 0, "execute/greeting": 0, review: 0 });
    // the resumed job is restart 1 of the run's job
    expect(((await app.services.queue.job(QUEUE.run, jobIdForRun(r.id, 1)))?.data as RunJob | undefined)?.restart).toBe(1);
    // finished phases were not redone (setup runs on each attempt's fresh clone; the baseline checks, verify round 0,
    // are not run again); the killed execute attempt is marked as cut off
    expect((await phases(r.id)).map((p) => `${p.name}#${p.attempt}:${p.status}`)).toEqual([
      "gate#1:succeeded",
      "setup#1:succeeded",
      "verify#1:succeeded",
      "plan#1:succeeded",
      "execute#1:failed",
      "setup#2:succeeded",
      "execute#2:succeeded",
      "verify#1:succeeded",
      "review#1:succeeded",
      "publish#1:succeeded",
    ]);
    expect((await phases(r.id))[4]!.error).toBe("interrupted: the worker running it stopped");
    // every answered call, in either process, is in the ledger once; the one in flight at the kill is not
    const calls = await ledger(r.id);
    expect(calls).toHaveLength(child.answered.length + model.requests.length);
    expect(calls.map((c) => c.phase)).toEqual(["gate", "plan", "plan", "execute", "execute", "execute", "review"]);
    expect(calls.every((c) => c.status === "ok")).toBe(true);
    await expectOneOfEverything(r.id);
    expect(proxy.errors).toEqual([]);
  }, 240_000);

  /**
   * A worker alive but stalled: it carries out the run in this process until its execute agent's
   * 2nd call, where its beats stop (its database connection or event loop stalled) while that call
   * is in flight; the call ends only when the run's signal aborts, as a real one does. Another
   * worker's sweep takes the run over once the heartbeat is stale and finishes it; then the
   * stalled worker wakes up. Returns what it did, and the state just before it woke.
   */
  async function stalledScenario() {
    await start({
      gate,
      "execute/greeting": [edit("src/greet.js", '"Hello "', '"Hi "'), done("Changed.")],
      review: [approve],
    });
    const job = await createdRunJob();
    // the stalled worker takes the job (as the queue's fetch does) and carries it out in this process
    await db().query("UPDATE pgboss.job SET state = 'active', started_on = now() WHERE id = $1", [job.id]);

    let releaseBeats!: () => void;
    let stall: Promise<void> | undefined;
    let stalledAt = 0;
    const runs = app.services.runs;
    const stalledRuns = Object.assign(Object.create(runs) as RunStore, {
      beat: async (id: string, lease: string) => {
        if (stall) await stall;
        return runs.beat(id, lease);
      },
    });
    const stalledModel = new RoutedScriptedModel({
      plan: planOf([unit("greeting", ["src/greet.js"])]),
      "execute/greeting": [edit("src/greet.js", '"Hello "', '"Hi "')],
    });
    let executeCalls = 0;
    let abortedCalls = 0;
    const stalledPort: ModelPort = {
      provider: stalledModel.provider,
      call: (request, options) => {
        if (agentRoute(request) === "execute/greeting" && ++executeCalls === 2) {
          stall = new Promise<void>((resolve) => (releaseBeats = resolve));
          stalledAt = Date.now();
          return new Promise((_resolve, reject) => {
            const abort = () => (abortedCalls++, reject(new ModelCallError("aborted", "the call was cancelled")));
            if (options?.signal?.aborted) abort();
            else options?.signal?.addEventListener("abort", abort, { once: true });
            zombies.push(() => reject(new ModelCallError("aborted", "the test ended")));
          });
        }
        return stalledModel.call(request, options);
      },
    };
    childDir = mkdtempSync(path.join(tmpdir(), "tollgate-stalled-"));
    const stalledDataDir = childDir;
    const deps = {
      ...jobDeps(app.services, github(), models(stalledPort), { dataDir: stalledDataDir, ...HEARTBEAT }, captured.log),
      runs: stalledRuns,
    };
    let stalledResult: JobResult | Error | undefined;
    const stalledWorker = handleRun(runJobSchema.parse(job.data), deps, captured.log.child({ worker: "stalled" })).then(
      (result) => (stalledResult = result),
      (error: Error) => (stalledResult = error),
    );
    await eventually(async () => stall !== undefined, 60_000);

    // another worker's sweep takes the run over once the heartbeat is stale, and finishes it
    await startRunWorker();
    const takenOverMs = await eventually(async () => ((await run())!.restarts >= 1 ? Date.now() - stalledAt : undefined), 60_000);
    const r = await finished();
    await eventually(
      async () =>
        (
          await db().query("SELECT 1 FROM pgboss.job WHERE name = $1 AND id = $2 AND state = 'completed'", [
            QUEUE.run,
            jobIdForRun(r.id, 1),
          ])
        ).rows.length > 0,
      30_000,
    );
    const before = {
      stalledResult,
      stickyBodies: gh.stickyBodies.length,
      sticky: gh.sticky,
      phases: await phases(r.id),
      ledger: await ledger(r.id),
      head: git(bare, "rev-parse", "tollgate/issue-1").trim(),
    };

    // the stalled worker wakes up: its next beat finds the lease gone, its call is aborted, it lets the run go
    releaseBeats();
    await stalledWorker;
    return { r, takenOverMs, before, stalledResult, abortedCalls, stalledModel, stalledDataDir };
  }

  it("a worker alive but stalled past the threshold loses its lease: it lets the run go and writes nothing more", async () => {
    const { r, takenOverMs, before, stalledResult, abortedCalls, stalledModel, stalledDataDir } = await stalledScenario();
    console.log(`Take-over of a stalled (alive) worker on PostgreSQL: ${(takenOverMs / 1000).toFixed(1)} s after its heartbeat stopped`);
    expect(takenOverMs).toBeLessThan(TAKEOVER_LIMIT_MS);
    expect(r).toMatchObject({ status: "succeeded", restarts: 1, pr_number: 100 });
    expect(before.stalledResult).toBeUndefined(); // it was still stalled while the new job finished the run
    expect(stalledResult).toEqual({ outcome: "ignored", detail: "another worker took the run over" });
    expect(abortedCalls).toBe(1);
    expect(readdirSync(path.join(stalledDataDir, "runs"))).toEqual([]); // its run folder is gone too

    // no second PR, no push, the run's row as the new worker left it
    expect(gh.pulls).toHaveLength(1);
    expect(gh.pulls[0]!.bodies).toHaveLength(1);
    expect(git(bare, "rev-parse", "tollgate/issue-1").trim()).toBe(before.head);
    expect(await run()).toMatchObject({ status: "succeeded", restarts: 1, error: null });
    // no word on the issue: the sticky comment still says what the new worker said last
    expect(before.sticky).toContain("pull request #100 is ready for review");
    expect(gh.stickyBodies).toHaveLength(before.stickyBodies);
    expect(gh.sticky).toBe(before.sticky);
    // the phases as the new worker left them (its attempt cut off: "interrupted", not rewritten)
    expect(await phases(r.id)).toEqual(before.phases);
    expect(before.phases.find((p) => p.name === "execute" && p.attempt === 1)).toMatchObject({
      status: "failed",
      error: "interrupted: the worker running it stopped",
    });
    // the ledger: the new worker's calls once, then the call the stalled worker had in flight (aborted: an error row)
    const calls = await ledger(r.id);
    expect(calls.slice(0, before.ledger.length)).toEqual(before.ledger);
    expect(calls.slice(before.ledger.length)).toEqual([{ phase: "execute", status: "error" }]);
    expect(calls.map((c) => c.phase)).toEqual(["gate", "plan", "plan", "execute", "execute", "execute", "review", "execute"]);
    expect(stalledModel.remaining).toEqual({ plan: 0, "execute/greeting": 0 });
    expect(model.remaining).toEqual({ gate: 0, "execute/greeting": 0, review: 0 });
    expect(gh.pulls).toHaveLength(1);
    expect(gh.comments.filter((c) => c.user.type === "Bot")).toHaveLength(1);
    expect(branchLog()).toEqual([`tollgate[bot]|${TITLE} (#1)`, "Human|initial"]);
    // the sweep has nothing more to take: the run is over
    expect(await sweepStalledRuns({ runs: app.services.runs, queue: app.services.queue, log: captured.log }, 0)).toEqual([]);
  }, 240_000);
});
