/**
 * The pipeline end to end, as GitHub and Anthropic drive it: an `issues.labeled` delivery through
 * `probot.receive`, the gate and run jobs on the real queue, GitHub played by nock (every request
 * checked against the OpenAPI description), git against a local `git http-backend` that demands
 * the installation token, the verify commands run for real in the sandbox, and a scripted model
 * playing every agent with realistic usage.
 */
import { readdirSync } from "node:fs";
import path from "node:path";
import nock from "nock";
import { RunCosts } from "../../src/stores/cost-rows.js";
import { QUEUE, type RunJob } from "../../src/queue/jobs.js";
import { ModelCallError } from "../../src/llm/errors.js";
import type { ModelPort } from "../../src/llm/model.js";
import { PRICE_OVERRIDES } from "../../src/llm/prices.js";
import { PriceBook } from "../../src/llm/pricing.js";
import { agentRoute, type RoutedScriptedModel, type ScriptStep } from "../../src/llm/scripted-model.js";
import { renderCostTable } from "../../src/report/cost-table.js";
import type { TestApp } from "../helpers/app.js";
import { DB_KINDS, e2eCases, type DbKind } from "../helpers/db.js";
import { eventually } from "../helpers/eventually.js";
import { TOLLGATE_BOT_ID, type FakeGitHub } from "../helpers/fake-github.js";
import { git, humanCommit, type GitHttpServer } from "../helpers/git.js";
import { captureLog } from "../helpers/log.js";
import {
  INSTALLATION_ID,
  issueComment,
  issuesLabeled,
  issuesUnlabeled,
  reviewCommentCreated,
  reviewSubmitted,
  webhookExample,
} from "../helpers/webhooks.js";
import { answered, approve, CONFIG, done, edit, gate, planOf, requestChanges, TITLE, triage, unit } from "../helpers/greeter.js";
import {
  E2E_TOKEN as TOKEN,
  laterRunEnded as laterRunEnded_,
  runEnded,
  startPipeline,
  type Pipeline,
  type PipelineOptions,
} from "../helpers/pipeline.js";

/**
 * The pipeline's end-to-end cases, in two halves (every other case, in the order written), one
 * test file each (pipeline-1.test.ts, pipeline-2.test.ts), so that Jest's two workers share them.
 */
export function pipelineCases(half: 1 | 2): void {
  beforeAll(() => nock.disableNetConnect());
  afterAll(() => nock.enableNetConnect());
  describe.each(DB_KINDS)("the pipeline on %s", (kind) => pipelineCasesOn(kind, half));
}

function pipelineCasesOn(kind: DbKind, half: 1 | 2): void {
  const cases = e2eCases(kind);
  let n = 0;
  const mine = (register: jest.It): jest.It =>
    ((name: string, fn: jest.ProvidesCallback, timeout?: number) =>
      n++ % 2 === half - 1 ? register(name, fn, timeout) : undefined) as jest.It;
  const it = mine(cases.it);
  const smoke = mine(cases.smoke);
  let app: TestApp;
  let gh: FakeGitHub;
  let server: GitHttpServer;
  let bare: string;
  let model: RoutedScriptedModel;
  let pipeline: Pipeline | undefined;
  const captured = captureLog("info");

  async function start(scripts: Record<string, ScriptStep[]>, options: Omit<PipelineOptions, "permissions" | "token"> = {}) {
    pipeline = await startPipeline(kind, captured.log, scripts, { ...options, permissions: { reader: "read" } });
    ({ app, gh, server, bare, model } = pipeline);
  }

  const run = async () =>
    (
      await app.services.db.query<{ id: string; status: string; iterations: number; pr_number: number | null; error: string | null }>(
        "SELECT id, status, iterations, pr_number, error FROM runs",
      )
    ).rows[0]!;
  const finished = () => runEnded(app);
  const laterRunEnded = (firstId: string) => laterRunEnded_(app, firstId);
  const ledger = async () =>
    (
      await app.services.db.query<{ phase: string; agent: string; iteration: number; status: string }>(
        "SELECT phase, agent, iteration, status FROM llm_calls ORDER BY id",
      )
    ).rows;
  const branchLog = () => git(bare, "log", "--format=%an|%s", "tollgate/issue-1").trim().split("\n");
  const branchFile = (file: string) => git(bare, "show", `tollgate/issue-1:${file}`);

  /** Dead workers of the kill tests, released after the database is closed. */
  const zombies: Array<() => void> = [];

  afterEach(async () => {
    await pipeline?.close();
    pipeline = undefined;
    for (const release of zombies.splice(0)) release();
    expect(app.github.errors).toEqual([]);
    // the run's folder is gone, whatever happened
    expect(readdirSync(path.join(app.dataDir, "runs")).length).toBe(0);
  });

  smoke("passes first time: plan, one unit, verify, approve, a ready PR whose cost table is the ledger's", async () => {
    await start({
      gate,
      plan: planOf([unit("greeting", ["src/greet.js"])]),
      "execute/greeting": [edit("src/greet.js", '"Hello "', '"Hi "'), done("Changed the greeting to Hi; the test expects it.")],
      review: [approve],
    });
    const r = await finished();
    expect(r).toMatchObject({ status: "succeeded", iterations: 1, pr_number: 100, error: null });
    expect(model.remaining).toEqual({ gate: 0, plan: 0, "execute/greeting": 0, review: 0 });

    // the branch: one commit by the app naming the issue, with the change
    expect(branchLog()).toEqual([`tollgate[bot]|${TITLE} (#1)`, "Human|initial"]);
    // by the app's bot user (GET /app, then GET /users/tollgate[bot]), as GitHub links a commit to the app
    expect(git(bare, "log", "-1", "--format=%ae", "tollgate/issue-1").trim()).toBe(
      `${TOLLGATE_BOT_ID}+tollgate[bot]@users.noreply.github.com`,
    );
    expect(app.github.requests.filter((r) => r === "GET /app" || r.startsWith("GET /users/"))).toEqual([
      "GET /app",
      "GET /users/{username}",
    ]);
    expect(branchFile("src/greet.js")).toContain('return "Hi " + name;');

    // one PR, ready, with everything in its body
    expect(gh.pulls).toHaveLength(1);
    const pr = gh.pulls[0]!;
    expect(pr).toMatchObject({ title: TITLE, draft: false, head: "tollgate/issue-1", base: "main" });
    expect(pr.body).toContain("## Summary\n\nMake greet() say Hi.");
    expect(pr.body).toContain("Changed the greeting to Hi");
    expect(pr.body).toContain("| `node --test test/` | ✅ passed (tests: 1 passed) |");
    expect(pr.body).toContain("**Approved ✅**");
    expect(pr.body).toContain("Closes #1");
    expect(pr.body).toContain("```mermaid\npie");

    // the cost table in the body is the ledger's, to the token
    const db = app.services.db;
    const [summary] = await new RunCosts(db).runSummaries([r.id]);
    const table = renderCostTable({
      rows: await new RunCosts(db).costRows([r.id]),
      prices: new PriceBook(PRICE_OVERRIDES),
      deepModel: "claude-opus-4-7",
      budgetMicros: summary!.budgetMicros,
      iterations: 1,
    });
    expect(pr.body).toContain(table);
    const sums = (
      await db.query<{ input: number; output: number; calls: number }>(
        "SELECT sum(input_tokens)::int AS input, sum(output_tokens)::int AS output, count(*)::int AS calls FROM llm_calls WHERE run_id = $1",
        [r.id],
      )
    ).rows[0]!;
    expect(sums.calls).toBe(6); // gate, 2 plan turns, 2 execute turns, the review
    expect(table).toContain(`| **Total** | | **6** | **${sums.input.toLocaleString("en-US")}** |`);

    // tiering: gate and plan on deep, execute and review on standard
    expect((await ledger()).map((c) => `${c.phase}:${c.agent}`)).toEqual([
      "gate:gate",
      "plan:plan",
      "plan:plan",
      "execute:execute/greeting",
      "execute:execute/greeting",
      "review:review",
    ]);
    // the sticky comment links the PR and shows the final cost
    expect(gh.sticky).toContain("pull request #100 is ready for review");
    expect(gh.sticky).toMatch(/Spent: \$\d+\.\d+ of the \$5\.00 budget\./);
    // the token went to git as a header only
    expect(server.urls.join(" ")).not.toContain(TOKEN);
    expect(captured.text()).not.toContain(TOKEN);
    if (process.env.TIMING)
      for (const l of captured.lines())
        console.log(new Date(l.time as number).toISOString().slice(17, 23), l.msg, l.phase ?? "", l.queue ?? "");
  });

  smoke("goes round twice: failing tests are triaged by the light tier and fixed in round 2", async () => {
    await start({
      gate,
      plan: planOf([unit("greeting", ["src/greet.js"])]),
      "execute/greeting": [edit("src/greet.js", '"Hello "', '"Hey "'), done("Changed the greeting to Hey.")],
      triage: [triage('greet("Ada") returns "Hey Ada" but the test expects "Hi Ada".')],
      "execute/fix": [edit("src/greet.js", '"Hey "', '"Hi "'), done("The greeting is Hi now, as the test expects.")],
      review: [approve],
    });
    const r = await finished();
    expect(r).toMatchObject({ status: "succeeded", iterations: 2 });
    expect(model.remaining).toEqual({ gate: 0, plan: 0, "execute/greeting": 0, triage: 0, "execute/fix": 0, review: 0 });
    // the triage read the failing part of the log and ran on the light tier
    const triageCall = model.requests.find((q) => q.route === "triage")!.request;
    expect(triageCall.model).toBe("claude-haiku-4-5");
    expect(JSON.stringify(triageCall.messages)).toContain("node --test test/");
    // round 2's agent got the triage as feedback
    const fixTask = JSON.stringify(model.requests.find((q) => q.route === "execute/fix")!.request.messages[0]);
    expect(fixTask).toContain("<feedback>");
    expect(fixTask).toContain('returns \\"Hey Ada\\" but the test expects \\"Hi Ada\\"');
    // each phase of each round is in the ledger and in the PR
    expect((await ledger()).map((c) => `${c.phase}#${c.iteration}`)).toEqual([
      "gate#0",
      "plan#0",
      "plan#0",
      "execute#1",
      "execute#1",
      "verify#1",
      "execute#2",
      "execute#2",
      "review#2",
    ]);
    const pr = gh.pulls[0]!;
    expect(pr.draft).toBe(false);
    expect(pr.body).toMatch(/Cost per round \(execute \+ verify \+ review\): round 1: \$\d\.\d+ · round 2: \$\d\.\d+\./);
    expect(branchFile("src/greet.js")).toContain('"Hi "');
    expect(branchLog()).toHaveLength(2); // the rounds are one commit on the branch
  });

  it("ends as a draft PR that says why when the review still asks for changes at loop.max_iterations", async () => {
    await start(
      {
        gate,
        plan: planOf([unit("greeting", ["src/greet.js"])]),
        "execute/greeting": [edit("src/greet.js", '"Hello "', '"Hi "'), done("Changed the greeting.")],
        "execute/fix": [done("I kept the greeting: the test requires it.")],
        review: [requestChanges("Add a JSDoc comment."), requestChanges("Mention the change in the README.")],
      },
      { config: CONFIG("loop:\n  max_iterations: 2\n") },
    );
    const r = await finished();
    expect(r).toMatchObject({ status: "draft", iterations: 2, pr_number: 100 });
    const pr = gh.pulls[0]!;
    expect(pr.draft).toBe(true);
    expect(pr.body).toContain("**Draft: the review still requests changes after 2 rounds (loop.max_iterations).**");
    expect(pr.body).toContain("**Changes requested ❌**");
    expect(pr.body).toContain("`src/greet.js:2` (blocking): Mention the change in the README.");
    expect(pr.body).toContain("(no change)"); // round 2's agent changed nothing, and said why
    expect(pr.body).toContain("I kept the greeting: the test requires it.");
    expect(gh.sticky).toContain("draft pull request #100");
  });

  it("stops when the same finding comes back (no progress), as a draft", async () => {
    await start(
      {
        gate,
        plan: planOf([unit("greeting", ["src/greet.js"])]),
        "execute/greeting": [edit("src/greet.js", '"Hello "', '"Hi "'), done("Changed.")],
        "execute/fix": [done("Nothing to do.")],
        review: [requestChanges("Handle a missing name."), requestChanges("Handle a missing name.")],
      },
      { config: CONFIG("loop:\n  max_iterations: 5\n") },
    );
    const r = await finished();
    expect(r).toMatchObject({ status: "draft", iterations: 2 });
    expect(gh.pulls[0]!.body).toContain("round 2 ended with the same findings as round 1");
  });

  it("is stopped by its budget before the review, and keeps the work as a draft PR", async () => {
    await start(
      {
        gate,
        plan: planOf([unit("greeting", ["src/greet.js"])]),
        "execute/greeting": [edit("src/greet.js", '"Hello "', '"Hi "'), done("Changed.")],
        review: [approve],
      },
      { config: CONFIG("budget:\n  phase_usd:\n    review: 0.01\n") },
    );
    const r = await finished();
    expect(r).toMatchObject({ status: "stopped", pr_number: 100 });
    expect(model.remaining.review).toBe(1); // the review call was never made
    expect((await ledger()).some((c) => c.phase === "review")).toBe(false);
    const pr = gh.pulls[0]!;
    expect(pr.draft).toBe(true);
    expect(pr.body).toMatch(/\*\*Draft: the budget stopped the run: the review budget \$0\.01 reached in review iteration 1/);
    expect(branchFile("src/greet.js")).toContain('"Hi "');
    const phases = (await app.services.db.query<{ name: string; status: string }>("SELECT name, status FROM phases WHERE name = 'review'"))
      .rows;
    expect(phases).toEqual([{ name: "review", status: "failed" }]);
  });

  it("runs two work units in parallel and merges both", async () => {
    // Each unit's first call is held in flight until the other unit has made its first call too: the
    // units run at once or the run never gets past the first unit's first call. (A fixed latency
    // instead was not always long enough: on a busy machine a unit still making its worktree and repo
    // map asked its first question after the other had asked its second.)
    const units = ["execute/greeting", "execute/farewell"];
    const asked = new Set<string>();
    let bothAsked!: () => void;
    const together = new Promise<void>((resolve) => (bothAsked = resolve));
    const wrap = (port: ModelPort): ModelPort => ({
      provider: port.provider,
      call: async (request, options) => {
        const route = agentRoute(request);
        if (units.includes(route) && !asked.has(route)) {
          asked.add(route);
          if (asked.size === units.length) bothAsked();
          await together;
        }
        return port.call(request, options);
      },
    });
    await start(
      {
        gate,
        plan: planOf([unit("greeting", ["src/greet.js"]), unit("farewell", ["src/farewell.js"])]),
        "execute/greeting": [edit("src/greet.js", '"Hello "', '"Hi "'), done("Greeting changed.")],
        "execute/farewell": [edit("src/farewell.js", '"Bye "', '"Goodbye "'), done("Farewell changed.")],
        review: [approve],
      },
      { wrap },
    );
    expect(await finished()).toMatchObject({ status: "succeeded" });
    // both agents asked their first question before either asked its second
    const order = model.requests.filter((q) => q.route.startsWith("execute/")).map((q) => q.route);
    expect(order.slice(0, 2).sort()).toEqual(["execute/farewell", "execute/greeting"]);
    expect(branchFile("src/greet.js")).toContain('"Hi "');
    expect(branchFile("src/farewell.js")).toContain('"Goodbye "');
  });

  it("redoes a unit that conflicts on the merged tree", async () => {
    await start({
      gate,
      plan: planOf([unit("greeting", ["src/greet.js"]), unit("docs", ["README.md"])]),
      "execute/greeting": [
        edit("src/greet.js", '"Hello "', '"Hi "'),
        edit("README.md", "greets people", "says hi to people"),
        done("Greeting and README changed."),
      ],
      "execute/docs": [
        edit("README.md", "greets people", "greets people politely"),
        done("README changed."),
        // the redo, on the tree that has the greeting unit's work
        edit("README.md", "says hi to people", "says hi to people politely"),
        done("README changed on top of the greeting unit's work."),
      ],
      review: [approve],
    });
    expect(await finished()).toMatchObject({ status: "succeeded" });
    const redo = model.requests.filter((q) => q.route === "execute/docs")[2]!.request;
    expect(JSON.stringify(redo.messages[0])).toContain("conflicted with the other units' work in README.md");
    expect(branchFile("README.md")).toContain("says hi to people politely");
    expect(gh.pulls[0]!.body).toContain("_(redone after a conflict in README.md)_");
  });

  it("stops at the next safe point when the label is removed during execute: calls aborted, spend recorded, no PR", async () => {
    await start({
      gate,
      plan: planOf([unit("greeting", ["src/greet.js"])]),
      "execute/greeting": [{ ...edit("src/greet.js", '"Hello "', '"Hi "'), latencyMs: 30_000 }],
      review: [approve],
    });
    await eventually(async () => model.requests.some((q) => q.route === "execute/greeting"));
    await app.probot.receive({ id: "d-unlabel", name: "issues", payload: issuesUnlabeled("ai-ready") } as never);
    const r = await finished();
    expect(r.status).toBe("cancelled");
    // the run's job notices, stops, records and reports, then ends
    await eventually(
      async () =>
        (await app.services.db.query("SELECT 1 FROM pgboss.job WHERE name = $1 AND state = 'completed'", [QUEUE.run])).rows.length > 0,
    );
    expect(gh.pulls).toHaveLength(0);
    expect(() => git(bare, "rev-parse", "--verify", "tollgate/issue-1")).toThrow(); // nothing pushed
    // the aborted call is in the ledger as an error; what was spent is on the issue
    const calls = await ledger();
    expect(calls.at(-1)).toMatchObject({ phase: "execute", status: "error" });
    const phases = (await app.services.db.query<{ name: string; status: string }>("SELECT name, status FROM phases ORDER BY id")).rows;
    expect(phases.at(-1)).toEqual({ name: "execute", status: "cancelled" });
    expect(
      gh.stickyBodies.some(
        (b) =>
          b.includes("### Tollgate: cancelled") &&
          b.includes("⏹️ execute (round 1)") &&
          /Spent: \$\d+\.\d+ \+ 1 call of unknown cost of the \$5\.00 budget\./.test(b),
      ),
    ).toBe(true);
    expect(gh.sticky).toContain("cancelled");
  });

  /** A model call that never answers, as when the worker making it is killed. */
  function killAt(route: string, n: number) {
    let count = 0;
    let reached!: () => void;
    const killed = new Promise<void>((resolve) => (reached = resolve));
    const wrap = (port: ModelPort): ModelPort => ({
      provider: port.provider,
      call: (request, options) => {
        if (agentRoute(request) === route && ++count === n) {
          reached();
          // the process is gone: no answer, no ledger row. After the test (its database
          // closed), the dead worker is let go, so that nothing of it outlives the test.
          return new Promise((_resolve, reject) => zombies.push(() => reject(new ModelCallError("auth", "the worker was killed"))));
        }
        return port.call(request, options);
      },
    });
    return { wrap, killed };
  }

  /**
   * A worker takes the run's job (as pg-boss's fetch does: the job becomes active) and dies at the
   * kill point; the restarted process retries the orphaned job at once, and its worker resumes it.
   */
  async function killAndRestart(killed: Promise<void>) {
    const db = app.services.db;
    const job = await eventually(
      async () =>
        (await db.query<{ id: string; data: RunJob }>("SELECT id, data FROM pgboss.job WHERE name = $1 AND state = 'created'", [QUEUE.run]))
          .rows[0],
    );
    await db.query("UPDATE pgboss.job SET state = 'active', started_on = now() WHERE id = $1", [job.id]);
    app.runJob(job.data).catch(() => undefined); // the worker that dies
    await killed;
    expect(await app.services.queue.retryOrphans(QUEUE.run)).toEqual([job.id]);
    await app.startWorkers(1, { queues: [QUEUE.run] });
  }

  async function expectOneOfEverything(runId: string) {
    expect(gh.pulls).toHaveLength(1);
    expect(gh.comments.filter((c) => c.user.type === "Bot")).toHaveLength(1);
    expect(branchLog()).toEqual([`tollgate[bot]|${TITLE} (#1)`, "Human|initial"]);
    expect(
      git(bare, "branch", "--list")
        .trim()
        .split("\n")
        .map((b) => b.replace(/^[* ]+/, "")),
    ).toEqual(["main", "tollgate/issue-1"]);
    // every answered call is in the ledger once; the one in flight when the worker died is not
    const rows = (await app.services.db.query<{ n: number }>("SELECT count(*)::int AS n FROM llm_calls WHERE run_id = $1", [runId]))
      .rows[0]!.n;
    expect(rows).toBe(model.requests.length);
    // and the PR's table says so
    const [summary] = await new RunCosts(app.services.db).runSummaries([runId]);
    expect(gh.pulls[0]!.body).toContain(
      renderCostTable({
        rows: await new RunCosts(app.services.db).costRows([runId]),
        prices: new PriceBook(PRICE_OVERRIDES),
        deepModel: "claude-opus-4-7",
        budgetMicros: summary!.budgetMicros,
        iterations: 1,
      }),
    );
  }

  it("resumes after a worker dies between phases: the finished phases are not redone or paid for twice", async () => {
    const kill = killAt("review", 1);
    await start(
      {
        gate,
        plan: planOf([unit("greeting", ["src/greet.js"])]),
        "execute/greeting": [edit("src/greet.js", '"Hello "', '"Hi "'), done("Changed.")],
        review: [approve],
      },
      { wrap: kill.wrap, queues: [QUEUE.trigger, QUEUE.dead] },
    );
    await killAndRestart(kill.killed);
    const r = await finished();
    expect(r).toMatchObject({ status: "succeeded", iterations: 1 });
    expect(model.remaining).toEqual({ gate: 0, plan: 0, "execute/greeting": 0, review: 0 });
    expect((await ledger()).map((c) => c.phase)).toEqual(["gate", "plan", "plan", "execute", "execute", "review"]);
    const phases = (
      await app.services.db.query<{ name: string; attempt: number; status: string; error: string | null }>(
        "SELECT name, attempt, status, error FROM phases ORDER BY id",
      )
    ).rows;
    // setup runs again on the resumed attempt's fresh clone (it costs no model call); nothing else is redone,
    // the baseline checks on the base commit (verify, round 0) included
    expect(phases.map((p) => `${p.name}#${p.attempt}:${p.status}`)).toEqual([
      "gate#1:succeeded",
      "setup#1:succeeded",
      "verify#1:succeeded",
      "plan#1:succeeded",
      "execute#1:succeeded",
      "verify#1:succeeded",
      "review#1:failed",
      "setup#2:succeeded",
      "review#2:succeeded",
      "publish#1:succeeded",
    ]);
    expect(phases[6]!.error).toBe("interrupted: the worker running it stopped");
    expect(branchFile("src/greet.js")).toContain('"Hi "'); // the tree was rebuilt from the checkpoint
    await expectOneOfEverything(r.id);
  });

  smoke("resumes after a worker dies in the middle of execute: the phase is redone on a fresh clone", async () => {
    const kill = killAt("execute/greeting", 2);
    await start(
      {
        gate,
        plan: planOf([unit("greeting", ["src/greet.js"])]),
        // call 1 answers, call 2 never does (the kill), calls 3 and 4 are the redone phase
        "execute/greeting": [edit("src/greet.js", '"Hello "', '"Hi "'), edit("src/greet.js", '"Hello "', '"Hi "'), done("Changed.")],
        review: [approve],
      },
      { wrap: kill.wrap, queues: [QUEUE.trigger, QUEUE.dead] },
    );
    await killAndRestart(kill.killed);
    const r = await finished();
    expect(r).toMatchObject({ status: "succeeded" });
    expect((await ledger()).map((c) => c.phase)).toEqual(["gate", "plan", "plan", "execute", "execute", "execute", "review"]);
    await expectOneOfEverything(r.id);
  });

  it("never pushes over a human's commit on its branch: the work goes to the first free tollgate/issue-1-<k>, and says so", async () => {
    await start(
      {
        gate,
        plan: planOf([unit("greeting", ["src/greet.js"])]),
        "execute/greeting": [edit("src/greet.js", '"Hello "', '"Hi "'), done("Changed.")],
        review: [approve],
      },
      { queues: [QUEUE.trigger, QUEUE.dead] },
    );
    // someone pushes to tollgate/issue-1 before the run gets there, and to tollgate/issue-1-2 too
    for (const branch of ["tollgate/issue-1", "tollgate/issue-1-2"]) {
      git(bare, "branch", branch, "main");
      humanCommit(bare, branch);
    }
    const before = ["tollgate/issue-1", "tollgate/issue-1-2"].map((b) => git(bare, "rev-parse", b).trim());
    await app.startWorkers(1, { queues: [QUEUE.run] });
    const r = await finished();
    expect(r).toMatchObject({ status: "succeeded", error: null });
    // their branches are as they left them; the run's work is on -3, in a PR from there
    expect(["tollgate/issue-1", "tollgate/issue-1-2"].map((b) => git(bare, "rev-parse", b).trim())).toEqual(before);
    expect(git(bare, "log", "--format=%an|%s", "tollgate/issue-1-3").trim().split("\n")).toEqual([
      `tollgate[bot]|${TITLE} (#1)`,
      "Human|initial",
    ]);
    expect(git(bare, "show", "tollgate/issue-1-3:src/greet.js")).toContain('"Hi "');
    expect(gh.pulls).toHaveLength(1);
    expect(gh.pulls[0]!.head).toBe("tollgate/issue-1-3");
    const note =
      "`tollgate/issue-1` has commits by someone else (`human@example.com`), which Tollgate never pushes over: this work is on `tollgate/issue-1-3` instead.";
    expect(gh.pulls[0]!.body).toContain(`> [!NOTE]\n> ${note}`);
    expect(gh.sticky).toContain(note);
  });

  it("updates the issue's open PR on a later run, never opening a second one, and turns it into a draft when checks fail", async () => {
    const plan = planOf([unit("greeting", ["src/greet.js"])]);
    await start(
      {
        gate: [...gate, ...gate],
        plan: [...plan, ...plan],
        "execute/greeting": [
          edit("src/greet.js", '"Hello "', '"Hi "'),
          done("Changed."),
          edit("src/greet.js", '"Hello "', '"Hi "'),
          done("Changed again."),
        ],
        review: [approve, requestChanges("Also greet by title.")],
      },
      { config: CONFIG("loop:\n  max_iterations: 1\n") },
    );
    const first = await finished();
    expect(first.status).toBe("succeeded");
    expect(gh.pulls.map((p) => [p.number, p.draft])).toEqual([[100, false]]);
    // the label is added again: a second run of the same issue
    const payload = issuesLabeled("ai-ready");
    pipeline!.atServer(payload);
    await app.probot.receive({ id: "d-second", name: "issues", payload } as never);
    const second = (await laterRunEnded(first.id))[0]!;
    expect(second.status).toBe("draft");
    expect(gh.pulls).toHaveLength(1); // updated, not duplicated
    expect(gh.pulls[0]!.bodies).toHaveLength(2);
    expect(gh.pulls[0]!.body).toContain("**Draft: the review still requests changes after 1 round (loop.max_iterations).**");
    expect(gh.graphql).toEqual([expect.stringContaining("convertPullRequestToDraft")]);
    expect(gh.pulls[0]!.draft).toBe(true);
    expect(branchLog()).toHaveLength(2); // the branch holds the latest run's one commit over main
  });

  smoke("/retry execute after a draft reuses the stored gate and plan: the new run makes no gate or plan call", async () => {
    await start(
      {
        gate,
        plan: planOf([unit("greeting", ["src/greet.js"])]),
        "execute/greeting": [
          edit("src/greet.js", '"Hello "', '"Hey "'),
          done("Changed."),
          edit("src/greet.js", '"Hello "', '"Hi "'),
          done("Changed to Hi."),
        ],
        triage: [triage('The test expects "Hi Ada".')],
        review: [approve],
      },
      { config: CONFIG("loop:\n  max_iterations: 1\n") },
    );
    const first = await finished();
    expect(first.status).toBe("draft");
    const comment = issueComment("/retry execute");
    pipeline!.atServer(comment);
    await app.probot.receive({ id: "d-retry", name: "issue_comment", payload: comment } as never);
    const second = (await laterRunEnded(first.id))[0]!;
    expect(second.status).toBe("succeeded");
    const calls = (
      await app.services.db.query<{ phase: string }>("SELECT phase FROM llm_calls WHERE run_id = $1 ORDER BY id", [second.id])
    ).rows.map((r) => r.phase);
    expect(calls).toEqual(["execute", "execute", "review"]); // no gate, no plan
    expect(model.remaining).toEqual({ gate: 0, plan: 0, "execute/greeting": 0, triage: 0, review: 0 });
    expect(gh.pulls).toHaveLength(1);
    expect(gh.pulls[0]!.draft).toBe(false); // the draft became ready
    expect(gh.reactions).toEqual([{ commentId: 4242, content: "+1" }]);
  });

  it("/cancel during execute stops the run like a removed label", async () => {
    await start({
      gate,
      plan: planOf([unit("greeting", ["src/greet.js"])]),
      "execute/greeting": [{ ...edit("src/greet.js", '"Hello "', '"Hi "'), latencyMs: 30_000 }],
    });
    await eventually(async () => model.requests.some((q) => q.route === "execute/greeting"));
    await app.probot.receive({ id: "d-cancel", name: "issue_comment", payload: issueComment("/cancel") } as never);
    await eventually(
      async () =>
        (await app.services.db.query("SELECT 1 FROM pgboss.job WHERE name = $1 AND state = 'completed'", [QUEUE.run])).rows.length > 0,
      30_000,
    );
    expect((await run()).status).toBe("cancelled");
    expect(gh.pulls).toHaveLength(0);
    expect((await app.services.db.query<{ status: string }>("SELECT status FROM phases WHERE name = 'execute'")).rows).toEqual([
      { status: "cancelled" },
    ]);
  });

  smoke(
    "turns three review comments in the quiet period into one revision: a new commit, an answer in each thread, the PR's cost per run",
    async () => {
      await start(
        {
          gate,
          plan: planOf([unit("greeting", ["src/greet.js"])]),
          "execute/greeting": [edit("src/greet.js", '"Hello "', '"Hi "'), done("Changed the greeting.")],
          "execute/fix": [
            edit("src/greet.js", "export function greet(name) {", "/** Greets by name. */\nexport function greet(name) {"),
            answered("Addressed it.", { T1: "Added a JSDoc comment.", T2: ["declined", "No README example."], T3: "The issue says Hi." }),
          ],
          review: [approve, approve],
        },
        // the revise queue is worked once every review delivery is in (below)
        { config: CONFIG("revise:\n  quiet_seconds: 1\n"), queues: [QUEUE.trigger, QUEUE.command, QUEUE.run, QUEUE.dead] },
      );
      const first = await finished();
      expect(first.status).toBe("succeeded");
      // three comments, one of them on a line the change deleted, and one by a reader
      const now = new Date().toISOString();
      const comments = [
        { id: 501, body: "Add a JSDoc comment here.", path: "src/greet.js", line: 1 },
        { id: 502, body: "Should the README mention this?", path: "README.md", line: 3 },
        { id: 503, body: "Why was the old greeting removed?", path: "src/greet.js", line: null },
        { id: 504, body: "Please rewrite it in Rust.", path: "src/greet.js", line: 2, login: "reader" },
      ];
      for (const c of comments) {
        gh.reviewComments.push({
          id: c.id,
          pr: 100,
          user: { login: c.login ?? "Codertocat", type: "User" },
          path: c.path,
          line: c.line,
          original_line: c.line ?? 2,
          diff_hunk: '@@ -1,3 +1,3 @@\n export function greet(name) {\n-  return "Hello " + name;\n+  return "Hi " + name;',
          body: c.body,
          created_at: now,
        });
        const payload = reviewCommentCreated(c);
        pipeline!.atServer(payload);
        await app.probot.receive({ id: `d-review-${c.id}`, name: "pull_request_review_comment", payload } as never);
      }
      // a review on a pull request Tollgate did not open is not even recorded
      await app.probot.receive({
        id: "d-review-other",
        name: "pull_request_review_comment",
        payload: reviewCommentCreated({ id: 900, body: "x", path: "a", line: 1 }, { number: 7, headRef: "feature" }),
      } as never);
      expect(await app.services.deliveries.get("d-review-other")).toBeUndefined();
      // Only now may the revision's job start. (With its workers running from the start, it started a
      // second after the first comment's delivery: on a busy machine, before the last comments were in.)
      // The queue says two runs wait ahead of the revision's: the reviewers hear its place on the PR.
      const runsAhead = app.services.queueInfo.runsAhead.bind(app.services.queueInfo);
      app.services.queueInfo.runsAhead = async (jobId) => (await runsAhead(jobId)) + 2;
      await app.startWorkers(2, { queues: [QUEUE.revise] });

      const revision = await laterRunEnded(first.id);
      expect(revision).toEqual([expect.objectContaining({ kind: "revise", status: "succeeded" })]); // one run for the three
      const [rev] = revision;
      // the agent read every writer's comment, with where it was, and not the reader's
      const task = JSON.stringify(model.requests.find((q) => q.route === "execute/fix")!.request.messages[0]);
      expect(task).toContain("Add a JSDoc comment here.");
      expect(task).toContain("@Codertocat on README.md line 3");
      expect(task).toContain("@Codertocat on src/greet.js (a line that is no longer in the new version; its old context is below)");
      expect(task).not.toContain("Rust");
      // no gate or plan call for the revision
      expect(
        (await app.services.db.query<{ phase: string }>("SELECT phase FROM llm_calls WHERE run_id = $1 ORDER BY id", [rev!.id])).rows.map(
          (r) => r.phase,
        ),
      ).toEqual(["execute", "execute", "review"]);
      // a new commit on top of the first
      expect(branchLog()).toEqual(["tollgate[bot]|Address review comments (#1)", `tollgate[bot]|${TITLE} (#1)`, "Human|initial"]);
      expect(branchFile("src/greet.js")).toContain("/** Greets by name. */");
      expect(gh.comments.filter((c) => c.issue === 100).map((c) => c.body)).toEqual([
        "### Tollgate: revision queued: number 3 in line (2 runs wait for a worker ahead of it)\n\nThe revision for 3 review threads starts when a worker is free; `/status` on the issue says where it is meanwhile.",
      ]);
      // an answer in each writer's thread, none in the reader's
      const replies = gh.reviewComments.filter((c) => c.user.type === "Bot");
      const sha = git(bare, "rev-parse", "--short=7", "tollgate/issue-1").trim();
      expect(replies.map((r) => [r.in_reply_to_id, r.body])).toEqual([
        [501, `Done in ${sha}: Added a JSDoc comment.`],
        [502, "Not changed: No README example."],
        [503, `Done in ${sha}: The issue says Hi.`],
      ]);
      // the PR body: this run's table, and every run with the total
      expect(gh.pulls).toHaveLength(1);
      expect(gh.pulls[0]!.body).toContain("### Every run on this pull request");
      expect(gh.pulls[0]!.body).toMatch(
        /\| `[0-9a-f]{8}` \| first run \| .* \| succeeded \| \$\d\.\d+ \|\n\| `[0-9a-f]{8}` \| revision \| .* \| this run \| \$\d\.\d+ \|\n\| \*\*Total\*\* \| \| \| \| \*\*\$\d\.\d+\*\* \|/,
      );
    },
  );

  it("records a merge, and a close ends the PR's active revision", async () => {
    await start({
      gate,
      plan: planOf([unit("greeting", ["src/greet.js"])]),
      "execute/greeting": [edit("src/greet.js", '"Hello "', '"Hi "'), done("Changed.")],
      review: [approve],
    });
    const first = await finished();
    const closed = webhookExample("pull_request", "closed");
    closed.pull_request = {
      ...closed.pull_request,
      number: 100,
      merged: true,
      head: { ...closed.pull_request.head, ref: "tollgate/issue-1", repo: { ...closed.pull_request.head.repo, id: closed.repository.id } },
    };
    closed.repository.id = 186853002;
    closed.installation = { id: INSTALLATION_ID };
    closed.pull_request.head.repo.id = 186853002;
    await app.probot.receive({ id: "d-merged", name: "pull_request", payload: closed } as never);
    await eventually(async () => (await app.services.deliveries.get("d-merged"))?.status === "done");
    const row = (
      await app.services.db.query<{ pr_state: string; pr_closed_at: Date | null }>(
        "SELECT pr_state, pr_closed_at FROM runs WHERE id = $1",
        [first.id],
      )
    ).rows[0]!;
    expect(row.pr_state).toBe("merged");
    expect(row.pr_closed_at).toBeInstanceOf(Date);

    // a revision in progress when the PR is closed is cancelled
    const { rows } = await app.services.db.query<{ id: string }>(
      "INSERT INTO runs (kind, installation_id, repository_id, owner, repo, issue_number, status) VALUES ('revise', $1, 186853002, 'Codertocat', 'Hello-World', 1, 'running') RETURNING id",
      [INSTALLATION_ID],
    );
    const unmerged = structuredClone(closed);
    unmerged.pull_request.merged = false;
    await app.probot.receive({ id: "d-closed", name: "pull_request", payload: unmerged } as never);
    await eventually(async () => (await app.services.deliveries.get("d-closed"))?.status === "done");
    expect((await app.services.db.query<{ status: string }>("SELECT status FROM runs WHERE id = $1", [rows[0]!.id])).rows[0]!.status).toBe(
      "cancelled",
    );
    expect((await app.services.deliveries.get("d-closed"))?.detail).toBe("pull request #100 closed; its revision was cancelled");
    expect(gh.sticky).toContain("The run was cancelled: pull request #100 was closed.");
  });

  it("does not push a revision over a human's push to the branch, and says so in the thread", async () => {
    await start(
      {
        gate,
        plan: planOf([unit("greeting", ["src/greet.js"])]),
        "execute/greeting": [edit("src/greet.js", '"Hello "', '"Hi "'), done("Changed.")],
        review: [approve],
      },
      { config: CONFIG("revise:\n  quiet_seconds: 1\n") },
    );
    expect((await finished()).status).toBe("succeeded");
    humanCommit(bare, "tollgate/issue-1");
    const head = git(bare, "rev-parse", "tollgate/issue-1").trim();
    gh.reviewComments.push({
      id: 601,
      pr: 100,
      user: { login: "Codertocat", type: "User" },
      path: "src/greet.js",
      line: 2,
      original_line: 2,
      diff_hunk: "@@ -1 +1 @@",
      body: "Use a template literal.",
      created_at: new Date().toISOString(),
    });
    const payload = reviewCommentCreated({ id: 601, body: "Use a template literal.", path: "src/greet.js", line: 2 });
    pipeline!.atServer(payload);
    await app.probot.receive({ id: "d-review-601", name: "pull_request_review_comment", payload } as never);
    const revision = await eventually(async () => {
      const rows = (
        await app.services.db.query<{ kind: string; status: string; error: string | null }>(
          "SELECT kind, status, error FROM runs WHERE kind = 'revise'",
        )
      ).rows;
      return rows[0] && !["queued", "running"].includes(rows[0].status) && rows[0];
    }, 50_000);
    expect(revision).toMatchObject({
      status: "failed",
      error: expect.stringContaining("has commits by someone else (human@example.com), so revisions no longer push there"),
    });
    expect(git(bare, "rev-parse", "tollgate/issue-1").trim()).toBe(head); // untouched
    const replies = gh.reviewComments.filter((c) => c.user.type === "Bot");
    expect(replies).toEqual([
      expect.objectContaining({
        in_reply_to_id: 601,
        body: expect.stringMatching(/^Not done: tollgate\/issue-1 has commits by someone else/),
      }),
    ]);
    expect(gh.sticky).toContain("stopped: the branch has someone else's commits");
  });

  it("revises on a submitted review's own text, answering on the PR's conversation; an approval starts nothing", async () => {
    await start(
      {
        gate,
        plan: planOf([unit("greeting", ["src/greet.js"])]),
        "execute/greeting": [edit("src/greet.js", '"Hello "', '"Hi "'), done("Changed.")],
        "execute/fix": [
          edit("src/greet.js", "export function greet(name) {", "// Says hi.\nexport function greet(name) {"),
          answered("Added the comment.", { T1: "Added the comment." }),
        ],
        review: [approve, approve],
      },
      { config: CONFIG("revise:\n  quiet_seconds: 1\n") },
    );
    expect((await finished()).status).toBe("succeeded");
    const approval = reviewSubmitted({ id: 700, body: "LGTM", state: "approved" });
    await app.probot.receive({ id: "d-approve", name: "pull_request_review", payload: approval } as never);
    expect(await app.services.deliveries.get("d-approve")).toBeUndefined();
    gh.reviews.push({
      id: 701,
      pr: 100,
      user: { login: "Codertocat", type: "User" },
      state: "CHANGES_REQUESTED",
      body: "Add a comment above greet().",
      submitted_at: new Date(Date.now() + 1000).toISOString(),
    });
    const payload = reviewSubmitted({ id: 701, body: "Add a comment above greet()." });
    pipeline!.atServer(payload);
    await app.probot.receive({ id: "d-review-701", name: "pull_request_review", payload } as never);
    const revision = await eventually(async () => {
      const rows = (await app.services.db.query<{ status: string; error: string }>("SELECT status, error FROM runs WHERE kind = 'revise'"))
        .rows;
      return rows[0] && !["queued", "running"].includes(rows[0].status) && rows[0];
    }, 50_000);
    expect(revision).toEqual({ status: "succeeded", error: null });
    expect(JSON.stringify(model.requests.find((q) => q.route === "execute/fix")!.request.messages[0])).toContain(
      "@Codertocat (the review's summary):\\nAdd a comment above greet().",
    );
    expect(branchFile("src/greet.js")).toContain("// Says hi.");
    expect(gh.replies(100)).toEqual([expect.stringMatching(/^@Codertocat, on your review: Done in [0-9a-f]{7}: Added the comment\.$/)]);
  });

  it("/retry after a human's push to the branch starts from their head and builds on it", async () => {
    const plan = planOf([unit("greeting", ["src/greet.js"])]);
    await start({
      gate: [...gate, ...gate],
      plan: [...plan, ...plan],
      "execute/greeting": [
        edit("src/greet.js", '"Hello "', '"Hi "'),
        done("Changed."),
        edit("src/greet.js", "export function greet(name) {", "// Says hi.\nexport function greet(name) {"),
        done("Added a comment."),
      ],
      review: [approve, approve],
    });
    const first = await finished();
    expect(first.status).toBe("succeeded");
    humanCommit(bare, "tollgate/issue-1");
    const comment = issueComment("/retry");
    pipeline!.atServer(comment);
    await app.probot.receive({ id: "d-retry-human", name: "issue_comment", payload: comment } as never);
    const second = (await laterRunEnded(first.id))[0]!;
    expect(second.status).toBe("succeeded");
    expect(branchLog()).toEqual([`tollgate[bot]|${TITLE} (#1)`, "Human|a human fix", `tollgate[bot]|${TITLE} (#1)`, "Human|initial"]);
    expect(branchFile("human.txt")).toBe("mine\n"); // the human's work is kept
    expect(branchFile("src/greet.js")).toContain("// Says hi.");
    expect(gh.pulls).toHaveLength(1);
  });
}
