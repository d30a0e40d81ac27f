/** The OpenTelemetry part of the environment: where traces go, in which encoding, which conventions. */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { loadEnv } from "../../../src/config/env.js";

// an empty folder: a stray .pem or .env in the working directory would be read as the app's
const cwd = mkdtempSync(path.join(tmpdir(), "tollgate-env-"));
const env = (vars: Record<string, string>) => loadEnv({ ...vars }, cwd).telemetry;

describe("the telemetry settings", () => {
  it("are off by default: no endpoint, protobuf as the OTLP specification's default, the default conventions", () => {
    expect(env({})).toEqual({ tracesEndpoint: undefined, tracesProtocol: "http/protobuf", semconvOptIn: [], workerMetricsPort: undefined });
  });

  it("take the traces endpoint as it is, and add /v1/traces to the base endpoint", () => {
    expect(env({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "http://collector:4318/custom" }).tracesEndpoint).toBe("http://collector:4318/custom");
    expect(env({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318" }).tracesEndpoint).toBe("http://collector:4318/v1/traces");
    expect(env({ OTEL_EXPORTER_OTLP_ENDPOINT: "https://otel.example.com/otlp/" }).tracesEndpoint).toBe(
      "https://otel.example.com/otlp/v1/traces",
    );
    expect(
      env({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://base:4318", OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "http://traces:4318/v1/traces" })
        .tracesEndpoint,
    ).toBe("http://traces:4318/v1/traces");
  });

  it("read the protocol, the traces' own first, and refuse one Tollgate cannot speak", () => {
    expect(env({ OTEL_EXPORTER_OTLP_PROTOCOL: "http/json" }).tracesProtocol).toBe("http/json");
    expect(env({ OTEL_EXPORTER_OTLP_PROTOCOL: "http/json", OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: "http/protobuf" }).tracesProtocol).toBe(
      "http/protobuf",
    );
    expect(() => env({ OTEL_EXPORTER_OTLP_PROTOCOL: "grpc" })).toThrow("OTEL_EXPORTER_OTLP_PROTOCOL must be http/protobuf or http/json");
  });

  it("split OTEL_SEMCONV_STABILITY_OPT_IN", () => {
    expect(env({ OTEL_SEMCONV_STABILITY_OPT_IN: "http, gen_ai_latest_experimental" }).semconvOptIn).toEqual([
      "http",
      "gen_ai_latest_experimental",
    ]);
  });
});
