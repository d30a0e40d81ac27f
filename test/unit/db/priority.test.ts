import { asIntake, PriorityLanes } from "../../../src/db/priority.js";
import { freshDatabase } from "../../helpers/db.js";

describe("the embedded database's lanes", () => {
  it("hands the next turn to intake before any task that waited longer", async () => {
    const lanes = new PriorityLanes();
    const order: string[] = [];
    let finishFirst!: () => void;
    const first = lanes.run(() => new Promise<void>((resolve) => (finishFirst = resolve)).then(() => order.push("running")));
    const queued = [
      lanes.run(async () => order.push("worker 1")),
      lanes.run(async () => order.push("worker 2")),
      asIntake(() => lanes.run(async () => order.push("intake 1"))),
      lanes.run(async () => order.push("worker 3")),
      asIntake(() => lanes.run(async () => order.push("intake 2"))),
    ];
    finishFirst();
    await Promise.all([first, ...queued]);
    expect(order).toEqual(["running", "intake 1", "intake 2", "worker 1", "worker 2", "worker 3"]);
  });

  it("passes the turn on when a task fails", async () => {
    const lanes = new PriorityLanes();
    const failing = lanes.run(async () => {
      throw new Error("constraint violated");
    });
    const next = lanes.run(async () => "ran");
    await expect(failing).rejects.toThrow("constraint violated");
    await expect(next).resolves.toBe("ran");
  });

  it("puts a webhook's statement ahead of the workers' on PGlite, behind only the transaction running", async () => {
    const db = await freshDatabase("pglite");
    try {
      await db.exec("CREATE TABLE seen (n serial PRIMARY KEY, who text)");
      const order: string[] = [];
      let release!: () => void;
      const held = new Promise<void>((resolve) => (release = resolve));
      // a worker's transaction is running when the others arrive
      const tx = db.transaction(async (q) => {
        await q.query("INSERT INTO seen (who) VALUES ('worker transaction')");
        await held;
      });
      await new Promise((resolve) => setImmediate(resolve));
      const workers = [1, 2, 3].map((i) => db.query("INSERT INTO seen (who) VALUES ($1)", [`worker ${i}`]));
      const webhook = asIntake(() => db.query("INSERT INTO seen (who) VALUES ('webhook')"));
      release();
      await Promise.all([tx, ...workers, webhook]);
      order.push(...(await db.query<{ who: string }>("SELECT who FROM seen ORDER BY n")).rows.map((r) => r.who));
      expect(order).toEqual(["worker transaction", "webhook", "worker 1", "worker 2", "worker 3"]);
    } finally {
      await db.close();
    }
  });
});
