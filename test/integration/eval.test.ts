/**
 * `tollgate eval` end to end, as CI can run it: the compiled CLI on the shipped scripted suite
 * (eval/greeter: one task its script resolves, one whose change misses the hidden test, one vague
 * ticket the gate holds back), once each (CI's time), on the embedded database. The report's figures are
 * checked against the ledger the runs wrote.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { openPglite } from "../../src/db/pglite.js";
import { ROOT, tollgate } from "../helpers/cli.js";

describe("tollgate eval", () => {
  it("runs every task through the pipeline and reports resolved rate, cost per resolved task and gate precision", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "tollgate-eval-test-"));
    const env = { LOG_FORMAT: "json", LOG_LEVEL: "warn", TOLLGATE_DATA_DIR: path.join(dir, "data") };
    const child = tollgate(["eval", path.join(ROOT, "eval/greeter"), "--scripted", "--runs", "1", "--format", "json"], env, dir);
    expect(await child.exit).toBe(0);
    const report = JSON.parse(child.stdout());
    type A = { task: string; ready: boolean; status: string; resolved: boolean | null; runId: string };
    const attempts: A[] = report.attempts;
    expect(attempts.map((a) => [a.task, a.ready, a.status, a.resolved])).toEqual([
      ["greet-hi", true, "succeeded", true],
      // verify and review passed, but the change ("Goodby ") misses the hidden test: not resolved
      ["farewell-goodbye", true, "succeeded", false],
      ["vague", false, "needs_spec", null],
    ]);
    // one prompt version: the held-back tickets rendered only the gate's prompt, at the same version
    expect(report.versions).toHaveLength(1);
    const v = report.versions[0];
    expect(v.prompts).toEqual(
      expect.arrayContaining([expect.stringMatching(/^gate\.verdict@\d+$/), expect.stringMatching(/^plan\.system@\d+$/)]),
    );
    expect([v.attempts, v.runnable, v.resolved, v.resolvedRate, v.gatePrecision, v.gateRecall]).toEqual([3, 2, 1, 0.5, 1, 1]);
    expect(v.rounds).toBe(1);

    // the figures are the ledger's: every runnable attempt's spend, divided by the resolved ones
    const db = await openPglite(path.join(dir, "data", "pgdata"));
    try {
      const runnable = attempts.filter((a) => a.task !== "vague").map((a) => a.runId);
      const { rows } = await db.query<{ phase: string; cost: string }>(
        "SELECT phase, sum(cost_usd_micros)::text AS cost FROM llm_calls WHERE run_id = ANY($1::uuid[]) GROUP BY phase ORDER BY phase",
        [runnable],
      );
      const perResolved = Object.fromEntries(v.perResolved.map((p: { phase: string; costMicros: number }) => [p.phase, p.costMicros]));
      expect(Object.keys(perResolved).sort()).toEqual(rows.map((r) => r.phase));
      for (const r of rows) expect(perResolved[r.phase]).toBe(Number(r.cost)); // one resolved task
      const all = await db.query<{ cost: string }>("SELECT sum(cost_usd_micros)::text AS cost FROM llm_calls");
      expect(v.totalCostMicros).toBe(Number(all.rows[0]!.cost));
    } finally {
      await db.close();
    }
  }, 240_000);

  it("says what is wrong with a suite, and needs a key or --scripted", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "tollgate-eval-test-"));
    const env = { TOLLGATE_DATA_DIR: path.join(dir, "data") };
    const noKey = tollgate(["eval", path.join(ROOT, "eval/greeter")], env, dir);
    expect(await noKey.exit).toBe(1);
    expect(noKey.stderr()).toContain("ANTHROPIC_API_KEY is not set");
    const missing = tollgate(["eval", path.join(dir, "nowhere"), "--scripted"], env, dir);
    expect(await missing.exit).toBe(1);
    expect(missing.stderr()).toContain("suite.yml: no such file");
    const runs = tollgate(["eval", path.join(ROOT, "eval/greeter"), "--scripted", "--runs", "0"], env, dir);
    expect(await runs.exit).toBe(1);
    expect(runs.stderr()).toContain('--runs "0" must be a whole number from 1 to 50');
  });
});
