/** pg-boss's database port on Tollgate's own connection (either adapter), so the queue needs no pool of its own. */
import type { Database } from "./database.js";

export function bossDatabase(db: Database): { executeSql(text: string, values?: unknown[]): Promise<{ rows: unknown[] }> } {
  return { executeSql: (text, values) => (values?.length ? db.query(text, values) : db.exec(text)) };
}
