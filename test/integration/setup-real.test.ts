/**
 * The setup step on real projects, in the real sandbox: an npm and a pnpm project with real
 * lockfiles and one real dependency (`ms`) from the npm registry, installed with the network on,
 * tested with it off, and installed again from the dependency cache without the network.
 *
 * This machine's npm registry is a mirror that serves package metadata without npm's signatures,
 * which Corepack checks before it runs a package manager it downloaded; the tests turn that check
 * off (COREPACK_INTEGRITY_KEYS=0) through the operator's setup variables, as an operator behind
 * such a mirror would.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { createServer, type AddressInfo } from "node:net";
import type { RepoConfig } from "../../src/config/repo-config.js";
import { parseRepoConfig } from "../../src/config/repo-config.js";
import { workTree } from "../../src/phases/agent-env.js";
import { runSandboxed } from "../../src/sandbox/process.js";
import { detectSandbox, sandboxFor, type Sandbox } from "../../src/sandbox/sandbox.js";
import { DependencyCache } from "../../src/setup/cache.js";
import { runSetup, SetupFailed, withSetup, type SetupResult } from "../../src/setup/setup.js";
import { Workspace } from "../../src/workspace/workspace.js";
import { bareRepoWith, git } from "../helpers/git.js";
import { captureLog } from "../helpers/log.js";

const FIXTURES = fileURLToPath(new URL("../fixtures/projects/", import.meta.url));
const identity = { name: "tollgate[bot]", email: "tollgate[bot]@users.noreply.github.com" };
const MIRROR = { COREPACK_INTEGRITY_KEYS: "0" };

let sandbox: Sandbox;
let dataDir: string;
let cache: DependencyCache;

beforeAll(() => {
  sandbox = detectSandbox(captureLog().log);
  if (sandbox.mode !== "bwrap") throw new Error(`these tests need bubblewrap: ${sandbox.reason}`);
});

beforeEach(() => {
  dataDir = mkdtempSync(path.join(tmpdir(), "tollgate-setup-"));
  cache = new DependencyCache(dataDir, 1024 ** 3);
});

async function clone(bare: string): Promise<Workspace> {
  const root = mkdtempSync(path.join(tmpdir(), "tollgate-run-"));
  return Workspace.clone({ remoteUrl: `file://${bare}`, dir: path.join(root, "repo"), branch: "main", identity });
}

function setUp(
  ws: Workspace,
  config: RepoConfig = parseRepoConfig({}),
  options: { probe?: (registry: { url: string }) => Promise<string | undefined> } = {},
) {
  return runSetup({
    ws,
    config,
    sandbox,
    trust: { trusted: true },
    cache: { store: cache, scope: { installationId: 7, repository: "acme/widgets" } },
    extraEnv: MIRROR,
    ...(options.probe && { probe: options.probe }),
    log: captureLog().log,
  });
}

/** A verify command as the pipeline runs it after setup: in the sandbox, with the network off. */
async function check(ws: Workspace, result: SetupResult, argv: string[], dir = ws.dir) {
  const tree = workTree(result.installed, ws, dir);
  return runSandboxed({ argv, cwd: dir, sandbox, readOnly: tree.readOnly, binds: tree.binds, env: tree.env, timeoutMs: 60_000 });
}

describe("setup on real projects", () => {
  it("npm: installs with the network, tests without it, and a second run installs offline from the cache", async () => {
    const bare = bareRepoWith({}, path.join(FIXTURES, "npm"));
    const first = await clone(bare);
    const one = await setUp(first);
    expect(one.output).toMatchObject({
      source: "detected",
      ecosystem: "node",
      verify: [["npm", "test"]],
      verifySource: "detected",
      cache: { state: "miss" },
      installed: ["node_modules"],
      reverted: [],
    });
    expect(one.output.commands).toEqual([expect.objectContaining({ argv: ["npm", "ci"], exitCode: 0, offline: false })]);
    expect(one.output.cache.bytes).toBeGreaterThan(0);
    const tested = await check(first, one, ["npm", "test"]);
    expect(tested.output).toContain("ms works");
    expect(tested.exitCode).toBe(0);
    // the checks' leftovers go, setup's installs stay, and nothing installed is ever committed
    writeFileSync(path.join(first.dir, "leftover.txt"), "from a check\n");
    await first.resetTree();
    expect(readdirSync(first.dir).sort()).toEqual([".git", "node_modules", "package-lock.json", "package.json", "test.js"]);
    expect(await first.commitAll("nothing to commit")).toBeNull();

    const second = await clone(bare);
    const two = await setUp(second);
    expect(two.output.cache.state).toBe("hit");
    expect(two.output.commands).toEqual([expect.objectContaining({ argv: ["npm", "ci"], exitCode: 0, offline: true })]);
    expect((await check(second, two, ["npm", "test"])).exitCode).toBe(0);
    expect(await cache.stats()).toMatchObject({ entries: 1 });
  });

  it("pnpm through Corepack: a test script that calls pnpm by name works offline, in the checkout and in an agent's worktree", async () => {
    const bare = bareRepoWith({}, path.join(FIXTURES, "pnpm"));
    const ws = await clone(bare);
    const result = await setUp(ws);
    expect(result.output).toMatchObject({ verify: [["pnpm", "test"]], cache: { state: "miss" }, installed: ["node_modules"] });
    expect(result.output.commands.map((c) => c.argv)).toEqual([
      ["corepack", "enable", "pnpm"],
      ["corepack", "pnpm", "--version"],
      ["pnpm", "install", "--frozen-lockfile"],
    ]);
    const tested = await check(ws, result, ["pnpm", "test"]);
    expect(tested.output).toContain("ms works");
    expect(tested.exitCode).toBe(0);
    // an execute agent's worktree sees the main checkout's node_modules, read-only
    const worktree = await ws.addWorktree("unit-1", "tollgate/work/1/unit-1");
    const inWorktree = await check(ws, result, ["pnpm", "test"], worktree);
    expect(inWorktree.output).toContain("ms works");
    const write = await check(ws, result, ["node", "-e", "require('fs').writeFileSync('node_modules/x', 'y')"], worktree);
    expect(write.exitCode).not.toBe(0);
    expect(write.output).toMatch(/EROFS|read-only/);
    await ws.removeWorktree(worktree);

    const again = await setUp(await clone(bare));
    expect(again.output.cache.state).toBe("hit");
    expect(again.output.commands.every((c) => c.exitCode === 0 && c.offline)).toBe(true);
  });

  it("a failing setup command ends with its last lines and what to change; the cache entry it started is dropped", async () => {
    const bare = bareRepoWith({
      "package.json": JSON.stringify({ name: "broken", version: "1.0.0", dependencies: { ms: "2.1.3" } }),
      "package-lock.json": "{ this is not json",
    });
    const failed = await setUp(await clone(bare)).catch((e: unknown) => e);
    expect(failed).toBeInstanceOf(SetupFailed);
    const message = (failed as Error).message;
    expect(message).toMatch(/^setup failed: `npm ci` exited with code \d+ after \d+ s, so nothing else ran and no model was paid\./);
    expect(message).toContain("Its last lines:");
    expect(message).toMatch(/```text\n[\s\S]*npm error[\s\S]*\n```/);
    expect(message).toContain("set `setup.commands` in .github/tollgate.yml");
    expect(await cache.stats()).toMatchObject({ entries: 0 });
  });

  it("a project with no lockfile installs plainly, with no cache, and says why", async () => {
    const bare = bareRepoWith({
      "package.json": JSON.stringify({
        name: "loose",
        version: "1.0.0",
        dependencies: { ms: "2.1.3" },
        scripts: { test: "node -e \"require('ms')\"" },
      }),
    });
    const result = await setUp(await clone(bare));
    expect(result.output.commands.map((c) => c.argv)).toEqual([["npm", "install"]]);
    expect(result.output.cache).toEqual({ state: "off", why: "no lockfile to key a cache by" });
    expect(result.output.notes.join(" ")).toContain("No npm lockfile");
    expect(result.output.reverted).toEqual([]);
    expect(result.output.installed).toEqual(expect.arrayContaining(["node_modules", "package-lock.json"]));
    expect(await cache.stats()).toMatchObject({ entries: 0 });
  });

  it("a repository with nothing to detect: no setup, no checks, said so", async () => {
    const result = await setUp(await clone(bareRepoWith({ "notes.txt": "just text\n" })));
    expect(result.output).toMatchObject({ source: "none", verifySource: "none", verify: [], commands: [] });
    expect(result.installed).toBeUndefined();
    const config = withSetup(parseRepoConfig({}), result.output);
    expect(config.verify.commands).toEqual([]);
  });

  it("configuration wins over detection, and the verify commands in force are allowed to the agents", async () => {
    const bare = bareRepoWith({}, path.join(FIXTURES, "npm"));
    const config = parseRepoConfig({
      setup: { commands: [["npm", "ci", "--ignore-scripts"]] },
      verify: { commands: [["node", "test.js"]] },
      commands: { allow: [["npm", "run", "lint"]] },
    });
    const result = await setUp(await clone(bare), config);
    expect(result.output).toMatchObject({ source: "configured", verifySource: "configured", verify: [["node", "test.js"]] });
    expect(withSetup(config, result.output).commands.allow).toEqual([
      ["npm", "run", "lint"],
      ["node", "test.js"],
    ]);
  });

  it("a detected install from a registry this machine cannot reach fails at once, saying which and what to do", async () => {
    const bare = bareRepoWith({ "requirements.txt": "pytest==8.3.3\n", "tests/test_a.py": "def test_a():\n    assert True\n" });
    const asked: string[] = [];
    const probe = async (registry: { url: string }) => {
      asked.push(registry.url);
      return "pypi.org does not resolve here";
    };
    const failed = await setUp(await clone(bare), parseRepoConfig({}), { probe }).catch((e: unknown) => e);
    expect(failed).toBeInstanceOf(SetupFailed);
    expect((failed as Error).message).toBe(
      "setup cannot install: PyPI (https://pypi.org/simple/) cannot be reached from this machine (pypi.org does not resolve here). Give the machine access to it, set a mirror in TOLLGATE_SETUP_ENV, or set `setup.commands` in .github/tollgate.yml (`setup.commands: []` skips setup).",
    );
    expect(asked).toEqual(["https://pypi.org/simple/"]);
  });

  it("a setup command sees no secret of the app and can write only the checkout and the run's own caches", async () => {
    const secrets = {
      ANTHROPIC_API_KEY: "sk-ant-api03-setup-must-never-see-this-0000000000000000",
      PRIVATE_KEY: "-----BEGIN RSA PRIVATE KEY-----setup-must-not-see",
      WEBHOOK_SECRET: "whsec-setup-must-not-see",
      DATABASE_URL: "postgres://tollgate:pw-setup-must-not-see@localhost/tollgate",
    };
    Object.assign(process.env, secrets);
    try {
      const probe = [
        "const fs = require('fs');",
        "console.log('ENV ' + JSON.stringify(process.env));",
        "for (const p of process.argv.slice(3)) {",
        "  try { fs.writeFileSync(p, 'written by setup'); console.log('WROTE ' + p); }",
        "  catch (e) { console.log('DENIED ' + p + ' ' + e.code); }",
        "}",
        // the app's own services on the host's loopback (its database, its server) are not reachable
        "const s = require('net').connect(Number(process.argv[2]), '127.0.0.1');",
        "s.on('connect', () => { console.log('LOOPBACK REACHED'); process.exit(0); });",
        "s.on('error', (e) => { console.log('LOOPBACK ' + e.code); process.exit(0); });",
      ].join("\n");
      const hostService = createServer((socket) => socket.end("the app's database\n"));
      await new Promise<void>((resolve) => hostService.listen(0, "127.0.0.1", resolve));
      const hostPort = String((hostService.address() as AddressInfo).port);
      const ws = await clone(bareRepoWith({ "probe.js": probe, "package.json": "{}", "package-lock.json": "{}" }));
      const runDir = path.dirname(ws.dir);
      const other = path.join(dataDir, "cache", "8", "acme", "widgets");
      mkdirSync(other, { recursive: true });
      const targets = {
        checkout: path.join(ws.dir, "built.txt"),
        gitConfig: path.join(ws.dir, ".git", "config"),
        runFolder: path.join(runDir, "beside-the-checkout.txt"),
        otherInstallation: path.join(other, "poisoned.txt"),
        cacheRoot: path.join(dataDir, "cache", "root.txt"),
        dataDir: path.join(dataDir, "data.txt"),
        hostHome: path.join(process.env.HOME ?? "/root", "tollgate-setup-was-here.txt"),
        // the shims first on PATH and Corepack's package managers are Tollgate's own step's alone
        shims: path.join(runDir, "setup", "bin", "npm"),
        corepack: path.join(runDir, "setup", "corepack", "planted"),
      };
      const config = parseRepoConfig({
        setup: { commands: [["node", "probe.js", hostPort, ...Object.values(targets)]] },
        verify: { commands: [] },
      });
      // the probe's output is not kept when it succeeds, so it is read from the command's record
      const outputs: string[] = [];
      const result = await runSetup({
        ws,
        config,
        sandbox,
        trust: { trusted: true },
        cache: { store: cache, scope: { installationId: 7, repository: "acme/widgets" } },
        record: async (_argv, r) => void outputs.push(r.output),
        log: captureLog().log,
      });
      const output = outputs.join("\n") + (result.output.tail ?? "");
      for (const value of Object.values(secrets)) expect(output).not.toContain(value);
      const env = JSON.parse(/^ENV (.*)$/m.exec(output)![1]!) as Record<string, string>;
      for (const name of Object.keys(secrets)) expect(env[name]).toBeUndefined();
      expect(output).toContain(`WROTE ${targets.checkout}`);
      expect(output).toContain(`DENIED ${targets.gitConfig} EROFS`);
      expect(output).toContain(`DENIED ${targets.shims} EROFS`);
      expect(output).toContain(`DENIED ${targets.corepack} EROFS`);
      expect(readFileSync(targets.gitConfig, "utf8")).not.toContain("written by setup");
      // a write elsewhere fails, or lands in the sandbox's private /tmp (the test's folders are under the host's /tmp): never on the host
      for (const key of ["runFolder", "otherInstallation", "cacheRoot", "dataDir", "hostHome", "shims", "corepack"] as const)
        expect(existsSync(targets[key])).toBe(false);
      expect(output).toContain(`DENIED ${targets.hostHome} ENOENT`);
      expect(output).toContain("LOOPBACK ECONNREFUSED");
      expect(output).not.toContain("LOOPBACK REACHED");
      hostService.close();
      // the run's own caches (setup/home) are writable, and go with the run: nothing was published from them
      expect(result.output.cache.state).toBe("miss");
      expect(await cache.stats()).toMatchObject({ entries: 1 });
    } finally {
      for (const name of Object.keys(secrets)) delete process.env[name];
    }
  });

  it("what setup plants for host-side git (a FIFO, a submodule's .git naming a filter) is scrubbed before git reads the tree", async () => {
    // a repository with a submodule entry (a gitlink) at sub/, as GitHub would serve it
    const bare = bareRepoWith({ "package.json": "{}", "package-lock.json": "{}" });
    const seed = mkdtempSync(path.join(tmpdir(), "tollgate-seed-"));
    git(seed, "clone", "-q", bare, ".");
    git(seed, "update-index", "--add", "--cacheinfo", `160000,${git(seed, "rev-parse", "HEAD").trim()},sub`);
    git(seed, "-c", "user.name=Human", "-c", "user.email=human@example.com", "commit", "-qm", "add a submodule entry");
    git(seed, "push", "-q", "origin", "main");
    const marker = path.join(mkdtempSync(path.join(tmpdir(), "tollgate-marker-")), "filter-ran");
    const plant = [
      "mkdir -p sub node_modules/x",
      "git init -q sub",
      `git -C sub config filter.x.clean 'touch ${marker}'`,
      "echo '* filter=x' > sub/.gitattributes",
      "echo planted > sub/a.txt",
      "mkfifo node_modules/x/.gitignore",
    ].join(" && ");
    const ws = await clone(bare);
    const config = parseRepoConfig({ setup: { commands: [["sh", "-c", plant]] }, verify: { commands: [] } });
    const result = await setUp(ws, config);
    expect(result.output.commands).toEqual([expect.objectContaining({ exitCode: 0 })]);
    expect(existsSync(marker)).toBe(false); // no filter of the tree's ran on the host
    expect(existsSync(path.join(ws.dir, "sub", ".git"))).toBe(false);
    expect(existsSync(path.join(ws.dir, "node_modules", "x", ".gitignore"))).toBe(false);
    expect(ws.dropped.map((d) => d.path)).toEqual(expect.arrayContaining(["sub/.git", "node_modules/x/.gitignore"]));
    expect(result.output.installed).not.toContain("sub"); // the submodule's path is the repository's, not setup's
  });

  it("a symlink setup leaves (node_modules -> a host folder) is never kept, nor bound into an agent's worktree later", async () => {
    const secretDir = mkdtempSync(path.join(tmpdir(), "tollgate-host-secret-"));
    writeFileSync(path.join(secretDir, "secret.txt"), "host secret\n");
    const bare = bareRepoWith({}, path.join(FIXTURES, "npm"));
    // at setup: the link is dropped, not installed
    const linked = await clone(bare);
    const config = parseRepoConfig({
      setup: {
        commands: [
          ["ln", "-s", secretDir, "vendor"],
          ["npm", "ci"],
        ],
      },
    });
    const result = await setUp(linked, config);
    expect(result.output.installed).toEqual(["node_modules"]);
    expect(linked.dropped).toEqual([expect.objectContaining({ path: "vendor" })]);
    expect(existsSync(path.join(linked.dir, "vendor"))).toBe(false);
    // later: a check in the checkout swaps node_modules for a link to the host folder; a worktree's commands do not see it
    rmSync(path.join(linked.dir, "node_modules"), { recursive: true });
    symlinkSync(secretDir, path.join(linked.dir, "node_modules"));
    const worktree = await linked.addWorktree("unit-1", "tollgate/work/1/unit-1");
    const read = await check(linked, result, ["cat", "node_modules/secret.txt"], worktree);
    expect(read.output).not.toContain("host secret");
    expect(read.exitCode).not.toBe(0);
    await linked.removeWorktree(worktree);
  });

  it("what a setup command writes to its caches counts against the sandbox's disk limit", async () => {
    const ws = await clone(bareRepoWith({ "package.json": "{}", "package-lock.json": "{}" }));
    const fill = 'mkdir -p "$npm_config_cache" && head -c 64000000 /dev/zero > "$npm_config_cache/blob" && sleep 20';
    const config = parseRepoConfig({ setup: { commands: [["sh", "-c", fill]] }, verify: { commands: [] } });
    const failed = await runSetup({
      ws,
      config,
      sandbox: sandboxFor("bwrap", { commandDiskBytes: 16 * 1024 * 1024 }),
      trust: { trusted: true },
      cache: { store: cache, scope: { installationId: 7, repository: "acme/widgets" } },
      log: captureLog().log,
    }).catch((e: unknown) => e);
    expect(failed).toBeInstanceOf(SetupFailed);
    expect((failed as Error).message).toContain("[stopped: the command ran into the sandbox's disk limit");
    expect(await cache.stats()).toMatchObject({ entries: 0 }); // and nothing it downloaded is published
  });
});
