/**
 * The dependency cache: the package managers' downloads kept between runs of one repository, so
 * that a second run on the same lockfile installs without the network.
 *
 *   <dataDir>/cache/<installation>/<owner>/<repo>/<key>/{stores/<store>…, entry.json}
 *
 * A repository's install scripts are code Tollgate does not trust, so nothing they write is ever
 * run by a later run (docs/security.md, "The dependency cache carries no code"):
 * - a setup never writes an entry: it installs into a home of its own run (`<run>/setup`), and a
 *   hit is *copied* there first;
 * - only a *trusted fill* publishes an entry: a setup of a tree that is the default branch's
 *   (never a pull request's head, a revision, or a human's branch), that succeeded, and that had
 *   no entry for its key. It is published atomically (a staging folder renamed into place), keyed
 *   by the lockfile, the setup commands, the toolchain and the package managers' settings;
 * - what is published is the package managers' content-addressed stores, which they check
 *   against the lockfile's integrity data on every install (npm's `_cacache`, pnpm's store), and
 *   the package managers Corepack downloaded (written by Tollgate's own step, which no repository
 *   command may write): regular files and folders only, no link, no setuid bit. Everything else an
 *   install wrote outside the checkout (npx's folder, pip's, Go's and Cargo's caches, programs
 *   planted beside the stores) goes with the run.
 *
 * An entry is never shared between repositories or installations. The total is capped, and the
 * least recently used entries go first; an entry used in the last six hours is never evicted (a
 * run may still be copying it).
 */
import { createHash, randomUUID } from "node:crypto";
import { execFile } from "node:child_process";
import { chmod, copyFile, lstat, mkdir, readdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import pMap from "p-map";
import { diskBytes } from "../sandbox/process.js";
import type { SetupHome } from "./environment.js";

const exec = promisify(execFile);

/** An entry used this recently is never evicted: a run that set up with it may still be reading it. */
const RECENT_MS = 6 * 3_600_000;
/** Entries of the layout before this one may hold programs a repository planted: never used, evicted first. */
const FORMAT = 2;

/** The cache's cap when the operator sets none (TOLLGATE_CACHE_MAX_GB). */
export const DEFAULT_CACHE_MAX_BYTES = 10 * 1024 ** 3;

/** The stores an entry keeps, and where each lives in a setup's home. Nothing else is published. */
const STORES: Record<string, (home: SetupHome) => string> = {
  "npm-cacache": (h) => path.join(h.home, "npm", "_cacache"),
  "pnpm-store": (h) => path.join(h.home, "pnpm-store"),
  corepack: (h) => h.corepack,
};

export interface CacheEntryInfo {
  key: string;
  format?: number;
  complete: boolean;
  bytes: number;
  lastUsed: string;
}

/** A published entry a setup can copy its downloads from. */
export interface CacheHit {
  dir: string;
  key: string;
  bytes: number;
}

export interface CacheStats {
  entries: number;
  bytes: number;
  maxBytes: number;
}

export interface CacheScope {
  /** The installation (absent for a local `tollgate run`). */
  installationId?: number;
  /** `owner/repo`. */
  repository: string;
}

/** A path segment from a name GitHub chose or a user typed: letters, digits, `._-` only, never `.` or `..`. */
function segment(name: string): string {
  const clean = name.toLowerCase().replace(/[^a-z0-9._-]/g, "_");
  return /^\.+$/.test(clean) || !clean ? `_${clean}` : clean;
}

/** The cache key: the lockfile's bytes, the setup commands and the toolchain, hashed together. */
export function cacheKey(lockfile: Buffer, commands: string[][], toolchain: string): string {
  const hash = createHash("sha256");
  for (const part of [lockfile, JSON.stringify(commands), toolchain]) hash.update(createHash("sha256").update(part).digest());
  return hash.digest("hex").slice(0, 32);
}

export class DependencyCache {
  readonly root: string;

  constructor(
    dataDir: string,
    readonly maxBytes: number,
    private readonly now: () => number = Date.now,
  ) {
    this.root = path.join(dataDir, "cache");
  }

  #scopeDir(scope: CacheScope): string {
    const [owner = "", repo = ""] = scope.repository.split("/");
    return path.join(this.root, scope.installationId === undefined ? "local" : String(scope.installationId), segment(owner), segment(repo));
  }

  /** The published entry for `key` in `scope`, marked used now; undefined when there is none. */
  async lookup(scope: CacheScope, key: string): Promise<CacheHit | undefined> {
    const dir = path.join(this.#scopeDir(scope), key);
    const info = await readInfo(dir);
    if (!info?.complete || info.format !== FORMAT) return undefined;
    await writeInfo(dir, { ...info, lastUsed: new Date(this.now()).toISOString() });
    return { dir, key, bytes: info.bytes };
  }

  /** Copies a hit's stores into a setup's own home (copy-on-write where the file system can). */
  async restore(hit: CacheHit, home: SetupHome): Promise<void> {
    for (const [name, where] of Object.entries(STORES)) {
      const from = path.join(hit.dir, "stores", name);
      if (!(await isDir(from))) continue;
      const to = where(home);
      await mkdir(to, { recursive: true });
      await exec("cp", ["-a", "--reflink=auto", "--no-preserve=ownership", `${from}/.`, to], { timeout: 600_000 });
    }
  }

  /**
   * A trusted fill's downloads become the entry for `key`: the stores are copied (regular files
   * and folders only, no setuid bit) into a staging folder that is renamed into place. Returns
   * the entry's size, or undefined when another fill published the key first (its entry stays).
   */
  async publish(scope: CacheScope, key: string, home: SetupHome): Promise<number | undefined> {
    const parent = this.#scopeDir(scope);
    const final = path.join(parent, key);
    const existing = await readInfo(final);
    if (existing?.complete && existing.format === FORMAT) return undefined;
    if (existing) await rm(final, { recursive: true, force: true }); // an earlier layout's, never used
    const staging = path.join(parent, `.fill-${randomUUID()}`);
    try {
      for (const [name, where] of Object.entries(STORES)) await copyPlain(where(home), path.join(staging, "stores", name));
      await mkdir(staging, { recursive: true });
      const bytes = (await diskBytes(staging)) ?? 0;
      await writeInfo(staging, { key, format: FORMAT, complete: true, bytes, lastUsed: new Date(this.now()).toISOString() });
      try {
        await rename(staging, final);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === "ENOTEMPTY" || code === "EEXIST") return undefined; // another fill was first
        throw error;
      }
      await this.evict(final);
      return bytes;
    } finally {
      await rm(staging, { recursive: true, force: true });
    }
  }

  /** Removes an entry that turned out not to be enough for an offline install (a fill replaces it). */
  async discard(hit: CacheHit): Promise<void> {
    await rm(hit.dir, { recursive: true, force: true });
  }

  /** Every entry, with its folder (staging folders and unreadable ones left out). */
  async entries(): Promise<Array<CacheEntryInfo & { dir: string }>> {
    const found: Array<CacheEntryInfo & { dir: string }> = [];
    for (const dir of await this.#keyDirs()) {
      if (path.basename(dir).startsWith(".")) continue;
      const info = await readInfo(dir);
      if (info) found.push({ ...info, dir });
    }
    return found;
  }

  async #keyDirs(): Promise<string[]> {
    const dirs: string[] = [];
    for (const installation of await names(this.root))
      for (const owner of await names(path.join(this.root, installation)))
        for (const repo of await names(path.join(this.root, installation, owner)))
          for (const key of await names(path.join(this.root, installation, owner, repo)))
            dirs.push(path.join(this.root, installation, owner, repo, key));
    return dirs;
  }

  /**
   * Removes the least recently used entries until the cache is under its cap, never `keep` nor an
   * entry used in the last six hours; entries of an older layout, and staging folders a crash
   * left a day ago, go whatever the total. Returns the folders removed.
   */
  async evict(keep?: string): Promise<string[]> {
    const removed: string[] = [];
    for (const dir of await this.#keyDirs()) {
      const stale = path.basename(dir).startsWith(".fill-") && (await mtime(dir)) < this.now() - 86_400_000;
      const old = !path.basename(dir).startsWith(".") && (await readInfo(dir))?.format !== FORMAT;
      if (dir !== keep && (stale || old)) {
        await rm(dir, { recursive: true, force: true });
        removed.push(dir);
      }
    }
    const all = (await this.entries()).sort((a, b) => a.lastUsed.localeCompare(b.lastUsed));
    // the Node versions and the Corepack Tollgate provides (src/setup/node-toolchain.ts) count toward the cap too
    let total = all.reduce((sum, e) => sum + e.bytes, 0) + (await this.toolchainBytes());
    const recent = this.now() - RECENT_MS;
    for (const entry of all) {
      if (total <= this.maxBytes) break;
      if (entry.dir === keep || Date.parse(entry.lastUsed) > recent) continue;
      await rm(entry.dir, { recursive: true, force: true });
      total -= entry.bytes;
      removed.push(entry.dir);
    }
    return removed;
  }

  /** For `/health`: how many entries, their size with the toolchains', and the cap. */
  async stats(): Promise<CacheStats> {
    const all = await this.entries();
    return {
      entries: all.length,
      bytes: all.reduce((sum, e) => sum + e.bytes, 0) + (await this.toolchainBytes()),
      maxBytes: this.maxBytes,
    };
  }

  /** The toolchains' folder beside the cache (never evicted here: a run may be using one). */
  private async toolchainBytes(): Promise<number> {
    const dir = path.join(path.dirname(this.root), "toolchains");
    return (await isDir(dir)) ? ((await diskBytes(dir)) ?? 0) : 0;
  }
}

/**
 * Copies the folder `from` (written by sandboxed commands) to `to`: folders and regular files
 * only, never through or as a link, with no setuid, setgid or sticky bit and nobody but the
 * owner able to write. A missing `from` copies nothing.
 */
async function copyPlain(from: string, to: string): Promise<void> {
  const files: string[] = [];
  const walk = async (rel: string): Promise<void> => {
    const info = await lstat(path.join(from, rel)).catch(() => undefined);
    if (!info?.isDirectory()) return;
    await mkdir(path.join(to, rel), { recursive: true });
    for (const child of await readdir(path.join(from, rel), { withFileTypes: true })) {
      const name = path.join(rel, child.name);
      if (child.isDirectory()) await walk(name);
      else if (child.isFile()) files.push(name); // links, FIFOs, sockets, devices: not carried
    }
  };
  await walk("");
  await pMap(
    files,
    async (name) => {
      await copyFile(path.join(from, name), path.join(to, name));
      await chmod(path.join(to, name), (await lstat(path.join(from, name))).mode & 0o755);
    },
    { concurrency: 16 },
  );
}

async function isDir(dir: string): Promise<boolean> {
  return (await lstat(dir).catch(() => undefined))?.isDirectory() ?? false;
}

async function mtime(dir: string): Promise<number> {
  return (await stat(dir).catch(() => undefined))?.mtimeMs ?? 0;
}

async function names(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isDirectory()).map((e) => e.name);
}

async function readInfo(dir: string): Promise<CacheEntryInfo | undefined> {
  try {
    const info = JSON.parse(await readFile(path.join(dir, "entry.json"), "utf8")) as CacheEntryInfo;
    return typeof info.lastUsed === "string" && typeof info.bytes === "number" ? info : undefined;
  } catch {
    return undefined;
  }
}

async function writeInfo(dir: string, info: CacheEntryInfo): Promise<void> {
  await writeFile(path.join(dir, "entry.json"), JSON.stringify(info));
}
