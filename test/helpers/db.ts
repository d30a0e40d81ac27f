/**
 * Fresh, migrated databases for tests: embedded (PGlite) and real PostgreSQL. Each is a copy of
 * a template migrated once per test run (Tollgate's tables and the queue's), so a test database
 * costs well under a second. An embedded database that was closed is wiped back to the template
 * and handed to the next test of the file (see PglitePool), which costs a tenth of opening one.
 *
 * Nothing is made before a test asks: the templates, and the PostgreSQL server when
 * TOLLGATE_TEST_DATABASE_URL names none, are made by the first worker that needs them, under a
 * lock, in the run's folder (test/helpers/global-setup.ts), where the other workers find them.
 */
import { createHash, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import pg from "pg";
import { pino } from "pino";
import lockfile from "proper-lockfile";
import type { Database } from "../../src/db/database.js";
import type { EmbeddedDatabase } from "../../src/db/pglite.js";
import { loadMigrations, migrate } from "../../src/db/migrate.js";
import { openPglite } from "../../src/db/pglite.js";
import { openPostgres } from "../../src/db/pg.js";
import { JobQueue } from "../../src/queue/queue.js";
import { postgresBinDir, SERVER_FILE, startTestPostgres } from "./global-setup.js";

export type DbKind = "pglite" | "postgres";
export const DB_KINDS: DbKind[] = ["pglite", "postgres"];

/**
 * Why the PostgreSQL cases cannot run here, or undefined when they can. Decided when a test file
 * loads, so that its PostgreSQL cases are reported as skipped (see describeEachDb). With
 * TOLLGATE_TEST_DATABASE_URL set, as in CI, nothing is skipped: a server that is not there fails
 * the cases. Without it, the cases run on a server started for the run from Debian's packages.
 */
export const POSTGRES_MISSING =
  process.env.TOLLGATE_TEST_DATABASE_URL || postgresBinDir()
    ? undefined
    : "no PostgreSQL here: set TOLLGATE_TEST_DATABASE_URL or apt-get install postgresql";

const skipped = (title: string) => `${title} [skipped: ${POSTGRES_MISSING}]`;

/** `describe` for cases that need PostgreSQL: skipped, and said so, where POSTGRES_MISSING. */
export function describeOnPostgres(title: string, fn: () => void): void {
  if (POSTGRES_MISSING) describe.skip(skipped(title), fn);
  else describe(title, fn);
}

/** `it` for one case that needs PostgreSQL: skipped, and said so, where POSTGRES_MISSING. */
export function itOnPostgres(title: string, fn: jest.ProvidesCallback, timeout?: number): void {
  if (POSTGRES_MISSING) it.skip(skipped(title), fn, timeout);
  else it(title, fn, timeout);
}

/** `describe.each(DB_KINDS)(title, fn)` whose PostgreSQL half is skipped, and said so, where POSTGRES_MISSING. */
export function describeEachDb(title: string, fn: (kind: DbKind) => void): void {
  for (const kind of DB_KINDS) {
    const name = title.replace("%s", kind);
    if (kind === "postgres") describeOnPostgres(name, () => fn(kind));
    else describe(name, () => fn(kind));
  }
}

/**
 * The end-to-end matrix runs whole on the embedded database (the default a newcomer runs); on
 * PostgreSQL it runs its smoke set, the cases marked `smoke` (skipped where POSTGRES_MISSING).
 * The stores, the queue, the ledger and the migrations are tested on both databases case by case
 * in test/unit.
 */
export function e2eCases(kind: DbKind): { it: jest.It; smoke: jest.It } {
  const none = Object.assign(() => undefined, { each: () => () => undefined }) as unknown as jest.It;
  if (kind === "pglite") return { it, smoke: it };
  return { it: none, smoke: POSTGRES_MISSING ? it.skip : it };
}

function runDir(): string {
  const dir = process.env.TOLLGATE_TEST_RUN_DIR;
  if (!dir) throw new Error("TOLLGATE_TEST_RUN_DIR is not set: Jest's global setup (test/helpers/global-setup.ts) did not run");
  return dir;
}

/**
 * Holds `name`'s lock among the run's workers, waiting (the worker blocked) while another holds
 * it. A worker that died holding it leaves a lock that goes stale after a minute.
 */
function lockRun(name: string): () => void {
  const deadline = Date.now() + 180_000;
  for (;;) {
    try {
      return lockfile.lockSync(path.join(runDir(), name), { realpath: false, stale: 60_000 });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ELOCKED" || Date.now() > deadline) throw error;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100);
    }
  }
}

/** The folder `name` in the run's folder, made by `make` once for all the run's workers. */
async function oncePerRun(name: string, make: (dir: string) => Promise<void>): Promise<string> {
  const dir = path.join(runDir(), name);
  const done = path.join(dir, ".done");
  if (existsSync(done)) return dir;
  const release = lockRun(name);
  try {
    if (!existsSync(done)) {
      rmSync(dir, { recursive: true, force: true }); // what a worker that died left half made
      mkdirSync(dir);
      await make(dir);
      writeFileSync(done, "");
    }
  } finally {
    release();
  }
  return dir;
}

let serverUrl: string | undefined;

/** The test server's URL: TOLLGATE_TEST_DATABASE_URL's, or the one of the server started for the run (started now if none is yet). */
function postgresUrl(): string {
  serverUrl ??= process.env.TOLLGATE_TEST_DATABASE_URL;
  if (serverUrl) return serverUrl;
  const file = path.join(runDir(), SERVER_FILE); // the teardown stops the server it names
  if (!existsSync(file)) {
    const release = lockRun("postgres");
    try {
      if (!existsSync(file)) {
        writeFileSync(`${file}.${process.pid}`, JSON.stringify(startTestPostgres()));
        renameSync(`${file}.${process.pid}`, file);
      }
    } finally {
      release();
    }
  }
  serverUrl = (JSON.parse(readFileSync(file, "utf8")) as { url: string }).url;
  return serverUrl;
}

/** The URL of `database` on the test server (starting the server if this is the run's first ask). */
export function testDatabaseUrl(database = "postgres"): string {
  const url = new URL(postgresUrl());
  url.pathname = `/${database}`;
  return url.toString();
}

/** What the PostgreSQL template depends on: the migrations and the queue's version (a server named by TOLLGATE_TEST_DATABASE_URL may outlive a run). */
async function schemaKey(): Promise<string> {
  const migrations = await loadMigrations();
  const boss = (createRequire(import.meta.url)("pg-boss/package.json") as { version: string }).version;
  return createHash("sha256").update(JSON.stringify({ migrations, boss })).digest("hex").slice(0, 12);
}

/** Tollgate's migrations plus the queue's own schema. */
async function prepare(db: Database): Promise<void> {
  await migrate(db);
  const queue = new JobQueue(db, pino({ level: "silent" }), { maintenance: false });
  await queue.start();
  await queue.stop();
}

let pgliteTemplate: Promise<Blob> | undefined;

/** The migrated embedded database as a dump (`dumpDataDir`), made once per run. */
function loadPgliteTemplate(): Promise<Blob> {
  pgliteTemplate ??= (async () => {
    const dir = await oncePerRun("pglite-template", async (dir) => {
      const db = await openPglite(undefined);
      await prepare(db);
      writeFileSync(path.join(dir, "pgdata.tar"), Buffer.from(await (await db.dump()).arrayBuffer()));
      await db.close();
    });
    return new Blob([readFileSync(path.join(dir, "pgdata.tar"))]);
  })();
  return pgliteTemplate;
}

/**
 * The same template as a data folder, for a process that opens the embedded database itself
 * (the CLI, test/helpers/cli.ts): a copy of it is what `tollgate start` leaves in its data
 * folder's `pgdata`, and the app, finding its migrations applied, migrates nothing.
 */
export async function pgliteDataDirTemplate(): Promise<string> {
  const dir = await oncePerRun("pglite-data-dir", async (dir) => {
    const db = await openPglite(path.join(dir, "pgdata"), await loadPgliteTemplate());
    await db.close();
  });
  return path.join(dir, "pgdata");
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

// Lives in the global setup, which Jest loads outside the ESM module mapper.
export { freePort } from "./global-setup.js";
