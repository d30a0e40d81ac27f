/**
 * pg-boss's database port on Tollgate's own connection (either adapter), so the queue needs no pool
 * of its own; or on a transaction, so a job is sent with the rows that record it.
 */
import type { Queryable } from "./database.js";

export function bossDatabase(db: Queryable): { executeSql(text: string, values?: unknown[]): Promise<{ rows: unknown[] }> } {
  return { executeSql: (text, values) => (values?.length ? db.query(text, values) : db.exec(text)) };
}
