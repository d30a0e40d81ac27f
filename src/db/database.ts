/**
 * The database port. Two adapters implement it with the same SQL: `pg` against a real
 * PostgreSQL server, PGlite (PostgreSQL in WASM) embedded in the process.
 */
export interface QueryResult<T> {
  rows: T[];
}

export interface Queryable {
  /** One statement, `$n` parameters. */
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<QueryResult<T>>;
  /** Several statements, no parameters (migrations); resolves to the last statement's rows. */
  exec(sql: string): Promise<QueryResult<Record<string, unknown>>>;
}

export interface Database extends Queryable {
  readonly kind: "postgres" | "pglite";
  /** Runs `fn` in one transaction: committed when it resolves, rolled back when it throws. */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  /**
   * Runs `fn` while holding a lock that every process on this database respects (a Postgres
   * advisory lock held by a connection of its own); `fn` may use the database freely meanwhile.
   */
  exclusive<T>(key: number, fn: () => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** Whether the database answers (the health endpoint). */
export async function ping(db: Queryable): Promise<void> {
  await db.query("SELECT 1");
}

export const INT8_OID = 20;

/** Postgres `int8` values outside the safe-integer range would lose precision as numbers. */
export function parseInt8(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n)) throw new RangeError(`int8 value ${value} is outside the safe integer range`);
  return n;
}
