import type { Database } from "../../../src/db/database.js";
import { rollup } from "../../../src/stores/rollup.js";
import { formatRollup } from "../../../src/report/rollup-format.js";
import { describeEachDb, freshDatabase } from "../../helpers/db.js";

async function seed(db: Database) {
  const run = async (owner: string, repo: string, issue: number, ticketType: string | null, installation: number) =>
    (
      await db.query<{ id: string }>(
        `INSERT INTO runs (installation_id, repository_id, owner, repo, issue_number, ticket_type, status) VALUES ($1, 1, $2, $3, $4, $5, 'succeeded') RETURNING id`,
        [installation, owner, repo, issue, ticketType],
      )
    ).rows[0]!.id;
  const a = await run("octo", "app", 1, "bug", 1);
  const b = await run("octo", "lib", 2, "feature", 1);
  const c = await run("other", "tool", 3, null, 2);
  const call = (runId: string, installation: number, phase: string, model: string, at: string, input: number, cost: number | null) =>
    db.query(
      `INSERT INTO llm_calls (run_id, installation_id, phase, model, status, latency_ms, input_tokens, output_tokens, cache_write_tokens, cache_read_tokens, cost_usd_micros, created_at)
       VALUES ($1, $2, $3, $4, 'ok', 10, $5, 10, 0, 100, $6, $7)`,
      [runId, installation, phase, model, input, cost, at],
    );
  await call(a, 1, "gate", "claude-opus-4-7", "2026-11-01T10:00:00Z", 1_000, 5_250);
  await call(a, 1, "execute", "claude-sonnet-4-6", "2026-11-01T11:00:00Z", 2_000, 6_180);
  await call(b, 1, "execute", "claude-sonnet-4-6", "2026-11-02T09:00:00Z", 3_000, 9_180);
  await call(c, 2, "execute", "claude-experimental-7", "2026-11-02T23:59:59Z", 4_000, null);
  await call(c, 2, "gate", "claude-opus-4-7", "2026-10-01T00:00:00Z", 9_999, 99_999); // outside the period
}

const period = { since: new Date("2026-11-01T00:00:00Z"), until: new Date("2026-11-03T00:00:00Z") };

describeEachDb("ledger rollups on %s", (kind) => {
  let db: Database;
  beforeAll(async () => {
    db = await freshDatabase(kind);
    await seed(db);
  });
  afterAll(() => db.close());

  it("rolls up by phase over the period, counting unknown costs apart", async () => {
    const rows = await rollup(db, { by: ["phase"], ...period });
    expect(rows).toEqual([
      { keys: { phase: "execute" }, calls: 3, input: 9_000, cacheWrite: 0, cacheRead: 300, output: 30, costMicros: 15_360, unknownCost: 1 },
      { keys: { phase: "gate" }, calls: 1, input: 1_000, cacheWrite: 0, cacheRead: 100, output: 10, costMicros: 5_250, unknownCost: 0 },
    ]);
  });

  it("rolls up by repo, ticket type and day (UTC), and filters by installation and repo", async () => {
    const byRepoDay = await rollup(db, { by: ["repo", "day"], ...period });
    expect(byRepoDay.map((r) => [r.keys.repo, r.keys.day, r.calls])).toEqual([
      ["octo/app", "2026-11-01", 2],
      ["octo/lib", "2026-11-02", 1],
      ["other/tool", "2026-11-02", 1],
    ]);
    const byType = await rollup(db, { by: ["ticket_type"], ...period, installationId: 1 });
    expect(byType.map((r) => [r.keys.ticket_type, r.costMicros])).toEqual([
      ["bug", 11_430],
      ["feature", 9_180],
    ]);
    const oneRepo = await rollup(db, { by: ["model"], ...period, repo: "octo/app" });
    expect(oneRepo.map((r) => r.keys.model)).toEqual(["claude-opus-4-7", "claude-sonnet-4-6"]);
  });

  it("gives the cost per merged PR: every run of an issue whose PR was merged", async () => {
    await db.query("UPDATE runs SET pr_number = 10, pr_state = 'merged' WHERE owner = 'octo' AND repo = 'app'");
    const rows = await rollup(db, { by: ["issue"], ...period, merged: true });
    expect(rows.map((r) => [r.keys.issue, r.calls, r.costMicros])).toEqual([["octo/app#1", 2, 5_250 + 6_180]]);
    expect((await rollup(db, { by: ["issue"], ...period })).map((r) => r.keys.issue)).toEqual(["octo/app#1", "octo/lib#2", "other/tool#3"]);
  });

  it("prints a table, CSV and JSON", async () => {
    const rows = await rollup(db, { by: ["phase"], ...period });
    expect(formatRollup(rows, ["phase"], "csv")).toBe(
      "phase,calls,input,cache_write,cache_read,output,cost_usd,unknown_cost_calls\nexecute,3,9000,0,300,30,0.01536,1\ngate,1,1000,0,100,10,0.00525,0\n",
    );
    expect(JSON.parse(formatRollup(rows, ["phase"], "json"))[0]).toEqual({
      phase: "execute",
      calls: 3,
      input: 9_000,
      cache_write: 0,
      cache_read: 300,
      output: 30,
      cost_usd: 0.01536,
      unknown_cost_calls: 1,
      cost_usd_micros: 15_360,
    });
    const table = formatRollup(rows, ["phase"], "table");
    expect(table).toMatch(/execute .* 9,000 .* \$0\.0154 \(\+1 unknown\)/);
    expect(table).toContain("4 calls, $0.0206 in all");
  });
});
