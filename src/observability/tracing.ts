/**
 * The OpenTelemetry SDK, started by `tollgate start` and `tollgate worker` when an OTLP endpoint
 * is set (OTEL_EXPORTER_OTLP_TRACES_ENDPOINT or OTEL_EXPORTER_OTLP_ENDPOINT). Without one the SDK
 * is not even loaded: the spans of src/observability/spans.ts stay the API's no-ops.
 *
 * Spans leave in batches over OTLP/HTTP, as protobuf or JSON per OTEL_EXPORTER_OTLP_PROTOCOL
 * (http/protobuf by default, as the OTLP exporter specification says). The exporter reads its
 * other standard variables itself (OTEL_EXPORTER_OTLP_HEADERS for a collector's credentials,
 * the timeout, the compression); OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES name the service
 * (`tollgate` otherwise). The context manager is AsyncLocalStorage, so a span's children are what
 * runs inside it, across awaits. The propagator is the W3C trace context's: a run job carries the
 * gate's trace on in it, so a run is one trace even when another process carries it out.
 */
import { context, diag, DiagLogLevel, propagation, trace, type DiagLogger } from "@opentelemetry/api";
import type { Logger } from "pino";
import type { AppEnv } from "../config/env.js";
import { maskSecrets } from "../safety/secrets.js";
import { followConventions, semconv } from "./semconv.js";

export interface Tracing {
  /** Exports the spans that ended so far. */
  flush(): Promise<void>;
  /** Exports what is left and unregisters the SDK. */
  shutdown(): Promise<void>;
}

export type TracingSettings = Pick<AppEnv["telemetry"], "tracesEndpoint" | "tracesProtocol" | "semconvOptIn">;

/** Starts exporting traces, or does nothing (undefined) without an endpoint. */
export async function startTracing(settings: TracingSettings, log: Logger): Promise<Tracing | undefined> {
  const url = settings.tracesEndpoint;
  if (!url) return undefined;
  const [{ NodeTracerProvider, BatchSpanProcessor }, resources, { ATTR_SERVICE_NAME }, { W3CTraceContextPropagator }] = await Promise.all([
    import("@opentelemetry/sdk-trace-node"),
    import("@opentelemetry/resources"),
    import("@opentelemetry/semantic-conventions"),
    import("@opentelemetry/core"),
  ]);
  const { OTLPTraceExporter } =
    settings.tracesProtocol === "http/json"
      ? await import("@opentelemetry/exporter-trace-otlp-http")
      : await import("@opentelemetry/exporter-trace-otlp-proto");
  // the environment's resource attributes (OTEL_SERVICE_NAME…) over Tollgate's name over the SDK's
  const resource = resources
    .defaultResource()
    .merge(resources.resourceFromAttributes({ [ATTR_SERVICE_NAME]: "tollgate" }))
    .merge(resources.detectResources({ detectors: [resources.envDetector] }));
  const provider = new NodeTracerProvider({ resource, spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url }))] });
  diag.setLogger(diagLogger(log.child({ name: "opentelemetry" })), DiagLogLevel.WARN);
  // A run job carries its gate's `traceparent` (src/observability/spans.ts `runTraceContext`):
  // the W3C trace context, and only it, whatever the SDK's default propagators become.
  provider.register({ propagator: new W3CTraceContextPropagator() });
  const conventions = semconv(settings.semconvOptIn);
  followConventions(conventions);
  log.info(
    { endpoint: withoutCredentials(url), protocol: settings.tracesProtocol, semconv: conventions },
    "exporting OpenTelemetry traces",
  );
  return {
    flush: () => provider.forceFlush(),
    async shutdown() {
      try {
        await provider.shutdown();
      } finally {
        trace.disable();
        context.disable();
        propagation.disable();
        diag.disable();
        followConventions(semconv());
      }
    },
  };
}

/** The SDK's own warnings (an export that failed) in Tollgate's log, masked. */
function diagLogger(log: Logger): DiagLogger {
  const text = (message: string, args: unknown[]) => maskSecrets([message, ...args.map((a) => String(a))].join(" "));
  const ignore = () => undefined;
  return {
    error: (message, ...args) => log.error(text(message, args)),
    warn: (message, ...args) => log.warn(text(message, args)),
    info: ignore,
    debug: ignore,
    verbose: ignore,
  };
}

function withoutCredentials(url: string): string {
  const u = new URL(url);
  u.username = "";
  u.password = "";
  return u.toString();
}
