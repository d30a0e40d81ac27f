import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { Database } from "../../../src/db/database.js";
import { RunCosts, type CostRow } from "../../../src/stores/cost-rows.js";
import { PRICE_OVERRIDES } from "../../../src/llm/prices.js";
import { PriceBook } from "../../../src/llm/pricing.js";
import { cachedPrefix, withMovingBreakpoint } from "../../../src/llm/prompt-cache.js";
import { renderCostTable, totals } from "../../../src/report/cost-table.js";
import { describeEachDb, freshDatabase } from "../../helpers/db.js";
import { insertRun, meteredSetup } from "../../helpers/llm.js";
import { captureLog } from "../../helpers/log.js";

const prices = new PriceBook(PRICE_OVERRIDES);
const GOLDEN = fileURLToPath(new URL("../../fixtures/reports/cost-table.md", import.meta.url));

const row = (r: Partial<CostRow> & Pick<CostRow, "phase" | "model">): CostRow => ({
  calls: 1,
  input: 0,
  cacheWrite: 0,
  cacheWrite5m: 0,
  cacheWrite1h: 0,
  cacheRead: 0,
  output: 0,
  costMicros: 0,
  unknownInput: 0,
  unknownCacheWrite: 0,
  unknownCacheRead: 0,
  unknownOutput: 0,
  unknownCost: 0,
  latencyMs: 0,
  unsplitCacheWrite: 0,
  ...r,
});

// Hand-computed costs: gate on Opus 4.7: 3,000 in × $5 + 4,500 5m-writes × $6.25 + 800 out × $25 = 63,125 µ$
const fixedRows: CostRow[] = [
  row({
    phase: "review",
    model: "claude-sonnet-4-6",
    calls: 2,
    input: 9_000,
    cacheRead: 12_000,
    output: 1_500,
    costMicros: 9_000 * 3 + 12_000 * 0.3 + 1_500 * 15,
    latencyMs: 21_400,
  }),
  row({
    phase: "gate",
    model: "claude-opus-4-7",
    calls: 1,
    input: 3_000,
    cacheWrite: 4_500,
    cacheWrite5m: 4_500,
    output: 800,
    costMicros: 63_125,
    latencyMs: 9_200,
  }),
  row({
    phase: "execute",
    model: "claude-sonnet-4-6",
    calls: 14,
    input: 21_000,
    cacheWrite: 18_000,
    cacheWrite5m: 18_000,
    cacheRead: 240_000,
    output: 12_000,
    costMicros: 21_000 * 3 + 18_000 * 3.75 + 240_000 * 0.3 + 12_000 * 15,
    latencyMs: 184_000,
  }),
  row({
    phase: "plan",
    model: "claude-opus-4-7",
    calls: 3,
    input: 6_000,
    cacheRead: 30_000,
    output: 2_500,
    costMicros: 6_000 * 5 + 30_000 * 0.5 + 2_500 * 25,
    latencyMs: 47_000,
  }),
  row({
    phase: "verify",
    model: "claude-haiku-4-5",
    calls: 2,
    input: 8_000,
    output: 600,
    costMicros: 8_000 * 1 + 600 * 5,
    latencyMs: 3_100,
  }),
];

describe("the cost table", () => {
  it("renders the golden table: pipeline order, totals, budget, cache and tiering lines, pie", () => {
    const text = renderCostTable({ rows: fixedRows, prices, deepModel: "claude-opus-4-7", budgetMicros: 5_000_000, iterations: 2 });
    if (process.env.UPDATE_GOLDEN) writeFileSync(GOLDEN, text);
    expect(text).toBe(readFileSync(GOLDEN, "utf8"));
  });

  it("totals every row to the token and the micro-dollar", () => {
    const t = totals(fixedRows);
    expect(t).toMatchObject({ calls: 22, input: 47_000, cacheWrite: 22_500, cacheRead: 282_000, output: 17_400 });
    expect(t.costMicros).toBe(fixedRows.reduce((s, r) => s + r.costMicros, 0));
  });

  it("shows unknown figures as unknown, never as 0", () => {
    const text = renderCostTable({
      rows: [
        row({
          phase: "execute",
          model: "claude-experimental-7",
          calls: 2,
          input: 0,
          output: 0,
          unknownInput: 2,
          unknownOutput: 2,
          unknownCost: 2,
          unknownCacheRead: 2,
          unknownCacheWrite: 2,
        }),
      ],
      prices,
      deepModel: "claude-opus-4-7",
    });
    expect(text).toContain("| execute | claude-experimental-7 | 2 | unknown | unknown | unknown | unknown | unknown | 0.0s |");
    expect(text).toContain("Tiering: what these tokens would have cost on claude-opus-4-7 (deep) for every phase is unknown.");
    expect(text).not.toMatch(/\$0\.0000/);
  });

  it("stays under GitHub's 65,536-character limit, folding the cheapest rows, with totals over all", () => {
    const many = Array.from({ length: 3_000 }, (_, i) =>
      row({ phase: `phase-${i}`, model: "claude-sonnet-4-6", calls: 1, input: 10, output: 10, costMicros: 10 * 3 + 10 * 15 + i }),
    );
    const text = renderCostTable({ rows: many, prices, deepModel: "claude-opus-4-7" });
    expect(text.length).toBeLessThanOrEqual(60_000);
    expect(text).toMatch(/\| … [\d,]+ more rows \|/);
    expect(text).toContain(`| **Total** | | **3,000** |`);
    expect(text).toContain("phase-2999"); // the dearest rows are kept
  });
});

describeEachDb("cost table from the ledger on %s", (kind) => {
  let db: Database;
  beforeEach(async () => (db = await freshDatabase(kind)));
  afterEach(() => db.close());

  it("agrees with the ledger rows to the token and the micro-dollar, across the runs of an issue", async () => {
    const captured = captureLog();
    const first = await insertRun(db, { issue: 12 });
    const usage = (i: number) => ({
      input_tokens: 1_000 + i * 37,
      output_tokens: 200 + i * 11,
      cache_creation_input_tokens: i % 3 === 0 ? 4_096 : 0,
      cache_read_input_tokens: i % 3 === 0 ? 0 : 4_096,
      cache_creation: { ephemeral_5m_input_tokens: i % 3 === 0 ? 4_096 : 0, ephemeral_1h_input_tokens: 0 },
    });
    const { model } = meteredSetup(db, captured.log, [
      ...Array.from({ length: 9 }, (_, i) => ({ text: `turn ${i}`, usage: usage(i) })),
      { error: { status: 529, type: "overloaded_error", message: "Overloaded" } },
      { text: "after retry", usage: usage(9) },
    ]);
    const prefix = cachedPrefix({ system: "You are careful." });
    const phases = ["gate", "plan", "execute", "execute", "execute", "verify", "review", "execute", "review", "execute"];
    for (const [i, phase] of phases.entries()) {
      await model.call({
        context: { runId: first, phase, iteration: i > 6 ? 2 : 1 },
        request: { ...prefix, messages: withMovingBreakpoint([{ role: "user", content: `step ${i}` }]), maxTokens: 500 },
      });
    }
    // a second run of the same issue (a revision) counts in the cumulative table
    await db.query("UPDATE runs SET status = 'succeeded' WHERE id = $1", [first]);
    const second = await insertRun(db, { issue: 12 });
    await db.query(
      `INSERT INTO llm_calls (run_id, phase, model, status, latency_ms, input_tokens, output_tokens, cache_write_tokens, cache_write_5m_tokens, cache_write_1h_tokens, cache_read_tokens, cost_usd_micros) VALUES ($1, 'execute', 'claude-sonnet-4-6', 'ok', 900, 10, 20, 0, 0, 0, 0, 330)`,
      [second],
    );

    const runIds = await new RunCosts(db).runsOfIssue("octo", "app", 12);
    expect(runIds).toEqual([first, second]);
    const t = totals(await new RunCosts(db).costRows(runIds));
    const { rows } = await db.query<Record<string, number>>(
      `SELECT count(*)::int AS calls, sum(input_tokens)::bigint AS input, sum(cache_write_tokens)::bigint AS cache_write,
              sum(cache_read_tokens)::bigint AS cache_read, sum(output_tokens)::bigint AS output, sum(cost_usd_micros)::bigint AS cost,
              sum(latency_ms)::bigint AS latency
       FROM llm_calls WHERE run_id = ANY($1::uuid[])`,
      [runIds],
    );
    const ledger = rows[0]!;
    expect(t).toEqual({
      calls: ledger.calls,
      input: ledger.input,
      cacheWrite: ledger.cache_write,
      cacheRead: ledger.cache_read,
      output: ledger.output,
      costMicros: ledger.cost,
      unknownCost: 0,
      latencyMs: ledger.latency,
    });
    expect(t.calls).toBe(12); // 10 answers, 1 overloaded attempt, 1 call of the second run
    const text = renderCostTable({ rows: await new RunCosts(db).costRows(runIds), prices, deepModel: "claude-opus-4-7" });
    expect(text).toContain(`**${(ledger.cost! / 1e6).toFixed(4).replace(/^/, "$")}**`);
  });
});
