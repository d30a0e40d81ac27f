import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { EnvError, loadEnv } from "../../../src/config/env.js";
import { TEST_PRIVATE_KEY } from "../../helpers/keys.js";

const cwd = mkdtempSync(path.join(tmpdir(), "tollgate-env-")); // no stray .pem files here
const registered = { APP_ID: "12345", PRIVATE_KEY: TEST_PRIVATE_KEY, WEBHOOK_SECRET: "s3cret" };

function errorOf(env: Record<string, string>): string {
  try {
    loadEnv(env, cwd);
  } catch (error) {
    expect(error).toBeInstanceOf(EnvError);
    return (error as Error).message;
  }
  throw new Error("expected an EnvError");
}

describe("loadEnv", () => {
  it("applies defaults: embedded database under ./.tollgate, github.com, port 3000", () => {
    const env = loadEnv(registered, cwd);
    expect(env.github).toEqual({ appId: 12345, privateKey: TEST_PRIVATE_KEY, webhookSecret: "s3cret" });
    expect(env.database).toEqual({ kind: "pglite", dataDir: path.join(cwd, ".tollgate", "pgdata") });
    expect(env.githubApiUrl).toBe("https://api.github.com");
    expect(env.port).toBe(3000);
    expect(env.webhookPath).toBe("/api/github/webhooks");
  });

  it("uses DATABASE_URL, TOLLGATE_DATA_DIR and GitHub Enterprise settings", () => {
    const env = loadEnv(
      {
        ...registered,
        DATABASE_URL: "postgres://u:p@db:5432/tollgate",
        TOLLGATE_DATA_DIR: "/var/tg",
        GHE_HOST: "ghe.example.com",
        GHE_PROTOCOL: "http",
      },
      cwd,
    );
    expect(env.database).toEqual({ kind: "postgres", url: "postgres://u:p@db:5432/tollgate" });
    expect(env.dataDir).toBe("/var/tg");
    expect(env.githubApiUrl).toBe("http://ghe.example.com/api/v3");
  });

  it("reads the key from PRIVATE_KEY_PATH", () => {
    const file = path.join(cwd, "key.pem.txt");
    writeFileSync(file, TEST_PRIVATE_KEY);
    expect(loadEnv({ APP_ID: "1", PRIVATE_KEY_PATH: file, WEBHOOK_SECRET: "x" }, cwd).github?.privateKey).toContain("PRIVATE KEY");
  });

  it("has no GitHub credentials before registration (setup flow), except in production", () => {
    expect(loadEnv({}, cwd).github).toBeUndefined();
    expect(errorOf({ NODE_ENV: "production" })).toMatch(/^APP_ID is missing/);
  });

  it.each([
    [{ ...registered, APP_ID: "abc" }, /^APP_ID must be the numeric App ID/],
    [{ ...registered, APP_ID: "-4" }, /^APP_ID must be the numeric App ID/],
    [
      { ...registered, PRIVATE_KEY: "not a key" },
      /^PRIVATE_KEY could not be read: The contents of "env.PRIVATE_KEY" could not be validated/,
    ],
    [
      { ...registered, PRIVATE_KEY: "-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----" },
      /^PRIVATE_KEY is not a valid PEM private key/,
    ],
    [{ APP_ID: "1", PRIVATE_KEY_PATH: "/nonexistent/key.pem", WEBHOOK_SECRET: "x" }, /^PRIVATE_KEY_PATH could not be read/],
    [{ APP_ID: "1", WEBHOOK_SECRET: "x" }, /^PRIVATE_KEY is missing/],
    [{ PRIVATE_KEY: TEST_PRIVATE_KEY, WEBHOOK_SECRET: "x" }, /^APP_ID is missing/],
    [{ APP_ID: "1", PRIVATE_KEY: TEST_PRIVATE_KEY }, /^WEBHOOK_SECRET is missing/],
    [{ ...registered, DATABASE_URL: "mysql://localhost/db" }, /^DATABASE_URL must be a URL like postgres:\/\//],
    [{ ...registered, DATABASE_URL: "not a url" }, /^DATABASE_URL must be a URL like postgres:\/\//],
    [{ ...registered, PORT: "99999" }, /^PORT must be a port number/],
    [{ ...registered, LOG_LEVEL: "loud" }, /^LOG_LEVEL /],
    [{ ...registered, ANTHROPIC_BASE_URL: "ftp://x" }, /^ANTHROPIC_BASE_URL must be an http\(s\) URL/],
    [{ ...registered, GHE_HOST: "https://ghe.example.com/" }, /^GHE_HOST must be a host name/],
  ])("names the bad variable in one line: %#", (env, expected) => {
    const message = errorOf(env as Record<string, string>);
    expect(message).toMatch(expected);
    expect(message).not.toContain("\n");
  });

  it("reads the setup step's settings: the cache's cap, and the operator's variables, refusing secrets", () => {
    expect(loadEnv(registered, cwd).setup).toEqual({ cacheMaxBytes: 10 * 1024 ** 3, env: {}, nodeMajors: [20, 22, 24] });
    const set = loadEnv(
      {
        ...registered,
        TOLLGATE_CACHE_MAX_GB: "2.5",
        TOLLGATE_SETUP_ENV: "npm_config_registry=https://npm.example.com/,COREPACK_INTEGRITY_KEYS=0",
      },
      cwd,
    );
    expect(set.setup).toEqual({
      cacheMaxBytes: 2.5 * 1024 ** 3,
      env: { npm_config_registry: "https://npm.example.com/", COREPACK_INTEGRITY_KEYS: "0" },
      nodeMajors: [20, 22, 24],
    });
    // the Node majors Tollgate provides, or none (issue 26)
    expect(loadEnv({ ...registered, TOLLGATE_NODE_VERSIONS: "24, 22,22" }, cwd).setup.nodeMajors).toEqual([22, 24]);
    expect(loadEnv({ ...registered, TOLLGATE_NODE_VERSIONS: "host" }, cwd).setup.nodeMajors).toBe("host");
    expect(errorOf({ ...registered, TOLLGATE_NODE_VERSIONS: "22,latest" })).toContain("TOLLGATE_NODE_VERSIONS");
    expect(errorOf({ ...registered, TOLLGATE_SETUP_ENV: "NPM_TOKEN=abc" })).toBe(
      "TOLLGATE_SETUP_ENV: NPM_TOKEN looks like a secret, and the repository's install scripts can read every setup variable",
    );
    expect(errorOf({ ...registered, TOLLGATE_SETUP_ENV: "X=ghp_0123456789abcdefghijklmnopqrstuvwxyzAB" })).toContain(
      "X looks like a secret",
    );
    expect(errorOf({ ...registered, TOLLGATE_SETUP_ENV: "not a pair" })).toBe('TOLLGATE_SETUP_ENV: "not a pair" is not NAME=value');
    expect(errorOf({ ...registered, TOLLGATE_CACHE_MAX_GB: "lots" })).toContain(
      "TOLLGATE_CACHE_MAX_GB must be a positive number of gigabytes",
    );
  });

  it("looks back for missed deliveries as long as GitHub keeps them (3 days; 7 on Enterprise Server), at most that, 0 for off", () => {
    expect(loadEnv(registered, cwd).catchUp).toEqual({ lookbackHours: 72 });
    expect(loadEnv({ ...registered, GHE_HOST: "github.example.com" }, cwd).catchUp).toEqual({ lookbackHours: 168 });
    expect(loadEnv({ ...registered, TOLLGATE_CATCHUP_HOURS: "0" }, cwd).catchUp).toEqual({ lookbackHours: 0 });
    expect(loadEnv({ ...registered, TOLLGATE_CATCHUP_HOURS: "12" }, cwd).catchUp).toEqual({ lookbackHours: 12 });
    expect(errorOf({ ...registered, TOLLGATE_CATCHUP_HOURS: "73" })).toBe(
      "TOLLGATE_CATCHUP_HOURS must be at most 72: GitHub keeps deliveries that long",
    );
    expect(errorOf({ ...registered, TOLLGATE_CATCHUP_HOURS: "a day" })).toContain("TOLLGATE_CATCHUP_HOURS must be a whole number of hours");
  });

  it("keeps /metrics behind the token and free of repository names unless the operator says otherwise", () => {
    expect(loadEnv(registered, cwd).metrics).toEqual({ public: false, repositoryLabels: false });
    expect(loadEnv({ ...registered, TOLLGATE_METRICS_PUBLIC: "", TOLLGATE_METRICS_REPOSITORY_LABELS: "0" }, cwd).metrics).toEqual({
      public: false,
      repositoryLabels: false,
    });
    expect(loadEnv({ ...registered, TOLLGATE_METRICS_PUBLIC: "1", TOLLGATE_METRICS_REPOSITORY_LABELS: "true" }, cwd).metrics).toEqual({
      public: true,
      repositoryLabels: true,
    });
    expect(errorOf({ ...registered, TOLLGATE_METRICS_PUBLIC: "yes" })).toContain("TOLLGATE_METRICS_PUBLIC must be 1");
    expect(errorOf({ ...registered, TOLLGATE_METRICS_REPOSITORY_LABELS: "on" })).toContain("TOLLGATE_METRICS_REPOSITORY_LABELS must be 1");
  });

  it("reads extra prices from TOLLGATE_PRICES_FILE, and names a bad entry", () => {
    const file = path.join(cwd, "prices.json");
    writeFileSync(
      file,
      JSON.stringify([
        { model: "gateway-model", effective: "2026-01-01", input: 1, output: 2, cacheWrite5m: 1.25, cacheWrite1h: 2, cacheRead: 0.1 },
      ]),
    );
    // each entry says where it came from (`tollgate prices` shows it)
    expect(loadEnv({ ...registered, TOLLGATE_PRICES_FILE: file }, cwd).prices).toEqual([
      {
        model: "gateway-model",
        effective: "2026-01-01",
        input: 1,
        output: 2,
        cacheWrite5m: 1.25,
        cacheWrite1h: 2,
        cacheRead: 0.1,
        source: `TOLLGATE_PRICES_FILE (${file})`,
      },
    ]);
    writeFileSync(
      file,
      JSON.stringify([{ model: "m", effective: "2026-01-01", input: -1, output: 2, cacheWrite5m: 1, cacheWrite1h: 2, cacheRead: 0.1 }]),
    );
    expect(errorOf({ ...registered, TOLLGATE_PRICES_FILE: file })).toMatch(/^TOLLGATE_PRICES_FILE .*prices\.json: entry 0\.input /);
    writeFileSync(file, "{ not json");
    expect(errorOf({ ...registered, TOLLGATE_PRICES_FILE: file })).toMatch(/^TOLLGATE_PRICES_FILE .* could not be read as JSON/);
  });

  it("never echoes a secret in its message", () => {
    const message = errorOf({ ...registered, DATABASE_URL: "mysql://user:hunter2@localhost/db" });
    expect(message).not.toContain("hunter2");
    expect(
      errorOf({ ...registered, PRIVATE_KEY: "-----BEGIN RSA PRIVATE KEY-----\nsecretbody\n-----END RSA PRIVATE KEY-----" }),
    ).not.toContain("secretbody");
  });
});
