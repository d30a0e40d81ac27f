/**
 * What a tree installs, decided before anything is installed: its commands, the Corepack package
 * manager, the toolchain Tollgate provides (src/setup/node-toolchain.ts), the programs' versions
 * (asked in the sandbox) and the dependency cache's key.
 */
import type { RepoConfig } from "../config/repo-config.js";
import { runSandboxed } from "../sandbox/process.js";
import type { Sandbox } from "../sandbox/sandbox.js";
import { cacheKey, type CacheScope, type DependencyCache } from "./cache.js";
import { readBytes, type Detected, type Ecosystem } from "./detect.js";
import { toolchainPath, type Toolchain } from "./environment.js";
import type { NodeToolchains } from "./node-toolchain.js";
import { toolchainPrograms, versionArgv, versionLine } from "./toolchain.js";

/** Files whose settings change what a lockfile installs (registries, hoisting, workspaces): part of the cache key. */
const KEYED_SETTINGS = ["package.json", ".npmrc", ".yarnrc", ".yarnrc.yml", "pnpm-workspace.yaml", "pyproject.toml", "setup.cfg"];

/** What planning needs of a setup's input. */
export interface PlanContext {
  config: RepoConfig;
  sandbox: Sandbox;
  cache?: { store: DependencyCache; scope: CacheScope };
  toolchains?: NodeToolchains;
}

/** What a tree installs: its commands, Corepack's package manager, the toolchain, and the cache key. */
export interface InstallPlan {
  commands: string[][];
  corepack: { name: string; spec: string } | undefined;
  ecosystem: Ecosystem;
  source: "configured" | "detected" | "none";
  versions: Map<string, string>;
  /** Tollgate's toolchain for the tree (its Node, its Corepack), and which Node and why. */
  tools: Toolchain;
  /** Tollgate's Corepack and the Node it runs on (absent: the host's Corepack). */
  corepackRuntime?: { script: string; node: string; dirs: string[] };
  node?: { node?: string; why: string };
  /** The cache key, or why there is none. */
  key: { key: string } | { why: string };
}

export async function planInstall(input: PlanContext, dir: string, detected: Detected, commands: string[][]): Promise<InstallPlan> {
  const corepack = corepackManager(detected);
  const wanted = wantedNode(input, detected); // `toolchain.node` counts when nothing is detected too
  const choice = input.toolchains && (commands.length || wanted) ? await input.toolchains.choose(wanted) : undefined;
  const corepackRuntime = corepack ? await input.toolchains?.corepack() : undefined;
  const tools: Toolchain = {
    path: choice?.bin ? [choice.bin] : [],
    dirs: [...new Set([...(choice?.bin ? [choice.bin] : []), ...(corepackRuntime?.dirs ?? [])])],
  };
  const versions = await toolVersions(input, dir, commands, detected, corepack, { tools, corepackRuntime });
  const toolchain = [...versions].map(([p, v]) => `${p}=${v}`).join("\n") + (corepack ? `\ncorepack:${corepack.spec}` : "");
  const source = input.config.setup.commands ? "configured" : commands.length ? "detected" : "none";
  const node = choice && { ...(choice.version && { node: choice.version }), why: choice.why };
  const base = { commands, corepack, ecosystem: detected.ecosystem, source, versions, tools, corepackRuntime, node } as const;
  if (!input.cache) return { ...base, key: { why: "no dependency cache is configured" } };
  // only stores the package managers check against the lockfile are kept (src/setup/cache.ts)
  if (detected.ecosystem !== "node")
    return { ...base, key: { why: "only npm's and pnpm's downloads are kept between runs (they are checked against the lockfile)" } };
  // read as detection reads: no symlink followed, no FIFO opened, a size cap
  const lock = detected.lockfile ? await readBytes(dir, detected.lockfile, 64 * 1024 ** 2) : undefined;
  if (!lock) return { ...base, key: { why: "no lockfile to key a cache by" } };
  // the package managers' own settings change what a lockfile installs: they key the entry too
  const settings = await Promise.all(KEYED_SETTINGS.map(async (f) => `${f}:${(await readBytes(dir, f))?.toString("base64") ?? ""}`));
  // so does the repository's `env:` (a registry, a flag), which its install commands get
  const env = `env:${JSON.stringify(Object.entries(input.config.env ?? {}).sort(([a], [b]) => a.localeCompare(b)))}`;
  return { ...base, key: { key: cacheKey(lock, commands, [toolchain, ...settings, env].join("\n")) } };
}

/** pnpm or yarn, which Corepack provides (pinned by `packageManager`, or Corepack's default version). */
function corepackManager(detected: Detected): { name: string; spec: string } | undefined {
  const pm = detected.packageManager;
  if (!pm || (pm.name !== "pnpm" && pm.name !== "yarn")) return undefined;
  return { name: pm.name, spec: pm.version ? `${pm.name}@${pm.version}` : pm.name };
}

/** The Node a tree asks for: `toolchain.node` in the repository's config, else what detection found. */
export function wantedNode(input: Pick<PlanContext, "config">, detected: Detected): { wanted: string; from: string } | undefined {
  const configured = input.config.toolchain.node;
  return configured ? { wanted: configured, from: "toolchain.node in .github/tollgate.yml" } : detected.node;
}

/** The versions of the programs setup runs, asked in the sandbox without the network, on the tree's toolchain. */
async function toolVersions(
  input: PlanContext,
  dir: string,
  commands: string[][],
  detected: Detected,
  corepack: { name: string } | undefined,
  toolchain: { tools: Toolchain; corepackRuntime?: InstallPlan["corepackRuntime"] },
): Promise<Map<string, string>> {
  const programs = toolchainPrograms(commands, detected.ecosystem === "node" || toolchain.tools.path.length > 0).filter(
    (p) => p !== corepack?.name,
  );
  if (corepack) programs.push("corepack"); // its version decides the package manager's when nothing pins one
  const versions = new Map<string, string>();
  for (const program of programs) {
    const argv =
      program === "corepack" && toolchain.corepackRuntime
        ? [toolchain.corepackRuntime.node, toolchain.corepackRuntime.script, "--version"]
        : versionArgv(program);
    const result = await runSandboxed({
      argv,
      cwd: dir,
      sandbox: input.sandbox,
      env: { PATH: toolchainPath(toolchain.tools) },
      readOnly: toolchain.tools.dirs,
      timeoutMs: 30_000,
    });
    versions.set(program, versionLine(result.exitCode, result.output));
  }
  return versions;
}
