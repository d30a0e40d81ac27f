/**
 * The setup step: after the clone and before the plan, the checkout's dependencies are installed,
 * so that the checks test the change and not a missing `node_modules`. A repository that cannot
 * be set up stops here, before any model is paid.
 *
 *   1. What to run: `setup.commands` and `verify.commands` from `.github/tollgate.yml`, each
 *      detected from the repository when absent (src/setup/detect.ts). Configuration wins.
 *   2. The toolchain's versions (they key the cache) and the Node.js the project asks for.
 *   3. The dependency cache entry for lockfile + commands + toolchain (src/setup/cache.ts). On a
 *      hit the install runs with the network off (the cache must be enough); if that fails it
 *      runs again with it on.
 *   4. The commands, in the sandbox, with the network and no secret; only the checkout and the
 *      cache entry are writable. Corepack's shims put pnpm or yarn on every later command's PATH.
 *   5. What they created in the checkout is kept for every later command and never committed;
 *      what they changed in tracked files is put back.
 */
import { mkdir } from "node:fs/promises";
import path from "node:path";
import type { Logger } from "pino";
import type { RepoConfig } from "../config/repo-config.js";
import { FinalError } from "../errors.js";
import { runSandboxed, type CommandResult } from "../sandbox/process.js";
import { commandSpan } from "../observability/spans.js";
import { EgressProxy } from "../sandbox/egress.js";
import { commandsDisabled, type Sandbox } from "../sandbox/sandbox.js";
import { maskSecrets } from "../safety/secrets.js";
import { fenced } from "../report/setup-summary.js";
import type { Workspace } from "../workspace/workspace.js";
import { cacheKey, type CacheEntry, type CacheScope, type DependencyCache } from "./cache.js";
import { detectProject, readBytes, type Detected, type Ecosystem } from "./detect.js";

/** Files whose settings change what a lockfile installs (registries, hoisting, workspaces): part of the cache key. */
const KEYED_SETTINGS = ["package.json", ".npmrc", ".yarnrc", ".yarnrc.yml", "pnpm-workspace.yaml", "pyproject.toml", "setup.cfg"];
import { setupEnv, type Installed, type SetupHome } from "./environment.js";
import { probeRegistry, registryOf } from "./registry.js";
import { checkNode, toolchainPrograms, versionArgv, versionLine, type NodeCheck } from "./toolchain.js";

export class SetupFailed extends FinalError {
  override name = "SetupFailed";
}

export interface SetupCommand {
  argv: string[];
  exitCode: number | null;
  timedOut: boolean;
  durationMs: number;
  /** Run with the network off, from a complete cache. */
  offline: boolean;
}

/** The setup step's record: its checkpoint, the sticky comment's lines and the PR body's section. */
export interface SetupOutput {
  /** Where the commands came from. */
  source: "configured" | "detected" | "none";
  ecosystem: Ecosystem;
  /** What detection found, in sentences (also when configuration won). */
  notes: string[];
  commands: SetupCommand[];
  /** The verify commands in force, and where they came from. */
  verify: string[][];
  verifySource: "configured" | "detected" | "none";
  cache: { state: "hit" | "miss" | "off"; why?: string; bytes?: number };
  /** What the commands created in the checkout (kept, never committed), and tracked files they changed (put back). */
  installed: string[];
  reverted: string[];
  node?: NodeCheck;
  /** The last lines of the last command's output (secrets masked). */
  tail?: string;
  durationMs: number;
  /** Why nothing ran although there was something to run (no sandbox). */
  notRun?: string;
}

export interface SetupInput {
  ws: Workspace;
  config: RepoConfig;
  sandbox: Sandbox;
  /** The dependency cache, and whose entries to use; without one, caches last one run. */
  cache?: { store: DependencyCache; scope: CacheScope };
  /** The operator's variables for setup commands (TOLLGATE_SETUP_ENV). */
  extraEnv?: Record<string, string>;
  /** Stores each command in the run's record. */
  record?: (argv: string[], result: CommandResult) => Promise<void>;
  /** For tests: how a registry is asked whether it can be reached. */
  probe?: typeof probeRegistry;
  signal?: AbortSignal;
  log: Logger;
}

interface Installation {
  ok: boolean;
  results: SetupCommand[];
  failed?: SetupCommand & { output: string };
  tail?: string;
}

export interface SetupResult {
  output: SetupOutput;
  /** For later commands: the caches and what was installed (absent when nothing ran). */
  installed?: Installed;
}

/** The effective configuration after setup: verify commands as detected, and allowed to the agents. */
export function withSetup(config: RepoConfig, output: SetupOutput): RepoConfig {
  const allow = [...config.commands.allow];
  for (const argv of output.verify) if (!allow.some((a) => JSON.stringify(a) === JSON.stringify(argv))) allow.push(argv);
  return { ...config, verify: { ...config.verify, commands: output.verify }, commands: { ...config.commands, allow } };
}

export async function runSetup(input: SetupInput): Promise<SetupResult> {
  const started = Date.now();
  const { ws, config } = input;
  const detected = await detectProject(ws.dir);
  const commands = config.setup.commands ?? detected.setup;
  const verify = config.verify.commands ?? detected.verify;
  const output: SetupOutput = {
    source: config.setup.commands ? "configured" : commands.length ? "detected" : "none",
    ecosystem: detected.ecosystem,
    // what detection says about tests is beside the point when the configuration names the checks
    notes: config.verify.commands ? detected.notes.filter((n) => !/verify\.commands|^Tests: /.test(n)) : detected.notes,
    commands: [],
    verify,
    verifySource: config.verify.commands ? "configured" : verify.length ? "detected" : "none",
    cache: { state: "off" },
    installed: [],
    reverted: [],
    durationMs: 0,
  };
  const disabled = commandsDisabled(input.sandbox);
  if (disabled) return { output: { ...output, ...(commands.length ? { notRun: disabled } : {}), durationMs: Date.now() - started } };
  const corepack = corepackManager(detected);
  const versions = await toolVersions(input, commands, detected, corepack);
  if (detected.node) output.node = checkNode(detected.node.wanted, detected.node.from, versions.get("node"));
  if (!commands.length) return { output: { ...output, durationMs: Date.now() - started } };

  const toolchain = [...versions].map(([p, v]) => `${p}=${v}`).join("\n") + (corepack ? `\ncorepack:${corepack.spec}` : "");
  const opened = await openHome(input, detected, commands, toolchain);
  output.cache = opened.cache;
  try {
    if (output.source === "detected" && !opened.entry?.hit) await reachRegistry(input, detected.ecosystem);
    const ran = await installWithCache(input, output, opened, { commands, corepack, ecosystem: detected.ecosystem });
    output.commands = ran.results;
    if (ran.tail) output.tail = ran.tail;
    if (!ran.ok) {
      // a broken download, or a hit that could not install even with the network, is not kept
      if (opened.entry) await input.cache!.store.discard(opened.entry, { evenIfComplete: true });
      throw new SetupFailed(failure(ran.failed!, output.source));
    }
    const kept = await ws.keepInstalled();
    output.installed = kept.installed;
    output.reverted = kept.reverted;
    if (opened.entry) output.cache.bytes = await input.cache!.store.complete(opened.entry);
  } finally {
    await opened.entry?.release();
  }
  output.durationMs = Date.now() - started;
  input.log.info({ cache: output.cache, ms: output.durationMs, installed: output.installed.length }, "setup done");
  return { output, installed: { ...opened.home, paths: output.installed } };
}

/** The install: offline from a complete cache entry (pip cannot: it needs an index), else, or when that fails, with the way out. */
async function installWithCache(
  input: SetupInput,
  output: SetupOutput,
  opened: { home: SetupHome; entry?: CacheEntry },
  what: { commands: string[][]; corepack: { name: string } | undefined; ecosystem: Ecosystem },
): Promise<Installation> {
  const offline = opened.entry?.hit === true && what.ecosystem !== "python";
  const ran = await install(input, opened.home, what.commands, what.corepack, offline);
  if (ran.ok || !offline) return ran;
  input.log.warn({ failed: ran.failed?.argv }, "the offline install from the cache failed: installing again with the way out");
  output.cache = { state: "miss", why: "the cached downloads were not enough for an offline install" };
  return install(input, opened.home, what.commands, what.corepack, false, ran.results);
}

/** pnpm or yarn, which Corepack provides (pinned by `packageManager`, or Corepack's default version). */
function corepackManager(detected: Detected): { name: string; spec: string } | undefined {
  const pm = detected.packageManager;
  if (!pm || (pm.name !== "pnpm" && pm.name !== "yarn")) return undefined;
  return { name: pm.name, spec: pm.version ? `${pm.name}@${pm.version}` : pm.name };
}

/** The versions of the programs setup runs, asked in the sandbox without the network. */
async function toolVersions(
  input: SetupInput,
  commands: string[][],
  detected: Detected,
  corepack: { name: string } | undefined,
): Promise<Map<string, string>> {
  const programs = toolchainPrograms(commands, detected.ecosystem === "node").filter((p) => p !== corepack?.name);
  if (corepack) programs.push("corepack"); // its version decides the package manager's when nothing pins one
  const versions = new Map<string, string>();
  for (const program of programs) {
    const result = await runSandboxed({ argv: versionArgv(program), cwd: input.ws.dir, sandbox: input.sandbox, timeoutMs: 30_000 });
    versions.set(program, versionLine(result.exitCode, result.output));
  }
  return versions;
}

/** The cache entry for this setup, or a folder of the run's own when there is no lockfile to key one. */
async function openHome(
  input: SetupInput,
  detected: Detected,
  commands: string[][],
  toolchain: string,
): Promise<{ home: SetupHome; entry?: CacheEntry; cache: SetupOutput["cache"] }> {
  // read as detection reads: no symlink followed, no FIFO opened, a size cap
  const lock = detected.lockfile ? await readBytes(input.ws.dir, detected.lockfile, 64 * 1024 ** 2) : undefined;
  if (input.cache && lock) {
    // the package managers' own settings change what a lockfile installs: they key the entry too
    const settings = await Promise.all(
      KEYED_SETTINGS.map(async (f) => `${f}:${(await readBytes(input.ws.dir, f))?.toString("base64") ?? ""}`),
    );
    const entry = await input.cache.store.open(input.cache.scope, cacheKey(lock, commands, [toolchain, ...settings].join("\n")));
    const home = { home: path.join(entry.dir, "home"), bin: path.join(entry.dir, "bin") };
    return { home, entry, cache: { state: entry.hit ? "hit" : "miss" } };
  }
  const own = path.join(path.dirname(input.ws.dir), "setup-home");
  const home = { home: path.join(own, "home"), bin: path.join(own, "bin") };
  await mkdir(home.home, { recursive: true });
  await mkdir(home.bin, { recursive: true });
  const why = !input.cache ? "no dependency cache is configured" : "no lockfile to key a cache by";
  return { home, cache: { state: "off", why } };
}

/** A detected install from a registry this machine cannot reach fails now, with a clear message, not after pip's retries. */
async function reachRegistry(input: SetupInput, ecosystem: Ecosystem): Promise<void> {
  const registry = registryOf(ecosystem, input.extraEnv ?? {});
  if (!registry) return;
  const why = await (input.probe ?? probeRegistry)(registry);
  if (!why) return;
  throw new SetupFailed(
    `setup cannot install: ${registry.name} (${registry.url}) cannot be reached from this machine (${why}). Give the machine access to it, set a mirror in TOLLGATE_SETUP_ENV, or set \`setup.commands\` in .github/tollgate.yml (\`setup.commands: []\` skips setup).`,
  );
}

/** Runs the commands in order until one fails; `before` are the results of an earlier, offline pass. */
async function install(
  input: SetupInput,
  home: SetupHome,
  commands: string[][],
  corepack: { name: string } | undefined,
  offline: boolean,
  before: SetupCommand[] = [],
): Promise<Installation> {
  const { ws, sandbox, config } = input;
  const env = setupEnv(home, ws.dir, { offline, extra: input.extraEnv });
  const steps = [
    // Corepack's shims in the setup's bin folder: `pnpm` / `yarn` by name, for setup and every later command
    ...(corepack
      ? [{ argv: ["corepack", "enable", "--install-directory", home.bin, corepack.name], shown: ["corepack", "enable", corepack.name] }]
      : []),
    ...commands.map((argv) => ({ argv, shown: argv })),
  ];
  const results = [...before];
  let tail: string | undefined;
  // the way out: HTTPS through a proxy that refuses the host's own and private addresses (src/sandbox/egress.ts)
  const egress = offline ? undefined : await EgressProxy.start(input.log);
  try {
    for (const step of steps) {
      if (input.signal?.aborted) break;
      const result = await commandSpan(step.shown, () =>
        runSandboxed({
          argv: step.argv,
          cwd: ws.dir,
          sandbox,
          ...(egress && !offline ? { egress: egress.socket } : {}),
          writable: [home.home, home.bin],
          readOnly: ws.readOnlyPaths(),
          runDir: path.dirname(ws.dir),
          // the cache entry is written too: it counts against the disk limits (a run's own home is in its folder already)
          diskDirs: home.home.startsWith(path.dirname(ws.dir) + path.sep) ? [] : [home.home, home.bin],
          env,
          timeoutMs: config.setup.timeout_seconds * 1000,
          maxOutputChars: 40_000,
          signal: input.signal,
        }),
      );
      await input.record?.(step.shown, result);
      const done = { argv: step.shown, exitCode: result.exitCode, timedOut: result.timedOut, durationMs: result.durationMs, offline };
      results.push(done);
      if (result.exitCode !== 0 || result.timedOut) return { ok: false, results, failed: { ...done, output: result.output } };
      tail = lastLines(result.output, 10);
    }
  } finally {
    if (egress?.refused.length) input.log.warn({ refused: egress.refused }, "setup tried to reach addresses the sandbox refuses");
    await egress?.close();
  }
  return { ok: !input.signal?.aborted, results, tail };
}

/** The failure as the issue shows it: the command, how it ended, its last lines, and what to change. */
function failure(failed: SetupCommand & { output: string }, source: SetupOutput["source"]): string {
  const how = failed.timedOut ? "timed out" : `exited with code ${failed.exitCode ?? "none"}`;
  const tail = lastLines(failed.output, 25);
  const change =
    source === "detected"
      ? "Tollgate detected this command. If it is not how this repository installs, set `setup.commands` in .github/tollgate.yml (argv lists, run with the network on and no secrets); `setup.commands: []` skips setup."
      : "Fix the command in `setup.commands` in .github/tollgate.yml, or the repository's install; `setup.commands: []` skips setup.";
  return [
    `setup failed: \`${failed.argv.join(" ")}\` ${how} after ${Math.round(failed.durationMs / 1000)} s, so nothing else ran and no model was paid.`,
    "",
    "Its last lines:",
    "",
    ...fenced(tail),
    "",
    change,
  ].join("\n");
}

/** The last `n` lines of a command's output, secrets masked. */
function lastLines(output: string, n: number): string {
  return maskSecrets(output).trimEnd().split("\n").slice(-n).join("\n");
}
