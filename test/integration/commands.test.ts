/**
 * Comment commands as people type them: real `issue_comment.created` payloads through
 * `probot.receive`, the command worker on the real queue, GitHub played by nock (requests
 * checked against the OpenAPI description), runs seeded in the database where a command needs
 * one.
 */
import nock from "nock";
import { HELP } from "../../src/commands/parse.js";
import { jobIdForRun } from "../../src/queue/job-id.js";
import { QUEUE } from "../../src/queue/jobs.js";
import { createTestApp, type TestApp } from "../helpers/app.js";
import { DB_KINDS, e2eCases } from "../helpers/db.js";
import { eventually } from "../helpers/eventually.js";
import { FakeGitHub } from "../helpers/fake-github.js";
import { gate } from "../helpers/greeter.js";
import { captureLog } from "../helpers/log.js";
import { issueTextSha256 } from "../../src/safety/text-hash.js";
import { INSTALLATION_ID, issueComment } from "../helpers/webhooks.js";

beforeAll(() => nock.disableNetConnect());
afterAll(() => nock.enableNetConnect());

const REPO_ID = 186853002;
const readyVerdict = (gate[0] as { toolUse: { input: Record<string, unknown> } }).toolUse.input;

describe.each(DB_KINDS)("comment commands on %s", (kind) => {
  const { it, smoke } = e2eCases(kind);
  let app: TestApp;
  let gh: FakeGitHub;
  const captured = captureLog("info");
  let n = 0;

  beforeEach(async () => {
    gh = new FakeGitHub({
      owner: "Codertocat",
      repo: "Hello-World",
      issue: 1,
      installationId: INSTALLATION_ID,
      title: "Add a --verbose flag",
      body: "Print each request.",
      config: "budget:\n  run_usd: 5\n  daily_usd: 50\n",
      token: "ghs_commandtoken0000000000000000000000001",
      permissions: { reader: "read", maint: "maintain" },
    });
    app = await createTestApp(kind, captured.log);
    await app.startWorkers(1, { queues: [QUEUE.command, QUEUE.dead] });
  });
  afterEach(async () => {
    await app.close();
    nock.cleanAll();
    expect(app.github.errors).toEqual([]);
  });

  const say = async (body: string, options: Parameters<typeof issueComment>[1] = {}) => {
    const id = `c-${++n}-${Math.random()}`;
    await app.probot.receive({ id, name: "issue_comment", payload: gh.sees(issueComment(body, options)) } as never);
    return id;
  };
  const handled = (id: string) =>
    eventually(async () => {
      const d = await app.services.deliveries.get(id);
      return d && d.status !== "received" && d;
    });
  const recorded = async () =>
    (
      await app.services.db.query<{ sender: string; command: string; outcome: string; detail: string }>(
        "SELECT sender, command, outcome, detail FROM comment_commands ORDER BY id",
      )
    ).rows;
  const runs = async () =>
    (
      await app.services.db.query<{ id: string; status: string; budget_usd_micros: number }>(
        "SELECT id, status, budget_usd_micros FROM runs ORDER BY created_at",
      )
    ).rows;
  async function seedRun(status: string, phases: Record<string, unknown> = {}, pr?: number): Promise<string> {
    const { rows } = await app.services.db.query<{ id: string }>(
      `INSERT INTO runs (installation_id, repository_id, owner, repo, issue_number, status, budget_usd_micros, pr_number)
       VALUES ($1, $2, 'Codertocat', 'Hello-World', 1, $3, 5000000, $4) RETURNING id`,
      [INSTALLATION_ID, REPO_ID, status, pr ?? null],
    );
    for (const [name, output] of Object.entries(phases)) {
      await app.services.db.query(
        "INSERT INTO phases (run_id, name, iteration, status, output, finished_at) VALUES ($1, $2, 0, 'succeeded', $3, now())",
        [rows[0]!.id, name, JSON.stringify(output)],
      );
    }
    return rows[0]!.id;
  }

  it.each(["/help", "/status", "/cost", "/cancel", "/retry", "/retry execute", "/approve", "/budget 10", "/deploy"])(
    "refuses %s from a reader, saying who may, and starts nothing",
    async (body) => {
      await seedRun("running");
      const id = await say(body, { sender: { login: "reader", type: "User" } });
      expect(await handled(id)).toMatchObject({ status: "ignored" });
      expect(gh.replies()).toEqual([
        expect.stringMatching(
          /^@reader, only people with (write, maintain|maintain) or admin access to Codertocat\/Hello-World can give Tollgate that command \(you have read access\)\.$/,
        ),
      ]);
      expect(await runs()).toEqual([expect.objectContaining({ status: "running" })]);
      expect(await recorded()).toEqual([expect.objectContaining({ sender: "reader", outcome: "refused" })]);
    },
  );

  it.each(["/help", "/retry", "/cancel", "/approve", "/budget 10"])(
    "never acts on %s from a bot (not even a delivery row)",
    async (body) => {
      await say(body, { sender: { login: "tollgate[bot]", type: "Bot" } });
      await say(body, { sender: { login: "other-ci[bot]", type: "Bot" } });
      expect((await app.services.db.query("SELECT 1 FROM deliveries")).rows).toHaveLength(0);
      expect((await app.services.db.query("SELECT 1 FROM pgboss.job WHERE name = $1", [QUEUE.command])).rows).toHaveLength(0);
    },
  );

  it.each([
    ["please /retry this", "in the middle of a line"],
    ["Thanks!\n/cancel", "on a later line"],
    ["```\n/cancel\n```", "in a code block"],
  ])("treats %j as conversation (%s): no job", async (body) => {
    await say(body);
    expect((await app.services.db.query("SELECT 1 FROM pgboss.job WHERE name = $1", [QUEUE.command])).rows).toHaveLength(0);
  });

  it("answers /help, and an unknown command with a 😕 and the help", async () => {
    await handled(await say("/help"));
    await handled(await say("/deploy now"));
    expect(gh.replies()).toEqual([HELP, `\`/deploy\` is not a Tollgate command.\n\n${HELP}`]);
    expect(gh.reactions).toEqual([{ commentId: 4242, content: "confused" }]);
  });

  it.each([
    ["/budget abc", "`/budget abc`: give the run's new cap in dollars, e.g. `/budget 12.50`."],
    ["/budget -5", "`/budget -5`: give the run's new cap in dollars, e.g. `/budget 12.50`."],
    ["/budget 1e9", "`/budget 1e9`: give the run's new cap in dollars, e.g. `/budget 12.50`."],
    ["/retry nonsense", "`/retry nonsense`: retry the whole run with `/retry`, or from a phase with `/retry gate|plan|execute`."],
  ])("explains what is wrong with %j", async (body, reason) => {
    const id = await seedRun("running");
    await handled(await say(body));
    expect(gh.replies()).toEqual([`${reason}\n\n${HELP}`]);
    expect((await runs())[0]).toMatchObject({ id, budget_usd_micros: 5_000_000 });
    expect(await recorded()).toEqual([expect.objectContaining({ outcome: "invalid" })]);
  });

  it("reads the first line of a 65,536-character comment", async () => {
    await handled(await say(`/status\n${"x".repeat(65_528)}`));
    expect(gh.replies()).toEqual(["Tollgate has not run on this issue."]);
  });

  smoke("/status tells the phase, round and spend of the active run", async () => {
    const id = await seedRun("running");
    await app.services.db.query("INSERT INTO phases (run_id, name, iteration, status) VALUES ($1, 'execute', 2, 'running')", [id]);
    await app.services.db.query(
      "INSERT INTO llm_calls (run_id, phase, iteration, model, status, input_tokens, output_tokens, cost_usd_micros, latency_ms) VALUES ($1, 'execute', 2, 'claude-sonnet-4-6', 'ok', 1000, 100, 4500, 900)",
      [id],
    );
    await handled(await say("/status"));
    expect(gh.replies()).toEqual([`Run \`${id}\`: execute (round 2), running. Spent $0.0045 of $5.00.`]);
  });

  it("/status tells a queued run's place in line: behind the runs sent before it, as long as it waits", async () => {
    await app.services.queue.send(QUEUE.run, { runId: "other-issue" }, jobIdForRun("other-issue"));
    const id = await seedRun("queued");
    await app.services.queue.send(QUEUE.run, { runId: id }, jobIdForRun(id));
    await app.services.queue.send(QUEUE.run, { runId: "later-issue" }, jobIdForRun("later-issue")); // behind it: not counted
    await handled(await say("/status"));
    expect(gh.replies()).toEqual([`Run \`${id}\`: queued, number 2 in line. Spent $0.00 of $5.00.`]);
  });

  it("/budget raises the active run's cap, up to the operator's per-run ceiling", async () => {
    const id = await seedRun("running");
    await handled(await say("/budget 80"));
    await handled(await say("/budget 12.50"));
    expect((await runs())[0]).toMatchObject({ id, budget_usd_micros: 12_500_000 });
    expect(gh.replies()).toEqual([
      "`/budget 80`: a run's budget cannot pass the most a run may spend here, $25.00 (set by the operator).",
      "The run's budget is now $12.50 (it was $5.00), raised by @Codertocat.",
    ]);
    expect(gh.reactions).toEqual([{ commentId: 4242, content: "+1" }]);
    expect((await recorded()).map((r) => r.outcome)).toEqual(["refused", "done"]);
  });

  it("/cancel stops the active run and says what it spent; with none active it says so", async () => {
    await handled(await say("/cancel"));
    const id = await seedRun("running");
    await handled(await say("/cancel"));
    expect((await runs()).find((r) => r.id === id)?.status).toBe("cancelled");
    expect(gh.replies()).toEqual(["No run is active on this issue, so there is nothing to cancel."]);
    expect(gh.sticky).toContain("The run was cancelled: `@Codertocat` commented `/cancel`. Nothing more will be spent (spent: $0.00).");
  });

  smoke("/retry execute starts a new run with the last run's gate and plan, and queues it", async () => {
    const previous = await seedRun("draft", { gate: { verdict: readyVerdict }, plan: { base: "abc", plan: { summary: "s" } } });
    await handled(await say("/retry execute"));
    const [, next] = await runs();
    expect(next).toMatchObject({ status: "queued" });
    const copied = (
      await app.services.db.query<{ name: string; output: unknown }>("SELECT name, output FROM phases WHERE run_id = $1 ORDER BY name", [
        next!.id,
      ])
    ).rows;
    expect(copied).toEqual([
      { name: "gate", output: { verdict: readyVerdict } },
      { name: "plan", output: { base: "abc", plan: { summary: "s" } } },
    ]);
    const jobs = (await app.services.db.query<{ data: { runId: string } }>("SELECT data FROM pgboss.job WHERE name = $1", [QUEUE.run]))
      .rows;
    expect(jobs.map((j) => j.data.runId)).toEqual([next!.id]);
    expect(gh.replies()).toEqual([`Retrying from execute: run \`${next!.id}\` reuses the gate and plan of run \`${previous}\`.`]);
  });

  it("/retry from a phase is refused while a run is active, and when there is nothing to reuse", async () => {
    await handled(await say("/retry plan"));
    const id = await seedRun("running");
    await handled(await say("/retry plan"));
    expect(gh.replies()).toEqual([
      "There is no passed spec gate to start from on this issue: comment `/retry` to run everything, or `/approve` to override the gate.",
      "A run is already active on this issue: `/cancel` it first, or wait for it to end.",
    ]);
    expect((await runs()).map((r) => r.id)).toEqual([id]);
  });

  smoke("/approve from a maintainer overrides a held-back gate and records who; a writer may not", async () => {
    // the gate read the issue as it is: the maintainer approves the text the gate judged
    const read = { title: "Add a --verbose flag", text: "Title: Add a --verbose flag", textSha256: issueTextSha256(gh.o) };
    const held = await seedRun("needs_spec", { gate: { verdict: { ...readyVerdict, ready: false, score: 41 }, issue: read } });
    // two runs of other issues wait for a worker: the approved run joins the line behind them
    for (const id of ["waiting-1", "waiting-2"]) await app.services.queue.send(QUEUE.run, { runId: id }, jobIdForRun(id));
    await handled(await say("/approve")); // Codertocat has write, not maintain
    await handled(await say("/approve", { sender: { login: "maint", type: "User" } }));
    const [, approved] = await runs();
    expect(approved).toMatchObject({ status: "queued" });
    const gateOut = (
      await app.services.db.query<{ output: { verdict: { ready: boolean }; approved_by: string } }>(
        "SELECT output FROM phases WHERE run_id = $1 AND name = 'gate'",
        [approved!.id],
      )
    ).rows[0]!.output;
    expect(gateOut).toMatchObject({ verdict: { ready: true, score: 41 }, approved_by: "maint" });
    expect(gh.replies()[0]).toMatch(/^@Codertocat, only people with maintain or admin access/);
    expect(gh.sticky).toContain(
      "`@maint` approved this issue over the spec gate's verdict (score 41/100): queued: number 3 in line (2 runs wait for a worker ahead of it).",
    );
    expect((await recorded()).map((r) => [r.sender, r.outcome])).toEqual([
      ["Codertocat", "refused"],
      ["maint", "done"],
    ]);
    expect(held).not.toBe(approved!.id);
  });

  it("acts on the issue from a comment on Tollgate's PR, and declines a PR it did not open", async () => {
    await seedRun("succeeded", {}, 100);
    await handled(await say("/status", { pullRequest: 100 }));
    await handled(await say("/status", { pullRequest: 7 }));
    expect(gh.replies(100)).toEqual(["No run is active on this issue. The last one ended `succeeded`."]);
    expect(gh.replies(7)).toEqual(["Tollgate did not open this pull request, so it takes no commands here."]);
  });

  it("/cost answers with the cost table of every run of the issue", async () => {
    const a = await seedRun("succeeded");
    const b = await seedRun("running");
    for (const [run, phase, cost] of [
      [a, "gate", 12_000],
      [a, "plan", 30_000],
      [b, "execute", 4_500],
    ] as const) {
      await app.services.db.query(
        "INSERT INTO llm_calls (run_id, phase, iteration, model, status, input_tokens, output_tokens, cache_write_tokens, cache_read_tokens, cost_usd_micros, latency_ms) VALUES ($1, $2, 0, 'claude-opus-4-7', 'ok', 1000, 100, 0, 0, $3, 900)",
        [run, phase, cost],
      );
    }
    await handled(await say("/cost"));
    const [answer] = gh.replies();
    expect(answer).toMatch(/^### Tollgate: cost so far \(2 runs\)\n\n\| Phase \| Model \|/);
    expect(answer).toContain("| **Total** | | **3** | **3,000** |");
    expect(answer).toContain("**$0.0465**");
  });
});
