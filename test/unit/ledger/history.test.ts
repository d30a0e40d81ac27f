import type { Database } from "../../../src/db/database.js";
import { CostHistory, percentile } from "../../../src/stores/history.js";
import { describeEachDb, freshDatabase } from "../../helpers/db.js";

async function finishedRun(db: Database, repo: string, installation: number, type: string, costs: number[], status = "succeeded") {
  const { rows } = await db.query<{ id: string }>(
    `INSERT INTO runs (installation_id, repository_id, owner, repo, issue_number, ticket_type, status) VALUES ($1, 1, 'o', $2, 1, $3, $4) RETURNING id`,
    [installation, repo, type, status],
  );
  for (const cost of costs) {
    await db.query(
      `INSERT INTO llm_calls (run_id, phase, model, status, latency_ms, cost_usd_micros) VALUES ($1, 'gate', 'm', 'ok', 1, $2)`,
      [rows[0]!.id, cost],
    );
  }
}

describeEachDb("expected cost from past runs on %s", (kind) => {
  let db: Database;
  beforeEach(async () => (db = await freshDatabase(kind)));
  afterEach(() => db.close());

  it("says nothing below 3 finished runs, then gives the repo's median and p90", async () => {
    const q = { installationId: 1, owner: "o", repo: "app", ticketType: "bug" };
    await finishedRun(db, "app", 1, "bug", [100_000]);
    await finishedRun(db, "app", 1, "bug", [200_000, 100_000]);
    await finishedRun(db, "app", 1, "bug", [900_000], "cancelled"); // not finished work
    await finishedRun(db, "app", 1, "bug", [10_000], "needs_spec"); // held back by the gate: not a run's cost
    await finishedRun(db, "app", 1, "bug", [20_000], "running"); // still going
    await finishedRun(db, "app", 1, "feature", [5_000_000]); // another type
    expect(await new CostHistory(db).expectedCost(q)).toBeNull();
    await finishedRun(db, "app", 1, "bug", [500_000]);
    await finishedRun(db, "app", 1, "bug", [1_000_000], "draft"); // a draft PR is a whole run too
    expect(await new CostHistory(db).expectedCost(q)).toEqual({
      scope: "repository",
      runs: 4,
      medianMicros: 300_000,
      p90Micros: 1_000_000,
    });
  });

  it("falls back to the installation's runs when the repo has too few", async () => {
    for (const [repo, cost] of [
      ["a", 1],
      ["b", 2],
      ["c", 3],
    ] as const)
      await finishedRun(db, repo, 7, "docs", [cost * 10_000]);
    expect(await new CostHistory(db).expectedCost({ installationId: 7, owner: "o", repo: "new", ticketType: "docs" })).toEqual({
      scope: "installation",
      runs: 3,
      medianMicros: 20_000,
      p90Micros: 30_000,
    });
  });
});

describe("percentile", () => {
  it("uses the nearest rank", () => {
    expect(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 90)).toBe(9);
    expect(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 50)).toBe(5);
    expect(percentile([42], 90)).toBe(42);
  });
});
