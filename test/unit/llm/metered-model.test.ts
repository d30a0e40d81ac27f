import type { Database } from "../../../src/db/database.js";
import { BudgetExceededError, DeadlineExceededError, ModelCallError } from "../../../src/llm/errors.js";
import { UnpricedModelError } from "../../../src/llm/metered-model.js";
import { createMetrics } from "../../../src/observability/metrics.js";
import { semconv } from "../../../src/observability/semconv.js";
import { BudgetStore } from "../../../src/stores/budget.js";
import { cachedPrefix, withMovingBreakpoint } from "../../../src/llm/prompt-cache.js";
import { describeEachDb, freshDatabase } from "../../helpers/db.js";
import { insertRun, meteredSetup } from "../../helpers/llm.js";
import { captureLog } from "../../helpers/log.js";

const request = {
  system: "You judge whether a ticket is specified well enough.",
  messages: [{ role: "user" as const, content: "Add a --verbose flag to the CLI." }],
  maxTokens: 1_024,
};

const usage = {
  input_tokens: 1_200,
  output_tokens: 300,
  cache_creation_input_tokens: 0,
  cache_read_input_tokens: 0,
  cache_creation: { ephemeral_5m_input_tokens: 0, ephemeral_1h_input_tokens: 0 },
  service_tier: "standard",
};
const overloaded = { error: { status: 529, type: "overloaded_error", message: "Overloaded" } };

describeEachDb("metered model on %s", (kind) => {
  let db: Database;
  const captured = captureLog();
  beforeEach(async () => (db = await freshDatabase(kind)));
  afterEach(() => db.close());

  const rows = async () =>
    (
      await db.query<Record<string, unknown>>(
        `SELECT phase, agent, iteration, attempt, tier, model, status, input_tokens, output_tokens, cache_write_tokens,
                cache_write_5m_tokens, cache_write_1h_tokens, cache_read_tokens, cost_usd_micros, stop_reason, request_id,
                prompt_id, prompt_sha256, error_kind, raw_usage, latency_ms, streamed
         FROM llm_calls ORDER BY id`,
      )
    ).rows;

  it("writes one complete ledger row per call before returning, priced from the phase's tier", async () => {
    const runId = await insertRun(db);
    const { model, scripted } = meteredSetup(db, captured.log, [{ text: "ready", usage, latencyMs: 5 }]);
    const response = await model.call({
      context: {
        runId,
        installationId: 1,
        phase: "gate",
        agent: "gate",
        iteration: 0,
        prompt: { id: "gate.verdict@1", sha256: "ab".repeat(32) },
      },
      request,
    });
    expect(scripted.requests[0]!.model).toBe("claude-opus-4-7"); // gate → deep → opus
    expect(response.costMicros).toBe(1_200 * 5 + 300 * 25);
    const [row] = await rows();
    expect(row).toMatchObject({
      phase: "gate",
      agent: "gate",
      iteration: 0,
      attempt: 1,
      tier: "deep",
      model: "claude-opus-4-7",
      status: "ok",
      input_tokens: 1_200,
      output_tokens: 300,
      cache_write_tokens: 0,
      cache_write_5m_tokens: 0,
      cache_write_1h_tokens: 0,
      cache_read_tokens: 0,
      cost_usd_micros: 13_500,
      stop_reason: "end_turn",
      request_id: response.requestId,
      prompt_id: "gate.verdict@1",
      prompt_sha256: "ab".repeat(32),
      error_kind: null,
      raw_usage: usage,
      streamed: false,
    });
    expect(response.ledgerId).toBeGreaterThan(0);
  });

  it("follows the repo's tiers: a phase's tier picks the model", async () => {
    const { model, scripted } = meteredSetup(db, captured.log, [{ text: "a" }, { text: "b" }, { text: "c" }], {
      config: { tiers: { light: "claude-haiku-4-5" }, phases: { review: "deep" } },
    });
    await model.call({ context: { phase: "verify" }, request });
    await model.call({ context: { phase: "review" }, request });
    await model.call({ context: { phase: "execute" }, request });
    expect(scripted.requests.map((r) => r.model)).toEqual(["claude-haiku-4-5", "claude-opus-4-7", "claude-sonnet-4-6"]);
  });

  it("waits for retry-after on a 429, metering both attempts", async () => {
    const { model, clock } = meteredSetup(db, captured.log, [
      {
        error: {
          status: 429,
          type: "rate_limit_error",
          message: "Number of request tokens has exceeded your per-minute rate limit",
          headers: { "retry-after": "17" },
        },
      },
      { text: "ok", usage },
    ]);
    await model.call({ context: { phase: "execute" }, request });
    expect(clock.sleeps).toEqual([17_000]);
    const all = await rows();
    expect(all.map((r) => [r.attempt, r.status, r.error_kind, r.cost_usd_micros])).toEqual([
      [1, "error", "rate_limit", 0], // a 429 produced no tokens and is not billed
      [2, "ok", null, 1_200 * 3 + 300 * 15],
    ]);
  });

  it("recovers from a storm of 529s with jittered backoff, then falls back to the tier's next model", async () => {
    const { model, scripted, clock } = meteredSetup(db, captured.log, [overloaded, overloaded, overloaded, { text: "ok", usage }], {
      config: { fallbacks: { standard: ["claude-sonnet-4-5"] } },
      retry: { fallbackAfter: 3 },
    });
    const response = await model.call({ context: { phase: "execute" }, request });
    expect(scripted.requests.map((r) => r.model)).toEqual([
      "claude-sonnet-4-6",
      "claude-sonnet-4-6",
      "claude-sonnet-4-6",
      "claude-sonnet-4-5",
    ]);
    expect(response.model).toBe("claude-sonnet-4-5");
    expect(clock.sleeps).toEqual([375, 750, 1_500]); // half the cap plus a jitter of 0.5 × half
    expect((await rows()).map((r) => r.error_kind)).toEqual(["overloaded", "overloaded", "overloaded", null]);
    expect(captured.lines().some((l) => /falling back to claude-sonnet-4-5 of the standard tier/.test(String(l.msg)))).toBe(true);
  });

  it("gives up after the last attempt with the cause", async () => {
    const { model } = meteredSetup(db, captured.log, Array(3).fill(overloaded), { retry: { maxAttempts: 3 } });
    await expect(model.call({ context: { phase: "execute" }, request })).rejects.toThrow(
      /529 overloaded_error: Overloaded \(gave up after 3 attempts\)/,
    );
    expect(await rows()).toHaveLength(3);
  });

  it.each([
    [
      "a spend-limit 429",
      {
        status: 429,
        type: "rate_limit_error",
        message: "This request would exceed your account's monthly spend limit. Please try again later.",
      },
      "spend_limit",
      /spend limit is reached/,
    ],
    [
      "a usage-limit 400",
      {
        status: 400,
        type: "invalid_request_error",
        message: "You have reached your specified API usage limits. You will regain access on 2026-12-01 at 00:00 UTC.",
      },
      "spend_limit",
      /spend limit is reached/,
    ],
    ["a 401", { status: 401, type: "authentication_error", message: "invalid x-api-key" }, "auth", /check ANTHROPIC_API_KEY/],
    [
      "a 403",
      { status: 403, type: "permission_error", message: "Your API key does not have permission to use the specified resource." },
      "permission",
      /may not use this model/,
    ],
    [
      "an unknown model (404)",
      { status: 404, type: "not_found_error", message: "model: claude-nonexistent" },
      "not_found",
      /^the Anthropic API does not know the model claude-opus-4-7 \(.*\): it is `tiers.deep` in \.github\/tollgate\.yml \(the plan phase's tier\); set a current model id there/,
    ],
  ])("fails fast on %s, with a clear message and no retry", async (_name, error, errorKind, message) => {
    const { model, scripted, clock } = meteredSetup(db, captured.log, [{ error }, { text: "never" }]);
    const thrown = await model.call({ context: { phase: "plan" }, request }).catch((e) => e);
    expect(thrown).toBeInstanceOf(ModelCallError);
    expect(thrown.kind).toBe(errorKind);
    expect(thrown.message).toMatch(message);
    expect(scripted.remaining).toBe(1);
    expect(clock.sleeps).toEqual([]);
    expect((await rows()).map((r) => r.error_kind)).toEqual([errorKind]);
  });

  it("meters a stream cut mid-way with the usage it reported, then retries", async () => {
    const { model } = meteredSetup(db, captured.log, [
      { cutStream: { usage: { input_tokens: 5_000, output_tokens: 120, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 } } },
      { text: "whole answer", usage },
    ]);
    await model.call({ context: { phase: "execute" }, request: { ...request, stream: true } });
    const [cut, ok] = await rows();
    expect(cut).toMatchObject({
      status: "error",
      error_kind: "stream",
      input_tokens: 5_000,
      output_tokens: 120,
      cost_usd_micros: 5_000 * 3 + 120 * 15,
      streamed: true,
    });
    expect(ok).toMatchObject({ status: "ok", attempt: 2 });
  });

  it("retries a 200 whose body is not JSON", async () => {
    const { model } = meteredSetup(db, captured.log, [{ invalidJson: true }, { text: "ok", usage }]);
    await model.call({ context: { phase: "execute" }, request });
    expect((await rows()).map((r) => [r.error_kind, r.input_tokens])).toEqual([
      ["invalid_response", null],
      [null, 1_200],
    ]);
  });

  it("records a response with no usage at all as unknown, never 0", async () => {
    const { model } = meteredSetup(db, captured.log, [{ text: "ok", usage: null }]);
    const response = await model.call({
      context: { phase: "execute" },
      request: { ...cachedPrefix({ system: "s" }), messages: request.messages, maxTokens: 100 },
    });
    expect(response.costMicros).toBeNull();
    expect((await rows())[0]).toMatchObject({
      input_tokens: null,
      output_tokens: null,
      cache_read_tokens: null,
      cost_usd_micros: null,
      raw_usage: null,
    });
  });

  it("rejects absurd counts with a log line and keeps the raw usage", async () => {
    const raw = { input_tokens: -40, output_tokens: 12, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 };
    const { model } = meteredSetup(db, captured.log, [{ text: "ok", usage: raw }]);
    await model.call({ context: { phase: "execute" }, request });
    expect((await rows())[0]).toMatchObject({ input_tokens: null, output_tokens: 12, cost_usd_micros: null, raw_usage: raw });
    expect(captured.lines().some((l) => l.msg === "implausible usage rejected: input_tokens = -40 is not a plausible token count")).toBe(
      true,
    );
  });

  it("refuses an id invented on a priced model's prefix, in a tier or a fallback, before any call, ledger row or metric label", async () => {
    for (const config of [
      { tiers: { standard: "claude-haiku-4-5-neqhlmytpg" } },
      { fallbacks: { light: ["claude-3-5-sonnet-zzz-random-1234"] } },
      { tiers: { deep: "claude-sonnet-4-6-20261345" } }, // a month 13 is no snapshot date
    ]) {
      const metrics = createMetrics({ semconv: semconv() });
      const setup = meteredSetup(db, captured.log, [{ text: "never" }], { config, telemetry: { genAi: metrics.genAi } });
      const error = await setup.model.call({ context: { phase: "execute" }, request }).catch((e: Error) => e);
      expect(error).toBeInstanceOf(UnpricedModelError);
      const [model, key] = config.tiers
        ? [Object.values(config.tiers)[0]!, `tiers.${Object.keys(config.tiers)[0]!}`]
        : ["claude-3-5-sonnet-zzz-random-1234", "fallbacks.light[0]"];
      expect((error as Error).message).toContain(`${model} has no price`);
      expect((error as Error).message).toContain(`\`${key}\` in .github/tollgate.yml`);
      expect(setup.scripted.requests).toHaveLength(0);
      expect(await metrics.registry.metrics()).not.toContain(model);
    }
    expect(await rows()).toEqual([]);
    // the dated snapshot of a priced model is the model
    const dated = meteredSetup(db, captured.log, [{ text: "ok", usage }], {
      config: { tiers: { standard: "claude-sonnet-4-6-20260101" } },
    });
    expect((await dated.model.call({ context: { phase: "execute" }, request })).costMicros).toBe(1_200 * 3 + 300 * 15);
  });

  it("refuses a model without a price before any call, and takes it once the operator gives its price", async () => {
    const config = { tiers: { standard: "claude-experimental-7" } };
    const unpriced = meteredSetup(db, captured.log, [{ text: "never" }], { config });
    const error = await unpriced.model.call({ context: { phase: "execute" }, request }).catch((e: Error) => e);
    expect(error).toBeInstanceOf(UnpricedModelError);
    expect((error as Error).message).toMatch(/^claude-experimental-7 has no price, .*TOLLGATE_PRICES_FILE.*tiers:/);
    expect(unpriced.scripted.requests).toHaveLength(0);
    expect(await rows()).toEqual([]);
    const price = {
      model: "claude-experimental-7",
      effective: "2026-01-01",
      input: 2,
      output: 10,
      cacheWrite5m: 2.5,
      cacheWrite1h: 4,
      cacheRead: 0.2,
    };
    const priced = meteredSetup(db, captured.log, [{ text: "ok", usage }], { config, prices: [price] });
    const response = await priced.model.call({ context: { phase: "execute" }, request });
    expect(response.costMicros).toBe(1_200 * 2 + 300 * 10);
  });

  it("charges a call whose usage was not reported what it reserved, never $0", async () => {
    const runId = await insertRun(db);
    const { model } = meteredSetup(db, captured.log, [{ text: "no usage", usage: null }, { text: "never" }], {
      config: { budget: { run_usd: 0.03 } },
    });
    const first = await model.call({ context: { runId, phase: "execute" }, request });
    expect(first.costMicros).toBeNull(); // the report says unknown
    const [row] = (
      await db.query<{ cost_usd_micros: number | null; reserved_usd_micros: number }>(
        "SELECT cost_usd_micros, reserved_usd_micros FROM llm_calls",
      )
    ).rows;
    expect(row!.cost_usd_micros).toBeNull();
    expect(Number(row!.reserved_usd_micros)).toBeGreaterThan(15_000); // ≈ 1,024 output tokens × $15/MTok and the input
    // the budget counts the first call as its reservation: a second one of the same size no longer fits $0.03
    await expect(model.call({ context: { runId, phase: "execute" }, request })).rejects.toBeInstanceOf(BudgetExceededError);
  });

  it("never lets parallel calls pass a cap: 8 at once against a cap that fits 3", async () => {
    const runId = await insertRun(db);
    const steps = Array.from({ length: 8 }, () => ({ text: "ok", usage }));
    const probe = meteredSetup(db, captured.log, []);
    const worst = probe.model.worstCaseOf("execute", request)!;
    const cap = worst * 3 + worst / 2; // three fit, a fourth does not, while none has settled
    const { model, scripted } = meteredSetup(db, captured.log, steps, { config: { budget: { run_usd: cap / 1_000_000 } } });
    // The calls that got a reservation are held in flight until every one of the 8 has been let through or
    // refused: a settled call gives back what its worst case exceeded, which would (rightly) let a later one in.
    let decided = 0;
    let releaseAll!: () => void;
    const inFlight = new Promise<void>((resolve) => (releaseAll = resolve));
    const decide = () => ++decided === 8 && releaseAll();
    const answer = scripted.call.bind(scripted);
    scripted.call = async (...args) => (decide(), await inFlight, answer(...args));
    const results = await Promise.allSettled(
      Array.from({ length: 8 }, () =>
        model.call({ context: { runId, phase: "execute" }, request }).catch((error: unknown) => {
          decide();
          throw error;
        }),
      ),
    );
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(3);
    const refused = results.filter((r): r is PromiseRejectedResult => r.status === "rejected").map((r) => r.reason);
    expect(refused).toHaveLength(5);
    for (const reason of refused) expect(reason).toBeInstanceOf(BudgetExceededError);
    expect(scripted.requests).toHaveLength(3); // the refused calls were never made
    const spent = (
      await db.query<{ micros: number }>("SELECT sum(cost_usd_micros)::bigint AS micros FROM llm_calls WHERE run_id = $1", [runId])
    ).rows[0]!;
    expect(Number(spent.micros)).toBeLessThanOrEqual(cap);
    expect((await db.query<{ n: number }>("SELECT count(*)::int AS n FROM budget_reservations")).rows[0]!.n).toBe(0); // all settled
  });

  it("holds the operator's daily cap against a repository that tries to raise it, and an installation's own cap", async () => {
    const caps = { dailyMicros: 10_000, runMicros: 25_000_000 };
    const raising = meteredSetup(db, captured.log, [{ text: "never" }], { config: { budget: { daily_usd: 5_000 } }, operatorCaps: caps });
    await expect(raising.model.call({ context: { installationId: 9, phase: "execute" }, request })).rejects.toThrow(
      /^the daily budget \$0\.01 of this installation reached/,
    );
    expect(raising.scripted.requests).toHaveLength(0);
    // the operator raises it for installation 9 only (`tollgate caps --installation 9 --daily 100`)
    await new BudgetStore(db).setCaps({ installationId: 9, dailyMicros: 100_000_000, runMicros: null });
    const allowed = meteredSetup(db, captured.log, [{ text: "ok", usage }], {
      config: { budget: { daily_usd: 5_000 } },
      operatorCaps: caps,
    });
    await allowed.model.call({ context: { installationId: 9, phase: "execute" }, request });
    await expect(allowed.model.call({ context: { installationId: 10, phase: "execute" }, request })).rejects.toBeInstanceOf(
      BudgetExceededError,
    );
  });

  it("stops before the call that could exceed the run's budget, saying where the money went", async () => {
    const runId = await insertRun(db);
    // $1 budget; gate and plan already spent $0.90; the next execute call could cost up to
    // (estimated input × $3 + 1,024 × $15) / 1e6 ≈ $0.016, so it still fits: then one more does not.
    const { model, scripted } = meteredSetup(
      db,
      captured.log,
      [
        { text: "ok", usage: { input_tokens: 10_000, output_tokens: 4_000, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 } },
        { text: "never" },
      ],
      { config: { budget: { run_usd: 1 } } },
    );
    await db.query(
      `INSERT INTO llm_calls (run_id, phase, model, status, latency_ms, cost_usd_micros) VALUES ($1, 'gate', 'claude-opus-4-7', 'ok', 1, 300000), ($1, 'plan', 'claude-opus-4-7', 'ok', 1, 600000)`,
      [runId],
    );
    await model.call({ context: { runId, phase: "execute", iteration: 1 }, request }); // +$0.09 → $0.99
    const error = await model.call({ context: { runId, phase: "execute", iteration: 2 }, request }).catch((e) => e);
    expect(error).toBeInstanceOf(BudgetExceededError);
    expect(error.message).toMatch(
      /^budget \$1\.00 reached in execute iteration 2: \$0\.99 spent or in flight \(gate \$0\.30, plan \$0\.60, execute \$0\.09\), and the next call could cost up to \$0\.0\d+$/,
    );
    expect(scripted.requests).toHaveLength(1); // the call was not made
  });

  it("applies per-phase and per-installation daily caps", async () => {
    const runId = await insertRun(db);
    await db.query(
      `INSERT INTO llm_calls (run_id, installation_id, phase, model, status, latency_ms, cost_usd_micros) VALUES ($1, 9, 'review', 'm', 'ok', 1, 500000)`,
      [runId],
    );
    const { model } = meteredSetup(db, captured.log, [{ text: "x" }, { text: "y" }], {
      config: { budget: { phase_usd: { review: 0.5 }, daily_usd: 0.51 } },
    });
    await expect(model.call({ context: { runId, phase: "review" }, request })).rejects.toThrow(
      /^the review budget \$0\.50 reached in review/,
    );
    await expect(model.call({ context: { installationId: 9, phase: "execute" }, request })).rejects.toThrow(
      /^the daily budget \$0\.51 of this installation reached in execute/,
    );
  });

  it("does not wait past the run's deadline for a long retry-after", async () => {
    const { model, clock } = meteredSetup(db, captured.log, [
      { error: { status: 429, type: "rate_limit_error", message: "rate limited", headers: { "retry-after": "120" } } },
    ]);
    await expect(model.call({ context: { phase: "execute" }, request, deadline: clock.now() + 60_000 })).rejects.toBeInstanceOf(
      DeadlineExceededError,
    );
    expect(clock.sleeps).toEqual([]);
  });

  it("reads cached tokens in an agent loop: turn k pays full price only for what it adds", async () => {
    const prefix = cachedPrefix({ system: "x".repeat(20_000), context: "y".repeat(20_000) });
    const { model } = meteredSetup(db, captured.log, [{ text: "1" }, { text: "2" }]);
    let messages = withMovingBreakpoint([{ role: "user", content: "start" }]);
    const first = await model.call({ context: { phase: "execute" }, request: { ...prefix, messages, maxTokens: 100 } });
    messages = withMovingBreakpoint([...messages, { role: "assistant", content: "1" }, { role: "user", content: "next" }]);
    const second = await model.call({ context: { phase: "execute" }, request: { ...prefix, messages, maxTokens: 100 } });
    expect(first.usage.cacheReadTokens).toBeGreaterThan(9_000);
    expect(second.usage.inputTokens).toBeLessThan(100);
  });
});
