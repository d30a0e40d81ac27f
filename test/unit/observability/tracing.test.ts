/**
 * The SDK's switch: without an endpoint nothing is registered and spans are the API's no-ops;
 * with one, spans leave over OTLP/HTTP as protobuf (the default) or JSON, and stop on shutdown.
 * A run span's W3C trace context, carried by a job, makes the next job's run span its child.
 */
import { trace } from "@opentelemetry/api";
import nock from "nock";
import { inSpan, runSpan, runTraceContext, type RunFacts } from "../../../src/observability/spans.js";
import { conventions } from "../../../src/observability/semconv.js";
import { startTracing } from "../../../src/observability/tracing.js";
import { captureLog } from "../../helpers/log.js";
import { otlpReceiver, type OtlpReceiver } from "../../helpers/otlp.js";

describe("tracing", () => {
  const captured = captureLog();
  let receiver: OtlpReceiver;
  beforeAll(() => {
    nock.disableNetConnect();
    nock.enableNetConnect(/^127\.0\.0\.1/);
  });
  beforeEach(async () => (receiver = await otlpReceiver()));
  afterEach(() => receiver.close());
  afterAll(() => nock.enableNetConnect());

  const facts = (step: RunFacts["step"]): RunFacts => ({ runId: "r-1", step, installationId: 1, owner: "o", repo: "r", issue: 1 });

  it("is off without an endpoint: nothing registered, spans record nothing", async () => {
    expect(await startTracing({ tracesProtocol: "http/protobuf", semconvOptIn: [] }, captured.log)).toBeUndefined();
    await inSpan("phase plan", {}, async (span) => expect(span.isRecording()).toBe(false));
    expect(conventions()).toEqual({ latest: false });
    // no trace context for a job to carry
    expect(await runSpan(facts("gate"), async () => ({ outcome: "done", trace: runTraceContext() }))).toEqual({ outcome: "done" });
  });

  it("carries a run span's trace context to the next run span, which becomes its child; a malformed one starts a new trace", async () => {
    const tracing = (await startTracing({ tracesEndpoint: receiver.url, tracesProtocol: "http/json", semconvOptIn: [] }, captured.log))!;
    expect(runTraceContext()).toBeUndefined(); // outside a run span
    const { trace: carried } = await runSpan(facts("gate"), async () => ({ outcome: "done", trace: runTraceContext() }));
    expect(carried).toEqual({ traceparent: expect.stringMatching(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/) });
    await runSpan({ ...facts("carry_out"), parent: carried }, async () => ({ outcome: "done" }));
    await runSpan({ ...facts("carry_out"), restart: 1, parent: { traceparent: "00-zz-00-01" } }, async () => ({ outcome: "done" }));
    await tracing.shutdown();
    const [gate, carryOut, orphan] = receiver.spans;
    expect(carried!.traceparent).toBe(`00-${gate!.traceId}-${gate!.spanId}-01`);
    expect([gate!.parentSpanId, carryOut!.parentSpanId, orphan!.parentSpanId]).toEqual(["", gate!.spanId, ""]);
    expect(carryOut!.traceId).toBe(gate!.traceId);
    expect(orphan!.traceId).not.toBe(gate!.traceId);
  });

  it("exports protobuf (http/protobuf, the default), follows the opt-in while it runs, and unregisters on shutdown", async () => {
    const semconvOptIn = ["gen_ai_latest_experimental"];
    const tracing = (await startTracing({ tracesEndpoint: receiver.url, tracesProtocol: "http/protobuf", semconvOptIn }, captured.log))!;
    expect(conventions()).toEqual({ latest: true });
    await inSpan("phase plan", {}, async (span) => expect(span.isRecording()).toBe(true));
    await tracing.shutdown();
    expect(receiver.contentTypes).toEqual(["application/x-protobuf"]);
    expect(receiver.bodies[0]!.includes(Buffer.from("phase plan"))).toBe(true);
    expect(conventions()).toEqual({ latest: false });
    expect(trace.getTracer("after").startSpan("s").isRecording()).toBe(false);
  });

  it("exports JSON with http/json, as the receiver decodes it, a failed span marked", async () => {
    const tracing = (await startTracing({ tracesEndpoint: receiver.url, tracesProtocol: "http/json", semconvOptIn: [] }, captured.log))!;
    await expect(
      inSpan("run", {}, async () => inSpan("phase execute", {}, async () => Promise.reject(new RangeError("no")))),
    ).rejects.toThrow("no");
    await tracing.shutdown();
    const [child, root] = receiver.spans;
    expect([root!.name, child!.name]).toEqual(["run", "phase execute"]);
    expect(child!.parentSpanId).toBe(root!.spanId);
    expect(child!.attributes).toEqual({ "error.type": "RangeError" }); // the class, never the message
    expect(child!.status).toBe(2);
  });
});
