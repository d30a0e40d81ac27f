/**
 * The checks' environment, in the real sandbox, through the code verify runs (the baseline on the
 * starting commit, then verify after the change): a suite that checks its colours passes, as on
 * its own CI; the repository's `env:` reaches its setup commands and its checks, under Tollgate's
 * own; what the commands print reaches the PR and the models without escape codes; and a check
 * that already fails shows its last lines on the PR, which says the change is not verified by it.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseRepoConfig, type RepoConfigInput } from "../../src/config/repo-config.js";
import type { Database } from "../../src/db/database.js";
import { workTree, type PhaseEnv } from "../../src/phases/agent-env.js";
import { runBaseline, runVerify } from "../../src/phases/verify/verify.js";
import { renderPrBody } from "../../src/report/pr-body.js";
import { OutputCollector, runSandboxed } from "../../src/sandbox/process.js";
import { detectSandbox, type Sandbox } from "../../src/sandbox/sandbox.js";
import { runSetup } from "../../src/setup/setup.js";
import { Workspace } from "../../src/workspace/workspace.js";
import { freshDatabase } from "../helpers/db.js";
import { bareRepoWith } from "../helpers/git.js";
import { insertRun, meteredSetup } from "../helpers/llm.js";
import { captureLog } from "../helpers/log.js";
import { AgentRecords } from "../../src/stores/agent-records.js";

const COLORS = fileURLToPath(new URL("../fixtures/projects/colors/", import.meta.url));
const identity = { name: "tollgate[bot]", email: "tollgate[bot]@users.noreply.github.com" };
/** Prints the variables programs read to decide their output, and fails, so verify keeps its output. */
const PRINT_ENV = [
  "node",
  "-e",
  'const e = process.env; console.log(JSON.stringify(Object.fromEntries(["CI", "HOME", "LANG", "TZ", "TERM", "NO_COLOR", "FORCE_COLOR", "GITHUB_ACTIONS", "DEBUG", "npm_config_offline"].map((k) => [k, e[k] ?? null])))); process.exit(9)',
];

let sandbox: Sandbox;
let db: Database;

beforeAll(() => {
  sandbox = detectSandbox(captureLog().log);
  if (sandbox.mode !== "bwrap") throw new Error(`these tests need bubblewrap: ${sandbox.reason}`);
});

beforeEach(async () => {
  db = await freshDatabase("pglite");
});

afterEach(() => db.close());

async function checkout(): Promise<Workspace> {
  const root = mkdtempSync(path.join(tmpdir(), "tollgate-checks-env-"));
  return Workspace.clone({ remoteUrl: `file://${bareRepoWith({}, COLORS)}`, dir: path.join(root, "repo"), branch: "main", identity });
}

/** What verify is given by the pipeline, with a model that fails the test if it is called (no triage is due). */
async function phaseEnv(config: RepoConfigInput): Promise<PhaseEnv & { calls: () => number }> {
  const { log } = captureLog();
  const { model, scripted } = meteredSetup(db, log, []);
  return {
    model,
    records: new AgentRecords(db),
    config: parseRepoConfig(config),
    sandbox,
    runId: await insertRun(db),
    iteration: 1,
    log,
    calls: () => scripted.requests.length,
  };
}

/** The baseline on the starting commit, then verify, each in the main checkout as the orchestrator runs them. */
async function verifyTwice(ws: Workspace, env: PhaseEnv) {
  const tree = workTree(env.installed, ws, ws.dir, env.config.env);
  const baseline = await runBaseline(env, tree);
  return runVerify(env, tree, baseline.checks);
}

describe("the checks' environment", () => {
  it("a suite that checks its colours passes, as on its own CI, with no variable a runner would not set", async () => {
    const ws = await checkout();
    const env = await phaseEnv({ verify: { commands: [["npm", "test"], PRINT_ENV] } });
    const verified = await verifyTwice(ws, env);
    expect(verified.checks[0]).toMatchObject({ argv: ["npm", "test"], exitCode: 0, timedOut: false });
    const seen = JSON.parse(verified.checks[1]!.excerpt.split("\n").find((l) => l.startsWith("{"))!);
    expect(seen).toEqual({
      CI: "true",
      HOME: "/tmp",
      LANG: "C.UTF-8",
      TZ: "UTC",
      TERM: null,
      NO_COLOR: null,
      FORCE_COLOR: null,
      GITHUB_ACTIONS: null, // not a GitHub runner, and not said to be one
      DEBUG: null,
      npm_config_offline: null, // nothing was set up: no switches of setup's
    });
    // the env check fails the same way before and after: already failing, so no triage and no model call
    expect(verified.checks[1]!.preexisting).toBe(true);
    expect(verified.passed).toBe(true);
    expect(env.calls()).toBe(0);
  });

  it("shows what the suite printed without its colour codes", async () => {
    const ws = await checkout();
    const tree = workTree(undefined, ws, ws.dir, {});
    const result = await runSandboxed({ argv: ["npm", "test"], cwd: ws.dir, sandbox, readOnly: tree.readOnly, env: tree.env });
    expect(result.exitCode).toBe(0);
    expect(result.output).toContain("✓ red() wraps text in SGR 31 and 39\n");
    expect(result.output).toContain("4 passed, 0 failed (colour on)");
    expect(result.output).not.toContain("\x1b");
    expect(result.output).not.toMatch(/\[3[12]m/);
  });

  it("gives the repository's env: to its checks, and to its setup commands, under Tollgate's own variables", async () => {
    const ws = await checkout();
    const repoEnv = { NO_COLOR: "1", TERM: "dumb", TZ: "Asia/Tokyo", DEBUG: "app:*" };
    const env = await phaseEnv({
      env: repoEnv,
      setup: { commands: [PRINT_ENV.map((a) => a.replace("process.exit(9)", "process.exit(0)"))] },
      verify: { commands: [["npm", "test"], PRINT_ENV] },
    });
    const setup = await runSetup({ ws, config: env.config, sandbox, trust: { trusted: true }, log: env.log });
    const inSetup = JSON.parse(setup.output.tail!.split("\n").find((l) => l.startsWith("{"))!);
    expect(inSetup).toMatchObject({ ...repoEnv, CI: "true", HOME: "/tmp", FORCE_COLOR: null });

    const verified = await verifyTwice(ws, { ...env, installed: setup.installed });
    const inChecks = JSON.parse(verified.checks[1]!.excerpt.split("\n").find((l) => l.startsWith("{"))!);
    // Tollgate's own still hold: the offline switch of every command after setup
    expect(inChecks).toMatchObject({ ...repoEnv, CI: "true", HOME: "/tmp", npm_config_offline: "true" });
    // the project asked for no colour and a dumb terminal: its colour suite now fails, as it would in its own CI
    expect(verified.checks[0]).toMatchObject({ argv: ["npm", "test"], exitCode: 1, preexisting: true });
    expect(verified.checks[0]!.excerpt).toContain("✗ the terminal is not a dumb one");
  });

  it("a check that already fails on the starting commit: its last lines on the PR, masked and without escapes, and not verified", async () => {
    const ws = await checkout();
    const token = `ghp_${"a1B2c3D4e5".repeat(4)}`;
    const e2e = [
      "node",
      "-e",
      `console.error("\\x1b[1m e2e \\x1b[22m"); console.error("\\x1b[31mconnect ECONNREFUSED 127.0.0.1:5432\\x1b[39m (token ${token})"); process.exit(1)`,
    ];
    const env = await phaseEnv({ env: { TZ: "Asia/Tokyo" }, verify: { commands: [["npm", "test"], e2e] } });
    const verify = await verifyTwice(ws, env);
    expect(verify.passed).toBe(true);
    expect(verify.checks.map((c) => [c.exitCode, c.preexisting ?? false])).toEqual([
      [0, false],
      [1, true],
    ]);
    expect(env.calls()).toBe(0);
    const body = renderPrBody({
      verify,
      repoEnv: env.config.env,
      plan: { summary: "s", steps: [], files: [], work_units: [], test_strategy: "t", acceptance_checks: [] },
      costTable: "",
      costs: [],
      iterations: 1,
    });
    const verification = body.split("## Verification\n\n")[1]!.split("\n## ")[0]!;
    expect(verification).toContain("> This change is **not verified** by `node -e");
    expect(verification).toMatch(
      /<details><summary>Last lines of <code>node -e .*<\/code> \(exit 1\)<\/summary>\n\n```text\n e2e \nconnect ECONNREFUSED 127\.0\.0\.1:5432 \(token \[redacted GitHub token\]\)\n```\n\n<\/details>/,
    );
    expect(body).not.toContain(token);
    expect(body).not.toContain("\x1b");
  });
});

describe("a command's output without escape sequences", () => {
  it("strips colours, cursor moves and links, also when a sequence is cut between two chunks", () => {
    const out = new OutputCollector(1_000);
    for (const chunk of ["\x1b[32m✓\x1b[3", "9m ok\x1b[2K\r\x1b]8;;https://x.test\x07link\x1b]8;", ";\x07 done\n\x1b"])
      out.add(Buffer.from(chunk));
    expect(out.text()).toBe("✓ ok\rlink done\n\x1b");
  });

  it("counts what it keeps without the escapes, so colour does not cut the output sooner", () => {
    const out = new OutputCollector(100);
    for (let i = 0; i < 10; i++) out.add(Buffer.from(`\x1b[31m${"x".repeat(9)}\x1b[39m\n`));
    expect(out.text()).toBe(`${"x".repeat(9)}\n`.repeat(10));
  });
});
