/** After the first trigger: edits re-run the gate, the label's removal or a close cancels. */
import nock from "nock";
import { EDIT_DEBOUNCE_SECONDS, QUEUE } from "../../src/queue/jobs.js";
import { ScriptedModel, type ScriptStep } from "../../src/llm/scripted-model.js";
import { createTestApp, type TestApp } from "../helpers/app.js";
import { eventually } from "../helpers/eventually.js";
import {
  commentLists,
  commentWrites,
  configFile,
  installationToken,
  issueAndRepo,
  labelEvents,
  permission,
  type FakeComment,
} from "../helpers/github.js";
import { captureLog } from "../helpers/log.js";
import { holdAnswers } from "../helpers/llm.js";
import {
  INSTALLATION_ID,
  issuesClosed,
  issuesEdited,
  issuesLabeled,
  issuesUnlabeled,
  webhookExample,
  type Payload,
} from "../helpers/webhooks.js";

const O = "Codertocat";
const R = "Hello-World";
const API = "https://api.github.com";
const sticky = (id: number): FakeComment => ({ id, body: "<!-- tollgate:sticky -->\nold", user: { login: "tollgate[bot]", type: "Bot" } });
const verdict = (ready: boolean) => ({
  ready,
  score: ready ? 80 : 30,
  criteria: Object.fromEntries(
    ["problem", "acceptance_criteria", "scope", "constraints", "test_plan"].map((c) => [
      c,
      { status: ready || c === "problem" ? "pass" : "missing", note: `${c} note` },
    ]),
  ),
  questions: ready ? [] : ["What exactly?"],
  ticket_type: "bug",
  size: "xs",
});
const answer = (ready: boolean, latencyMs = 0): ScriptStep => ({
  toolUse: { name: "submit_verdict", input: verdict(ready) },
  usage: { input_tokens: 1_000, output_tokens: 200, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 },
  latencyMs,
});

/**
 * Waits, when fewer than `marginSeconds` are left of pg-boss's current debounce window (windows of
 * `seconds`, aligned on the epoch by the database's clock), for the next one to begin.
 */
async function notNearDebounceWindowEnd(db: TestApp["services"]["db"], seconds: number, marginSeconds: number): Promise<void> {
  const { rows } = await db.query<{ epoch: number }>("SELECT extract(epoch FROM now())::float8 AS epoch");
  const left = seconds - (rows[0]!.epoch % seconds);
  if (left < marginSeconds) await new Promise((resolve) => setTimeout(resolve, left * 1000 + 100));
}

beforeAll(() => nock.disableNetConnect());
afterAll(() => nock.enableNetConnect());

describe("issue updates", () => {
  let app: TestApp;
  let model: ScriptedModel;
  const captured = captureLog();
  beforeEach(async () => {
    nock.cleanAll();
    model = new ScriptedModel([]);
    app = await createTestApp("pglite", captured.log, { model: { provider: "anthropic", call: (r, o) => model.call(r, o) } });
  });
  afterEach(async () => {
    await app.close();
    nock.cleanAll();
    expect(app.github.errors).toEqual([]);
  });

  const receive = (id: string, name: string, payload: Payload) => app.probot.receive({ id, name, payload } as never);
  const delivery = (id: string) =>
    eventually(async () => {
      const d = await app.services.deliveries.get(id);
      return d && d.status !== "received" && d;
    });
  const runs = async () =>
    (await app.services.db.query<{ status: string }>("SELECT status FROM runs ORDER BY created_at")).rows.map((r) => r.status);

  it("re-runs the gate when a human edits the issue with the trigger label on, and clears ai-needs-spec when ready", async () => {
    // the first run ended needs_spec
    await app.services.db.query(
      `INSERT INTO runs (installation_id, repository_id, owner, repo, issue_number, status) VALUES ($1, 186853002, $2, $3, 1, 'needs_spec')`,
      [INSTALLATION_ID, O, R],
    );
    model = new ScriptedModel([answer(true)]);
    const posted: string[] = [];
    let removed = false;
    const github = [
      installationToken(INSTALLATION_ID),
      configFile(O, R, undefined),
      configFile(O, ".github", undefined),
      issueAndRepo(O, R, 1, { title: "Fix the crash", body: "Now with steps and a test.", labels: ["ai-ready", "ai-needs-spec"] }),
      // who added the trigger label (a writer, still), and the editor (the same writer)
      nock(API)
        .get(`/repos/${O}/${R}/issues/1/events`)
        .query({ per_page: "100" })
        .reply(200, [{ id: 1, event: "labeled", actor: { login: O }, label: { name: "ai-ready", color: "ededed" } }]),
      permission(O, R, O, "write"),
      commentLists(O, R, 1, [[sticky(44)], [sticky(44)], [sticky(44)]]),
      commentWrites(O, R, 1, posted, { editsOf: 44, edits: 2 }),
      nock(API)
        .delete(`/repos/${O}/${R}/issues/1/labels/ai-needs-spec`)
        .reply(200, () => ((removed = true), [])),
    ];
    await receive(
      "e-1",
      "issues",
      issuesEdited(["ai-ready", "ai-needs-spec"], "User", { title: "Fix the crash", body: "Now with steps and a test." }),
    );
    await app.startWorkers(1, { queues: [QUEUE.trigger] }); // the gate only
    expect(await delivery("e-1")).toMatchObject({ status: "done", detail: "gate: ready (score 80)" });
    for (const scope of github) expect(scope.isDone()).toBe(true);
    expect(removed).toBe(true);
    expect(await runs()).toEqual(["needs_spec", "queued"]);
    expect(posted.at(-1)).toContain("### Tollgate spec gate: ready ✅ (score 80/100)");
  });

  it("folds a burst of edits into at most two gate runs (debounced)", async () => {
    // The four edits fall in one of pg-boss's debounce windows: a burst that straddles two (which the
    // wall clock alone decides) rightly makes a third job.
    await notNearDebounceWindowEnd(app.services.db, EDIT_DEBOUNCE_SECONDS, 10);
    for (const id of ["b-1", "b-2", "b-3", "b-4"]) await receive(id, "issues", issuesEdited(["ai-ready"]));
    const { rows } = await app.services.db.query<{ n: number }>("SELECT count(*)::int AS n FROM pgboss.job WHERE name = $1", [
      QUEUE.trigger,
    ]);
    expect(rows[0]!.n).toBe(2); // one now, one after the quiet period
    expect((await app.services.deliveries.get("b-3"))?.status).toBe("ignored");
    expect((await app.services.deliveries.get("b-4"))?.detail).toBe("debounced: a job for the same issue is already planned");
  });

  it("ignores edits by bots, edits that change neither title nor body, and edits of unlabelled issues", async () => {
    await receive("x-1", "issues", issuesEdited(["ai-ready"], "Bot"));
    const noChange = issuesEdited(["ai-ready"]);
    noChange.changes = { labels: {} };
    await receive("x-2", "issues", noChange);
    await receive("x-3", "issues", issuesEdited([]));
    // and Tollgate's own comment edits
    const ownEdit = webhookExample("issue_comment", "edited");
    ownEdit.sender = { ...ownEdit.sender, login: "tollgate[bot]", type: "Bot" };
    await receive("x-4", "issue_comment", ownEdit);
    const { rows } = await app.services.db.query<{ n: number }>("SELECT count(*)::int AS n FROM deliveries");
    expect(rows[0]!.n).toBe(0);
  });

  it("cancels a run whose trigger label is removed during the gate: no verdict, a cancelled comment", async () => {
    model = new ScriptedModel([answer(true)]);
    // The gate's answer is held in flight until the label's removal has been handled. (A fixed latency
    // could run out first on a busy machine: the gate would end ready, before the removal was seen.)
    const answerGate = holdAnswers(model);
    const posted: string[] = [];
    const github = [
      installationToken(INSTALLATION_ID),
      configFile(O, R, undefined, 2),
      configFile(O, ".github", undefined, 2),
      permission(O, R, "Codertocat", "write"),
      commentLists(O, R, 1, [[], [sticky(9001)], [sticky(9001)]]),
      commentWrites(O, R, 1, posted, { creates: 1, editsOf: 9001, edits: 1 }),
      issueAndRepo(O, R, 1, { title: "Fix the crash", body: "Steps…" }),
      labelEvents(O, R, 1, "Codertocat"),
    ];
    await receive("c-1", "issues", issuesLabeled("ai-ready", "User", { title: "Fix the crash", body: "Steps…" }));
    await app.startWorkers(2);
    await eventually(async () => model.requests.length === 1); // the gate's model call is in flight
    await receive("c-2", "issues", issuesUnlabeled("ai-ready"));
    expect(await delivery("c-2")).toMatchObject({ status: "done" });
    answerGate();
    expect(await delivery("c-1")).toMatchObject({ status: "done", detail: "cancelled during the gate" });
    for (const scope of github) expect(scope.isDone()).toBe(true);
    expect(await runs()).toEqual(["cancelled"]);
    expect(posted.at(-1)).toMatch(
      /^<!-- tollgate:sticky -->\n### Tollgate: cancelled\n\nThe run was cancelled: `@Codertocat` removed `ai-ready`\. Nothing more will be spent \(spent: \$0\.0\d+\)/,
    );
    expect(posted.some((p) => p.includes("spec gate: ready"))).toBe(false);
  });

  it("does nothing when an issue without an active run is closed or loses another label", async () => {
    await receive("n-1", "issues", issuesClosed());
    await receive("n-2", "issues", issuesUnlabeled("bug"));
    await app.startWorkers();
    expect(await delivery("n-1")).toMatchObject({ status: "ignored", detail: "no active run to cancel" });
    expect(await delivery("n-2")).toMatchObject({ status: "ignored", detail: "no active run to cancel" });
  });
});
