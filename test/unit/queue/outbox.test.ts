import type { Database } from "../../../src/db/database.js";
import { DeliveryStore, type OutboxJob } from "../../../src/stores/deliveries.js";
import { jobIdForDelivery } from "../../../src/queue/job-id.js";
import { QUEUE } from "../../../src/queue/jobs.js";
import { Outbox } from "../../../src/queue/outbox.js";
import { JobQueue } from "../../../src/queue/queue.js";
import { describeEachDb, freshDatabase } from "../../helpers/db.js";
import { eventually } from "../../helpers/eventually.js";
import { captureLog } from "../../helpers/log.js";

const delivery = (id: string) => ({ id, event: "issues", action: "edited", installationId: 1, repository: "octo/app", sender: "alice" });
const plain = (id: string): OutboxJob => ({ queue: QUEUE.trigger, data: { deliveryId: id }, id: jobIdForDelivery(id) });

describeEachDb("the webhook outbox on %s", (kind) => {
  let db: Database;
  let queue: JobQueue;
  let deliveries: DeliveryStore;
  let outbox: Outbox;
  const captured = captureLog();

  beforeEach(async () => {
    db = await freshDatabase(kind);
    queue = new JobQueue(db, captured.log, { maintenance: false });
    await queue.start();
    deliveries = new DeliveryStore(db);
    outbox = new Outbox(db, deliveries, queue, captured.log, { sweepMs: 60_000 });
  });
  afterEach(async () => {
    await outbox.stop();
    await queue.stop(5000);
    await db.close();
  });

  const jobs = async (name: string) =>
    (
      await db.query<{ data: { deliveryId: string }; start_after: Date }>("SELECT data, start_after FROM pgboss.job WHERE name = $1", [
        name,
      ])
    ).rows;

  it("folds an issue's edits into one planned job, and a PR's reviews into one waiting revision", async () => {
    const debounce = { key: "7#3", seconds: 30 };
    const once = { key: "7#12", afterSeconds: 600 };
    for (const id of ["edit-1", "edit-2", "edit-3"])
      await deliveries.record(delivery(id), { queue: QUEUE.trigger, data: { deliveryId: id }, id: null, fold: { debounce } });
    for (const id of ["review-1", "review-2"])
      await deliveries.record(delivery(id), { queue: QUEUE.revise, data: { deliveryId: id }, id: null, fold: { once } });
    expect(await outbox.send()).toBe(5);
    // pg-boss's debounce: one job in this window, one in the next, the rest folded into it
    expect((await jobs(QUEUE.trigger)).map((j) => j.data.deliveryId).sort()).toEqual(["edit-1", "edit-2"]);
    const revisions = await jobs(QUEUE.revise);
    expect(revisions.map((j) => j.data.deliveryId)).toEqual(["review-1"]);
    expect(revisions[0]!.start_after.getTime()).toBeGreaterThan(Date.now() + 590_000); // waits for more reviews
    expect(await deliveries.get("edit-3")).toMatchObject({
      status: "ignored",
      detail: "debounced: a job for the same issue is already planned",
    });
    expect(await deliveries.get("review-2")).toMatchObject({
      status: "ignored",
      detail: "folded into the job already waiting for the same pull request",
    });
    expect(await deliveries.unsent()).toEqual({ count: 0, oldestSeconds: 0 });
  });

  it("sets aside a job that cannot be queued, with the reason on its delivery, and sends the others", async () => {
    await deliveries.record(delivery("before"), plain("before"));
    // written by an older Tollgate, or damaged: pg-boss refuses a debounce of "soon" seconds
    const broken = { debounce: { key: "7#3", seconds: "soon" as unknown as number } };
    await deliveries.record(delivery("broken"), { queue: QUEUE.trigger, data: { deliveryId: "broken" }, id: null, fold: broken });
    // recorded by a version that had a queue this one does not (pg-boss would drop its job without a word)
    await deliveries.record(delivery("renamed"), {
      queue: "tollgate-renamed",
      data: { deliveryId: "renamed" },
      id: jobIdForDelivery("renamed"),
    });
    await deliveries.record(delivery("after"), plain("after"));
    expect(await outbox.send()).toBe(4); // taken: two sent, two set aside
    expect((await jobs(QUEUE.trigger)).map((j) => j.data.deliveryId).sort()).toEqual(["after", "before"]);
    const row = await deliveries.get("broken");
    expect(row).toMatchObject({ status: "failed" });
    expect(row!.detail).toMatch(/^its job could not be queued: /);
    expect(await deliveries.get("renamed")).toMatchObject({
      status: "failed",
      detail: 'its job could not be queued: the queue "tollgate-renamed" does not exist in this version of Tollgate',
    });
    // the job's data is kept, for the operator
    expect((await db.query("SELECT job_data FROM deliveries WHERE id = 'renamed'")).rows[0]).toEqual({
      job_data: { deliveryId: "renamed" },
    });
    expect(await deliveries.unsent()).toMatchObject({ count: 0 });
    expect(captured.lines().some((l) => l.level === 50 && l.delivery === "broken")).toBe(true);
    // and it is not taken again
    expect(await outbox.send()).toBe(0);
  });

  it("leaves every job recorded when the database fails, and sends them once it answers", async () => {
    for (const id of ["a", "b"]) await deliveries.record(delivery(id), plain(id));
    const real = db.transaction.bind(db);
    let down = true;
    const failing = Object.assign(Object.create(db) as Database, {
      transaction: (fn: Parameters<Database["transaction"]>[0]) => (down ? Promise.reject(new Error("connection refused")) : real(fn)),
      query: (sql: string, params?: unknown[]) => (down ? Promise.reject(new Error("connection refused")) : db.query(sql, params)),
    });
    const flaky = new Outbox(failing, new DeliveryStore(failing), queue, captured.log);
    await expect(flaky.send()).rejects.toThrow("connection refused");
    expect(await deliveries.unsent()).toMatchObject({ count: 2 }); // nothing marked failed
    expect(await deliveries.get("a")).toMatchObject({ status: "received" });
    expect(captured.lines().some((l) => l.msg === "recorded webhook jobs could not be queued: they stay recorded and are retried")).toBe(
      true,
    );
    down = false;
    expect(await flaky.send()).toBe(2);
    expect(await jobs(QUEUE.trigger)).toHaveLength(2);
  });

  it("keeps a job that fails for another reason than its own (a timeout) recorded, for the next pass", async () => {
    await deliveries.record(delivery("slow"), plain("slow"));
    const timeout = Object.assign(new Error("canceling statement due to statement timeout"), { code: "57014" });
    const slow = Object.assign(Object.create(queue) as JobQueue, { sendMany: () => Promise.reject(timeout) });
    const timingOut = new Outbox(db, deliveries, slow, captured.log);
    await expect(timingOut.send()).rejects.toThrow("statement timeout");
    expect(await deliveries.get("slow")).toMatchObject({ status: "received" });
    expect(await deliveries.unsent()).toMatchObject({ count: 1 });
    expect(await outbox.send()).toBe(1);
  });

  it("sends each job once when several processes' outboxes pass at the same time", async () => {
    const ids = Array.from({ length: 450 }, (_, i) => `many-${i}`);
    await deliveries.recordMany(ids.map((id) => ({ delivery: delivery(id), job: plain(id) })));
    const others = [1, 2].map(() => new Outbox(db, deliveries, queue, captured.log));
    const sent = await Promise.all([outbox.send(), ...others.map((o) => o.send())]);
    expect(sent.reduce((a, b) => a + b, 0)).toBe(450);
    expect(await jobs(QUEUE.trigger)).toHaveLength(450);
  });

  it("in a burst, sends once it is over, or after the longest delay while it lasts", async () => {
    let waits = 0;
    let burstEndsAfter = 2; // waits
    const wait = async () => void waits++;
    const bursty = new Outbox(db, deliveries, queue, captured.log, {
      wait,
      burstDelayMs: 250,
      maxBurstDelayMs: 1_000,
      busy: () => waits < burstEndsAfter,
    });
    await deliveries.record(delivery("in-burst"), plain("in-burst"));
    bursty.soon();
    bursty.soon(); // one is enough
    await eventually(async () => (await deliveries.unsent()).count === 0);
    expect(waits).toBe(2); // looked again while the burst lasted, sent when it was over
    // a burst that never ends: sent after 1 s all the same, for other processes' workers
    waits = 0;
    burstEndsAfter = Infinity;
    await deliveries.record(delivery("long-burst"), plain("long-burst"));
    bursty.soon();
    await eventually(async () => (await deliveries.unsent()).count === 0);
    expect(waits).toBe(4);
    expect(await jobs(QUEUE.trigger)).toHaveLength(2);
  });

  it("shares one pass among the calls made while it runs, and sends at start what a crash left", async () => {
    await deliveries.record(delivery("left"), plain("left")); // recorded, then the process died
    const restarted = new Outbox(db, deliveries, queue, captured.log, { sweepMs: 60_000 });
    restarted.start();
    await eventually(async () => (await deliveries.unsent()).count === 0);
    expect((await jobs(QUEUE.trigger)).map((j) => j.data.deliveryId)).toEqual(["left"]);
    for (const id of ["x", "y"]) await deliveries.record(delivery(id), plain(id));
    const [first, second] = [restarted.send(), restarted.send()];
    expect(first).toBe(second);
    expect(await first).toBe(2);
    // stopping sends what is recorded, so a clean stop leaves nothing behind
    await deliveries.record(delivery("z"), plain("z"));
    await restarted.stop();
    expect(await jobs(QUEUE.trigger)).toHaveLength(4);
  });
});
