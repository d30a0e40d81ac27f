/**
 * The setup step: after the clone and before the plan, the checkout's dependencies are installed,
 * so that the checks test the change and not a missing `node_modules`. A repository that cannot
 * be set up stops here, before any model is paid.
 *
 *   1. What to run: `setup.commands` and `verify.commands` from `.github/tollgate.yml`, each
 *      detected from the repository when absent (src/setup/detect.ts). Configuration wins.
 *   2. The toolchain's versions (they key the cache) and the Node.js the project asks for.
 *   3. Whom the tree can be trusted as: the default branch's commit (a trusted tree), or a tree
 *      that holds code an agent or someone unreviewed wrote (a revision's branch, a human's head
 *      after a `/retry`, an evaluation's answer). Its install scripts run either way; only a
 *      trusted tree's get the way out.
 *   4. A trusted tree: the dependency cache's entry for lockfile + commands + toolchain is copied
 *      into the run's own home and the install runs with the network off; without an entry, or
 *      when the offline install fails, it runs with the network, and a fresh fill is published to
 *      the cache (src/setup/cache.ts). An untrusted tree: the default branch's commit is filled
 *      first (as a trusted tree, in a worktree of its own) unless the cache has the tree's key,
 *      and the tree then installs with the network off, from those downloads; never with it.
 *   5. The commands, in the sandbox, with no secret; only the checkout and the run's own caches
 *      are writable. Corepack's shims and the package managers it downloads are Tollgate's own
 *      step's, read-only to every repository command.
 *   6. What they created in the checkout is kept for every later command and never committed;
 *      what they changed in tracked files is put back.
 */
import { randomUUID } from "node:crypto";
import { mkdir, rm } from "node:fs/promises";
import path from "node:path";
import type { Logger } from "pino";
import type { RepoConfig } from "../config/repo-config.js";
import { FinalError } from "../errors.js";
import { runSandboxed, type CommandResult } from "../sandbox/process.js";
import { commandSpan } from "../observability/spans.js";
import { EgressProxy } from "../sandbox/egress.js";
import { commandsDisabled, type Sandbox } from "../sandbox/sandbox.js";
import { maskSecrets } from "../safety/secrets.js";
import { fenced } from "../safety/fenced.js";
import type { Workspace } from "../workspace/workspace.js";
import type { CacheScope, DependencyCache } from "./cache.js";
import { detectProject, type Ecosystem } from "./detect.js";
import { setupEnv, type Installed, type SetupHome } from "./environment.js";
import { planInstall, wantedNode, type InstallPlan } from "./install-plan.js";
import type { NodeToolchains } from "./node-toolchain.js";
import { probeRegistry, registryOf } from "./registry.js";
import { checkNode, type NodeCheck } from "./toolchain.js";

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
  /** Run on the default branch's commit, to fill the downloads an untrusted tree installs from. */
  onBase?: boolean;
}

/**
 * Whether the tree being set up may install with the network. A trusted tree is the default
 * branch's commit; anything else (a revision's branch, a human's head after `/retry`, an
 * evaluation's answer) holds code nobody reviewed, which installs offline only, from what
 * `base()` (a commit of the default branch) installs.
 */
export type SetupTrust = { trusted: true } | { trusted: false; why: string; base: () => Promise<string> };

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
  /** Which Node ran and why (Tollgate's from the registry, or the host's). */
  toolchain?: { node?: string; why: string };
  /** Whether the install had the way out, and why (the report says it). */
  network?: { mode: "online" | "offline"; why: string };
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
  /** The Node versions and the Corepack Tollgate provides; without it, the host's. */
  toolchains?: NodeToolchains;
  /** Whether the checkout's install may have the network (see SetupTrust). */
  trust: SetupTrust;
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
  const what = await planInstall(input, ws.dir, detected, commands);
  output.toolchain = what.node;
  const wanted = wantedNode(input, detected);
  if (wanted) output.node = checkNode(wanted.wanted, wanted.from, what.versions.get("node"));
  const done = { ...output, durationMs: Date.now() - started };
  if (!commands.length && !what.tools.dirs.length) return { output: done };
  const home = await freshHome(path.join(path.dirname(ws.dir), "setup"));
  // nothing to install, but the checks still run on the Node the project asks for
  if (!commands.length) return { output: done, installed: { ...home, tools: what.tools, paths: [] } };
  const tree = { dir: ws.dir, readOnly: ws.readOnlyPaths() };
  const ran = input.trust.trusted
    ? await trustedInstall(input, output, tree, home, what)
    : await untrustedInstall(input, output, tree, home, what, input.trust);
  output.commands = ran.results;
  if (ran.tail) output.tail = ran.tail;
  if (!ran.ok) throw new SetupFailed(failure(ran.failed!, output.source, input.trust));
  const kept = await ws.keepInstalled();
  output.installed = kept.installed;
  output.reverted = kept.reverted;
  output.durationMs = Date.now() - started;
  input.log.info({ cache: output.cache, network: output.network, ms: output.durationMs, installed: output.installed.length }, "setup done");
  return { output, installed: { ...home, tools: what.tools, paths: output.installed } };
}

/** A tree the commands run in: the checkout, or the default branch's worktree of a fill. */
interface Tree {
  dir: string;
  readOnly: string[];
}

/** The run's own home for setup's caches and shims, empty. */
async function freshHome(dir: string): Promise<SetupHome> {
  await rm(dir, { recursive: true, force: true });
  const home = { home: path.join(dir, "home"), bin: path.join(dir, "bin"), corepack: path.join(dir, "corepack") };
  for (const d of Object.values(home)) await mkdir(d, { recursive: true });
  return home;
}

/**
 * A trusted tree (the default branch's commit): offline from the cache's entry when there is one,
 * else, or when that is not enough, with the way out; a fill that succeeded without an entry
 * publishes one.
 */
async function trustedInstall(
  input: SetupInput,
  output: SetupOutput,
  tree: Tree,
  home: SetupHome,
  what: InstallPlan,
): Promise<Installation> {
  const store = input.cache?.store;
  const scope = input.cache?.scope;
  if (!store || !scope || !("key" in what.key)) {
    output.cache = { state: "off", why: "why" in what.key ? what.key.why : "no cache" };
    return online(input, output, tree, home, what, [], "the starting commit is the default branch's");
  }
  const key = what.key.key;
  const hit = await store.lookup(scope, key);
  let before: SetupCommand[] = [];
  if (hit) {
    output.cache = { state: "hit", bytes: hit.bytes };
    await store.restore(hit, home);
    const ran = await install(input, tree, home, what, true);
    if (ran.ok) {
      output.network = { mode: "offline", why: "the dependency cache had this lockfile's downloads" };
      return ran;
    }
    input.log.warn(
      { failed: ran.failed?.argv },
      "the offline install from the cache failed: the default branch's commit installs again with the way out",
    );
    output.cache = { state: "miss", why: "the cached downloads were not enough for an offline install" };
    before = ran.results;
    await store.discard(hit);
    await emptyHome(home); // what the offline pass wrote is not published
  } else output.cache = { state: "miss" };
  const ran = await online(
    input,
    output,
    tree,
    home,
    what,
    before,
    hit
      ? "the cached downloads were not enough for an offline install, and the starting commit is the default branch's"
      : "the starting commit is the default branch's, and the cache had no entry for its lockfile yet (this install fills it)",
  );
  if (ran.ok) output.cache.bytes = (await store.publish(scope, key, home)) ?? output.cache.bytes;
  return ran;
}

/** An install with the way out, for a trusted tree only. */
async function online(
  input: SetupInput,
  output: SetupOutput,
  tree: Tree,
  home: SetupHome,
  what: InstallPlan,
  before: SetupCommand[],
  why: string,
): Promise<Installation> {
  if (what.source === "detected") await reachRegistry(input, what.ecosystem);
  output.network = { mode: "online", why };
  return install(input, tree, home, what, false, before);
}

/**
 * A tree that holds unreviewed code: never the way out. Its install runs offline, from the cache's
 * entry for its own key, or else from a fill of the default branch's commit in the same home.
 */
async function untrustedInstall(
  input: SetupInput,
  output: SetupOutput,
  tree: Tree,
  home: SetupHome,
  what: InstallPlan,
  trust: { why: string; base: () => Promise<string> },
): Promise<Installation> {
  const store = input.cache?.store;
  const scope = input.cache?.scope;
  const hit = store && scope && "key" in what.key ? await store.lookup(scope, what.key.key) : undefined;
  let before: SetupCommand[] = [];
  if (hit) {
    await store!.restore(hit, home);
    const ran = await install(input, tree, home, what, true);
    output.cache = { state: "hit", bytes: hit.bytes };
    output.network = {
      mode: "offline",
      why: `${trust.why}: it installs only from the default branch's downloads, here from the dependency cache`,
    };
    if (ran.ok) return ran;
    before = ran.results;
    await emptyHome(home);
  }
  const fill = await fillFromBase(input, home, await trust.base());
  output.cache = fill.cache;
  if (!fill.ran.ok) return { ...fill.ran, results: [...before, ...fill.ran.results] };
  output.network = {
    mode: "offline",
    why: `${trust.why}: it installs only from what the default branch's commit downloaded`,
  };
  const ran = await install(input, tree, home, what, true);
  return { ...ran, results: [...before, ...fill.ran.results, ...ran.results] };
}

/** The default branch's commit set up as a trusted tree in a worktree of its own, into `home`; the worktree is then removed. */
async function fillFromBase(input: SetupInput, home: SetupHome, base: string): Promise<{ ran: Installation; cache: SetupOutput["cache"] }> {
  const id = randomUUID().slice(0, 8);
  const dir = await input.ws.addWorktree(`setup-base-${id}`, `tollgate-setup-base-${id}`, base);
  try {
    const detected = await detectProject(dir);
    const commands = input.config.setup.commands ?? detected.setup;
    const what = await planInstall(input, dir, detected, commands);
    const output = { cache: { state: "off" } } as SetupOutput;
    const ran = commands.length
      ? await trustedInstall(input, output, { dir, readOnly: input.ws.readOnlyPaths(dir) }, home, what)
      : { ok: true, results: [] };
    return { ran: { ...ran, results: ran.results.map((r) => ({ ...r, onBase: true })) }, cache: output.cache };
  } finally {
    await input.ws.discardWorktree(dir);
  }
}

/** Empties the run's home (a failed offline pass's writes are not published, nor installed from). */
async function emptyHome(home: SetupHome): Promise<void> {
  for (const d of Object.values(home)) {
    await rm(d, { recursive: true, force: true });
    await mkdir(d, { recursive: true });
  }
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

/**
 * Runs the commands in order until one fails; `before` are the results of an earlier pass.
 * Tollgate's own Corepack step comes first: the shims and the package manager it downloads are
 * written by it alone, then seen read-only by the repository's commands.
 */
async function install(
  input: SetupInput,
  tree: Tree,
  home: SetupHome,
  what: Pick<InstallPlan, "commands" | "corepack" | "tools" | "corepackRuntime">,
  offline: boolean,
  before: SetupCommand[] = [],
): Promise<Installation> {
  const { sandbox, config } = input;
  const { commands, corepack } = what;
  const env = setupEnv(home, tree.dir, { offline, extra: input.extraEnv, tools: what.tools });
  // the repository's `env:` is for its own commands, never Tollgate's (a NODE_OPTIONS would load its code into Corepack)
  // (Corepack 0.35 and later reach the registry through the way out with Node's own proxy support)
  const own = {
    writable: [home.home, home.bin, home.corepack],
    readOnly: [...tree.readOnly, ...what.tools.dirs],
    env: what.corepackRuntime ? { ...env, NODE_USE_ENV_PROXY: "1" } : env,
  };
  const repository = {
    writable: [home.home],
    readOnly: [...tree.readOnly, home.bin, home.corepack, ...what.tools.dirs],
    env: setupEnv(home, tree.dir, { offline, extra: input.extraEnv, repo: config.env, tools: what.tools }),
  };
  // Tollgate's own Corepack (current signing keys) on a Node that meets its engines; the host's when toolchains are off
  const corepackArgv = what.corepackRuntime ? [what.corepackRuntime.node, what.corepackRuntime.script] : ["corepack"];
  const steps = [
    // Corepack's shims in the run's bin folder: `pnpm` / `yarn` by name, for setup and every later command,
    // and the package manager itself, fetched by Corepack (which checks its signature) before any repository code runs
    ...(corepack
      ? [
          {
            argv: [...corepackArgv, "enable", "--install-directory", home.bin, corepack.name],
            shown: ["corepack", "enable", corepack.name],
            ...own,
          },
          { argv: [...corepackArgv, corepack.name, "--version"], shown: ["corepack", corepack.name, "--version"], ...own },
        ]
      : []),
    ...commands.map((argv) => ({ argv, shown: argv, ...repository })),
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
          cwd: tree.dir,
          sandbox,
          ...(egress && !offline ? { egress: egress.socket } : {}),
          writable: step.writable,
          readOnly: step.readOnly,
          runDir: path.dirname(input.ws.dir), // the run's folder holds the home too: one disk limit for all
          env: step.env,
          timeoutMs: config.setup.timeout_seconds * 1000,
          maxOutputChars: 40_000,
          // the proxy stops the command too, when it goes past a cap of the way out
          signal: egress ? AbortSignal.any([egress.signal, ...(input.signal ? [input.signal] : [])]) : input.signal,
        }),
      );
      await input.record?.(step.shown, result);
      const done = { argv: step.shown, exitCode: result.exitCode, timedOut: result.timedOut, durationMs: result.durationMs, offline };
      results.push(done);
      if (egress?.exceeded)
        throw new SetupFailed(
          `setup stopped: \`${step.shown.join(" ")}\` ${egress.exceeded}, so it was stopped, nothing else ran and no model was paid. The way out (the sandbox's HTTPS proxy) is for downloads from package registries on the public internet; look for an install script that opens connections in a loop, or to private or internal addresses.`,
        );
      if (result.exitCode !== 0 || result.timedOut) return { ok: false, results, failed: { ...done, output: result.output } };
      tail = lastLines(result.output, 10);
    }
  } finally {
    // counts and a few samples only: what the proxy keeps is bounded (src/sandbox/egress.ts)
    const summary = egress?.summary();
    if (summary?.refused || summary?.exceeded) input.log.warn({ egress: summary }, "setup tried connections the way out refuses");
    await egress?.close();
  }
  return { ok: !input.signal?.aborted, results, tail };
}

/** The failure as the issue shows it: the command, how it ended, its last lines, and what to change. */
function failure(failed: SetupCommand & { output: string }, source: SetupOutput["source"], trust: SetupTrust): string {
  const how = failed.timedOut ? "timed out" : `exited with code ${failed.exitCode ?? "none"}`;
  const tail = lastLines(failed.output, 25);
  const change =
    source === "detected"
      ? "Tollgate detected this command. If it is not how this repository installs, set `setup.commands` in .github/tollgate.yml (argv lists, run with the network on and no secrets); `setup.commands: []` skips setup."
      : "Fix the command in `setup.commands` in .github/tollgate.yml, or the repository's install; `setup.commands: []` skips setup.";
  const untrusted =
    trust.trusted || failed.onBase
      ? []
      : [
          "",
          `This tree holds code nobody reviewed (${trust.why}), so its install never has the network: it ran offline, from what the default branch's lockfile installs. If the change adds or updates a dependency, that cannot be installed here: merge the dependency change to the default branch first, or start a new run from the issue.`,
        ];
  return [
    `setup failed: \`${failed.argv.join(" ")}\`${failed.onBase ? " (on the default branch's commit, which this tree installs from)" : ""} ${how} after ${Math.round(failed.durationMs / 1000)} s, so nothing else ran and no model was paid.`,
    "",
    "Its last lines:",
    "",
    ...fenced(tail),
    "",
    change,
    ...untrusted,
  ].join("\n");
}

/** The last `n` lines of a command's output, secrets masked. */
function lastLines(output: string, n: number): string {
  return maskSecrets(output).trimEnd().split("\n").slice(-n).join("\n");
}
