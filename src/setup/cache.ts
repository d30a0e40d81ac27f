/**
 * The dependency cache: the package managers' download caches (npm's, pnpm's store, Corepack's
 * package managers, pip's, Go's modules, Cargo's registry) kept between runs of one repository, so
 * that a second run on the same lockfile installs without downloading.
 *
 *   <dataDir>/cache/<installation>/<owner>/<repo>/<key>/{home,bin,entry.json}
 *
 * The key is a hash of the lockfile, the setup commands and the toolchain's versions; an entry is
 * never shared between repositories or installations (a repository's install scripts write it,
 * so it is trusted no further than that repository). `entry.json` says whether the entry is
 * complete (a setup finished with it), its size and when it was last used; the total is capped,
 * and the least recently used entries go first. An entry used in the last six hours is never
 * evicted (a run may still be reading it), nor one a setup holds.
 */
import { createHash } from "node:crypto";
import { mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import lockfile from "proper-lockfile";
import { diskBytes } from "../sandbox/process.js";

/** An entry used this recently is never evicted: a run that set up with it may still be reading it. */
const RECENT_MS = 6 * 3_600_000;

/** The cache's cap when the operator sets none (TOLLGATE_CACHE_MAX_GB). */
export const DEFAULT_CACHE_MAX_BYTES = 10 * 1024 ** 3;

export interface CacheEntryInfo {
  key: string;
  complete: boolean;
  bytes: number;
  lastUsed: string;
}

export interface CacheEntry {
  /** The entry's folder: `home` holds the caches, `bin` the package managers' shims. */
  dir: string;
  key: string;
  /** Whether an earlier setup completed with this entry (a hit). */
  hit: boolean;
  /** Lets another setup of the same key use the entry (each setup holds it while it installs). */
  release(): Promise<void>;
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

  /**
   * The entry for `key` in `scope`, made when missing, marked used now, and held until `release`:
   * a second setup of the same key (another run, another worker) waits for the first, then finds
   * its downloads (a hit) instead of writing the same folder at the same time.
   */
  async open(scope: CacheScope, key: string): Promise<CacheEntry> {
    const dir = path.join(this.#scopeDir(scope), key);
    await mkdir(path.join(dir, "home"), { recursive: true });
    await mkdir(path.join(dir, "bin"), { recursive: true });
    const release = await lockfile.lock(dir, {
      stale: 60_000,
      update: 10_000,
      retries: { retries: 200, minTimeout: 500, maxTimeout: 5_000 },
    });
    const info = await readInfo(dir);
    await writeInfo(dir, { key, complete: info?.complete ?? false, bytes: info?.bytes ?? 0, lastUsed: new Date(this.now()).toISOString() });
    let released = false;
    return {
      dir,
      key,
      hit: info?.complete === true,
      release: async () => {
        if (released) return;
        released = true;
        await release().catch(() => undefined); // a discarded entry took its lock with it
      },
    };
  }

  /** After a setup that succeeded: the entry is complete, measured, and the cache is brought under its cap. */
  async complete(entry: CacheEntry): Promise<number> {
    const bytes = (await diskBytes(entry.dir)) ?? 0;
    await writeInfo(entry.dir, { key: entry.key, complete: true, bytes, lastUsed: new Date(this.now()).toISOString() });
    await this.evict(entry.dir);
    return bytes;
  }

  /**
   * After a setup that failed: an entry it started is removed, so a broken download is not reused;
   * `evenIfComplete` removes an entry that was a hit too (it could not install even with the network).
   */
  async discard(entry: CacheEntry, options: { evenIfComplete?: boolean } = {}): Promise<void> {
    if (!entry.hit || options.evenIfComplete) await rm(entry.dir, { recursive: true, force: true });
  }

  /** Every entry, with its folder. */
  async entries(): Promise<Array<CacheEntryInfo & { dir: string }>> {
    const found: Array<CacheEntryInfo & { dir: string }> = [];
    for (const installation of await names(this.root))
      for (const owner of await names(path.join(this.root, installation)))
        for (const repo of await names(path.join(this.root, installation, owner)))
          for (const key of await names(path.join(this.root, installation, owner, repo))) {
            const dir = path.join(this.root, installation, owner, repo, key);
            const info = await readInfo(dir);
            if (info) found.push({ ...info, dir });
          }
    return found;
  }

  /**
   * Removes the least recently used entries until the cache is under its cap, never `keep` nor an
   * entry used in the last hour. Returns the folders removed.
   */
  async evict(keep?: string): Promise<string[]> {
    const all = (await this.entries()).sort((a, b) => a.lastUsed.localeCompare(b.lastUsed));
    let total = all.reduce((sum, e) => sum + e.bytes, 0);
    const removed: string[] = [];
    const recent = this.now() - RECENT_MS;
    for (const entry of all) {
      // an entry no setup completed in a day was left by a crash: it goes, whatever the total
      const abandoned = !entry.complete && Date.parse(entry.lastUsed) < this.now() - 86_400_000;
      if (total <= this.maxBytes && !abandoned) continue;
      if (entry.dir === keep || Date.parse(entry.lastUsed) > recent || (await lockfile.check(entry.dir).catch(() => true))) continue;
      await rm(entry.dir, { recursive: true, force: true });
      total -= entry.bytes;
      removed.push(entry.dir);
    }
    return removed;
  }

  /** For `/health`: how many entries, their size, and the cap. */
  async stats(): Promise<CacheStats> {
    const all = await this.entries();
    return { entries: all.length, bytes: all.reduce((sum, e) => sum + e.bytes, 0), maxBytes: this.maxBytes };
  }
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
