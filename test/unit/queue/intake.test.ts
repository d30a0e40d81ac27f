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

  it("never holds a job longer than maxDeferMs, however long the burst lasts", async () => {
    const c = clock();
    const intake = new IntakePressure({ busyPerSecond: 40, windowMs: 250, maxDeferMs: 1_000, now: c.now });
    // deliveries keep arriving, 100 a second, while the job waits
    const sleep = async (ms: number) => {
      for (let elapsed = 0; elapsed < ms; elapsed += 10) {
        intake.arrived();
        c.advance(Math.min(10, ms - elapsed));
      }
    };
    for (let i = 0; i < 10; i++) intake.arrived();
    await intake.whenCalm(sleep);
    expect(intake.busy()).toBe(true); // still a burst: the job goes anyway
    expect(intake.stats().deferredMs).toBe(1_000);
  });
});
