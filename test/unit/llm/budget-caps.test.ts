/** The caps in force (the operator's, lowered by a repository) and the "daily cap is near" note. */
import type { Database } from "../../../src/db/database.js";
import { capsInForce, nearDailyCap } from "../../../src/llm/budget.js";
import { BudgetStore } from "../../../src/stores/budget.js";
import { freshDatabase } from "../../helpers/db.js";

const operator = { dailyMicros: 50_000_000, runMicros: 25_000_000, warnAt: 0.8 };

describe("caps in force", () => {
  it("lets a repository lower the operator's caps, never raise them", () => {
    expect(capsInForce({ runMicros: 5_000_000, dailyMicros: 10_000_000 }, operator, undefined)).toMatchObject({
      runMicros: 5_000_000,
      dailyMicros: 10_000_000,
    });
    expect(capsInForce({ runMicros: 900_000_000, dailyMicros: 10_000_000_000 }, operator, undefined)).toMatchObject({
      runMicros: 25_000_000,
      dailyMicros: 50_000_000,
    });
    expect(capsInForce({}, operator, undefined)).toMatchObject({ runMicros: 25_000_000, dailyMicros: 50_000_000 });
  });

  it("takes an installation's own caps over the environment's, a null one keeping the default", () => {
    const installation = { installationId: 9, dailyMicros: 200_000_000, runMicros: null };
    expect(capsInForce({}, operator, installation)).toMatchObject({ runMicros: 25_000_000, dailyMicros: 200_000_000 });
    expect(capsInForce({ dailyMicros: 1_000_000 }, operator, installation)).toMatchObject({ dailyMicros: 1_000_000 });
  });
});

describe("the daily cap is near", () => {
  let db: Database;
  beforeEach(async () => (db = await freshDatabase("pglite")));
  afterEach(() => db.close());
  const spend = (installationId: number, micros: number) =>
    db.query(
      "INSERT INTO llm_calls (installation_id, phase, model, status, latency_ms, cost_usd_micros) VALUES ($1, 'execute', 'm', 'ok', 1, $2)",
      [installationId, micros],
    );

  it("says so from the operator's fraction of the cap in force, counting calls in flight", async () => {
    const store = new BudgetStore(db);
    await spend(7, 30_000_000);
    expect(await nearDailyCap(store, 7, undefined, operator, Date.now())).toBeUndefined(); // $30 of $50
    await store.reserve({ installationId: 7, phase: "execute", since: new Date(Date.now() - 60_000) }, 11_000_000, () => undefined);
    expect(await nearDailyCap(store, 7, undefined, operator, Date.now())).toBe(
      "This installation has spent $41.00 of its $50.00 daily cap today (UTC): runs stop when it is reached, until midnight UTC or until the operator raises it (`tollgate caps`).",
    );
    expect(await nearDailyCap(store, 7, 40_000_000, operator, Date.now())).toMatch(/of its \$40\.00 daily cap/); // the repo's lower cap
    await store.setCaps({ installationId: 7, dailyMicros: 500_000_000, runMicros: null });
    expect(await nearDailyCap(store, 7, undefined, operator, Date.now())).toBeUndefined(); // raised by the operator
  });
});
