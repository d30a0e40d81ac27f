/**
 * Fresh, migrated databases for tests: embedded (PGlite) and real PostgreSQL. Each is a copy of
 * a template migrated once (Tollgate's tables and the queue's), so a test database costs well
 * under a second. Templates are keyed by a hash of the migrations, so a changed migration
 * makes new ones. An embedded database that was closed is wiped back to the template and
 * handed to the next test of the file (see PglitePool), which costs a tenth of opening one.
 */
import { createHash, randomBytes } from "node:crypto";
import { existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import pg from "pg";
import { pino } from "pino";
import type { Database } from "../../src/db/database.js";
import type { EmbeddedDatabase } from "../../src/db/pglite.js";
import { loadMigrations, migrate } from "../../src/db/migrate.js";
import { openPglite } from "../../src/db/pglite.js";
import { openPostgres } from "../../src/db/pg.js";
import { JobQueue } from "../../src/queue/queue.js";

export type DbKind = "pglite" | "postgres";
export const DB_KINDS: DbKind[] = ["pglite", "postgres"];

/**
 * The end-to-end matrix runs whole on the embedded database (the default a newcomer runs); on
 * PostgreSQL it runs its smoke set, the cases marked `smoke`. The stores, the queue, the ledger
 * and the migrations are tested on both databases case by case in test/unit.
 */
export function e2eCases(kind: DbKind): { it: jest.It; smoke: jest.It } {
  const none = Object.assign(() => undefined, { each: () => () => undefined }) as unknown as jest.It;
  return { it: kind === "pglite" ? it : none, smoke: it };
}

export function testDatabaseUrl(database = "postgres"): string {
  const base = process.env.TOLLGATE_TEST_DATABASE_URL;
  if (!base) throw new Error("TOLLGATE_TEST_DATABASE_URL is not set: the global setup did not run");
  const url = new URL(base);
  url.pathname = `/${database}`;
  return url.toString();
}

async function schemaKey(): Promise<string> {
  const migrations = await loadMigrations();
  return createHash("sha256").update(JSON.stringify(migrations)).digest("hex").slice(0, 12);
}

/** Tollgate's migrations plus the queue's own schema. */
async function prepare(db: Database): Promise<void> {
  await migrate(db);
  const queue = new JobQueue(db, pino({ level: "silent" }), { maintenance: false });
  await queue.start();
  await queue.stop();
}

let pgliteTemplate: Promise<Blob> | undefined;

function loadPgliteTemplate(): Promise<Blob> {
  pgliteTemplate ??= (async () => {
    const file = path.join(tmpdir(), `tollgate-pglite-template-${await schemaKey()}.tar`);
    if (existsSync(file)) return new Blob([readFileSync(file)]);
    const db = await openPglite(undefined);
    await prepare(db);
    const dump = await db.dump();
    await db.close();
    const temp = `${file}.${process.pid}`;
    writeFileSync(temp, Buffer.from(await dump.arrayBuffer()));
    renameSync(temp, file); // atomic: another worker never reads half a file
    return dump;
  })();
  return pgliteTemplate;
}

let postgresTemplate: Promise<string> | undefined;

/** Creates the template database once per schema, under an advisory lock shared by all workers. */
function loadPostgresTemplate(): Promise<string> {
  postgresTemplate ??= (async () => {
    const name = `tollgate_template_${await schemaKey()}`;
    const admin = new pg.Client({ connectionString: testDatabaseUrl() });
    await admin.connect();
    try {
      await admin.query("SELECT pg_advisory_lock(4242)");
      const exists = await admin.query("SELECT 1 FROM pg_database WHERE datname = $1", [name]);
      if (exists.rowCount === 0) {
        const building = `${name}_building`;
        await admin.query(`DROP DATABASE IF EXISTS ${building}`);
        await admin.query(`CREATE DATABASE ${building}`);
        const db = openPostgres(testDatabaseUrl(building));
        await prepare(db);
        await db.close();
        await admin.query(`ALTER DATABASE ${building} RENAME TO ${name}`);
      }
    } finally {
      await admin.query("SELECT pg_advisory_unlock(4242)").catch(() => undefined);
      await admin.end();
    }
    return name;
  })();
  return postgresTemplate;
}

/** A new empty database on the test server; returns its URL. */
export async function createPostgresDatabase(template = "template1"): Promise<string> {
  const name = `t_${randomBytes(6).toString("hex")}`;
  const admin = new pg.Client({ connectionString: testDatabaseUrl() });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name} TEMPLATE ${template}`);
  } finally {
    await admin.end();
  }
  return testDatabaseUrl(name);
}

/**
 * What an embedded database looks like fresh from the template: its catalog (any object a test
 * created, dropped or altered, or a setting it left on the session, makes it differ) and the rows
 * of the tables the template fills (the migrations' and the queue's own bookkeeping).
 */
interface TemplateState {
  catalog: string;
  /** Every table, partitioned ones as their parent, for one TRUNCATE. */
  tables: string[];
  sequences: Array<{ name: string; value: number; called: boolean }>;
  rows: Array<{ table: string; json: string }>;
}

const ident = (schema: string, name: string) => `"${schema.replaceAll('"', '""')}"."${name.replaceAll('"', '""')}"`;

async function catalog(db: Database): Promise<string> {
  const { rows } = await db.query<{ catalog: string }>(
    `SELECT concat_ws('|',
       (SELECT count(*) || ':' || max(oid) FROM pg_class),
       (SELECT count(*) || ':' || max(oid) FROM pg_namespace WHERE nspname !~ '^pg_(toast_)?temp_'),
       (SELECT count(*) || ':' || max(oid) FROM pg_proc),
       (SELECT count(*) || ':' || max(oid) FROM pg_type),
       (SELECT count(*) || ':' || max(oid) FROM pg_constraint),
       (SELECT count(*) || ':' || max(oid) FROM pg_trigger),
       (SELECT count(*) || ':' || max(oid) FROM pg_database),
       (SELECT count(*) || ':' || max(oid) FROM pg_authid),
       (SELECT count(*) FROM pg_attribute WHERE attnum > 0 AND NOT attisdropped),
       (SELECT count(*) FROM pg_db_role_setting),
       (SELECT string_agg(name || '=' || setting, ',' ORDER BY name) FROM pg_settings WHERE source = 'session'),
       (SELECT count(*) FROM pg_prepared_statements),
       (SELECT count(*) FROM pg_locks WHERE locktype = 'advisory')
     ) AS catalog`,
  );
  return rows[0]!.catalog;
}

async function templateState(db: Database): Promise<TemplateState> {
  const relations = (
    await db.query<{ schema: string; name: string; kind: string }>(
      `SELECT n.nspname AS schema, c.relname AS name, c.relkind AS kind
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'p', 'S') AND NOT c.relispartition
          AND n.nspname !~ '^(pg_|information_schema$)'
        ORDER BY 1, 2`,
    )
  ).rows;
  const tables = relations.filter((r) => r.kind !== "S").map((r) => ident(r.schema, r.name));
  const sequences = [];
  for (const r of relations.filter((r) => r.kind === "S")) {
    const name = ident(r.schema, r.name);
    const { rows } = await db.query<{ last_value: number; is_called: boolean }>(`SELECT last_value, is_called FROM ${name}`);
    sequences.push({ name, value: Number(rows[0]!.last_value), called: rows[0]!.is_called });
  }
  const rows = [];
  for (const table of tables) {
    const { rows: json } = await db.query<{ json: string | null }>(`SELECT json_agg(t)::text AS json FROM ${table} t`);
    if (json[0]!.json) rows.push({ table, json: json[0]!.json });
  }
  return { catalog: await catalog(db), tables, sequences, rows };
}

/**
 * One embedded database per test file, reused: a test's `close()` wipes it back to what the
 * template holds (every table truncated and the template's rows put back, the sequences reset)
 * and keeps it for the next `freshDatabase("pglite")`. Opening one from the template (PGlite
 * starting, the tarball unpacked) is most of what a short test on the embedded database costs.
 *
 * A test cannot tell the difference: after `close()` its handle refuses every query, as a closed
 * PGlite does, so nothing it left running (a worker it killed, a job past the stop's timeout)
 * reaches the next test's data; and a database whose catalog or session no longer matches the
 * template's (a test created a table, left a setting or a lock) is closed for good instead.
 */
class PglitePool {
  #idle: EmbeddedDatabase | undefined;
  #state: Promise<TemplateState> | undefined;

  async lease(): Promise<EmbeddedDatabase> {
    let db = this.#idle;
    this.#idle = undefined;
    if (!db) {
      db = await openPglite(undefined, await loadPgliteTemplate());
      const opened = db;
      this.#state ??= templateState(opened);
      await this.#state;
    }
    return this.#handle(db);
  }

  #handle(db: EmbeddedDatabase): EmbeddedDatabase {
    let open = true;
    const check = () => {
      if (!open) throw new Error("PGlite is closed");
    };
    return {
      kind: "pglite",
      query: async (sql, params) => (check(), db.query(sql, params)),
      exec: async (sql) => (check(), db.exec(sql)),
      transaction: async (fn) => (check(), db.transaction(fn)),
      exclusive: async (key, fn) => (check(), db.exclusive(key, fn)),
      dump: async () => (check(), db.dump()),
      close: async () => {
        if (!open) return;
        open = false;
        await this.#release(db);
      },
    };
  }

  async #release(db: EmbeddedDatabase): Promise<void> {
    try {
      if (keepIdle && !this.#idle && (await this.#reset(db))) {
        this.#idle = db;
        return;
      }
    } catch {
      // not reusable: closed below
    }
    await db.close();
  }

  /** Back to the template's state; false when the database cannot be brought back exactly. */
  async #reset(db: EmbeddedDatabase): Promise<boolean> {
    const state = await this.#state!;
    if ((await catalog(db)) !== state.catalog) return false;
    await db.transaction(async (tx) => {
      await tx.exec(`TRUNCATE ${state.tables.join(", ")} RESTART IDENTITY CASCADE`);
      for (const { name, value, called } of state.sequences) await tx.query("SELECT setval($1, $2, $3)", [name, value, called]);
      for (const { table, json } of state.rows)
        await tx.query(`INSERT INTO ${table} OVERRIDING SYSTEM VALUE SELECT * FROM json_populate_recordset(NULL::${table}, $1)`, [json]);
    });
    return true;
  }

  /** The file's tests are done: the idle database goes too. */
  async drain(): Promise<void> {
    const db = this.#idle;
    this.#idle = undefined;
    await db?.close();
  }
}

const pglitePool = new PglitePool();
// Jest's module registry is per test file: so is the pool, and its idle database is closed when
// the file's tests end (an open PGlite would keep the worker alive). A file that imports this
// module inside a test cannot add that hook: there, no database is kept.
const keepIdle = typeof afterAll === "function" && typeof expect === "function" && expect.getState().currentTestName === undefined;
if (keepIdle) afterAll(() => pglitePool.drain());

/** A migrated database (Tollgate's tables and the queue's), new for each call (an embedded one, as good as new). */
export async function freshDatabase(kind: DbKind): Promise<Database> {
  if (kind === "pglite") return pglitePool.lease();
  return openPostgres(await createPostgresDatabase(await loadPostgresTemplate()), { max: 5 });
}

// Shared with the global setup, which Jest loads outside the ESM module mapper.
export { freePort } from "./global-setup.js";
