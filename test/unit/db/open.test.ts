import { mkdtempSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { DatabaseUnavailableError, openDatabase } from "../../../src/db/open.js";
import { captureLog } from "../../helpers/log.js";
import { itOnPostgres, testDatabaseUrl } from "../../helpers/db.js";

describe("openDatabase", () => {
  it("retries an unreachable PostgreSQL with a log line per try, then fails clearly without the password", async () => {
    const { log, lines, text } = captureLog();
    const url = "postgres://tollgate:hunter2@127.0.0.1:1/tollgate";
    const error = await openDatabase({ database: { kind: "postgres", url }, dbConnectAttempts: 3 }, log, { minTimeoutMs: 10 }).catch(
      (e) => e,
    );
    expect(error).toBeInstanceOf(DatabaseUnavailableError);
    expect(error.message).toMatch(/^PostgreSQL at 127\.0\.0\.1:1\/tollgate is not reachable after 3 tries: /);
    const tries = lines().filter((l) => /is not reachable \(try \d of 3\)/.test(String(l.msg)));
    expect(tries.map((l) => /try (\d)/.exec(String(l.msg))![1])).toEqual(["1", "2", "3"]);
    expect(text() + error.message).not.toContain("hunter2");
  });

  itOnPostgres("connects to a reachable PostgreSQL", async () => {
    const db = await openDatabase({ database: { kind: "postgres", url: testDatabaseUrl() }, dbConnectAttempts: 1 }, captureLog().log);
    expect(db.kind).toBe("postgres");
    expect((await db.query<{ one: number }>("SELECT 1 AS one")).rows).toEqual([{ one: 1 }]);
    await db.close();
  });

  it("creates the embedded database's folders, and reopens it with its data", async () => {
    const dataDir = path.join(mkdtempSync(path.join(tmpdir(), "tollgate-data-")), "nested", "pgdata");
    const env = { database: { kind: "pglite" as const, dataDir }, dbConnectAttempts: 1 };
    const first = await openDatabase(env, captureLog().log);
    await first.exec("CREATE TABLE kept (x int); INSERT INTO kept VALUES (42);");
    await first.close();
    expect(existsSync(dataDir)).toBe(true);
    const second = await openDatabase(env, captureLog().log);
    expect((await second.query<{ x: number }>("SELECT x FROM kept")).rows).toEqual([{ x: 42 }]);
    await second.close();
  });
});
