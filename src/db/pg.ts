import pg from "pg";
import type { Database, Queryable, QueryResult } from "./database.js";
import { INT8_OID, parseInt8 } from "./database.js";

/** Both adapters return `int8` as a number; `pg` alone would return a string. */
const types = {
  getTypeParser(oid: number, format?: "text" | "binary") {
    if (oid === INT8_OID && format !== "binary") return parseInt8;
    return pg.types.getTypeParser(oid, format as "text");
  },
};

export function openPostgres(
  url: string,
  options: { max?: number; applicationName?: string; onError?: (error: Error) => void } = {},
): Database {
  const pool = new pg.Pool({
    connectionString: url,
    max: options.max ?? 10,
    application_name: options.applicationName ?? "tollgate",
    types: types as pg.CustomTypesConfig,
  });
  // An idle client losing its connection must not crash the process; the next query reconnects.
  pool.on("error", (error) => options.onError?.(error));

  const query = async <T>(sql: string, params?: unknown[]): Promise<QueryResult<T>> => {
    const result = await pool.query(sql, params as unknown[]);
    return { rows: result.rows as T[] };
  };

  return {
    kind: "postgres",
    query,
    exec: async (sql) => lastRows(await pool.query(sql)),
    async transaction(fn) {
      const client = await pool.connect();
      const tx: Queryable = {
        async query<T>(sql: string, params?: unknown[]) {
          const result = await client.query(sql, params as unknown[]);
          return { rows: result.rows as T[] };
        },
        exec: async (sql: string) => lastRows(await client.query(sql)),
      };
      let broken: Error | undefined;
      try {
        await client.query("BEGIN");
        const value = await fn(tx);
        await client.query("COMMIT");
        return value;
      } catch (error) {
        await client.query("ROLLBACK").catch((e: Error) => (broken = e));
        throw error;
      } finally {
        client.release(broken); // a connection that could not roll back is closed, not reused
      }
    },
    async exclusive(key, fn) {
      const client = await pool.connect();
      let broken: Error | undefined;
      try {
        await client.query("SELECT pg_advisory_lock($1)", [key]);
        try {
          return await fn();
        } finally {
          await client.query("SELECT pg_advisory_unlock($1)", [key]).catch((e: Error) => (broken = e));
        }
      } finally {
        client.release(broken); // closing the connection releases a lock it still holds
      }
    },
    async close() {
      await pool.end();
    },
  };
}

/** A multi-statement text answers with one result per statement. */
function lastRows(result: pg.QueryResult | pg.QueryResult[]): QueryResult<Record<string, unknown>> {
  const last = Array.isArray(result) ? result[result.length - 1] : result;
  return { rows: (last?.rows ?? []) as Record<string, unknown>[] };
}
