/**
 * `env:` in .github/tollgate.yml: what a repository may give its commands, and what it may not
 * (Tollgate's own variables, anything that looks like a secret), each refusal naming the key.
 */
import { parse as parseYaml } from "yaml";
import { parseRepoConfig, RepoConfigError } from "../../../src/config/repo-config.js";
import { reservedEnvName } from "../../../src/config/repo-env.js";
import { laterCommand, setupEnv } from "../../../src/setup/environment.js";
import { proxyEnv } from "../../../src/sandbox/egress.js";

function problemsOf(raw: unknown): string[] {
  try {
    parseRepoConfig(raw);
  } catch (error) {
    expect(error).toBeInstanceOf(RepoConfigError);
    return (error as RepoConfigError).problems;
  }
  throw new Error("expected a RepoConfigError");
}

describe("env: in .github/tollgate.yml", () => {
  it("accepts variables as a CI workflow's env: has them, numbers and booleans as strings", () => {
    const config = parseRepoConfig(
      parseYaml(`
env:
  NO_COLOR: 1
  FORCE_COLOR: "0"
  TERM: xterm-256color
  TZ: Europe/Berlin
  NODE_OPTIONS: --max-old-space-size=4096
  DEBUG_COLORS: false
  DATABASE_URL: postgres://localhost/test
  _private: ""
`),
    );
    expect(config.env).toEqual({
      NO_COLOR: "1",
      FORCE_COLOR: "0",
      TERM: "xterm-256color",
      TZ: "Europe/Berlin",
      NODE_OPTIONS: "--max-old-space-size=4096",
      DEBUG_COLORS: "false",
      DATABASE_URL: "postgres://localhost/test",
      _private: "",
    });
    expect(parseRepoConfig({}).env).toEqual({});
  });

  it("refuses the names Tollgate sets, quoting the key and saying why", () => {
    expect(problemsOf({ env: { PATH: "/opt/bin:/usr/bin" } })).toEqual([
      "`env.PATH`: cannot be set here: Tollgate sets it (the search path, the home folder, the caches, the offline switches)",
    ]);
    expect(problemsOf({ env: { HTTPS_PROXY: "http://proxy:3128" } })).toEqual([
      "`env.HTTPS_PROXY`: cannot be set here: the way out of the sandbox (the egress proxy during setup) is Tollgate's",
    ]);
    expect(problemsOf({ env: { TOLLGATE_SETUP_ENV: "x=1" } })).toEqual([
      "`env.TOLLGATE_SETUP_ENV`: cannot be set here: names starting with TOLLGATE_ are Tollgate's own",
    ]);
    expect(problemsOf({ env: { LD_PRELOAD: "./hook.so" } })).toEqual([
      "`env.LD_PRELOAD`: cannot be set here: the dynamic loader's variables would reach the sandbox's own programs",
    ]);
    // npm reads its settings in any case: the offline switch cannot be undone by spelling
    expect(problemsOf({ env: { NPM_CONFIG_OFFLINE: "false", HOME: "/root" } })).toEqual([
      "`env.NPM_CONFIG_OFFLINE`: cannot be set here: Tollgate sets it (the search path, the home folder, the caches, the offline switches)",
      "`env.HOME`: cannot be set here: Tollgate sets it (the search path, the home folder, the caches, the offline switches)",
    ]);
  });

  it("refuses every variable Tollgate gives setup and later commands, so none is silently overridden", () => {
    const home = { home: "/c/home", bin: "/c/bin", corepack: "/c/corepack" };
    const names = new Set([
      ...Object.keys(setupEnv(home, "/t", { offline: true })),
      ...Object.keys(laterCommand({ ...home, paths: [".venv"] }, "/t", "/t").env),
      ...Object.keys(proxyEnv()),
      "HOME",
      // the CA bundle, set only where the host has one
      "NODE_EXTRA_CA_CERTS",
      "SSL_CERT_FILE",
      "PIP_CERT",
    ]);
    expect(names.size).toBeGreaterThan(20);
    expect([...names].filter((n) => !reservedEnvName(n))).toEqual([]);
    for (const free of ["NO_COLOR", "FORCE_COLOR", "TERM", "CI", "TZ", "LANG", "NODE_OPTIONS", "npm_config_registry", "GOPRIVATE"])
      expect(reservedEnvName(free)).toBeUndefined();
  });

  it("refuses a value that looks like a secret, naming the key and the kind but never the value", () => {
    const token = `ghp_${"a1B2c3D4e5".repeat(4)}`;
    const problems = problemsOf({ env: { GH_TOKEN: token, AWS_ACCESS_KEY_ID: "AKIAIOSFODNN7EXAMPLE", SAFE: "1" } });
    expect(problems).toEqual([
      "`env.GH_TOKEN`: looks like a secret (GitHub token): `env` holds no secrets, since a command's output can reach a model and the pull request",
      "`env.AWS_ACCESS_KEY_ID`: looks like a secret (AWS key): `env` holds no secrets, since a command's output can reach a model and the pull request",
    ]);
    expect(problems.join("\n")).not.toContain(token);
    // a URL with a password is a credential too
    expect(problemsOf({ env: { DATABASE_URL: "postgres://app:hunter2hunter2@db.internal/app" } })[0]).toMatch(
      /^`env.DATABASE_URL`: looks like a secret \(URL with password\)/,
    );
  });

  it("refuses a name that is not a variable's, a value that is not a scalar, and a NUL", () => {
    expect(problemsOf({ env: { "1ST": "x" } })).toEqual([
      "`env.1ST`: is not a variable name (letters, digits and _, not starting with a digit)",
    ]);
    expect(problemsOf({ env: { "MY-VAR": "x" } })).toEqual([
      "`env.MY-VAR`: is not a variable name (letters, digits and _, not starting with a digit)",
    ]);
    expect(problemsOf({ env: { LIST: ["a", "b"] } })).toEqual(["`env.LIST`: a value is a string, a number or true/false"]);
    expect(problemsOf({ env: { NUL: "a\0b" } })).toEqual(["`env.NUL`: a value cannot hold a NUL character"]);
    expect(problemsOf({ env: ["A=1"] })[0]).toMatch(/^`env`: /);
  });
});
