/** A ledger row is stored before the caller sees the result: killing the process then loses nothing. */
import { spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { migrate } from "../../src/db/migrate.js";
import { openPglite } from "../../src/db/pglite.js";
import { openPostgres } from "../../src/db/pg.js";
import type { Database } from "../../src/db/database.js";
import { createPostgresDatabase, itOnPostgres } from "../helpers/db.js";

const SCRIPT = fileURLToPath(new URL("../fixtures/llm/call-then-die.mjs", import.meta.url));

function callThenDie(kind: string, where: string): Promise<NodeJS.Signals | null> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [SCRIPT, kind, where], { stdio: ["ignore", "ignore", "pipe"] });
    let err = "";
    child.stderr.on("data", (d) => (err += d));
    child.on("exit", (code, signal) => (signal ? resolve(signal) : reject(new Error(`exited ${code}: ${err}`))));
  });
}

async function calls(db: Database) {
  return (
    await db.query<{ phase: string; input_tokens: number; output_tokens: number; cost_usd_micros: number }>(
      "SELECT phase, input_tokens, output_tokens, cost_usd_micros FROM llm_calls",
    )
  ).rows;
}

const expected = [{ phase: "gate", input_tokens: 777, output_tokens: 55, cost_usd_micros: 777 * 5 + 55 * 25 }];

describe("ledger durability", () => {
  itOnPostgres("keeps the row on PostgreSQL when the process is killed right after the call returns", async () => {
    const url = await createPostgresDatabase();
    const setup = openPostgres(url);
    await migrate(setup);
    expect(await callThenDie("postgres", url)).toBe("SIGKILL");
    expect(await calls(setup)).toEqual(expected);
    await setup.close();
  });

  it("keeps the row in the embedded database too", async () => {
    const dir = path.join(mkdtempSync(path.join(tmpdir(), "tollgate-durable-")), "pgdata");
    const setup = await openPglite(dir);
    await migrate(setup);
    await setup.close();
    expect(await callThenDie("pglite", dir)).toBe("SIGKILL");
    const after = await openPglite(dir);
    expect(await calls(after)).toEqual(expected);
    await after.close();
  });
});
