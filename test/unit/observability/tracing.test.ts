/**
 * The SDK's switch: without an endpoint nothing is registered and spans are the API's no-ops;
 * with one, spans leave over OTLP/HTTP as protobuf (the default) or JSON, and stop on shutdown.
 */
import { trace } from "@opentelemetry/api";
import nock from "nock";
import { inSpan } from "../../../src/observability/spans.js";
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

  it("is off without an endpoint: nothing registered, spans record nothing", async () => {
    expect(await startTracing({ tracesProtocol: "http/protobuf", semconvOptIn: [] }, captured.log)).toBeUndefined();
    await inSpan("phase plan", {}, async (span) => expect(span.isRecording()).toBe(false));
    expect(conventions()).toEqual({ latest: false });
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
