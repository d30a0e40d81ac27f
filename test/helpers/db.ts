/**
 * Fresh, migrated databases for tests: embedded (PGlite) and real PostgreSQL. Each is a copy of
 * a template migrated once (Tollgate's tables and the queue's), so a test database costs well
 * under a second. Templates are keyed by a hash of the migrations, so a changed migration
 * makes new ones.
 */
import { createHash, randomBytes } from "node:crypto";
import { existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import pg from "pg";
import { pino } from "pino";
import type { Database } from "../../src/db/database.js";
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

/** A migrated database (Tollgate's tables and the queue's), new for each call. */
export async function freshDatabase(kind: DbKind): Promise<Database> {
  if (kind === "pglite") return openPglite(undefined, await loadPgliteTemplate());
  return openPostgres(await createPostgresDatabase(await loadPostgresTemplate()), { max: 5 });
}

// Shared with the global setup, which Jest loads outside the ESM module mapper.
export { freePort } from "./global-setup.js";
