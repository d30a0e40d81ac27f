import { mkdir } from "node:fs/promises";
import { PGlite } from "@electric-sql/pglite";
import type { Database, Queryable } from "./database.js";
import { parseInt8 } from "./database.js";

const INT8_OID = 20;

/**
 * Opens (creating when needed) the embedded database in `dataDir`, or an in-memory one when
 * `dataDir` is undefined. `template` is a dump from `dumpDataDir()` to start from (tests).
 */
export interface EmbeddedDatabase extends Database {
  /** The whole data directory as a tarball, loadable with `openPglite(undefined, dump)`. */
  dump(): Promise<Blob>;
}

export async function openPglite(dataDir: string | undefined, template?: Blob): Promise<EmbeddedDatabase> {
  if (dataDir) await mkdir(dataDir, { recursive: true }); // PGlite does not create parents
  const db = await PGlite.create({
    dataDir,
    parsers: { [INT8_OID]: parseInt8 },
    ...(template ? { loadDataDir: template } : {}),
  });
  return wrap(db);
}

function wrap(db: PGlite): EmbeddedDatabase {
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
    },
    dump: () => db.dumpDataDir("none"),
  };
}

