/**
 * A run taken over after its worker stopped resumes in a new job, which is the old job's data
 * with the new restart number: the gate's trace context goes along, so the run stays one trace.
 */
import type { JobQueue } from "../../../src/queue/queue.js";
import type { RunStore } from "../../../src/stores/runs.js";
import { jobIdForRun } from "../../../src/queue/job-id.js";
import { QUEUE } from "../../../src/queue/jobs.js";
import { sweepStalledRuns } from "../../../src/jobs/run-sweep.js";
import { captureLog } from "../../helpers/log.js";

const RUN = "0b6f1c2e-5a7d-4c1e-9f3a-2d8e6b4a1c90";
const TRACE = { traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01" };

describe("sweepStalledRuns", () => {
  const captured = captureLog();

  it.each([
    ["with the gate's trace context", { trace: TRACE }],
    ["without one", {}],
  ])("resumes a stalled run in a new job, %s", async (_, extra) => {
    const previous = { runId: RUN, deliveryId: "d-1", installationId: 1, restart: 0, ...extra };
    const sent: Array<{ name: string; data: unknown; id: string }> = [];
    const runs = { takeOverStale: async () => [{ id: RUN, restarts: 1 }] } as unknown as RunStore;
    const queue = {
      job: async (name: string, id: string) => (name === QUEUE.run && id === jobIdForRun(RUN, 0) ? { data: previous } : undefined),
      send: async (name: string, data: unknown, id: string) => void sent.push({ name, data, id }),
    } as unknown as JobQueue;
    expect(await sweepStalledRuns({ runs, queue, log: captured.log }, 45)).toEqual([RUN]);
    expect(sent).toEqual([{ name: QUEUE.run, data: { ...previous, restart: 1 }, id: jobIdForRun(RUN, 1) }]);
  });
});
