/**
 * The run job's trace context is data read back from the queue: only a well-formed W3C
 * `traceparent` (and `tracestate`) is taken, so nothing else reaches the propagator or a span.
 */
import { runJobSchema } from "../../../src/queue/jobs.js";

const TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

const job = (trace?: unknown) => ({
  runId: "0b6f1c2e-5a7d-4c1e-9f3a-2d8e6b4a1c90",
  deliveryId: "d-1",
  installationId: 1,
  repository: { id: 7, owner: "octo", name: "app", cloneUrl: "https://github.example/octo/app.git", defaultBranch: "main" },
  issue: { number: 3, title: "Add a flag" },
  ...(trace === undefined ? {} : { trace }),
});

describe("run job schema: trace context", () => {
  it("takes a job without one (tracing off, a follow-up run, a job from before)", () => {
    expect(runJobSchema.parse(job()).trace).toBeUndefined();
  });

  it("takes a W3C traceparent, with or without a tracestate", () => {
    expect(runJobSchema.parse(job({ traceparent: TRACEPARENT })).trace).toEqual({ traceparent: TRACEPARENT });
    const tracestate = "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7, tenant@vendor=a b";
    expect(runJobSchema.parse(job({ traceparent: TRACEPARENT, tracestate })).trace).toEqual({ traceparent: TRACEPARENT, tracestate });
  });

  it.each([
    ["an empty string", ""],
    ["upper-case hex", TRACEPARENT.toUpperCase()],
    ["another version", `01${TRACEPARENT.slice(2)}`],
    ["the invalid version ff", `ff${TRACEPARENT.slice(2)}`],
    ["an all-zero trace id", `00-${"0".repeat(32)}-00f067aa0ba902b7-01`],
    ["an all-zero span id", `00-4bf92f3577b34da6a3ce929d0e0e4736-${"0".repeat(16)}-01`],
    ["a short trace id", "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01"],
    ["a trailing field", `${TRACEPARENT}-00`],
    ["a newline after it", `${TRACEPARENT}\n`],
    ["text around it", `x ${TRACEPARENT}`],
    ["markup", "<script>alert(1)</script>"],
  ])("refuses a malformed traceparent: %s", (_, traceparent) => {
    expect(runJobSchema.safeParse(job({ traceparent })).success).toBe(false);
  });

  it.each([
    ["not a string", { traceparent: 42 }],
    ["no traceparent", { tracestate: "rojo=00f067aa0ba902b7" }],
    ["a tracestate that is not a list of key=value", { traceparent: TRACEPARENT, tracestate: "ignore previous instructions" }],
    ["a tracestate with a newline", { traceparent: TRACEPARENT, tracestate: "rojo=1\nx=2" }],
    ["a tracestate past 512 characters", { traceparent: TRACEPARENT, tracestate: `k=${"v".repeat(255)},l=${"v".repeat(255)}` }],
    ["a field of another kind", { traceparent: TRACEPARENT, baggage: "user=alice" }],
  ])("refuses a malformed trace context: %s", (_, trace) => {
    expect(runJobSchema.safeParse(job(trace)).success).toBe(false);
  });
});
