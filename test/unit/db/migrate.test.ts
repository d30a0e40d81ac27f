import type { Database } from "../../../src/db/database.js";
import { loadMigrations, migrate } from "../../../src/db/migrate.js";
import { openPglite } from "../../../src/db/pglite.js";
import { openPostgres } from "../../../src/db/pg.js";
import { createPostgresDatabase, describeEachDb, type DbKind } from "../../helpers/db.js";

const TABLES = [
  "agent_events",
  "budget_reservations",
  "commands",
  "comment_commands",
  "dashboard_sessions",
  "deliveries",
  "installation_caps",
  "leases",
  "ledger_daily",
  "ledger_totals",
  "llm_calls",
  "phases",
  "rate_limits",
  "refusals",
  "runs",
  "schema_migrations",
];

async function emptyDatabase(kind: DbKind): Promise<{ db: Database; url?: string }> {
  if (kind === "pglite") return { db: await openPglite(undefined) };
  const url = await createPostgresDatabase();
  return { db: openPostgres(url), url };
}

async function tables(db: Database): Promise<string[]> {
  const { rows } = await db.query<{ table_name: string }>(
    "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name",
  );
  return rows.map((r) => r.table_name);
}

describeEachDb("migrations on %s", (kind) => {
  let db: Database;
  let url: string | undefined;
  beforeEach(async () => ({ db, url } = await emptyDatabase(kind)));
  afterEach(() => db.close());

  it("creates the schema once and is a no-op the second time", async () => {
    const all = (await loadMigrations()).map((m) => m.version);
    expect(await migrate(db)).toEqual(all);
    expect(await tables(db)).toEqual(TABLES);
    expect(await migrate(db)).toEqual([]);
    const { rows } = await db.query<{ n: number }>("SELECT count(*)::int AS n FROM schema_migrations");
    expect(rows[0]!.n).toBe(all.length);
  });

  it("refuses a database migrated by a newer Tollgate", async () => {
    await migrate(db);
    await db.query("INSERT INTO schema_migrations (version, name) VALUES (9999, 'from_the_future')");
    await expect(migrate(db)).rejects.toThrow(/database is at migration 9999 but this Tollgate only knows up to \d+/);
  });

  it("rolls a failing migration back whole", async () => {
    const migrations = [
      { version: 1, name: "ok", sql: "CREATE TABLE a (x int);" },
      { version: 2, name: "broken", sql: "CREATE TABLE b (x int); SELECT no_such_function();" },
    ];
    await expect(migrate(db, migrations)).rejects.toThrow(/no_such_function/);
    expect(await tables(db)).toEqual([]);
  });

  it("returns int8 as numbers and keeps NULL token counts as NULL", async () => {
    await migrate(db);
    await db.query(
      `INSERT INTO llm_calls (phase, model, status, latency_ms, cost_usd_micros, input_tokens)
       VALUES ('gate', 'claude-opus-4-7', 'ok', 812, 123456789012, NULL)`,
    );
    const { rows } = await db.query<{ id: number; cost_usd_micros: number; input_tokens: number | null }>(
      "SELECT id, cost_usd_micros, input_tokens FROM llm_calls",
    );
    expect(rows[0]).toEqual({ id: 1, cost_usd_micros: 123456789012, input_tokens: null });
  });

  it("commits a transaction that resolves and rolls back one that throws", async () => {
    await migrate(db);
    const insert = "INSERT INTO deliveries (id, event) VALUES ($1, 'issues')";
    await db.transaction((tx) => tx.query(insert, ["kept"]));
    await expect(
      db.transaction(async (tx) => {
        await tx.query(insert, ["dropped"]);
        throw new Error("boom");
      }),
    ).rejects.toThrow("boom");
    const { rows } = await db.query<{ id: string }>("SELECT id FROM deliveries");
    expect(rows.map((r) => r.id)).toEqual(["kept"]);
  });

  if (kind === "postgres") {
    it("is safe when several processes migrate at once: each version is applied exactly once", async () => {
      const others = [openPostgres(url!), openPostgres(url!), openPostgres(url!)];
      try {
        const results = await Promise.all([db, ...others].map((d) => migrate(d)));
        const applied = results.flat();
        expect(applied.sort((x, y) => x - y)).toEqual((await loadMigrations()).map((m) => m.version));
        expect(results.filter((r) => r.length > 0)).toHaveLength(1);
      } finally {
        await Promise.all(others.map((d) => d.close()));
      }
    });
  }
});
