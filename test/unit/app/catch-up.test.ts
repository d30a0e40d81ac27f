import { CatchUp } from "../../../src/app/catch-up.js";
import type { Octokit } from "../../../src/github/issues.js";
import { eventually } from "../../helpers/eventually.js";
import { captureLog } from "../../helpers/log.js";

/** The app's Octokit as far as catch-up uses it: one page of `failed` failed deliveries, and redeliveries that take `postMs`. */
function fakeApp(failed: number, postMs = 0) {
  const calls = { lists: 0, posts: 0 };
  const items = Array.from({ length: failed }, (_, i) => ({
    id: i + 1,
    guid: `g${i}`,
    delivered_at: new Date(Date.now() - 60_000 * (i + 1)).toISOString(),
    redelivery: false,
    status: "timed out",
    status_code: 0,
    event: "issues",
    action: "labeled",
  }));
  const app = {
    paginate: {
      iterator: async function* () {
        calls.lists++;
        yield { data: items };
      },
    },
    request: async () => {
      calls.posts++;
      await new Promise((r) => setTimeout(r, postMs));
      return { status: 202 };
    },
  } as unknown as Octokit;
  return { app, calls };
}
const noneRecorded = { recorded: async () => new Set<string>() };

describe("CatchUp", () => {
  it("does nothing at all when TOLLGATE_CATCHUP_HOURS is 0", async () => {
    const { app, calls } = fakeApp(2);
    const log = captureLog();
    const catchUp = new CatchUp(async () => app, noneRecorded, log.log, { lookbackHours: 0 });
    catchUp.start();
    await catchUp.stop();
    expect(calls).toEqual({ lists: 0, posts: 0 });
    expect(catchUp.report()).toBeUndefined();
    expect(log.text()).toContain("catch-up of missed webhook deliveries is off");
  });

  it("sweeps at start and then every interval, never two sweeps at once, and stops between redeliveries", async () => {
    const { app, calls } = fakeApp(5, 60);
    const catchUp = new CatchUp(async () => app, noneRecorded, captureLog().log, { lookbackHours: 72, intervalMs: 800, spacingMs: 10 });
    catchUp.start();
    await eventually(async () => calls.lists >= 2, 5000); // the first sweep (~350 ms) ran whole before the second began
    expect(calls.posts).toBeGreaterThanOrEqual(5);
    await catchUp.stop();
    const { lists, posts } = calls;
    expect(posts).toBeLessThan(10); // the second sweep was cut short
    await new Promise((r) => setTimeout(r, 900));
    expect(calls).toEqual({ lists, posts }); // and no timer is left
    expect(catchUp.report()).toMatchObject({ redelivered: posts - 5, failed: 0 }); // the last sweep, as far as it went
  });

  it("caps the redeliveries of one sweep", async () => {
    const { app, calls } = fakeApp(7);
    const catchUp = new CatchUp(async () => app, noneRecorded, captureLog().log, { lookbackHours: 72, maxRedeliveries: 3, spacingMs: 0 });
    expect(await catchUp.sweep()).toMatchObject({ redelivered: 3, skipped: 4 });
    expect(calls.posts).toBe(3);
  });

  it("does not let a GitHub that never answers hold shutdown: stop() waits for a sweep at most a second", async () => {
    let asked = 0;
    // the app's token request hangs, as a request to an unreachable GitHub does while Octokit retries it
    const hanging = () => {
      asked++;
      return new Promise<Octokit>(() => undefined);
    };
    const catchUp = new CatchUp(hanging, noneRecorded, captureLog().log, { lookbackHours: 72 });
    catchUp.start();
    await eventually(async () => asked === 1);
    const t0 = Date.now();
    await catchUp.stop();
    const waited = Date.now() - t0;
    expect(waited).toBeGreaterThanOrEqual(900);
    expect(waited).toBeLessThan(5_000);
  });
});
