import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { createRequire } from "node:module";
import path from "node:path";
import { PGlite } from "@electric-sql/pglite";
import lockfile from "proper-lockfile";
import type { Database, Queryable } from "./database.js";
import { INT8_OID, parseInt8 } from "./database.js";
import { FinalError } from "../errors.js";
import { PriorityLanes } from "./priority.js";

/** Two processes writing one embedded database would corrupt it. */
export class DatabaseInUseError extends FinalError {
  override name = "DatabaseInUseError";
}

/**
 * Server settings, on top of PGlite's own start parameters (single-user mode, fsync off, no
 * parallel workers...). Only memory that PostgreSQL allocates up front is changed; the
 * per-query limits (work_mem 4MB, maintenance_work_mem 64MB, temp_buffers 8MB) keep their
 * defaults, so large sorts, index builds and temporary tables behave as before.
 */
const START_PARAMS = [
  ...PGlite.defaultStartParams,
  // The page cache inside the WASM heap, written in full at start: at the default 128MB it is
  // most of the idle memory. Tollgate's data is a few MB and a miss is one read() from the OS
  // page cache, so 16MB (2048 pages) holds the working set.
  "-c",
  "shared_buffers=16MB",
  // The WAL buffer would shrink with shared_buffers (1/32 of it, 512kB): keep the 4MB it had,
  // so a large transaction does not write its WAL out more often.
  "-c",
  "wal_buffers=4MB",
];

/**
 * Opens (creating when needed) the embedded database in `dataDir`, or an in-memory one when
 * `dataDir` is undefined. `template` is a dump from `dumpDataDir()` to start from (tests).
 */
export interface EmbeddedDatabase extends Database {
  /** The whole data directory as a tarball, loadable with `openPglite(undefined, dump)`. */
  dump(): Promise<Blob>;
}

export async function openPglite(dataDir: string | undefined, template?: Blob): Promise<EmbeddedDatabase> {
  let unlock: () => Promise<void> = async () => undefined;
  if (dataDir) {
    await mkdir(dataDir, { recursive: true }); // PGlite does not create parents
    try {
      // A lock its process refreshes every 3 s: after a crash it goes stale within 10 s, and
      // the retries wait that long, so a restart after a crash opens the data.
      unlock = await lockfile.lock(dataDir, {
        stale: 10_000,
        update: 3_000,
        realpath: false,
        retries: { retries: 7, factor: 1.5, minTimeout: 1_000, maxTimeout: 3_000 },
      });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ELOCKED") throw error;
      throw new DatabaseInUseError(
        `the embedded database in ${dataDir} is in use by another Tollgate process: stop it first, or give this one its own TOLLGATE_DATA_DIR`,
      );
    }
  }
  try {
    if (dataDir && !template && !existsSync(path.join(dataDir, "PG_VERSION"))) await initdbInChild(dataDir);
    const db = await PGlite.create({
      dataDir,
      parsers: { [INT8_OID]: parseInt8 },
      startParams: START_PARAMS,
      ...(template ? { loadDataDir: template } : {}),
    });
    return wrap(db, unlock);
  } catch (error) {
    await unlock();
    throw error;
  }
}

/**
 * Creates a new database in `dataDir` in a child process. PGlite's initdb runs a second
 * PostgreSQL instance and copies its heap; in this process that left ~450MB of garbage that an
 * idle process never collects (and allocator fragmentation even when it does). A child
 * returns all of it to the system when it exits; this process then opens the database as on
 * any restart. The child dies with us (IPC disconnect) so it never writes without our lock.
 */
async function initdbInChild(dataDir: string): Promise<void> {
  const pglite = createRequire(import.meta.url).resolve("@electric-sql/pglite");
  const script = `
    process.on("disconnect", () => process.exit(1));
    const { pglite, dataDir, startParams } = JSON.parse(process.argv[1]);
    require(pglite).PGlite.create({ dataDir, startParams })
      .then((db) => db.close())
      .then(() => process.exit(0), (error) => { console.error(error?.stack ?? String(error)); process.exit(1); });`;
  const child = spawn(process.execPath, ["-e", script, JSON.stringify({ pglite, dataDir, startParams: START_PARAMS })], {
    stdio: ["ignore", "ignore", "pipe", "ipc"],
  });
  let stderr = "";
  child.stderr?.setEncoding("utf8").on("data", (chunk: string) => (stderr = (stderr + chunk).slice(-4000)));
  const exit = await new Promise<number | string | null>((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code, signal) => resolve(code ?? signal));
  });
  if (exit !== 0) throw new Error(`creating the embedded database in ${dataDir} failed: ${stderr.trim() || `exit ${exit}`}`);
}

function wrap(db: PGlite, unlock: () => Promise<void>): EmbeddedDatabase {
  const asQueryable = (q: Pick<PGlite, "query" | "exec">): Queryable => ({
    async query<T>(sql: string, params?: unknown[]) {
      const result = await q.query<T>(sql, params as unknown[]);
      return { rows: result.rows };
    },
    async exec(sql: string) {
      const results = await q.exec(sql);
      return { rows: (results[results.length - 1]?.rows ?? []) as Record<string, unknown>[] };
    },
  });
  const base = asQueryable(db);
  // one statement or transaction at a time, the webhook path's first (src/db/priority.ts)
  const lanes = new PriorityLanes();
  return {
    kind: "pglite",
    query: (sql, params) => lanes.run(() => base.query(sql, params)),
    exec: (sql) => lanes.run(() => base.exec(sql)),
    transaction: (fn) => lanes.run(() => db.transaction((tx) => fn(asQueryable(tx)))),
    // The embedded database belongs to this one process: there is nobody to exclude.
    exclusive: (_key, fn) => fn(),
    async close() {
      if (!db.closed) await db.close();
      await unlock().catch(() => undefined); // already released, or its folder is gone
    },
    dump: () => db.dumpDataDir("none"),
  };
}
