/**
 * Restarts are capped: a run whose worker stopped once is resumed; one whose worker stopped twice
 * is not (what stopped the worker would stop the next one too). Its new job only fails it with
 * the reason on the issue (src/pipeline/carry-out.ts); when that job stops as well, or there is no
 * job to resume from, the sweep fails the run in its row. On both databases.
 */
import { randomUUID } from "node:crypto";
import type { Database } from "../../../src/db/database.js";
import { sweepStalledRuns } from "../../../src/jobs/run-sweep.js";
import { jobIdForRun } from "../../../src/queue/job-id.js";
import type { JobQueue } from "../../../src/queue/queue.js";
import { MAX_RESTARTS, notResumed, RunStore, STOPPED_TWICE } from "../../../src/stores/runs.js";
import { describeEachDb, freshDatabase } from "../../helpers/db.js";
import { captureLog } from "../../helpers/log.js";

describeEachDb("restarts of a run on %s", (kind) => {
  let db: Database;
  let runs: RunStore;
  const sent: Array<{ id: string; data: { restart: number } }> = [];
  /** The run queue: the jobs sent so far, and the run's first job. */
  const queue = {
    job: async (_: string, id: string) => sent.find((j) => j.id === id) ?? (id === first?.id ? first : undefined),
    send: async (_: string, data: { restart: number }, id: string) => void sent.push({ id, data }),
  } as unknown as JobQueue;
  let first: { id: string; data: Record<string, unknown> } | undefined;

  beforeEach(async () => {
    db = await freshDatabase(kind);
    runs = new RunStore(db);
    sent.length = 0;
  });
  afterEach(() => db.close());

  /** The worker holding restart `restart` takes the run, beats once, and dies: its heartbeat goes stale. */
  async function workerDies(id: string, restart: number): Promise<void> {
    expect(await runs.claim(id, randomUUID(), restart)).toBeDefined();
    await db.query("UPDATE runs SET heartbeat_at = now() - interval '1 hour' WHERE id = $1", [id]);
  }
  let deliveries = 0;
  /** A run of the app's, past its gate, being carried out. */
  const appRun = async () => {
    const deliveryId = `d-${++deliveries}`;
    await db.query("INSERT INTO deliveries (id, event) VALUES ($1, 'issues')", [deliveryId]);
    const created = await runs.create({
      deliveryId,
      installationId: 7,
      repositoryId: 42,
      owner: "acme",
      repo: "widgets",
      issueNumber: deliveries,
      budgetUsdMicros: 1_000_000,
    });
    await runs.setStatus(created.run.id, "running");
    return created.run.id;
  };
  const row = async (id: string) =>
    (
      await db.query<{ status: string; restarts: number; error: string | null }>("SELECT status, restarts, error FROM runs WHERE id = $1", [
        id,
      ])
    ).rows[0]!;

  it("resumes a run once, then sends a job that only fails it, then fails it in its row", async () => {
    const captured = captureLog();
    const sweep = () => sweepStalledRuns({ runs, queue, log: captured.log }, 45);
    const id = await appRun();
    first = { id: jobIdForRun(id, 0), data: { runId: id, restart: 0 } };
    expect(MAX_RESTARTS).toBe(1);

    await workerDies(id, 0);
    expect(await sweep()).toEqual([id]);
    expect(sent.map((j) => [j.id, j.data.restart])).toEqual([[jobIdForRun(id, 1), 1]]);
    expect(notResumed(1)).toBeUndefined(); // restart 1 carries the run out
    expect(await row(id)).toMatchObject({ status: "running", restarts: 1 });

    await workerDies(id, 1);
    expect(await sweep()).toEqual([id]);
    expect(sent.map((j) => j.data.restart)).toEqual([1, 2]);
    expect(notResumed(2)).toBe(STOPPED_TWICE); // restart 2 only fails it, with the reason on the issue
    expect(captured.lines().find((l) => l.level === 50)?.msg).toBe(`run ${id}: ${STOPPED_TWICE} (a new job fails it on the issue)`);

    // that job's worker stopped too: no third job, the run is failed with the reason
    await workerDies(id, 2);
    expect(await sweep()).toEqual([id]);
    expect(sent).toHaveLength(2);
    expect(await row(id)).toEqual({ status: "failed", restarts: 3, error: STOPPED_TWICE });
    expect(await sweep()).toEqual([]); // and never taken over again
  });

  it("fails a run whose worker stopped twice in its row when there is no job to send", async () => {
    const captured = captureLog();
    const id = await appRun();
    first = undefined;
    await runs.claim(id, randomUUID(), 0);
    await db.query("UPDATE runs SET restarts = 1 WHERE id = $1", [id]);
    await workerDies(id, 1);
    expect(await sweepStalledRuns({ runs, queue, log: captured.log }, 45)).toEqual([id]);
    expect(sent).toEqual([]);
    expect(await row(id)).toEqual({ status: "failed", restarts: 2, error: STOPPED_TWICE });
  });
});
