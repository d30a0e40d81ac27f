/**
 * An OTLP/HTTP trace receiver on loopback, as a collector would be: it takes what the exporter
 * posts to /v1/traces in OTLP's JSON encoding and keeps the spans, attributes decoded.
 */
import { createServer } from "node:http";

export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  /** Empty for a root span. */
  parentSpanId: string;
  name: string;
  /** OTLP's SpanKind: 1 internal, 2 server, 3 client. */
  kind: number;
  attributes: Record<string, unknown>;
  /** OTLP's status code: 0 unset, 1 ok, 2 error. */
  status: number;
  startNanos: bigint;
  endNanos: bigint;
  /** The resource's attributes (service.name…). */
  resource: Record<string, unknown>;
}

export interface OtlpReceiver {
  /** The traces endpoint, as OTEL_EXPORTER_OTLP_TRACES_ENDPOINT would give it. */
  url: string;
  spans: ReceivedSpan[];
  /** The content type and body of every export request. */
  contentTypes: string[];
  bodies: Buffer[];
  close(): Promise<void>;
}

interface AnyValue {
  stringValue?: string;
  intValue?: number | string;
  doubleValue?: number;
  boolValue?: boolean;
  arrayValue?: { values?: AnyValue[] };
}
type KeyValue = { key: string; value: AnyValue };

function decode(v: AnyValue): unknown {
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.intValue !== undefined) return Number(v.intValue); // int64 may come as a JSON string
  if (v.doubleValue !== undefined) return v.doubleValue;
  if (v.boolValue !== undefined) return v.boolValue;
  if (v.arrayValue !== undefined) return (v.arrayValue.values ?? []).map(decode);
  return undefined;
}

const attributes = (list: KeyValue[] | undefined) => Object.fromEntries((list ?? []).map((a) => [a.key, decode(a.value)]));

interface ExportRequest {
  resourceSpans?: Array<{
    resource?: { attributes?: KeyValue[] };
    scopeSpans?: Array<{
      spans?: Array<{
        traceId: string;
        spanId: string;
        parentSpanId?: string;
        name: string;
        kind: number;
        attributes?: KeyValue[];
        status?: { code?: number };
        startTimeUnixNano: string | number;
        endTimeUnixNano: string | number;
      }>;
    }>;
  }>;
}

export async function otlpReceiver(): Promise<OtlpReceiver> {
  const spans: ReceivedSpan[] = [];
  const contentTypes: string[] = [];
  const bodies: Buffer[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      contentTypes.push(String(req.headers["content-type"]));
      if (req.method !== "POST" || req.url !== "/v1/traces") return void res.writeHead(404).end();
      bodies.push(Buffer.concat(chunks));
      // protobuf is only counted; JSON is read
      if (!String(req.headers["content-type"]).startsWith("application/json")) return void res.writeHead(200).end();
      const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as ExportRequest;
      for (const rs of body.resourceSpans ?? []) {
        const resource = attributes(rs.resource?.attributes);
        for (const ss of rs.scopeSpans ?? [])
          for (const s of ss.spans ?? [])
            spans.push({
              traceId: s.traceId,
              spanId: s.spanId,
              parentSpanId: s.parentSpanId ?? "",
              name: s.name,
              kind: s.kind,
              attributes: attributes(s.attributes),
              status: s.status?.code ?? 0,
              startNanos: BigInt(s.startTimeUnixNano),
              endNanos: BigInt(s.endTimeUnixNano),
              resource,
            });
      }
      res.writeHead(200, { "content-type": "application/json" }).end("{}");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}/v1/traces`,
    spans,
    contentTypes,
    bodies,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
