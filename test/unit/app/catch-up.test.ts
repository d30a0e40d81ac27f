import { CatchUp, sweepLease } from "../../../src/app/catch-up.js";
import type { Database } from "../../../src/db/database.js";
import { LeaseStore } from "../../../src/stores/leases.js";
import { describeEachDb, freshDatabase } from "../../helpers/db.js";
import type { Octokit } from "../../../src/github/issues.js";
import { eventually } from "../../helpers/eventually.js";
import { captureLog } from "../../helpers/log.js";

/**
 * The app's Octokit as far as catch-up uses it: one page of `failed` failed deliveries, and
 * redeliveries that take `postMs`, or, the n-th for which `hold(n)` gives a promise, until it settles.
 */
function fakeApp(failed: number, postMs = 0, hold: (n: number) => Promise<void> | undefined = () => undefined) {
  const calls = { lists: 0, posts: 0 };
  /** How many redeliveries had been asked for when each listing (each sweep) began. */
  const postsAtList: number[] = [];
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
        postsAtList.push(calls.posts);
        yield { data: items };
      },
    },
    request: async () => {
      const n = ++calls.posts;
      await (hold(n) ?? new Promise((r) => setTimeout(r, postMs)));
      return { status: 202 };
    },
  } as unknown as Octokit;
  return { app, calls, postsAtList };
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
    // The second sweep's first redelivery (the 6th) is held in flight until stop() has been called:
    // stop() comes while that sweep has redeliveries left, however late this test gets to call it.
    let secondSweepAsks!: () => void;
    const asking = new Promise<void>((resolve) => (secondSweepAsks = resolve));
    let answer!: () => void;
    const answered = new Promise<void>((resolve) => (answer = resolve));
    const { app, calls, postsAtList } = fakeApp(5, 60, (n) => (n === 6 ? (secondSweepAsks(), answered) : undefined));
    const catchUp = new CatchUp(async () => app, noneRecorded, captureLog().log, { lookbackHours: 72, intervalMs: 800, spacingMs: 10 });
    catchUp.start();
    await asking;
    expect(postsAtList).toEqual([0, 5]); // the first sweep (~350 ms) ran whole before the second began
    const stopping = catchUp.stop();
    answer();
    await stopping;
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

describeEachDb("catch-up with several web processes on %s", (kind) => {
  let db: Database;
  beforeEach(async () => (db = await freshDatabase(kind)));
  afterEach(() => db.close());

  it("lets one process sweep: the others skip while it sweeps and for a while after", async () => {
    const { app, calls } = fakeApp(3, 20);
    const processes = [0, 1, 2].map(
      () =>
        new CatchUp(async () => app, noneRecorded, captureLog().log, {
          lookbackHours: 72,
          spacingMs: 0,
          lease: sweepLease(new LeaseStore(db)),
        }),
    );
    const reports = await Promise.all(processes.map((p) => p.sweep()));
    expect(calls.posts).toBe(3); // each missed delivery asked for once, not once per process
    expect(reports.filter((r) => r.sweptElsewhere)).toHaveLength(2);
    expect(reports.find((r) => !r.sweptElsewhere)).toMatchObject({ redelivered: 3 });
    // just after: a second round of timers finds the lease held for the quiet minute
    expect((await Promise.all(processes.map((p) => p.sweep()))).every((r) => r.sweptElsewhere)).toBe(true);
    expect(calls.lists).toBe(1);
  });

  it("hands the lease on once its holder's time is up, and never to two holders at once", async () => {
    const leases = new LeaseStore(db);
    expect(await leases.claim("catch-up", "a", 60)).toBe(true);
    expect(await leases.claim("catch-up", "b", 60)).toBe(false);
    expect(await leases.claim("catch-up", "a", 60)).toBe(false); // its holder too waits for its time to be up
    await leases.hold("catch-up", "b", 0); // not b's to shorten
    expect(await leases.claim("catch-up", "b", 60)).toBe(false);
    await leases.hold("catch-up", "a", 0); // a process that died holding it: its time runs out
    const claims = await Promise.all(["b", "c", "d"].map((holder) => leases.claim("catch-up", holder, 60)));
    expect(claims.filter(Boolean)).toHaveLength(1);
  });
});
