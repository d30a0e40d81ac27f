import type { Database } from "../../../src/db/database.js";
import { DeliveryStore } from "../../../src/stores/deliveries.js";
import { IntakeWriter } from "../../../src/queue/intake-writer.js";
import { jobIdForDelivery } from "../../../src/queue/job-id.js";
import { QUEUE } from "../../../src/queue/jobs.js";
import { JobQueue } from "../../../src/queue/queue.js";
import { DB_KINDS, freshDatabase } from "../../helpers/db.js";
import { captureLog } from "../../helpers/log.js";

const delivery = (id: string, installationId = 1) => ({
  id,
  event: "issues",
  action: "labeled",
  installationId,
  repository: "octo/app",
  sender: "alice",
});

describe.each(DB_KINDS)("the webhook path's group commit on %s", (kind) => {
  let db: Database;
  let queue: JobQueue;
  let writer: IntakeWriter;
  let deliveries: DeliveryStore;
  const statements: string[] = [];
  const captured = captureLog();

  beforeEach(async () => {
    const real = await freshDatabase(kind);
    // the same database, counting the statements that write deliveries and jobs
    db = Object.assign(Object.create(real) as Database, {
      query: (sql: string, params?: unknown[]) => {
        if (/INSERT INTO (deliveries|pgboss\.job)/.test(sql)) statements.push(/deliveries/.test(sql) ? "deliveries" : "jobs");
        return real.query(sql, params);
      },
    });
    statements.length = 0;
    queue = new JobQueue(db, captured.log, { maintenance: false });
    await queue.start();
    deliveries = new DeliveryStore(db);
    writer = new IntakeWriter(deliveries, queue, captured.log);
  });
  afterEach(async () => {
    await queue.stop(5000);
    await db.close();
  });

  const count = async (sql: string) => (await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${sql}`)).rows[0]!.n;

  it("writes a burst of deliveries in a few statements, each with its row and its job", async () => {
    const ids = Array.from({ length: 40 }, (_, i) => `burst-${i}`);
    const results = await Promise.all(ids.map((id) => writer.enqueue(delivery(id), { queue: QUEUE.trigger, data: { deliveryId: id } })));
    expect(results).toEqual(ids.map(() => "enqueued"));
    expect(await count("deliveries")).toBe(40);
    const jobs = await db.query<{ id: string; data: { deliveryId: string } }>("SELECT id, data FROM pgboss.job WHERE name = $1", [
      QUEUE.trigger,
    ]);
    expect(new Map(jobs.rows.map((j) => [j.data.deliveryId, j.id]))).toEqual(new Map(ids.map((id) => [id, jobIdForDelivery(id)])));
    // the 40 that arrived before the writer's turn came, in one statement each for rows and jobs
    expect(statements).toEqual(["deliveries", "jobs"]);
    // and those that arrive while a group is written form the next group
    statements.length = 0;
    const first = writer.enqueue(delivery("wave-0"), { queue: QUEUE.trigger, data: {} });
    await new Promise((resolve) => setImmediate(resolve)); // its group is being written now
    await Promise.all([first, ...[1, 2, 3].map((i) => writer.enqueue(delivery(`wave-${i}`), { queue: QUEUE.trigger, data: {} }))]);
    expect(statements).toEqual(["deliveries", "jobs", "deliveries", "jobs"]);
    expect(await count("deliveries")).toBe(44);
    // what catch-up asks before it has GitHub send a delivery again
    expect(await deliveries.recorded(["burst-0", "wave-3", "never-arrived"])).toEqual(new Set(["burst-0", "wave-3"]));
    expect(await deliveries.recorded([])).toEqual(new Set());
  });

  it("makes one row and one job of the same delivery sent at once, and nothing of one already handled", async () => {
    await deliveries.record(delivery("handled"), jobIdForDelivery("handled"));
    await deliveries.finish("handled", "done");
    const results = await Promise.all([
      ...Array.from({ length: 5 }, () => writer.enqueue(delivery("twice"), { queue: QUEUE.command, data: { deliveryId: "twice" } })),
      writer.enqueue(delivery("handled"), { queue: QUEUE.command, data: { deliveryId: "handled" } }),
    ]);
    expect(results.at(-1)).toBe("duplicate");
    expect(await count("deliveries")).toBe(2);
    expect(await count(`pgboss.job WHERE name = '${QUEUE.command}'`)).toBe(1);
  });

  it("fails only the delivery that cannot be written: the rest of its group is written one by one", async () => {
    const good = ["good-1", "good-2", "good-3"];
    const first = writer.enqueue(delivery("first"), { queue: QUEUE.trigger, data: {} });
    const group = [
      ...good.map((id) => writer.enqueue(delivery(id), { queue: QUEUE.trigger, data: { deliveryId: id } })),
      writer.enqueue(delivery("poison", 2 ** 70), { queue: QUEUE.trigger, data: {} }), // out of bigint's range
    ];
    const settled = await Promise.allSettled([first, ...group]);
    expect(settled.map((s) => s.status)).toEqual(["fulfilled", "fulfilled", "fulfilled", "fulfilled", "rejected"]);
    expect((await db.query<{ id: string }>("SELECT id FROM deliveries ORDER BY id")).rows.map((r) => r.id)).toEqual(["first", ...good]);
    expect(await count(`pgboss.job WHERE name = '${QUEUE.trigger}'`)).toBe(4);
    expect(captured.lines().some((l) => l.msg === "a group of webhook writes failed: writing them one by one")).toBe(true);
  });
});
