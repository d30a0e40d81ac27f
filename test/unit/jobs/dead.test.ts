/**
 * The dead-letter queue's handler: a trigger or command job that died in its gate leaves no run
 * stuck `running` (which would block every later run of the issue); a run a worker holds is not
 * its to fail.
 */
import type { Database } from "../../../src/db/database.js";
import { migrate } from "../../../src/db/migrate.js";
import { handleDead } from "../../../src/jobs/dead.js";
import { DeliveryStore } from "../../../src/stores/deliveries.js";
import { RunStore } from "../../../src/stores/runs.js";
import { freshDatabase } from "../../helpers/db.js";
import { captureLog } from "../../helpers/log.js";

describe("a job that died in its gate", () => {
  let db: Database;
  let runs: RunStore;
  let deliveries: DeliveryStore;
  const { log } = captureLog();

  beforeEach(async () => {
    db = await freshDatabase("pglite");
    await migrate(db);
    runs = new RunStore(db);
    deliveries = new DeliveryStore(db);
  });
  afterEach(() => db.close());

  const gateRun = async (deliveryId: string, issueNumber: number) => {
    await deliveries.record({ id: deliveryId, event: "issues", action: "labeled" });
    const { run } = await runs.create({
      deliveryId,
      installationId: 7,
      repositoryId: 42,
      owner: "acme",
      repo: "widgets",
      issueNumber,
      budgetUsdMicros: 1_000_000,
    });
    await runs.setStatus(run.id, "running");
    return run.id;
  };

  it("fails the run its gate left running, so the issue can have a new one; a run a worker holds is left alone", async () => {
    const stuck = await gateRun("d-gate", 1);
    const held = await gateRun("d-held", 2);
    expect(await runs.claim(held, "00000000-0000-4000-8000-000000000001", 0)).toBeDefined();
    await handleDead({ id: "j-1", data: { deliveryId: "d-gate" } }, { deliveries, runs }, log);
    await handleDead({ id: "j-2", data: { deliveryId: "d-held" } }, { deliveries, runs }, log);
    expect(await runs.get(stuck)).toMatchObject({ status: "failed" });
    expect(await runs.get(held)).toMatchObject({ status: "running" });
    expect(await runs.active(42, 1)).toBeUndefined();
  });
});
