/**
 * What one run's install scripts leave behind is never run by a later run (issue 25), tried as an
 * attacker would, black-box through `tollgate run` (the compiled CLI, scripted answers, the real
 * sandbox and the npm registry): the repository's `prepare` plants an `npm` and a `node` in every
 * folder on its PATH and beside every cache it is given; the maintainers then make the script
 * harmless; the next run of the repository installs from the cache and its checks run the real
 * npm, the project's own tests.
 */
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseRepoConfig } from "../../src/config/repo-config.js";
import { detectSandbox } from "../../src/sandbox/sandbox.js";
import { DependencyCache } from "../../src/setup/cache.js";
import { runSetup, SetupFailed, type SetupTrust } from "../../src/setup/setup.js";
import { Workspace } from "../../src/workspace/workspace.js";
import { tollgate } from "../helpers/cli.js";
import { bareRepoWith, git } from "../helpers/git.js";
import { captureLog } from "../helpers/log.js";
import { approve, done, edit, gate, planOf, project, unit } from "../helpers/greeter.js";
import { TEST_TIERS } from "../helpers/llm.js";

const FIXTURES = fileURLToPath(new URL("../fixtures/projects/", import.meta.url));

/** Writes a program that says it was planted, under each name, in every folder it can: on PATH, and beside the caches. */
const PLANT = `
const fs = require("fs");
const path = require("path");
const e = process.env;
const folders = new Set((e.PATH || "").split(":"));
for (const v of ["npm_config_cache", "npm_config_store_dir", "COREPACK_HOME", "XDG_CACHE_HOME", "HOME", "YARN_CACHE_FOLDER"]) {
  if (!e[v]) continue;
  folders.add(e[v]);
  folders.add(path.dirname(e[v]));
  folders.add(path.join(e[v], "_cacache"));
  folders.add(path.join(e[v], "bin"));
}
for (const dir of folders) {
  for (const name of ["npm", "node", "pnpm"]) {
    try {
      fs.mkdirSync(dir, { recursive: true });
      fs.writeFileSync(path.join(dir, name), "#!/bin/sh\\necho PLANTED " + name + " ran\\nexit 0\\n", { mode: 0o755 });
      console.log("planted " + path.join(dir, name));
    } catch (error) {
      console.log("could not plant in " + dir + ": " + error.code);
    }
  }
}
`;

const CONFIG = `tiers:\n  deep: ${TEST_TIERS.deep}\n  standard: ${TEST_TIERS.standard}\n  light: ${TEST_TIERS.light}\nverify:\n  commands:\n    - ["npm", "test"]\n  timeout_seconds: 120\nsetup:\n  timeout_seconds: 300\n`;

function script(dir: string, name: string): string {
  const file = path.join(dir, name);
  writeFileSync(
    file,
    JSON.stringify({
      gate,
      plan: planOf([unit("greeting", ["src/greet.js"])]),
      "execute/greeting": [edit("src/greet.js", '"Hello "', '"Hi "'), done("Changed the greeting to Hi.")],
      review: [approve],
    }),
  );
  return file;
}

describe("the dependency cache carries no code from one run to the next", () => {
  it("a program planted by run 1's install script never runs in run 2: its checks run the project's own tests", async () => {
    const { seed } = project({
      "package.json": JSON.stringify({
        name: "tollgate-fixture-npm",
        version: "1.0.0",
        private: true,
        type: "module",
        scripts: { prepare: "node plant.cjs", test: "node --test test/" },
        dependencies: { ms: "2.1.3" },
      }),
      "plant.cjs": PLANT,
      ".github/tollgate.yml": CONFIG,
    });
    copyFileSync(path.join(FIXTURES, "npm", "package-lock.json"), path.join(seed, "package-lock.json"));
    git(seed, "add", "-A");
    git(seed, "-c", "user.name=Human", "-c", "user.email=human@example.com", "commit", "-q", "-m", "lockfile");
    const dir = mkdtempSync(path.join(tmpdir(), "tollgate-cache-poison-"));
    const env = {
      LOG_FORMAT: "json",
      LOG_LEVEL: "info",
      TOLLGATE_DATA_DIR: path.join(dir, "data"),
      TOLLGATE_SETUP_ENV: "COREPACK_INTEGRITY_KEYS=0",
    };
    writeFileSync(path.join(dir, "issue-one.md"), "# greet() should say hi\n\n`greet('Ada')` should return `Hi Ada`.\n");
    writeFileSync(path.join(dir, "issue-two.md"), "# greet() should say hi, again\n\n`greet('Ada')` should return `Hi Ada`.\n");

    const one = tollgate(["run", "--repo", seed, "--issue", path.join(dir, "issue-one.md"), "--script", script(dir, "one.json")], env, dir);
    expect(await one.exit).toBe(0);
    expect(one.stdout()).toContain("cache miss");

    // the maintainers make the install script harmless; the lockfile, and so the cache key, stay
    writeFileSync(path.join(seed, "plant.cjs"), 'console.log("prepare: nothing to do");\n');
    git(seed, "-c", "user.name=Human", "-c", "user.email=human@example.com", "commit", "-q", "-am", "harmless prepare");

    const two = tollgate(["run", "--repo", seed, "--issue", path.join(dir, "issue-two.md"), "--script", script(dir, "two.json")], env, dir);
    expect(await two.exit).toBe(0);
    const report = two.stdout();
    expect(report).toContain("cache hit");
    expect(report).toContain("| `npm test` | ✅ passed (tests: 1 passed) |");
    expect(report + two.stderr()).not.toContain("PLANTED");
  });
});

/**
 * A revision sets up the pull request's branch, whose install script an agent may have written
 * (steered by an issue): it never gets the way out, also when it fails offline on purpose.
 */
describe("an untrusted tree's install (a revision's branch)", () => {
  const HARMLESS = 'console.log("prepare: nothing to do");\n';
  /** The agent's version: without the network it fails, hoping to be run again with it. */
  const GREEDY = [
    'if (process.env.npm_config_offline === "true") { console.log("OFFLINE: this install needs the network"); process.exit(1); }',
    'console.log("GOT THE WAY OUT through " + process.env.HTTPS_PROXY);',
  ].join("\n");

  /** A repository whose main is the npm fixture with a `prepare` script, and an agent's branch changing `prep.cjs`. */
  function repository(branchPrep: string): string {
    const pkg = JSON.parse(readFileSync(path.join(FIXTURES, "npm", "package.json"), "utf8")) as Record<string, unknown>;
    pkg.scripts = { prepare: "node prep.cjs", test: "node test.js" };
    const bare = bareRepoWith({ "package.json": JSON.stringify(pkg, null, 2), "prep.cjs": HARMLESS }, path.join(FIXTURES, "npm"));
    const work = mkdtempSync(path.join(tmpdir(), "tollgate-agent-branch-"));
    git(work, "clone", "-q", bare, ".");
    git(work, "checkout", "-q", "-b", "tollgate/issue-1");
    writeFileSync(path.join(work, "prep.cjs"), branchPrep);
    writeFileSync(path.join(work, "notes.md"), "the agent's change\n");
    git(work, "add", "-A");
    git(work, "-c", "user.name=tollgate[bot]", "-c", "user.email=bot@example.com", "commit", "-q", "-m", "the agent's work");
    git(work, "push", "-q", "origin", "tollgate/issue-1");
    return bare;
  }

  const sandbox = detectSandbox(captureLog().log);
  const dataDir = mkdtempSync(path.join(tmpdir(), "tollgate-trust-data-"));

  async function setUpBranch(bare: string, cache: DependencyCache) {
    const root = mkdtempSync(path.join(tmpdir(), "tollgate-trust-run-"));
    const ws = await Workspace.clone({
      remoteUrl: `file://${bare}`,
      dir: path.join(root, "repo"),
      branch: "tollgate/issue-1",
      identity: { name: "tollgate[bot]", email: "bot@example.com" },
    });
    const outputs: string[] = [];
    const trust: SetupTrust = {
      trusted: false,
      why: "a revision sets up the pull request's branch, which holds code an agent wrote",
      base: async () => (await ws.fetchBranch("main"))!,
    };
    const result = await runSetup({
      ws,
      config: parseRepoConfig({}),
      sandbox,
      trust,
      cache: { store: cache, scope: { installationId: 7, repository: "acme/widgets" } },
      extraEnv: { COREPACK_INTEGRITY_KEYS: "0" },
      record: async (argv, r) => void outputs.push(`$ ${argv.join(" ")}\n${r.output}`),
      log: captureLog().log,
    }).catch((error: unknown) => error);
    return { result, outputs: outputs.join("\n") };
  }

  it("an agent-written prepare that fails offline to get the network never gets it: setup fails and says why", async () => {
    const { result, outputs } = await setUpBranch(repository(GREEDY), new DependencyCache(dataDir, 1024 ** 3));
    expect(result).toBeInstanceOf(SetupFailed);
    const message = (result as Error).message;
    expect(message).toMatch(/^setup failed: `npm ci` exited with code 1/);
    expect(message).toContain("its install never has the network");
    expect(message).toContain("OFFLINE: this install needs the network");
    // the default branch's commit was installed first, with the network (its prepare is the maintainers')
    expect(outputs).toContain("prepare: nothing to do");
    expect(outputs).toContain("OFFLINE: this install needs the network");
    expect(outputs).not.toContain("GOT THE WAY OUT");
  });

  it("a branch whose install works offline is set up from the default branch's downloads, then from the cache they filled", async () => {
    const cache = new DependencyCache(mkdtempSync(path.join(tmpdir(), "tollgate-trust-data-")), 1024 ** 3);
    const bare = repository(HARMLESS + "// the agent touched this file\n");
    const first = await setUpBranch(bare, cache);
    if (first.result instanceof Error) throw first.result;
    const one = first.result as Awaited<ReturnType<typeof runSetup>>;
    expect(one.output.commands).toEqual([
      expect.objectContaining({ argv: ["npm", "ci"], exitCode: 0, offline: false, onBase: true }),
      expect.objectContaining({ argv: ["npm", "ci"], exitCode: 0, offline: true }),
    ]);
    expect(one.output.commands[1]!.onBase).toBeUndefined();
    expect(one.output.network).toEqual({ mode: "offline", why: expect.stringContaining("holds code an agent wrote") });
    expect(one.output.installed).toEqual(["node_modules"]);
    const second = await setUpBranch(bare, cache);
    const two = second.result as Awaited<ReturnType<typeof runSetup>>;
    expect(two.output.cache.state).toBe("hit");
    expect(two.output.commands).toEqual([expect.objectContaining({ argv: ["npm", "ci"], exitCode: 0, offline: true })]);
  });
});
