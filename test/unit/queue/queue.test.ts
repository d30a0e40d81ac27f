import type { Database } from "../../../src/db/database.js";
import { DeliveryStore } from "../../../src/stores/deliveries.js";
import { IntakeWriter } from "../../../src/queue/intake-writer.js";
import { Outbox } from "../../../src/queue/outbox.js";
import { jobIdForDelivery } from "../../../src/queue/job-id.js";
import { QUEUE, triggerJobSchema, type TriggerJob } from "../../../src/queue/jobs.js";
import { JobQueue } from "../../../src/queue/queue.js";
import { startWorker } from "../../../src/queue/worker.js";
import { handleDead } from "../../../src/jobs/dead.js";
import { RunStore } from "../../../src/stores/runs.js";
import { describeEachDb, freshDatabase } from "../../helpers/db.js";
import { eventually } from "../../helpers/eventually.js";
import { captureLog } from "../../helpers/log.js";

const job = (deliveryId: string): TriggerJob => ({
  deliveryId,
  kind: "labeled",
  installationId: 1,
  repository: { id: 7, owner: "octo", name: "app", cloneUrl: "https://github.example/octo/app.git", defaultBranch: "main" },
  issue: { number: 3, title: "Add a flag" },
  label: "ai-ready",
  sender: { login: "alice", id: 11 },
});

const delivery = (id: string) => ({ id, event: "issues", action: "labeled", installationId: 1, repository: "octo/app", sender: "alice" });

describeEachDb("job queue on %s", (kind) => {
  let db: Database;
  let queue: JobQueue;
  let deliveries: DeliveryStore;
  let outbox: Outbox;
  let writer: IntakeWriter;
  const captured = captureLog();
  // what the webhook path does: record the delivery with its job, and send the job
  const enqueue = (id: string, data: object = job(id)) => writer.enqueue(delivery(id), { queue: QUEUE.trigger, data });
  /** One trigger worker on `on` (this test's queue by default), polling every `pollingIntervalSeconds`. */
  const workTriggers = (
    handle: Parameters<typeof startWorker<typeof triggerJobSchema>>[0]["handle"],
    { on = queue, pollingIntervalSeconds = 0.5 }: { on?: JobQueue; pollingIntervalSeconds?: number } = {},
  ) =>
    startWorker({
      queue: on,
      deliveries,
      log: captured.log,
      name: QUEUE.trigger,
      schema: triggerJobSchema,
      concurrency: 1,
      pollingIntervalSeconds,
      handle,
    });

  beforeEach(async () => {
    db = await freshDatabase(kind);
    queue = new JobQueue(db, captured.log, { maintenance: false, retry: { retryLimit: 1, retryDelay: 1, retryBackoff: false } });
    await queue.start();
    deliveries = new DeliveryStore(db);
    outbox = new Outbox(db, deliveries, queue, captured.log);
    writer = new IntakeWriter(deliveries, outbox, captured.log);
  });
  afterEach(async () => {
    await queue.stop(5000);
    await db.close();
  });

  const jobCount = async (name: string) =>
    (await db.query<{ n: number }>("SELECT count(*)::int AS n FROM pgboss.job WHERE name = $1", [name])).rows[0]!.n;

  it("turns the same delivery sent 5 times at once into one delivery row and one job", async () => {
    const results = await Promise.all(Array.from({ length: 5 }, () => enqueue("d-1")));
    expect(results.filter((r) => r === "recorded")).toHaveLength(1);
    expect(await jobCount(QUEUE.trigger)).toBe(1);
    expect(await deliveries.get("d-1")).toMatchObject({ status: "received", job_id: jobIdForDelivery("d-1") });
    // and again later, as a redelivery
    expect(await enqueue("d-1")).toBe("duplicate");
    expect(await outbox.send()).toBe(0);
    expect(await jobCount(QUEUE.trigger)).toBe(1);
  });

  it("sends a job that was recorded but never sent (the process died before the outbox's pass) at the next pass, once", async () => {
    const intent = { queue: QUEUE.trigger, data: job("d-2"), id: jobIdForDelivery("d-2") };
    expect(await deliveries.record(delivery("d-2"), intent)).toBe("new"); // the process died here
    expect(await jobCount(QUEUE.trigger)).toBe(0);
    expect(await deliveries.unsent()).toMatchObject({ count: 1 });
    // the next start's pass; GitHub's redelivery of it (catch-up) changes nothing
    expect(await outbox.send()).toBe(1);
    expect(await enqueue("d-2")).toBe("duplicate");
    expect(await outbox.send()).toBe(0);
    expect(await queue.job(QUEUE.trigger, jobIdForDelivery("d-2"))).toMatchObject({ state: "created", data: job("d-2") });
    expect(await deliveries.unsent()).toMatchObject({ count: 0 });
    // the row keeps no payload once its job is sent
    expect((await db.query("SELECT job_data FROM deliveries WHERE id = 'd-2'")).rows[0]).toEqual({ job_data: null });
  });

  it("runs a job and records the delivery's outcome", async () => {
    const seen: string[] = [];
    await workTriggers(async (data) => {
      seen.push(data.deliveryId);
      return { outcome: "done", detail: "ran" };
    });
    await enqueue("d-3");
    const row = await eventually(async () => {
      const d = await deliveries.get("d-3");
      return d?.status === "done" && d;
    });
    expect(row.detail).toBe("ran");
    expect(seen).toEqual(["d-3"]);
  });

  it("retries a failing job, then records the failure with its error and dead-letters it", async () => {
    let tries = 0;
    await workTriggers(async () => {
      tries++;
      throw new Error(`GitHub answered 502 (try ${tries})`);
    });
    await enqueue("d-4");
    const row = await eventually(async () => {
      const d = await deliveries.get("d-4");
      return d?.status === "failed" && d;
    });
    expect(tries).toBe(2); // first try + retryLimit 1
    expect(row.detail).toBe("GitHub answered 502 (try 2)");
    const state = await eventually(async () => {
      const j = await queue.job(QUEUE.trigger, jobIdForDelivery("d-4"));
      return j?.state === "failed" && j;
    });
    expect(state.output).toMatchObject({ message: "GitHub answered 502 (try 2)" });
    await eventually(async () => (await jobCount(QUEUE.dead)) === 1);
    const warnings = captured.lines().filter((l) => l.msg === "job failed; it will be retried" && l.delivery === "d-4");
    expect(warnings).toHaveLength(1);
    expect(captured.lines().some((l) => l.level === 50 && l.delivery === "d-4")).toBe(true);
  });

  it("skips a job whose delivery was already handled (a job re-sent after the queue archived the first)", async () => {
    await deliveries.record(delivery("d-9"));
    await deliveries.finish("d-9", "done", "first run");
    let calls = 0;
    await workTriggers(async () => {
      calls++;
      return { outcome: "done", detail: "second run" };
    });
    await queue.send(QUEUE.trigger, job("d-9"), jobIdForDelivery("d-9"));
    await eventually(async () => (await queue.job(QUEUE.trigger, jobIdForDelivery("d-9")))?.state === "completed");
    expect(calls).toBe(0);
    expect(await deliveries.get("d-9")).toMatchObject({ status: "done", detail: "first run" });
  });

  it("fails a job whose data does not match its schema, saying why", async () => {
    await workTriggers(async () => ({ outcome: "done" }));
    await enqueue("d-5", { deliveryId: "d-5", issue: "no" });
    const row = await eventually(async () => {
      const d = await deliveries.get("d-5");
      return d?.status === "failed" && d;
    });
    expect(row.detail).toMatch(/^job data does not match the tollgate-trigger schema/);
    // not retried: retrying cannot fix the data
    expect(await eventually(() => queue.job(QUEUE.trigger, jobIdForDelivery("d-5")))).toMatchObject({ state: "completed", retryCount: 0 });
  });

  it("marks a dead-lettered job's delivery failed when nothing recorded why (expired, or cut off by a shutdown)", async () => {
    await deliveries.record(delivery("d-10"));
    await deliveries.record(delivery("d-11"));
    await deliveries.finish("d-11", "failed", "GitHub answered 502");
    await queue.work<{ deliveryId?: string }>(
      QUEUE.dead,
      1,
      (dead) => handleDead(dead, { deliveries, runs: new RunStore(db) }, captured.log),
      0.5,
    );
    await queue.send(QUEUE.dead, job("d-10"), "00000000-0000-4000-8000-000000000010");
    await queue.send(QUEUE.dead, job("d-11"), "00000000-0000-4000-8000-000000000011");
    const row = await eventually(async () => {
      const d = await deliveries.get("d-10");
      return d?.status === "failed" && d;
    });
    expect(row.detail).toMatch(/did not finish on any of its tries/);
    await eventually(async () => (await queue.job(QUEUE.dead, "00000000-0000-4000-8000-000000000011"))?.state === "completed");
    expect(await deliveries.get("d-11")).toMatchObject({ status: "failed", detail: "GitHub answered 502" });
  });

  it("on stop, takes no new job and lets the one in hand finish", async () => {
    let release!: () => void;
    const started = new Promise<void>((resolve) => {
      void workTriggers(async (data) => {
        resolve();
        await new Promise<void>((r) => (release = r));
        return { outcome: "done", detail: data.deliveryId };
      });
    });
    await enqueue("d-6");
    await started;
    const stopping = queue.stop(10_000);
    await enqueue("d-7");
    setTimeout(() => release(), 1500); // longer than two polling intervals
    await stopping;
    expect((await deliveries.get("d-6"))?.status).toBe("done");
    expect((await deliveries.get("d-7"))?.status).toBe("received"); // left for the next worker
    expect((await queue.job(QUEUE.trigger, jobIdForDelivery("d-7")))?.state).toBe("created");
  });

  it("reports queued, active and failed counts, and the backlog: jobs due that no worker took, and the oldest one's wait", async () => {
    await enqueue("d-8");
    await queue.sendOnce(QUEUE.trigger, job("d-9"), "later", 3600); // not due for an hour: not a backlog
    await db.query("UPDATE pgboss.job SET start_after = now() - interval '90 seconds' WHERE id = $1", [jobIdForDelivery("d-8")]);
    const stats = await queue.stats();
    expect(stats.find((s) => s.name === QUEUE.trigger)).toEqual({
      name: QUEUE.trigger,
      queued: 2,
      active: 0,
      failed: 0,
      waiting: 1,
      oldestWaitingSeconds: expect.any(Number),
    });
    expect(stats.find((s) => s.name === QUEUE.trigger)!.oldestWaitingSeconds).toBeGreaterThanOrEqual(90);
    expect(stats.find((s) => s.name === QUEUE.run)).toMatchObject({ waiting: 0, oldestWaitingSeconds: null });
  });

  it("works off a backlog job after job, not one job per polling interval", async () => {
    const ids = Array.from({ length: 6 }, (_, i) => `d-backlog-${i}`);
    for (const id of ids) await enqueue(id);
    const handled: string[] = [];
    // a polling interval of a minute: six jobs one interval apart would take five minutes
    await workTriggers(
      async (data) => {
        handled.push(data.deliveryId);
        return { outcome: "done" };
      },
      { pollingIntervalSeconds: 60 },
    );
    await eventually(async () => handled.length === ids.length, 15_000);
    expect(handled.sort()).toEqual([...ids].sort());
  });

  it("starts a fetched job only once the webhook intake lets it (a burst holds the workers)", async () => {
    let calm!: () => void;
    const waits: string[] = [];
    const intake = {
      whenCalm: () => {
        waits.push("asked");
        return new Promise<void>((resolve) => (calm = resolve));
      },
    };
    const held = new JobQueue(db, captured.log, { maintenance: false, intake });
    await held.start();
    const handled: string[] = [];
    await workTriggers(
      async (data) => {
        handled.push(data.deliveryId);
        return { outcome: "done" };
      },
      { on: held },
    );
    const heldWriter = new IntakeWriter(deliveries, new Outbox(db, deliveries, held, captured.log), captured.log);
    await heldWriter.enqueue(delivery("d-10"), { queue: QUEUE.trigger, data: job("d-10") });
    await eventually(async () => waits.length === 1);
    expect(handled).toEqual([]); // fetched, and waiting for the burst to end
    calm();
    await eventually(async () => (await deliveries.get("d-10"))?.status === "done");
    expect(handled).toEqual(["d-10"]);
    await held.stop(5000);
  });
});
