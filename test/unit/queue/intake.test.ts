import { IntakePressure } from "../../../src/queue/intake.js";

/** A clock the test moves, and a sleep that moves it instead of waiting. */
function clock(start = 1_000_000) {
  let t = start;
  const slept: number[] = [];
  return {
    now: () => t,
    advance: (ms: number) => (t += ms),
    sleep: async (ms: number) => {
      slept.push(ms);
      t += ms;
    },
    slept,
  };
}

describe("the webhook intake's pressure", () => {
  it("is a burst from busyPerSecond deliveries over the window, and not below", () => {
    const c = clock();
    const intake = new IntakePressure({ busyPerSecond: 40, windowMs: 250, now: c.now }); // 10 in 250 ms
    for (let i = 0; i < 9; i++) {
      intake.arrived();
      c.advance(25);
    }
    expect(intake.busy()).toBe(false); // 9 in the window
    intake.arrived();
    expect(intake.busy()).toBe(true); // the 10th, 225 ms after the first
    c.advance(26);
    expect(intake.busy()).toBe(false); // the first of the ten is now 251 ms old
  });

  it("lets a job start at once when there is no burst", async () => {
    const c = clock();
    const intake = new IntakePressure({ busyPerSecond: 40, windowMs: 250, now: c.now });
    intake.arrived();
    await intake.whenCalm(c.sleep);
    expect(c.slept).toEqual([]);
    expect(intake.stats()).toEqual({ deliveries: 1, deferredJobs: 0, deferredMs: 0 });
  });

  it("holds a job until the burst ends", async () => {
    const c = clock();
    const intake = new IntakePressure({ busyPerSecond: 40, windowMs: 250, now: c.now });
    for (let i = 0; i < 10; i++) intake.arrived(); // ten at once
    await intake.whenCalm(c.sleep);
    expect(intake.busy()).toBe(false);
    // it waited in steps of half a window, until the ten were a window old
    expect(c.slept).toEqual([125, 125]);
    expect(intake.stats()).toMatchObject({ deferredJobs: 1, deferredMs: 250 });
  });

  it("lets one waiting job start every maxDeferMs while a burst never lets up", async () => {
    const c = clock();
    const intake = new IntakePressure({ busyPerSecond: 40, windowMs: 250, maxDeferMs: 1_000, now: c.now });
    // timers the test fires in order of when they are due, while deliveries arrive 100 a second
    const timers: Array<{ due: number; fire: () => void }> = [];
    const sleep = (ms: number) => new Promise<void>((fire) => timers.push({ due: c.now() + ms, fire }));
    for (let i = 0; i < 10; i++) intake.arrived(); // the burst begins
    const burstBegan = c.now();
    const startedAt: number[] = [];
    // three workers, each with a job fetched, ask at once
    const all = Promise.all([0, 1, 2].map(() => intake.whenCalm(sleep).then(() => startedAt.push(c.now() - burstBegan))));
    for (;;) {
      await new Promise((resolve) => setImmediate(resolve)); // let the waiting jobs look again
      if (startedAt.length === 3) break;
      timers.sort((a, b) => a.due - b.due);
      const next = timers.shift()!;
      while (c.now() < next.due) {
        intake.arrived();
        c.advance(Math.min(10, next.due - c.now()));
      }
      next.fire();
    }
    await all;
    expect(intake.busy()).toBe(true); // still a burst: the jobs went anyway, one a second
    expect(startedAt).toEqual([1_000, 2_000, 3_000]);
  });
});
