import type { Database, Queryable } from "../../../src/db/database.js";
import { DeliveryStore } from "../../../src/stores/deliveries.js";
import { IntakeWriter } from "../../../src/queue/intake-writer.js";
import { jobIdForDelivery } from "../../../src/queue/job-id.js";
import { QUEUE } from "../../../src/queue/jobs.js";
import { JobQueue } from "../../../src/queue/queue.js";
import { Outbox } from "../../../src/queue/outbox.js";
import { describeEachDb, freshDatabase } from "../../helpers/db.js";
import { captureLog } from "../../helpers/log.js";
import { eventually } from "../../helpers/eventually.js";

const delivery = (id: string, installationId = 1) => ({
  id,
  event: "issues",
  action: "labeled",
  installationId,
  repository: "octo/app",
  sender: "alice",
});

describeEachDb("the webhook path's group commit on %s", (kind) => {
  let db: Database;
  let queue: JobQueue;
  let writer: IntakeWriter;
  let deliveries: DeliveryStore;
  let outbox: Outbox;
  const statements: string[] = [];
  let busy = false;
  /** Ends the outbox's burst delay (src/queue/outbox.ts `soon`). */
  let burstDelayOver: () => void;
  const captured = captureLog();

  beforeEach(async () => {
    const real = await freshDatabase(kind);
    // the same database, counting the statements that write deliveries and jobs (the outbox sends in transactions)
    const counting = (q: Queryable): Queryable =>
      Object.assign(Object.create(q) as Queryable, {
        query: (sql: string, params?: unknown[]) => {
          if (/INSERT INTO (deliveries|pgboss\.job)/.test(sql)) statements.push(/deliveries/.test(sql) ? "deliveries" : "jobs");
          return q.query(sql, params);
        },
      });
    db = Object.assign(counting(real) as Database, {
      transaction: <T>(fn: (tx: Queryable) => Promise<T>) => real.transaction((tx) => fn(counting(tx))),
    });
    statements.length = 0;
    queue = new JobQueue(db, captured.log, { maintenance: false });
    await queue.start();
    deliveries = new DeliveryStore(db);
    burstDelayOver = () => undefined;
    const wait = () => new Promise<void>((resolve) => (burstDelayOver = resolve));
    outbox = new Outbox(db, deliveries, queue, captured.log, { wait });
    writer = new IntakeWriter(deliveries, outbox, captured.log, () => busy);
    busy = false;
  });
  afterEach(async () => {
    await queue.stop(5000);
    await db.close();
  });

  const count = async (sql: string) => (await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${sql}`)).rows[0]!.n;

  it("writes a burst of deliveries in a few statements, each with its row and its job", async () => {
    const ids = Array.from({ length: 40 }, (_, i) => `burst-${i}`);
    const results = await Promise.all(ids.map((id) => writer.enqueue(delivery(id), { queue: QUEUE.trigger, data: { deliveryId: id } })));
    expect(results).toEqual(ids.map(() => "recorded"));
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

  it("in a burst, answers once the deliveries are recorded, and sends their jobs together soon after", async () => {
    busy = true;
    const ids = Array.from({ length: 12 }, (_, i) => `storm-${i}`);
    const first = await Promise.all(
      ids.slice(0, 6).map((id) => writer.enqueue(delivery(id), { queue: QUEUE.trigger, data: { deliveryId: id } })),
    );
    expect(first).toEqual(ids.slice(0, 6).map(() => "recorded"));
    // answered: recorded, and not a job yet
    expect(await count(`pgboss.job WHERE name = '${QUEUE.trigger}'`)).toBe(0);
    expect(await deliveries.unsent()).toMatchObject({ count: 6 });
    const rest = await Promise.all(
      ids.slice(6).map((id) => writer.enqueue(delivery(id), { queue: QUEUE.trigger, data: { deliveryId: id } })),
    );
    expect(rest).toEqual(ids.slice(6).map(() => "recorded"));
    // when the outbox's burst delay is over, every job, sent in one statement
    expect(await count(`pgboss.job WHERE name = '${QUEUE.trigger}'`)).toBe(0);
    burstDelayOver();
    await eventually(async () => (await deliveries.unsent()).count === 0);
    expect(await count(`pgboss.job WHERE name = '${QUEUE.trigger}'`)).toBe(12);
    expect(statements).toEqual(["deliveries", "deliveries", "jobs"]);
    const jobs = await db.query<{ id: string; data: { deliveryId: string } }>("SELECT id, data FROM pgboss.job WHERE name = $1", [
      QUEUE.trigger,
    ]);
    expect(new Map(jobs.rows.map((j) => [j.data.deliveryId, j.id]))).toEqual(new Map(ids.map((id) => [id, jobIdForDelivery(id)])));
  });

  it("makes one row and one job of the same delivery sent at once, and nothing of one already handled", async () => {
    await deliveries.record(delivery("handled"));
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
