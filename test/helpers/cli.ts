/**
 * The compiled `tollgate` CLI in a child process, with a clean environment (built by `pretest`).
 *
 * A command that opens the embedded database finds, in its data folder, a copy of the run's
 * migrated template (test/helpers/db.ts) where it would otherwise create and migrate a database
 * from nothing (about 10 s each): what it finds there after its first start. The command still
 * opens the folder and runs its migrations; they are applied already. A folder that is there
 * (the second command on the same data) is left as it is. test/unit/db/migrate.test.ts and
 * test/unit/db/open.test.ts create and migrate embedded databases from nothing.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { cpSync, existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { pgliteDataDirTemplate } from "./db.js";

export const ROOT = fileURLToPath(new URL("../..", import.meta.url));
export const CLI = path.join(ROOT, "dist/cli/main.js");

/** The commands that open the embedded database (`worker` and `migrate` refuse it). */
const EMBEDDED = new Set(["start", "run", "caps", "report", "eval"]);

let template: string | undefined;
// `tollgate()` is synchronous (a test holds the child at once): the template is there before the file's first test.
if (typeof beforeAll === "function") beforeAll(async () => void (template = await pgliteDataDirTemplate()), 180_000);

export interface Child {
  proc: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exit: Promise<number | null>;
}

export function tollgate(args: string[], env: Record<string, string>, cwd = mkdtempSync(path.join(tmpdir(), "tollgate-cli-"))): Child {
  if (EMBEDDED.has(args[0]!) && !env.DATABASE_URL) {
    // where src/config/env.ts puts it: <TOLLGATE_DATA_DIR, or .tollgate in the working directory>/pgdata
    const pgdata = path.join(path.resolve(cwd, env.TOLLGATE_DATA_DIR ?? ".tollgate"), "pgdata");
    if (!template) throw new Error("the embedded database's template is not made yet: call tollgate() inside a test");
    if (!existsSync(pgdata)) cpSync(template, pgdata, { recursive: true });
  }
  const proc = spawn(process.execPath, [CLI, ...args], {
    cwd,
    env: { PATH: process.env.PATH ?? "", HOME: cwd, NO_SMEE_SETUP: "true", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  proc.stdout!.on("data", (d) => (out += d));
  proc.stderr!.on("data", (d) => (err += d));
  const exit = new Promise<number | null>((resolve) => proc.on("exit", (code) => resolve(code)));
  return { proc, stdout: () => out, stderr: () => err, exit };
}
