import { mkdir } from "node:fs/promises";
import { PGlite } from "@electric-sql/pglite";
import lockfile from "proper-lockfile";
import type { Database, Queryable } from "./database.js";
import { INT8_OID, parseInt8 } from "./database.js";

/** Two processes writing one embedded database would corrupt it. */
export class DatabaseInUseError extends Error {
  override name = "DatabaseInUseError";
}

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
    const db = await PGlite.create({
      dataDir,
      parsers: { [INT8_OID]: parseInt8 },
      ...(template ? { loadDataDir: template } : {}),
    });
    return wrap(db, unlock);
  } catch (error) {
    await unlock();
    throw error;
  }
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
  return {
    kind: "pglite",
    query: base.query,
    exec: base.exec,
    transaction: (fn) => db.transaction((tx) => fn(asQueryable(tx))),
    // The embedded database belongs to this one process: there is nobody to exclude.
    exclusive: (_key, fn) => fn(),
    async close() {
      if (!db.closed) await db.close();
      await unlock().catch(() => undefined); // already released, or its folder is gone
    },
    dump: () => db.dumpDataDir("none"),
  };
}

