import type { DeliveryAttempt } from "../../../src/github/hook-deliveries.js";
import { failedEvents, MAX_FAILED_REDELIVERIES, pastWindow, planCatchUp } from "../../../src/webhooks/catch-up.js";

const NOW = Date.parse("2025-06-01T12:00:00Z");
const since = new Date(NOW - 72 * 3_600_000);
let nextId = 1;
/** An attempt `minutesAgo` before NOW; failed (502) unless a status code says otherwise. */
const attempt = (guid: string, minutesAgo: number, more: Partial<DeliveryAttempt> = {}): DeliveryAttempt => ({
  id: nextId++,
  guid,
  deliveredAt: new Date(NOW - minutesAgo * 60_000),
  redelivery: false,
  status: "Invalid HTTP Response: 502",
  statusCode: 502,
  event: "issues",
  action: "labeled",
  ...more,
});
const OK = { status: "OK", statusCode: 200 };

describe("planCatchUp", () => {
  it("redelivers a failed event Tollgate handles and never recorded, naming its newest attempt", () => {
    const first = attempt("g1", 30, { statusCode: 0, status: "timed out" });
    const again = attempt("g1", 10, { redelivery: true, statusCode: 503 });
    const plan = planCatchUp([first, again], new Set(), since, 100);
    expect(plan.redeliver).toEqual([again]);
  });

  it("leaves alone an event with any successful attempt, one recorded, another event, or one too old", () => {
    const attempts = [
      attempt("done", 20),
      attempt("done", 10, { ...OK, redelivery: true }),
      attempt("recorded", 20, { event: "issue_comment", action: "created" }),
      attempt("other", 20, { event: "push", action: null }),
      attempt("old", 73 * 60),
      attempt("ok", 5, OK),
    ];
    const plan = planCatchUp(attempts, new Set(["recorded"]), since, 100);
    expect(plan.redeliver).toEqual([]);
    expect(plan.skipped).toEqual({ recorded: 1, otherEvent: 1, gaveUp: 0, overLimit: 0 });
  });

  it("counts an event's age by its newest attempt: an old event redelivered inside the window may be asked for again", () => {
    const plan = planCatchUp([attempt("g", 80 * 60), attempt("g", 60, { redelivery: true })], new Set(), since, 100);
    expect(plan.redeliver.map((a) => a.guid)).toEqual(["g"]);
  });

  it(`gives up on an event after ${MAX_FAILED_REDELIVERIES} failed redeliveries`, () => {
    const tries = [
      attempt("poison", 60),
      ...Array.from({ length: MAX_FAILED_REDELIVERIES }, (_, i) => attempt("poison", 50 - i, { redelivery: true })),
    ];
    expect(planCatchUp(tries, new Set(), since, 100)).toMatchObject({ redeliver: [], skipped: { gaveUp: 1 } });
  });

  it("asks for at most `limit` events a sweep, the newest first, and counts the rest", () => {
    const attempts = [attempt("a", 30), attempt("b", 20), attempt("c", 10)];
    const plan = planCatchUp(attempts, new Set(), since, 2);
    expect(plan.redeliver.map((a) => a.guid)).toEqual(["c", "b"]);
    expect(plan.skipped.overLimit).toBe(1);
  });

  it("handles the events Tollgate subscribes to, every action of them", () => {
    const events = ["issues", "issue_comment", "pull_request", "pull_request_review", "pull_request_review_comment", "installation"];
    const plan = planCatchUp(
      events.map((event, i) => attempt(event, i + 1, { event })),
      new Set(),
      since,
      100,
    );
    expect(plan.redeliver.map((a) => a.event).sort()).toEqual(events.slice(0, 5).sort());
  });
});

describe("the window", () => {
  it("failedEvents keys the unfinished guids in the window", () => {
    expect([...failedEvents([attempt("x", 1), attempt("y", 2, OK), attempt("z", 80 * 60)], since).keys()]).toEqual(["x"]);
  });

  it("pastWindow: a page whose oldest attempt is before the window ends the listing, and so does an empty page", () => {
    expect(pastWindow([attempt("a", 1), attempt("b", 60)], since)).toBe(false);
    expect(pastWindow([attempt("a", 1), attempt("b", 80 * 60)], since)).toBe(true);
    expect(pastWindow([], since)).toBe(true);
  });
});
