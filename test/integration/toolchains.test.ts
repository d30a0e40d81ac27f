/**
 * The toolchain a project asks for, from the real npm registry, in the real sandbox (issue 26):
 * a `.nvmrc` that says 22 gets its checks run on Node 22, a pinned pnpm installs through
 * Tollgate's own Corepack, and no command can write a toolchain. One data folder for the file, so
 * Node 22 (a 50 MB package) is downloaded once.
 */
import { cpSync, mkdtempSync, readFileSync, readlinkSync, realpathSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseRepoConfig } from "../../src/config/repo-config.js";
import { workTree } from "../../src/phases/agent-env.js";
import { runSandboxed } from "../../src/sandbox/process.js";
import { detectSandbox, type Sandbox } from "../../src/sandbox/sandbox.js";
import { COREPACK_VERSION, NodeToolchains, npmRegistry } from "../../src/setup/node-toolchain.js";
import { runSetup, type SetupResult } from "../../src/setup/setup.js";
import { Workspace } from "../../src/workspace/workspace.js";
import { bareRepoWith } from "../helpers/git.js";
import { captureLog } from "../helpers/log.js";

const FIXTURES = fileURLToPath(new URL("../fixtures/projects/", import.meta.url));
const MIRROR = { COREPACK_INTEGRITY_KEYS: "0" }; // this machine's registry mirror serves no signatures (see setup-real.test.ts)

let sandbox: Sandbox;
let toolchains: NodeToolchains;

beforeAll(() => {
  sandbox = detectSandbox(captureLog().log);
  if (sandbox.mode !== "bwrap") throw new Error(`these tests need bubblewrap: ${sandbox.reason}`);
  toolchains = new NodeToolchains(mkdtempSync(path.join(tmpdir(), "tollgate-toolchains-")), {
    majors: [20, 22, 24],
    registry: npmRegistry(MIRROR),
    log: captureLog().log,
  });
});

async function setUp(bare: string): Promise<{ ws: Workspace; result: SetupResult }> {
  const root = mkdtempSync(path.join(tmpdir(), "tollgate-run-"));
  const ws = await Workspace.clone({
    remoteUrl: `file://${bare}`,
    dir: path.join(root, "repo"),
    branch: "main",
    identity: { name: "tollgate[bot]", email: "bot@example.com" },
  });
  const result = await runSetup({
    ws,
    config: parseRepoConfig({}),
    sandbox,
    trust: { trusted: true },
    toolchains,
    extraEnv: MIRROR,
    log: captureLog().log,
  });
  return { ws, result };
}

/** A command as verify and the agents run it after setup: offline, with setup's toolchain. */
function check(ws: Workspace, result: SetupResult, argv: string[]) {
  const tree = workTree(result.installed, ws, ws.dir);
  return runSandboxed({ argv, cwd: ws.dir, sandbox, readOnly: tree.readOnly, binds: tree.binds, env: tree.env, timeoutMs: 60_000 });
}

describe("toolchains from the npm registry", () => {
  it("a repository whose .nvmrc says 22 runs its checks on Node 22, and the report says why", async () => {
    const bare = bareRepoWith({
      ".nvmrc": "22\n",
      "package.json": JSON.stringify({ name: "on-22", scripts: { test: "node -e \"console.log('checks on ' + process.version)\"" } }),
    });
    const { ws, result } = await setUp(bare);
    expect(result.output.toolchain).toEqual({
      node: expect.stringMatching(/^22\.\d+\.\d+$/),
      why: expect.stringMatching(/^Node 22\.\d+\.\d+, for `22` \(\.nvmrc\)$/),
    });
    expect(result.output.node).toMatchObject({ satisfied: true, available: result.output.toolchain!.node });
    const tested = await check(ws, result, ["npm", "test"]);
    expect(tested.exitCode).toBe(0);
    expect(tested.output).toContain(`checks on v${result.output.toolchain!.node}`);
    expect((await check(ws, result, ["node", "--version"])).output.trim()).toBe(`v${result.output.toolchain!.node}`);
  });

  it("no command can write a toolchain: Node's folder and Corepack's are read-only in the sandbox", async () => {
    const bare = bareRepoWith({ ".nvmrc": "22\n", "package.json": JSON.stringify({ name: "on-22" }) });
    const { ws, result } = await setUp(bare);
    const bin = result.installed!.tools!.path[0]!;
    const write = await check(ws, result, [
      "node",
      "-e",
      `require("fs").writeFileSync(${JSON.stringify(path.join(bin, "npm"))}, "planted")`,
    ]);
    expect(write.exitCode).not.toBe(0);
    expect(write.output).toMatch(/EROFS|read-only/);
  });

  it("a packageManager: pnpm@<recent> project installs through Tollgate's Corepack, and its test runs offline", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "tollgate-pnpm-recent-"));
    cpSync(path.join(FIXTURES, "pnpm"), dir, { recursive: true });
    const pkg = JSON.parse(readFileSync(path.join(dir, "package.json"), "utf8")) as Record<string, unknown>;
    writeFileSync(path.join(dir, "package.json"), JSON.stringify({ ...pkg, packageManager: "pnpm@10.14.0" }, null, 2));
    const { ws, result } = await setUp(bareRepoWith({}, dir));
    expect(result.output.commands.map((c) => [c.argv.join(" "), c.exitCode])).toEqual([
      ["corepack enable pnpm", 0],
      ["corepack pnpm --version", 0],
      ["pnpm install --frozen-lockfile", 0],
    ]);
    // the shim on every command's PATH is Tollgate's Corepack's, not the host's
    const shim = realpathSync(path.join(result.installed!.bin, readlinkSync(path.join(result.installed!.bin, "pnpm"))));
    expect(shim.startsWith(path.join(toolchains.root, "corepack", COREPACK_VERSION) + path.sep)).toBe(true);
    expect((await check(ws, result, ["pnpm", "--version"])).output.trim()).toBe("10.14.0");
    // and its folder is read-only to every command
    const corepackFile = path.join(toolchains.root, "corepack", COREPACK_VERSION, "dist", "corepack.js");
    const write = await check(ws, result, ["node", "-e", `require("fs").writeFileSync(${JSON.stringify(corepackFile)}, "planted")`]);
    expect(write.output).toMatch(/EROFS|read-only/);
    const tested = await check(ws, result, ["pnpm", "test"]);
    expect(tested.output).toContain("ms works");
    expect(tested.exitCode).toBe(0);
  });
});
