/**
 * What an operator sees of a whole run, driven end to end as GitHub and Anthropic would drive it
 * (test/integration/pipeline-cases.ts): `/metrics`, read with a Prometheus text-format parser,
 * says what the ledger says to the token and the micro-dollar; the trace an in-process OTLP
 * receiver gets is the run (its gate's job and the run's job, one trace), its phases, its model
 * calls, tool calls and commands, nested.
 */
import nock from "nock";
import type { Database } from "../../src/db/database.js";
import type { ModelPort } from "../../src/llm/model.js";
import { QUEUE } from "../../src/queue/jobs.js";
import { RoutedScriptedModel, type ScriptStep } from "../../src/llm/scripted-model.js";
import { startTracing } from "../../src/observability/tracing.js";
import type { Server } from "node:http";
import { createTestApp, type TestApp } from "../helpers/app.js";
import { DB_KINDS, e2eCases } from "../helpers/db.js";
import { eventually } from "../helpers/eventually.js";
import { FakeGitHub } from "../helpers/fake-github.js";
import { gitHttpServer, type GitHttpServer } from "../helpers/git.js";
import { approve, CONFIG, done, edit, gate, planOf, project, TITLE, unit } from "../helpers/greeter.js";
import { captureLog } from "../helpers/log.js";
import { E2E_TOKEN } from "../helpers/pipeline.js";
import { serve } from "../helpers/http.js";
import { otlpReceiver, type OtlpReceiver, type ReceivedSpan } from "../helpers/otlp.js";
import { parseScrape } from "../helpers/prometheus.js";
import { INSTALLATION_ID, issuesLabeled } from "../helpers/webhooks.js";

const O = "Codertocat";
const R = "Hello-World";
const OPERATOR_TOKEN = "operator-token-0123456789abcdef0123456789abcdef";
const BODY = "`greet('Ada')` returns `Hello Ada`; it should return `Hi Ada`. The test in test/greet.test.js says so.";

/** The gate's answer with usage of every kind, cache writes included. */
const GATE_USAGE = { input_tokens: 1_200, output_tokens: 300, cache_creation_input_tokens: 100, cache_read_input_tokens: 800 };
const SCRIPT: Record<string, ScriptStep[]> = {
  gate: [{ ...gate[0]!, usage: GATE_USAGE } as ScriptStep],
  plan: planOf([unit("greeting", ["src/greet.js"])]),
  "execute/greeting": [
    edit("src/greet.js", '"Hello "', '"Hi "'),
    { toolUse: { name: "run_command", input: { argv: ["node", "--test", "test/"] } } },
    done("Changed the greeting to Hi; the test passes."),
  ],
  // the review's first attempt is turned away (529), its retry answers
  review: [{ error: { status: 529, type: "overloaded_error", message: "Overloaded" } }, approve],
};

/** The ledger summed as the metrics label it: by phase, model and repository. */
async function ledgerSums(db: Database) {
  const { rows } = await db.query<Record<string, string>>(
    `SELECT c.phase, c.model, coalesce(r.owner || '/' || r.repo, '') AS repository, count(*)::text AS calls,
            sum(c.input_tokens)::text AS input, sum(c.cache_write_tokens)::text AS cache_write,
            sum(c.cache_read_tokens)::text AS cache_read, sum(c.output_tokens)::text AS output,
            coalesce(sum(c.cost_usd_micros), 0)::text AS cost
     FROM llm_calls c LEFT JOIN runs r ON r.id = c.run_id GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`,
  );
  return rows;
}

const childrenOf = (spans: ReceivedSpan[], parent: ReceivedSpan) => spans.filter((s) => s.parentSpanId === parent.spanId);
/** `root` and every span under it. */
const descendantsOf = (spans: ReceivedSpan[], root: ReceivedSpan): ReceivedSpan[] => [
  root,
  ...childrenOf(spans, root).flatMap((child) => descendantsOf(spans, child)),
];

describe.each(DB_KINDS)("observability of a whole run on %s", (kind) => {
  const { smoke } = e2eCases(kind);
  const captured = captureLog("info");
  let app: TestApp | undefined;
  let git: GitHttpServer | undefined;
  let receiver: OtlpReceiver | undefined;
  let http: Server | undefined;

  beforeAll(() => {
    nock.disableNetConnect();
    nock.enableNetConnect(/^127\.0\.0\.1/); // the OTLP receiver and /metrics, on loopback
  });
  afterAll(() => nock.enableNetConnect());
  afterEach(async () => {
    await app?.close();
    await git?.close();
    await receiver?.close();
    http?.close();
    nock.cleanAll();
  });

  async function runToTheEnd(model: ModelPort): Promise<{ id: string; status: string }> {
    const { bare } = project();
    git = await gitHttpServer(bare, E2E_TOKEN);
    const github = new FakeGitHub({
      owner: O,
      repo: R,
      issue: 1,
      installationId: INSTALLATION_ID,
      title: TITLE,
      body: BODY,
      config: CONFIG(),
      token: E2E_TOKEN,
    });
    // labelled by repository (TOLLGATE_METRICS_REPOSITORY_LABELS=1), as the ledger sums below are
    app = await createTestApp(kind, captured.log, { model, token: OPERATOR_TOKEN, repositoryLabels: true });
    const payload = issuesLabeled("ai-ready");
    payload.repository.clone_url = git.url;
    payload.repository.default_branch = "main";
    await app.probot.receive({ id: `d-${Math.random()}`, name: "issues", payload: github.sees(payload) } as never);
    await app.startWorkers(2);
    const db = app.services.db;
    return eventually(async () => {
      const r = (await db.query<{ id: string; status: string }>("SELECT id, status FROM runs")).rows[0];
      return r && !["queued", "running"].includes(r.status) && r;
    }, 50_000);
  }

  smoke(
    "/metrics equals the ledger after a run, the operator token required, and one trace nests the gate's run → the carry-out's run → phase → calls",
    async () => {
      receiver = await otlpReceiver();
      const semconvOptIn = ["gen_ai_latest_experimental"];
      const tracing = (await startTracing({ tracesEndpoint: receiver.url, tracesProtocol: "http/json", semconvOptIn }, captured.log))!;
      let run: { id: string; status: string };
      try {
        run = await runToTheEnd(new RoutedScriptedModel(SCRIPT));
      } finally {
        await tracing.shutdown(); // exports every span that ended
      }
      expect(run.status).toBe("succeeded");
      const db = app!.services.db;

      // ---- /metrics: the operator token, then the ledger to the token and the micro-dollar
      const served = await serve(app!.handlers);
      http = served.server;
      const metrics = (authorization?: string) => fetch(`${served.url}/metrics`, { headers: authorization ? { authorization } : {} });
      const anonymous = await metrics();
      expect(anonymous.status).toBe(401);
      expect(anonymous.headers.get("www-authenticate")).toMatch(/^Bearer/);
      expect((await metrics(`Bearer ${OPERATOR_TOKEN.slice(0, -1)}x`)).status).toBe(401);
      const answer = await metrics(`Bearer ${OPERATOR_TOKEN}`);
      expect(answer.status).toBe(200);
      expect(answer.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
      const scrape = parseScrape(await answer.text());

      const sums = await ledgerSums(db);
      expect(sums.map((s) => s.phase)).toEqual(["gate", "execute", "plan", "review"].sort());
      const tokens = scrape.samples("tollgate_tokens_total");
      const costs = scrape.samples("tollgate_cost_usd_total");
      expect(tokens).toHaveLength(sums.length * 4);
      expect(costs).toHaveLength(sums.length);
      for (const s of sums) {
        const where = { phase: s.phase!, model: s.model!, repository: s.repository! };
        expect(where.repository).toBe(`${O}/${R}`);
        for (const [type, column] of [
          ["input", "input"],
          ["cache_write", "cache_write"],
          ["cache_read", "cache_read"],
          ["output", "output"],
        ] as const) {
          expect(tokens).toContainEqual({ labels: { ...where, type }, value: Number(s[column]) });
        }
        const cost = costs.find((c) => c.labels.phase === s.phase && c.labels.model === s.model)!;
        expect(Math.round(cost.value * 1e6)).toBe(Number(s.cost));
        expect(cost.value).toBe(Number(s.cost) / 1e6);
      }
      expect(tokens).toContainEqual({
        labels: { phase: "gate", model: "claude-opus-4-7", repository: `${O}/${R}`, type: "cache_write" },
        value: 100,
      });

      // the GenAI histograms of this process's calls: every attempt timed, tokens of the answered ones
      const calls = await db.query<{ attempts: number; failed: number; input: number; output: number }>(
        `SELECT count(*)::int AS attempts, count(*) FILTER (WHERE status = 'error')::int AS failed,
              sum(input_tokens + cache_read_tokens + cache_write_tokens) FILTER (WHERE status = 'ok')::int AS input,
              sum(output_tokens) FILTER (WHERE status = 'ok')::int AS output FROM llm_calls`,
      );
      const { attempts, failed, input, output } = calls.rows[0]!;
      expect(failed).toBe(1);
      const durations = scrape.histograms("gen_ai_client_operation_duration_seconds");
      expect(durations.reduce((n, d) => n + d.count, 0)).toBe(attempts);
      expect(durations.filter((d) => d.labels.error_type === "overloaded").reduce((n, d) => n + d.count, 0)).toBe(1);
      const usage = scrape.histograms("gen_ai_client_token_usage");
      const tokenSum = (type: string) => usage.filter((u) => u.labels.gen_ai_token_type === type).reduce((n, u) => n + u.sum, 0);
      expect([tokenSum("input"), tokenSum("output")]).toEqual([input, output]);
      expect(usage.every((u) => u.labels.gen_ai_system === "anthropic")).toBe(true);

      // runs, queues, the installation's budget left today
      expect(scrape.samples("tollgate_runs_total")).toContainEqual({ labels: { status: "succeeded" }, value: 1 });
      expect(scrape.samples("tollgate_runs_active")).toEqual([{ labels: {}, value: 0 }]);
      expect(scrape.samples("tollgate_queue_jobs").some((q) => q.labels.queue === QUEUE.run && q.labels.state === "active")).toBe(true);
      const spent = sums.reduce((n, s) => n + Number(s.cost), 0);
      expect(scrape.samples("tollgate_budget_remaining_usd")).toEqual([
        { labels: { installation: String(INSTALLATION_ID) }, value: (50_000_000 - spent) / 1e6 },
      ]);

      // ---- one trace for the run: the gate's run span, and the carry-out's run span under it, though
      // another job carried it out; then run → phase → chat / tool → command
      const spans = receiver!.spans;
      expect(receiver!.contentTypes.every((t) => t.startsWith("application/json"))).toBe(true);
      expect(spans[0]!.resource["service.name"]).toBe("tollgate");
      const runSpans = spans.filter((s) => s.name === "run");
      expect(runSpans.map((r) => r.attributes["tollgate.run.step"]).sort()).toEqual(["carry_out", "gate"]);
      const gateRoot = runSpans.find((r) => r.attributes["tollgate.run.step"] === "gate")!;
      const carry = runSpans.find((r) => r.attributes["tollgate.run.step"] === "carry_out")!;
      expect(spans.filter((s) => s.parentSpanId === "")).toEqual([gateRoot]);
      expect(carry.parentSpanId).toBe(gateRoot.spanId);
      const gateSpans = descendantsOf(spans, gateRoot).filter((s) => !descendantsOf(spans, carry).includes(s));
      const carrySpans = descendantsOf(spans, carry);
      expect(gateSpans.length).toBeGreaterThan(1);
      expect(carrySpans.length).toBeGreaterThan(10);
      expect(new Set([...gateSpans, ...carrySpans].map((s) => s.traceId))).toEqual(new Set([gateRoot.traceId]));
      expect(gateSpans.length + carrySpans.length).toBe(spans.length); // nothing outside the run's tree
      // what the run job carried: the gate's run span as W3C trace context (sampled)
      const runJob = await db.query<{ data: { trace?: unknown } }>("SELECT data FROM pgboss.job WHERE name = $1", [QUEUE.run]);
      expect(runJob.rows.map((r) => r.data.trace)).toEqual([{ traceparent: `00-${gateRoot.traceId}-${gateRoot.spanId}-01` }]);
      for (const root of runSpans) {
        expect(root.attributes).toMatchObject({
          "tollgate.run.id": run.id,
          "tollgate.repository": `${O}/${R}`,
          "tollgate.issue.number": 1,
          "tollgate.issue.url": `${git!.url.replace(/\.git$/, "")}/issues/1`,
          "tollgate.run.outcome": "done",
          "vcs.provider.name": "github",
        });
      }
      // each job's spans end within its run span (the gate's ends when the run is queued, before the carry-out's)
      for (const s of gateSpans) expect(s.endNanos).toBeLessThanOrEqual(gateRoot.endNanos);
      for (const s of carrySpans) expect(s.endNanos).toBeLessThanOrEqual(carry.endNanos);
      expect(carry.attributes).toMatchObject({
        "tollgate.pr.number": 100,
        "tollgate.pr.url": `https://github.com/${O}/${R}/pull/100`,
        "tollgate.branch": "tollgate/issue-1",
        "vcs.change.id": "100",
      });

      const [gatePhase] = childrenOf(spans, gateRoot).filter((s) => s !== carry);
      expect(gatePhase).toMatchObject({ name: "phase gate", attributes: { "tollgate.phase": "gate", "tollgate.round": 0 } });
      const [gateCall] = childrenOf(spans, gatePhase!);
      const gateRow = (
        await db.query<{ cost: number }>("SELECT cost_usd_micros::int AS cost FROM llm_calls WHERE phase = 'gate' AND run_id = $1", [
          run.id,
        ])
      ).rows[0]!;
      expect(gateCall).toMatchObject({ name: "chat claude-opus-4-7", kind: 3 });
      expect(gateCall!.attributes).toMatchObject({
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "anthropic",
        "gen_ai.request.model": "claude-opus-4-7",
        "gen_ai.response.model": "claude-opus-4-7",
        "gen_ai.response.finish_reasons": ["tool_use"],
        // Anthropic leaves cached tokens out of input_tokens; the conventions count them in
        "gen_ai.usage.input_tokens": 1_200 + 800 + 100,
        "gen_ai.usage.output_tokens": 300,
        "gen_ai.usage.cache_read.input_tokens": 800,
        "gen_ai.usage.cache_creation.input_tokens": 100,
        "tollgate.cost.usd": gateRow.cost / 1e6,
        "tollgate.phase": "gate",
        "tollgate.run.id": run.id,
      });
      expect(gateCall!.attributes["gen_ai.response.id"]).toMatch(/^msg_/);
      expect(gateCall!.attributes).not.toHaveProperty("gen_ai.system");

      const phases = childrenOf(spans, carry);
      expect(phases.map((p) => p.name)).toEqual(
        expect.arrayContaining(["phase setup", "phase plan", "phase execute", "phase verify", "phase review"]),
      );
      const execute = phases.find((p) => p.name === "phase execute")!;
      expect(execute.attributes["tollgate.round"]).toBe(1);
      const executeChildren = childrenOf(spans, execute);
      expect(executeChildren.filter((s) => s.name === "chat claude-sonnet-4-6")).toHaveLength(3);
      const commandTool = executeChildren.find((s) => s.name === "execute_tool run_command")!;
      expect(commandTool.attributes).toMatchObject({ "gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "run_command" });
      expect(executeChildren.find((s) => s.name === "execute_tool str_replace_based_edit_tool")).toBeDefined();
      const [agentCommand] = childrenOf(spans, commandTool);
      expect(agentCommand).toMatchObject({
        name: "command node",
        attributes: { "tollgate.command.line": "node --test test/", "tollgate.command.exit_code": 0 },
      });
      const verify = phases.find((p) => p.name === "phase verify")!;
      expect(childrenOf(spans, verify).map((s) => s.name)).toContain("command node");
      const review = phases.find((p) => p.name === "phase review")!;
      const reviewCalls = childrenOf(spans, review).filter((s) => s.name.startsWith("chat "));
      expect(reviewCalls.map((c) => [c.attributes["error.type"], c.status])).toEqual([
        ["overloaded", 2],
        [undefined, 0],
      ]);
      // every model call attempt is a span
      expect(spans.filter((s) => s.name.startsWith("chat ")).length).toBe(attempts);
      // nothing of the prompts, the issue or the installation token on any span
      const everything = JSON.stringify(spans.map((s) => s.attributes));
      expect(everything).not.toContain(E2E_TOKEN);
      expect(everything).not.toContain("Hello Ada");
    },
  );
});
