/**
 * The environment, parsed once at start. This is the only module that reads `process.env`:
 * everything else receives the typed `AppEnv` it returns.
 */
import { createPrivateKey } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { maskSecrets } from "../safety/secrets.js";
import { getPrivateKey } from "@probot/get-private-key";
import { z } from "zod";
import { FinalError } from "../errors.js";
import { priceListSchema, type ModelPrice } from "./price-list.js";
import { parseSetupEnv } from "./setup-env.js";

/** A configuration problem the operator must fix; `message` is the one line to print. */
export class EnvError extends FinalError {
  override name = "EnvError";
}

const optionalString = z
  .string()
  .trim()
  .transform((s) => (s === "" ? undefined : s))
  .optional();

const postgresUrl = z
  .string()
  .trim()
  .refine((value) => {
    try {
      const url = new URL(value);
      return (url.protocol === "postgres:" || url.protocol === "postgresql:") && url.hostname !== "";
    } catch {
      return false;
    }
  }, "must be a URL like postgres://user:password@host:5432/database");

const httpUrl = z
  .string()
  .trim()
  .refine((value) => {
    try {
      const { protocol } = new URL(value);
      return protocol === "http:" || protocol === "https:";
    } catch {
      return false;
    }
  }, "must be an http(s) URL");

/** OTLP over HTTP: protobuf (the specification's default) or JSON; gRPC is not built in. */
const otlpProtocol = z
  .string()
  .trim()
  .transform((s) => (s === "" ? undefined : s))
  .pipe(z.enum(["http/protobuf", "http/json"], { message: "must be http/protobuf or http/json (gRPC is not supported)" }).optional())
  .optional();

const positiveInt = (what: string) =>
  z
    .string()
    .trim()
    .regex(/^[0-9]+$/, `must be ${what}`)
    .transform(Number)
    .refine((n) => Number.isSafeInteger(n) && n > 0, `must be ${what}`);

function dollars(what: string) {
  return z
    .string()
    .trim()
    .regex(/^\d+(\.\d{1,2})?$/, `must be ${what}, e.g. 50 or 12.50`)
    .transform(Number)
    .refine((n) => n > 0 && n <= 1_000_000, `must be ${what} between 0.01 and 1000000`);
}

/** Dollars in the micro-dollars every cap and cost is counted in (as src/llm/money.ts's `usdToMicros`). */
const micros = (usd: number) => Math.round(usd * 1_000_000);

const schema = z.object({
  APP_ID: positiveInt("the numeric App ID shown on the GitHub App's settings page").optional(),
  WEBHOOK_SECRET: optionalString,
  GHE_HOST: z
    .string()
    .trim()
    .regex(/^[A-Za-z0-9.-]+(:[0-9]+)?$/, "must be a host name such as github.example.com (no scheme, no path)")
    .optional(),
  GHE_PROTOCOL: z.enum(["http", "https"]).optional(),
  PORT: z
    .string()
    .trim()
    .regex(/^[0-9]+$/, "must be a port number")
    .transform(Number)
    .refine((n) => n >= 1 && n <= 65535, "must be a port number between 1 and 65535")
    .default(3000),
  HOST: optionalString,
  WEBHOOK_PATH: optionalString,
  WEBHOOK_PROXY_URL: httpUrl.optional(),
  LOG_LEVEL: z.enum(["trace", "debug", "info", "warn", "error", "fatal", "silent"]).default("info"),
  LOG_FORMAT: z.enum(["json", "pretty"]).optional(),
  NODE_ENV: optionalString,
  ANTHROPIC_API_KEY: optionalString,
  ANTHROPIC_BASE_URL: httpUrl.optional(),
  DATABASE_URL: postgresUrl.optional(),
  TOLLGATE_DATA_DIR: optionalString,
  TOLLGATE_WORKER_CONCURRENCY: positiveInt("a positive whole number").default(2),
  TOLLGATE_DB_CONNECT_ATTEMPTS: positiveInt("a positive whole number").default(6),
  TOLLGATE_PRICES_FILE: optionalString,
  TOLLGATE_CACHE_MAX_GB: dollars("a positive number of gigabytes").default(10),
  TOLLGATE_SETUP_ENV: optionalString,
  TOLLGATE_NODE_VERSIONS: z
    .string()
    .trim()
    .regex(/^(host|\d{1,3}(\s*,\s*\d{1,3})*)$/, "a list of Node majors (`20,22,24`), or `host` for the host's Node only")
    .optional(),
  TOLLGATE_DAILY_USD: dollars("a positive number of dollars").default(50),
  TOLLGATE_RUN_USD_MAX: dollars("a positive number of dollars").default(25),
  TOLLGATE_CAP_WARN_AT: z
    .string()
    .trim()
    .regex(/^(0(\.\d+)?|1(\.0+)?)$/, "must be a fraction between 0 and 1, e.g. 0.8")
    .transform(Number)
    .default(0.8),
  GITHUB_CLIENT_ID: optionalString,
  GITHUB_CLIENT_SECRET: optionalString,
  TOLLGATE_DASHBOARD_TOKEN: z
    .string()
    .trim()
    .refine((s) => s === "" || s.length >= 32, "must be at least 32 characters (for example `openssl rand -hex 32`)")
    .transform((s) => (s === "" ? undefined : s))
    .optional(),
  TOLLGATE_PUBLIC_URL: httpUrl.optional(),
  TOLLGATE_WORKER_METRICS_PORT: z
    .string()
    .trim()
    .regex(/^[0-9]+$/, "must be a port number")
    .transform(Number)
    .refine((n) => n >= 1 && n <= 65535, "must be a port number between 1 and 65535")
    .optional(),
  OTEL_EXPORTER_OTLP_ENDPOINT: httpUrl.optional(),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: httpUrl.optional(),
  OTEL_EXPORTER_OTLP_PROTOCOL: otlpProtocol,
  OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: otlpProtocol,
  OTEL_SEMCONV_STABILITY_OPT_IN: optionalString,
  TOLLGATE_CATCHUP_HOURS: z
    .string()
    .trim()
    .regex(/^[0-9]+$/, "must be a whole number of hours (0 turns catch-up off)")
    .transform(Number)
    .optional(),
  TOLLGATE_UNSAFE_NO_SANDBOX: z
    .enum(["", "0", "1", "false", "true"], { message: "must be 1 (run repository commands WITHOUT a sandbox, unsafe) or 0" })
    .optional()
    .transform((v) => v === "1" || v === "true"),
  TOLLGATE_METRICS_PUBLIC: z
    .enum(["", "0", "1", "false", "true"], { message: "must be 1 (serve /metrics to anyone, without the operator token) or 0" })
    .optional()
    .transform((v) => v === "1" || v === "true"),
  TOLLGATE_METRICS_REPOSITORY_LABELS: z
    .enum(["", "0", "1", "false", "true"], { message: "must be 1 (label /metrics by repository name) or 0 (by installation id)" })
    .optional()
    .transform((v) => v === "1" || v === "true"),
});

export interface GitHubAppCredentials {
  appId: number;
  privateKey: string;
  webhookSecret: string;
}

export interface AppEnv {
  /** Missing when the app has not been registered yet: the server then runs Probot's setup flow. */
  github?: GitHubAppCredentials;
  /** REST API base URL (GitHub Enterprise Server when `GHE_HOST` is set). */
  githubApiUrl: string;
  gheHost?: string;
  gheProtocol?: "http" | "https";
  port: number;
  host?: string;
  webhookPath: string;
  webhookProxyUrl?: string;
  logLevel: "trace" | "debug" | "info" | "warn" | "error" | "fatal" | "silent";
  logFormat: "json" | "pretty";
  production: boolean;
  anthropic: { apiKey?: string; baseUrl?: string };
  database: { kind: "postgres"; url: string } | { kind: "pglite"; dataDir: string };
  dataDir: string;
  workerConcurrency: number;
  dbConnectAttempts: number;
  /** Prices that add to or override the built-in list (TOLLGATE_PRICES_FILE). */
  prices: ModelPrice[];
  /**
   * The dashboard (/dashboard): sign-in with the app's own OAuth client (GITHUB_CLIENT_ID and
   * GITHUB_CLIENT_SECRET, which the manifest flow writes to .env), and an operator token
   * (TOLLGATE_DASHBOARD_TOKEN, as `Authorization: Bearer …`) that reads everything, /metrics too.
   * `publicUrl` (TOLLGATE_PUBLIC_URL) is where people reach the app, for the OAuth callback.
   */
  dashboard: { oauth?: { clientId: string; clientSecret: string }; token?: string; publicUrl?: string };
  /**
   * OpenTelemetry: traces are exported when an OTLP endpoint is set (OTEL_EXPORTER_OTLP_ENDPOINT
   * or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, the base one with `/v1/traces` added), over
   * OTEL_EXPORTER_OTLP_(TRACES_)PROTOCOL; `semconvOptIn` is OTEL_SEMCONV_STABILITY_OPT_IN, split.
   * A `tollgate worker` process serves its own /metrics on `workerMetricsPort` when set.
   */
  telemetry: { tracesEndpoint?: string; tracesProtocol: "http/protobuf" | "http/json"; semconvOptIn: string[]; workerMetricsPort?: number };
  /** TOLLGATE_UNSAFE_NO_SANDBOX=1: without bubblewrap, run repository commands on the host anyway. */
  allowUnsandboxed: boolean;
  /**
   * `/metrics` (the web process's and a worker's): it asks for the operator token
   * (TOLLGATE_DASHBOARD_TOKEN) unless `public` (TOLLGATE_METRICS_PUBLIC=1), and is refused to
   * everyone when neither is set. The ledger's counters are labelled by installation id, by
   * repository name (owner/name, private ones too) only with `repositoryLabels`
   * (TOLLGATE_METRICS_REPOSITORY_LABELS=1).
   */
  metrics: { public: boolean; repositoryLabels: boolean };
  /**
   * The operator's caps, in micro-dollars: per installation per UTC day (TOLLGATE_DAILY_USD) and
   * per run (TOLLGATE_RUN_USD_MAX). `tollgate caps` sets them for one installation; a
   * repository's config may lower them, never raise them. At `warnAt` of the daily cap
   * (TOLLGATE_CAP_WARN_AT), a run's sticky comment says the cap is near.
   */
  caps: { dailyMicros: number; runMicros: number; warnAt: number };
  /**
   * The setup step: the dependency cache's cap (TOLLGATE_CACHE_MAX_GB) and variables the operator
   * adds to setup commands (TOLLGATE_SETUP_ENV: a registry mirror, never a secret), and the Node
   * majors Tollgate provides from the registry (TOLLGATE_NODE_VERSIONS; "host": none, the host's).
   */
  setup: { cacheMaxBytes: number; env: Record<string, string>; nodeMajors: number[] | "host" };
  /**
   * Catch-up of missed deliveries (src/app/catch-up.ts): how many hours back the web process
   * looks for failed deliveries to have redelivered (TOLLGATE_CATCHUP_HOURS; 0: off).
   */
  catchUp: { lookbackHours: number };
}

/**
 * How long GitHub keeps an app's webhook deliveries, in hours: 3 days on github.com (and
 * GitHub Enterprise Cloud), 7 on GitHub Enterprise Server (docs.github.com, "Redelivering
 * webhooks"). Nothing older can be listed or redelivered.
 */
export const DELIVERY_RETENTION_HOURS = { github: 72, enterpriseServer: 168 } as const;

export type Environment = Record<string, string | undefined>;

/**
 * Parses and checks the environment. Throws `EnvError` with one line that names the variable
 * and what is wrong with it; secrets are never echoed.
 */
export function loadEnv(env: Environment = process.env, cwd: string = process.cwd()): AppEnv {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const name = String(issue.path[0] ?? "environment");
    throw new EnvError(`${name} ${issue.message}`);
  }
  const e = parsed.data;
  const production = e.NODE_ENV === "production";
  const github = readGitHubCredentials(e.APP_ID, e.WEBHOOK_SECRET, env, cwd, production);
  const dataDir = path.resolve(cwd, e.TOLLGATE_DATA_DIR ?? ".tollgate");
  const gheProtocol = e.GHE_PROTOCOL ?? "https";
  return {
    github,
    githubApiUrl: e.GHE_HOST ? `${gheProtocol}://${e.GHE_HOST}/api/v3` : "https://api.github.com",
    gheHost: e.GHE_HOST,
    gheProtocol: e.GHE_PROTOCOL,
    port: e.PORT,
    host: e.HOST,
    webhookPath: e.WEBHOOK_PATH ?? "/api/github/webhooks",
    webhookProxyUrl: e.WEBHOOK_PROXY_URL,
    logLevel: e.LOG_LEVEL,
    logFormat: e.LOG_FORMAT ?? (production ? "json" : "pretty"),
    production,
    anthropic: { apiKey: e.ANTHROPIC_API_KEY, baseUrl: e.ANTHROPIC_BASE_URL },
    database: e.DATABASE_URL ? { kind: "postgres", url: e.DATABASE_URL } : { kind: "pglite", dataDir: path.join(dataDir, "pgdata") },
    dataDir,
    workerConcurrency: e.TOLLGATE_WORKER_CONCURRENCY,
    dbConnectAttempts: e.TOLLGATE_DB_CONNECT_ATTEMPTS,
    prices: e.TOLLGATE_PRICES_FILE ? readPrices(path.resolve(cwd, e.TOLLGATE_PRICES_FILE)) : [],
    allowUnsandboxed: e.TOLLGATE_UNSAFE_NO_SANDBOX,
    metrics: { public: e.TOLLGATE_METRICS_PUBLIC, repositoryLabels: e.TOLLGATE_METRICS_REPOSITORY_LABELS },
    dashboard: {
      oauth: dashboardOAuth(e.GITHUB_CLIENT_ID, e.GITHUB_CLIENT_SECRET),
      token: e.TOLLGATE_DASHBOARD_TOKEN,
      publicUrl: e.TOLLGATE_PUBLIC_URL?.replace(/\/+$/, ""),
    },
    telemetry: {
      // the signal's own endpoint is used as it is; the base endpoint gets the traces path
      tracesEndpoint: e.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? e.OTEL_EXPORTER_OTLP_ENDPOINT?.replace(/\/*$/, "/v1/traces"),
      tracesProtocol: e.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ?? e.OTEL_EXPORTER_OTLP_PROTOCOL ?? "http/protobuf",
      semconvOptIn: (e.OTEL_SEMCONV_STABILITY_OPT_IN ?? "")
        .split(",")
        .map((s) => s.trim())
        .filter(Boolean),
      workerMetricsPort: e.TOLLGATE_WORKER_METRICS_PORT,
    },
    setup: {
      cacheMaxBytes: Math.round(e.TOLLGATE_CACHE_MAX_GB * 1024 ** 3),
      env: setupVariables(e.TOLLGATE_SETUP_ENV),
      nodeMajors: nodeMajors(e.TOLLGATE_NODE_VERSIONS),
    },
    catchUp: { lookbackHours: catchUpHours(e.TOLLGATE_CATCHUP_HOURS, e.GHE_HOST !== undefined) },
    caps: {
      dailyMicros: micros(e.TOLLGATE_DAILY_USD),
      runMicros: micros(e.TOLLGATE_RUN_USD_MAX),
      warnAt: e.TOLLGATE_CAP_WARN_AT,
    },
  };
}

/** TOLLGATE_CATCHUP_HOURS: by default, and at most, as far back as GitHub keeps deliveries. */
function catchUpHours(hours: number | undefined, enterpriseServer: boolean): number {
  const kept = enterpriseServer ? DELIVERY_RETENTION_HOURS.enterpriseServer : DELIVERY_RETENTION_HOURS.github;
  if (hours === undefined) return kept;
  if (hours > kept) throw new EnvError(`TOLLGATE_CATCHUP_HOURS must be at most ${kept}: GitHub keeps deliveries that long`);
  return hours;
}

/** The app's OAuth client: both or neither. */
function dashboardOAuth(clientId: string | undefined, clientSecret: string | undefined): AppEnv["dashboard"]["oauth"] {
  if (clientId === undefined && clientSecret === undefined) return undefined;
  if (clientId === undefined) throw new EnvError("GITHUB_CLIENT_ID is missing: it is required when GITHUB_CLIENT_SECRET is set");
  if (clientSecret === undefined) throw new EnvError("GITHUB_CLIENT_SECRET is missing: it is required when GITHUB_CLIENT_ID is set");
  return { clientId, clientSecret };
}

/** The Node majors Tollgate provides when the operator sets none (TOLLGATE_NODE_VERSIONS). */
export const DEFAULT_NODE_MAJORS = [20, 22, 24];

/** TOLLGATE_NODE_VERSIONS: the majors offered (default 20, 22, 24), or "host". */
function nodeMajors(text: string | undefined): number[] | "host" {
  if (!text) return DEFAULT_NODE_MAJORS;
  if (text === "host") return "host";
  return [...new Set(text.split(",").map((m) => Number(m.trim())))].sort((a, b) => a - b);
}

/** TOLLGATE_SETUP_ENV as variables; a value that looks like a secret is refused (install scripts read these). */
function setupVariables(text: string | undefined): Record<string, string> {
  let vars: Record<string, string>;
  try {
    vars = parseSetupEnv(text);
  } catch (error) {
    throw new EnvError((error as Error).message);
  }
  for (const [name, value] of Object.entries(vars))
    if (maskSecrets(value) !== value || /TOKEN|SECRET|PASSWORD|_AUTH|API_KEY/i.test(name))
      throw new EnvError(
        `TOLLGATE_SETUP_ENV: ${name} looks like a secret, and the repository's install scripts can read every setup variable`,
      );
  return vars;
}

/** A JSON list of prices in the built-in shape (see src/llm/prices.ts). */
function readPrices(file: string): ModelPrice[] {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, "utf8"));
  } catch (error) {
    throw new EnvError(`TOLLGATE_PRICES_FILE ${file} could not be read as JSON: ${(error as Error).message.split("\n")[0]}`);
  }
  const parsed = priceListSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new EnvError(`TOLLGATE_PRICES_FILE ${file}: entry ${issue.path.join(".")} ${issue.message}`);
  }
  return parsed.data.map((p) => ({ ...p, source: p.source ?? `TOLLGATE_PRICES_FILE (${file})` }));
}

function readGitHubCredentials(
  appId: number | undefined,
  webhookSecret: string | undefined,
  env: Environment,
  cwd: string,
  production: boolean,
): GitHubAppCredentials | undefined {
  let privateKey: string | null;
  try {
    privateKey = getPrivateKey({ env: pick(env, "PRIVATE_KEY", "PRIVATE_KEY_PATH"), cwd });
  } catch (error) {
    const source = env.PRIVATE_KEY_PATH ? "PRIVATE_KEY_PATH" : "PRIVATE_KEY";
    const reason = (error as Error).message.split("\n")[0]!.replace(/^\[@probot\/get-private-key\]\s*/, "");
    throw new EnvError(`${source} could not be read: ${reason}`);
  }
  if (appId === undefined && privateKey === null) {
    if (production) {
      throw new EnvError(
        "APP_ID is missing: register the app (run without NODE_ENV=production for the setup flow) and set APP_ID, PRIVATE_KEY and WEBHOOK_SECRET",
      );
    }
    return undefined; // not registered yet: setup flow
  }
  if (appId === undefined) throw new EnvError("APP_ID is missing: it is required when a private key is configured");
  if (privateKey === null) {
    throw new EnvError("PRIVATE_KEY is missing: set PRIVATE_KEY (the PEM text) or PRIVATE_KEY_PATH (a .pem file)");
  }
  try {
    createPrivateKey(privateKey);
  } catch {
    const source = env.PRIVATE_KEY_PATH ? "PRIVATE_KEY_PATH" : "PRIVATE_KEY";
    throw new EnvError(`${source} is not a valid PEM private key: download a new key from the GitHub App's settings page`);
  }
  if (!webhookSecret) {
    throw new EnvError("WEBHOOK_SECRET is missing: set it to the webhook secret from the GitHub App's settings page");
  }
  return { appId, privateKey, webhookSecret };
}

function pick(env: Environment, ...names: string[]): Record<string, string | undefined> {
  return Object.fromEntries(names.map((n) => [n, env[n]]));
}

/**
 * Adds the variables of `.env` in `cwd`, if there is one, to the environment (set variables win).
 * Probot's setup flow writes the new app's credentials there.
 */
export function applyDotEnv(cwd: string = process.cwd()): void {
  const file = path.join(cwd, ".env");
  if (existsSync(file)) process.loadEnvFile(file);
}

/** The raw environment, for the one consumer that needs it whole: Probot's setup flow. */
export function rawEnvironment(): Environment {
  return { ...process.env };
}
